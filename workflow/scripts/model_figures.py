"""Snakemake job: the paper's figures of the energy model and the barcodes (PNG + SVG)."""
from mgbarcode import figures, logs

log = logs.to_file(snakemake.log[0])
inputs, out = snakemake.input, snakemake.output
figures.model_figures(inputs.predictions, inputs.ranking, inputs.tail, inputs.top_ules, inputs.barcodes,
                      inputs.catalogue, snakemake.params.n_barcodes_shown,
                      {"parity": (out.parity, out.parity_svg), "shap": (out.shap, out.shap_svg),
                       "barcodes": (out.barcodes, out.barcodes_svg), "pearson": (out.pearson, out.pearson_svg),
                       "group_sums": (out.group_sums, out.group_sums_svg)})
log.info("figures written")
