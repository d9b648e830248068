"""Encoding: each environment to its most similar ULE, and each sample's ULE fractions and
counts (METHOD §2).

The nearest ULE is the one of largest exact dot product (ties: lowest id) and an atom is
``matched`` iff its similarity to it is ≥ the threshold; atoms below threshold to every ULE
are counted as unmatched.  Both are exact whatever the BLAS, the batch size or the pruning:
the search bounds every dot from the head features and computes full dots only for the ULEs
that may be the nearest (exact_bounds docstring, step 4 and after).  :func:`nearest_ule` and
:func:`encode_sample` work on arrays; :func:`encode_files` streams SOAP files against a stored
dictionary into the fraction, count and per-atom tables, one column per ULE
(:func:`ule_column`).
"""

import logging
import math
import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import provenance
from ..descriptors import iter_soap_batches
from ..errors import InputError
from ..io import write_parquet
from ..results_layout import ULE_PREFIX
from .exact_bounds import (ARITHMETIC_SLACK, FLOAT32_UNIT_ROUNDOFF, FLOAT64_UNIT_ROUNDOFF, HEAD_FEATURES,
                           any_exact_match, checked_unit_vectors_and_squared_norms, Cut, dot_error_bound,
                           HeadBound, round_outward, min_dot_for_threshold, similarity_from_dot)
from .leader_dictionary import read_dictionary, read_threshold

log = logging.getLogger(__name__)

# The encoder computes the full dots of the (row, ULE) pairs its bounds leave open in blocks of
# this many pairs.  A batch whose float32 head-dot test (exact_bounds docstring, step 4) leaves more
# than PRUNE_MAX_FRACTION of all pairs open is done with one full float32 GEMM instead: a
# gathered pair's full dot costs the time of ~50 GEMM entries (measured, 3289 features, one
# BLAS thread), and the pairs' own bounds then keep about half of those the first test left.
# SOAP leaves ~5 pairs per environment to that test; vectors whose weight is not in a few
# features (random ones) leave nearly all.  Performance only; the result is the same.
PAIR_BLOCK = 256
PRUNE_MAX_FRACTION = 1 / 32


def ule_column(ule_id):
    """Column name of ULE ``ule_id`` in the fraction and count tables: ``ule_0042``."""
    return f"{ULE_PREFIX}{int(ule_id):04d}"


