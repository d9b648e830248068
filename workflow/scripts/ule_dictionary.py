"""Snakemake job: the ULE dictionary by the leader rule over every train environment, streamed
in sample-id order (then atom order)."""
from mgbarcode import descriptors, logs
from mgbarcode.ules import leader_dictionary

logs.to_file(snakemake.log[0])
# Stored SOAP files, or the structures whose SOAP is computed as they stream (soap.store false).
soap = descriptors.SoapInput.of_job(snakemake.input, snakemake.params, snakemake.threads)
leader_dictionary.write_train_dictionary(snakemake.input.catalogue, snakemake.input.choice, soap,
                                         snakemake.params.batch_size, snakemake.output[0], snakemake.config)
