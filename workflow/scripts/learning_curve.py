"""Snakemake job: test error against train histories and dictionary threshold (Fig. A1)."""
from mgbarcode import descriptors, learning_curve, logs

logs.to_file(snakemake.log[0])
params, out = snakemake.params, snakemake.output
# Stored SOAP files, or structures whose SOAP each point recomputes as it streams (soap.store false).
soap = descriptors.SoapInput.of_job(snakemake.input, params, snakemake.threads)
learning_curve.write_learning_curve(snakemake.input.catalogue, snakemake.input.fit, soap, params.curve, params.model,
                                    params.batch_size, out.table, (out.figure, out.figure_svg), snakemake.config,
                                    n_threads=snakemake.threads)
