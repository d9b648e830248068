"""Structures a user brings (imported.table): the table's checks, each naming the row, the
column and the fix; and the whole pipeline run on files made from the tiny run's own IS, which
must give the same dictionary and fractions as the run that made them."""

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from ase.build import bulk
from ase.io import write

from mgbarcode import imported_samples
from mgbarcode.config import merged_config
from mgbarcode.errors import InputError
from mgbarcode.histories import thermal_trajectories
from mgbarcode.io import read_structure
from tests.conftest import REPO, TINY_PROFILE


@pytest.fixture()
def structure_files(tmp_path):
    crystal = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    write(tmp_path / "a.extxyz", crystal)
    write(tmp_path / "b.data", crystal, format="lammps-data", specorder=["Cu", "Zr"])
    return tmp_path


def table(folder, rows, name="table.csv"):
    path = folder / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_good_table_gives_histories_in_order_with_sheared_ones_sorted_by_strain(structure_files):
    path = table(structure_files, [
        {"structure": "a.extxyz", "split": "train", "trajectory_id": "mine_1", "energy_eV_per_atom": -4.2},
        {"structure": "b.data", "split": "train", "trajectory_id": "mine_1", "minimize": True},
        {"structure": "b.data", "split": "mech", "trajectory_id": "sheared", "energy_eV_per_atom": -4.1,
         "shear_T_K": 300, "strain": 0.2, "reference_structure": "a.extxyz"},
        {"structure": "a.extxyz", "split": "mech", "trajectory_id": "sheared", "energy_eV_per_atom": -4.1,
         "shear_T_K": 300, "strain": 0.1, "reference_structure": "a.extxyz"},
    ])
    first, sheared = imported_samples.read_table(path)
    assert (first.trajectory_id, first.split) == ("mine_1", "train")
    assert [s.sample_id for s in first.samples] == ["mine_1_0000", "mine_1_0001"]
    assert [s.minimize for s in first.samples] == [False, True]
    assert np.isnan(first.samples[1].energy_eV_per_atom)
    assert [s.strain for s in sheared.samples] == [0.1, 0.2]
    assert sheared.samples[0].structure.endswith("a.extxyz")
    assert sheared.reference_structure == str((structure_files / "a.extxyz").resolve())


# A good row of an imported table; each bad row below changes one thing of it.
GOOD_ROW = {"structure": "a.extxyz", "split": "train", "trajectory_id": "t", "energy_eV_per_atom": -4.2}
DROP = object()


def row(**changes):
    """:data:`GOOD_ROW` with ``changes`` (a column set to :data:`DROP` is left out)."""
    changed = {**GOOD_ROW, **changes}
    return {column: value for column, value in changed.items() if value is not DROP}


@pytest.mark.parametrize("rows, where, problem", [
    ([row(trajectory_id=DROP)], "columns ['trajectory_id']", "missing"),
    ([row(split="valid")], "row 2, column 'split'", "not a split"),
    ([row(trajectory_id="train_ladder_c00")], "row 2, column 'trajectory_id'", "pipeline's own MD"),
    ([row(trajectory_id="t/1")], "row 2, column 'trajectory_id'", "not a usable id"),
    ([row(minimize=True)], "row 2, columns 'energy_eV_per_atom' and 'minimize'", "both given"),
    ([row(energy_eV_per_atom=None)], "row 2, columns 'energy_eV_per_atom' and 'minimize'", "neither given"),
    ([row(energy_eV_per_atom=-840.0)], "row 2, column 'energy_eV_per_atom'", "not an energy per atom"),
    ([row(structure="missing.extxyz")], "row 2, column 'structure'", "not found"),
    ([row(structure="a.cif")], "row 2, column 'structure'", "unknown structure suffix"),
    ([row(), row(split="test")], "row 3, column 'split'", "earlier row"),
    ([row(split="mech")], "row 2, columns ['shear_T_K', 'strain', 'reference_structure']", "missing for a sheared"),
    ([row(energy_eV_per_atom=DROP, minimize="maybe")], "row 2, column 'minimize'", "not true or false"),
])
def test_every_bad_row_names_the_table_row_and_column(structure_files, rows, where, problem):
    path = table(structure_files, rows)
    with pytest.raises(InputError) as caught:
        imported_samples.read_table(path, reserved_ids=["train_ladder_c00"])
    message = str(caught.value)
    assert str(path) in message and where in message and problem in message


