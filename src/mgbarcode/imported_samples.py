"""Samples a user brings: a table of structure files that enter the pipeline beside (or instead
of) the glasses its own MD makes, and from the catalogue on are treated exactly like them.

The table (CSV or Parquet, ``imported.table``) has one row per structure:

- ``structure``: an extended XYZ, LAMMPS data or LAMMPS dump file (:mod:`mgbarcode.structures`;
  LAMMPS types are ``imported.lammps_type_elements``, by default the potential's element order),
  relative to the table's folder or absolute;
- ``split``: ``train``, ``test``, ``size`` or ``mech`` (a sheared glass);
- ``trajectory_id``: the history the structure belongs to (the model's CV never splits one);
- ``energy_eV_per_atom``, its inherent-structure (IS) energy, or ``minimize`` true: the
  structure is CG-minimised to its IS with the configured potential and ``md.minimize``;
- for ``mech`` rows also ``shear_T_K``, ``strain`` (the box shear strain since the pre-shear
  IS) and ``reference_structure`` (that pre-shear IS, one per trajectory), from which the
  strains are computed as for the pipeline's own sheared glasses.

Per-atom energies (the ULE energies need them for ``train`` atoms) come from the file where it
has them (an extended XYZ ``energies`` column, a dump's per-atom energy column named in
``imported.per_atom_energy_arrays``), otherwise from the configured potential.  A given IS
energy is checked against the configured potential's energy of the structure when
``imported.energy_tolerance_eV_per_atom`` is set: a structure that is not an IS of this
potential would otherwise be learnt with a label the pipeline's own physics contradicts.

The table is read and checked when the workflow is planned (:func:`read_table`), before any
job runs; the structures themselves are read by each trajectory's job.
"""

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import md, provenance, structures
from .atomic_strain import annotate_strains
from .errors import InputError
from .histories import sample_id
from .results_layout import MECH_SPLIT, THERMAL_SPLITS
from .samples import InherentStructure, write_trajectory
from .shear import SHEAR_CATALOGUE_COLUMNS
from .structures import FORMATS

log = logging.getLogger(__name__)

IMPORTABLE_SPLITS = THERMAL_SPLITS + (MECH_SPLIT,)
PROTOCOL = "imported"
REQUIRED_COLUMNS = ("structure", "split", "trajectory_id")
MECH_COLUMNS = ("shear_T_K", "strain", "reference_structure")
TRAJECTORY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Catalogue columns beyond samples.CATALOGUE_COLUMNS: where each structure came from and how its
# energy was found ("table" or "minimized").
IMPORT_CATALOGUE_COLUMNS = ("imported_from", "energy_source")


@dataclass(frozen=True)
class ImportedSample:
    sample_id: str
    structure: str                 # absolute path
    energy_eV_per_atom: float      # NaN when minimised
    minimize: bool
    shear_T_K: float = math.nan
    strain: float = math.nan


@dataclass(frozen=True)
class ImportedTrajectory:
    """One history of the table: its samples in order (by strain for a sheared one)."""

    trajectory_id: str
    split: str
    samples: tuple
    reference_structure: str = ""  # mech: the pre-shear IS (absolute path)
    cooling_rate_K_per_s: float = math.nan
    seed: int = 0                  # nothing random is drawn for a structure that is read

    def files(self):
        """Every file the trajectory's job reads."""
        return [s.structure for s in self.samples] + ([self.reference_structure] if self.reference_structure else [])


def _read_frame(path):
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "imported.table", "file not found",
                         "give the path of a CSV or Parquet table (config/README.md, imported.table)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except Exception as error:
        raise InputError(path, "(contents)", f"cannot be read as a table ({type(error).__name__}: {error})",
                         "write the table as CSV with a header line, or as Parquet")
    raise InputError(path, "imported.table", f"unknown table suffix '{suffix}'", "use a .csv or .parquet table")


def _flag(value, path, where):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise InputError(path, f"{where}, column 'minimize'", f"'{value}' is not true or false",
                     "write true or false (or leave it empty: false)")


