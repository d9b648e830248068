"""Per-atom strain and its localisation: analytic strains of affine (sheared, flipped,
isotropically rescaled) crystals, planted non-affine displacements, planted hot regions and
slabs, and the first minimum of g(r) of fcc Cu."""

import numpy as np
import pytest
from ase.build import bulk
from ase.neighborlist import neighbor_list

from mgbarcode import atomic_strain as strain
from mgbarcode.atomic_strain import continuous_shear_cell

CU_LATTICE_A = 3.615
CUTOFF_A = 3.0  # between the first (a/√2 = 2.556 Å) and second (a) fcc shells


def simple_shear(shear_strain, scale=1.0):
    """F = s (I + γ e_x⊗e_y): simple shear x += γ·y followed by an isotropic rescaling."""
    deformation = np.eye(3)
    deformation[0, 1] = shear_strain
    return scale * deformation


def von_mises(deformation):
    """η of OVITO's definition from E = (FᵀF − I)/2."""
    e = (deformation.T @ deformation - np.eye(3)) / 2
    return np.sqrt(e[0, 1] ** 2 + e[0, 2] ** 2 + e[1, 2] ** 2
                   + ((e[0, 0] - e[1, 1]) ** 2 + (e[0, 0] - e[2, 2]) ** 2 + (e[1, 1] - e[2, 2]) ** 2) / 6)


def deformed(reference, deformation, flips=0):
    """``reference`` mapped affinely by F (r → F r), its cell's b vector then replaced by
    b − flips·a as LAMMPS does at each box flip (same lattice, another basis), wrapped."""
    atoms = reference.copy()
    atoms.set_cell(reference.cell.array @ deformation.T, scale_atoms=True)
    cell = atoms.cell.array.copy()
    cell[1] -= flips * cell[0]
    atoms.set_cell(cell, scale_atoms=False)
    atoms.wrap()
    return atoms


@pytest.fixture(scope="module")
def crystal():
    atoms = bulk("Cu", "fcc", a=CU_LATTICE_A, cubic=True).repeat(4)
    atoms.rattle(0.03, seed=3)  # a non-lattice reference: an affine map still gives uniform strain
    return atoms


# --------------------------------------------------------------------------------------------
# Per-atom strain


def test_affine_simple_shear_gives_analytic_strain_and_no_nonaffine_displacement(crystal):
    shear_strain = 0.1
    result = strain.local_strain(crystal, deformed(crystal, simple_shear(shear_strain)), CUTOFF_A,
                                 xy_strain=shear_strain)
    expected = np.sqrt(shear_strain ** 2 / 4 + shear_strain ** 4 / 12)
    assert von_mises(simple_shear(shear_strain)) == pytest.approx(expected)
    np.testing.assert_allclose(result.von_mises, expected, rtol=1e-9)
    np.testing.assert_allclose(result.d2min_A2, 0.0, atol=1e-12)


def test_planted_nonaffine_displacement_shows_in_d2min_of_that_atom_and_its_neighbours():
    reference = bulk("Cu", "fcc", a=CU_LATTICE_A, cubic=True).repeat(4)
    current = reference.copy()
    displacement_A = np.array([0.10, 0.05, -0.08])
    current.positions[0] += displacement_A
    result = strain.local_strain(reference, current, CUTOFF_A)
    i, j = neighbor_list("ij", reference, CUTOFF_A)
    neighbours = j[i == 0]
    assert len(neighbours) == 12
    # The 12 neighbour vectors sum to zero, so the best local F of atom 0 is I and every
    # neighbour vector is off by −u: D²min = Σ_j |u|² (Falk & Langer's sum, not a mean).
    assert result.d2min_A2[0] == pytest.approx(12 * displacement_A @ displacement_A, rel=1e-9)
    assert (result.d2min_A2[neighbours] > 1e-4).all()
    others = np.setdiff1d(np.arange(len(reference)), np.append(neighbours, 0))
    np.testing.assert_allclose(result.d2min_A2[others], 0.0, atol=1e-12)
    np.testing.assert_allclose(result.von_mises[others], 0.0, atol=1e-9)


