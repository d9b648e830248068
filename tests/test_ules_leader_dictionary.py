"""ULE dictionary: batched leader clustering == the one-at-a-time rule, its sources and its
Parquet file."""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk

from mgbarcode import descriptors, io
from mgbarcode.errors import InputError
from mgbarcode.ules import encoding, exact_bounds, leader_dictionary
from tests.conftest import clustered_unit_vectors, unit_rows

pytestmark = pytest.mark.usefixtures("single_blas_thread")

B2_CUZR_A = 3.237  # Å, CuZr_mm (METHOD §1)


def test_reference_is_the_leader_rule_in_exact_arithmetic():
    vectors = clustered_unit_vectors(120, 12, n_clusters=6, spread=0.5, seed=2)
    exact = [[Fraction(float(v)) for v in row] for row in vectors]
    min_dot = Fraction(exact_bounds.min_dot_for_threshold(0.8))
    leaders = []
    for k, row in enumerate(exact):
        if all(sum(p * q for p, q in zip(row, exact[j])) < min_dot for j in leaders):
            leaders.append(k)
    assert 6 <= len(leaders) < 120
    assert leader_dictionary.build_dictionary_reference(vectors, 0.8).tolist() == leaders


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
        dictionary = leader_dictionary.LeaderDictionary(threshold, glass_vectors.shape[1], batch_size)
        new = dictionary.add(glass_vectors, species=species)
        assert np.array_equal(new, expected)
        assert np.array_equal(dictionary.unit_vectors, glass_vectors[expected])


@pytest.mark.parametrize("threshold", [0.65, 0.8, 0.83])
@pytest.mark.parametrize("batch_size", [1, 7, 300, 10_000])
def test_batched_dictionary_equals_reference_on_clustered_vectors(threshold, batch_size):
    vectors = clustered_unit_vectors(3000, 64, n_clusters=40, spread=0.35, seed=3)
    expected = leader_dictionary.build_dictionary_reference(vectors, threshold)
    assert 10 < len(expected) < len(vectors)
    dictionary = leader_dictionary.LeaderDictionary(threshold, vectors.shape[1], batch_size)
    # Several add() calls of uneven sizes are one stream.
    found = [start + dictionary.add(vectors[start:stop]) for start, stop in
             [(0, 1), (1, 500), (500, 503), (503, 3000)]]
    assert np.array_equal(np.concatenate(found), expected)
    assert dictionary.n_environments == len(vectors)


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
    min_dot = exact_bounds.min_dot_for_threshold(threshold)
    vectors = near_cut_vectors(min_dot, n_features, n_anchors, n_probes, spread=2e-6, seed=4)
    expected = leader_dictionary.build_dictionary_reference(vectors, threshold)
    dictionary = leader_dictionary.LeaderDictionary(threshold, n_features, batch_size)
    assert np.array_equal(dictionary.add(vectors), expected)
    # The case is hard: a plain float32 comparison gets some probes wrong.
    anchors, probes = vectors[:n_anchors], vectors[n_anchors:]
    naive_match = ((probes @ anchors.T) >= np.float32(min_dot)).any(axis=1)
    exact_match = ~np.isin(np.arange(n_anchors, len(vectors)), expected)
    assert 0 < exact_match.sum() < n_probes and (naive_match != exact_match).any()
    # The encoder's matched flag follows the same exact rule.
    _, _, matched = encoding.nearest_ule(probes, anchors, threshold, batch_size)
    assert np.array_equal(matched, exact_match)


def test_dictionary_keeps_sources_and_round_trips_through_parquet(tmp_path, glass_samples, glass_thresholds):
    threshold = glass_thresholds[1]
    dictionary = leader_dictionary.LeaderDictionary(threshold, glass_samples[0][1].shape[1], 100)
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
    back = leader_dictionary.read_dictionary(path)
    assert back.threshold == threshold and np.array_equal(back.unit_vectors, dictionary.unit_vectors)
    assert back.frame[["ule_id", "species", "source_sample_id", "source_atom"]].astype(object).equals(
        frame.astype(object))
    with_pandas = pd.read_parquet(path)
    assert list(with_pandas.columns) == ["ule_id", "species", "source_sample_id", "source_atom", "soap"]
    assert with_pandas["ule_id"].dtype == np.int32
    provenance = io.read_provenance(path)
    assert provenance["config_sha256"] == "abc" and provenance["ules"]["n_ules"] == len(dictionary)


def test_non_unit_vectors_are_refused():
    dictionary = leader_dictionary.LeaderDictionary(0.9, 4, 8)
    with pytest.raises(InputError, match="not unit vectors"):
        dictionary.add(np.ones((3, 4), dtype=np.float32))


def test_perfect_b2_crystal_has_one_ule_per_species(soap):
    crystal = bulk("CuZr", "cesiumchloride", a=B2_CUZR_A).repeat((3, 3, 3))
    vectors, _ = descriptors.soap_vectors(crystal, soap)
    species = np.array(crystal.get_chemical_symbols())
    threshold = 0.95
    dictionary = leader_dictionary.LeaderDictionary(threshold, vectors.shape[1], 16)
    dictionary.add(vectors, species, ["b2"] * len(crystal), np.arange(len(crystal)))
    assert sorted(dictionary.to_frame()["species"].tolist()) == ["Cu", "Zr"]
    ule_of_species = dict(zip(dictionary.to_frame()["species"], dictionary.to_frame()["ule_id"]))
    index, similarity, matched = encoding.nearest_ule(vectors, dictionary.unit_vectors, threshold, 10)
    assert matched.all() and similarity.min() > 0.999
    assert [ule_of_species[s] for s in species] == index.tolist()
    nearest_counts, matched_counts, n_unmatched = encoding.encode_sample(vectors, dictionary.unit_vectors,
                                                                     threshold, 10)
    assert n_unmatched == 0 and np.array_equal(nearest_counts, matched_counts)
    assert nearest_counts[ule_of_species["Cu"]] == nearest_counts[ule_of_species["Zr"]] == 27
