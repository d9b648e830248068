"""Snakemake job: merge the per-trajectory tables into results/samples.parquet."""
from mgbarcode import logs, provenance, samples

log = logs.to_file(snakemake.log[0])
catalogue = samples.merge_tables(snakemake.input.tables, snakemake.output[0],
                                 provenance.record(snakemake.config))
for split, group in catalogue.groupby("split"):
    log.info("%s: %d samples from %d trajectories, E_IS %.4f .. %.4f eV/atom", split, len(group),
             group["trajectory_id"].nunique(), group["energy_eV_per_atom"].min(), group["energy_eV_per_atom"].max())
