"""Faults: a killed workflow, resumed, gives the results of an uninterrupted run; two runs of
one config give byte-identical dictionary, encodings and barcodes; a new seed gives new samples."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import REPO, TINY_PROFILE, run_snakemake

BYTE_IDENTICAL = ["ules/dictionary.parquet", "encoding/fractions.parquet", "encoding/counts.parquet",
                  "barcode/barcodes.parquet", "barcode/top_ules.parquet"]


def assert_same_results(reference, other):
    """The science of two results folders is the same (paths inside the catalogue aside)."""
    for relative in BYTE_IDENTICAL:
        assert (reference / relative).read_bytes() == (other / relative).read_bytes(), relative
    columns = ["sample_id", "split", "energy_eV", "energy_eV_per_atom", "seed", "max_force_eV_per_A"]
    pd.testing.assert_frame_equal(pd.read_parquet(reference / "samples.parquet", columns=columns),
                                  pd.read_parquet(other / "samples.parquet", columns=columns))
    metrics = [json.loads((folder / "model" / "metrics.json").read_text()) for folder in (reference, other)]
    assert metrics[0] == metrics[1]


# After a SIGTERM, a cluster sends SIGKILL once its grace period ends (SLURM's KillWait,
# 30 s by default).  The test does the same: a SIGTERM that lands while Snakemake 9.27's ILP
# scheduler is choosing jobs kills its `cbc` child, and Snakemake then waits on a lock for
# ever (seen 3 times in about 20 runs: `ps` showed it in futex_wait beside a defunct cbc).
KILL_WAIT_S = 30


def kill_when(results_dir, ready, sig, timeout_s=600):
    """Start the tiny workflow, send ``sig`` to its whole process group once ``ready()`` holds
    (and SIGKILL if it is still running ``KILL_WAIT_S`` later)."""
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(TINY_PROFILE),
               "--config", f"results_dir={results_dir}", "--nolock"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            if process.poll() is not None:
                pytest.fail("the workflow finished before the kill point; move the kill point earlier")
            if time.monotonic() > deadline:
                pytest.fail("the kill point was never reached")
            time.sleep(0.2)
        os.killpg(process.pid, sig)
        process.wait(timeout=KILL_WAIT_S)
    except subprocess.TimeoutExpired:
        pass  # SIGKILL below, as a cluster would
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("sig, stage", [
    (signal.SIGTERM, "molecular dynamics"),
    (signal.SIGKILL, "SOAP and ULEs"),
])
def test_killed_and_resumed_run_equals_uninterrupted(tmp_path, tiny_results, sig, stage):
    results_dir = tmp_path / "results"
    if stage == "molecular dynamics":
        ready = lambda: len(list((results_dir / "samples").glob("*.parquet"))) >= 1
    else:
        ready = lambda: (results_dir / "soap").is_dir() and any((results_dir / "soap").iterdir())
    kill_when(results_dir, ready, sig)
    assert not (results_dir / "model" / "metrics.json").exists()
    # Whatever the killed jobs left is either complete or a hidden temporary file.
    assert all(p.name.startswith(".") for p in results_dir.rglob("*.tmp"))
    run_snakemake(results_dir, extra=["--rerun-incomplete"])
    assert_same_results(tiny_results, results_dir)
    # The rerun jobs cleared what the killed ones left.
    assert not list(results_dir.rglob("*.tmp"))


def test_a_killed_writes_temporary_goes_with_the_next_write_and_a_failed_write_keeps_the_old(tmp_path):
    from mgbarcode import io

    table, folder = tmp_path / "table.txt", tmp_path / "folder"
    io.write_text(table, "old")
    # What killed writes leave: a hidden partial file and a partial folder with content.
    (tmp_path / ".table.txt.partial.tmp").write_text("half")
    (tmp_path / ".folder.partial.tmp").mkdir()
    (tmp_path / ".folder.partial.tmp" / "a.extxyz").write_text("half")
    (tmp_path / ".other.txt.partial.tmp").write_text("another output's")
    with pytest.raises(RuntimeError):
        with io.atomic_path(table) as partial:
            partial.write_text("new, unfinished")
            raise RuntimeError("the writer failed")
    assert table.read_text() == "old"
    io.write_text(table, "new")
    with io.atomic_directory(folder) as partial:
        (partial / "b.extxyz").write_text("complete")
    assert table.read_text() == "new"
    assert sorted(p.name for p in folder.iterdir()) == ["b.extxyz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.txt.partial.tmp", "folder", "table.txt"]


def test_a_different_seed_gives_different_samples(default_config):
    import dataclasses

    import yaml

    from mgbarcode import histories, md, samples
    from mgbarcode.md_settings import md_settings

    tiny = yaml.safe_load(TINY_PROFILE.read_text())
    config = dict(default_config, thermal={**default_config["thermal"], **tiny["thermal"]})
    trajectory = histories.thermal_trajectories(config)[0]
    settings, potential = md_settings(config), md.Potential.from_config(config["potential"])
    energies = {}
    for seed in (trajectory.seed, trajectory.seed + 7):
        run = samples.run_thermal_trajectory(dataclasses.replace(trajectory, seed=seed), settings, potential)
        energies[seed] = [s.atoms.get_potential_energy() for s in run]
    again = samples.run_thermal_trajectory(trajectory, settings, potential)
    assert [s.atoms.get_potential_energy() for s in again] == energies[trajectory.seed]
    assert energies[trajectory.seed] != energies[trajectory.seed + 7]
