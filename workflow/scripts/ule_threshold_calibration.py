"""Snakemake job: ULE count against similarity threshold on a seeded train subsample; the
threshold the dictionary uses (given in config, or the one closest to the target size)."""
import numpy as np
import pandas as pd

from mgbarcode import basins, descriptors, figures, logs, provenance
from mgbarcode.io import write_json, write_parquet
from mgbarcode.results_layout import TRAIN_SPLIT
from mgbarcode.ules import threshold_calibration

log = logs.to_file(snakemake.log[0])
settings, calibration = snakemake.params.ules, snakemake.params.ules["calibration"]
catalogue = basins.distinct(pd.read_parquet(snakemake.input.catalogue))
train = catalogue[catalogue["split"] == TRAIN_SPLIT]
chosen = threshold_calibration.select_calibration_samples(train["sample_id"], calibration["n_samples"],
                                                         calibration["seed"])
# Stored SOAP files, or the structures whose SOAP is computed here (soap.store false).
soap = descriptors.SoapInput(snakemake.input.get("soap"), snakemake.input.get("soap_tables"),
                             snakemake.input.get("soap_structures"), snakemake.params.get("soap"), snakemake.threads)
sources = soap.sources(chosen)
samples = list(descriptors.iter_sample_soap(sources))
vectors = np.concatenate([sample.unit_vectors for sample in samples])
species = np.concatenate([np.asarray(sample.species, dtype=object) for sample in samples])
log.info("calibrating on %d environments of %d train samples", len(vectors), len(chosen))
thresholds = sorted(calibration["thresholds"])
counts = threshold_calibration.count_ules_by_threshold(vectors, thresholds, settings["batch_size"], species)
if settings["threshold"] is not None:
    threshold, rule = float(settings["threshold"]), "ules.threshold from config"
else:
    threshold = threshold_calibration.threshold_for_target_size(thresholds, counts, settings["target_size"])
    rule = (f"the calibrated threshold whose ULE count on the subsample is closest to ules.target_size = "
            f"{settings['target_size']} on a log scale")
log.info("threshold %.4f (%s)", threshold, rule)
record = provenance.record(snakemake.config, seeds={"calibration": calibration["seed"]})
write_parquet(pd.DataFrame({"threshold": thresholds, "n_ules": counts, "n_environments": len(vectors)}),
              snakemake.output.table, record)
write_json(snakemake.output.choice, {"threshold": threshold, "rule": rule, "calibration_samples": chosen,
                                     "n_environments": len(vectors), "provenance": record})
figures.ule_count_vs_threshold(thresholds, counts, (snakemake.output.figure, snakemake.output.figure_svg),
                               chosen_threshold=threshold)
