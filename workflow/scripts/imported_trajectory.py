"""Snakemake job: one history of structures a user brings -> inherent structures, as the MD's."""
from mgbarcode import imported_samples, logs

logs.to_file(snakemake.log.job)
params = snakemake.params
imported_samples.import_trajectory(params.trajectory, params.md, params.potential, params.imported,
                                   params.heterogeneity, snakemake.output.table, snakemake.output.structures,
                                   snakemake.config, log_file=snakemake.log.lammps)
