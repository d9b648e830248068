"""soap.store false: SOAP computed from the structures as they stream gives the same vectors, in
the same order, as the stored Parquet files, so the dictionary and the encodings are identical."""

import json
import shutil
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mgbarcode import descriptors, io, provenance
from mgbarcode.errors import InputError
from mgbarcode.ules import encoding, leader_dictionary
from tests.conftest import TINY_PROFILE, run_snakemake

N_ATOMS = (60, 45, 70)  # small random CuZr structures, three samples


@pytest.fixture(scope="module")
def structures_and_soap(tmp_path_factory, soap_params):
    """Two trajectories' sample tables and structure folders, and the stored SOAP of each sample
    (soap_descriptors' own function), in a temporary folder."""
    root = tmp_path_factory.mktemp("soap_streaming")
    tables, folders, sample_ids = [], [], []
    for trajectory, sizes in (("t0", N_ATOMS[:2]), ("t1", N_ATOMS[2:])):
        folder = root / "samples" / trajectory
        folder.mkdir(parents=True)
        rows = []
        for number, n_atoms in enumerate(sizes):
            sample_id = f"{trajectory}_{number:04d}"
            atoms = descriptors.random_structure(n_atoms, {"Cu": 0.56, "Zr": 0.44}, 0.058, 2.2,
                                                 seed=len(sample_ids))
            # The table's path is where the structure was first written: only its name is used.
            io.write_structure(atoms, folder / f"{sample_id}.extxyz")
            rows.append({"sample_id": sample_id, "structure": f"elsewhere/{trajectory}/{sample_id}.extxyz"})
            sample_ids.append(sample_id)
        table = root / "samples" / f"{trajectory}.parquet"
        pd.DataFrame(rows).to_parquet(table)
        tables.append(table)
        folders.append(folder)
    soap_folder = root / "soap" / "b000"
    soap_folder.mkdir(parents=True)
    structure_of = descriptors.structure_files(tables, folders)
    descriptors.soap_for_structures(list(structure_of.values()), list(structure_of),
                                    [soap_folder / f"{s}.parquet" for s in structure_of],
                                    descriptors.descriptor_parameters(soap_params), provenance={})
    return tables, folders, [soap_folder], sample_ids


def both_sources(structures_and_soap, soap_params, sample_ids=None):
    tables, folders, soap_folders, all_ids = structures_and_soap
    ids = all_ids if sample_ids is None else sample_ids
    stored = descriptors.soap_sources(ids, soap_folders=soap_folders)
    streamed = descriptors.soap_sources(ids, tables=tables, structure_folders=folders,
                                        soap_params={**soap_params, "store": False})
    return stored, streamed


