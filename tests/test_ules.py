"""ULE dictionary (batched leader clustering == the one-at-a-time rule), calibration, encoding."""

import logging
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from ase.build import bulk

from mgbarcode import descriptors, io, ules
from mgbarcode.errors import InputError

COMPOSITION = {"Cu": 0.56, "Zr": 0.44}
B2_CUZR_A = 3.237  # Å, CuZr_mm (METHOD §1)


def unit_rows(matrix):
    matrix = np.asarray(matrix, dtype=np.float64)
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def clustered_unit_vectors(n_vectors, n_features, n_clusters, spread, seed):
    """Unit vectors scattered around random centres (a shared offset makes them all alike,
    like SOAP vectors of one alloy), in random order."""
    rng = np.random.default_rng(seed)
    offset = np.abs(rng.normal(size=n_features))
    centres = offset + rng.normal(scale=0.6, size=(n_clusters, n_features))
    members = rng.integers(n_clusters, size=n_vectors)
    return unit_rows(centres[members] + rng.normal(scale=spread, size=(n_vectors, n_features)))


@pytest.fixture(scope="module", autouse=True)
def single_blas_thread():
    """These tests make many small matrix products; a second BLAS thread only adds waiting
    (and, on a busy machine, much more), so run them on one."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def glass_samples(default_config, soap):
    """Six 'samples': one random CuZr-like configuration (100 atoms), each sample a copy
    with its atoms jittered by 0.1 Å, so that environments recur with small differences."""
    md = default_config["md"]
    base = descriptors.random_structure(100, COMPOSITION, md["number_density_per_A3"],
                                        md["initial_min_distance_A"], seed=11)
    rng = np.random.default_rng(12)
    samples = []
    for _ in range(6):
        atoms = base.copy()
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        samples.append((atoms, descriptors.soap_vectors(atoms, soap)[0]))
    return samples


@pytest.fixture(scope="module")
def glass_vectors(glass_samples):
    return np.concatenate([vectors for _, vectors in glass_samples])


@pytest.fixture(scope="module")
def glass_thresholds(glass_vectors):
    """Three thresholds spread over the nearest-neighbour similarities of the data, so each
    gives a different, non-trivial dictionary."""
    dots = glass_vectors @ glass_vectors.T
    np.fill_diagonal(dots, -1)
    nearest = ules.similarity_from_dot(dots.max(axis=1))
    return [round(float(q), 4) for q in np.quantile(nearest, [0.1, 0.3, 0.6])]


@pytest.fixture(scope="module")
def glass_references(glass_vectors, glass_thresholds):
    return {t: ules.build_dictionary_reference(glass_vectors, t) for t in glass_thresholds}


# --------------------------------------------------------------------------- similarity

def test_similarity_is_the_papers_distance_formula():
    rng = np.random.default_rng(0)
    a, b = unit_rows(rng.normal(size=(2, 50, 30)).reshape(100, 30)).reshape(2, 50, 30).astype(np.float64)
    direct = 1 - np.linalg.norm(a - b, axis=1) / 2
    np.testing.assert_allclose(ules.similarity_from_dot(np.einsum("ij,ij->i", a, b)), direct, atol=1e-7)
    assert ules.similarity_from_dot(1.0) == 1.0 and ules.similarity_from_dot(-1.0) == 0.0
    for threshold in (0.5, 0.84, 0.95, 0.999):
        assert ules.similarity_from_dot(ules.min_dot_for_threshold(threshold)) == pytest.approx(threshold)
    assert ules.similarity_from_dot(np.float32(0.9)).dtype == np.float32
    assert ules.ule_column(7) == "ule_0007" and ules.ule_column(12345) == "ule_12345"
    with pytest.raises(ValueError):
        ules.min_dot_for_threshold(1.5)


def test_exact_match_is_exact_at_the_cut():
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, y = unit_rows(rng.normal(size=(2, 40)))
        exact = sum(Fraction(float(p)) * Fraction(float(q)) for p, q in zip(x, y))
        for offset in (-1e-15, 0.0, 1e-15):
            min_dot = float(exact) + offset
            assert ules._exact_match(x, y, min_dot) == (exact >= Fraction(min_dot))


def test_reference_is_the_leader_rule_in_exact_arithmetic():
    vectors = clustered_unit_vectors(120, 12, n_clusters=6, spread=0.5, seed=2)
    exact = [[Fraction(float(v)) for v in row] for row in vectors]
    min_dot = Fraction(ules.min_dot_for_threshold(0.8))
    leaders = []
    for k, row in enumerate(exact):
        if all(sum(p * q for p, q in zip(row, exact[j])) < min_dot for j in leaders):
            leaders.append(k)
    assert 6 <= len(leaders) < 120
    assert ules.build_dictionary_reference(vectors, 0.8).tolist() == leaders


# --------------------------------------------------------------------------- dictionary

@pytest.fixture(scope="module")
def glass_species(glass_samples):
    return np.asarray([s for atoms, _ in glass_samples for s in atoms.get_chemical_symbols()], dtype=object)


@pytest.mark.parametrize("labels", ["none", "centre species", "scrambled"])
@pytest.mark.parametrize("batch_size", [1, 7, 256, 5000])
def test_batched_dictionary_equals_reference_on_real_soap(glass_vectors, glass_thresholds, glass_references,
                                                          glass_species, batch_size, labels):
    # Species only order the search: right, scrambled (with unknowns) or absent, same dictionary.
    species = {"none": None, "centre species": glass_species,
               "scrambled": np.random.default_rng(5).permutation(
                   np.where(np.arange(len(glass_species)) % 7 == 0, None, glass_species))}[labels]
    for threshold in glass_thresholds:
        expected = glass_references[threshold]
        assert 1 < len(expected) < len(glass_vectors)  # the threshold matters
        dictionary = ules.LeaderDictionary(threshold, glass_vectors.shape[1], batch_size)
        new = dictionary.add(glass_vectors, species=species)
        assert np.array_equal(new, expected)
        assert np.array_equal(dictionary.unit_vectors, glass_vectors[expected])


@pytest.mark.parametrize("threshold", [0.65, 0.8, 0.83])
@pytest.mark.parametrize("batch_size", [1, 7, 300, 10_000])
def test_batched_dictionary_equals_reference_on_clustered_vectors(threshold, batch_size):
    vectors = clustered_unit_vectors(3000, 64, n_clusters=40, spread=0.35, seed=3)
    expected = ules.build_dictionary_reference(vectors, threshold)
    assert 10 < len(expected) < len(vectors)
    dictionary = ules.LeaderDictionary(threshold, vectors.shape[1], batch_size)
    # Several add() calls of uneven sizes are one stream.
    found = [start + dictionary.add(vectors[start:stop]) for start, stop in
             [(0, 1), (1, 500), (500, 503), (503, 3000)]]
    assert np.array_equal(np.concatenate(found), expected)
    assert dictionary.n_environments == len(vectors)


def test_head_bounds_bracket_every_exact_dot(glass_vectors):
    """Step 3 of the ules module docstring: the head features' float32 dot ± ρₓρᵤ ± E_H
    brackets the exact dot of every pair, and ρ is a tight upper bound of the rest's norm."""
    min_dot = ules.min_dot_for_threshold(0.9)
    bound = ules._HeadBound.from_sample(glass_vectors, ules.HEAD_FEATURES, min_dot)
    assert bound.n_head == ules.HEAD_FEATURES < glass_vectors.shape[1]
    vectors, squared_norms = ules._checked_unit_vectors_and_squared_norms(glass_vectors)
    projected = bound.project(vectors, squared_norms)
    exact64 = vectors.astype(np.float64)
    rest = np.delete(exact64, bound.features, axis=1)
    rest_norm = np.sqrt(np.einsum("ij,ij->i", rest, rest))
    assert (projected.tail_norm >= rest_norm).all()
    # ρ² exceeds ‖x_T‖² by at most twice the float32 squared norm's rounding bound.
    float32_norm_error = ules._gamma(vectors.shape[1] + 1, ules.FLOAT32_UNIT_ROUNDOFF)
    assert (projected.tail_norm ** 2 - rest_norm ** 2 <= 2.1 * float32_norm_error).all()
    assert rest_norm.max() < 0.1  # SOAP's weight is in the head features
    head_dots = (projected.head @ projected.head.T).astype(np.float64)
    reach = np.multiply.outer(projected.tail_norm, projected.tail_norm) + bound.error
    exact = exact64 @ exact64.T  # float64 error ~1e-13, far inside the margins below
    assert (head_dots - reach <= exact + 1e-12).all() and (exact - 1e-12 <= head_dots + reach).all()
    # The bounds are tight enough to decide most pairs near the threshold on their own.
    near = np.abs(exact - min_dot) < 0.02
    decided = (head_dots - reach >= min_dot) | (head_dots + reach < min_dot)
    assert near.sum() > 100 and decided[near].mean() > 0.8


