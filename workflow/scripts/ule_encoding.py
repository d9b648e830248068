"""Snakemake job: every atom of the samples of a batch of trajectories to its most similar ULE
(per-sample fractions and counts, and the per-atom assignment)."""
import json
from pathlib import Path

import pandas as pd

from mgbarcode import descriptors, logs, provenance
from mgbarcode.io import write_parquet
from mgbarcode.ules import encoding

logs.to_file(snakemake.log[0])
threshold = json.loads(Path(snakemake.input.choice).read_text())["threshold"]
sample_ids = [s for table in snakemake.input.tables for s in pd.read_parquet(table, columns=["sample_id"])["sample_id"]]
# Stored SOAP files, or the structures whose SOAP is computed as they stream (soap.store false).
soap = descriptors.SoapInput(snakemake.input.get("soap"), snakemake.input.get("soap_tables"),
                             snakemake.input.get("soap_structures"), snakemake.params.get("soap"), snakemake.threads)
sources = soap.sources(sample_ids)
encoded = encoding.encode_files(sources, sample_ids, snakemake.input.dictionary, threshold, snakemake.params.batch_size)
record = provenance.record(snakemake.config, threshold=threshold)
write_parquet(encoded.fractions, snakemake.output.fractions, record)
write_parquet(encoded.counts, snakemake.output.counts, record)
write_parquet(encoded.atoms, snakemake.output.atoms, record, use_dictionary=["sample_id"])
