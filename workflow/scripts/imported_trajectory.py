"""Snakemake job: one history of structures a user brings -> inherent structures, as the MD's."""
from mgbarcode import imported_samples, logs, md, provenance, samples

log = logs.to_file(snakemake.log.job)
trajectory, params = snakemake.params.trajectory, snakemake.params
potential = md.Potential.from_config(params.potential)
potential_sha256 = potential.check()
log.info("imported history %s (%s): %d structures", trajectory.trajectory_id, trajectory.split,
         len(trajectory.samples))
structures = imported_samples.run_imported_trajectory(trajectory, potential, params.md, params.imported,
                                                      params.heterogeneity, log_file=snakemake.log.lammps)
samples.write_trajectory(
    structures, trajectory, table_path=snakemake.output.table, structure_dir=snakemake.output.structures,
    potential_sha256=potential_sha256, repeat_tolerances=params.md["repeats"], lammps_version=md.lammps_version(),
    provenance=provenance.record(snakemake.config, potential_sha256),
    extra_columns=imported_samples.catalogue_extra_columns(trajectory))
log.info("wrote %d inherent structures", len(structures))
