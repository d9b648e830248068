"""Snakemake job: the top-K_eff ULEs, the Voronoi index of each one's centre atom, its group."""
from mgbarcode import kernels, logs

logs.to_file(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
kernels.write_top_ules(inputs.ranking, inputs.tail, inputs.dictionary, inputs.catalogue, params.k, params.voronoi,
                       params.config_source, snakemake.output[0], snakemake.config)
