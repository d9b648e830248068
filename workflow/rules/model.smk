# Learning and interpretation: energy models, SHAP ranking, top-ULE kernels, barcodes, scores.


rule energy_model:
    input:
        features=feature_table,
        catalogue=result(layout.CATALOGUE),
    output:
        model=result(layout.model_output("{features}", "model")),
        trials=result(layout.model_output("{features}", "trials")),
        summary=result(layout.model_output("{features}", "fit")),
    log:
        result(layout.log_file("energy_model", "{features}")),
    benchmark:
        result(layout.benchmark_file("energy_model", "{features}"))
    params:
        model=config["model"],
        feature_prefix=lambda w: layout.FEATURE_PREFIX[w.features],
        # Optuna journal: not a declared output, so a killed job keeps its finished trials.
        study=result(layout.model_output("{features}", "journal")),
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/learning.yaml"
    script:
        "../scripts/energy_model.py"


rule shap_ranking:
    input:
        model=result(layout.model_output("fractions", "model")),
        fit=result(layout.model_output("fractions", "fit")),
        features=result(layout.FRACTIONS),
        catalogue=result(layout.CATALOGUE),
    output:
        ranking=result(layout.SHAP_RANKING),
        tail=result(layout.SHAP_LONG_TAIL),
    log:
        result(layout.log_file("shap_ranking")),
    benchmark:
        result(layout.benchmark_file("shap_ranking"))
    params:
        k=config["barcode"]["k"],
        tail_share=config["barcode"]["tail_share"],
        stability_seeds=config["barcode"]["stability_seeds"],
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/learning.yaml"
    script:
        "../scripts/shap_ranking.py"


rule top_ule_kernels:
    input:
        ranking=result(layout.SHAP_RANKING),
        tail=result(layout.SHAP_LONG_TAIL),
        dictionary=result(layout.DICTIONARY),
        catalogue=result(layout.CATALOGUE),
    output:
        result(layout.KERNELS),
    log:
        result(layout.log_file("top_ule_kernels")),
    params:
        k=config["barcode"]["k"],
        voronoi=config["kernels"],
        config_source=CONFIG_SOURCE,
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/top_ule_kernels.py"


rule barcodes:
    input:
        kernels=result(layout.KERNELS),
        counts=result(layout.COUNTS),
        catalogue=result(layout.CATALOGUE),
    output:
        barcodes=result(layout.BARCODES),
        top_ules=result(layout.TOP_ULES),
        summary=result(layout.BARCODE_SUMMARY),
    log:
        result(layout.log_file("barcodes")),
    params:
        k=config["barcode"]["k"],
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/barcodes.py"


rule mean_soap:
    input:
        unpack(soap_input(*layout.THERMAL_SPLITS)),
    output:
        result(layout.MEAN_SOAP),
    log:
        result(layout.log_file("mean_soap")),
    benchmark:
        result(layout.benchmark_file("mean_soap"))
    params:
        **soap_stream_params(),
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/descriptors.yaml"
    script:
        "../scripts/mean_soap.py"


rule model_metrics:
    input:
        mean_soap=result(layout.MEAN_SOAP),
        fractions_fit=result(layout.model_output("fractions", "fit")),
        barcode_fit=result(layout.model_output("barcode", "fit")),
        fractions=result(layout.FRACTIONS),
        counts=result(layout.COUNTS),
        ule_energies=result(layout.ULE_ENERGIES),
        barcodes=result(layout.BARCODES),
        fractions_model=result(layout.model_output("fractions", "model")),
        barcode_model=result(layout.model_output("barcode", "model")),
        catalogue=result(layout.CATALOGUE),
    output:
        metrics=result(layout.METRICS),
        predictions=result(layout.PREDICTIONS),
    log:
        result(layout.log_file("model_metrics")),
    params:
        k=config["barcode"]["k"],
        model=config["model"],
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/learning.yaml"
    script:
        "../scripts/model_metrics.py"


rule model_figures:
    input:
        predictions=result(layout.PREDICTIONS),
        ranking=result(layout.SHAP_RANKING),
        tail=result(layout.SHAP_LONG_TAIL),
        top_ules=result(layout.TOP_ULES),
        barcodes=result(layout.BARCODES),
        catalogue=result(layout.CATALOGUE),
    output:
        **figure_files("parity", "parity", "Energy model"),
        **figure_files("shap", "shap_distribution", "Energy model"),
        **figure_files("barcodes", "barcodes", "Barcodes"),
        **figure_files("pearson", "pearson_r", "Barcodes"),
        **figure_files("group_sums", "group_sums", "Barcodes"),
    log:
        result(layout.log_file("model_figures")),
    params:
        n_barcodes_shown=config["figures"]["n_barcodes_shown"],
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/model_figures.py"


rule learning_curve:
    input:
        unpack(soap_input(layout.TRAIN_SPLIT, layout.TEST_SPLIT)),
        fit=result(layout.model_output("fractions", "fit")),
        catalogue=result(layout.CATALOGUE),
    output:
        table=result(layout.LEARNING_CURVE),
        **figure_files("figure", "learning_curve", "Energy model"),
    log:
        result(layout.log_file("learning_curve")),
    benchmark:
        result(layout.benchmark_file("learning_curve"))
    params:
        curve=config["learning_curve"],
        model=config["model"],
        batch_size=config["ules"]["batch_size"],
        **soap_stream_params(),
    threads: config_threads
    resources:
        **CONFIG_RESOURCES,
    conda:
        "../../envs/learning.yaml"
    script:
        "../scripts/learning_curve.py"