class _NearestSearch:
    """The dictionary as the encoder searches it (exact_bounds docstring, step 4).

    ``prune=False`` computes every dot with one float32 GEMM per batch (the plain search);
    ``prune=True`` (when the vectors have more than 2 × HEAD_FEATURES features) first bounds
    every dot from the head features and computes full dots only for the ULEs that may be the
    nearest.  Both give the same assignments: the exact argmax and the exact matched flag.
    """

    def __init__(self, dictionary_vectors, threshold, prune=True):
        vectors, squared_norms = checked_unit_vectors_and_squared_norms(dictionary_vectors, source="dictionary")
        if len(vectors) == 0:
            raise InputError("dictionary", "ule_id", "the dictionary is empty", "rebuild it from training data")
        self.cut = Cut(min_dot_for_threshold(threshold), vectors.shape[1], np.dtype(np.float32),
                        FLOAT32_UNIT_ROUNDOFF)
        bound = HeadBound.from_sample(vectors, HEAD_FEATURES, self.cut.min_dot) if prune else None
        self.bound = bound if bound is not None and bound.features is not None else None
        self.vectors = vectors
        if self.bound is not None:
            self.ules = self.bound.project(vectors, squared_norms)
            self.largest_tail_norm = float(self.ules.tail_norm.max())
            self.cut64 = Cut(self.cut.min_dot, vectors.shape[1], np.dtype(np.float64), FLOAT64_UNIT_ROUNDOFF)

    def __len__(self):
        return len(self.vectors)

    def assign(self, batch, squared_norms, scratch=None):
        """Nearest ULE (int32, exact argmax, ties to the lowest id), its float32 dot and the
        exact ``matched`` flag for each row of ``batch`` (checked unit vectors, float32
        ``squared_norms``).  ``scratch``: optional float32 [len(batch), n_ules] work array."""
        if self.bound is not None:
            candidates = self._candidates(self.bound.project(batch, squared_norms), scratch)
            if candidates is not None:
                return _decide(batch, self.vectors, *candidates, self.cut64)
        dots = np.matmul(batch, self.vectors.T, out=scratch)
        return _decide(batch, self.vectors, np.broadcast_to(np.arange(len(self)), dots.shape), dots, self.cut)

    def _candidates(self, batch, scratch):
        """The ULEs that may be nearest to each row of ``batch`` (a :class:`Projected`) and
        their full dots in float64, as padded arrays ``(ids int64 [n, k], dots float64 [n, k])``:
        each row's ids ascending, then padding (dot −inf).  None if the first test below
        leaves more than ``PRUNE_MAX_FRACTION`` of the pairs.

        ULE j is ruled out when its upper bound is below another ULE's lower bound (step 4).
        First, in float32 over the whole head-dot matrix H: every reach is at most
        r = ρₓ·max ρᵤ + E_H, so j can only stay if H_j ≥ max H − 2r (cut rounded down);
        then the bounds of the pairs left, with each ULE's own ρᵤ.
        """
        n_rows = len(batch.vectors)
        head = np.matmul(batch.head, self.ules.head.T, out=scratch)
        top = head.max(axis=1).astype(np.float64)
        floor = round_outward(top - 2 * self.bound.reach(batch.tail_norm * self.largest_tail_norm)
                               - ARITHMETIC_SLACK, np.dtype(np.float32), up=False)
        open_pairs = head >= floor[:, None]
        if np.count_nonzero(open_pairs) > PRUNE_MAX_FRACTION * open_pairs.size:
            return None
        # (flatnonzero, as np.nonzero of a 2-D mask is many times slower; every row keeps its
        # largest head dot, so each row has a pair)
        rows, ids = np.divmod(np.flatnonzero(open_pairs), head.shape[1])
        lower, upper = self.bound.bracket(head[rows, ids], batch.tail_norm[rows] * self.ules.tail_norm[ids])
        starts = np.flatnonzero(np.diff(rows, prepend=-1))
        keep = upper >= np.maximum.reduceat(lower, starts)[rows]
        rows, ids = rows[keep], ids[keep]
        full = np.empty(len(rows), dtype=np.float64)
        for start in range(0, len(rows), PAIR_BLOCK):
            pairs = slice(start, start + PAIR_BLOCK)
            full[pairs] = np.einsum("ij,ij->i", batch.vectors[rows[pairs]], self.vectors[ids[pairs]],
                                    dtype=np.float64)
        counts = np.bincount(rows, minlength=n_rows)
        column = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        padded_ids = np.zeros((n_rows, counts.max()), dtype=np.int64)
        padded_dots = np.full((n_rows, counts.max()), -np.inf)
        padded_ids[rows, column] = ids
        padded_dots[rows, column] = full
        return padded_ids, padded_dots


