"""Strain heterogeneity of mechanical samples and its trace in the barcodes (METHOD §1, §4).

Strain.  The per-atom von Mises (local shear invariant) strain η of Shimizu, Ogata & Li
(Mater. Trans. 48, 2923 (2007)), computed by OVITO's ``AtomicStrainModifier`` (its ``Shear
Strain`` output: for the Green–Lagrangian strain E, η = sqrt(E_xy² + E_xz² + E_yz² +
((E_xx−E_yy)² + (E_xx−E_zz)² + (E_yy−E_zz)²)/6)) with first-shell neighbours
(:mod:`mgbarcode.atomic_strain`, which gives each sheared IS its strains): cumulative, against
the pre-shear inherent structure, and per snapshot interval, against the previous sheared IS,
with D²min and localisation measures.
A sample's strain heterogeneity (:data:`PRIMARY_STRAIN_STATISTIC`) is the standard deviation
over its atoms of the per-interval η: each interval has the same applied strain, and neither
the yield transient nor the accumulated history enters it.

Barcode contrast.  Each mechanical sample's reference is the mean barcode of the thermal
samples within a tolerance of its IS energy per atom (their number is reported; the nearest
one is named); δs = s̄_thermal − s_mech.  A single thermal sample as reference would add its
own counting noise (a barcode entry of an N-atom sample counts a few atoms) to every contrast.
Per pair: the standard deviation of δs over the group-1 (Kasper-like) entries and over the
group-2 entries, the ratios Σ_group s̄_thermal / Σ_group s_mech, and the same spreads among
thermal samples at that energy (each thermal sample of the window against the mean of the
other thermal samples within the tolerance of *its* energy, as a mechanical sample is
treated): the mechanical spread in *excess* of that thermal-against-thermal spread is what
shear adds.  Per
condition (shear temperature): means, standard errors blocked by shear run (the snapshots of
one run are correlated: each run's mean counts once), and the condition's mean strain
heterogeneity.

Standard deviations over atoms or barcode entries are population ones (ddof = 0); standard
errors use the sample standard deviation (ddof = 1) / sqrt(n) over runs.
Units: Å, eV/atom; strains and barcode entries are dimensionless.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import provenance
from .atomic_strain import STRAIN_ARRAY, STRAIN_STATISTIC_COLUMNS, incremental_strain, participation_ratio, slab_profile
from .barcode import barcode_column_names
from .histories import condition_label
from .io import read_structure, write_json, write_parquet
from .results_layout import MECH_SPLIT

log = logging.getLogger(__name__)


# The strain heterogeneity compared across conditions: one of the per-interval strain
# statistics of a sheared IS (mgbarcode.atomic_strain.INTERVAL_STRAIN_COLUMNS).
PRIMARY_STRAIN_STATISTIC = "interval_von_mises_std"
# Per shear run: the strain accumulated over the whole steady-state window (first to last
# sheared IS) and where it sits; a band that forms within the window shows here at full weight.
WINDOW_STRAIN_COLUMNS = ("window_strain", "window_von_mises_mean", "window_von_mises_std",
                         "window_participation_ratio", "window_slab_localisation_y", "window_slab_localisation_x",
                         "window_slab_localisation")


# --------------------------------------------------------------------------------------------
# Strain over a shear run's steady-state window


def window_strain(window_start_atoms, window_end_atoms, strain_increment, cutoff_A, n_slabs):
    """Strain of a whole steady-state window (``window_end_atoms`` against
    ``window_start_atoms``, ``strain_increment`` of box shear apart): the mean, std and
    participation ratio of η, and its slab profiles along the gradient (y, slabs parallel to the
    flow) and along the flow (x; slabs of the window-start cell, material planes while the box
    has not flipped).  ``window_slab_localisation`` is the larger of the two: a band may form on
    either plane of maximum shear stress.  Returns a dict keyed by
    :data:`WINDOW_STRAIN_COLUMNS` and the profile (slab means / mean η) along that direction,
    rolled so that its largest slab sits at index ``n_slabs // 2``."""
    eta = incremental_strain(window_start_atoms, window_end_atoms, cutoff_A, strain_increment).von_mises
    along_y, along_x = (slab_profile(window_start_atoms, eta, n_slabs, cell_axis=axis) for axis in (1, 0))
    banded = along_y if along_y.localisation >= along_x.localisation else along_x
    profile = banded.means / eta.mean()
    profile = np.roll(profile, n_slabs // 2 - int(np.nanargmax(profile)))
    values = (float(strain_increment), float(eta.mean()), float(eta.std()), participation_ratio(eta),
              along_y.localisation, along_x.localisation, banded.localisation)
    return dict(zip(WINDOW_STRAIN_COLUMNS, values)), profile


def window_strains(mech, read_structure, n_slabs):
    """:func:`window_strain` of every shear run in ``mech`` (catalogue rows of sheared IS:
    ``trajectory_id``, ``shear_T_K``, ``strain``, ``strain_cutoff_A`` and ``structure``, a
    path that ``read_structure`` reads to ASE ``Atoms``), from its first to its last sheared IS.
    Returns one row per run with the columns of :data:`WINDOW_STRAIN_COLUMNS` and
    ``window_slab_profile`` (the rolled profile)."""
    rows = []
    for run, samples in mech.sort_values("strain").groupby("trajectory_id", sort=True):
        first, last = samples.iloc[0], samples.iloc[-1]
        statistics, profile = window_strain(read_structure(first["structure"]), read_structure(last["structure"]),
                                            last["strain"] - first["strain"], first["strain_cutoff_A"], n_slabs)
        rows.append({"trajectory_id": run, "shear_T_K": first["shear_T_K"], **statistics,
                     "window_slab_profile": profile})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Thermal references and barcode contrast


def match_thermal_references(mech_energies_eV_per_atom, thermal_energies_eV_per_atom, tolerance):
    """For each mechanical sample, the thermal sample nearest in IS energy per atom.

    Returns ``(indices, distances)``: ``indices[i]`` is the position of the nearest thermal
    energy (ties: the lowest position), or −1 when that distance exceeds ``tolerance``
    (eV/atom; a distance equal to it matches); ``distances[i]`` = |E_mech − E_thermal| of the
    nearest one, matched or not (inf when there is no thermal sample).  A thermal sample may
    be the reference of several mechanical samples.
    """
    mech = np.asarray(mech_energies_eV_per_atom, dtype=np.float64).ravel()
    thermal = np.asarray(thermal_energies_eV_per_atom, dtype=np.float64).ravel()
    if not (np.isfinite(mech).all() and np.isfinite(thermal).all()):
        raise ValueError("energies must be finite")
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0")
    if thermal.size == 0:
        return np.full(mech.size, -1, dtype=np.int64), np.full(mech.size, np.inf)
    order = np.argsort(thermal, kind="stable")  # equal energies keep their original order
    ordered = thermal[order]
    above = np.searchsorted(ordered, mech, side="left")  # first sorted energy >= E_mech
    candidates = np.stack([np.maximum(above - 1, 0), np.minimum(above, ordered.size - 1)], axis=1)
    gaps = np.abs(ordered[candidates] - mech[:, None])
    # The first of a run of equal energies in the stable sort has the lowest position.
    positions = order[np.searchsorted(ordered, ordered[candidates], side="left")]
    take_above = (gaps[:, 1] < gaps[:, 0]) | ((gaps[:, 1] == gaps[:, 0]) & (positions[:, 1] < positions[:, 0]))
    nearest = np.where(take_above, positions[:, 1], positions[:, 0])
    distances = np.where(take_above, gaps[:, 1], gaps[:, 0])
    return np.where(distances <= tolerance, nearest, -1).astype(np.int64), distances


def _group_masks(groups, k):
    groups = np.asarray(groups)
    if groups.shape != (k,) or not np.isin(groups, (1, 2)).all():
        raise ValueError(f"groups must hold 1 or 2 for each of the {k} barcode entries")
    return groups == 1, groups == 2


def barcode_contrast(s_thermal, s_mech, groups):
    """Barcode contrast of paired samples (row i of each array is pair i; [n_pairs, K]).

    ``groups`` [K]: 1 (Kasper-like kernel) or 2 for each barcode entry.  Returns ``(delta,
    table)``: ``delta`` = s_thermal − s_mech [n_pairs, K], and per pair ``std_delta_group1``,
    ``std_delta_group2`` (population std of δs over the group's entries) and
    ``ratio_sum_group1``, ``ratio_sum_group2`` (Σ s_thermal / Σ s_mech over the group; NaN
    when both sums are 0, inf when only the mechanical one is).
    """
    s_thermal = np.atleast_2d(np.asarray(s_thermal, dtype=np.float64))
    s_mech = np.atleast_2d(np.asarray(s_mech, dtype=np.float64))
    if s_thermal.shape != s_mech.shape:
        raise ValueError(f"paired barcodes differ in shape: {s_thermal.shape} vs {s_mech.shape}")
    group1, group2 = _group_masks(groups, s_thermal.shape[1])
    delta = s_thermal - s_mech
    table = {}
    for name, mask in (("group1", group1), ("group2", group2)):
        table[f"std_delta_{name}"] = delta[:, mask].std(axis=1) if mask.any() else np.full(len(delta), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            table[f"ratio_sum_{name}"] = s_thermal[:, mask].sum(axis=1) / s_mech[:, mask].sum(axis=1)
    return delta, pd.DataFrame(table)


def thermal_self_spreads(thermal_barcodes, thermal_energies_eV_per_atom, groups, tolerance):
    """Each thermal sample against its own reference, as a mechanical sample is: the mean
    barcode of the *other* thermal samples within ``tolerance`` of its energy.  Returns
    ``(group1, group2)`` arrays [n_thermal] of the std of that δs over each group's entries;
    NaN where no other thermal sample lies within the tolerance."""
    barcodes = np.atleast_2d(np.asarray(thermal_barcodes, dtype=np.float64))
    energies = np.asarray(thermal_energies_eV_per_atom, dtype=np.float64)
    group1, group2 = _group_masks(groups, barcodes.shape[1])
    spreads = np.full((2, len(barcodes)), np.nan)
    for i, energy in enumerate(energies):
        others = np.flatnonzero(np.abs(energies - energy) <= tolerance)
        others = others[others != i]
        if len(others):
            delta = barcodes[others].mean(axis=0) - barcodes[i]
            spreads[:, i] = [delta[mask].std() if mask.any() else np.nan for mask in (group1, group2)]
    return spreads[0], spreads[1]


def reference_pool(thermal, n_atoms=None):
    """The thermal samples that may be the reference of a sample of ``n_atoms`` atoms: those
    with a barcode (not flagged ``zero_barcode``, a sample with no atom at any top ULE) and,
    when ``n_atoms`` is given and ``thermal`` has that column, with its number of atoms.

    A barcode entry s of an N-atom sample carries a multinomial counting noise of about
    sqrt(s(1 - s)/N): thermal references of another size would add to δs, and to the
    thermal-against-thermal baseline, a spread that neither shear nor the glass's history made.
    """
    keep = ~_zero_flags(thermal)
    if n_atoms is not None and "n_atoms" in thermal:
        keep &= thermal["n_atoms"].to_numpy() == n_atoms
    return thermal[keep].reset_index(drop=True)


def reference_window(thermal_energies_eV_per_atom, energy_eV_per_atom, tolerance):
    """Mask of the thermal samples within ``tolerance`` (eV/atom, inclusive) of an energy: the
    samples whose mean barcode is the reference at that energy."""
    return np.abs(np.asarray(thermal_energies_eV_per_atom, dtype=np.float64) - energy_eV_per_atom) <= tolerance


def contrast_with_reference(barcode, energy_eV_per_atom, thermal_barcodes, thermal_energies_eV_per_atom, groups,
                            tolerance):
    """A barcode against its thermal reference at its energy: the mean barcode of the
    :func:`reference_window` of thermal samples (``thermal_barcodes`` [n, K], from the
    :func:`reference_pool`).  Returns ``(window, contrast)``: the window's mask and the one-row
    :func:`barcode_contrast` table."""
    window = reference_window(thermal_energies_eV_per_atom, energy_eV_per_atom, tolerance)
    _, contrast = barcode_contrast(thermal_barcodes[window].mean(axis=0), barcode, groups)
    return window, contrast


def pair_table(mech, thermal, barcode_columns, groups, tolerance, energy_column="energy_eV_per_atom",
               condition_column="shear_T_K"):
    """One row per mechanical sample, in ``mech``'s order: its thermal reference and the barcode
    contrast (:func:`_pairs_at_one_size`), the references taken from the :func:`reference_pool`
    of the sample's number of atoms when both tables have ``n_atoms``.
    """
    if "n_atoms" not in mech or "n_atoms" not in thermal:
        return _pairs_at_one_size(mech, reference_pool(thermal), barcode_columns, groups, tolerance, energy_column,
                                  condition_column)
    sizes = mech["n_atoms"].to_numpy()
    parts = []
    for n_atoms in pd.unique(sizes):
        rows = np.flatnonzero(sizes == n_atoms)
        part = _pairs_at_one_size(mech.iloc[rows], reference_pool(thermal, n_atoms), barcode_columns, groups,
                                  tolerance, energy_column, condition_column)
        parts.append(part.set_axis(rows))
    return pd.concat(parts).sort_index().reset_index(drop=True)


def _pairs_at_one_size(mech, pool, barcode_columns, groups, tolerance, energy_column="energy_eV_per_atom",
                       condition_column="shear_T_K"):
    """One row per mechanical sample: its thermal reference and the barcode contrast.

    ``mech``: ``sample_id``, ``condition_column``, ``energy_column``, its strain statistics
    (those of :data:`mgbarcode.atomic_strain.STRAIN_STATISTIC_COLUMNS` present are carried
    over) and the ``barcode_columns`` (optional ``trajectory_id``, the shear run, and ``n_top``,
    its atoms at top ULEs, are carried over); ``pool``: the :func:`reference_pool`, with
    ``sample_id``, ``energy_column`` and the same barcode columns.  The reference is the mean
    barcode of the pool's samples in the :func:`reference_window` (``n_reference`` of them;
    ``thermal_sample_id`` names the nearest).  Mechanical samples flagged ``zero_barcode`` stay
    unmatched.  Unmatched rows keep NaN contrasts.
    """
    barcode_columns = list(barcode_columns)
    zero_mech = _zero_flags(mech)
    indices, distances = match_thermal_references(mech[energy_column], pool[energy_column], tolerance)
    indices[zero_mech] = -1
    matched = indices >= 0
    mech_energy = mech[energy_column].to_numpy(dtype=np.float64)
    thermal_energy = pool[energy_column].to_numpy(dtype=np.float64)
    reference_ids = np.full(len(mech), None, dtype=object)
    reference_ids[matched] = pool["sample_id"].to_numpy()[indices[matched]]
    delta_energy = np.full(len(mech), np.nan)
    delta_energy[matched] = mech_energy[matched] - thermal_energy[indices[matched]]
    pairs = pd.DataFrame({
        "sample_id": mech["sample_id"].to_numpy(),
        condition_column: mech[condition_column].to_numpy(),
        "energy_eV_per_atom": mech_energy,
        **{column: mech[column].to_numpy() for column in STRAIN_STATISTIC_COLUMNS if column in mech},
        "zero_barcode": zero_mech,
        "matched": matched,
        "thermal_sample_id": reference_ids,
        "delta_energy_eV_per_atom": delta_energy,
        "nearest_distance_eV_per_atom": distances,
        "n_reference": np.zeros(len(mech), dtype=np.int64),
    })
    for optional in ("trajectory_id", "n_top"):
        if optional in mech:
            pairs.insert(1, optional, mech[optional].to_numpy())
    contrast_columns = ["std_delta_group1", "std_delta_group2", "ratio_sum_group1", "ratio_sum_group2",
                        "thermal_std_delta_group1", "thermal_std_delta_group2",
                        "excess_std_delta_group1", "excess_std_delta_group2"]
    for column in contrast_columns:
        pairs[column] = np.nan
    thermal_barcodes = pool[barcode_columns].to_numpy(dtype=np.float64)
    mech_barcodes = mech[barcode_columns].to_numpy(dtype=np.float64)
    self_spreads = thermal_self_spreads(thermal_barcodes, thermal_energy, groups, tolerance) if matched.any() else ()
    for row in np.flatnonzero(matched):
        in_window, contrast = contrast_with_reference(mech_barcodes[row], mech_energy[row], thermal_barcodes,
                                                      thermal_energy, groups, tolerance)
        pairs.loc[row, "n_reference"] = int(in_window.sum())
        for column in contrast_columns[:4]:
            pairs.loc[row, column] = contrast[column][0]
        for group, spreads in zip((1, 2), self_spreads):
            baseline = _finite_mean(spreads[in_window])
            pairs.loc[row, f"thermal_std_delta_group{group}"] = baseline
            pairs.loc[row, f"excess_std_delta_group{group}"] = contrast[f"std_delta_group{group}"][0] - baseline
    return pairs


def _zero_flags(table):
    if "zero_barcode" in table:
        return table["zero_barcode"].to_numpy(dtype=bool)
    return np.zeros(len(table), dtype=bool)


def _finite(values):
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def _sem(values):
    values = _finite(values)
    return float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else np.nan


def _blocked(rows, column):
    """Mean over pairs and standard error blocked by shear run (``trajectory_id``; each pair
    its own block when there is none): each run's mean counts once."""
    if not len(rows):
        return np.nan, np.nan
    blocks = rows.groupby("trajectory_id")[column].mean() if "trajectory_id" in rows else rows[column]
    return _finite_mean(rows[column]), _sem(blocks)


def _finite_mean(values):
    values = _finite(values)
    return float(values.mean()) if values.size else np.nan


def condition_summary(pairs, condition_column="shear_T_K", windows=None):
    """One row per condition from :func:`pair_table`: ``n_mech``, ``n_matched``, median and
    max |ΔE| of matched pairs (eV/atom), mean and standard error of std(δs) for each group,
    mean Σ ratios, the mean thermal-against-thermal spreads and the excess spreads, and the
    condition's strain heterogeneity: the mean of :data:`PRIMARY_STRAIN_STATISTIC` over all its
    mechanical samples, matched or not (with its standard error), beside the cumulative
    ``von_mises_strain_std``.  Standard errors are blocked by shear run (``n_runs``).

    A pair whose mechanical Σ over a group is 0 (no atom at that group's ULEs) has no finite
    ratio: the mean ratio is over the other pairs, and ``ratio_sum_group{1,2}_n_undefined``
    counts such pairs, so one empty group does not turn the mean into inf.

    With ``windows`` (:func:`window_strains`), also the mean and standard error over runs of
    the window η std, participation ratio and slab localisation (``window_*_mean``/``_sem``)."""
    rows = []
    for condition, rows_of in pairs.groupby(condition_column, sort=True):
        matched = rows_of[rows_of["matched"]]
        gaps = matched["delta_energy_eV_per_atom"].abs()
        spreads = {}
        for column in ("std_delta_group1", "std_delta_group2", "excess_std_delta_group1", "excess_std_delta_group2"):
            spreads[f"{column}_mean"], spreads[f"{column}_sem"] = _blocked(matched, column)
        for column in ("thermal_std_delta_group1", "thermal_std_delta_group2", "n_reference"):
            spreads[f"{column}_mean"] = _finite_mean(matched[column]) if len(matched) else np.nan
        rows.append({
            condition_column: condition,
            "n_mech": len(rows_of),
            "n_matched": len(matched),
            "n_runs": int(matched["trajectory_id"].nunique()) if "trajectory_id" in matched else len(matched),
            "median_abs_delta_energy_eV_per_atom": float(gaps.median()) if len(matched) else np.nan,
            "max_abs_delta_energy_eV_per_atom": float(gaps.max()) if len(matched) else np.nan,
            **spreads,
            "ratio_sum_group1_mean": _finite_mean(matched["ratio_sum_group1"]),
            "ratio_sum_group1_n_undefined": int((~np.isfinite(matched["ratio_sum_group1"])).sum()),
            "ratio_sum_group2_mean": _finite_mean(matched["ratio_sum_group2"]),
            "ratio_sum_group2_n_undefined": int((~np.isfinite(matched["ratio_sum_group2"])).sum()),
            "cumulative_strain_std": _finite_mean(rows_of["von_mises_strain_std"]),
        })
        heterogeneity, heterogeneity_sem = _blocked(rows_of, PRIMARY_STRAIN_STATISTIC)
        rows[-1].update(strain_heterogeneity=heterogeneity, strain_heterogeneity_sem=heterogeneity_sem)
        if windows is not None:
            runs = windows[windows[condition_column] == condition]
            for column in ("window_von_mises_std", "window_participation_ratio", "window_slab_localisation"):
                rows[-1].update({f"{column}_mean": _finite_mean(runs[column]), f"{column}_sem": _sem(runs[column])})
    return pd.DataFrame(rows)


def _pearson(x, y):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2:
        return np.nan
    x, y = x[keep] - x[keep].mean(), y[keep] - y[keep].mean()
    denominator = np.sqrt((x ** 2).sum() * (y ** 2).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else np.nan


def heterogeneity_correlation(summary):
    """Pearson r across conditions of the mean std(δs) with the strain heterogeneity, for
    group 2 (the paper: strongly positive) and group 1 (the paper: flat).  Conditions without
    matched pairs are left out; r is NaN with fewer than two conditions or no spread.

    The same for the spreads in excess of the thermal-against-thermal spread
    (``r_excess_group2``, ``r_excess_group1``).

    Returns ``{r_group2, r_group1, r_excess_group2, r_excess_group1, n_conditions}``.
    """
    strain = summary["strain_heterogeneity"]
    usable = summary["std_delta_group2_mean"].notna() & strain.notna()
    result = {f"r_{kind}group{g}": _pearson(summary.loc[usable, f"{kind}std_delta_group{g}_mean"], strain[usable])
              for kind in ("", "excess_") for g in (2, 1)}
    return {**result, "n_conditions": int(usable.sum())}


# --------------------------------------------------------------------------------------------
# The comparison of a run's sheared glasses with its thermal ones


@dataclass
class ConditionComparison:
    """A run's mechanical samples against their thermal references, per shear condition."""

    pairs: pd.DataFrame        # one row per mechanical sample (:func:`pair_table`)
    windows: pd.DataFrame      # one row per shear run (:func:`window_strains`)
    summary: pd.DataFrame      # one row per condition, labelled (:func:`condition_summary`)
    correlation: dict          # :func:`heterogeneity_correlation` of the summary
    groups: np.ndarray         # the kernel group (1 or 2) of each barcode entry
    strains: dict              # {condition label: per-atom η of all its sheared IS}
    condition_labels: dict     # {shear_T_K: condition label}
    closest_pairs: list        # per condition: (label, mean thermal barcode, mechanical barcode, ΔE eV/atom)


def _closest_pairs(pairs, mech, thermal, names, tolerance):
    """Per condition, its matched mechanical sample closest in energy to its reference, beside
    the reference the contrast uses (:func:`pair_table`: the mean barcode of the
    :func:`reference_window` of the :func:`reference_pool` of its number of atoms); one
    placeholder of zeros when no sample matched."""
    shown = []
    for temperature, rows in pairs[pairs["matched"]].groupby("shear_T_K"):
        closest = rows.loc[rows["delta_energy_eV_per_atom"].abs().idxmin()]
        sample = mech.loc[mech["sample_id"] == closest["sample_id"]]
        pool = reference_pool(thermal, sample["n_atoms"].iloc[0])
        window = reference_window(pool["energy_eV_per_atom"], closest["energy_eV_per_atom"], tolerance)
        s_thermal = pool.loc[window, names].to_numpy().mean(axis=0)
        shown.append((condition_label(temperature), s_thermal, sample[names].to_numpy()[0],
                      closest["delta_energy_eV_per_atom"]))
    if not shown:
        log.warning("no mechanical sample has a thermal reference within %.4f eV/atom", tolerance)
        shown = [("no matched pair", np.zeros(len(names)), np.zeros(len(names)), np.nan)]
    return shown


def compare_conditions(barcodes_path, top_ules_path, catalogue_path, tolerance, reference_splits, n_slabs):
    """The thermal references at matching IS energy (within ``tolerance`` eV/atom, among the
    samples of ``reference_splits`` with the sample's number of atoms: :func:`pair_table`) of
    every mechanical sample of a finished run, the barcode contrast δs, the per-condition
    summary with the steady-state window strains (``n_slabs`` slabs) and its correlation with
    the strain heterogeneity; logs one line per condition."""
    top = pd.read_parquet(top_ules_path)
    names = barcode_column_names(len(top))
    table = pd.read_parquet(barcodes_path).merge(pd.read_parquet(catalogue_path), on="sample_id",
                                                 validate="one_to_one")
    mech = table[table["split"] == MECH_SPLIT].reset_index(drop=True)
    thermal = table[table["split"].isin(reference_splits)].reset_index(drop=True)
    groups = top["group"].to_numpy()
    pairs = pair_table(mech, thermal, names, groups, tolerance)
    windows = window_strains(mech, lambda path: read_structure(Path(path)), n_slabs)
    summary = condition_summary(pairs, windows=windows)
    summary.insert(1, "condition", [condition_label(t) for t in summary["shear_T_K"]])
    correlation = heterogeneity_correlation(summary)
    for row in summary.itertuples():
        log.info("%s: %d of %d mechanical samples matched (%d runs, median |dE| %.2f meV/atom, %.1f thermal "
                 "references each); std(ds) group 1 %.4f, group 2 %.4f; in excess of thermal: group 1 %.4f +- "
                 "%.4f, group 2 %.4f +- %.4f; strain heterogeneity %.4f", row.condition, row.n_matched, row.n_mech,
                 row.n_runs, 1000 * row.median_abs_delta_energy_eV_per_atom, row.n_reference_mean,
                 row.std_delta_group1_mean, row.std_delta_group2_mean, row.excess_std_delta_group1_mean,
                 row.excess_std_delta_group1_sem, row.excess_std_delta_group2_mean, row.excess_std_delta_group2_sem,
                 row.strain_heterogeneity)
    log.info("Pearson r with strain heterogeneity across conditions: group 2 %.3f (excess %.3f), group 1 %.3f "
             "(excess %.3f); %d conditions", correlation["r_group2"], correlation["r_excess_group2"],
             correlation["r_group1"], correlation["r_excess_group1"], correlation["n_conditions"])
    strains = {}
    for temperature, rows in mech.groupby("shear_T_K"):
        arrays = [read_structure(Path(path)).arrays[STRAIN_ARRAY] for path in rows["structure"]]
        strains[condition_label(temperature)] = np.concatenate(arrays)
    return ConditionComparison(pairs, windows, summary, correlation, groups, strains,
                               {t: condition_label(t) for t in windows["shear_T_K"]},
                               _closest_pairs(pairs, mech, thermal, names, tolerance))


def write_comparison(comparison, summary_path, pairs_path, windows_path, correlation_path, tolerance,
                     reference_splits, config):
    """The tables of a :class:`ConditionComparison` and its correlation JSON (with the
    ``tolerance`` and ``reference_splits`` it was made with), with the provenance record of
    the run's ``config``."""
    record = provenance.record(config)
    write_parquet(comparison.pairs, pairs_path, record)
    write_parquet(comparison.summary, summary_path, record)
    write_parquet(comparison.windows, windows_path, record)
    write_json(correlation_path, {**comparison.correlation, "energy_tolerance_eV_per_atom": tolerance,
                                  "reference_splits": list(reference_splits), "n_mech": int(len(comparison.pairs)),
                                  "n_matched": int(comparison.pairs["matched"].sum()), "provenance": record})


# --------------------------------------------------------------------------------------------
# One structure of unknown history


@dataclass(frozen=True)
class HeterogeneityVerdict:
    """The group-2 barcode contrast of one structure against its thermal reference.

    ``spread_group2``/``spread_group1``: std(δs) over group-2/group-1 entries against the
    reference (NaN without one); ``reference_index``: position of the nearest thermal sample in
    energy (−1: none within tolerance); ``energy_distance_eV_per_atom``: |E − E_ref|;
    ``thermal_upper``: upper end of the thermal range at this energy (NaN if too few thermal
    samples); ``n_thermal_window``: thermal samples within tolerance, whose mean barcode is the
    reference;
    ``closest_condition``: the mechanical condition whose mean group-2 spread is nearest.
    """

    spread_group2: float
    spread_group1: float
    reference_index: int
    energy_distance_eV_per_atom: float
    thermal_upper: float
    n_thermal_window: int
    closest_condition: object
    verdict: str


def assess_heterogeneity(barcode, energy_eV_per_atom, thermal_barcodes, thermal_energies_eV_per_atom, groups,
                         tolerance, thermal_quantile, min_thermal_window, summary=None,
                         condition_column="shear_T_K"):
    """The paper's two-step recipe, second step: contrast a structure's barcode with the
    thermal reference at its (predicted or computed) energy and judge its heterogeneity.

    Rule, the one :func:`pair_table` applies to a sheared sample.  The reference is the mean
    barcode s̄ of the thermal samples within ``tolerance`` (eV/atom) of the structure's energy
    (``reference_index`` names the nearest of them); the structure's spread σ = std over the
    group-2 entries of s̄ − s.  The *thermal range*: the same spread of each of those thermal
    samples against the mean barcode of the other thermal samples within ``tolerance`` of its
    own energy (:func:`thermal_self_spreads`); its upper end is their ``thermal_quantile``
    quantile.  σ above it: "more heterogeneous than thermally processed glass at this energy";
    otherwise "within the thermal range".  With fewer than ``min_thermal_window`` thermal
    samples in the window the verdict is "undetermined".  With a per-condition ``summary``
    (:func:`condition_summary`) the verdict also names the mechanical condition whose mean
    group-2 spread is nearest to σ.
    """
    thermal_barcodes = np.atleast_2d(np.asarray(thermal_barcodes, dtype=np.float64))
    thermal_energies = np.asarray(thermal_energies_eV_per_atom, dtype=np.float64)
    barcode = np.asarray(barcode, dtype=np.float64)
    indices, distances = match_thermal_references([energy_eV_per_atom], thermal_energies, tolerance)
    reference, distance = int(indices[0]), float(distances[0])
    if reference < 0:
        return HeterogeneityVerdict(np.nan, np.nan, -1, distance, np.nan, 0, None,
                                    f"no thermal reference within {tolerance} eV/atom of {energy_eV_per_atom:.4f} "
                                    f"eV/atom (nearest {distance:.4f} away): heterogeneity cannot be assessed")
    window, contrast = contrast_with_reference(barcode, energy_eV_per_atom, thermal_barcodes, thermal_energies, groups,
                                               tolerance)
    spread, spread_group1 = float(contrast["std_delta_group2"][0]), float(contrast["std_delta_group1"][0])
    # The partners of a window sample lie within 2 tolerances of this energy.
    near = reference_window(thermal_energies, energy_eV_per_atom, 2 * tolerance)
    _, near_spreads = thermal_self_spreads(thermal_barcodes[near], thermal_energies[near], groups, tolerance)
    thermal_spreads = _finite(near_spreads[window[near]])
    n_window = int(window.sum())
    closest = None
    if summary is not None and summary["std_delta_group2_mean"].notna().any():
        known = summary[summary["std_delta_group2_mean"].notna()]
        closest = known[condition_column].iloc[int(np.argmin(np.abs(known["std_delta_group2_mean"] - spread)))]
    if n_window < min_thermal_window or thermal_spreads.size == 0:
        upper = np.nan
        verdict = (f"group-2 spread {spread:.4g}; undetermined: only {n_window} thermal samples within "
                   f"{tolerance} eV/atom (need {min_thermal_window})")
    else:
        upper = float(np.quantile(thermal_spreads, thermal_quantile))
        if spread > upper:
            verdict = (f"group-2 spread {spread:.4g} is above the thermal range (≤ {upper:.4g}): more heterogeneous "
                       "than thermally processed glass at this energy")
        else:
            verdict = (f"group-2 spread {spread:.4g} is within the thermal range (≤ {upper:.4g}): as homogeneous as "
                       "thermally processed glass at this energy")
    if closest is not None:
        verdict += f"; closest mechanical condition: {condition_label(closest)}"
    return HeterogeneityVerdict(spread, spread_group1, reference, distance, upper, n_window, closest, verdict)
