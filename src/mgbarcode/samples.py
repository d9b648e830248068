"""Glass samples: the thermal (melt, quench, anneal) protocol and inherent structures.

A *trajectory* is one cooling history with its own seed.  It yields one inherent
structure (IS) right after the quench, then, for each anneal temperature, one IS per
snapshot.  An IS is a CG-minimised configuration; its potential energy is the label the
models learn.  Units: Å, eV, ps, K, K/s.
"""

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import md

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MDSettings:
    """Integration, ensemble and minimisation settings shared by every protocol."""

    timestep_ps: float
    ensemble: str  # "nvt" (fixed number density) or "npt" (pressure_bar)
    number_density_per_A3: float
    pressure_bar: float
    thermostat_damp_ps: float
    barostat_damp_ps: float
    initial_min_distance_A: float
    neighbor_skin_A: float
    minimize: dict

    @classmethod
    def from_config(cls, md_config):
        return cls(**md_config)

    def steps(self, time_ps):
        """Number of MD steps covering ``time_ps`` (at least one)."""
        return max(1, int(round(time_ps / self.timestep_ps)))

    def thermostat_fix(self, t_start_K, t_stop_K, fix_id="integrate"):
        """The LAMMPS command of the integrator: Nosé-Hoover NVT or NPT (isotropic)."""
        tdamp = self.thermostat_damp_ps
        if self.ensemble == "npt":
            p, pdamp = self.pressure_bar, self.barostat_damp_ps
            return f"fix {fix_id} all npt temp {t_start_K} {t_stop_K} {tdamp} iso {p} {p} {pdamp}"
        return f"fix {fix_id} all nvt temp {t_start_K} {t_stop_K} {tdamp}"


@dataclass(frozen=True)
class ThermalTrajectory:
    """One cooling history of the thermal protocol."""

    trajectory_id: str
    split: str
    n_atoms: int
    composition: dict  # element -> atom fraction
    cooling_rate_K_per_s: float
    seed: int
    melt_temperature_K: float
    melt_time_ps: float
    quench_final_temperature_K: float
    anneal_temperatures_K: tuple
    anneal_time_ps: float
    snapshot_interval_ps: float

    def species_counts(self):
        """Atoms per element: fractions rounded so that the counts add up to ``n_atoms``.

        Largest-remainder rounding keeps the composition as close as an integer count allows.
        """
        elements = sorted(self.composition)
        exact = np.array([self.composition[e] * self.n_atoms for e in elements])
        counts = np.floor(exact).astype(int)
        for i in np.argsort(-(exact - counts), kind="stable")[: self.n_atoms - counts.sum()]:
            counts[i] += 1
        return dict(zip(elements, counts.tolist()))

    def n_snapshots(self):
        return int(round(self.anneal_time_ps / self.snapshot_interval_ps))

    def quench_time_ps(self):
        """Duration of the linear quench (ps) at this cooling rate."""
        return (self.melt_temperature_K - self.quench_final_temperature_K) / self.cooling_rate_K_per_s * 1e12

    def sample_plan(self):
        """(sample_id, protocol, anneal_T_K, anneal_time_ps) of every IS, in the order made."""
        plan = [(f"{self.trajectory_id}_0000", "quench", math.nan, 0.0)]
        for temperature in self.anneal_temperatures_K:
            for k in range(1, self.n_snapshots() + 1):
                plan.append((f"{self.trajectory_id}_{len(plan):04d}", "anneal", float(temperature),
                             k * self.snapshot_interval_ps))
        return plan


@dataclass
class InherentStructure:
    """A minimised configuration (ASE Atoms with energies and forces) and its metadata."""

    sample_id: str
    atoms: object
    meta: dict = field(default_factory=dict)


def _stage_seed(seed, stage):
    """Distinct LAMMPS seeds for the stages of one trajectory (LAMMPS wants 0 < seed < 2^31)."""
    return (seed * 16 + stage) % (2**31 - 1) or 1


