"""Snakemake job: XGBoost energy model on ULE fractions or barcodes (Optuna TPE, grouped CV)."""
from mgbarcode import learning, logs

logs.to_file(snakemake.log[0])
inputs, out, params = snakemake.input, snakemake.output, snakemake.params
learning.fit_energy_model(snakemake.wildcards.features, inputs.features, inputs.catalogue, params.feature_prefix,
                          params.model, params.study, out.model, out.trials, out.summary, snakemake.config,
                          n_threads=snakemake.threads)