def test_a_missing_split_and_a_missing_table_are_named(structure_files):
    with pytest.raises(InputError, match="imported.table.*not found|not found"):
        imported_samples.read_table(structure_files / "none.csv")
    path = table(structure_files, [row()])
    with pytest.raises(InputError, match="split 'test'.*no history"):
        imported_samples.check_coverage([], imported_samples.read_table(path), path)


# --------------------------------------------------------------------------------------------
# End to end: the tiny run's own IS, brought back as files


def write_dump(path, atoms, type_elements):
    """A LAMMPS text dump of an orthorhombic ``atoms`` with its per-atom energies as ``c_pe``
    (ASE reads dumps but does not write them)."""
    lengths = atoms.cell.lengths()
    assert np.allclose(atoms.cell.array, np.diag(lengths)), "the tiny run's IS cells are orthorhombic"
    types = [type_elements.index(symbol) + 1 for symbol in atoms.get_chemical_symbols()]
    lines = ["ITEM: TIMESTEP", "0", "ITEM: NUMBER OF ATOMS", str(len(atoms)), "ITEM: BOX BOUNDS pp pp pp"]
    lines += [f"0.0 {float(length)!r}" for length in lengths]
    lines.append("ITEM: ATOMS id type x y z c_pe")
    for i, (kind, position, energy) in enumerate(zip(types, atoms.positions, atoms.get_potential_energies())):
        x, y, z = (float(value) for value in position)
        lines.append(f"{i + 1} {kind} {x!r} {y!r} {z!r} {float(energy)!r}")
    path.write_text("\n".join(lines) + "\n")


def imported_profile(tiny_results, folder):
    """A table of the tiny run's IS (train as its own extended XYZ; test and size rewritten as
    LAMMPS data to be minimised again and as a dump with per-atom energies; one sheared history
    with its source as reference) and a profile with no MD of its own."""
    config = merged_config([TINY_PROFILE])
    catalogue = pd.read_parquet(tiny_results / "samples.parquet").set_index("sample_id")
    order = [t.trajectory_id for t in thermal_trajectories(config)]
    rows = []
    for trajectory_id in order:
        samples = catalogue[catalogue["trajectory_id"] == trajectory_id].sort_index()
        for sample_id, sample in samples.iterrows():
            source = tiny_results / "samples" / trajectory_id / f"{sample_id}.extxyz"
            row = {"split": sample["split"], "trajectory_id": trajectory_id}
            if sample["split"] == "train":
                shutil.copy(source, folder / source.name)
                row.update(structure=source.name, energy_eV_per_atom=sample["energy_eV_per_atom"])
            elif sample["split"] == "test":
                write(folder / f"{sample_id}.data", read_structure(source), format="lammps-data",
                      specorder=config["potential"]["elements"])
                row.update(structure=f"{sample_id}.data", minimize=True)
            else:
                write_dump(folder / f"{sample_id}.dump", read_structure(source), config["potential"]["elements"])
                row.update(structure=f"{sample_id}.dump", energy_eV_per_atom=sample["energy_eV_per_atom"])
            rows.append(row)
    mech = catalogue[catalogue["split"] == "mech"]
    sheared_id = sorted(mech["trajectory_id"].unique())[0]
    for sample_id, sample in mech[mech["trajectory_id"] == sheared_id].sort_index().iterrows():
        source = tiny_results / "samples" / sheared_id / f"{sample_id}.extxyz"
        shutil.copy(source, folder / source.name)
        reference = catalogue.loc[sample["source_sample_id"]]
        reference_file = tiny_results / "samples" / reference["trajectory_id"] / f"{sample['source_sample_id']}.extxyz"
        shutil.copy(reference_file, folder / reference_file.name)
        rows.append({"split": "mech", "trajectory_id": sheared_id, "structure": source.name,
                     "energy_eV_per_atom": sample["energy_eV_per_atom"], "shear_T_K": sample["shear_T_K"],
                     "strain": sample["strain"], "reference_structure": reference_file.name})
    table_path = table(folder, rows, "structures.csv")
    profile = copy.deepcopy(yaml.safe_load(TINY_PROFILE.read_text()))
    for split in profile["thermal"]["splits"].values():
        split.update(replicas_per_rate=0, ladder_chains=0)
    profile["shear"]["n_sources"] = 0
    profile["imported"] = {"table": str(table_path)}
    path = folder / "profile.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path, sheared_id


