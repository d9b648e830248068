"""Snakemake job: test error against train histories and dictionary threshold (Fig. A1)."""
import json
from pathlib import Path

import pandas as pd

from mgbarcode import basins, descriptors, figures, learning_curve, logs, provenance
from mgbarcode.io import write_parquet

log = logs.to_file(snakemake.log[0])
params = snakemake.params
catalogue = basins.distinct(pd.read_parquet(snakemake.input.catalogue))
train, test = (catalogue[catalogue["split"] == split] for split in ("train", "test"))
ids = list(train["sample_id"]) + list(test["sample_id"])
# Stored SOAP files, or structures whose SOAP each point recomputes as it streams (soap.store false).
soap_path_of = dict(zip(ids, descriptors.soap_sources(ids, soap_folders=snakemake.input.get("soap"),
                                                      tables=snakemake.input.get("soap_tables"),
                                                      structure_folders=snakemake.input.get("soap_structures"),
                                                      soap_params=snakemake.params.get("soap"),
                                                      n_workers=snakemake.threads)))
fit = json.loads(Path(snakemake.input.fit).read_text())
table = learning_curve.learning_curve(train, test, soap_path_of, params.curve["thresholds"],
                                      params.curve["history_fractions"], fit["best_params"], fit["n_rounds"],
                                      params.model, params.batch_size, params.curve["seed"], snakemake.threads)
for row in table.itertuples():
    log.info("threshold %.3f, %d histories (%d samples), %d ULEs: %s test RMSE %.3f meV/atom, R2 %.3f",
             row.threshold, row.n_histories, row.n_train_samples, row.n_ules, row.model,
             row.test_rmse_meV_per_atom, row.test_r2)
write_parquet(table, snakemake.output.table, provenance.record(snakemake.config))
figures.learning_curve_plot(table, (snakemake.output.figure, snakemake.output.figure_svg))
