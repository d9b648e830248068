# SOAP descriptors per sample, the ULE dictionary, its threshold, and the ULE-fraction encoding.
# SOAP and encoding jobs work on batches of trajectories (common.smk BATCHES); every file inside
# is per sample: soap/<batch>/<sample_id>.parquet.  With soap.store false no SOAP is stored: the
# rules that read it get the structures instead (common.smk soap_input) and compute it.
from mgbarcode.descriptors import descriptor_parameters


rule soap_descriptors:
    input:
        tables=batch_tables,
        structures=batch_structures,
    output:
        directory(f"{R}/soap/{{batch}}"),
    log:
        f"{R}/logs/soap_descriptors/{{batch}}.log",
    benchmark:
        f"{R}/benchmarks/soap_descriptors/{{batch}}.tsv"
    params:
        soap=descriptor_parameters(config["soap"]),
    group:
        "soap"
    threads: resources_for("soap_descriptors")["threads"]
    resources:
        mem_mb=resources_for("soap_descriptors")["mem_mb"],
        runtime=resources_for("soap_descriptors")["runtime_min"],
    conda:
        "../../envs/soap_descriptors.yaml"
    script:
        "../scripts/soap_descriptors.py"


rule ule_threshold_calibration:
    input:
        unpack(soap_input("train")),
        catalogue=f"{R}/samples.parquet",
    output:
        table=f"{R}/ules/threshold_calibration.parquet",
        choice=f"{R}/ules/threshold.json",
        figure=report(f"{R}/figures/ule_count_vs_threshold.png", category="ULE dictionary",
                      caption="../report/ule_count_vs_threshold.rst"),
        figure_svg=f"{R}/figures/ule_count_vs_threshold.svg",
    log:
        f"{R}/logs/ule_threshold_calibration.log",
    benchmark:
        f"{R}/benchmarks/ule_threshold_calibration.tsv"
    params:
        ules=config["ules"],
        **soap_stream_params(),
    threads: resources_for("ule_threshold_calibration")["threads"]
    resources:
        mem_mb=resources_for("ule_threshold_calibration")["mem_mb"],
        runtime=resources_for("ule_threshold_calibration")["runtime_min"],
    conda:
        "../../envs/ule_threshold_calibration.yaml"
    script:
        "../scripts/ule_threshold_calibration.py"


rule ule_dictionary:
    input:
        unpack(soap_input("train")),
        choice=f"{R}/ules/threshold.json",
        catalogue=f"{R}/samples.parquet",
    output:
        f"{R}/ules/dictionary.parquet",
    log:
        f"{R}/logs/ule_dictionary.log",
    benchmark:
        f"{R}/benchmarks/ule_dictionary.tsv"
    params:
        batch_size=config["ules"]["batch_size"],
        **soap_stream_params(),
    threads: resources_for("ule_dictionary")["threads"]
    resources:
        mem_mb=resources_for("ule_dictionary")["mem_mb"],
        runtime=resources_for("ule_dictionary")["runtime_min"],
    conda:
        "../../envs/ule_dictionary.yaml"
    script:
        "../scripts/ule_dictionary.py"


rule ule_encoding:
    input:
        unpack(soap_input()),
        tables=batch_tables,
        dictionary=f"{R}/ules/dictionary.parquet",
        choice=f"{R}/ules/threshold.json",
    output:
        fractions=f"{R}/encoding/{{batch}}/fractions.parquet",
        counts=f"{R}/encoding/{{batch}}/counts.parquet",
        atoms=f"{R}/encoding/{{batch}}/atoms.parquet",
    log:
        f"{R}/logs/ule_encoding/{{batch}}.log",
    benchmark:
        f"{R}/benchmarks/ule_encoding/{{batch}}.tsv"
    params:
        batch_size=config["ules"]["batch_size"],
        **soap_stream_params(),
    group:
        "encode"
    threads: resources_for("ule_encoding")["threads"]
    resources:
        mem_mb=resources_for("ule_encoding")["mem_mb"],
        runtime=resources_for("ule_encoding")["runtime_min"],
    conda:
        "../../envs/ule_encoding.yaml"
    script:
        "../scripts/ule_encoding.py"


rule ule_energies:
    input:
        atoms=expand(f"{R}/encoding/{{batch}}/atoms.parquet", batch=split_batches("train")),
        structures=expand(f"{R}/samples/{{trajectory}}", trajectory=split_trajectory_ids("train")),
        dictionary=f"{R}/ules/dictionary.parquet",
        catalogue=f"{R}/samples.parquet",
    output:
        f"{R}/ules/energies.parquet",
    log:
        f"{R}/logs/ule_energies.log",
    benchmark:
        f"{R}/benchmarks/ule_energies.tsv"
    threads: resources_for("ule_energies")["threads"]
    resources:
        mem_mb=resources_for("ule_energies")["mem_mb"],
        runtime=resources_for("ule_energies")["runtime_min"],
    conda:
        "../../envs/ule_energies.yaml"
    script:
        "../scripts/ule_energies.py"


rule encoding_tables:
    input:
        fractions=expand(f"{R}/encoding/{{batch}}/fractions.parquet", batch=BATCHES),
        counts=expand(f"{R}/encoding/{{batch}}/counts.parquet", batch=BATCHES),
        catalogue=f"{R}/samples.parquet",
    output:
        fractions=f"{R}/encoding/fractions.parquet",
        counts=f"{R}/encoding/counts.parquet",
    log:
        f"{R}/logs/encoding_tables.log",
    params:
    threads: resources_for("encoding_tables")["threads"]
    resources:
        mem_mb=resources_for("encoding_tables")["mem_mb"],
        runtime=resources_for("encoding_tables")["runtime_min"],
    conda:
        "../../envs/encoding_tables.yaml"
    script:
        "../scripts/encoding_tables.py"
