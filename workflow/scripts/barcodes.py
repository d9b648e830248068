"""Snakemake job: barcodes of every sample; Pearson r of each entry with the IS energy."""
from mgbarcode import barcode, logs

logs.to_file(snakemake.log[0])
out = snakemake.output
barcode.write_barcodes(snakemake.input.kernels, snakemake.input.counts, snakemake.input.catalogue,
                       snakemake.params.k, out.barcodes, out.top_ules, out.summary, snakemake.config)
