"""Snakemake job: one thermal history (quench or ladder protocol) -> inherent structures."""
from mgbarcode import lammps_engine, logs, md, provenance, samples
from mgbarcode.md_settings import MDSettings

log = logs.to_file(snakemake.log.job)
trajectory = snakemake.params.trajectory
potential = md.Potential.from_config(snakemake.params.potential)
potential_sha256 = potential.check(required_elements=trajectory.composition)
log.info("trajectory %s (%s protocol): %d atoms, seed %d", trajectory.trajectory_id, trajectory.PROTOCOL,
         trajectory.n_atoms, trajectory.seed)
# md.engine is not among the rule's params (it would re-run every history when changed).
engine_setting = snakemake.config["md"].get("engine", lammps_engine.PYTHON_MODULE)
settings = MDSettings.from_config({**snakemake.params.md, "engine": engine_setting})
engine = lammps_engine.for_setting(settings.engine)
structures = samples.run_history(trajectory, settings, potential, log_file=snakemake.log.lammps,
                                 threads=snakemake.threads, engine=engine)
samples.write_trajectory(
    structures, trajectory,
    table_path=snakemake.output.table,
    structure_dir=snakemake.output.structures,
    potential_sha256=potential_sha256,
    repeat_tolerances=settings.repeats,
    lammps_version=engine.version(),
    provenance=provenance.record(snakemake.config, potential_sha256,
                                         seeds={"trajectory": trajectory.seed}),
)
log.info("wrote %d inherent structures", len(structures))