def _number(value, path, where, column):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(path, f"{where}, column '{column}'", f"'{value}' is not a number",
                         f"give {column} as a number") from None
    return number


def _file(value, folder, path, where, column):
    if value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip():
        raise InputError(path, f"{where}, column '{column}'", "empty", "give the structure file's path")
    file = Path(str(value).strip())
    file = file if file.is_absolute() else folder / file
    if file.suffix.lower() not in FORMATS:
        raise InputError(path, f"{where}, column '{column}'", f"unknown structure suffix '{file.suffix}'",
                         f"name the file with one of {', '.join(sorted(FORMATS))}")
    if not file.is_file():
        raise InputError(path, f"{where}, column '{column}'", f"{file} not found",
                         "give a path relative to the table's folder, or an absolute one")
    return str(file.resolve())


def read_table(table_path, reserved_ids=()):
    """Read and check the table of structures a user brings; returns the
    :class:`ImportedTrajectory` list in order of first appearance.

    Every problem raises :class:`~mgbarcode.errors.InputError` naming the table, the row (as
    numbered in the file: the header is line 1) and the column, and the fix.  ``reserved_ids``:
    trajectory ids the pipeline's own MD uses, which the table may not reuse."""
    path = Path(table_path)
    frame = _read_frame(path)
    missing = [column for column in REQUIRED_COLUMNS if column not in frame]
    if missing:
        raise InputError(path, f"columns {missing}", "missing",
                         f"give the columns {list(REQUIRED_COLUMNS)}, and energy_eV_per_atom or minimize")
    if not len(frame):
        raise InputError(path, "(rows)", "the table has no rows", "list one structure per row")
    folder, reserved = path.parent, set(reserved_ids)
    trajectories, split_of = {}, {}
    for index, row in enumerate(frame.to_dict("records")):
        where = f"row {index + 2}"
        split, trajectory_id = str(row["split"]).strip(), str(row["trajectory_id"]).strip()
        if split not in IMPORTABLE_SPLITS:
            raise InputError(path, f"{where}, column 'split'", f"'{split}' is not a split",
                             f"use one of {', '.join(IMPORTABLE_SPLITS)}")
        if not TRAJECTORY_ID_PATTERN.match(trajectory_id):
            raise InputError(path, f"{where}, column 'trajectory_id'", f"'{trajectory_id}' is not a usable id",
                             "use letters, digits, '_', '.' and '-', starting with a letter or digit")
        if trajectory_id in reserved:
            raise InputError(path, f"{where}, column 'trajectory_id'",
                             f"'{trajectory_id}' is a history the pipeline's own MD makes",
                             "rename the imported history (e.g. with a prefix of your own)")
        if split_of.setdefault(trajectory_id, split) != split:
            raise InputError(path, f"{where}, column 'split'",
                             f"history '{trajectory_id}' is in split '{split_of[trajectory_id]}' on an earlier row",
                             "keep every structure of one history in one split")
        structure = _file(row["structure"], folder, path, where, "structure")
        minimize = _flag(row.get("minimize"), path, where)
        energy = row.get("energy_eV_per_atom")
        has_energy = energy is not None and not (isinstance(energy, float) and math.isnan(energy)) \
            and str(energy).strip() != ""
        if has_energy == minimize:
            raise InputError(path, f"{where}, columns 'energy_eV_per_atom' and 'minimize'",
                             "both given" if minimize else "neither given",
                             "give the structure's IS energy, or minimize: true to have it minimised, not both")
        energy = _number(energy, path, where, "energy_eV_per_atom") if has_energy else math.nan
        if has_energy and not -50.0 < energy < 50.0:
            raise InputError(path, f"{where}, column 'energy_eV_per_atom'", f"{energy} is not an energy per atom",
                             "give the IS energy per atom in eV (not the total)")
        extra = {}
        if split == MECH_SPLIT:
            absent = [column for column in MECH_COLUMNS if column not in frame]
            if absent:
                raise InputError(path, f"{where}, columns {absent}", "missing for a sheared (mech) structure",
                                 "give shear_T_K, strain and reference_structure (the pre-shear IS) for mech rows")
            extra = {"shear_T_K": _number(row["shear_T_K"], path, where, "shear_T_K"),
                     "strain": _number(row["strain"], path, where, "strain")}
            reference = _file(row["reference_structure"], folder, path, where, "reference_structure")
            known = trajectories.get(trajectory_id, {}).get("reference", reference)
            if known != reference:
                raise InputError(path, f"{where}, column 'reference_structure'",
                                 f"history '{trajectory_id}' names another pre-shear IS on an earlier row",
                                 "give one reference_structure per sheared history")
        entry = trajectories.setdefault(trajectory_id, {"split": split, "rows": [], "reference": ""})
        if split == MECH_SPLIT:
            entry["reference"] = reference
        entry["rows"].append((structure, energy, minimize, extra))
    result = []
    for trajectory_id, entry in trajectories.items():
        rows = entry["rows"]
        if entry["split"] == MECH_SPLIT:
            strains = [extra["strain"] for _, _, _, extra in rows]
            if len(set(strains)) != len(strains):
                raise InputError(path, f"history '{trajectory_id}', column 'strain'", "a strain occurs twice",
                                 "give each sheared IS of a history its own strain")
            rows = sorted(rows, key=lambda r: r[3]["strain"])
        samples = tuple(ImportedSample(sample_id(trajectory_id, k), structure, energy, minimize, **extra)
                        for k, (structure, energy, minimize, extra) in enumerate(rows))
        result.append(ImportedTrajectory(trajectory_id, entry["split"], samples, entry["reference"]))
    return result


