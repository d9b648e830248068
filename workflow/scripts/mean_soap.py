"""Snakemake job: each sample's mean SOAP vector, the structural reference model's features."""
from pathlib import Path

import pandas as pd

from mgbarcode import descriptors, logs, provenance
from mgbarcode.io import write_parquet

log = logs.to_file(snakemake.log[0])
paths = sorted((path for folder in snakemake.input.soap for path in Path(folder).glob("*.parquet")),
               key=lambda path: path.stem)
sample_ids, matrix = descriptors.mean_unit_vectors(paths)
table = pd.concat([pd.DataFrame({"sample_id": sample_ids}),
                   pd.DataFrame(matrix, columns=[f"soap_{i:04d}" for i in range(matrix.shape[1])])], axis=1)
write_parquet(table, snakemake.output[0], provenance.record(snakemake.config))
log.info("mean SOAP of %d samples, %d features", len(table), matrix.shape[1])
