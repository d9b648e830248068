"""Threshold calibration: ULE counts by threshold, the chosen threshold, and the seeded
calibration subsample."""

import numpy as np
import pytest

from mgbarcode.ules import threshold_calibration

pytestmark = pytest.mark.usefixtures("single_blas_thread")


def test_ule_counts_by_threshold_and_the_chosen_threshold(glass_vectors, glass_thresholds, glass_references):
    counts = threshold_calibration.count_ules_by_threshold(glass_vectors, glass_thresholds, batch_size=512)
    assert counts.tolist() == [len(glass_references[t]) for t in glass_thresholds]
    assert counts.dtype == np.int64 and (np.diff(counts) > 0).all()
    thresholds, sizes = [0.90, 0.93, 0.95, 0.97], [10, 50, 200, 900]
    assert threshold_calibration.threshold_for_target_size(thresholds, sizes, target_size=100) == 0.93  # tie 50/200
    assert threshold_calibration.threshold_for_target_size(thresholds, sizes, target_size=120) == 0.95
    assert threshold_calibration.threshold_for_target_size(thresholds, sizes, target_size=5000) == 0.97


def test_calibration_samples_are_seeded_and_order_free():
    ids = [f"train-{i:03d}" for i in range(40)]
    chosen = threshold_calibration.select_calibration_samples(ids, 12, seed=7)
    assert len(chosen) == 12 == len(set(chosen)) and set(chosen) <= set(ids) and chosen == sorted(chosen)
    assert threshold_calibration.select_calibration_samples(ids[::-1], 12, seed=7) == chosen
    assert threshold_calibration.select_calibration_samples(ids, 12, seed=8) != chosen
    assert threshold_calibration.select_calibration_samples(ids[:5], 12, seed=7) == ids[:5]