def per_atom_energies(atoms, array_names):
    """Per-atom energies (eV) the file carries: an extended XYZ's ``energies`` (calculator
    results), else the first of ``array_names`` present (e.g. a dump's ``c_pe``); None if none."""
    calc = getattr(atoms, "calc", None)
    if calc is not None and "energies" in getattr(calc, "results", {}):
        return np.asarray(calc.results["energies"], dtype=np.float64)
    for name in array_names:
        if name in atoms.arrays:
            return np.asarray(atoms.arrays[name], dtype=np.float64)
    return None


def _with_energies(atoms, energy_eV, energies_eV, forces):
    """``atoms`` (positions and cell unchanged) carrying the total energy (the label) and the
    per-atom energies (eV) and forces (eV/Å)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = atoms.copy()
    for name in list(atoms.arrays):
        if name not in ("numbers", "positions"):
            del atoms.arrays[name]
    atoms.calc = SinglePointCalculator(atoms, energy=float(energy_eV), energies=np.asarray(energies_eV),
                                       forces=forces)
    return atoms


def inherent_structure(sample, potential, md_config, imported_config, type_elements, log_file=None):
    """The :class:`~mgbarcode.samples.InherentStructure` of one imported sample: read, checked,
    minimised if asked; its energy per atom is the table's (checked against the potential) or
    the minimum's."""
    atoms = structures.read(sample.structure, type_elements=type_elements)
    structures.check(atoms, sample.structure, allowed_species=potential.elements)
    skin = md_config["neighbor_skin_A"]
    if sample.minimize:
        atoms = md.evaluate(atoms, potential, skin, md_config["minimize"], md_config["pressure_bar"], log_file=log_file)
        source = "minimized"
    else:
        evaluated = md.evaluate(atoms, potential, skin, log_file=log_file)
        computed = evaluated.get_potential_energy() / len(atoms)
        tolerance = imported_config["energy_tolerance_eV_per_atom"]
        if tolerance is not None and abs(computed - sample.energy_eV_per_atom) > tolerance:
            raise InputError(sample.structure, "energy_eV_per_atom",
                             f"the table gives {sample.energy_eV_per_atom:.6f} eV/atom but the configured potential "
                             f"gives {computed:.6f} for this structure (tolerance {tolerance})",
                             "give the energy of this potential's IS, set minimize: true for this row, or set "
                             "imported.energy_tolerance_eV_per_atom: null to learn energies of another model")
        energies = per_atom_energies(atoms, imported_config["per_atom_energy_arrays"])
        if energies is None:
            energies = evaluated.get_potential_energies()
        elif energies.shape != (len(atoms),) or not np.isfinite(energies).all():
            raise InputError(sample.structure, "per-atom energies", "not one finite value per atom",
                             "fix the file's per-atom energy column or drop it")
        # The table's energy is the label the models learn; the per-atom energies stay as found.
        atoms = _with_energies(atoms, sample.energy_eV_per_atom * len(atoms), energies, evaluated.get_forces())
        source = "table"
    meta = {"protocol": PROTOCOL, "anneal_T_K": math.nan, "anneal_time_ps": math.nan,
            "imported_from": sample.structure, "energy_source": source}
    return InherentStructure(sample.sample_id, atoms, meta)