@pytest.mark.parametrize("start_strain, end_strain, start_scale, end_scale, start_flips, end_flips", [
    (0.10, 0.15, 1.0, 1.0, 0, 0),
    (0.10, 0.15, 1.0, 1.01, 0, 0),   # the end IS rescaled isotropically (zero-pressure relaxation)
    (0.10, 0.15, 1.0, 1.0, 0, 1),    # the end box flipped: tilt reduced by l_x
    (0.10, 0.15, 1.0, 1.01, 0, 1),
    (0.45, 0.55, 0.99, 1.02, 0, 1),  # the flip LAMMPS makes as the tilt passes l_x / 2
    (1.45, 1.60, 1.02, 0.98, 1, 2),  # a window starting from an already flipped box
])
def test_incremental_strain_is_the_strain_of_the_shear_within_the_window(
        crystal, start_strain, end_strain, start_scale, end_scale, start_flips, end_flips):
    start = deformed(crystal, simple_shear(start_strain, start_scale), start_flips)
    end = deformed(crystal, simple_shear(end_strain, end_scale), end_flips)
    result = strain.incremental_strain(start, end, CUTOFF_A, xy_strain_increment=end_strain - start_strain)
    # Simple shears add and commute with isotropic scaling: F_end F_start⁻¹ = (s_end/s_start) F(Δγ).
    expected = von_mises(simple_shear(end_strain - start_strain, end_scale / start_scale))
    np.testing.assert_allclose(result.von_mises, expected, rtol=1e-9)
    np.testing.assert_allclose(result.d2min_A2, 0.0, atol=1e-12)


def test_cumulative_strain_of_a_flipped_rescaled_box(crystal):
    shear_strain, scale = 1.6, 1.02
    current = deformed(crystal, simple_shear(shear_strain, scale), flips=2)
    result = strain.local_strain(crystal, current, CUTOFF_A, xy_strain=shear_strain)
    np.testing.assert_allclose(result.von_mises, von_mises(simple_shear(shear_strain, scale)), rtol=1e-9)


@pytest.mark.parametrize("scale", [0.98, 0.99, 1.01, 1.02])
def test_continuous_cell_counts_flips_of_isotropically_rescaled_cells(crystal, scale):
    """Rescaling moves the tilt by (s − 1)·tilt, a small fraction of l_x for the tilts of a
    window (or of a few units of cumulative strain), so the rounded flip count is unchanged."""
    cell = crystal.cell.array
    for shear_strain in (0.05, 0.45, 0.55, 1.6, -0.9):
        continuous = scale * (cell @ simple_shear(shear_strain).T)
        for flips in (-2, -1, 0, 1, 2):
            flipped = continuous.copy()
            flipped[1] -= flips * flipped[0]
            np.testing.assert_allclose(continuous_shear_cell(cell, flipped, shear_strain), continuous, atol=1e-12)


def test_local_strain_refuses_mismatched_atoms_and_a_cutoff_without_neighbours(crystal):
    with pytest.raises(ValueError, match="same atoms"):
        strain.local_strain(crystal, crystal[:-1], CUTOFF_A)
    with pytest.raises(ValueError, match="too few neighbours"):
        strain.local_strain(crystal, crystal.copy(), cutoff_A=1.0)


# --------------------------------------------------------------------------------------------
# Localisation


def test_participation_ratio_limits():
    n = 500
    assert strain.participation_ratio(np.full(n, 0.3)) == pytest.approx(1.0)
    single = np.zeros(n)
    single[7] = 0.8
    assert strain.participation_ratio(single) == pytest.approx(1 / n)
    some = np.zeros(n)
    some[:50] = -0.2  # the sign does not matter
    assert strain.participation_ratio(some) == pytest.approx(50 / n)
    assert np.isnan(strain.participation_ratio(np.zeros(n)))


def test_two_planted_hot_regions_give_two_clusters_of_their_sizes():
    atoms = bulk("Cu", "fcc", a=CU_LATTICE_A, cubic=True).repeat(6)
    threshold = 0.2
    values = np.random.default_rng(0).uniform(0.0, threshold / 2, len(atoms))
    distances = atoms.get_all_distances(mic=True)
    centre = int(np.argmin(np.linalg.norm(atoms.positions - atoms.cell.array.sum(axis=0) / 2, axis=1)))
    corner = 0  # at the origin: its region straddles the periodic boundaries
    first_region = distances[centre] < CUTOFF_A                 # the atom and its 12 neighbours
    second_region = distances[corner] < CU_LATTICE_A + 0.1      # and its 6 second neighbours
    assert first_region.sum() == 13 and second_region.sum() == 19
    assert distances[np.ix_(first_region, second_region)].min() > 2 * CUTOFF_A
    values[first_region | second_region] = 0.5
    clusters = strain.hot_atom_clusters(atoms, values, threshold, CUTOFF_A)
    assert clusters.fraction == pytest.approx(32 / len(atoms))
    assert clusters.sizes.tolist() == [19, 13]
    none = strain.hot_atom_clusters(atoms, np.zeros(len(atoms)), threshold, CUTOFF_A)
    assert none.fraction == 0.0 and none.sizes.size == 0


