"""Snakemake job: score every energy model and its references on the test and size splits
(mgbarcode.model_scores)."""
import pandas as pd

from mgbarcode import logs, model_scores, provenance
from mgbarcode.io import write_json, write_parquet

log = logs.to_file(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
tables = {"fractions": pd.read_parquet(inputs.fractions), "barcode": pd.read_parquet(inputs.barcodes),
          "counts": pd.read_parquet(inputs.counts), "mean_soap": pd.read_parquet(inputs.mean_soap)}
metrics, predictions = model_scores.score_models(
    pd.read_parquet(inputs.catalogue), tables, pd.read_parquet(inputs.ule_energies),
    {"xgboost_fractions": (inputs.fractions_model, inputs.fractions_fit),
     "xgboost_barcode": (inputs.barcode_model, inputs.barcode_fit)},
    params.model, params.k, ule_energies_path=inputs.ule_energies)
record = provenance.record(snakemake.config)
write_parquet(predictions, snakemake.output.predictions, record)
write_json(snakemake.output.metrics, {**metrics, "provenance": record})
