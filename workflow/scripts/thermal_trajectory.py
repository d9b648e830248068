"""Snakemake job: one thermal trajectory (melt, quench, anneal) -> inherent structures."""
from mgbarcode import logs, md, provenance, samples

log = logs.to_file(snakemake.log.job)
trajectory = snakemake.params.trajectory
potential = md.Potential.from_config(snakemake.params.potential)
potential_sha256 = potential.check(required_elements=trajectory.composition)
log.info("trajectory %s: %d atoms, %.3g K/s, seed %d", trajectory.trajectory_id, trajectory.n_atoms,
         trajectory.cooling_rate_K_per_s, trajectory.seed)
structures = samples.run_thermal_trajectory(trajectory, samples.MDSettings.from_config(snakemake.params.md), potential,
                                            log_file=snakemake.log.lammps, threads=snakemake.threads)
samples.write_trajectory(
    structures, trajectory,
    table_path=snakemake.output.table,
    structure_dir=snakemake.output.structures,
    potential_sha256=potential_sha256,
    lammps_version=md.lammps_version(),
    provenance=provenance.record(snakemake.config, potential_sha256,
                                         seeds={"trajectory": trajectory.seed}),
)
log.info("wrote %d inherent structures", len(structures))
