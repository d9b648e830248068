"""Glass samples: the thermal protocols as LAMMPS input, run to their inherent structures.

A *trajectory* is one history with its own seed (planned by :mod:`mgbarcode.histories`), made
by one of two protocols:

- ``quench`` (the paper's): melt, linear quench at a cooling rate, one inherent structure
  (IS) of the quenched glass, then for each anneal temperature one IS per snapshot;
- ``ladder``: inherent structures of equilibrium liquids along a ladder of parent
  temperatures (Sastry, Debenedetti & Stillinger, Nature 393 (1998) 554): the melt is
  stepped down from level to level, equilibrated at each, and snapshots spaced by about the
  structural relaxation time τα are minimised.  The parent temperature sets the IS energy,
  so a few levels span the glass's energy landscape far more widely than cooling rates a
  small machine can afford; τα is measured at each level from the same run
  (:mod:`mgbarcode.relaxation`) and recorded with the samples.

An IS is a CG-minimised configuration; its potential energy is the label the models learn.
Units: Å, eV, ps, K, K/s, GPa (bar inside LAMMPS).
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import lammps_engine, md, provenance
from .basins import repeated_basins
from .errors import InputError
from .histories import LadderTrajectory
from .md_settings import history_job_settings
from .relaxation import relaxation_time, self_intermediate_scattering, unwrap
from .results_layout import structure_file

log = logging.getLogger(__name__)


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


_BOX_BOUNDS = ("xlo", "xhi", "ylo", "yhi", "zlo", "zhi")
_TILTS = ("xy", "xz", "yz")


def _box_keys(triclinic):
    return _BOX_BOUNDS + (_TILTS if triclinic else ())


def save_state_commands(name, triclinic=False):
    """Keep positions and velocities and the box (with its tilt factors if ``triclinic``) under
    ``name`` in LAMMPS itself: a minimisation may move the atoms and, relaxing the cell, the box."""
    commands = [f"fix {name} all store/state 0 x y z vx vy vz"]
    commands += [f"variable {name}_{q} atom f_{name}[{i}]" for i, q in enumerate(("x", "y", "z", "vx", "vy", "vz"), 1)]
    commands += [f"variable {name}_{b} equal $({b})" for b in _box_keys(triclinic)]
    return commands


def restore_state_commands(name, triclinic=False):
    """Put back what :func:`save_state_commands` kept (the box first, then the atoms)."""
    tilts = "".join(f" {t} final ${{{name}_{t}}}" for t in _TILTS) if triclinic else ""
    return [
        f"change_box all x final ${{{name}_xlo}} ${{{name}_xhi}} y final ${{{name}_ylo}} ${{{name}_yhi}} "
        f"z final ${{{name}_zlo}} ${{{name}_zhi}}{tilts} units box",
        "set group all " + " ".join(f"{q} v_{name}_{q}" for q in ("x", "y", "z", "vx", "vy", "vz")),
    ]


def drop_state_commands(name, triclinic=False):
    return [f"unfix {name}"] + [f"variable {name}_{q} delete" for q in
                                ("x", "y", "z", "vx", "vy", "vz") + _box_keys(triclinic)]


MD_PRESSURE_VARIABLE = "md_pressure_bar"
MD_DENSITY_VARIABLE = "md_number_density"


def md_state_commands():
    """Keep the snapshot's pressure and number density, taken before its minimisation."""
    return [f"variable {MD_PRESSURE_VARIABLE} equal $(press)", f"variable {MD_DENSITY_VARIABLE} equal $(atoms/vol)"]


MD_STATE_VARIABLES = (MD_PRESSURE_VARIABLE, MD_DENSITY_VARIABLE)


def is_read(sample_id, md_state=True):
    """The read after a segment that ends at an IS (:class:`mgbarcode.lammps_engine.Read`), with
    what :func:`md_state_commands` kept unless ``md_state`` is false."""
    return lammps_engine.Read(structure=True, tag=sample_id, variables=MD_STATE_VARIABLES if md_state else ())


