"""Snakemake job: rank every ULE by mean |SHAP| of the fractions model over the train samples;
K_eff, the long tail, and how stable the top K_eff is across model seeds."""
from mgbarcode import learning, logs

logs.to_file(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
learning.rank_ules(inputs.model, inputs.fit, inputs.features, inputs.catalogue, params.k, params.tail_share,
                   params.stability_seeds, snakemake.output.ranking, snakemake.output.tail, snakemake.config,
                   n_threads=snakemake.threads)
