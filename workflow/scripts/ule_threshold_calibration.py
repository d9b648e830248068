"""Snakemake job: ULE count against similarity threshold on a seeded train subsample; the
threshold the dictionary uses (given in config, or the one closest to the target size)."""
from mgbarcode import descriptors, figures, logs
from mgbarcode.ules import threshold_calibration

logs.to_file(snakemake.log[0])
inputs, out = snakemake.input, snakemake.output
soap = descriptors.SoapInput.of_job(inputs, snakemake.params, snakemake.threads)
calibration = threshold_calibration.calibrate_threshold(inputs.catalogue, soap, snakemake.params.ules, out.table,
                                                        out.choice, snakemake.config)
figures.ule_count_vs_threshold(calibration.thresholds, calibration.counts, (out.figure, out.figure_svg),
                               chosen_threshold=calibration.threshold)