def near_cut_vectors(min_dot, n_features, n_anchors, n_probes, spread, seed):
    """Anchors, then probes whose exact dot with one anchor is within ``spread`` of min_dot:
    float32 products alone would decide many of them wrongly."""
    rng = np.random.default_rng(seed)
    anchors = unit_rows(rng.normal(size=(n_anchors, n_features)))
    probes = []
    for _ in range(n_probes):
        anchor = anchors[rng.integers(n_anchors)].astype(np.float64)
        other = rng.normal(size=n_features)
        other -= (other @ anchor) * anchor
        other /= np.linalg.norm(other)
        cosine = min_dot + rng.uniform(-spread, spread)
        probes.append(cosine * anchor + np.sqrt(1 - cosine ** 2) * other)
    return np.concatenate([anchors, unit_rows(probes)])


@pytest.mark.parametrize("batch_size", [1, 16, 4096])
def test_float32_rounding_at_the_cut_does_not_change_the_dictionary(batch_size):
    threshold, n_features, n_anchors, n_probes = 0.93, 3289, 300, 600
    min_dot = ules.min_dot_for_threshold(threshold)
    vectors = near_cut_vectors(min_dot, n_features, n_anchors, n_probes, spread=2e-6, seed=4)
    expected = ules.build_dictionary_reference(vectors, threshold)
    dictionary = ules.LeaderDictionary(threshold, n_features, batch_size)
    assert np.array_equal(dictionary.add(vectors), expected)
    # The case is hard: a plain float32 comparison gets some probes wrong.
    anchors, probes = vectors[:n_anchors], vectors[n_anchors:]
    naive_match = ((probes @ anchors.T) >= np.float32(min_dot)).any(axis=1)
    exact_match = ~np.isin(np.arange(n_anchors, len(vectors)), expected)
    assert 0 < exact_match.sum() < n_probes and (naive_match != exact_match).any()
    # The encoder's matched flag follows the same exact rule.
    _, _, matched = ules.nearest_ule(probes, anchors, threshold, batch_size)
    assert np.array_equal(matched, exact_match)


