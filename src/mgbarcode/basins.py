"""Inherent structures that repeat: snapshots of one history that fell into the same basin.

Two snapshots closer in time than the structural relaxation time often minimise to the same
inherent structure (IS).  Counted twice they weigh one configuration twice and make the data
look larger and more regular than it is.  Two IS of one trajectory are the same basin when
their energies agree to ``energy_tol_eV_per_atom`` and every atom sits at the same place in
cell coordinates to ``position_tol_A`` (the same atoms, in the same order, as LAMMPS ids keep
them within a trajectory).  Positions are compared in fractional coordinates because under
NPT two snapshots of one basin are minimised in boxes of slightly different volume (the IS
keeps its snapshot's box), which moves every atom affinely and the energy by ~1e-5 eV/atom.
Units: Å, eV.
"""

import numpy as np


def same_structure(atoms_a, atoms_b, position_tol_A):
    """True if the two structures hold the same species in the same order and every atom's
    fractional position agrees, by minimum image, to ``position_tol_A`` (in ``atoms_a``'s cell)."""
    if len(atoms_a) != len(atoms_b) or atoms_a.get_chemical_symbols() != atoms_b.get_chemical_symbols():
        return False
    steps = atoms_a.get_scaled_positions(wrap=True) - atoms_b.get_scaled_positions(wrap=True)
    steps -= np.round(steps)
    return float(np.linalg.norm(steps @ atoms_a.cell.array, axis=1).max()) <= position_tol_A


def repeated_basins(structures, energy_tol_eV_per_atom, position_tol_A):
    """For each structure (ASE ``Atoms`` with an energy), the index of the first earlier one it
    repeats, or -1 for the first of its basin.

    Energies prefilter the pairs (sorted, so the cost is near linear); only pairs within
    ``energy_tol_eV_per_atom`` are compared atom by atom.
    """
    energies = np.array([atoms.get_potential_energy() / len(atoms) for atoms in structures])
    parent = list(range(len(structures)))  # union-find: each basin's root is its earliest IS

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = np.argsort(energies, kind="stable")
    for rank, i in enumerate(order):
        for j in order[rank + 1:]:
            if energies[j] - energies[i] > energy_tol_eV_per_atom:
                break
            if root(i) != root(j) and same_structure(structures[i], structures[j], position_tol_A):
                low, high = sorted((root(i), root(j)))
                parent[high] = low
    return [-1 if root(i) == i else root(i) for i in range(len(structures))]


def distinct(catalogue):
    """The rows of a sample catalogue (DataFrame) that are the first IS of their basin
    (``repeat_of`` empty): each basin counts once."""
    return catalogue[catalogue["repeat_of"] == ""]
