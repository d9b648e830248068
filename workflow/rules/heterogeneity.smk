# Mechanical samples (shear of thermal IS), strain heterogeneity, and the barcode comparison.


rule shear_trajectory:
    input:
        source_table=lambda w: result(layout.trajectory_table(shear_param(w).source_trajectory_id)),
        source_structures=lambda w: result(layout.trajectory_structures(shear_param(w).source_trajectory_id)),
    output:
        **history_outputs(),
    log:
        **history_logs("shear_trajectory"),
    benchmark:
        result(layout.benchmark_file("shear_trajectory", "{trajectory}"))
    wildcard_constraints:
        trajectory=one_of(MECH_IDS),
    params:
        **history_params(shear_param, heterogeneity=config["heterogeneity"]),
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/md.yaml"
    script:
        "../scripts/shear_trajectory.py"


rule heterogeneity_comparison:
    input:
        barcodes=result(layout.BARCODES),
        top_ules=result(layout.TOP_ULES),
        catalogue=result(layout.CATALOGUE),
        mech_structures=expand(result(layout.trajectory_structures("{trajectory}")), trajectory=ALL_MECH_IDS),
    output:
        summary=result(layout.HETEROGENEITY_SUMMARY),
        pairs=result(layout.HETEROGENEITY_PAIRS),
        correlation=result(layout.HETEROGENEITY_CORRELATION),
        windows=result(layout.HETEROGENEITY_WINDOWS),
        **figure_files("strains", "strain_distributions", "Heterogeneity"),
        **figure_files("slab_profiles", "strain_slab_profiles", "Heterogeneity"),
        **figure_files("pairs_figure", "barcode_pairs", "Heterogeneity"),
        **figure_files("trends", "heterogeneity_trends", "Heterogeneity"),
    log:
        result(layout.log_file("heterogeneity_comparison")),
    params:
        tolerance=config["heterogeneity"]["energy_tolerance_eV_per_atom"],
        reference_splits=list(layout.THERMAL_SPLITS),
        n_slabs=config["heterogeneity"]["n_slabs"],
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/md.yaml"
    script:
        "../scripts/heterogeneity_comparison.py"
