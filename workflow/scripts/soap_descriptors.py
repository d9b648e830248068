"""Snakemake job: SOAP of every inherent structure of a batch of trajectories, one Parquet file
per sample."""
from mgbarcode import descriptors, logs

logs.to_file(snakemake.log[0])
descriptors.write_batch_soap(snakemake.input.tables, snakemake.input.structures, snakemake.output[0],
                             snakemake.params.soap, snakemake.config)
