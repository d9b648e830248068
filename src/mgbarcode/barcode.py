"""Probability-spectrum barcodes: each sample as K fractions over the top-K ULEs.

A sample's barcode is s_i = c_i / Σ_{j∈top-K} c_j, where c_i counts the sample's atoms whose
most similar ULE over the whole dictionary is top ULE i (not only above-threshold atoms: the
``counts`` table holds nearest-ULE counts over all atoms).  A sample with none of its atoms at
a top ULE has no barcode; it gets the zero vector and is flagged, never silently renormalised.
"""

import numpy as np
import pandas as pd

from .errors import InputError

BARCODE_PREFIX = "s_"


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


def ule_count_matrix(counts_table, prefix="ule_"):
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