def md_state(readback):
    """What :func:`md_state_commands` kept, from a readback of :func:`is_read`:
    ``md_pressure_GPa`` and ``md_number_density_per_A3``."""
    return {"md_pressure_GPa": readback.variables[MD_PRESSURE_VARIABLE] / md.BAR_PER_GPA,
            "md_number_density_per_A3": readback.variables[MD_DENSITY_VARIABLE]}


def engine_of(settings, engine=None):
    """``engine`` if given, else the one ``settings.engine`` (``md.engine``) names."""
    return engine if engine is not None else lammps_engine.for_setting(settings.engine)


def _melt_commands(trajectory, settings, potential):
    """From nothing to the equilibrated melt: random liquid, contacts removed, held at the melt
    temperature.  Shared by both protocols; the integrator is left unfixed."""
    type_elements = list(potential.elements)
    setup = list(md.SESSION_PREAMBLE)
    setup += _random_liquid_commands(trajectory, settings, type_elements)
    # thermo_style first: it resets the thermo_modify settings that potential_commands makes.
    setup += [f"timestep {settings.timestep_ps}", "thermo_style custom step temp pe press vol",
              f"thermo {settings.steps(1.0)}"]
    setup += md.potential_commands(potential, type_elements, settings.neighbor_skin_A)
    t_melt = trajectory.melt_temperature_K
    # The fixed-box minimisation removes the close contacts of the random start.
    return setup + md.minimize_commands(**md.fixed_box_params(settings.minimize))[:-1] + [
        f"velocity all create {t_melt} {_stage_seed(trajectory.seed, 8)} dist gaussian mom yes rot yes",
        settings.thermostat_fix(t_melt, t_melt),
        f"run {settings.steps(trajectory.melt_time_ps)}",
        "unfix integrate",
    ]


