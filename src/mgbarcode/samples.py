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


def _create_random_liquid(lmp, trajectory, settings, type_elements):
    """Random positions at the configured number density with a minimum pair distance."""
    length = (trajectory.n_atoms / settings.number_density_per_A3) ** (1.0 / 3.0)
    lmp.commands_list(["boundary p p p", f"region cell block 0 {length} 0 {length} 0 {length}",
                       f"create_box {len(type_elements)} cell"])
    counts = trajectory.species_counts()
    for type_index, element in enumerate(type_elements, start=1):
        if counts.get(element, 0):
            lmp.command(f"create_atoms {type_index} random {counts[element]} "
                        f"{_stage_seed(trajectory.seed, type_index)} NULL "
                        f"overlap {settings.initial_min_distance_A} maxtry 1000")
    created = lmp.get_natoms()
    if created != trajectory.n_atoms:
        raise RuntimeError(f"placed {created} of {trajectory.n_atoms} atoms at density "
                           f"{settings.number_density_per_A3} Å^-3 with minimum distance "
                           f"{settings.initial_min_distance_A} Å: lower md.initial_min_distance_A")


def _minimised_snapshot(lmp, settings, type_elements):
    """Minimise the current configuration to its IS and return it as ASE Atoms."""
    md.minimize(lmp, **settings.minimize)
    return md.current_atoms(lmp, type_elements)


def run_thermal_trajectory(trajectory, settings, potential, log_file=None):
    """Melt, quench, minimise; then anneal and minimise snapshots.  Returns ``InherentStructure``s.

    The melt starts from random positions, relaxed briefly to remove close contacts, then
    held at ``melt_temperature_K``; the quench lowers the thermostat target linearly; each
    anneal starts from the quenched IS with fresh velocities at its temperature.
    """
    type_elements = list(potential.elements)
    plan = iter(trajectory.sample_plan())
    structures = []
    started = time.perf_counter()

    def record(atoms):
        sample_id, protocol, anneal_t, anneal_time = next(plan)
        structures.append(InherentStructure(sample_id, atoms, {
            "protocol": protocol, "anneal_T_K": anneal_t, "anneal_time_ps": anneal_time}))
        log.info("%s: E_IS = %.5f eV/atom (%s, %.1f s elapsed)", sample_id,
                 atoms.get_potential_energy() / len(atoms), protocol, time.perf_counter() - started)

    with md.lammps_session(log_file) as lmp:
        _create_random_liquid(lmp, trajectory, settings, type_elements)
        md.define_potential(lmp, potential, type_elements, settings.neighbor_skin_A)
        lmp.commands_list([f"timestep {settings.timestep_ps}", "thermo_style custom step temp pe press vol",
                           f"thermo {settings.steps(1.0)}"])
        md.minimize(lmp, **settings.minimize)  # removes close contacts of the random start
        t_melt = trajectory.melt_temperature_K
        lmp.commands_list([
            f"velocity all create {t_melt} {_stage_seed(trajectory.seed, 8)} dist gaussian mom yes rot yes",
            settings.thermostat_fix(t_melt, t_melt),
            f"run {settings.steps(trajectory.melt_time_ps)}",
            "unfix integrate",
            settings.thermostat_fix(t_melt, trajectory.quench_final_temperature_K),
            f"run {settings.steps(trajectory.quench_time_ps())}",
            "unfix integrate",
        ])
        log.info("%s: melted %.1f ps and quenched %.1f ps at %.3g K/s", trajectory.trajectory_id,
                 trajectory.melt_time_ps, trajectory.quench_time_ps(), trajectory.cooling_rate_K_per_s)
        record(_minimised_snapshot(lmp, settings, type_elements))
        quenched = md.save_state(lmp)
        interval = settings.steps(trajectory.snapshot_interval_ps)
        for stage, temperature in enumerate(trajectory.anneal_temperatures_K, start=9):
            md.restore_state(lmp, quenched)
            lmp.commands_list([
                f"velocity all create {temperature} {_stage_seed(trajectory.seed, stage)} "
                "dist gaussian mom yes rot yes",
                settings.thermostat_fix(temperature, temperature),
            ])
            for _ in range(trajectory.n_snapshots()):
                lmp.command(f"run {interval}")
                state = md.save_state(lmp)
                record(_minimised_snapshot(lmp, settings, type_elements))
                md.restore_state(lmp, state)
            lmp.command("unfix integrate")
    return structures


CATALOGUE_COLUMNS = (
    "sample_id", "split", "trajectory_id", "protocol", "cooling_rate_K_per_s", "anneal_T_K",
    "anneal_time_ps", "n_atoms", "energy_eV", "energy_eV_per_atom", "max_force_eV_per_A",
    "volume_A3", "composition", "structure", "seed", "potential_sha256", "lammps_version",
)


def write_trajectory(structures, trajectory, table_path, structure_dir, potential_sha256, lammps_version,
                     provenance):
    """Write every IS as extended XYZ into ``structure_dir`` and one catalogue row each into
    ``table_path`` (Parquet).  Both appear atomically: all structures or none."""
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
    table = pd.DataFrame(rows, columns=list(CATALOGUE_COLUMNS))
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
