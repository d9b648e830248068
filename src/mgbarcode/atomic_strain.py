"""Per-atom strain of sheared inherent structures and how localised it is.

Local strain.  For each atom, the deformation gradient F that best maps its reference
neighbour vectors (neighbours within a cutoff in the reference) onto the current ones, by
least squares; from it the von Mises shear invariant η of the Green–Lagrangian strain
E = (FᵀF − I)/2 (Shimizu, Ogata & Li, Mater. Trans. 48, 2923 (2007)) and the residual of the
fit, D²min = Σ_j |d_j − F d⁰_j|² over those neighbours (Falk & Langer, PRE 57, 7192 (1998)),
both from OVITO's ``AtomicStrainModifier`` in one pass.  *Cumulative* strain takes the
pre-shear IS as reference; *incremental* strain the IS at the start of the steady-state
window, so that it measures only the deformation within the window.

Localisation.  The participation ratio of the per-atom values; the fraction of atoms above a
threshold (Shimizu et al. take η > 0.2 as locally sheared) with the sizes of their connected
clusters; and the mean value in slabs along the gradient direction y of the simple shear
x += γ·y, or along the flow direction x (a shear band shows as one slab far above the mean:
under simple shear a band forms on either plane of maximum shear stress, normal y or normal x).

Neighbour cutoff.  The first minimum of the total g(r) after its first peak, measured on the
structures themselves (:func:`first_minimum_of_rdf`).

Each sheared IS carries its cumulative and per-interval strains, as per-atom arrays and as
statistics in its catalogue row (:func:`annotate_strains`).

Units: Å (D²min in Å²); strains are dimensionless.
"""

from typing import NamedTuple

import numpy as np


class LocalStrain(NamedTuple):
    von_mises: np.ndarray   # [N] η, OVITO's "Shear Strain"
    d2min_A2: np.ndarray    # [N] D²min (Å²), OVITO's "Nonaffine Squared Displacement"


class HotClusters(NamedTuple):
    fraction: float         # fraction of all atoms above the threshold
    sizes: np.ndarray       # [n_clusters] atoms per connected cluster, largest first


class SlabProfile(NamedTuple):
    centres: np.ndarray     # [n_slabs] slab centres as fractions of the cell vector cut
    means: np.ndarray       # [n_slabs] mean value of the slab's atoms (NaN for an empty slab)
    counts: np.ndarray      # [n_slabs] atoms per slab
    localisation: float     # max slab mean / mean over all atoms


class RadialDistribution(NamedTuple):
    first_minimum_A: float  # r of the first minimum after the first peak of the smoothed g
    r_A: np.ndarray         # [n_bins] bin centres
    g: np.ndarray           # [n_bins] total g(r)
    g_smoothed: np.ndarray  # [n_bins] its moving average, in which the minimum is located


# Cumulative (against the pre-shear IS) and per-interval (against the previous sheared IS)
# strain statistics of a sheared IS (:func:`annotate_strains`), and its per-atom arrays.
CUMULATIVE_STRAIN_COLUMNS = ("von_mises_strain_std", "von_mises_strain_mean", "von_mises_strain_percentile")
INTERVAL_STRAIN_COLUMNS = ("interval_von_mises_std", "interval_von_mises_mean", "interval_d2min_mean_A2",
                           "interval_participation_ratio", "interval_hot_fraction", "interval_largest_hot_cluster",
                           "interval_slab_localisation")
STRAIN_STATISTIC_COLUMNS = CUMULATIVE_STRAIN_COLUMNS + INTERVAL_STRAIN_COLUMNS + ("strain_cutoff_A",)
STRAIN_ARRAY = "von_mises_strain"  # per-atom array name on sheared IS (and in their extended XYZ)
INTERVAL_STRAIN_ARRAY = "interval_von_mises_strain"


# --------------------------------------------------------------------------------------------
# Per-atom strain