def test_dictionary_keeps_sources_and_round_trips_through_parquet(tmp_path, glass_samples, glass_thresholds):
    threshold = glass_thresholds[1]
    dictionary = ules.LeaderDictionary(threshold, glass_samples[0][1].shape[1], 100)
    for number, (atoms, vectors) in enumerate(glass_samples):
        dictionary.add(vectors, atoms.get_chemical_symbols(), [f"s{number}"] * len(atoms),
                       np.arange(len(atoms), dtype=np.int32))
    frame = dictionary.to_frame()
    assert frame["ule_id"].tolist() == list(range(len(dictionary)))
    for row in frame.sample(5, random_state=0).itertuples():
        atoms, vectors = glass_samples[int(row.source_sample_id[1:])]
        assert row.species == atoms[row.source_atom].symbol
        assert np.array_equal(dictionary.unit_vectors[row.ule_id], vectors[row.source_atom])
    path = tmp_path / "dictionary.parquet"
    dictionary.write(path, provenance={"config_sha256": "abc"})
    back = ules.read_dictionary(path)
    assert back.threshold == threshold and np.array_equal(back.unit_vectors, dictionary.unit_vectors)
    assert back.frame[["ule_id", "species", "source_sample_id", "source_atom"]].astype(object).equals(
        frame.astype(object))
    with_pandas = pd.read_parquet(path)
    assert list(with_pandas.columns) == ["ule_id", "species", "source_sample_id", "source_atom", "soap"]
    assert with_pandas["ule_id"].dtype == np.int32
    provenance = io.read_provenance(path)
    assert provenance["config_sha256"] == "abc" and provenance["ules"]["n_ules"] == len(dictionary)