def _decide(batch, dictionary, ids, dots, cut):
    """Nearest ULE (exact argmax, ties to the lowest id), its dot (float32), and the exact
    ``matched`` flag per row of ``batch``, given ``dots`` with the ULEs ``ids`` (both [n, k];
    each row's ids ascending, and holding every ULE that may be the nearest; entries of dot
    −inf are padding), computed in float32 or float64 with ``cut`` of that precision.

    Nearest: any ULE whose dot is below the row's best − 3E (E = ``cut.error``) is surely less
    similar than the argmax of the dots, so only rows with another ULE above that floor
    (near-ties) are recomputed, in float64 and, among float64 near-ties, exactly.  Matched:
    only rows whose best dot lies inside the rounding band are recomputed (exact_bounds docstring,
    step 2).
    """
    rows = np.arange(len(batch))
    position = dots.argmax(axis=1)
    best = dots[rows, position]
    floor = best - dots.dtype.type(3 * cut.error)
    for row in np.flatnonzero(np.count_nonzero(dots >= floor[:, None], axis=1) > 1):
        near = np.flatnonzero(dots[row] >= floor[row])
        position[row] = near[_exact_argmax(batch[row], dictionary[ids[row, near]])]
    matched = best >= cut.high
    for row in np.flatnonzero(~matched & (best >= cut.low)):
        matched[row] = any_exact_match(batch[row], dictionary[ids[row, dots[row] >= cut.low]], cut.min_dot)
    return ids[rows, position].astype(np.int32), dots[rows, position].astype(np.float32), matched


def _exact_argmax(x, rows):
    """Index of the row with the largest exact dot with ``x`` (lowest index on exact ties)."""
    x64 = x.astype(np.float64)
    dots = rows.astype(np.float64) @ x64
    error = dot_error_bound(len(x), FLOAT64_UNIT_ROUNDOFF)
    candidates = np.flatnonzero(dots >= dots.max() - 3 * error)
    winner = candidates[0]
    for j in candidates[1:]:
        # sign of x·rows[j] − x·rows[winner], exactly (products are exact in float64)
        if math.fsum(np.concatenate([x64 * rows[j], -x64 * rows[winner]]).tolist()) > 0:
            winner = j
    return winner


def nearest_ule(unit_vectors, dictionary_vectors, threshold, batch_size, prune=True):
    """Each environment's most similar ULE.

    Returns ``(ule_index int32 [n], similarity float32 [n], matched bool [n])``: the ULE of
    largest exact dot product (ties: lowest id), its similarity M (float32, from the dot
    computed in float64 and rounded to float32, so within ~2e-4 of the exact M as M → 1, where
    dM/d(dot) diverges; from the float32 GEMM's dot for ``prune=False`` or when a batch falls
    back to it, within ~1e-3), and whether M ≥ ``threshold`` (exact rule, exact_bounds docstring).  Per ``batch_size`` rows: one float32 GEMM
    of the head features, then full dots only where the bounds leave a ULE in the running
    (step 4); ``prune=False`` does one full float32 GEMM instead (same result, for tests and
    benchmarks).  Near-ties and near-threshold rows are re-checked as described there.
    """
    vectors, squared_norms = checked_unit_vectors_and_squared_norms(unit_vectors)
    search = _NearestSearch(dictionary_vectors, threshold, prune)
    n_rows = len(vectors)
    ule_index = np.empty(n_rows, dtype=np.int32)
    best_dot = np.empty(n_rows, dtype=np.float32)
    matched = np.empty(n_rows, dtype=bool)
    scratch = np.empty((min(batch_size, n_rows), len(search)), dtype=np.float32)
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        ule_index[start:stop], best_dot[start:stop], matched[start:stop] = search.assign(
            vectors[start:stop], squared_norms[start:stop], scratch[:stop - start])
    return ule_index, similarity_from_dot(best_dot), matched


def _counts(ule_index, matched, n_ules):
    """(nearest counts, matched counts), int64 [n_ules] each."""
    return (np.bincount(ule_index, minlength=n_ules).astype(np.int64),
            np.bincount(ule_index[matched], minlength=n_ules).astype(np.int64))


def encode_sample(unit_vectors, dictionary_vectors, threshold, batch_size):
    """ULE counts of one sample.

    Returns ``(nearest_counts, matched_counts, n_unmatched)``: int64 [n_ules] atoms whose
    nearest ULE is each ULE (all atoms), the same counting only atoms with M ≥ threshold,
    and the number of atoms below threshold to every ULE.  The sample's ULE fractions are
    ``matched_counts / n_atoms``, so fractions.sum() + n_unmatched / n_atoms == 1.
    """
    ule_index, _, matched = nearest_ule(unit_vectors, dictionary_vectors, threshold, batch_size)
    nearest_counts, matched_counts = _counts(ule_index, matched, len(dictionary_vectors))
    return nearest_counts, matched_counts, int((~matched).sum())