def thermal_protocol(trajectory, settings, potential):
    """The thermal protocol as LAMMPS input, in segments: each segment ends with the
    configuration at an inherent structure, in the order of :meth:`mgbarcode.histories.ThermalTrajectory.sample_plan`.

    Saving and restoring the dynamic state around each minimisation is done with LAMMPS'
    own ``fix store/state`` and ``set``, so the same segments run unchanged through the
    Python module (which reads each IS after its segment) or the bare ``lmp`` binary.
    """
    # The MD pressure just before each minimisation, kept for the catalogue.
    minimize_commands = md_state_commands() + settings.inherent_structure_commands()
    first = _melt_commands(trajectory, settings, potential) + [
        settings.thermostat_fix(trajectory.melt_temperature_K, trajectory.quench_final_temperature_K),
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


def run_thermal_trajectory(trajectory, settings, potential, log_file=None, threads=1, engine=None):
    """Melt, quench, minimise; then anneal and minimise snapshots.  Returns ``InherentStructure``s.

    The melt starts from random positions, relaxed briefly to remove close contacts, then
    held at ``melt_temperature_K``; the quench lowers the thermostat target linearly; each
    anneal starts from the quenched IS with fresh velocities at its temperature.  ``engine``
    (:mod:`mgbarcode.lammps_engine`) runs the segments; default: the one ``settings.engine`` names.
    """
    plan = trajectory.sample_plan()
    steps = (lammps_engine.Step(segment, is_read(sample_id)) for (sample_id, *_), segment in
             zip(plan, thermal_protocol(trajectory, settings, potential)))
    readbacks = engine_of(settings, engine).run(steps, trajectory.trajectory_id, potential.elements,
                                                log_file=log_file, threads=threads)
    structures = []
    for (sample_id, protocol, anneal_t, anneal_time), readback in zip(plan, readbacks):
        structures.append(InherentStructure(sample_id, readback.atoms, {
            "protocol": protocol, "anneal_T_K": anneal_t, "anneal_time_ps": anneal_time,
            **md_state(readback), "pressure_GPa": readback.pressure_GPa}))
        settings.pressure_warning(sample_id, structures[-1].meta["pressure_GPa"])
        _log_is(structures[-1])
    return structures


def _log_is(structure):
    atoms, meta = structure.atoms, structure.meta
    log.info("%s: E_IS = %.5f eV/atom, P_IS = %.3f GPa, P_MD = %.2f GPa (%s)", structure.sample_id,
             atoms.get_potential_energy() / len(atoms), meta["pressure_GPa"], meta["md_pressure_GPa"],
             meta["protocol"])


class _FrameSchedule:
    """The MD runs of one level, split so that a frame (positions, cell, pressure) is read every
    ``frame_steps`` steps of the level, however its runs are split; frames are tagged ``tag``."""

    def __init__(self, frame_steps, tag):
        self.frame_steps, self.tag = frame_steps, tag
        self.phase = 0  # steps since the last frame

    def steps(self, steps):
        """The :class:`mgbarcode.lammps_engine.Step`s running ``steps`` MD steps.  The first
        chunk sets the run up (a fix or the state may have changed since the last run)."""
        first = True
        while steps > 0:
            chunk = min(self.frame_steps - self.phase, steps)
            # pre no: nothing changed since the last chunk, so LAMMPS need not set the run up again.
            command = f"run {chunk}" + (" post no" if first else " pre no post no")
            first, steps, self.phase = False, steps - chunk, self.phase + chunk
            read = None
            if self.phase == self.frame_steps:
                read = lammps_engine.Read(structure=False, tag=self.tag)
                self.phase = 0
            yield lammps_engine.Step([command], read)


def _frames_tag(level):
    return ("frames", level)


def ladder_protocol(trajectory, settings, potential):
    """The ladder protocol as :class:`mgbarcode.lammps_engine.Step`s: melt, then at each parent
    temperature equilibrate (frames recorded from half-way), take snapshots and minimise each
    (an IS read tagged with its sample id), continuing the dynamics from the state kept before."""
    plan = iter(trajectory.sample_plan())
    frame_steps = settings.steps(trajectory.frame_interval_ps)
    yield lammps_engine.Step(_melt_commands(trajectory, settings, potential))
    for level, (temperature, t_eq, interval) in enumerate(trajectory.levels()):
        yield lammps_engine.Step([settings.thermostat_fix(temperature, temperature)])
        transient = settings.steps(t_eq / 2.0)
        yield lammps_engine.Step([f"run {transient} post no"])
        frames = _FrameSchedule(frame_steps, _frames_tag(level))
        yield from frames.steps(settings.steps(t_eq) - transient)
        for _ in range(trajectory.snapshots_per_level):
            yield from frames.steps(settings.steps(interval))
            sample_id = next(plan)[0]
            yield lammps_engine.Step(md_state_commands() + save_state_commands("snapshot")
                                     + settings.inherent_structure_commands(), is_read(sample_id))
            yield lammps_engine.Step(restore_state_commands("snapshot") + drop_state_commands("snapshot"))
        yield lammps_engine.Step(["unfix integrate"])


def _recorded_window_ps(frames, trajectory):
    """Half the recorded time of a level: the longest lag F_s is computed at."""
    return 0.5 * len(frames) * trajectory.frame_interval_ps


def run_ladder_trajectory(trajectory, settings, potential, log_file=None, threads=1, engine=None):
    """Melt, then at each parent temperature equilibrate, take snapshots and minimise them
    (:func:`ladder_protocol`, run by ``engine``, default the one ``settings.engine`` names).
    Returns ``InherentStructure``s whose ``meta`` holds the parent temperature, the level's
    measured τα and snapshot spacing (ps), its equilibration time, the mean MD pressure of the
    level and the IS pressure (GPa).
    """
    name = trajectory.trajectory_id
    readbacks = engine_of(settings, engine).run(ladder_protocol(trajectory, settings, potential), name,
                                                potential.elements, log_file=log_file, threads=threads)
    by_tag = {}
    for readback in readbacks:
        by_tag.setdefault(readback.tag, []).append(readback)
    structures = []
    plan = iter(trajectory.sample_plan())
    frame_steps = settings.steps(trajectory.frame_interval_ps)
    for level_index, (temperature, t_eq, interval) in enumerate(trajectory.levels()):
        level = []
        for _ in range(trajectory.snapshots_per_level):
            sample_id, protocol, parent_t, _ = next(plan)
            readback, = by_tag[sample_id]
            level.append(InherentStructure(sample_id, readback.atoms, {
                "protocol": protocol, "parent_T_K": parent_t, "snapshot_spacing_ps": float(interval),
                "md_number_density_per_A3": md_state(readback)["md_number_density_per_A3"],
                "pressure_GPa": readback.pressure_GPa}))
            settings.pressure_warning(sample_id, level[-1].meta["pressure_GPa"])
        frames = by_tag.get(_frames_tag(level_index), [])
        positions = unwrap(np.array([f.positions_A for f in frames]), np.array([f.cell_A for f in frames]))
        tau_alpha = relaxation_time(*self_intermediate_scattering(
            positions, frame_steps * settings.timestep_ps, trajectory.wavenumber_per_A))
        md_pressure = float(np.mean([f.pressure_GPa for f in frames]))
        for structure in level:
            structure.meta.update(tau_alpha_ps=tau_alpha, md_pressure_GPa=md_pressure,
                                  equilibration_time_ps=float(t_eq))
            _log_is(structure)
        if not tau_alpha <= interval:
            measured = f"{tau_alpha:.2f} ps" if tau_alpha >= 0 else \
                f"longer than the {_recorded_window_ps(frames, trajectory):.1f} ps window recorded"
            log.warning("%s at %g K: snapshots %g ps apart but tau_alpha is %s: they are not "
                        "independent; lengthen thermal.ladder.snapshot_intervals_ps (and the equilibration) "
                        "or raise the parent temperature", name, temperature, interval, measured)
        log.info("%s: level %g K, tau_alpha %.2f ps, mean P_MD %.3f GPa, density %.5f /A^3", name, temperature,
                 tau_alpha, md_pressure, trajectory.n_atoms / float(np.mean([abs(np.linalg.det(f.cell_A))
                                                                            for f in frames])))
        structures.extend(level)
    return structures


def run_history(trajectory, settings, potential, log_file=None, threads=1, engine=None):
    """Run the protocol of ``trajectory`` (quench or ladder) with ``engine`` (default: the one
    ``settings.engine`` names); returns its ``InherentStructure``s."""
    runner = run_ladder_trajectory if isinstance(trajectory, LadderTrajectory) else run_thermal_trajectory
    structures = runner(trajectory, settings, potential, log_file=log_file, threads=threads, engine=engine)
    check_atom_count(structures, trajectory.n_atoms, trajectory.trajectory_id)
    return structures


def check_atom_count(structures, n_atoms, trajectory_id):
    """LAMMPS' ``create_atoms random ... overlap`` only warns when it cannot place every atom
    of the random start at the minimum distance; a history with fewer atoms than planned is
    refused before anything is written."""
    short = [s for s in structures if len(s.atoms) != n_atoms]
    if short:
        raise InputError("config", "md.initial_min_distance_A",
                         f"history {trajectory_id} has {len(short[0].atoms)} atoms, not {n_atoms}: the random start "
                         f"could not place every atom at the minimum distance",
                         "lower md.initial_min_distance_A, or md.number_density_per_A3 (the random start's density)")


# The history of a sample: protocol, cooling rate (quench), anneal temperature and time
# (anneal), parent temperature with the level's τα and snapshot spacing (ladder); its state:
# MD pressure and number density before the minimisation, IS pressure and number density;
# and repeat_of, the first IS of its basin when it repeats one of its trajectory ("" otherwise).
CATALOGUE_COLUMNS = (
    "sample_id", "split", "trajectory_id", "protocol", "cooling_rate_K_per_s", "anneal_T_K",
    "anneal_time_ps", "parent_T_K", "tau_alpha_ps", "snapshot_spacing_ps", "n_atoms", "energy_eV",
    "energy_eV_per_atom", "max_force_eV_per_A", "volume_A3", "number_density_per_A3", "md_pressure_GPa",
    "md_number_density_per_A3", "pressure_GPa", "composition", "repeat_of", "structure", "seed",
    "potential_sha256", "lammps_version",
)


def write_trajectory(structures, trajectory, table_path, structure_dir, potential_sha256, lammps_version,
                     provenance, repeat_tolerances, extra_columns=()):
    """Write every IS as extended XYZ into ``structure_dir`` and one catalogue row each into
    ``table_path`` (Parquet).  Both appear atomically: all structures or none.

    The table has :data:`CATALOGUE_COLUMNS`, then ``extra_columns`` (taken from each
    structure's ``meta``, e.g. the shear protocol's strain and temperature).  IS that repeat an
    earlier one of the trajectory (:func:`mgbarcode.basins.repeated_basins` with
    ``repeat_tolerances``, the ``md.repeats`` config) name it in ``repeat_of``."""
    # pandas and pyarrow (io) load here, not with the module: the workflow imports it to plan.
    import pandas as pd

    from .io import atomic_directory, write_parquet, write_structure

    first_of = repeated_basins([s.atoms for s in structures], **repeat_tolerances)
    rows = []
    with atomic_directory(structure_dir) as tmp_dir:
        for structure, first in zip(structures, first_of):
            atoms = structure.atoms
            write_structure(atoms, Path(tmp_dir) / structure_file(structure.sample_id))
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
                "number_density_per_A3": len(atoms) / atoms.get_volume(),
                "composition": atoms.get_chemical_formula(mode="metal"),
                "repeat_of": structures[first].sample_id if first >= 0 else "",
                "structure": str(Path(structure_dir) / structure_file(structure.sample_id)),
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
    import pandas as pd  # as in write_trajectory

    from .io import write_parquet

    tables = [pd.read_parquet(path) for path in table_paths]
    catalogue = pd.concat(tables, ignore_index=True).sort_values("sample_id", kind="stable").reset_index(drop=True)
    duplicated = catalogue["sample_id"][catalogue["sample_id"].duplicated()]
    if len(duplicated):
        raise ValueError(f"sample ids occur in more than one trajectory table: {sorted(set(duplicated))[:5]}")
    write_parquet(catalogue, out_path, provenance)
    return catalogue


def make_thermal_trajectory(trajectory, md_config, potential_config, table_path, structure_dir, config,
                            log_file=None, threads=1):
    """The thermal_trajectory job: run one thermal history (:func:`run_history`) and write its
    inherent structures and table (:func:`write_trajectory`).

    ``md_config``: the ``md`` config section without ``engine``, which is read from the run's
    ``config`` (:func:`mgbarcode.md_settings.history_job_settings`); ``config`` also gives the
    provenance record."""
    potential = md.Potential.from_config(potential_config)
    potential_sha256 = potential.check(required_elements=trajectory.composition)
    log.info("trajectory %s (%s protocol): %d atoms, seed %d", trajectory.trajectory_id, trajectory.PROTOCOL,
             trajectory.n_atoms, trajectory.seed)
    settings, engine = history_job_settings(md_config, config)
    structures = run_history(trajectory, settings, potential, log_file=log_file, threads=threads, engine=engine)
    write_trajectory(structures, trajectory, table_path=table_path, structure_dir=structure_dir,
                     potential_sha256=potential_sha256, repeat_tolerances=settings.repeats,
                     lammps_version=engine.version(),
                     provenance=provenance.record(config, potential_sha256, seeds={"trajectory": trajectory.seed}))
    log.info("wrote %d inherent structures", len(structures))


def write_catalogue(table_paths, out_path, config):
    """The sample_catalogue job: :func:`merge_tables` with the provenance record of the run's
    ``config``; logs each split's samples, histories and IS energy range."""
    catalogue = merge_tables(table_paths, out_path, provenance.record(config))
    for split, group in catalogue.groupby("split"):
        log.info("%s: %d samples from %d trajectories, E_IS %.4f .. %.4f eV/atom", split, len(group),
                 group["trajectory_id"].nunique(), group["energy_eV_per_atom"].min(),
                 group["energy_eV_per_atom"].max())
    return catalogue
