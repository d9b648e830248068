"""Workload of a config, stage by stage: MD atom-steps, minimisations, SOAP environments,
matrix-product FLOPs and disk.  Multiplied by measured per-unit costs it projects the
core-hours and storage of a study before anything runs (``benchmarks/project_scale.py``).
"""

from dataclasses import dataclass

from .histories import thermal_trajectories
from .md_settings import md_settings
from .results_layout import TRAIN_SPLIT

BYTES_PER_FLOAT32 = 4
# Extended XYZ of an IS: species, 3 positions, per-atom energy, 3 forces as text (measured).
EXTXYZ_BYTES_PER_ATOM = 150


@dataclass(frozen=True)
class Workload:
    """Counts that set the cost of a configuration."""

    n_trajectories: int
    n_samples: dict            # split -> inherent structures
    md_atom_steps: float       # thermal MD, all trajectories
    minimised_atoms: float     # sum over IS of their atom counts (one minimisation each)
    environments: dict         # split -> SOAP environments (atoms of all IS)
    n_features: int            # SOAP length per environment
    shear_atom_steps: float
    shear_samples: int


def soap_length(soap_config):
    """Number of SOAP features per atom for DScribe's ``average='off'`` power spectrum."""
    n_species, n_max, l_max = len(soap_config["species"]), soap_config["n_max"], soap_config["l_max"]
    return (n_species * n_max) * (n_species * n_max + 1) // 2 * (l_max + 1)


def workload(config):
    """The :class:`Workload` of a validated config."""
    settings = md_settings(config)
    trajectories = thermal_trajectories(config)
    samples, environments = {}, {}
    atom_steps = minimised = 0.0
    for trajectory in trajectories:
        atom_steps += trajectory.n_atoms * settings.steps(trajectory.md_time_ps())
        n_is = len(trajectory.sample_plan())
        minimised += n_is * trajectory.n_atoms
        samples[trajectory.split] = samples.get(trajectory.split, 0) + n_is
        environments[trajectory.split] = environments.get(trajectory.split, 0) + n_is * trajectory.n_atoms
    shear = config["shear"]
    source_atoms = config["thermal"]["splits"][shear["source_split"]]["n_atoms"]
    shear_runs = shear["n_sources"] * len(shear["temperatures_K"])
    shear_steps = settings.steps(shear["total_strain"] / shear["strain_rate_per_ps"])
    shear_samples = shear_runs * int(round((shear["total_strain"] - shear["steady_state_strain"])
                                           / shear["snapshot_strain_interval"]))
    return Workload(len(trajectories), samples, atom_steps, minimised, environments,
                    soap_length(config["soap"]), shear_runs * source_atoms * shear_steps, shear_samples)


def projection(config, rates):
    """Core-hours and disk (GB) per stage.

    ``rates``: measured ``md_atom_steps_per_s``, ``minimised_atoms_per_s`` (atoms of IS
    minimised per second), ``soap_atoms_per_s`` and ``gemm_flops_per_s`` (float32), each on
    one core.  The dictionary and encoding costs assume a dictionary of
    ``ules.target_size`` ULEs (or 5000 when only a threshold is set): every environment is
    compared with every ULE once (2 FLOP per feature), an upper bound for the dictionary build,
    whose dictionary grows from zero.
    """
    work = workload(config)
    n_ules = config["ules"]["target_size"] or 5000
    all_env = sum(work.environments.values())
    train_env = work.environments.get(TRAIN_SPLIT, 0)
    gemm = 2.0 * work.n_features * n_ules
    stages = {
        "thermal MD": work.md_atom_steps / rates["md_atom_steps_per_s"],
        "IS minimisation": work.minimised_atoms / rates["minimised_atoms_per_s"],
        "shear MD": work.shear_atom_steps / rates["md_atom_steps_per_s"],
        "SOAP": all_env / rates["soap_atoms_per_s"],
        "ULE dictionary (upper bound)": train_env * gemm / rates["gemm_flops_per_s"],
        "encoding": all_env * gemm / rates["gemm_flops_per_s"],
    }
    disk = {
        "structures (extxyz)": all_env * EXTXYZ_BYTES_PER_ATOM / 1e9,
        "SOAP (float32 Parquet)": all_env * work.n_features * BYTES_PER_FLOAT32 / 1e9,
        "dictionary": n_ules * work.n_features * BYTES_PER_FLOAT32 / 1e9,
        "encodings (fractions + counts)": sum(work.n_samples.values()) * n_ules * 16 / 1e9,
    }
    return work, {name: seconds / 3600.0 for name, seconds in stages.items()}, disk