def test_structure_sources_give_the_stored_vectors_in_the_same_order(structures_and_soap, soap_params):
    stored, streamed = both_sources(structures_and_soap, soap_params)
    assert all(isinstance(source, descriptors.StructureSample) for source in streamed)
    batches = [list(descriptors.iter_soap_batches(sources, 50)) for sources in (stored, streamed)]
    assert len(batches[0]) == len(batches[1]) == -(-sum(N_ATOMS) // 50)
    for a, b in zip(*batches):
        for field in descriptors.SoapBatch._fields:
            x, y = getattr(a, field), getattr(b, field)
            assert x.dtype == y.dtype, field
            assert np.array_equal(x, y), field
        assert a.unit_vectors.dtype == np.float32
    for a, b in zip(*(map(descriptors.read_sample_soap, sources) for sources in (stored, streamed))):
        assert a.sample_id == b.sample_id
        assert np.array_equal(a.norms, b.norms) and a.norms.dtype == b.norms.dtype


def test_worker_processes_give_the_same_tables_in_order(structures_and_soap, soap_params, tmp_path):
    tables, folders, _, sample_ids = structures_and_soap
    serial, parallel = (descriptors.soap_sources(sample_ids, tables=tables, structure_folders=folders,
                                                 soap_params=soap_params, n_workers=n) for n in (1, 2))
    for a, b in zip(descriptors.iter_sample_soap(serial), descriptors.iter_sample_soap(parallel), strict=True):
        assert a.sample_id == b.sample_id
        for field in ("atom", "species", "unit_vectors", "norms"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
    # A worker's bad input comes back as the InputError naming the structure.
    broken = tmp_path / "broken"
    broken.mkdir()
    bad = descriptors.random_structure(20, {"Cu": 0.5, "Al": 0.5}, 0.058, 2.2, seed=1)
    io.write_structure(bad, broken / "t0_0001.extxyz")
    (broken / "t0_0000.extxyz").write_bytes((folders[0] / "t0_0000.extxyz").read_bytes())
    sources = descriptors.soap_sources(["t0_0000", "t0_0001"], tables=tables[:1], structure_folders=[broken],
                                       soap_params=soap_params, n_workers=2)
    with pytest.raises(InputError, match="t0_0001.extxyz: species"):
        list(descriptors.iter_sample_soap(sources))


def test_dictionary_encoding_and_mean_soap_are_identical_from_structures(structures_and_soap, soap_params, tmp_path):
    stored, streamed = both_sources(structures_and_soap, soap_params)
    sample_ids = structures_and_soap[3]
    results = []
    for name, sources in (("stored", stored), ("streamed", streamed)):
        dictionary = leader_dictionary.build_dictionary_from_files(sources, 0.95, 64)
        path = tmp_path / f"{name}.parquet"
        dictionary.write(path, {"mode": "same"})
        encoded = encoding.encode_files(sources, sample_ids, path, 0.95, 64)
        results.append((path.read_bytes(), encoded, descriptors.mean_unit_vectors(sources)))
    (bytes_a, enc_a, mean_a), (bytes_b, enc_b, mean_b) = results
    assert bytes_a == bytes_b
    for table in ("fractions", "counts", "atoms"):
        assert getattr(enc_a, table).equals(getattr(enc_b, table)), table
    assert mean_a[0] == mean_b[0] and np.array_equal(mean_a[1], mean_b[1])


def test_sources_name_what_is_missing(structures_and_soap, soap_params):
    tables, folders, soap_folders, _ = structures_and_soap
    with pytest.raises(InputError, match="no structure for 1 samples"):
        descriptors.soap_sources(["t9_0000"], tables=tables, structure_folders=folders, soap_params=soap_params)
    with pytest.raises(InputError, match="no SOAP file for 1 samples"):
        descriptors.soap_sources(["t9_0000"], soap_folders=soap_folders)
    with pytest.raises(ValueError, match="give soap_folders"):
        descriptors.soap_sources(["t0_0000"], tables=tables)
    assert descriptors.source_sample_ids(tables=tables) == descriptors.source_sample_ids(soap_folders=soap_folders)


def test_soap_store_is_an_execution_key(default_config):
    streamed = {**default_config, "soap": {**default_config["soap"], "store": False}}
    assert provenance.config_hash(streamed) == provenance.config_hash(default_config)
    changed = {**default_config, "soap": {**default_config["soap"], "r_cut_A": 4.0}}
    assert provenance.config_hash(changed) != provenance.config_hash(default_config)


# Outputs of the chain up to the encoding that read SOAP (directly or through the dictionary).
COMPARED = ("ules/threshold_calibration.parquet", "ules/dictionary.parquet", "encoding/fractions.parquet",
            "encoding/counts.parquet", "encoding/mean_soap.parquet")


@pytest.mark.slow
def test_tiny_workflow_without_stored_soap_gives_identical_results(tmp_path):
    """Stored mode up to the encoding, then the same structures (copied with their times) with
    soap.store false and two worker processes per reading job: no SOAP folder, no MD job, and
    the same tables, arrays and file bytes; then the learning curve both ways on the same fit."""
    stored, streamed = tmp_path / "stored", tmp_path / "streamed"
    targets = [f"encoding/{name}.parquet" for name in ("fractions", "counts", "mean_soap")]
    started = time.perf_counter()
    run_snakemake(stored, *(str(stored / target) for target in targets))
    stored_seconds = time.perf_counter() - started
    assert any((stored / "soap").iterdir())
    streamed.mkdir()
    shutil.copytree(stored / "samples", streamed / "samples")
    shutil.copy2(stored / "samples.parquet", streamed / "samples.parquet")
    overlay = tmp_path / "streamed.yaml"
    # Two threads for the jobs that read SOAP: their structures are described by two worker processes.
    overlay.write_text("soap:\n  store: false\nresources:\n"
                       + "".join(f"  {rule}: {{threads: 2}}\n" for rule in
                                 ("ule_threshold_calibration", "ule_dictionary", "ule_encoding", "mean_soap")))
    started = time.perf_counter()
    completed = run_snakemake(streamed, *(str(streamed / target) for target in targets),
                              extra=["--rerun-triggers", "mtime", "--configfile", str(TINY_PROFILE), str(overlay),
                                     "--nolock"])
    streamed_seconds = time.perf_counter() - started
    log = completed.stdout + completed.stderr
    assert "rule soap_descriptors" not in log and "rule thermal_trajectory" not in log, log[-3000:]
    assert not (streamed / "soap").exists()
    for job in ("ule_dictionary", "mean_soap"):
        assert "in 2 worker processes" in (streamed / "logs" / f"{job}.log").read_text(), job
    batches = sorted(path.name for path in (stored / "encoding").iterdir() if path.is_dir())
    compared = list(COMPARED) + [f"encoding/{batch}/{table}.parquet" for batch in batches
                                 for table in ("fractions", "counts", "atoms")]
    identical_bytes = {}
    for name in compared:
        a, b = stored / name, streamed / name
        assert pd.read_parquet(a).equals(pd.read_parquet(b)), name
        ta, tb = pq.read_table(a), pq.read_table(b)
        assert ta.equals(tb), name  # schema, and every column's raw values
        assert io.read_provenance(a)["config_sha256"] == io.read_provenance(b)["config_sha256"], name
        identical_bytes[name] = a.read_bytes() == b.read_bytes()
    choice_a, choice_b = (json.loads((root / "ules" / "threshold.json").read_text()) for root in (stored, streamed))
    assert choice_a == choice_b

    # The learning curve: the same fit (copied, newer than the streamed run's encodings, so not
    # refitted), then its dictionaries and encodings from stored files and from structures.
    curve = "model/learning_curve.parquet"
    run_snakemake(stored, str(stored / curve))
    (streamed / "model").mkdir()
    for path in (stored / "model").glob("fractions_*"):
        shutil.copyfile(path, streamed / "model" / path.name)  # fresh times
    completed = run_snakemake(streamed, str(streamed / curve),
                              extra=["--rerun-triggers", "mtime", "--configfile", str(TINY_PROFILE), str(overlay),
                                     "--nolock"])
    log = completed.stdout + completed.stderr
    assert "rule energy_model" not in log and "rule learning_curve" in log, log[-3000:]
    assert pq.read_table(stored / curve).equals(pq.read_table(streamed / curve))
    identical_bytes[curve] = (stored / curve).read_bytes() == (streamed / curve).read_bytes()
    print(f"stored run {stored_seconds:.0f} s, streamed run {streamed_seconds:.0f} s; identical file bytes: "
          + ", ".join(f"{name} {same}" for name, same in identical_bytes.items()))
    assert all(identical_bytes.values()), identical_bytes
