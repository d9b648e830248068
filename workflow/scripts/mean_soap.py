"""Snakemake job: each sample's mean SOAP vector, the structural reference model's features."""
import pandas as pd

from mgbarcode import descriptors, logs, provenance
from mgbarcode.io import write_parquet

log = logs.to_file(snakemake.log[0])
# Every sample of the batches, by sample id: stored SOAP files, or structures (soap.store false).
ids = descriptors.source_sample_ids(soap_folders=snakemake.input.get("soap"), tables=snakemake.input.get("soap_tables"))
sources = descriptors.soap_sources(ids, soap_folders=snakemake.input.get("soap"),
                                   tables=snakemake.input.get("soap_tables"),
                                   structure_folders=snakemake.input.get("soap_structures"),
                                   soap_params=snakemake.params.get("soap"),
                                   n_workers=snakemake.threads)
sample_ids, matrix = descriptors.mean_unit_vectors(sources)
table = pd.concat([pd.DataFrame({"sample_id": sample_ids}),
                   pd.DataFrame(matrix, columns=[f"soap_{i:04d}" for i in range(matrix.shape[1])])], axis=1)
write_parquet(table, snakemake.output[0], provenance.record(snakemake.config))
log.info("mean SOAP of %d samples, %d features", len(table), matrix.shape[1])
