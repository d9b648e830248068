"""Snakemake job: shear one thermal IS at one temperature (Lees-Edwards) -> sheared IS with
their strains: cumulative (against the pre-shear IS) and per snapshot interval."""
from mgbarcode import logs, shear

logs.to_file(snakemake.log.job)
params = snakemake.params
shear.make_shear_trajectory(params.trajectory, snakemake.input.source_structures, params.md, params.potential,
                            params.heterogeneity, snakemake.output.table, snakemake.output.structures,
                            snakemake.config, log_file=snakemake.log.lammps, threads=snakemake.threads)