def run_imported_trajectory(trajectory, potential, md_config, imported_config, heterogeneity_config, log_file=None):
    """Every IS of one imported history, in order (:func:`inherent_structure`).  A sheared
    history's IS also get the shear columns and, against its ``reference_structure``, the
    strains of :func:`mgbarcode.atomic_strain.annotate_strains`, as the pipeline's own sheared
    glasses do."""
    type_elements = imported_config["lammps_type_elements"] or list(potential.elements)
    result = [inherent_structure(sample, potential, md_config, imported_config, type_elements, log_file)
              for sample in trajectory.samples]
    if trajectory.split == MECH_SPLIT:
        reference = structures.read(trajectory.reference_structure, type_elements=type_elements)
        for sample, structure in zip(trajectory.samples, result):
            if len(structure.atoms) != len(reference):
                raise InputError(sample.structure, "atoms", f"{len(structure.atoms)} atoms but the reference "
                                 f"{trajectory.reference_structure} has {len(reference)}",
                                 "give the pre-shear IS of this very glass, with its atoms in the same order")
            structure.meta.update(shear_T_K=sample.shear_T_K, strain=sample.strain, strain_rate_per_ps=math.nan,
                                  source_sample_id=Path(trajectory.reference_structure).stem)
        annotate_strains(reference, result, heterogeneity_config["pair_distribution"],
                         heterogeneity_config["strain_percentile"], heterogeneity_config["hot_strain_threshold"],
                         heterogeneity_config["n_slabs"])
    return result


def catalogue_extra_columns(trajectory):
    """Catalogue columns of an imported history beyond the thermal ones."""
    return IMPORT_CATALOGUE_COLUMNS + (SHEAR_CATALOGUE_COLUMNS if trajectory.split == MECH_SPLIT else ())


def check_coverage(md_trajectories, imported, table_path):
    """Every split the models need (train, test, size) has at least one history, from the MD
    or from the table."""
    present = {t.split for t in md_trajectories} | {t.split for t in imported}
    for split in THERMAL_SPLITS:
        if split not in present:
            raise InputError(table_path, f"split '{split}'", "no history, neither from the MD nor in the table",
                             f"add rows of split {split} to the table, or MD histories in thermal.splits.{split}")


def import_trajectory(trajectory, md_config, potential_config, imported_config, heterogeneity_config, table_path,
                      structure_dir, config, log_file=None):
    """The imported_trajectory job: the IS of one imported history
    (:func:`run_imported_trajectory`), written as the MD's are
    (:func:`mgbarcode.samples.write_trajectory`), with the provenance record of the run's
    ``config``."""
    potential = md.Potential.from_config(potential_config)
    potential_sha256 = potential.check()
    log.info("imported history %s (%s): %d structures", trajectory.trajectory_id, trajectory.split,
             len(trajectory.samples))
    result = run_imported_trajectory(trajectory, potential, md_config, imported_config, heterogeneity_config,
                                     log_file=log_file)
    write_trajectory(result, trajectory, table_path=table_path, structure_dir=structure_dir,
                     potential_sha256=potential_sha256, repeat_tolerances=md_config["repeats"],
                     lammps_version=md.lammps_version(), provenance=provenance.record(config, potential_sha256),
                     extra_columns=catalogue_extra_columns(trajectory))
    log.info("wrote %d inherent structures", len(result))
