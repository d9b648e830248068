"""SOAP unit vectors and their per-sample Parquet files."""

import logging

import ase.io
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from mgbarcode import descriptors, io
from mgbarcode.errors import InputError

COMPOSITION = {"Cu": 0.56, "Zr": 0.44}


@pytest.fixture(scope="module")
def glass(default_config):
    """A disordered CuZr-like configuration (random, no pair closer than the MD start's minimum)."""
    md = default_config["md"]
    return descriptors.random_structure(120, COMPOSITION, md["number_density_per_A3"],
                                        md["initial_min_distance_A"], seed=3)


def test_random_structure_respects_minimum_distance_and_composition(glass, default_config):
    distances = glass.get_all_distances(mic=True)[np.triu_indices(len(glass), 1)]
    assert distances.min() >= default_config["md"]["initial_min_distance_A"]
    symbols = glass.get_chemical_symbols()
    assert (symbols.count("Cu"), symbols.count("Zr")) == (67, 53)
    assert glass.get_volume() == pytest.approx(len(glass) / default_config["md"]["number_density_per_A3"])


def test_soap_vectors_are_unit_rows_of_the_raw_descriptor(glass, soap, soap_params):
    unit_vectors, norms = descriptors.soap_vectors(glass, soap)
    assert unit_vectors.dtype == np.float32 and norms.dtype == np.float32
    assert unit_vectors.shape == (len(glass), soap.get_number_of_features())
    np.testing.assert_allclose(np.linalg.norm(unit_vectors.astype(np.float64), axis=1), 1.0, atol=2e-6)
    from dscribe.descriptors import SOAP

    raw64 = SOAP(species=soap_params["species"], r_cut=soap_params["r_cut_A"], n_max=soap_params["n_max"],
                 l_max=soap_params["l_max"], sigma=soap_params["sigma_A"], rbf=soap_params["rbf"],
                 periodic=soap_params["periodic"]).create(glass)
    np.testing.assert_allclose(norms[:, None] * unit_vectors.astype(np.float64), raw64,
                               rtol=0, atol=1e-5 * np.abs(raw64).max())


def test_vectors_do_not_depend_on_the_callers_blas_threads(glass, soap_params):
    # A job's threads set its BLAS threads; the descriptor must not follow them (on some CPUs
    # LAPACK's result changes with its thread count).
    from threadpoolctl import threadpool_limits

    vectors = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            vectors.append(descriptors.soap_vectors(glass, descriptors.make_soap(**soap_params)))
    assert np.array_equal(vectors[0][0], vectors[1][0]) and np.array_equal(vectors[0][1], vectors[1][1])


def test_unknown_species_and_zero_vectors_are_input_errors(glass, soap):
    alien = glass.copy()
    alien[0].symbol = "Ni"
    with pytest.raises(InputError, match="Ni"):
        descriptors.soap_vectors(alien, soap, source="alien.xyz")

    class ZeroSoap:
        species = ["Cu", "Zr"]

        def create(self, atoms):
            return np.zeros((len(atoms), 5), dtype=np.float32)

    with pytest.raises(InputError, match="zero or non-finite"):
        descriptors.soap_vectors(glass, ZeroSoap(), source="zero.xyz")


def _write_samples(folder, soap, structures):
    paths = []
    for number, atoms in enumerate(structures):
        unit_vectors, norms = descriptors.soap_vectors(atoms, soap)
        path = folder / f"s{number:02d}.parquet"
        descriptors.write_soap_parquet(path, f"s{number:02d}", atoms, unit_vectors, norms,
                                       provenance={"test": number})
        paths.append(path)
    return paths


def test_parquet_round_trip_is_lossless(tmp_path, glass, soap):
    unit_vectors, norms = descriptors.soap_vectors(glass, soap)
    path = tmp_path / "sample.parquet"
    descriptors.write_soap_parquet(path, "sample-7", glass, unit_vectors, norms, provenance={"seed": 7})
    back = descriptors.read_soap_parquet(path)
    assert back.sample_id == "sample-7"
    assert back.unit_vectors.dtype == np.float32 and np.array_equal(back.unit_vectors, unit_vectors)
    assert back.norms.dtype == np.float32 and np.array_equal(back.norms, norms)
    assert back.atom.dtype == np.int32 and np.array_equal(back.atom, np.arange(len(glass)))
    assert back.species.tolist() == glass.get_chemical_symbols()
    assert not back.unit_vectors.flags.owndata  # a view of the Arrow buffer, not a copy
    np.testing.assert_allclose(np.linalg.norm(back.unit_vectors.astype(np.float64), axis=1), 1.0, atol=2e-6)
    assert io.read_provenance(path) == {"seed": 7}
    schema = pq.read_schema(path)
    assert schema.field("soap").type == pa.list_(pa.float32(), unit_vectors.shape[1])
    assert schema.field("atom").type == pa.int32() and schema.field("norm").type == pa.float32()


