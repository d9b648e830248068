"""Snakemake job: one thermal history (quench or ladder protocol) -> inherent structures."""
from mgbarcode import logs, samples

logs.to_file(snakemake.log.job)
samples.make_thermal_trajectory(snakemake.params.trajectory, snakemake.params.md, snakemake.params.potential,
                                snakemake.output.table, snakemake.output.structures, snakemake.config,
                                log_file=snakemake.log.lammps, threads=snakemake.threads)