class Encoding(NamedTuple):
    """What :func:`encode_files` returns."""

    fractions: pd.DataFrame  # one row per sample: matched atoms at each ULE / n_atoms
    counts: pd.DataFrame  # one row per sample: atoms whose nearest ULE is each ULE (all atoms)
    atoms: pd.DataFrame  # one row per atom: sample_id, atom, ule_id (nearest), similarity, matched


def encode_files(paths, sample_ids, dictionary_path, threshold, batch_size, log_interval_s=30.0):
    """Encode many samples' SOAP files against a dictionary, streaming batches across files.

    ``paths``: SOAP Parquet files or :class:`~mgbarcode.descriptors.StructureSample` s
    (:func:`mgbarcode.descriptors.soap_sources`), one per sample id.

    Returns an :class:`Encoding`.  Its two sample tables have one row per sample in the order
    of ``paths``, columns ``sample_id, n_atoms, n_unmatched`` then one column per ULE
    (:func:`ule_column`):

    * fractions (float64): matched atoms at each ULE / n_atoms (row sums = 1 − unmatched share);
    * nearest counts (int64): atoms whose nearest ULE is each ULE, all atoms (for barcodes).

    Its atom table has one row per atom, in file then atom order: ``sample_id, atom`` (index in
    the structure), ``ule_id`` of the nearest ULE, ``similarity`` M to it (float32) and
    ``matched`` (M ≥ threshold); e.g. to colour atoms by ULE or to give each ULE an energy.
    """
    paths, sample_ids = list(paths), [str(s) for s in sample_ids]
    if len(paths) != len(sample_ids):
        raise ValueError(f"{len(paths)} paths but {len(sample_ids)} sample ids")
    dictionary = read_dictionary(dictionary_path)
    if not math.isnan(dictionary.threshold) and not math.isclose(dictionary.threshold, threshold):
        log.warning("encoding at threshold %s, but the dictionary was built at %s",
                    threshold, dictionary.threshold)
    search = _NearestSearch(dictionary.unit_vectors, threshold)
    n_ules, n_samples = len(search), len(paths)
    expected_ids = np.asarray(sample_ids, dtype=object)
    nearest_counts = np.zeros((n_samples, n_ules), dtype=np.int64)
    matched_counts = np.zeros((n_samples, n_ules), dtype=np.int64)
    n_atoms = np.zeros(n_samples, dtype=np.int64)
    n_unmatched = np.zeros(n_samples, dtype=np.int64)
    scratch = np.empty((batch_size, n_ules), dtype=np.float32)
    atom_pieces = []
    started = last_log = time.perf_counter()
    for batch in iter_soap_batches(paths, batch_size):
        wrong = np.flatnonzero(batch.sample_ids != expected_ids[batch.file_index])
        if len(wrong):
            file_index = batch.file_index[wrong[0]]
            raise InputError(paths[file_index], "sample_id", f"holds {batch.sample_ids[wrong[0]]!r}, "
                             f"expected {sample_ids[file_index]!r}", "pass paths and sample ids in the same order")
        vectors_batch, squared_norms = checked_unit_vectors_and_squared_norms(
            batch.unit_vectors, source=paths[batch.file_index[0]])
        ule_index, best_dot, matched = search.assign(vectors_batch, squared_norms, scratch[:len(vectors_batch)])
        atom_pieces.append(pd.DataFrame({"sample_id": batch.sample_ids, "atom": batch.atoms, "ule_id": ule_index,
                                         "similarity": similarity_from_dot(best_dot), "matched": matched}))
        # A batch covers a contiguous run of files: count per (file, ULE) in one bincount.
        first, last = batch.file_index[0], batch.file_index[-1] + 1
        local = (batch.file_index - first).astype(np.int64) * n_ules + ule_index
        for table, mask in ((nearest_counts, slice(None)), (matched_counts, matched)):
            table[first:last] += np.bincount(local[mask], minlength=(last - first) * n_ules
                                             ).reshape(last - first, n_ules)
        n_atoms[first:last] += np.bincount(batch.file_index - first, minlength=last - first)
        n_unmatched[first:last] += np.bincount(batch.file_index[~matched] - first, minlength=last - first)
        now = time.perf_counter()
        if now - last_log >= log_interval_s:
            last_log = now
            log.info("encoded %d/%d files (%.0f environments/s)", last, n_samples,
                     n_atoms.sum() / (now - started))
    empty = np.flatnonzero(n_atoms == 0)
    if len(empty):
        raise InputError(paths[empty[0]], "atom", "the SOAP file has no atoms", "rerun its soap rule")
    log.info("encoded %d samples, %d atoms, %d unmatched (%.3f %%) in %.1f s", n_samples, n_atoms.sum(),
             n_unmatched.sum(), 100.0 * n_unmatched.sum() / n_atoms.sum(), time.perf_counter() - started)
    fractions = _sample_table(sample_ids, n_atoms, n_unmatched, matched_counts / n_atoms[:, None])
    counts = _sample_table(sample_ids, n_atoms, n_unmatched, nearest_counts)
    atoms = pd.concat(atom_pieces, ignore_index=True)
    return Encoding(fractions, counts, atoms)


