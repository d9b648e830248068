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
        directory(result(layout.soap_folder("{batch}"))),
    log:
        result(layout.log_file("soap_descriptors", "{batch}")),
    benchmark:
        result(layout.benchmark_file("soap_descriptors", "{batch}"))
    params:
        soap=descriptor_parameters(config["soap"]),
    group:
        "soap"
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/descriptors.yaml"
    script:
        "../scripts/soap_descriptors.py"


rule ule_threshold_calibration:
    input:
        unpack(soap_input(layout.TRAIN_SPLIT)),
        catalogue=result(layout.CATALOGUE),
    output:
        table=result(layout.THRESHOLD_CALIBRATION),
        choice=result(layout.THRESHOLD),
        **figure_files("figure", "ule_count_vs_threshold", "ULE dictionary"),
    log:
        result(layout.log_file("ule_threshold_calibration")),
    benchmark:
        result(layout.benchmark_file("ule_threshold_calibration"))
    params:
        ules=config["ules"],
        **soap_stream_params(),
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/descriptors.yaml"
    script:
        "../scripts/ule_threshold_calibration.py"


rule ule_dictionary:
    input:
        unpack(soap_input(layout.TRAIN_SPLIT)),
        choice=result(layout.THRESHOLD),
        catalogue=result(layout.CATALOGUE),
    output:
        result(layout.DICTIONARY),
    log:
        result(layout.log_file("ule_dictionary")),
    benchmark:
        result(layout.benchmark_file("ule_dictionary"))
    params:
        batch_size=config["ules"]["batch_size"],
        **soap_stream_params(),
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/descriptors.yaml"
    script:
        "../scripts/ule_dictionary.py"


rule ule_encoding:
    input:
        unpack(soap_input()),
        tables=batch_tables,
        dictionary=result(layout.DICTIONARY),
        choice=result(layout.THRESHOLD),
    output:
        fractions=result(layout.batch_encoding("{batch}", "fractions")),
        counts=result(layout.batch_encoding("{batch}", "counts")),
        atoms=result(layout.batch_encoding("{batch}", "atoms")),
    log:
        result(layout.log_file("ule_encoding", "{batch}")),
    benchmark:
        result(layout.benchmark_file("ule_encoding", "{batch}"))
    params:
        batch_size=config["ules"]["batch_size"],
        **soap_stream_params(),
    group:
        "encode"
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/descriptors.yaml"
    script:
        "../scripts/ule_encoding.py"


rule ule_energies:
    input:
        atoms=expand(result(layout.batch_encoding("{batch}", "atoms")), batch=split_batches(layout.TRAIN_SPLIT)),
        structures=expand(result(layout.trajectory_structures("{trajectory}")), trajectory=split_trajectory_ids(layout.TRAIN_SPLIT)),
        dictionary=result(layout.DICTIONARY),
        catalogue=result(layout.CATALOGUE),
    output:
        result(layout.ULE_ENERGIES),
    log:
        result(layout.log_file("ule_energies")),
    benchmark:
        result(layout.benchmark_file("ule_energies"))
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/descriptors.yaml"
    script:
        "../scripts/ule_energies.py"


rule encoding_tables:
    input:
        fractions=expand(result(layout.batch_encoding("{batch}", "fractions")), batch=BATCHES),
        counts=expand(result(layout.batch_encoding("{batch}", "counts")), batch=BATCHES),
        catalogue=result(layout.CATALOGUE),
    output:
        fractions=result(layout.FRACTIONS),
        counts=result(layout.COUNTS),
    log:
        result(layout.log_file("encoding_tables")),
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/descriptors.yaml"
    script:
        "../scripts/encoding_tables.py"
