"""``mgbarcode assess``: a training structure gets the workflow's own prediction back; every
bad input is refused with its documented error."""

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from ase.build import bulk
from ase.io import read, write

from mgbarcode.assess import TrainedPipeline, assess
from mgbarcode.config import merged_config
from mgbarcode.errors import InputError
from tests.conftest import REPO, TINY_PROFILE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(tiny_results):
    return TrainedPipeline.load(tiny_results, merged_config([TINY_PROFILE]))


def test_training_structure_reproduces_the_workflow_prediction(pipeline, tiny_results):
    predictions = pd.read_parquet(tiny_results / "model" / "predictions.parquet")
    catalogue = pd.read_parquet(tiny_results / "samples.parquet")
    for sample_id in catalogue.loc[catalogue["split"] == "test", "sample_id"][:2]:
        structure = catalogue.set_index("sample_id").loc[sample_id, "structure"]
        report = assess(structure, pipeline)
        expected = predictions[predictions["sample_id"] == sample_id].set_index("model")["predicted_eV_per_atom"]
        assert report["predicted_IS_energy_eV_per_atom"]["barcode_model"] == pytest.approx(expected["xgboost_barcode"], abs=1e-9)
        assert report["predicted_IS_energy_eV_per_atom"]["fractions_model"] == pytest.approx(expected["xgboost_fractions"], abs=1e-9)
        assert report["predicted_IS_energy_eV_per_atom"]["ule_energy"] == pytest.approx(expected["ule_energy_per_atom_fit"], abs=1e-9)
        assert sum(report["barcode"].values()) == pytest.approx(1.0)
        assert report["verdict"]


def test_minimising_a_structure_reports_the_lammps_energy(pipeline, tiny_results):
    catalogue = pd.read_parquet(tiny_results / "samples.parquet")
    row = catalogue[catalogue["split"] == "test"].iloc[0]
    report = assess(row["structure"], pipeline, minimize=True)
    assert report["computed_IS_energy_eV_per_atom"] == pytest.approx(row["energy_eV_per_atom"], abs=1e-6)


def test_heterogeneity_is_judged_against_thermal_samples_of_the_same_size(pipeline, tiny_results, tmp_path):
    # The tiny profile's thermal samples have 100 (train, test) and 200 (size) atoms; a train
    # structure, every atom of which the dictionary matches, stays inside the training domain.
    catalogue = pd.read_parquet(tiny_results / "samples.parquet")
    row = catalogue[catalogue["split"] == "train"].iloc[0]
    report = assess(row["structure"], pipeline)
    assert catalogue.set_index("sample_id").loc[report["thermal_reference"]["sample_id"], "n_atoms"] == 100
    tripled = tmp_path / "tripled.extxyz"
    write(tripled, read(row["structure"]).repeat((3, 1, 1)), format="extxyz")
    report = assess(tripled, pipeline)
    assert report["thermal_reference"] is None
    assert report["in_training_domain"], report["domain_violations"]
    assert "no thermal sample of 300 atoms" in report["verdict"], report["verdict"]


def test_bad_structures_are_refused(pipeline, tmp_path):
    write(tmp_path / "aluminium.extxyz", bulk("Al", "fcc", a=4.05).repeat(3), format="extxyz")
    (tmp_path / "empty.extxyz").write_text("")
    degenerate = bulk("CuZr", "cesiumchloride", a=3.24).repeat(2)
    degenerate.pbc = False
    write(tmp_path / "no_cell.extxyz", degenerate, format="extxyz")
    (tmp_path / "notes.txt").write_text("hello")
    for name, words in [("aluminium.extxyz", "not among the model's species"), ("empty.extxyz", "empty"),
                        ("no_cell.extxyz", "periodic cell"), ("notes.txt", "unknown suffix"),
                        ("absent.extxyz", "not found")]:
        with pytest.raises(InputError, match=words):
            assess(tmp_path / name, pipeline)


def test_a_model_of_another_dictionary_is_refused(tiny_results, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(tiny_results, copy)
    fit = copy / "model" / "barcode_fit.json"
    record = json.loads(fit.read_text())
    record["provenance"]["config_sha256"] = "0" * 64
    fit.write_text(json.dumps(record))
    with pytest.raises(InputError, match="belongs to another dictionary"):
        TrainedPipeline.load(copy, merged_config([TINY_PROFILE]))


def test_command_line_writes_json_and_exits_non_zero_on_bad_input(tiny_results, tmp_path):
    catalogue = pd.read_parquet(tiny_results / "samples.parquet")
    structure = catalogue.loc[catalogue["split"] == "train", "structure"].iloc[0]
    base = [sys.executable, "-m", "mgbarcode.cli", "assess", "--configfile", str(TINY_PROFILE),
            "--results", str(tiny_results)]
    # A training glass, minimised again: inside the domain on every bound by construction.
    done = subprocess.run(base + [structure, "--minimize", "--output", str(tmp_path / "out.json")],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "predicted IS energy" in done.stdout
    report = json.loads((tmp_path / "out.json").read_text())[0]
    assert report["in_training_domain"] and report["n_atoms"] == yaml.safe_load(
        TINY_PROFILE.read_text())["thermal"]["splits"]["train"]["n_atoms"]
    # A crystal of another composition: outside the domain, said so, no energy, exit status 3.
    crystal = tmp_path / "b2.extxyz"
    write(crystal, bulk("CuZr", "cesiumchloride", a=3.237).repeat(4), format="extxyz")
    outside = subprocess.run(base + [str(crystal), "--output", str(tmp_path / "b2.json")], capture_output=True,
                             text=True, cwd=REPO)
    assert outside.returncode == 3, outside.stderr
    assert "outside the training domain" in outside.stdout and "predicted IS energy" not in outside.stdout
    assert "composition" in " ".join(json.loads((tmp_path / "b2.json").read_text())[0]["domain_violations"])
    failed = subprocess.run(base + [str(tmp_path / "missing.extxyz")], capture_output=True, text=True, cwd=REPO)
    assert failed.returncode == 1 and "missing.extxyz: (file): file not found" in failed.stderr


@pytest.mark.parametrize("change, words", [
    ({"matched_share": 0.5}, "matched-atom share"),
    ({"top_share": 0.1}, "barcode ULEs"),
    ({"density_per_A3": 0.0500}, "number density"),
    ({"density_per_A3": 0.0650}, "number density"),
    ({"energy_eV_per_atom": -4.70}, "IS energy"),
    ({"energy_eV_per_atom": -4.55}, "IS energy"),
    ({"composition": {"Cu": 0.5, "Zr": 0.5}}, "fraction of"),
    ({"composition": {"Cu": 0.56, "Zr": 0.40, "Al": 0.04}}, "fraction of"),
])
def test_each_bound_of_the_training_domain(change, words):
    from mgbarcode.domain import TrainingDomain

    margins = {"matched_share_margin": 0.0, "top_share_margin": 0.0, "density_relative_margin": 0.02,
               "energy_margin_eV_per_atom": 0.005, "composition_tolerance": 0.01}
    domain = TrainingDomain.from_training([0.98, 1.0], [0.4, 0.6], [0.0560, 0.0570], [-4.66, -4.63],
                                          {"Cu": 0.56, "Zr": 0.44}, margins)
    inside = {"matched_share": 0.99, "top_share": 0.5, "density_per_A3": 0.0565, "energy_eV_per_atom": -4.64,
              "composition": {"Cu": 0.56, "Zr": 0.44}}
    assert domain.violations(**inside) == []
    broken = domain.violations(**{**inside, **change})
    assert len(broken) == 1 and words in broken[0]
