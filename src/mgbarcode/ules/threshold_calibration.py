"""Threshold calibration: the ULE count against similarity threshold on a seeded train
subsample (the paper's Fig. A1 analogue), and the threshold whose count is closest to a
target dictionary size (METHOD §2: the paper's Δ_th = 0.84 merges nearly every environment of
these SOAP vectors into one or two ULEs, so the threshold is calibrated on the data).

Each count is the size of a full leader dictionary
(:class:`~mgbarcode.ules.leader_dictionary.LeaderDictionary`) of the same environments in the
same order.
"""

import logging
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import basins, provenance
from ..descriptors import iter_sample_soap
from ..io import write_json, write_parquet
from ..results_layout import TRAIN_SPLIT
from .exact_bounds import checked_unit_vectors
from .leader_dictionary import LeaderDictionary

log = logging.getLogger(__name__)

def select_calibration_samples(sample_ids, n_samples, seed):
    """``n_samples`` of ``sample_ids`` drawn without replacement by a seeded RNG (all of them
    if there are fewer), returned sorted.  The ids are sorted first, so the choice does not
    depend on the order they are given in."""
    ids = sorted(set(sample_ids))
    if n_samples >= len(ids):
        return ids
    chosen = np.random.default_rng(seed).choice(len(ids), size=int(n_samples), replace=False)
    return sorted(ids[i] for i in chosen)


def count_ules_by_threshold(unit_vectors, thresholds, batch_size, species=None):
    """Dictionary size (int64) at each similarity threshold for the same environments in the
    same order: the ULE count against threshold curve (the paper's Fig. A1 analogue).
    ``species`` (centre species per row, optional) only speeds the builds up."""
    vectors = checked_unit_vectors(unit_vectors)
    counts = []
    for threshold in thresholds:
        dictionary = LeaderDictionary(threshold, vectors.shape[1], batch_size)
        dictionary.add(vectors, species)
        counts.append(len(dictionary))
        log.info("threshold %.4f: %d ULEs from %d environments", threshold, len(dictionary), len(vectors))
    return np.asarray(counts, dtype=np.int64)


def threshold_for_target_size(thresholds, counts, target_size):
    """The threshold whose ULE count is closest to ``target_size`` on a log scale.

    Rule: minimise |log(count) − log(target)| (counts span decades, so 200 and 800 are
    equally far from 400); ties go to the smaller threshold (the smaller dictionary).  No
    interpolation: the returned threshold is one that was measured.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    if thresholds.shape != counts.shape or len(thresholds) == 0:
        raise ValueError("thresholds and counts must be non-empty and of equal length")
    if target_size < 1 or (counts < 1).any():
        raise ValueError("target_size and counts must be >= 1")
    distance = np.abs(np.log(counts / target_size))
    best = np.flatnonzero(distance == distance.min())
    return float(thresholds[best].min())


class Calibration(NamedTuple):
    """The calibration job's result: ULE counts at each threshold, and the threshold chosen."""

    thresholds: list
    counts: np.ndarray
    threshold: float


def calibrate_threshold(catalogue_path, soap, settings, table_path, choice_path, config):
    """The calibration job: ULE count against threshold on a seeded subsample of the distinct
    ``train`` samples (:func:`select_calibration_samples`), and the threshold the dictionary
    uses: ``settings["threshold"]`` (the config's ``ules`` section) when given, else the one
    whose count is closest to ``settings["target_size"]`` (:func:`threshold_for_target_size`).
    ``soap``: a :class:`~mgbarcode.descriptors.SoapInput`.  Writes the counts (Parquet) and the
    choice (JSON, with the samples used), both with provenance; returns a :class:`Calibration`.
    """
    calibration = settings["calibration"]
    catalogue = basins.distinct(pd.read_parquet(catalogue_path))
    train = catalogue[catalogue["split"] == TRAIN_SPLIT]
    chosen = select_calibration_samples(train["sample_id"], calibration["n_samples"], calibration["seed"])
    samples = list(iter_sample_soap(soap.sources(chosen)))
    vectors = np.concatenate([sample.unit_vectors for sample in samples])
    species = np.concatenate([np.asarray(sample.species, dtype=object) for sample in samples])
    log.info("calibrating on %d environments of %d train samples", len(vectors), len(chosen))
    thresholds = sorted(calibration["thresholds"])
    counts = count_ules_by_threshold(vectors, thresholds, settings["batch_size"], species)
    if settings["threshold"] is not None:
        threshold, rule = float(settings["threshold"]), "ules.threshold from config"
    else:
        threshold = threshold_for_target_size(thresholds, counts, settings["target_size"])
        rule = (f"the calibrated threshold whose ULE count on the subsample is closest to ules.target_size = "
                f"{settings['target_size']} on a log scale")
    log.info("threshold %.4f (%s)", threshold, rule)
    record = provenance.record(config, seeds={"calibration": calibration["seed"]})
    write_parquet(pd.DataFrame({"threshold": thresholds, "n_ules": counts, "n_environments": len(vectors)}),
                  table_path, record)
    write_json(choice_path, {"threshold": threshold, "rule": rule, "calibration_samples": chosen,
                             "n_environments": len(vectors), "provenance": record})
    return Calibration(thresholds, counts, threshold)
