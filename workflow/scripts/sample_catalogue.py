"""Snakemake job: merge the per-trajectory tables into results/samples.parquet."""
from mgbarcode import logs, samples

logs.to_file(snakemake.log[0])
samples.write_catalogue(snakemake.input.tables, snakemake.output[0], snakemake.config)
