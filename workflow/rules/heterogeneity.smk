# Mechanical samples (shear of thermal IS), strain heterogeneity, and the barcode comparison.


rule shear_trajectory:
    input:
        source_table=lambda w: f"{R}/samples/{shear_param(w).source_trajectory_id}.parquet",
        source_structures=lambda w: f"{R}/samples/{shear_param(w).source_trajectory_id}",
    output:
        table=f"{R}/samples/{{trajectory}}.parquet",
        structures=directory(f"{R}/samples/{{trajectory}}"),
    log:
        job=f"{R}/logs/shear_trajectory/{{trajectory}}.log",
        lammps=f"{R}/logs/shear_trajectory/{{trajectory}}.lammps.log",
    benchmark:
        f"{R}/benchmarks/shear_trajectory/{{trajectory}}.tsv"
    wildcard_constraints:
        trajectory=one_of(MECH_IDS),
    params:
        trajectory=shear_param,
        # md.engine (where LAMMPS runs) is read by the script from the config: like threads, it
        # changes only the order of the force sums, so changing it re-runs nothing.
        md={key: value for key, value in config["md"].items() if key != "engine"},
        potential=config["potential"],
        heterogeneity=config["heterogeneity"],
    threads: resources_for("shear_trajectory")["threads"]
    resources:
        mem_mb=resources_for("shear_trajectory")["mem_mb"],
        runtime=resources_for("shear_trajectory")["runtime_min"],
    conda:
        "../../envs/shear_trajectory.yaml"
    script:
        "../scripts/shear_trajectory.py"


rule heterogeneity_comparison:
    input:
        barcodes=f"{R}/barcode/barcodes.parquet",
        top_ules=f"{R}/barcode/top_ules.parquet",
        catalogue=f"{R}/samples.parquet",
        mech_structures=expand(f"{R}/samples/{{trajectory}}", trajectory=ALL_MECH_IDS),
    output:
        summary=f"{R}/heterogeneity/summary.parquet",
        pairs=f"{R}/heterogeneity/pairs.parquet",
        correlation=f"{R}/heterogeneity/correlation.json",
        windows=f"{R}/heterogeneity/windows.parquet",
        strains=report(f"{R}/figures/strain_distributions.png", category="Heterogeneity",
                       caption="../report/strain_distributions.rst"),
        strains_svg=f"{R}/figures/strain_distributions.svg",
        slab_profiles=report(f"{R}/figures/strain_slab_profiles.png", category="Heterogeneity",
                             caption="../report/strain_slab_profiles.rst"),
        slab_profiles_svg=f"{R}/figures/strain_slab_profiles.svg",
        pairs_figure=report(f"{R}/figures/barcode_pairs.png", category="Heterogeneity",
                            caption="../report/barcode_pairs.rst"),
        pairs_figure_svg=f"{R}/figures/barcode_pairs.svg",
        trends=report(f"{R}/figures/heterogeneity_trends.png", category="Heterogeneity",
                      caption="../report/heterogeneity_trends.rst"),
        trends_svg=f"{R}/figures/heterogeneity_trends.svg",
    log:
        f"{R}/logs/heterogeneity_comparison.log",
    params:
        tolerance=config["heterogeneity"]["energy_tolerance_eV_per_atom"],
        reference_splits=list(SPLITS),
        n_slabs=config["heterogeneity"]["n_slabs"],
    threads: resources_for("heterogeneity_comparison")["threads"]
    resources:
        mem_mb=resources_for("heterogeneity_comparison")["mem_mb"],
        runtime=resources_for("heterogeneity_comparison")["runtime_min"],
    conda:
        "../../envs/heterogeneity_comparison.yaml"
    script:
        "../scripts/heterogeneity_comparison.py"