@pytest.mark.parametrize("shear_strain, flips", [(0.0, 0), (0.7, 1)])
def test_slab_profile_finds_the_planted_slab(shear_strain, flips):
    n_slabs, planted = 4, 2
    reference = bulk("Cu", "fcc", a=CU_LATTICE_A, cubic=True).repeat(4)
    reference.positions[:, 1] += CU_LATTICE_A / 4  # keep atomic planes off the slab boundaries
    reference.wrap()
    height_A = reference.cell[1, 1]
    values = np.where((reference.positions[:, 1] // (height_A / n_slabs)) == planted, 0.6, 0.0)
    # Simple shear keeps every y, so the planted slab stays put in the tilted (flipped) cell.
    atoms = deformed(reference, simple_shear(shear_strain), flips)
    atoms.positions[::3] += atoms.cell[1] - atoms.cell[2]  # unwrapped atoms land in the same slab
    profile = strain.slab_profile(atoms, values, n_slabs)
    np.testing.assert_allclose(profile.centres, [0.125, 0.375, 0.625, 0.875])
    np.testing.assert_allclose(profile.means, [0.0, 0.0, 0.6, 0.0])
    assert profile.counts.tolist() == [len(atoms) // n_slabs] * n_slabs
    assert profile.localisation == pytest.approx(n_slabs)


def test_slab_profile_along_the_flow_follows_material_planes_of_the_tilted_cell():
    # Slabs along a (normal to the flow) are planes of the material: a sheared cell that has not
    # flipped keeps every atom's fractional coordinate along a.
    n_slabs, planted = 4, 1
    reference = bulk("Cu", "fcc", a=CU_LATTICE_A, cubic=True).repeat(4)
    reference.positions[:, 0] += CU_LATTICE_A / 4
    reference.wrap()
    width_A = reference.cell[0, 0]
    values = np.where((reference.positions[:, 0] // (width_A / n_slabs)) == planted, 0.6, 0.0)
    atoms = deformed(reference, simple_shear(0.3), 0)
    along_flow = strain.slab_profile(atoms, values, n_slabs, cell_axis=0)
    np.testing.assert_allclose(along_flow.means, [0.0, 0.6, 0.0, 0.0])
    assert along_flow.localisation == pytest.approx(n_slabs)
    assert strain.slab_profile(atoms, values, n_slabs, cell_axis=1).localisation == pytest.approx(1.0)
    with pytest.raises(ValueError, match="cell_axis"):
        strain.slab_profile(atoms, values, n_slabs, cell_axis=3)


# --------------------------------------------------------------------------------------------
# Neighbour cutoff


def test_first_minimum_of_rdf_of_fcc_copper_lies_between_the_first_two_shells():
    structures = []
    for seed in (1, 2):
        atoms = bulk("Cu", "fcc", a=CU_LATTICE_A, cubic=True).repeat(4)
        atoms.rattle(0.05, seed=seed)
        structures.append(atoms)
    rdf = strain.first_minimum_of_rdf(structures, r_max_A=6.0, n_bins=300, smoothing_bins=5)
    assert CU_LATTICE_A / np.sqrt(2) < rdf.first_minimum_A < CU_LATTICE_A
    # g is normalised: integrating 4πr²ρ g up to the minimum counts the 12 nearest neighbours.
    density = len(structures[0]) / structures[0].cell.volume
    first_shell = rdf.r_A < rdf.first_minimum_A
    dr = rdf.r_A[1] - rdf.r_A[0]
    coordination = np.sum(4 * np.pi * rdf.r_A[first_shell] ** 2 * density * rdf.g[first_shell]) * dr
    assert coordination == pytest.approx(12, rel=0.01)


def test_first_minimum_of_rdf_refuses_a_range_beyond_half_the_cell():
    atoms = bulk("Cu", "fcc", a=CU_LATTICE_A, cubic=True).repeat(4)  # 14.46 Å wide
    with pytest.raises(ValueError, match="lower r_max_A"):
        strain.first_minimum_of_rdf([atoms], r_max_A=7.5, n_bins=100, smoothing_bins=3)
