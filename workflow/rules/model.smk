# Learning and interpretation: energy models, SHAP ranking, top-ULE kernels, barcodes, scores.


rule energy_model:
    input:
        features=feature_table,
        catalogue=f"{R}/samples.parquet",
    output:
        model=f"{R}/model/{{features}}_model.json",
        trials=f"{R}/model/{{features}}_trials.parquet",
        summary=f"{R}/model/{{features}}_fit.json",
    log:
        f"{R}/logs/energy_model/{{features}}.log",
    benchmark:
        f"{R}/benchmarks/energy_model/{{features}}.tsv"
    params:
        model=config["model"],
        feature_prefix=lambda w: FEATURE_PREFIX[w.features],
        # Optuna journal: not a declared output, so a killed job keeps its finished trials.
        study=f"{R}/model/optuna/{{features}}.journal",
    threads: resources_for("energy_model")["threads"]
    resources:
        mem_mb=resources_for("energy_model")["mem_mb"],
        runtime=resources_for("energy_model")["runtime_min"],
    conda:
        "../../envs/energy_model.yaml"
    script:
        "../scripts/energy_model.py"


rule shap_ranking:
    input:
        model=f"{R}/model/fractions_model.json",
        fit=f"{R}/model/fractions_fit.json",
        features=f"{R}/encoding/fractions.parquet",
        catalogue=f"{R}/samples.parquet",
    output:
        ranking=f"{R}/model/shap_ranking.parquet",
        tail=f"{R}/model/shap_long_tail.json",
    log:
        f"{R}/logs/shap_ranking.log",
    benchmark:
        f"{R}/benchmarks/shap_ranking.tsv"
    params:
        k=config["barcode"]["k"],
        tail_share=config["barcode"]["tail_share"],
        stability_seeds=config["barcode"]["stability_seeds"],
    threads: resources_for("shap_ranking")["threads"]
    resources:
        mem_mb=resources_for("shap_ranking")["mem_mb"],
        runtime=resources_for("shap_ranking")["runtime_min"],
    conda:
        "../../envs/shap_ranking.yaml"
    script:
        "../scripts/shap_ranking.py"


rule top_ule_kernels:
    input:
        ranking=f"{R}/model/shap_ranking.parquet",
        tail=f"{R}/model/shap_long_tail.json",
        dictionary=f"{R}/ules/dictionary.parquet",
        catalogue=f"{R}/samples.parquet",
    output:
        f"{R}/barcode/kernels.parquet",
    log:
        f"{R}/logs/top_ule_kernels.log",
    params:
        k=config["barcode"]["k"],
        voronoi=config["kernels"],
        config_source=CONFIG_SOURCE,
    threads: resources_for("top_ule_kernels")["threads"]
    resources:
        mem_mb=resources_for("top_ule_kernels")["mem_mb"],
        runtime=resources_for("top_ule_kernels")["runtime_min"],
    conda:
        "../../envs/top_ule_kernels.yaml"
    script:
        "../scripts/top_ule_kernels.py"


rule barcodes:
    input:
        kernels=f"{R}/barcode/kernels.parquet",
        counts=f"{R}/encoding/counts.parquet",
        catalogue=f"{R}/samples.parquet",
    output:
        barcodes=f"{R}/barcode/barcodes.parquet",
        top_ules=f"{R}/barcode/top_ules.parquet",
        summary=f"{R}/barcode/summary.json",
    log:
        f"{R}/logs/barcodes.log",
    params:
        k=config["barcode"]["k"],
    threads: resources_for("barcodes")["threads"]
    resources:
        mem_mb=resources_for("barcodes")["mem_mb"],
        runtime=resources_for("barcodes")["runtime_min"],
    conda:
        "../../envs/barcodes.yaml"
    script:
        "../scripts/barcodes.py"


rule mean_soap:
    input:
        unpack(soap_input("train", "test", "size")),
    output:
        f"{R}/encoding/mean_soap.parquet",
    log:
        f"{R}/logs/mean_soap.log",
    benchmark:
        f"{R}/benchmarks/mean_soap.tsv"
    params:
        **soap_stream_params(),
    threads: resources_for("mean_soap")["threads"]
    resources:
        mem_mb=resources_for("mean_soap")["mem_mb"],
        runtime=resources_for("mean_soap")["runtime_min"],
    conda:
        "../../envs/mean_soap.yaml"
    script:
        "../scripts/mean_soap.py"