def continuous_shear_cell(reference_cell, current_cell, xy_strain):
    """The basis of ``current_cell``'s lattice that continues the reference cell under simple
    shear ``xy_strain`` (x += γ·y), undoing LAMMPS' box flips.

    Cells are rows (LAMMPS' lower-triangular convention: a = (l_x,0,0), b = (xy,l_y,0)).  A
    flipped box has b − n·a in place of b: the same lattice, another basis.  The returned cell
    has the b vector b + n·a whose tilt is nearest xy_ref + γ·l_y, with n a whole number, so
    the answer is exact as long as the known strain is right to within l_x / (2 l_y).
    """
    reference_cell = np.asarray(reference_cell, dtype=float)
    cell = np.array(current_cell, dtype=float)
    a, b = cell[0], cell[1]
    expected_tilt = reference_cell[1, 0] + xy_strain * reference_cell[1, 1]
    n = np.round((expected_tilt - b[0]) / a[0])
    cell[1] = b + n * a
    return cell


def _unwrapped_current_positions(reference_atoms, current_atoms, current_cell):
    """Current positions continued from the reference ones: affine part of the cell change
    plus the non-affine displacement taken by the minimum image in the reference cell.

    OVITO's minimum image applied to raw displacements fails once the affine displacement
    γ·y reaches half the box; subtracting the affine part first leaves only the non-affine
    displacement (≪ box) to be imaged.
    """
    reference_cell = reference_atoms.cell.array
    fractional = np.linalg.solve(current_cell.T, current_atoms.positions.T).T  # r = s · h
    fractional_reference = np.linalg.solve(reference_cell.T, reference_atoms.positions.T).T
    nonaffine = fractional - fractional_reference
    nonaffine -= np.round(nonaffine)
    return (fractional_reference + nonaffine) @ current_cell


def local_strain(reference_atoms, current_atoms, cutoff_A, xy_strain=None):
    """Per-atom von Mises strain η and D²min of ``current_atoms`` against ``reference_atoms``
    (ASE ``Atoms``, same atoms in the same order, periodic cells as rows).

    η: Shimizu, Ogata & Li (2007); D²min: Falk & Langer (1998), the *sum* over the reference
    neighbours within ``cutoff_A`` (Å) of the squared residual of the least-squares local
    deformation gradient (Å²).  ``xy_strain``: the shear strain (x += γ·y) applied to the box
    since the reference, which selects the continuous cell when the current one is a flipped
    basis (:func:`continuous_shear_cell`); without it the current cell
    is taken as the continuous one.  Includes the affine (cell) part: a homogeneous simple
    shear γ gives η = sqrt(γ²/4 + γ⁴/12) and D²min = 0 on every atom.

    Raises ``ValueError`` if an atom has too few neighbours within the cutoff.
    """
    from ovito.io.ase import ase_to_ovito
    from ovito.modifiers import AtomicStrainModifier
    from ovito.pipeline import ReferenceConfigurationModifier, StaticSource

    if len(reference_atoms) != len(current_atoms) or \
            reference_atoms.get_chemical_symbols() != current_atoms.get_chemical_symbols():
        raise ValueError("reference and current configurations must hold the same atoms in the same order")
    current_cell = current_atoms.cell.array if xy_strain is None else \
        continuous_shear_cell(reference_atoms.cell.array, current_atoms.cell.array, xy_strain)
    current = current_atoms.copy()
    current.calc = None
    current.set_cell(current_cell, scale_atoms=False)
    current.positions = _unwrapped_current_positions(reference_atoms, current_atoms, current_cell)
    reference = reference_atoms.copy()
    reference.calc = None
    data = ase_to_ovito(current)
    # Positions are already continuous displacements from the reference: no imaging, no
    # affine re-mapping (either mapping would remove the cell's shear from the strain).
    data.apply(AtomicStrainModifier(
        cutoff=cutoff_A, reference=StaticSource(data=ase_to_ovito(reference)),
        affine_mapping=ReferenceConfigurationModifier.AffineMapping.Off,
        minimum_image_convention=False, select_invalid_particles=True,
        output_nonaffine_squared_displacements=True))
    invalid = int(data.attributes["AtomicStrain.invalid_particle_count"])
    if invalid:
        raise ValueError(f"{invalid} atoms have too few neighbours within {cutoff_A} Å for a local "
                         "deformation gradient; check the cutoff (heterogeneity.pair_distribution: the first minimum of g(r))")
    return LocalStrain(np.asarray(data.particles["Shear Strain"], dtype=np.float64).copy(),
                       np.asarray(data.particles["Nonaffine Squared Displacement"], dtype=np.float64).copy())


