"""Reading structures a user brings: extended XYZ, LAMMPS data and LAMMPS dump files.

Every problem is reported as an :class:`~mgbarcode.errors.InputError` naming the file, what
is wrong and how to fix it; nothing is guessed silently.
"""

from pathlib import Path

import numpy as np

from .errors import InputError

FORMATS = {".xyz": "extxyz", ".extxyz": "extxyz", ".data": "lammps-data", ".lmp": "lammps-data",
           ".dump": "lammps-dump-text", ".lammpstrj": "lammps-dump-text"}


def file_format(path):
    """ASE format name from the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(path, "file name", f"unknown suffix '{suffix}'",
                         f"name the file with one of {', '.join(sorted(FORMATS))}")
    return FORMATS[suffix]


def read(path, index=-1, type_elements=None):
    """Read one frame as ASE ``Atoms`` and check it.

    ``type_elements`` maps LAMMPS atom types 1, 2, … to element symbols for LAMMPS files
    (which store types, not elements).
    """
    import ase.io

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "(file)", "file not found", "check the path")
    if path.stat().st_size == 0:
        raise InputError(path, "(file)", "the file is empty", "give a file that holds a structure")
    fmt = file_format(path)
    try:
        if fmt == "lammps-data":
            atoms = ase.io.read(path, format=fmt, atom_style="atomic")
        else:
            atoms = ase.io.read(path, index=index, format=fmt)
    except Exception as error:  # ASE raises many types for malformed text
        raise InputError(path, "(contents)", f"cannot be read as {fmt} ({type(error).__name__}: {error})",
                         "check that the file is complete (not truncated) and in the format its suffix says")
    if fmt.startswith("lammps"):
        atoms = _name_lammps_types(atoms, path, type_elements)
    check(atoms, path)
    return atoms


def _name_lammps_types(atoms, path, type_elements):
    types = atoms.get_array("type") if "type" in atoms.arrays else atoms.get_atomic_numbers()
    if type_elements is None:
        raise InputError(path, "atom types", "a LAMMPS file stores numeric types, not elements",
                         "say which element each type is (e.g. --types Cu,Zr)")
    if types.max() > len(type_elements) or types.min() < 1:
        raise InputError(path, "atom types", f"types {sorted(set(types.tolist()))} but only "
                         f"{len(type_elements)} element names given ({','.join(type_elements)})",
                         "give one element per atom type")
    atoms.set_chemical_symbols([type_elements[t - 1] for t in types])
    return atoms


def check(atoms, path, min_distance_A=0.5, allowed_species=None):
    """Reject structures no physics can use: no atoms, non-finite coordinates, a degenerate
    cell, atoms closer than ``min_distance_A`` (Å), or species outside ``allowed_species``."""
    if len(atoms) == 0:
        raise InputError(path, "atoms", "the structure has no atoms", "give a structure with atoms")
    positions = atoms.get_positions()
    if not np.isfinite(positions).all():
        bad = int(np.flatnonzero(~np.isfinite(positions).all(axis=1))[0])
        raise InputError(path, f"atom {bad} position", "coordinates are NaN or infinite",
                         "regenerate the file; it may have been written from a blown-up simulation")
    if not atoms.pbc.all() or abs(atoms.cell.volume) < 1e-6:
        raise InputError(path, "cell", "the structure needs a periodic cell of non-zero volume",
                         "write the file with its simulation box (periodic in x, y and z)")
    if allowed_species is not None:
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(allowed_species))
        if unknown:
            raise InputError(path, "species", f"{unknown} not among the model's species {sorted(allowed_species)}",
                             "assess structures of the alloy the pipeline was trained on")
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, min_distance_A)
    if len(d):
        raise InputError(path, f"atoms {i[0]} and {j[0]}", f"only {d[0]:.3f} Å apart (overlapping atoms)",
                         f"remove duplicated atoms; no two atoms may be closer than {min_distance_A} Å")
    return atoms