def write_batch_encoding(table_paths, choice_path, dictionary_path, soap, batch_size, out_paths, config):
    """The encoding job of one batch of trajectories: every sample of the trajectory tables
    ``table_paths``, in their order, encoded at the calibrated threshold (:func:`encode_files`).
    ``soap``: a :class:`~mgbarcode.descriptors.SoapInput`; ``out_paths``: the ``fractions``,
    ``counts`` and ``atoms`` Parquet files, written with provenance."""
    threshold = read_threshold(choice_path)
    sample_ids = [sample_id for table in table_paths
                  for sample_id in pd.read_parquet(table, columns=["sample_id"])["sample_id"]]
    encoded = encode_files(soap.sources(sample_ids), sample_ids, dictionary_path, threshold, batch_size)
    record = provenance.record(config, threshold=threshold)
    write_parquet(encoded.fractions, out_paths["fractions"], record)
    write_parquet(encoded.counts, out_paths["counts"], record)
    write_parquet(encoded.atoms, out_paths["atoms"], record, use_dictionary=["sample_id"])


def collect_encodings(catalogue_path, batch_paths, out_paths, config):
    """One row per sample, sorted by sample id, with its ``split`` from the catalogue: the
    fraction and count tables of every batch (``batch_paths`` and ``out_paths``, by kind:
    ``fractions``, ``counts``), written with provenance."""
    record = provenance.record(config)
    split_of = pd.read_parquet(catalogue_path, columns=["sample_id", "split"]).set_index("sample_id")["split"]
    for kind in ("fractions", "counts"):
        table = pd.concat([pd.read_parquet(path) for path in batch_paths[kind]], ignore_index=True)
        table = table.sort_values("sample_id", kind="stable").reset_index(drop=True)
        table.insert(1, "split", table["sample_id"].map(split_of))
        write_parquet(table, out_paths[kind], record)
        log.info("%s: %d samples x %d ULEs", kind, len(table), table.shape[1] - 4)


def _sample_table(sample_ids, n_atoms, n_unmatched, per_ule):
    """One row per sample: sample_id, n_atoms, n_unmatched, then ule_0000 … columns."""
    head = pd.DataFrame({"sample_id": sample_ids, "n_atoms": n_atoms, "n_unmatched": n_unmatched})
    body = pd.DataFrame(per_ule, columns=[ule_column(i) for i in range(per_ule.shape[1])])
    return pd.concat([head, body], axis=1)
