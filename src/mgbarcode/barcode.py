"""Probability-spectrum barcodes: each sample as K fractions over the top-K ULEs.

A sample's barcode is s_i = c_i / Σ_{j∈top-K} c_j, where c_i counts the sample's atoms whose
most similar ULE over the whole dictionary is top ULE i (not only above-threshold atoms: the
``counts`` table holds nearest-ULE counts over all atoms).  A sample with none of its atoms at
a top ULE has no barcode; it gets the zero vector and is flagged, never silently renormalised.

Each entry's relation to the IS energy (its Pearson r over samples, the paper's Fig. 4) and the
sums of the entries per kernel group are here too.
"""

import logging

import numpy as np
import pandas as pd

from . import basins, provenance
from .errors import InputError
from .io import write_json, write_parquet
from .results_layout import BARCODE_PREFIX, SHAP_LONG_TAIL, TRAIN_SPLIT, ULE_PREFIX

log = logging.getLogger(__name__)


def barcode_column_names(k):
    """Column names of a K-entry barcode: ``s_01 … s_K`` (zero-padded to at least 2 digits so
    that names sort in entry order)."""
    width = max(2, len(str(k)))
    return [f"{BARCODE_PREFIX}{entry:0{width}d}" for entry in range(1, k + 1)]


def barcodes(counts, top_ule_ids):
    """Barcodes of samples from their nearest-ULE counts.

    Parameters
    ----------
    counts : int array [n_samples, n_ules]
        Atoms of each sample whose most similar ULE is each ULE; column j is ULE id j.
    top_ule_ids : int array [K]
        ULE ids (column indices of ``counts``) in barcode-entry order.

    Returns
    -------
    s : float64 array [n_samples, K]
        Rows sum to 1, except rows of ``zero_mask``, which are all zero.
    zero_mask : bool array [n_samples]
        Samples with no atom at any top ULE.
    """
    counts = np.asarray(counts)
    top_ule_ids = np.asarray(top_ule_ids, dtype=np.int64)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D [n_samples, n_ules], got shape {counts.shape}")
    if len(np.unique(top_ule_ids)) != len(top_ule_ids):
        raise ValueError("top_ule_ids repeats a ULE")
    if len(top_ule_ids) and (top_ule_ids.min() < 0 or top_ule_ids.max() >= counts.shape[1]):
        raise ValueError(f"top_ule_ids outside 0..{counts.shape[1] - 1}")
    selected = counts[:, top_ule_ids].astype(np.float64)
    totals = selected.sum(axis=1)
    zero_mask = totals == 0
    s = np.zeros_like(selected)
    s[~zero_mask] = selected[~zero_mask] / totals[~zero_mask, None]
    return s, zero_mask


def order_top_ules(top_table):
    """Barcode entry order of the top ULEs: group 1 (Kasper-like kernels) first, then group
    2, each in SHAP rank order (the paper's Fig. 3: s_1–s_25 Kasper, s_26–s_40 the rest).

    ``top_table`` needs columns ``rank`` and ``group`` (1 or 2, from
    :func:`mgbarcode.kernels.kernel_table`).  Returns a copy sorted that way with two columns
    added: ``entry`` (1-based barcode position) and ``barcode_column`` (``s_01`` …).
    """
    ordered = top_table.sort_values(["group", "rank"], kind="stable").reset_index(drop=True)
    ordered["entry"] = np.arange(1, len(ordered) + 1)
    ordered["barcode_column"] = barcode_column_names(len(ordered))
    return ordered


def barcode_table(sample_ids, s, zero_mask, n_top):
    """A DataFrame ``sample_id, n_top, zero_barcode, s_01 … s_K`` from :func:`barcodes` output;
    ``n_top``: each sample's atoms whose nearest ULE is a top ULE (the barcode's denominator,
    which sets its counting noise)."""
    names = barcode_column_names(s.shape[1])
    table = pd.DataFrame(s, columns=names)
    table.insert(0, "zero_barcode", np.asarray(zero_mask, dtype=bool))
    table.insert(0, "n_top", np.asarray(n_top, dtype=np.int64))
    table.insert(0, "sample_id", list(sample_ids))
    return table


def ule_count_matrix(counts_table, prefix=ULE_PREFIX):
    """The integer matrix [n_samples, n_ules] of a counts table whose ULE columns are
    ``<prefix>0000 …`` in id order (column j is ULE id j)."""
    names = [c for c in counts_table.columns if c.startswith(prefix)]
    ids = [int(c[len(prefix):]) for c in names]
    if ids != list(range(len(ids))):
        raise ValueError(f"ULE columns are not {prefix}0 … {prefix}{len(ids) - 1} in order")
    return counts_table[names].to_numpy()


