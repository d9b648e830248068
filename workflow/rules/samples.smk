# Thermal samples: one LAMMPS job per cooling history, then the catalogue of all samples.


rule thermal_trajectory:
    output:
        table=result(layout.trajectory_table("{trajectory}")),
        structures=directory(result(layout.trajectory_structures("{trajectory}"))),
    log:
        job=result(layout.log_file("thermal_trajectory", "{trajectory}")),
        lammps=result(layout.log_file("thermal_trajectory", "{trajectory}", kind="lammps.log")),
    benchmark:
        result(layout.benchmark_file("thermal_trajectory", "{trajectory}"))
    wildcard_constraints:
        trajectory=one_of(THERMAL_IDS),
    params:
        trajectory=trajectory_param,
        # md.engine (where LAMMPS runs) is read by the script from the config: like threads, it
        # changes only the order of the force sums, so changing it re-runs nothing.
        md={key: value for key, value in config["md"].items() if key != "engine"},
        potential=config["potential"],
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/md.yaml"
    script:
        "../scripts/thermal_trajectory.py"


rule sample_catalogue:
    input:
        tables=trajectory_tables,
    output:
        result(layout.CATALOGUE),
    log:
        result(layout.log_file("sample_catalogue")),
    params:
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/md.yaml"
    script:
        "../scripts/sample_catalogue.py"
