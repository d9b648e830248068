"""Snakemake job: shear one thermal IS at one temperature (Lees-Edwards) -> sheared IS with
their strains: cumulative (against the pre-shear IS) and per snapshot interval."""
from pathlib import Path

from mgbarcode import lammps_engine, logs, md, provenance, samples, shear
from mgbarcode.io import read_structure
from mgbarcode.md_settings import MDSettings

log = logs.to_file(snakemake.log.job)
trajectory = snakemake.params.trajectory
# md.engine is not among the rule's params (it would re-run every shear when changed).
engine_setting = snakemake.config["md"].get("engine", lammps_engine.PYTHON_MODULE)
settings = MDSettings.from_config({**snakemake.params.md, "engine": engine_setting})
engine = lammps_engine.for_setting(settings.engine)
potential = md.Potential.from_config(snakemake.params.potential)
potential_sha256 = potential.check()
source = read_structure(Path(snakemake.input.source_structures) / f"{trajectory.source_sample_id}.extxyz")
log.info("shearing %s at %.0f K, %.3g /ps to strain %.3f (seed %d)", trajectory.source_sample_id,
         trajectory.temperature_K, trajectory.strain_rate_per_ps, trajectory.total_strain, trajectory.seed)
result = shear.run_shear_trajectory(source, trajectory, settings, potential, heterogeneity=snakemake.params.heterogeneity,
                                    log_file=snakemake.log.lammps, threads=snakemake.threads, engine=engine)
samples.write_trajectory(result.structures, trajectory, table_path=snakemake.output.table,
                         structure_dir=snakemake.output.structures, potential_sha256=potential_sha256,
                         lammps_version=engine.version(), repeat_tolerances=settings.repeats,
                         provenance=provenance.record(snakemake.config, potential_sha256, seeds={"shear": trajectory.seed}),
                         extra_columns=shear.CATALOGUE_EXTRA_COLUMNS)
