"""Encoding: the nearest ULE (exact argmax, ties to the lowest id), the pruned search equal to
the plain one, the exact matched flag, and per-sample tables from files."""

import logging
from fractions import Fraction

import numpy as np
import pyarrow.dataset as ds
import pytest

from mgbarcode import descriptors
from mgbarcode.errors import InputError
from mgbarcode.ules import encoding, exact_bounds, leader_dictionary
from tests.conftest import clustered_unit_vectors

pytestmark = pytest.mark.usefixtures("single_blas_thread")


def test_ule_columns_are_zero_padded():
    assert encoding.ule_column(7) == "ule_0007" and encoding.ule_column(12345) == "ule_12345"


def test_nearest_ule_is_the_argmax_with_ties_to_the_lowest_id():
    vectors = clustered_unit_vectors(500, 32, n_clusters=10, spread=0.4, seed=5)
    dictionary_vectors = np.concatenate([vectors[:20], vectors[:20]])  # ids 20..39 repeat 0..19
    index, similarity, matched = encoding.nearest_ule(vectors, dictionary_vectors, 0.9, 64)
    dots = vectors.astype(np.float64) @ dictionary_vectors[:20].T.astype(np.float64)
    assert index.max() < 20 and np.array_equal(index[:20], np.arange(20))
    assert np.array_equal(index, dots.argmax(axis=1))
    # M from a float32 dot: ~1e-7 in the dot is up to ~2e-4 in M as M -> 1 (dM/d(dot) diverges).
    np.testing.assert_allclose(similarity, exact_bounds.similarity_from_dot(dots.max(axis=1)), atol=5e-4)
    assert np.array_equal(matched, dots.max(axis=1) >= exact_bounds.min_dot_for_threshold(0.9))


@pytest.fixture(scope="module")
def glass_leaders(glass_vectors, glass_thresholds):
    """Dictionaries of the first 300 glass environments at each threshold (ULE vectors)."""
    return {t: glass_vectors[leader_dictionary.build_dictionary_reference(glass_vectors[:300], t)]
            for t in glass_thresholds}


@pytest.fixture()
def always_prune(monkeypatch):
    """Prune every batch: the test dictionaries are small, so the bounds leave more than
    PRUNE_MAX_FRACTION of the pairs, and batches would fall back to the plain GEMM."""
    monkeypatch.setattr(encoding, "PRUNE_MAX_FRACTION", 1.0)


@pytest.mark.parametrize("batch_size", [1, 7, 4096])
def test_pruned_encoder_equals_the_plain_one_on_real_soap(glass_vectors, glass_thresholds, glass_leaders,
                                                          batch_size, always_prune):
    for threshold in glass_thresholds:
        dictionary_vectors = glass_leaders[threshold]
        plain = encoding.nearest_ule(glass_vectors, dictionary_vectors, threshold, batch_size, prune=False)
        pruned = encoding.nearest_ule(glass_vectors, dictionary_vectors, threshold, batch_size)
        assert np.array_equal(pruned[0], plain[0]) and np.array_equal(pruned[2], plain[2])
        assert 0 < plain[2].sum() < len(glass_vectors)  # matched and unmatched environments
        # M from the float64 dot rounded to float32 (≤ 1.7e-4 off as M -> 1), or from the float32
        # GEMM's dot (its rounding, ~1e-6 here, is up to ~1e-3 in M as M -> 1).
        exact = exact_bounds.similarity_from_dot(np.einsum("ij,ij->i", glass_vectors.astype(np.float64),
                                                   dictionary_vectors[plain[0]].astype(np.float64)))
        np.testing.assert_allclose(pruned[1], exact, atol=2e-4)
        np.testing.assert_allclose(plain[1], exact, atol=1e-3)
    # The head bounds leave few ULEs for full dots.
    search = encoding._NearestSearch(dictionary_vectors, threshold)
    assert search.bound is not None and search.bound.n_head == exact_bounds.HEAD_FEATURES
    vectors, squared_norms = exact_bounds.checked_unit_vectors_and_squared_norms(glass_vectors)
    ids, dots = search._candidates(search.bound.project(vectors, squared_norms), None)
    assert np.isfinite(dots).sum(axis=1).mean() < 0.1 * len(dictionary_vectors)


