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
:func:`mgbarcode.atomic_strain.von_mises_strain` undoes the flip from the known strain.

Units: Å, eV, ps, K, 1/ps (strain rates).
"""

import logging
import math
from pathlib import Path
from typing import NamedTuple

from . import lammps_engine, md, provenance
from .atomic_strain import STRAIN_STATISTIC_COLUMNS, annotate_strains
from .md_settings import history_job_settings
from .results_layout import structure_file
from .samples import (InherentStructure, drop_state_commands, engine_of, is_read, md_state, md_state_commands,
                      restore_state_commands, save_state_commands, write_trajectory)

log = logging.getLogger(__name__)

PROTOCOL = "shear"
# Catalogue columns of a mechanical sample beyond samples.CATALOGUE_COLUMNS (from the IS meta;
# the strain statistics are there when run_shear_trajectory was given the heterogeneity config).
SHEAR_CATALOGUE_COLUMNS = ("shear_T_K", "strain_rate_per_ps", "strain", "source_sample_id") + STRAIN_STATISTIC_COLUMNS


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
    in ``meta`` (:func:`mgbarcode.atomic_strain.annotate_strains`).
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


def make_shear_trajectory(trajectory, source_structures, md_config, potential_config, heterogeneity, table_path,
                          structure_dir, config, log_file=None, threads=1):
    """The shear_trajectory job: shear the source IS of ``trajectory`` (read from its history's
    folder ``source_structures``) with :func:`run_shear_trajectory` and write the sheared IS
    with their strains and table (:func:`mgbarcode.samples.write_trajectory`).

    ``md_config``: the ``md`` config section without ``engine``; the engine is read from the
    run's ``config`` (:func:`mgbarcode.md_settings.history_job_settings`), which also gives the
    provenance record."""
    settings, engine = history_job_settings(md_config, config)
    potential = md.Potential.from_config(potential_config)
    potential_sha256 = potential.check()
    # pandas and pyarrow (io) load here, not with the module: the workflow imports it to plan
    # (through mgbarcode.imported_samples).
    from .io import read_structure

    source = read_structure(Path(source_structures) / structure_file(trajectory.source_sample_id))
    log.info("shearing %s at %.0f K, %.3g /ps to strain %.3f (seed %d)", trajectory.source_sample_id,
             trajectory.temperature_K, trajectory.strain_rate_per_ps, trajectory.total_strain, trajectory.seed)
    result = run_shear_trajectory(source, trajectory, settings, potential, heterogeneity=heterogeneity,
                                  log_file=log_file, threads=threads, engine=engine)
    write_trajectory(result.structures, trajectory, table_path=table_path, structure_dir=structure_dir,
                     potential_sha256=potential_sha256, lammps_version=engine.version(),
                     repeat_tolerances=settings.repeats,
                     provenance=provenance.record(config, potential_sha256, seeds={"shear": trajectory.seed}),
                     extra_columns=SHEAR_CATALOGUE_COLUMNS)
