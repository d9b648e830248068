"""Snakemake job: the ULE dictionary by the leader rule over every train environment, streamed
in sample-id order (then atom order)."""
import json
from pathlib import Path

import pandas as pd

from mgbarcode import basins, descriptors, logs, provenance
from mgbarcode.results_layout import TRAIN_SPLIT
from mgbarcode.ules import leader_dictionary

log = logs.to_file(snakemake.log[0])
threshold = json.loads(Path(snakemake.input.choice).read_text())["threshold"]
catalogue = basins.distinct(pd.read_parquet(snakemake.input.catalogue))
train = catalogue[catalogue["split"] == TRAIN_SPLIT].sort_values("sample_id")
# Stored SOAP files, or the structures whose SOAP is computed as they stream (soap.store false).
soap = descriptors.SoapInput(snakemake.input.get("soap"), snakemake.input.get("soap_tables"),
                             snakemake.input.get("soap_structures"), snakemake.params.get("soap"), snakemake.threads)
paths = soap.sources(list(train["sample_id"]))
dictionary = leader_dictionary.build_dictionary_from_files(paths, threshold, snakemake.params.batch_size)
log.info("%d ULEs from %d train samples at threshold %.4f", len(dictionary), len(paths), threshold)
dictionary.write(snakemake.output[0], provenance.record(snakemake.config, threshold=threshold))
