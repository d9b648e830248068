"""Snakemake job: collect the per-trajectory encodings into one row per sample."""
from mgbarcode import logs
from mgbarcode.ules import encoding

logs.to_file(snakemake.log[0])
inputs, out = snakemake.input, snakemake.output
encoding.collect_encodings(inputs.catalogue, {"fractions": inputs.fractions, "counts": inputs.counts},
                           {"fractions": out.fractions, "counts": out.counts}, snakemake.config)