def check_k(k, n_ules, source):
    """Refuse a barcode longer than the dictionary (``source`` names the config)."""
    if k > n_ules:
        raise InputError(source, "barcode.k", f"K = {k} but the dictionary has only {n_ules} ULEs",
                         f"set barcode.k to at most {n_ules}, or raise the ULE threshold "
                         "(ules.threshold / ules.target_size) to grow the dictionary")


def pearson_with_energy(barcode_matrix, energies):
    """Pearson r of every barcode entry (column) with the energies, over samples.

    ``barcode_matrix`` [n_samples, K], ``energies`` [n_samples] (any unit: r is unitless).
    An entry that is constant over the samples (or constant energies) has no defined r and
    gets NaN, rather than an arbitrary 0.
    """
    s = np.asarray(barcode_matrix, dtype=np.float64)
    e = np.asarray(energies, dtype=np.float64)
    s_centred = s - s.mean(axis=0)
    e_centred = e - e.mean()
    denominator = np.sqrt((s_centred ** 2).sum(axis=0) * (e_centred ** 2).sum())
    numerator = s_centred.T @ e_centred
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def group_sums(barcode_matrix, groups, icosahedral):
    """Per-sample sums of barcode entries over group 1, group 2 and icosahedral kernels.

    ``groups`` [K] (1 or 2) and ``icosahedral`` [K] (bool) describe the barcode columns.
    Returns a DataFrame ``sum_group1, sum_group2, sum_icosahedral`` (fractions).
    """
    s = np.asarray(barcode_matrix, dtype=np.float64)
    groups = np.asarray(groups)
    icosahedral = np.asarray(icosahedral, dtype=bool)
    return pd.DataFrame({"sum_group1": s[:, groups == 1].sum(axis=1),
                         "sum_group2": s[:, groups == 2].sum(axis=1),
                         "sum_icosahedral": s[:, icosahedral].sum(axis=1)})


def write_barcodes(kernels_path, counts_path, catalogue_path, k_config, barcodes_path, top_ules_path, summary_path,
                   config):
    """The barcodes job: the barcode of every sample (:func:`barcodes` over its nearest-ULE
    counts and the top ULEs of the kernels table), the Pearson r of each entry with the IS
    energy over the distinct ``train`` samples with a barcode (added to the top-ULE table), and
    a summary naming the samples with a zero barcode; with the provenance record of the run's
    ``config``.  ``k_config``: the configured barcode.k."""
    top = pd.read_parquet(kernels_path)
    counts = pd.read_parquet(counts_path)
    count_matrix = ule_count_matrix(counts)
    top_ids = top["ule_id"].to_numpy()
    s, zero = barcodes(count_matrix, top_ids)
    table = barcode_table(counts["sample_id"], s, zero, count_matrix[:, top_ids].sum(axis=1))
    catalogue = pd.read_parquet(catalogue_path, columns=["sample_id", "split", "energy_eV_per_atom", "repeat_of"])
    joined = table.merge(catalogue, on="sample_id", validate="one_to_one")
    train = basins.distinct(joined[(joined["split"] == TRAIN_SPLIT) & ~joined["zero_barcode"]])
    names = barcode_column_names(len(top))
    top["pearson_r"] = pearson_with_energy(train[names].to_numpy(), train["energy_eV_per_atom"].to_numpy())
    zero_ids = joined.loc[joined["zero_barcode"], ["sample_id", "split"]]
    for split, group in zero_ids.groupby("split"):
        log.warning("%d %s samples have a zero barcode (none of their atoms is nearest to a top ULE): %s",
                    len(group), split, ", ".join(group["sample_id"]))
    record = provenance.record(config)
    write_parquet(table, barcodes_path, record)
    write_parquet(top, top_ules_path, record)
    write_json(summary_path, {
        "k": len(top), "k_config": k_config,
        "k_note": f"k = K_eff, the ULEs with non-zero mean |SHAP| ({SHAP_LONG_TAIL}), when fewer than k_config",
        "n_group1": int((top.group == 1).sum()), "n_group2": int((top.group == 2).sum()),
        "n_icosahedral": int(top.icosahedral.sum()), "n_samples": len(table),
        "n_zero_barcodes": {split: int(n) for split, n in zero_ids.groupby("split").size().items()},
        "zero_barcode_samples": zero_ids["sample_id"].tolist(),
        "pearson_r_computed_on": f"{len(train)} train samples (distinct IS)", "provenance": record})
