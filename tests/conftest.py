"""Shared fixtures: the repository paths, the default config, one tiny workflow run, and the
ULE tests' vectors (random CuZr-like glass SOAP, clustered unit vectors)."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TINY_PROFILE = REPO / "tests" / "data" / "tiny.yaml"
# Shared potentials read in place as test fixtures, never copied into the project (Sheng's 2011
# Zr-Cu eam/alloy file): ../shared/potentials/ beside the repository, or the folder that
# MGBARCODE_SHARED_POTENTIALS names.
SHARED_POTENTIALS = Path(os.environ.get("MGBARCODE_SHARED_POTENTIALS", REPO.parent / "shared" / "potentials"))
SHENG_POTENTIAL = SHARED_POTENTIALS / "ZrCu_Sheng2011.eam.alloy"


@pytest.fixture(scope="session")
def default_config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@pytest.fixture(scope="session")
def soap_params(default_config):
    return dict(default_config["soap"])


@pytest.fixture(scope="session")
def soap(soap_params):
    """The default profile's SOAP descriptor (DScribe)."""
    from mgbarcode import descriptors

    return descriptors.make_soap(**soap_params)


@pytest.fixture()
def config(default_config):
    """A deep copy of the default config that a test may change."""
    return copy.deepcopy(default_config)


def run_snakemake(results_dir, *targets, extra=(), check=True):
    """Run the repository's workflow on the tiny profile into ``results_dir``."""
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(TINY_PROFILE),
               "--config", f"results_dir={results_dir}", "--nolock", *extra, *targets]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if check and completed.returncode != 0:
        raise AssertionError(f"snakemake failed ({completed.returncode}):\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}")
    return completed


@pytest.fixture(scope="session")
def tiny_results(tmp_path_factory):
    """Results folder of one tiny end-to-end workflow run, shared by the slow tests."""
    results_dir = tmp_path_factory.mktemp("tiny") / "results"
    run_snakemake(results_dir)
    return results_dir


def ase_eam_energy_check(catalogue, potential_config, rows=None):
    """IS energies of ``catalogue`` (a ``samples.parquet`` frame) recomputed by ASE's own EAM
    code on the written structures: an independent second calculator (its splines are not
    LAMMPS's).  ``rows`` (index labels) limits the check; by default every row.

    Returns a DataFrame with ``sample_id``, ``n_atoms``, ``lammps_eV_per_atom`` (the catalogue),
    ``stored_eV_per_atom`` (the energy written with the structure) and ``ase_eV_per_atom``."""
    import io

    import pandas as pd
    from ase.calculators.eam import EAM

    from mgbarcode.io import read_structure

    form = {"eam/alloy": "alloy", "eam/fs": "fs"}[potential_config["pair_style"]]
    # LAMMPS ignores text after the numbers of a setfl line ("# nrho drho nr" in Sheng's file);
    # ASE reads every word as a number, so it gets the file with such comments cut off.
    lines = Path(potential_config["file"]).read_text().splitlines(keepends=True)
    cleaned = lines[:3] + [line.split("#", 1)[0] + "\n" for line in lines[3:]]
    calculator = EAM(potential=io.StringIO("".join(cleaned)), form=form)
    selected = catalogue if rows is None else catalogue.loc[rows]
    records = []
    for row in selected.itertuples():
        atoms = read_structure(row.structure)
        stored = atoms.get_potential_energy() / len(atoms)
        atoms.calc = calculator
        records.append({"sample_id": row.sample_id, "n_atoms": len(atoms), "lammps_eV_per_atom": row.energy_eV_per_atom,
                        "stored_eV_per_atom": stored, "ase_eV_per_atom": atoms.get_potential_energy() / len(atoms)})
    return pd.DataFrame.from_records(records)


def run_snakemake_overlay(results_dir, overlay, *targets):
    """:func:`run_snakemake` with the profile file ``overlay`` merged over the tiny profile
    (``--configfile tiny.yaml overlay``; the trailing ``--nolock`` ends the file list)."""
    return run_snakemake(results_dir, *targets, extra=["--configfile", str(TINY_PROFILE), str(overlay), "--nolock"])


# --------------------------------------------------------------------------- ULE test data

COMPOSITION = {"Cu": 0.56, "Zr": 0.44}


def unit_rows(matrix):
    """The rows of ``matrix`` normalised, as float32."""
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


@pytest.fixture(scope="module")
def single_blas_thread():
    """The ULE tests make many small matrix products; a second BLAS thread only adds waiting
    (and, on a busy machine, much more), so their modules run on one
    (``pytestmark = pytest.mark.usefixtures("single_blas_thread")``)."""
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
    from mgbarcode import descriptors

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
    from mgbarcode.ules import exact_bounds

    dots = glass_vectors @ glass_vectors.T
    np.fill_diagonal(dots, -1)
    nearest = exact_bounds.similarity_from_dot(dots.max(axis=1))
    return [round(float(q), 4) for q in np.quantile(nearest, [0.1, 0.3, 0.6])]


@pytest.fixture(scope="module")
def glass_references(glass_vectors, glass_thresholds):
    """The one-at-a-time leader dictionary (leader indices) at each of the glass thresholds."""
    from mgbarcode.ules import leader_dictionary

    return {t: leader_dictionary.build_dictionary_reference(glass_vectors, t) for t in glass_thresholds}