def _random_liquid_commands(trajectory, settings, type_elements):
    """Random positions at the configured number density with a minimum pair distance."""
    length = (trajectory.n_atoms / settings.number_density_per_A3) ** (1.0 / 3.0)
    commands = ["boundary p p p", f"region cell block 0 {length} 0 {length} 0 {length}",
                f"create_box {len(type_elements)} cell"]
    counts = trajectory.species_counts()
    for type_index, element in enumerate(type_elements, start=1):
        if counts.get(element, 0):
            commands.append(f"create_atoms {type_index} random {counts[element]} "
                            f"{_stage_seed(trajectory.seed, type_index)} NULL "
                            f"overlap {settings.initial_min_distance_A} maxtry 1000")
    return commands


def save_state_commands(name):
    """Keep positions and velocities (and the box, for NPT) under ``name`` in LAMMPS itself."""
    commands = [f"fix {name} all store/state 0 x y z vx vy vz"]
    commands += [f"variable {name}_{q} atom f_{name}[{i}]" for i, q in enumerate(("x", "y", "z", "vx", "vy", "vz"), 1)]
    commands += [f"variable {name}_{b} equal $({b})" for b in ("xlo", "xhi", "ylo", "yhi", "zlo", "zhi")]
    return commands


def restore_state_commands(name):
    """Put back what :func:`save_state_commands` kept (the box first, then the atoms)."""
    return [
        f"change_box all x final ${{{name}_xlo}} ${{{name}_xhi}} y final ${{{name}_ylo}} ${{{name}_yhi}} "
        f"z final ${{{name}_zlo}} ${{{name}_zhi}} units box",
        "set group all " + " ".join(f"{q} v_{name}_{q}" for q in ("x", "y", "z", "vx", "vy", "vz")),
    ]


def drop_state_commands(name):
    return [f"unfix {name}"] + [f"variable {name}_{q} delete" for q in
                                ("x", "y", "z", "vx", "vy", "vz", "xlo", "xhi", "ylo", "yhi", "zlo", "zhi")]


def thermal_protocol(trajectory, settings, potential):
    """The thermal protocol as LAMMPS input, in segments: each segment ends with the
    configuration at an inherent structure, in the order of :meth:`ThermalTrajectory.sample_plan`.

    Saving and restoring the dynamic state around each minimisation is done with LAMMPS'
    own ``fix store/state`` and ``set``, so the same segments run unchanged through the
    Python module (which reads each IS after its segment) or the bare ``lmp`` binary.
    """
    type_elements = list(potential.elements)
    minimize_commands = md.minimize_commands(**settings.minimize)
    setup = list(md.SESSION_PREAMBLE)
    setup += _random_liquid_commands(trajectory, settings, type_elements)
    # thermo_style first: it resets the thermo_modify settings that potential_commands makes.
    setup += [f"timestep {settings.timestep_ps}", "thermo_style custom step temp pe press vol",
              f"thermo {settings.steps(1.0)}"]
    setup += md.potential_commands(potential, type_elements, settings.neighbor_skin_A)
    t_melt = trajectory.melt_temperature_K
    first = setup + minimize_commands[:-1] + [  # removes close contacts of the random start
        f"velocity all create {t_melt} {_stage_seed(trajectory.seed, 8)} dist gaussian mom yes rot yes",
        settings.thermostat_fix(t_melt, t_melt),
        f"run {settings.steps(trajectory.melt_time_ps)}",
        "unfix integrate",
        settings.thermostat_fix(t_melt, trajectory.quench_final_temperature_K),
        f"run {settings.steps(trajectory.quench_time_ps())}",
        "unfix integrate",
    ] + minimize_commands + save_state_commands("quenched")
    yield first
    interval = settings.steps(trajectory.snapshot_interval_ps)
    carry = []
    for stage, temperature in enumerate(trajectory.anneal_temperatures_K, start=9):
        segment = carry + restore_state_commands("quenched") + [
            f"velocity all create {temperature} {_stage_seed(trajectory.seed, stage)} dist gaussian mom yes rot yes",
            settings.thermostat_fix(temperature, temperature),
        ]
        for snapshot in range(trajectory.n_snapshots()):
            if snapshot:
                segment = restore_state_commands("snapshot") + drop_state_commands("snapshot")
            segment += [f"run {interval}"] + save_state_commands("snapshot") + minimize_commands
            yield segment
        carry = drop_state_commands("snapshot") + ["unfix integrate"]


