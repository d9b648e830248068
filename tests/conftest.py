"""Shared fixtures: the repository paths, the default config, and one tiny workflow run."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TINY_PROFILE = REPO / "tests" / "data" / "tiny.yaml"


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