@pytest.mark.parametrize("batch_size", [5, 4096])
def test_pruned_encoder_settles_exact_and_near_ties_like_the_plain_one(glass_vectors, glass_thresholds,
                                                                      glass_leaders, batch_size, always_prune):
    """ULEs n..2n−1 are exact copies of 0..n−1 (exact ties: the lower id wins), ULEs 2n..3n−1
    copies with their largest feature k moved by one float32 step δ, up for even ids and down
    for odd ones (x·u changes by ±x_k·δ, ~1e-9: far inside float32 rounding, so only the exact
    step decides)."""
    threshold = glass_thresholds[1]
    leaders = glass_leaders[threshold]
    n = len(leaders)
    largest = leaders.argmax(axis=1)
    up = np.arange(n) % 2 == 0
    nudged = leaders.copy()
    nudged[np.arange(n), largest] = np.nextafter(nudged[np.arange(n), largest],
                                                 np.where(up, np.float32(np.inf), np.float32(-np.inf)))
    dictionary_vectors = np.concatenate([leaders, leaders, nudged])
    plain = encoding.nearest_ule(glass_vectors, dictionary_vectors, threshold, batch_size, prune=False)
    index, _, matched = encoding.nearest_ule(glass_vectors, dictionary_vectors, threshold, batch_size)
    assert np.array_equal(index, plain[0]) and np.array_equal(matched, plain[2])
    # The exact answer: the nearest leader i, or its nudged copy iff the step raised x·u
    # (sign of ±x_k; 0 is a three-way tie, to i).
    nearest_leader = encoding.nearest_ule(glass_vectors, leaders, threshold, batch_size, prune=False)[0]
    x_k = glass_vectors[np.arange(len(glass_vectors)), largest[nearest_leader]]
    raised = np.where(up[nearest_leader], x_k, -x_k) > 0
    assert raised.any() and not raised.all()
    assert np.array_equal(index, np.where(raised, 2 * n + nearest_leader, nearest_leader))
    # Each leader is nearest to itself or its raised copy.
    own, _, own_matched = encoding.nearest_ule(leaders, dictionary_vectors, threshold, batch_size)
    assert np.array_equal(own, np.where(up, 2 * n, 0) + np.arange(n)) and own_matched.all()


def test_pruned_encoder_matched_flag_is_exact_at_the_threshold(glass_vectors, glass_thresholds, glass_leaders,
                                                                always_prune):
    """Thresholds set so that d(t) is within a few float64 steps of an environment's exact dot
    with its nearest ULE: inside the float64 rounding band, so only the exact sum decides."""
    leaders = glass_leaders[glass_thresholds[1]]
    vectors = glass_vectors[500:512]
    nearest = encoding.nearest_ule(vectors, leaders, 0.9, 64, prune=False)[0]
    outcomes = []
    for vector, ule in zip(vectors, nearest):
        exact = sum(Fraction(float(p)) * Fraction(float(q)) for p, q in zip(vector, leaders[ule]))
        threshold = 1 - np.sqrt((1 - float(exact)) / 2)
        min_dot = exact_bounds.min_dot_for_threshold(threshold)
        assert abs(float(exact) - min_dot) < 1e-14
        _, _, matched = encoding.nearest_ule(vector[None, :], leaders, threshold, 64)
        _, _, plain_matched = encoding.nearest_ule(vector[None, :], leaders, threshold, 64, prune=False)
        assert matched[0] == plain_matched[0] == (exact >= Fraction(min_dot))
        outcomes.append(bool(matched[0]))
    assert any(outcomes) and not all(outcomes)