def incremental_strain(window_start_atoms, current_atoms, cutoff_A, xy_strain_increment):
    """:func:`local_strain` within a window: the reference is the IS at the window's start and
    ``xy_strain_increment`` the box shear strain applied since then (γ_current − γ_start).

    The increment, not the total strain, is what selects the continuous cell: the expected
    tilt is the window-start tilt plus the increment times its l_y.  IS relaxed to a pressure
    by isotropic rescaling (``md.minimize.cell: relaxed``) also differ by a factor s ≈ 1; the
    continuous basis is still found while |s − 1|·|tilt| stays far below l_x / 2.
    """
    return local_strain(window_start_atoms, current_atoms, cutoff_A, xy_strain=xy_strain_increment)


# --------------------------------------------------------------------------------------------
# Localisation


def participation_ratio(values):
    """(Σ v_i²)² / (N Σ v_i⁴) of per-atom values (e.g. η or D²min): 1 when all atoms carry the
    same magnitude, ≈ n/N when n atoms carry it and the rest nothing, 1/N for a single atom.
    NaN when every value is zero (no strain to localise)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("no values given")
    squares = values ** 2
    fourth = (squares ** 2).sum()
    return float(squares.sum() ** 2 / (values.size * fourth)) if fourth > 0 else np.nan


def hot_atom_clusters(atoms, values, threshold, cutoff_A):
    """The atoms whose value exceeds ``threshold`` (e.g. η > 0.2): their fraction of all atoms
    and the sizes of their connected clusters, largest first.  Two hot atoms are connected
    when within ``cutoff_A`` (Å) of each other under the periodic boundaries of ``atoms``."""
    from ase.neighborlist import neighbor_list
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(atoms),):
        raise ValueError(f"need one value per atom ({len(atoms)}), got shape {values.shape}")
    hot = values > threshold
    n_hot = int(hot.sum())
    if n_hot == 0:
        return HotClusters(0.0, np.zeros(0, dtype=np.int64))
    i, j = neighbor_list("ij", atoms[hot], float(cutoff_A))  # a float: one global pair cutoff
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n_hot, n_hot))
    _, labels = connected_components(graph, directed=False)
    return HotClusters(n_hot / len(atoms), np.sort(np.bincount(labels))[::-1])


def slab_profile(atoms, values, n_slabs, cell_axis=1):
    """Mean of per-atom ``values`` in ``n_slabs`` equal slabs along one cell vector.

    Slabs are cut along the fractional coordinate of cell vector ``cell_axis`` (1: b, the
    gradient direction, slabs parallel to the shear (xz) planes; 0: a, slabs spanned by b and
    c, the planes normal to the flow that the box tilt carries along with the material), so a
    tilted (sheared or flipped) LAMMPS cell works.  ``localisation`` = max slab mean / mean
    over all atoms: 1 for a uniform profile, up to ``n_slabs`` when everything is in one slab
    (a shear band).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(atoms),):
        raise ValueError(f"need one value per atom ({len(atoms)}), got shape {values.shape}")
    if cell_axis not in (0, 1, 2):
        raise ValueError(f"cell_axis must be 0, 1 or 2, got {cell_axis}")
    fractional = atoms.cell.scaled_positions(atoms.positions)[:, cell_axis] % 1.0  # wraps unwrapped atoms
    slab = np.minimum((fractional * n_slabs).astype(np.int64), n_slabs - 1)  # (−ε) % 1.0 is 1.0
    counts = np.bincount(slab, minlength=n_slabs)
    sums = np.bincount(slab, weights=values, minlength=n_slabs)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
        localisation = float(np.nanmax(means) / values.mean())
    return SlabProfile((np.arange(n_slabs) + 0.5) / n_slabs, means, counts, localisation)


