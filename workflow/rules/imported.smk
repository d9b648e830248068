# Histories a user brings (imported.table): read, minimised if asked, written as the MD's are.


rule imported_trajectory:
    input:
        table=IMPORTED_TABLE or [],
        structures=imported_files,
    output:
        **history_outputs(),
    log:
        **history_logs("imported_trajectory"),
    benchmark:
        result(layout.benchmark_file("imported_trajectory", "{trajectory}"))
    wildcard_constraints:
        trajectory=one_of(IMPORTED_IDS),
    params:
        **history_params(imported_param, imported=config["imported"], heterogeneity=config["heterogeneity"]),
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/md.yaml"
    script:
        "../scripts/imported_trajectory.py"