def test_non_unit_vectors_are_refused():
    dictionary = ules.LeaderDictionary(0.9, 4, 8)
    with pytest.raises(InputError, match="not unit vectors"):
        dictionary.add(np.ones((3, 4), dtype=np.float32))


# --------------------------------------------------------------------------- crystal

def test_perfect_b2_crystal_has_one_ule_per_species(soap):
    crystal = bulk("CuZr", "cesiumchloride", a=B2_CUZR_A).repeat((3, 3, 3))
    vectors, _ = descriptors.soap_vectors(crystal, soap)
    species = np.array(crystal.get_chemical_symbols())
    threshold = 0.95
    dictionary = ules.LeaderDictionary(threshold, vectors.shape[1], 16)
    dictionary.add(vectors, species, ["b2"] * len(crystal), np.arange(len(crystal)))
    assert sorted(dictionary.to_frame()["species"].tolist()) == ["Cu", "Zr"]
    ule_of_species = dict(zip(dictionary.to_frame()["species"], dictionary.to_frame()["ule_id"]))
    index, similarity, matched = ules.nearest_ule(vectors, dictionary.unit_vectors, threshold, 10)
    assert matched.all() and similarity.min() > 0.999
    assert [ule_of_species[s] for s in species] == index.tolist()
    nearest_counts, matched_counts, n_unmatched = ules.encode_sample(vectors, dictionary.unit_vectors,
                                                                     threshold, 10)
    assert n_unmatched == 0 and np.array_equal(nearest_counts, matched_counts)
    assert nearest_counts[ule_of_species["Cu"]] == nearest_counts[ule_of_species["Zr"]] == 27


# --------------------------------------------------------------------------- encoding

def test_nearest_ule_is_the_argmax_with_ties_to_the_lowest_id():
    vectors = clustered_unit_vectors(500, 32, n_clusters=10, spread=0.4, seed=5)
    dictionary_vectors = np.concatenate([vectors[:20], vectors[:20]])  # ids 20..39 repeat 0..19
    index, similarity, matched = ules.nearest_ule(vectors, dictionary_vectors, 0.9, 64)
    dots = vectors.astype(np.float64) @ dictionary_vectors[:20].T.astype(np.float64)
    assert index.max() < 20 and np.array_equal(index[:20], np.arange(20))
    assert np.array_equal(index, dots.argmax(axis=1))
    # M from a float32 dot: ~1e-7 in the dot is up to ~2e-4 in M as M -> 1 (dM/d(dot) diverges).
    np.testing.assert_allclose(similarity, ules.similarity_from_dot(dots.max(axis=1)), atol=5e-4)
    assert np.array_equal(matched, dots.max(axis=1) >= ules.min_dot_for_threshold(0.9))


@pytest.fixture(scope="module")
def glass_leaders(glass_vectors, glass_thresholds):
    """Dictionaries of the first 300 glass environments at each threshold (ULE vectors)."""
    return {t: glass_vectors[ules.build_dictionary_reference(glass_vectors[:300], t)] for t in glass_thresholds}


@pytest.fixture()
def always_prune(monkeypatch):
    """Prune every batch: the test dictionaries are small, so the bounds leave more than
    PRUNE_MAX_FRACTION of the pairs, and batches would fall back to the plain GEMM."""
    monkeypatch.setattr(ules, "PRUNE_MAX_FRACTION", 1.0)