# --------------------------------------------------------------------------------------------
# Neighbour cutoff


def first_minimum_of_rdf(structures, r_max_A, n_bins, smoothing_bins):
    """The total g(r) pooled over periodic ``structures`` (ASE ``Atoms``) on ``n_bins`` bins up
    to ``r_max_A`` (Å), and the r of its first minimum after the first peak (taken as the
    global maximum, as in dense liquids, glasses and close-packed crystals).

    g(r) = Σ pairs in the shell / Σ_structures (N ρ 4πr² dr), pairs counted both ways.  The
    minimum is located in the ``smoothing_bins``-wide moving average of g: its lowest value
    between the peak and ``r_max_A`` (so ``r_max_A`` must lie before the second shell's
    minimum), or the centre of a flat run of that value (the empty gap between crystal shells).  ``r_max_A`` must be below half the smallest
    perpendicular cell width, beyond which an atom would count its own periodic images.
    """
    from ase.neighborlist import neighbor_list

    edges = np.linspace(0.0, r_max_A, n_bins + 1)
    counts = np.zeros(n_bins)
    normalisation = 0.0  # Σ N ρ over structures
    for atoms in structures:
        if not atoms.pbc.all():
            raise ValueError("g(r) needs periodic structures")
        volume = atoms.cell.volume
        widths = volume / np.linalg.norm(np.cross(atoms.cell[[1, 2, 0]], atoms.cell[[2, 0, 1]]), axis=1)
        if r_max_A >= widths.min() / 2:
            raise ValueError(f"r_max_A = {r_max_A} Å reaches half the smallest cell width ({widths.min():.3f} Å): "
                             "lower r_max_A below it or pass larger cells")
        counts += np.histogram(neighbor_list("d", atoms, float(r_max_A)), bins=edges)[0]
        normalisation += len(atoms) ** 2 / volume
    if normalisation == 0:
        raise ValueError("no structures given")
    r = (edges[:-1] + edges[1:]) / 2
    g = counts / (normalisation * 4 / 3 * np.pi * np.diff(edges ** 3))
    kernel = np.ones(smoothing_bins) / smoothing_bins
    padded = np.pad(g, (smoothing_bins // 2, smoothing_bins - 1 - smoothing_bins // 2), mode="edge")
    smoothed = np.convolve(padded, kernel, mode="valid")
    peak = int(np.argmax(smoothed))
    after = smoothed[peak:]
    if not np.any(np.diff(after) > 0):
        raise ValueError(f"g(r) does not rise again after its first peak below r_max_A = {r_max_A} Å; raise r_max_A")
    # The deepest point between the first peak and r_max: the sub-peaks of an alloy's first
    # shell (Cu-Cu, Cu-Zr, Zr-Zr) leave shallow local minima inside it.
    low = np.flatnonzero(after == after.min())
    start = end = peak + int(low[0])
    while end + 1 < len(smoothed) and smoothed[end + 1] == smoothed[start]:
        end += 1
    return RadialDistribution(float((r[start] + r[end]) / 2), r, g, smoothed)


# --------------------------------------------------------------------------------------------
# Strains of sheared IS, as the catalogue carries them


def von_mises_strain(reference_atoms, current_atoms, cutoff_A, xy_strain=None):
    """Per-atom von Mises strain η of ``current_atoms`` against ``reference_atoms``: the
    ``von_mises`` part of :func:`local_strain` (same arguments)."""
    return local_strain(reference_atoms, current_atoms, cutoff_A, xy_strain).von_mises


def heterogeneity_statistic(strains, percentile=95.0):
    """The strain heterogeneity of one sample: the standard deviation (ddof = 0) of its
    per-atom von Mises strains, with their mean and ``percentile``-th percentile for context.

    Returns ``{von_mises_strain_std, von_mises_strain_mean, von_mises_strain_percentile}``.
    """
    strains = np.asarray(strains, dtype=np.float64)
    if strains.size == 0:
        raise ValueError("no strains given")
    return dict(zip(CUMULATIVE_STRAIN_COLUMNS, (float(strains.std()), float(strains.mean()),
                                               float(np.percentile(strains, percentile)))))


def interval_statistics(previous_atoms, current_atoms, strain_increment, cutoff_A, hot_threshold, n_slabs):
    """Strain of one snapshot interval (``current_atoms`` against ``previous_atoms``, the IS one
    ``strain_increment`` of box shear earlier) and how localised it is: the std and mean of η,
    the mean D²min (Å²), the participation ratio of η, the fraction of atoms with η above
    ``hot_threshold`` and the size of their largest connected cluster (neighbours within
    ``cutoff_A``), and the slab localisation of η along the gradient direction.  Returns a dict
    keyed by :data:`INTERVAL_STRAIN_COLUMNS` and the per-atom η."""
    interval = incremental_strain(previous_atoms, current_atoms, cutoff_A, strain_increment)
    eta = interval.von_mises
    hot = hot_atom_clusters(current_atoms, eta, hot_threshold, cutoff_A)
    largest_cluster = int(hot.sizes[0]) if len(hot.sizes) else 0
    values = (float(eta.std()), float(eta.mean()), float(interval.d2min_A2.mean()), participation_ratio(eta),
              hot.fraction, largest_cluster, slab_profile(current_atoms, eta, n_slabs).localisation)
    return dict(zip(INTERVAL_STRAIN_COLUMNS, values)), eta


def annotate_strains(reference_atoms, structures, pair_distribution, percentile, hot_threshold, n_slabs):
    """Give each sheared IS (``InherentStructure`` with ``meta['strain']``, in strain order) its
    strains.  The neighbour cutoff is the first minimum of the reference IS's g(r)
    (:func:`first_minimum_of_rdf` with ``pair_distribution``: the ``heterogeneity.pair_distribution``
    config).  Cumulative: η against ``reference_atoms`` (the
    pre-shear IS; array ``von_mises_strain``, :func:`heterogeneity_statistic`).  Per interval:
    :func:`interval_statistics` against the previous sheared IS (array
    ``interval_von_mises_strain``); the first IS of the window has no previous one (NaN).
    Returns the cutoff (Å)."""
    cutoff_A = first_minimum_of_rdf([reference_atoms], **pair_distribution).first_minimum_A
    previous = None
    for structure in structures:
        strains = von_mises_strain(reference_atoms, structure.atoms, cutoff_A, xy_strain=structure.meta["strain"])
        structure.atoms.set_array(STRAIN_ARRAY, strains)
        structure.meta.update(heterogeneity_statistic(strains, percentile), strain_cutoff_A=cutoff_A)
        if previous is None:
            structure.meta.update(dict.fromkeys(INTERVAL_STRAIN_COLUMNS, np.nan))
        else:
            statistics, eta = interval_statistics(previous.atoms, structure.atoms,
                                                  structure.meta["strain"] - previous.meta["strain"],
                                                  cutoff_A, hot_threshold, n_slabs)
            structure.atoms.set_array(INTERVAL_STRAIN_ARRAY, eta)
            structure.meta.update(statistics)
        previous = structure
    return cutoff_A
