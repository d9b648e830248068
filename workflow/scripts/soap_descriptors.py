"""Snakemake job: SOAP of every inherent structure of a batch of trajectories, one Parquet file
per sample."""
from pathlib import Path

from mgbarcode import descriptors, logs, provenance
from mgbarcode.io import atomic_directory

logs.to_file(snakemake.log[0])
structure_of = descriptors.structure_files(snakemake.input.tables, snakemake.input.structures)
structure_paths, sample_ids = list(structure_of.values()), list(structure_of)
with atomic_directory(snakemake.output[0]) as tmp_dir:
    descriptors.soap_for_structures(
        structure_paths=structure_paths,
        sample_ids=sample_ids,
        out_paths=[Path(tmp_dir) / f"{sample_id}.parquet" for sample_id in sample_ids],
        soap_params=snakemake.params.soap,
        provenance=provenance.record(snakemake.config))