def run_thermal_trajectory(trajectory, settings, potential, log_file=None, threads=1):
    """Melt, quench, minimise; then anneal and minimise snapshots.  Returns ``InherentStructure``s.

    The melt starts from random positions, relaxed briefly to remove close contacts, then
    held at ``melt_temperature_K``; the quench lowers the thermostat target linearly; each
    anneal starts from the quenched IS with fresh velocities at its temperature.
    """
    type_elements = list(potential.elements)
    structures = []
    started = time.perf_counter()
    with md.lammps_session(log_file, preamble=False, threads=threads) as lmp:
        segments = thermal_protocol(trajectory, settings, potential)
        for (sample_id, protocol, anneal_t, anneal_time), segment in zip(trajectory.sample_plan(), segments):
            md.run_commands(lmp, segment, trajectory.trajectory_id, log_file)
            atoms = md.current_atoms(lmp, type_elements)
            structures.append(InherentStructure(sample_id, atoms, {
                "protocol": protocol, "anneal_T_K": anneal_t, "anneal_time_ps": anneal_time}))
            log.info("%s: E_IS = %.5f eV/atom (%s, %.1f s elapsed)", sample_id,
                     atoms.get_potential_energy() / len(atoms), protocol, time.perf_counter() - started)
    return structures

CATALOGUE_COLUMNS = (
    "sample_id", "split", "trajectory_id", "protocol", "cooling_rate_K_per_s", "anneal_T_K",
    "anneal_time_ps", "n_atoms", "energy_eV", "energy_eV_per_atom", "max_force_eV_per_A",
    "volume_A3", "composition", "structure", "seed", "potential_sha256", "lammps_version",
)


def write_trajectory(structures, trajectory, table_path, structure_dir, potential_sha256, lammps_version,
                     provenance, extra_columns=()):
    """Write every IS as extended XYZ into ``structure_dir`` and one catalogue row each into
    ``table_path`` (Parquet).  Both appear atomically: all structures or none.

    The table has :data:`CATALOGUE_COLUMNS`, then ``extra_columns`` (taken from each
    structure's ``meta``, e.g. the shear protocol's strain and temperature)."""
    import pandas as pd
    from pathlib import Path

    from .io import atomic_directory, write_parquet, write_structure

    rows = []
    with atomic_directory(structure_dir) as tmp_dir:
        for structure in structures:
            atoms = structure.atoms
            write_structure(atoms, Path(tmp_dir) / f"{structure.sample_id}.extxyz")
            energy = atoms.get_potential_energy()
            rows.append({
                "sample_id": structure.sample_id,
                "split": trajectory.split,
                "trajectory_id": trajectory.trajectory_id,
                "cooling_rate_K_per_s": trajectory.cooling_rate_K_per_s,
                **structure.meta,
                "n_atoms": len(atoms),
                "energy_eV": energy,
                "energy_eV_per_atom": energy / len(atoms),
                "max_force_eV_per_A": md.max_force(atoms),
                "volume_A3": atoms.get_volume(),
                "composition": atoms.get_chemical_formula(mode="metal"),
                "structure": str(Path(structure_dir) / f"{structure.sample_id}.extxyz"),
                "seed": trajectory.seed,
                "potential_sha256": potential_sha256,
                "lammps_version": lammps_version,
            })
    table = pd.DataFrame(rows, columns=list(CATALOGUE_COLUMNS) + list(extra_columns))
    write_parquet(table, table_path, provenance)
    return table


def merge_tables(table_paths, out_path, provenance):
    """Concatenate per-trajectory tables into the catalogue, ordered by ``sample_id``.

    Idempotent: the same inputs always give the same file, whatever their order.
    """
    import pandas as pd

    from .io import write_parquet

    tables = [pd.read_parquet(path) for path in table_paths]
    catalogue = pd.concat(tables, ignore_index=True).sort_values("sample_id", kind="stable").reset_index(drop=True)
    duplicated = catalogue["sample_id"][catalogue["sample_id"].duplicated()]
    if len(duplicated):
        raise ValueError(f"sample ids occur in more than one trajectory table: {sorted(set(duplicated))[:5]}")
    write_parquet(catalogue, out_path, provenance)
    return catalogue
