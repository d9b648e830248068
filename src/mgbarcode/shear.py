"""Mechanical samples: thermal glasses driven to steady shear flow, snapshots minimised to IS.

A *shear trajectory* takes one thermal inherent structure (the source), gives it velocities
at the shear temperature, equilibrates it briefly, then shears it at a constant engineering
rate with Lees–Edwards boundaries (LAMMPS: triclinic box, ``fix deform … xy erate … remap v``,
``fix nvt/sllod`` thermostatting the thermal velocity relative to the streaming profile, as
``compute temp/deform`` measures it).  Every ``snapshot_strain_interval`` of strain once the
strain has reached ``steady_state_strain`` the configuration is minimised to an inherent
structure (``md.minimize``: CG in its tilted box, then the cell, tilts included, scaled to
``md.pressure_bar`` if relaxed); the dynamics then continues from the state kept before the
minimisation.  Strain γ is the engineering shear strain: the xy tilt grows by γ·l_y.

LAMMPS flips the box (xy → xy − l_x) when the tilt passes half the box length; the flipped
cell spans the same lattice, so energies are unaffected, and
:func:`mgbarcode.heterogeneity.von_mises_strain` undoes the flip from the known strain.

Units: Å, eV, ps, K, 1/ps (strain rates).
"""

import logging
import math
from dataclasses import dataclass
from typing import NamedTuple

from . import lammps_engine, md
from .errors import InputError
from .heterogeneity import STRAIN_STATISTIC_COLUMNS, annotate_strains
from .samples import (InherentStructure, drop_state_commands, engine_of, is_read, md_state, md_state_commands,
                      restore_state_commands, save_state_commands)

log = logging.getLogger(__name__)

MECH_SPLIT = "mech"
PROTOCOL = "shear"
SEED_STRIDE_PER_TEMPERATURE = 1000  # seed = shear.seed_base + 1000 * temperature_index + source_index
# Catalogue columns of a mechanical sample beyond samples.CATALOGUE_COLUMNS (from the IS meta;
# the strain statistics are there when run_shear_trajectory was given the heterogeneity config).
CATALOGUE_EXTRA_COLUMNS = ("shear_T_K", "strain_rate_per_ps", "strain", "source_sample_id") + STRAIN_STATISTIC_COLUMNS
# Tolerance (in units of snapshot_strain_interval) when deciding which multiples of the
# interval fall inside [steady_state_strain, total_strain]: absorbs float round-off only.
_STRAIN_ROUND_OFF = 1e-9


@dataclass(frozen=True)
class ShearTrajectory:
    """One shear history: a thermal source IS sheared at one temperature.

    ``cooling_rate_K_per_s`` is the source's cooling rate (kept so that a mechanical sample's
    catalogue row says which thermal history it came from).
    """

    trajectory_id: str
    source_trajectory_id: str
    source_sample_id: str
    cooling_rate_K_per_s: float
    temperature_K: float
    strain_rate_per_ps: float
    total_strain: float
    steady_state_strain: float
    snapshot_strain_interval: float
    equilibration_time_ps: float
    seed: int
    split: str = MECH_SPLIT

    def snapshot_indices(self):
        """k of the snapshots at strain k·interval, steady_state_strain ≤ k·interval ≤ total_strain."""
        first = max(1, math.ceil(self.steady_state_strain / self.snapshot_strain_interval - _STRAIN_ROUND_OFF))
        last = math.floor(self.total_strain / self.snapshot_strain_interval + _STRAIN_ROUND_OFF)
        return list(range(first, last + 1))

    def sample_plan(self, timestep_ps):
        """(sample_id, strain, steps) of every sheared IS in the order made.

        ``steps`` is the number of MD steps (of ``timestep_ps``) run since the previous
        snapshot (or since the shear started); ``strain`` is the strain the box actually has
        after those steps, rate × elapsed time, so it is exact even where the nominal
        multiple of the interval is not a whole number of steps.
        """
        steps_per_strain = 1.0 / (self.strain_rate_per_ps * timestep_ps)
        plan, done = [], 0
        for number, k in enumerate(self.snapshot_indices()):
            target = int(round(k * self.snapshot_strain_interval * steps_per_strain))
            plan.append((f"{self.trajectory_id}_{number:04d}", target / steps_per_strain, target - done))
            done = target
        return plan


def temperature_label(temperature_K):
    """``T300`` for 300 K (``T312.5`` for 312.5 K): the temperature part of an id."""
    return f"T{float(temperature_K):g}"


def condition_label(temperature_K):
    """The paper's label of a mechanical condition: ``M300`` for shear at 300 K."""
    return f"M{float(temperature_K):g}"