@pytest.mark.parametrize("batch_size", [1, 7, 4096])
def test_pruned_encoder_equals_the_plain_one_on_real_soap(glass_vectors, glass_thresholds, glass_leaders,
                                                          batch_size, always_prune):
    for threshold in glass_thresholds:
        dictionary_vectors = glass_leaders[threshold]
        plain = ules.nearest_ule(glass_vectors, dictionary_vectors, threshold, batch_size, prune=False)
        pruned = ules.nearest_ule(glass_vectors, dictionary_vectors, threshold, batch_size)
        assert np.array_equal(pruned[0], plain[0]) and np.array_equal(pruned[2], plain[2])
        assert 0 < plain[2].sum() < len(glass_vectors)  # matched and unmatched environments
        # M from the float64 dot rounded to float32 (≤ 1.7e-4 off as M -> 1), or from the float32
        # GEMM's dot (its rounding, ~1e-6 here, is up to ~1e-3 in M as M -> 1).
        exact = ules.similarity_from_dot(np.einsum("ij,ij->i", glass_vectors.astype(np.float64),
                                                   dictionary_vectors[plain[0]].astype(np.float64)))
        np.testing.assert_allclose(pruned[1], exact, atol=2e-4)
        np.testing.assert_allclose(plain[1], exact, atol=1e-3)
    # The head bounds leave few ULEs for full dots.
    search = ules._NearestSearch(dictionary_vectors, threshold)
    assert search.bound is not None and search.bound.n_head == ules.HEAD_FEATURES
    vectors, squared_norms = ules._checked_unit_vectors_and_squared_norms(glass_vectors)
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
    plain = ules.nearest_ule(glass_vectors, dictionary_vectors, threshold, batch_size, prune=False)
    index, _, matched = ules.nearest_ule(glass_vectors, dictionary_vectors, threshold, batch_size)
    assert np.array_equal(index, plain[0]) and np.array_equal(matched, plain[2])
    # The exact answer: the nearest leader i, or its nudged copy iff the step raised x·u
    # (sign of ±x_k; 0 is a three-way tie, to i).
    nearest_leader = ules.nearest_ule(glass_vectors, leaders, threshold, batch_size, prune=False)[0]
    x_k = glass_vectors[np.arange(len(glass_vectors)), largest[nearest_leader]]
    raised = np.where(up[nearest_leader], x_k, -x_k) > 0
    assert raised.any() and not raised.all()
    assert np.array_equal(index, np.where(raised, 2 * n + nearest_leader, nearest_leader))
    # Each leader is nearest to itself or its raised copy.
    own, _, own_matched = ules.nearest_ule(leaders, dictionary_vectors, threshold, batch_size)
    assert np.array_equal(own, np.where(up, 2 * n, 0) + np.arange(n)) and own_matched.all()


def test_pruned_encoder_matched_flag_is_exact_at_the_threshold(glass_vectors, glass_thresholds, glass_leaders,
                                                                always_prune):
    """Thresholds set so that d(t) is within a few float64 steps of an environment's exact dot
    with its nearest ULE: inside the float64 rounding band, so only the exact sum decides."""
    leaders = glass_leaders[glass_thresholds[1]]
    vectors = glass_vectors[500:512]
    nearest = ules.nearest_ule(vectors, leaders, 0.9, 64, prune=False)[0]
    outcomes = []
    for vector, ule in zip(vectors, nearest):
        exact = sum(Fraction(float(p)) * Fraction(float(q)) for p, q in zip(vector, leaders[ule]))
        threshold = 1 - np.sqrt((1 - float(exact)) / 2)
        min_dot = ules.min_dot_for_threshold(threshold)
        assert abs(float(exact) - min_dot) < 1e-14
        _, _, matched = ules.nearest_ule(vector[None, :], leaders, threshold, 64)
        _, _, plain_matched = ules.nearest_ule(vector[None, :], leaders, threshold, 64, prune=False)
        assert matched[0] == plain_matched[0] == (exact >= Fraction(min_dot))
        outcomes.append(bool(matched[0]))
    assert any(outcomes) and not all(outcomes)


