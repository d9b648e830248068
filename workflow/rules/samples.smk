# Thermal samples: one LAMMPS job per cooling history, then the catalogue of all samples.


rule thermal_trajectory:
    output:
        **history_outputs(),
    log:
        **history_logs("thermal_trajectory"),
    benchmark:
        result(layout.benchmark_file("thermal_trajectory", "{trajectory}"))
    wildcard_constraints:
        trajectory=one_of(THERMAL_IDS),
    params:
        **history_params(trajectory_param),
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
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/md.yaml"
    script:
        "../scripts/sample_catalogue.py"
