"""Snakemake job: each sample's mean SOAP vector, the structural reference model's features."""
from mgbarcode import descriptors, logs

logs.to_file(snakemake.log[0])
# Stored SOAP files, or the structures whose SOAP is computed as it streams (soap.store false).
soap = descriptors.SoapInput.of_job(snakemake.input, snakemake.params, snakemake.threads)
descriptors.write_mean_soap(soap, snakemake.output[0], snakemake.config)