def test_fractions_and_unmatched_share_sum_to_one(glass_vectors, glass_thresholds):
    threshold = glass_thresholds[2]
    dictionary_vectors = glass_vectors[leader_dictionary.build_dictionary_reference(glass_vectors[:200], threshold)]
    sample = glass_vectors[500:600]
    nearest_counts, matched_counts, n_unmatched = encoding.encode_sample(sample, dictionary_vectors, threshold, 64)
    assert 0 < n_unmatched < len(sample)  # some atoms are below threshold to every ULE
    assert nearest_counts.sum() == len(sample) and nearest_counts.dtype == np.int64
    assert matched_counts.sum() + n_unmatched == len(sample)
    fractions = matched_counts / len(sample)
    assert fractions.sum() + n_unmatched / len(sample) == pytest.approx(1.0, abs=1e-12)


def _write_sample_files(folder, glass_samples):
    paths, sample_ids = [], []
    for number, (atoms, vectors) in enumerate(glass_samples):
        sample_ids.append(f"glass-{number:02d}")
        paths.append(folder / f"{sample_ids[-1]}.parquet")
        descriptors.write_soap_parquet(paths[-1], sample_ids[-1], atoms, vectors,
                                       np.ones(len(atoms), np.float32), provenance={})
    return paths, sample_ids


def test_files_give_the_same_dictionary_and_encode_consistently(tmp_path, glass_samples, glass_vectors,
                                                                 glass_thresholds, glass_references, caplog):
    threshold = glass_thresholds[0]
    paths, sample_ids = _write_sample_files(tmp_path / "soap", glass_samples)
    assert ds.dataset(tmp_path / "soap", format="parquet").count_rows() == len(glass_vectors)
    with caplog.at_level(logging.INFO, logger="mgbarcode.ules"):
        dictionary = leader_dictionary.build_dictionary_from_files(paths[:4], threshold, batch_size=256)
    assert any("dictionary done" in message for message in caplog.messages)
    n_train = 4 * len(glass_samples[0][0])
    assert np.array_equal(dictionary.unit_vectors,
                          glass_vectors[leader_dictionary.build_dictionary_reference(glass_vectors[:n_train],
                                                                                     threshold)])
    dictionary_path = tmp_path / "dictionary.parquet"
    dictionary.write(dictionary_path, provenance={})
    fractions, counts, atoms = encoding.encode_files(paths, sample_ids, dictionary_path, threshold, batch_size=100)
    columns = ["sample_id", "n_atoms", "n_unmatched"] + [encoding.ule_column(i) for i in range(len(dictionary))]
    assert list(fractions.columns) == columns and list(counts.columns) == columns
    assert fractions["sample_id"].tolist() == sample_ids
    ule_fractions = fractions[columns[3:]].to_numpy()
    assert ule_fractions.dtype == np.float64 and counts[columns[3:]].to_numpy().dtype == np.int64
    np.testing.assert_allclose(ule_fractions.sum(axis=1) + fractions["n_unmatched"] / fractions["n_atoms"],
                               1.0, atol=1e-12)
    assert (counts[columns[3:]].sum(axis=1) == counts["n_atoms"]).all()
    # Every training environment matched the dictionary while it was built.
    assert (fractions["n_unmatched"].iloc[:4] == 0).all()
    for row, (_, vectors) in enumerate(glass_samples):
        nearest_counts, matched_counts, n_unmatched = encoding.encode_sample(
            vectors, dictionary.unit_vectors, threshold, 4096)
        assert np.array_equal(counts[columns[3:]].iloc[row].to_numpy(), nearest_counts)
        assert np.array_equal(ule_fractions[row], matched_counts / len(vectors))
        assert fractions["n_unmatched"].iloc[row] == n_unmatched
        index, similarity, matched = encoding.nearest_ule(vectors, dictionary.unit_vectors, threshold, 4096)
        of_sample = atoms[atoms["sample_id"] == sample_ids[row]]
        assert of_sample["atom"].tolist() == list(range(len(vectors)))
        assert np.array_equal(of_sample["ule_id"], index) and np.array_equal(of_sample["matched"], matched)
        np.testing.assert_allclose(of_sample["similarity"], similarity, atol=1e-6)
    assert len(atoms) == counts["n_atoms"].sum()
    with pytest.raises(InputError, match="sample_id"):
        encoding.encode_files(paths[::-1], sample_ids, dictionary_path, threshold, batch_size=100)