@pytest.mark.slow
def test_the_tiny_runs_own_structures_brought_back_give_the_same_dictionary_and_fractions(tiny_results, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    profile, sheared_id = imported_profile(tiny_results, folder)
    results = tmp_path / "results"
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(profile),
               "--config", f"results_dir={results}", "--nolock"]
    plan = subprocess.run(command + ["-n"], cwd=REPO, capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "thermal_trajectory" not in plan.stdout and "shear_trajectory" not in plan.stdout
    # The whole plan is checked above; the run stops at the encoding (the models downstream read
    # only the catalogue and the tables compared here).
    targets = [str(results / "samples.parquet"), str(results / "encoding" / "fractions.parquet")]
    done = subprocess.run(command + targets, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    # md.engine (where LAMMPS runs) changes only the order of the force sums: changing it re-runs
    # no job, the imported histories' included.
    engine = folder / "engine.yaml"
    engine.write_text(yaml.safe_dump({"md": {"engine": str(Path(sys.executable).parent / "lmp")}}))
    replan = subprocess.run(command[:7] + [str(engine)] + command[7:] + ["-n"] + targets, cwd=REPO,
                            capture_output=True, text=True)
    assert replan.returncode == 0, replan.stderr[-3000:]
    assert "Nothing to be done" in replan.stdout + replan.stderr, replan.stdout[-3000:]

    original = pd.read_parquet(tiny_results / "samples.parquet").set_index("sample_id")
    imported = pd.read_parquet(results / "samples.parquet").set_index("sample_id")
    assert set(imported["protocol"]) == {"imported"}
    # Every split came back, and each IS energy is the original's: exactly where given, to the
    # minimiser's tolerance where the test IS were minimised again from LAMMPS data files.
    common = imported.index.intersection(original.index)
    assert len(common) == len(imported)
    for split, tolerance in (("train", 1e-12), ("size", 1e-12), ("test", 1e-6), ("mech", 1e-12)):
        rows = imported[imported["split"] == split].index
        assert len(rows), split
        np.testing.assert_allclose(imported.loc[rows, "energy_eV_per_atom"], original.loc[rows, "energy_eV_per_atom"],
                                   rtol=0, atol=tolerance)
    assert set(imported.loc[imported["split"] == "test", "energy_source"]) == {"minimized"}
    # The sheared history's strains are recomputed against its reference, as the MD's were.
    sheared = imported[imported["trajectory_id"] == sheared_id].index
    np.testing.assert_allclose(imported.loc[sheared, "von_mises_strain_std"],
                               original.loc[sheared, "von_mises_strain_std"], rtol=1e-3)
    # Train structures are the run's own files: the dictionary and every train sample's ULE
    # fractions are the same.
    pd.testing.assert_frame_equal(pd.read_parquet(results / "ules" / "dictionary.parquet"),
                                  pd.read_parquet(tiny_results / "ules" / "dictionary.parquet"))
    fractions = pd.read_parquet(results / "encoding" / "fractions.parquet").set_index("sample_id")
    reference = pd.read_parquet(tiny_results / "encoding" / "fractions.parquet").set_index("sample_id")
    train = imported[imported["split"] == "train"].index
    pd.testing.assert_frame_equal(fractions.loc[train], reference.loc[train])
    for job in ("energy_model", "barcodes", "heterogeneity_comparison"):
        assert job in plan.stdout
