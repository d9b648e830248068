# Mechanical samples (shear of thermal IS), strain heterogeneity, and the barcode comparison.


rule shear_trajectory:
    input:
        source_table=lambda w: result(layout.trajectory_table(shear_param(w).source_trajectory_id)),
        source_structures=lambda w: result(layout.trajectory_structures(shear_param(w).source_trajectory_id)),
    output:
        table=result(layout.trajectory_table("{trajectory}")),
        structures=directory(result(layout.trajectory_structures("{trajectory}"))),
    log:
        job=result(layout.log_file("shear_trajectory", "{trajectory}")),
        lammps=result(layout.log_file("shear_trajectory", "{trajectory}", kind="lammps.log")),
    benchmark:
        result(layout.benchmark_file("shear_trajectory", "{trajectory}"))
    wildcard_constraints:
        trajectory=one_of(MECH_IDS),
    params:
        trajectory=shear_param,
        # md.engine (where LAMMPS runs) is read by the script from the config: like threads, it
        # changes only the order of the force sums, so changing it re-runs nothing.
        md={key: value for key, value in config["md"].items() if key != "engine"},
        potential=config["potential"],
        heterogeneity=config["heterogeneity"],
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
        strains=report(result(layout.figure("strain_distributions")), category="Heterogeneity",
                       caption="../report/strain_distributions.rst"),
        strains_svg=result(layout.figure("strain_distributions", "svg")),
        slab_profiles=report(result(layout.figure("strain_slab_profiles")), category="Heterogeneity",
                             caption="../report/strain_slab_profiles.rst"),
        slab_profiles_svg=result(layout.figure("strain_slab_profiles", "svg")),
        pairs_figure=report(result(layout.figure("barcode_pairs")), category="Heterogeneity",
                            caption="../report/barcode_pairs.rst"),
        pairs_figure_svg=result(layout.figure("barcode_pairs", "svg")),
        trends=report(result(layout.figure("heterogeneity_trends")), category="Heterogeneity",
                      caption="../report/heterogeneity_trends.rst"),
        trends_svg=result(layout.figure("heterogeneity_trends", "svg")),
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