def test_folder_of_soap_files_opens_with_pandas_and_as_one_dataset(tmp_path, glass, soap):
    structures = [glass, glass[:50], glass[50:]]
    paths = _write_samples(tmp_path, soap, structures)
    frame = pd.read_parquet(paths[1])
    assert list(frame.columns) == ["sample_id", "atom", "species", "norm", "soap"]
    assert len(frame) == 50 and len(frame["soap"].iloc[0]) == soap.get_number_of_features()
    table = ds.dataset(tmp_path, format="parquet").to_table(columns=["sample_id", "atom", "norm"])
    counts = table.group_by("sample_id").aggregate([("atom", "count")]).to_pandas()
    assert dict(zip(counts["sample_id"], counts["atom_count"])) == {"s00": 120, "s01": 50, "s02": 70}


def test_soap_files_are_found_by_sample_id_across_folders(tmp_path, glass, soap):
    first = _write_samples(tmp_path / "train_b000", soap, [glass[:10], glass[10:20]])
    (tmp_path / "train_b001").mkdir()
    moved = (tmp_path / "train_b001" / "s01.parquet")
    first[1].rename(moved)
    folders = [tmp_path / "train_b000", tmp_path / "train_b001"]
    assert descriptors.find_soap_files(folders, ["s01", "s00"]) == [moved, first[0]]
    with pytest.raises(InputError, match=r"train_b000.*sample_id: no SOAP file for 1 samples \(e.g. \['s07'\]\)"):
        descriptors.find_soap_files(folders, ["s00", "s07"])


@pytest.mark.parametrize("batch_size", [1, 7, 64, 10_000])
def test_iter_soap_batches_streams_every_row_in_order(tmp_path, glass, soap, batch_size):
    paths = _write_samples(tmp_path, soap, [glass[:13], glass[13:60], glass[60:61], glass[61:]])
    tables = [descriptors.read_soap_parquet(path) for path in paths]
    batches = list(descriptors.iter_soap_batches(paths, batch_size))
    sizes = [len(batch.atoms) for batch in batches]
    assert all(size == batch_size for size in sizes[:-1]) and 0 < sizes[-1] <= batch_size
    joined = descriptors.SoapBatch.concatenate(batches)
    assert np.array_equal(joined.unit_vectors, np.concatenate([t.unit_vectors for t in tables]))
    assert joined.atoms.tolist() == [a for t in tables for a in t.atom.tolist()]
    assert joined.sample_ids.tolist() == [t.sample_id for t in tables for _ in t.atom]
    assert joined.file_index.tolist() == [i for i, t in enumerate(tables) for _ in t.atom]
    assert joined.species.tolist() == glass.get_chemical_symbols()


def test_soap_for_structures_writes_one_file_per_structure(tmp_path, glass, soap, soap_params, caplog):
    structures = [glass, glass[:40]]
    structure_paths = []
    for number, atoms in enumerate(structures):
        structure_paths.append(tmp_path / f"is{number}.xyz")
        ase.io.write(structure_paths[-1], atoms, format="extxyz")
    out_paths = [tmp_path / "soap" / f"is{number}.parquet" for number in range(len(structures))]
    with caplog.at_level(logging.INFO, logger="mgbarcode.descriptors"):
        descriptors.soap_for_structures(structure_paths, ["is0", "is1"], out_paths, soap_params,
                                        provenance={"config_sha256": "abc"})
    assert sum("atoms/s" in message for message in caplog.messages) == len(structures) + 1
    for atoms, path, sample_id in zip(structures, out_paths, ["is0", "is1"]):
        back = descriptors.read_soap_parquet(path)
        direct, _ = descriptors.soap_vectors(ase.io.read(structure_paths[int(sample_id[-1])]), soap)
        assert back.sample_id == sample_id and np.array_equal(back.unit_vectors, direct)
        provenance = io.read_provenance(path)
        assert provenance["config_sha256"] == "abc" and provenance["soap"] == soap_params
    with pytest.raises(ValueError, match="pair up"):
        descriptors.soap_for_structures(structure_paths, ["is0"], out_paths, soap_params, {})


def test_mean_unit_vectors_average_each_sample(tmp_path, glass, soap):
    paths = _write_samples(tmp_path, soap, [glass, glass[:40]])
    sample_ids, matrix = descriptors.mean_unit_vectors(paths)
    assert sample_ids == ["s00", "s01"]
    for path, row in zip(paths, matrix):
        expected = descriptors.read_soap_parquet(path).unit_vectors.astype(np.float64).mean(axis=0)
        np.testing.assert_allclose(row, expected, rtol=0, atol=1e-12)
