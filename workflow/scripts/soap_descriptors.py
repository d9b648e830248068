"""Snakemake job: SOAP of every inherent structure of one trajectory, one Parquet file each."""
from pathlib import Path

import pandas as pd

from mgbarcode import descriptors, logs, provenance
from mgbarcode.io import atomic_directory

logs.to_file(snakemake.log[0])
table = pd.read_parquet(snakemake.input.table, columns=["sample_id", "structure"])
with atomic_directory(snakemake.output[0]) as tmp_dir:
    descriptors.soap_for_structures(
        structure_paths=[Path(snakemake.input.structures) / Path(p).name for p in table["structure"]],
        sample_ids=list(table["sample_id"]),
        out_paths=[Path(tmp_dir) / f"{sample_id}.parquet" for sample_id in table["sample_id"]],
        soap_params=snakemake.params.soap,
        provenance=provenance.record(snakemake.config))