def test_rounding_outward_to_float32_brackets_the_value():
    values = np.random.default_rng(6).uniform(-2, 2, size=1000)
    down = ules._round_outward(values, np.dtype(np.float32), up=False)
    up = ules._round_outward(values, np.dtype(np.float32), up=True)
    assert down.dtype == up.dtype == np.float32
    assert (down <= values).all() and (up >= values).all() and (np.nextafter(down, np.float32(np.inf)) >= values).all()
    scalar = ules._round_outward(0.1, np.dtype(np.float32), up=True)
    assert isinstance(scalar, np.float32) and scalar >= 0.1 and scalar == np.float32(0.1)  # 0.1 rounds up


def test_fractions_and_unmatched_share_sum_to_one(glass_vectors, glass_thresholds):
    threshold = glass_thresholds[2]
    dictionary_vectors = glass_vectors[ules.build_dictionary_reference(glass_vectors[:200], threshold)]
    sample = glass_vectors[500:600]
    nearest_counts, matched_counts, n_unmatched = ules.encode_sample(sample, dictionary_vectors, threshold, 64)
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
        dictionary = ules.build_dictionary_from_files(paths[:4], threshold, batch_size=256)
    assert any("dictionary done" in message for message in caplog.messages)
    n_train = 4 * len(glass_samples[0][0])
    assert np.array_equal(dictionary.unit_vectors,
                          glass_vectors[ules.build_dictionary_reference(glass_vectors[:n_train], threshold)])
    dictionary_path = tmp_path / "dictionary.parquet"
    dictionary.write(dictionary_path, provenance={})
    fractions, counts, atoms = ules.encode_files(paths, sample_ids, dictionary_path, threshold, batch_size=100)
    columns = ["sample_id", "n_atoms", "n_unmatched"] + [ules.ule_column(i) for i in range(len(dictionary))]
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
        nearest_counts, matched_counts, n_unmatched = ules.encode_sample(
            vectors, dictionary.unit_vectors, threshold, 4096)
        assert np.array_equal(counts[columns[3:]].iloc[row].to_numpy(), nearest_counts)
        assert np.array_equal(ule_fractions[row], matched_counts / len(vectors))
        assert fractions["n_unmatched"].iloc[row] == n_unmatched
        index, similarity, matched = ules.nearest_ule(vectors, dictionary.unit_vectors, threshold, 4096)
        of_sample = atoms[atoms["sample_id"] == sample_ids[row]]
        assert of_sample["atom"].tolist() == list(range(len(vectors)))
        assert np.array_equal(of_sample["ule_id"], index) and np.array_equal(of_sample["matched"], matched)
        np.testing.assert_allclose(of_sample["similarity"], similarity, atol=1e-6)
    assert len(atoms) == counts["n_atoms"].sum()
    with pytest.raises(InputError, match="sample_id"):
        ules.encode_files(paths[::-1], sample_ids, dictionary_path, threshold, batch_size=100)


# --------------------------------------------------------------------------- calibration

def test_ule_counts_by_threshold_and_the_chosen_threshold(glass_vectors, glass_thresholds, glass_references):
    counts = ules.count_ules_by_threshold(glass_vectors, glass_thresholds, batch_size=512)
    assert counts.tolist() == [len(glass_references[t]) for t in glass_thresholds]
    assert counts.dtype == np.int64 and (np.diff(counts) > 0).all()
    thresholds = [0.90, 0.93, 0.95, 0.97]
    assert ules.threshold_for_target_size(thresholds, [10, 50, 200, 900], target_size=100) == 0.93  # tie 50/200
    assert ules.threshold_for_target_size(thresholds, [10, 50, 200, 900], target_size=120) == 0.95
    assert ules.threshold_for_target_size(thresholds, [10, 50, 200, 900], target_size=5000) == 0.97


def test_calibration_samples_are_seeded_and_order_free():
    ids = [f"train-{i:03d}" for i in range(40)]
    chosen = ules.select_calibration_samples(ids, 12, seed=7)
    assert len(chosen) == 12 == len(set(chosen)) and set(chosen) <= set(ids) and chosen == sorted(chosen)
    assert ules.select_calibration_samples(ids[::-1], 12, seed=7) == chosen
    assert ules.select_calibration_samples(ids, 12, seed=8) != chosen
    assert ules.select_calibration_samples(ids[:5], 12, seed=7) == ids[:5]
