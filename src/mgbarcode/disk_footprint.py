"""Disk a config's results take, before anything runs: the inherent structures, the SOAP
vectors (when stored), the dictionary and the encodings, from the number of samples and atoms
the config plans (``benchmarks/project_scale.py``; its core-hours it measures itself).
"""

from dataclasses import dataclass

from .histories import thermal_trajectories

BYTES_PER_FLOAT32 = 4
# Extended XYZ of an IS: species, 3 positions, per-atom energy, 3 forces as text (measured).
EXTXYZ_BYTES_PER_ATOM = 150
# Dictionary size assumed when the config fixes a threshold instead of a target size.
DEFAULT_N_ULES = 5000


@dataclass(frozen=True)
class ThermalSamples:
    """The thermal samples a config plans."""

    n_samples: dict            # split -> inherent structures
    environments: dict         # split -> SOAP environments (atoms of all IS)
    n_features: int            # SOAP length per environment


def soap_length(soap_config):
    """Number of SOAP features per atom for DScribe's ``average='off'`` power spectrum."""
    n_species, n_max, l_max = len(soap_config["species"]), soap_config["n_max"], soap_config["l_max"]
    return (n_species * n_max) * (n_species * n_max + 1) // 2 * (l_max + 1)


def dictionary_size(ules_config):
    """The number of ULEs to plan for: ``ules.target_size``, or :data:`DEFAULT_N_ULES`."""
    return ules_config["target_size"] or DEFAULT_N_ULES


def thermal_samples(config):
    """The :class:`ThermalSamples` of a validated config."""
    samples, environments = {}, {}
    for trajectory in thermal_trajectories(config):
        n_is = len(trajectory.sample_plan())
        samples[trajectory.split] = samples.get(trajectory.split, 0) + n_is
        environments[trajectory.split] = environments.get(trajectory.split, 0) + n_is * trajectory.n_atoms
    return ThermalSamples(samples, environments, soap_length(config["soap"]))


def projection(config):
    """The thermal samples of ``config`` and the disk (GB) of each kind of result: structures,
    SOAP as float32 Parquet (0 with ``soap.store`` false: the jobs that read SOAP compute it
    from the structures), the dictionary of :func:`dictionary_size` ULEs and the encodings
    (fractions and counts, 8 bytes each)."""
    work = thermal_samples(config)
    n_ules = dictionary_size(config["ules"])
    all_env = sum(work.environments.values())
    soap_gb = all_env * work.n_features * BYTES_PER_FLOAT32 / 1e9
    disk = {
        "structures (extxyz)": all_env * EXTXYZ_BYTES_PER_ATOM / 1e9,
        **({"SOAP (float32 Parquet)": soap_gb} if config["soap"]["store"] else {"SOAP (none: soap.store false)": 0.0}),
        "dictionary": n_ules * work.n_features * BYTES_PER_FLOAT32 / 1e9,
        "encodings (fractions + counts)": sum(work.n_samples.values()) * n_ules * 16 / 1e9,
    }
    return work, disk
