"""Repeated inherent structures are flagged: the same basin at a slightly different volume,
not two different basins of equal energy."""

import numpy as np
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from mgbarcode import basins


def with_energy(atoms, energy_eV):
    atoms = atoms.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=energy_eV)
    return atoms


def test_planted_repeat_is_flagged_and_distinct_structures_are_not():
    base = bulk("CuZr", "cesiumchloride", a=3.237).repeat(3)
    base.rattle(0.1, seed=1)
    other = base.copy()
    other.positions[5] += [0.6, 0.0, 0.0]  # one atom hopped: another basin
    n = len(base)
    repeat = base.copy()
    repeat.set_cell(base.cell * 1.001, scale_atoms=True)  # same basin, minimised in a larger box
    repeat.positions += 1e-3
    structures = [with_energy(base, -4.6 * n), with_energy(other, -4.6 * n),
                  with_energy(repeat, -4.6 * n + 2e-5 * n), with_energy(base, -4.5 * n)]
    first_of = basins.repeated_basins(structures, energy_tol_eV_per_atom=1e-4, position_tol_A=0.1)
    # The repeat points at the first IS of its basin; equal energy alone (other) is not enough,
    # nor is the same structure at another energy (the last).
    assert first_of == [-1, -1, 0, -1]


def test_distinct_keeps_one_row_per_basin():
    import pandas as pd

    catalogue = pd.DataFrame({"sample_id": ["a", "b", "c"], "repeat_of": ["", "a", ""]})
    assert list(basins.distinct(catalogue)["sample_id"]) == ["a", "c"]
