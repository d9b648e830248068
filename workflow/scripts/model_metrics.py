"""Snakemake job: score every energy model and its references on the test and size splits
(mgbarcode.model_scores)."""
from mgbarcode import logs, model_scores

logs.to_file(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
model_scores.write_model_scores(
    inputs.catalogue,
    {"fractions": inputs.fractions, "barcode": inputs.barcodes, "counts": inputs.counts, "mean_soap": inputs.mean_soap},
    inputs.ule_energies,
    {"xgboost_fractions": (inputs.fractions_model, inputs.fractions_fit),
     "xgboost_barcode": (inputs.barcode_model, inputs.barcode_fit)},
    params.model, params.k, snakemake.output.metrics, snakemake.output.predictions, snakemake.config)