rule model_metrics:
    input:
        mean_soap=f"{R}/encoding/mean_soap.parquet",
        fractions_fit=f"{R}/model/fractions_fit.json",
        barcode_fit=f"{R}/model/barcode_fit.json",
        fractions=f"{R}/encoding/fractions.parquet",
        counts=f"{R}/encoding/counts.parquet",
        ule_energies=f"{R}/ules/energies.parquet",
        barcodes=f"{R}/barcode/barcodes.parquet",
        fractions_model=f"{R}/model/fractions_model.json",
        barcode_model=f"{R}/model/barcode_model.json",
        catalogue=f"{R}/samples.parquet",
    output:
        metrics=f"{R}/model/metrics.json",
        predictions=f"{R}/model/predictions.parquet",
    log:
        f"{R}/logs/model_metrics.log",
    params:
        k=config["barcode"]["k"],
        model=config["model"],
    threads: resources_for("model_metrics")["threads"]
    resources:
        mem_mb=resources_for("model_metrics")["mem_mb"],
        runtime=resources_for("model_metrics")["runtime_min"],
    conda:
        "../../envs/model_metrics.yaml"
    script:
        "../scripts/model_metrics.py"


rule model_figures:
    input:
        predictions=f"{R}/model/predictions.parquet",
        ranking=f"{R}/model/shap_ranking.parquet",
        tail=f"{R}/model/shap_long_tail.json",
        top_ules=f"{R}/barcode/top_ules.parquet",
        barcodes=f"{R}/barcode/barcodes.parquet",
        catalogue=f"{R}/samples.parquet",
    output:
        parity=report(f"{R}/figures/parity.png", category="Energy model",
                      caption="../report/parity.rst"),
        parity_svg=f"{R}/figures/parity.svg",
        shap=report(f"{R}/figures/shap_distribution.png", category="Energy model",
                    caption="../report/shap_distribution.rst"),
        shap_svg=f"{R}/figures/shap_distribution.svg",
        barcodes=report(f"{R}/figures/barcodes.png", category="Barcodes",
                        caption="../report/barcodes.rst"),
        barcodes_svg=f"{R}/figures/barcodes.svg",
        pearson=report(f"{R}/figures/pearson_r.png", category="Barcodes",
                       caption="../report/pearson_r.rst"),
        pearson_svg=f"{R}/figures/pearson_r.svg",
        group_sums=report(f"{R}/figures/group_sums.png", category="Barcodes",
                          caption="../report/group_sums.rst"),
        group_sums_svg=f"{R}/figures/group_sums.svg",
    log:
        f"{R}/logs/model_figures.log",
    params:
        n_barcodes_shown=config["figures"]["n_barcodes_shown"],
    threads: resources_for("model_figures")["threads"]
    resources:
        mem_mb=resources_for("model_figures")["mem_mb"],
        runtime=resources_for("model_figures")["runtime_min"],
    conda:
        "../../envs/model_figures.yaml"
    script:
        "../scripts/model_figures.py"


rule learning_curve:
    input:
        unpack(soap_input("train", "test")),
        fit=f"{R}/model/fractions_fit.json",
        catalogue=f"{R}/samples.parquet",
    output:
        table=f"{R}/model/learning_curve.parquet",
        figure=report(f"{R}/figures/learning_curve.png", category="Energy model",
                      caption="../report/learning_curve.rst"),
        figure_svg=f"{R}/figures/learning_curve.svg",
    log:
        f"{R}/logs/learning_curve.log",
    benchmark:
        f"{R}/benchmarks/learning_curve.tsv"
    params:
        curve=config["learning_curve"],
        model=config["model"],
        batch_size=config["ules"]["batch_size"],
        **soap_stream_params(),
    threads: resources_for("learning_curve")["threads"]
    resources:
        mem_mb=resources_for("learning_curve")["mem_mb"],
        runtime=resources_for("learning_curve")["runtime_min"],
    conda:
        "../../envs/learning_curve.yaml"
    script:
        "../scripts/learning_curve.py"
