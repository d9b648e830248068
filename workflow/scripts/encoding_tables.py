"""Snakemake job: collect the per-trajectory encodings into one row per sample."""
import pandas as pd

from mgbarcode import logs, provenance
from mgbarcode.io import write_parquet

log = logs.to_file(snakemake.log[0])
record = provenance.record(snakemake.config)
split_of = pd.read_parquet(snakemake.input.catalogue, columns=["sample_id", "split"]).set_index("sample_id")["split"]
for kind in ("fractions", "counts"):
    table = pd.concat([pd.read_parquet(p) for p in snakemake.input[kind]], ignore_index=True)
    table = table.sort_values("sample_id", kind="stable").reset_index(drop=True)
    table.insert(1, "split", table["sample_id"].map(split_of))
    write_parquet(table, snakemake.output[kind], record)
    log.info("%s: %d samples x %d ULEs", kind, len(table), table.shape[1] - 4)