def shear_trajectory_id(temperature_K, source_index):
    """``mech_T300_s00``: the shear of source ``source_index`` at ``temperature_K``.
    Sample ids append the snapshot number: ``mech_T300_s00_0000``."""
    return f"{MECH_SPLIT}_{temperature_label(temperature_K)}_s{source_index:02d}"


def shear_sources(config):
    """The thermal trajectories whose glass (:meth:`glass_sample_id`: the quenched IS, or a
    ladder chain's coldest IS) the shear stage starts from: the first ``shear.n_sources``
    trajectories of ``shear.source_split``, in catalogue order.  Steady flow forgets the
    starting state anyway.
    """
    from .config import thermal_trajectories

    shear = config["shear"]
    candidates = [t for t in thermal_trajectories(config) if t.split == shear["source_split"]]
    if shear["n_sources"] > len(candidates):
        raise InputError("config", "shear.n_sources",
                         f"{shear['n_sources']} sources asked for but split '{shear['source_split']}' "
                         f"has only {len(candidates)} trajectories",
                         "lower shear.n_sources or add replicas to that split")
    return candidates[: shear["n_sources"]]


def shear_trajectories(config):
    """Every shear trajectory of the config, ordered by temperature, then source.

    Seeds: ``shear.seed_base + 1000 * temperature_index + source_index`` (the range that
    :func:`mgbarcode.config.validate` keeps apart from the thermal splits' seeds).
    """
    shear = config["shear"]
    trajectories = []
    for temperature_index, temperature in enumerate(shear["temperatures_K"]):
        for source_index, source in enumerate(shear_sources(config)):
            trajectory = ShearTrajectory(
                trajectory_id=shear_trajectory_id(temperature, source_index),
                source_trajectory_id=source.trajectory_id,
                source_sample_id=source.glass_sample_id(),
                cooling_rate_K_per_s=source.cooling_rate_K_per_s,
                temperature_K=float(temperature),
                strain_rate_per_ps=float(shear["strain_rate_per_ps"]),
                total_strain=float(shear["total_strain"]),
                steady_state_strain=float(shear["steady_state_strain"]),
                snapshot_strain_interval=float(shear["snapshot_strain_interval"]),
                equilibration_time_ps=float(shear["equilibration_time_ps"]),
                seed=shear["seed_base"] + SEED_STRIDE_PER_TEMPERATURE * temperature_index + source_index,
            )
            if not trajectory.snapshot_indices():
                raise InputError("config", "shear.snapshot_strain_interval",
                                 f"no multiple of {trajectory.snapshot_strain_interval} lies between "
                                 f"steady_state_strain {trajectory.steady_state_strain} and total_strain "
                                 f"{trajectory.total_strain}", "raise shear.total_strain or lower the interval")
            trajectories.append(trajectory)
    return trajectories


def shear_trajectory_by_id(config, trajectory_id):
    from .config import find_trajectory

    return find_trajectory(shear_trajectories(config), trajectory_id)


def shear_protocol(trajectory, settings, potential):
    """The shear protocol as LAMMPS input, in segments, for a session whose atoms are loaded.

    The first segment defines the potential and minimises the source to the reference IS
    (the pre-shear configuration strains are measured against).  Each further segment ends at
    a sheared IS, in the order of :meth:`ShearTrajectory.sample_plan`.  As in
    :func:`mgbarcode.samples.thermal_protocol`, the dynamic state is kept across each
    minimisation with ``fix store/state`` and ``set``.  The equilibration before the shear
    uses ``settings.ensemble`` (NPT: the glass takes its volume at the shear temperature);
    the shear itself, Lees–Edwards, is at fixed volume.
    """
    type_elements = list(potential.elements)
    # The box is triclinic from the start, so every IS (the reference too) relaxes its cell the same way.
    minimize_commands = settings.inherent_structure_commands(triclinic=True)
    temperature, damp = trajectory.temperature_K, settings.thermostat_damp_ps
    # thermo_style first: issued later it would reset potential_commands' thermo_modify.
    yield ["thermo_style custom step temp pe press pxy xy", f"thermo {settings.steps(1.0)}",
           f"timestep {settings.timestep_ps}"] + \
        md.potential_commands(potential, type_elements, settings.neighbor_skin_A) + \
        ["change_box all triclinic"] + minimize_commands
    start_shear = [
        # The seed is used as is (LAMMPS wants 0 < seed < 2^31; the schema keeps seeds ~1e8).
        # rot no: angular momentum is not a conserved quantity of a periodic box.
        f"velocity all create {temperature} {trajectory.seed} dist gaussian mom yes rot no",
        # Under NPT the glass first finds its volume at the shear temperature and pressure.
        settings.thermostat_fix(temperature, temperature),
        f"run {settings.steps(trajectory.equilibration_time_ps)}",
        "unfix integrate",
        # The thermal velocity is measured relative to the streaming profile v_x = γ̇ (y - ylo).
        "compute shear_temp all temp/deform",
        f"fix shear_box all deform 1 xy erate {trajectory.strain_rate_per_ps} remap v flip yes",
        f"fix integrate all nvt/sllod temp {temperature} {temperature} {damp}",
        "fix_modify integrate temp shear_temp",
        "thermo_modify temp shear_temp",
        # Add the streaming profile that temp/deform subtracts, so the flow starts at once and
        # the thermostat does not take the profile for heat.
        f"velocity all ramp vx 0.0 $({trajectory.strain_rate_per_ps}*ly) y $(ylo) $(yhi) sum yes units box",
    ]
    # At an IS the velocities are zero, but temp/deform would count each atom's missing
    # streaming velocity γ̇·y as heat in the pressure: the IS is taken with the plain thermo
    # temperature (zero), so its pressure is the virial, and the flow's is restored after it.
    is_commands = ["thermo_modify temp thermo_temp"] + minimize_commands
    for index, (_, _, steps) in enumerate(trajectory.sample_plan(settings.timestep_ps)):
        segment = start_shear if index == 0 else \
            restore_state_commands("sheared", triclinic=True) + drop_state_commands("sheared", triclinic=True) + \
            ["thermo_modify temp shear_temp"]
        yield segment + [f"run {steps}"] + md_state_commands() + save_state_commands("sheared", triclinic=True) \
            + is_commands


