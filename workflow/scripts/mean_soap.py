"""Snakemake job: each sample's mean SOAP vector, the structural reference model's features."""
from mgbarcode import descriptors, logs

logs.to_file(snakemake.log[0])
# Stored SOAP files, or the structures whose SOAP is computed as it streams (soap.store false).
soap = descriptors.SoapInput(snakemake.input.get("soap"), snakemake.input.get("soap_tables"),
                             snakemake.input.get("soap_structures"), snakemake.params.get("soap"), snakemake.threads)
descriptors.write_mean_soap(soap, snakemake.output[0], snakemake.config)
