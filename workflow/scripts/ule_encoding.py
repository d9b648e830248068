"""Snakemake job: every atom of the samples of a batch of trajectories to its most similar ULE
(per-sample fractions and counts, and the per-atom assignment)."""
from mgbarcode import descriptors, logs
from mgbarcode.ules import encoding

logs.to_file(snakemake.log[0])
inputs, out = snakemake.input, snakemake.output
# Stored SOAP files, or the structures whose SOAP is computed as they stream (soap.store false).
soap = descriptors.SoapInput.of_job(inputs, snakemake.params, snakemake.threads)
encoding.write_batch_encoding(inputs.tables, inputs.choice, inputs.dictionary, soap, snakemake.params.batch_size,
                              {"fractions": out.fractions, "counts": out.counts, "atoms": out.atoms}, snakemake.config)