class ShearResult(NamedTuple):
    """The reference (minimised source) IS and the sheared IS of one shear trajectory."""

    reference: InherentStructure
    structures: list


def reference_sample_id(trajectory):
    """Id of a shear trajectory's reference IS (the minimised source)."""
    return f"{trajectory.trajectory_id}_reference"


def run_shear_trajectory(source_atoms, trajectory, settings, potential, heterogeneity=None, log_file=None,
                         threads=1, engine=None):
    """Shear ``source_atoms`` (an IS, ASE ``Atoms``) as ``trajectory`` says, with ``engine``
    (:mod:`mgbarcode.lammps_engine`; default: the one ``settings.engine`` names).  Returns a
    :class:`ShearResult`.

    Each sheared IS's ``meta`` holds ``protocol='shear'``, ``anneal_T_K``/``anneal_time_ps``
    (NaN: not annealed), ``shear_T_K``, ``strain_rate_per_ps``, ``strain`` and
    ``source_sample_id``.  Atoms keep the source's order (LAMMPS id i+1 = row i), so the
    reference and every sheared IS correspond atom by atom.

    With ``heterogeneity`` (the config section of that name) each sheared IS also gets its
    cumulative and per-interval strains (arrays written to extended XYZ) and their statistics
    in ``meta`` (:func:`mgbarcode.heterogeneity.annotate_strains`).
    """
    plan = trajectory.sample_plan(settings.timestep_ps)
    reads = [is_read(reference_sample_id(trajectory), md_state=False)] + [is_read(sample_id) for sample_id, _, _ in plan]
    steps = (lammps_engine.Step(segment, read) for read, segment in
             zip(reads, shear_protocol(trajectory, settings, potential)))
    readbacks = engine_of(settings, engine).run(steps, trajectory.trajectory_id, potential.elements,
                                                log_file=log_file, threads=threads, initial_atoms=source_atoms)
    reference = InherentStructure(reference_sample_id(trajectory), readbacks[0].atoms,
                                  {"protocol": "shear_reference", "strain": 0.0,
                                   "source_sample_id": trajectory.source_sample_id})
    structures = []
    for (sample_id, strain, _), readback in zip(plan, readbacks[1:]):
        atoms = readback.atoms
        structures.append(InherentStructure(sample_id, atoms, {
            "protocol": PROTOCOL, "anneal_T_K": math.nan, "anneal_time_ps": math.nan,
            "shear_T_K": trajectory.temperature_K, "strain_rate_per_ps": trajectory.strain_rate_per_ps,
            "strain": strain, "source_sample_id": trajectory.source_sample_id,
            **md_state(readback), "pressure_GPa": readback.pressure_GPa}))
        settings.pressure_warning(sample_id, structures[-1].meta["pressure_GPa"])
        log.info("%s: strain %.4f, E_IS = %.5f eV/atom", sample_id, strain, atoms.get_potential_energy() / len(atoms))
    if heterogeneity is not None:
        cutoff_A = annotate_strains(reference.atoms, structures, heterogeneity["pair_distribution"],
                                    heterogeneity["strain_percentile"], heterogeneity["hot_strain_threshold"],
                                    heterogeneity["n_slabs"])
        log.info("%s: strains with neighbours within %.3f A (first minimum of the reference IS's g(r))",
                 trajectory.trajectory_id, cutoff_A)
    return ShearResult(reference, structures)
