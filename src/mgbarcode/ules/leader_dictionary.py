"""The ULE dictionary: leader clustering of the training environments (METHOD §2).

Environments are taken in order; "matches" is the exact match rule of
:mod:`~mgbarcode.ules.exact_bounds`.  :func:`build_dictionary_reference` is the leader rule one
environment at a time (the definition); :class:`LeaderDictionary` is the batched build, equal
to it bit for bit and fast because the head-feature bounds (exact_bounds docstring, step 3)
settle nearly every pair without a full dot product; :func:`build_dictionary_from_files`
streams SOAP files through it; :meth:`LeaderDictionary.write` and :func:`read_dictionary` are
the ``dictionary.parquet`` file.

**Dictionary order.**  Leader clustering depends on the order of the environments: files in
the order given (the workflow passes the training SOAP files sorted by sample id), atoms in
file order.  An environment becomes a new ULE iff it matches no existing ULE.
"""

import json
import logging
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import basins, io, provenance
from ..descriptors import iter_soap_batches, unit_vector_column, vectors_from_column
from ..errors import InputError
from ..results_layout import TRAIN_SPLIT
from .exact_bounds import (FLOAT32_UNIT_ROUNDOFF, HEAD_FEATURES, any_exact_match, checked_unit_vectors,
                           checked_unit_vectors_and_squared_norms, Cut, HeadBound, Projected,
                           min_dot_for_threshold)

log = logging.getLogger(__name__)

# Unmatched candidates of a batch are resolved among themselves in blocks of this many rows
# (performance only; the result does not depend on it).
GRAM_BLOCK = 256
# While building, each environment meets the ULEs of its own centre species first, most often
# matched so far first, in chunks: the first has max(FIRST_CHUNK_MIN, n_ules / FIRST_CHUNK_DIVISOR)
# ULEs, each next one twice the previous; rows with a sure match skip the rest.  (Environments
# of different centre species are far apart: the largest Cu-Zr similarity dot measured on
# 5000 random-structure environments is 0.875, against d(0.875) = 0.969.)  Performance only
# (measured best of 8-64 and 1/64-1/256 on random-structure SOAP at ~900 ULEs); the result
# does not depend on it.
FIRST_CHUNK_MIN = 32
FIRST_CHUNK_DIVISOR = 64


class _GrowableRows:
    """A 2-D array that grows by doubling, so appending n rows costs O(n) amortised."""

    def __init__(self, n_columns, dtype, capacity=256):
        self._data = np.empty((capacity, n_columns), dtype=dtype)
        self._size = 0

    def __len__(self):
        return self._size

    @property
    def view(self):
        return self._data[:self._size]

    def append(self, rows):
        needed = self._size + len(rows)
        if needed > len(self._data):
            capacity = max(needed, 2 * len(self._data))
            grown = np.empty((capacity, self._data.shape[1]), dtype=self._data.dtype)
            grown[:self._size] = self._data[:self._size]
            self._data = grown
        self._data[self._size:needed] = rows
        self._size = needed


class _ProjectedRows:
    """A growable :class:`Projected` (each part grows by doubling)."""

    def __init__(self, n_features, n_head):
        self._parts = (_GrowableRows(n_features, np.float32), _GrowableRows(n_head, np.float32),
                       _GrowableRows(1, np.float64))

    def __len__(self):
        return len(self._parts[0])

    @property
    def view(self):
        vectors, head, tail_norm = (part.view for part in self._parts)
        return Projected(vectors, head, tail_norm[:, 0])

    def append(self, projected):
        for part, values in zip(self._parts, (projected.vectors, projected.head, projected.tail_norm[:, None])):
            part.append(values)


def build_dictionary_reference(unit_vectors, threshold):
    """Leader clustering one environment at a time: the definition the batched code must equal.

    Environment k becomes a new ULE iff it matches no earlier ULE (exact rule of the
    exact_bounds docstring; dots against the whole dictionary in one float64 matrix-vector
    product).
    Returns the int64 indices of the leaders, in input order.  Slow: for tests and benchmarks.
    """
    vectors = checked_unit_vectors(unit_vectors)
    min_dot = min_dot_for_threshold(threshold)
    dictionary = _GrowableRows(vectors.shape[1], np.float64)
    leaders = []
    for k, vector in enumerate(vectors):
        if not any_exact_match(vector, dictionary.view, min_dot):
            dictionary.append(vector[None, :])
            leaders.append(k)
    return np.asarray(leaders, dtype=np.int64)


class LeaderDictionary:
    """Exact leader clustering, batched (same result as :func:`build_dictionary_reference`).

    For each batch of environments (in order):

    1. float32 products of the head features (exact_bounds docstring, step 3) bound every dot;
       they settle nearly every environment as a sure match or sure miss, and the few left
       open are settled from their full vectors, exactly.  The dictionary is met in chunks,
       ULEs of the environment's centre species first (when species are given), most often
       matched first, and an environment with a sure match skips the remaining chunks (most
       environments match one of the popular ULEs of their species, so this does a fraction
       of the full product; the result is the same);
    2. the unmatched ones are resolved among themselves in input order (blocks of
       ``GRAM_BLOCK`` against the earlier blocks' leaders, then each block's float32 Gram
       matrix, same band rule): a candidate becomes a ULE iff it matches no candidate that
       became a ULE before it in this batch;
    3. the new ULEs are appended (the array grows by doubling).

    Memory: the dictionary (n_ules × (n_features + HEAD_FEATURES) float32) plus
    batch_size × (n_features + HEAD_FEATURES) for the batch and batch_size × n_ules and
    batch_size × GRAM_BLOCK float64 work arrays, independent of how many environments pass
    through.
    """

    def __init__(self, threshold, n_features, batch_size=4096):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.threshold = float(threshold)
        self.min_dot = min_dot_for_threshold(threshold)
        self.n_features = int(n_features)
        self.batch_size = int(batch_size)
        self.n_environments = 0
        self._cut = Cut(self.min_dot, self.n_features, np.dtype(np.float32), FLOAT32_UNIT_ROUNDOFF)
        self._bound = None  # the head features are chosen from the first batch
        self._ules = None  # _ProjectedRows, from the first batch on
        self._hits = np.zeros(0, dtype=np.int64)  # sure matches credited to each ULE so far
        self._species, self._sample_ids, self._atoms = [], [], []

    def __len__(self):
        return 0 if self._ules is None else len(self._ules)

    @property
    def unit_vectors(self):
        """float32 [n_ules, n_features] (a view; row i is ULE i)."""
        if self._ules is None:
            return np.empty((0, self.n_features), dtype=np.float32)
        return self._ules.view.vectors

    def add(self, unit_vectors, species=None, sample_ids=None, atoms=None):
        """Process environments in the given order; returns the int64 indices (into this
        call's rows) of those that became new ULEs.

        ``species``, ``sample_ids``, ``atoms`` (optional, one per row) are kept for the new
        ULEs as their centre species and source (sample id, atom index).
        """
        vectors, squared_norms = checked_unit_vectors_and_squared_norms(unit_vectors)
        if vectors.shape[1] != self.n_features:
            raise InputError("unit vectors", "soap", f"{vectors.shape[1]} features, the dictionary "
                             f"has {self.n_features}", "use SOAP files made with the same soap: config")
        n_rows = len(vectors)
        metadata = [np.asarray(values if values is not None else [None] * n_rows, dtype=object)
                    for values in (species, sample_ids, atoms)]
        if any(len(values) != n_rows for values in metadata):
            raise ValueError("species, sample_ids and atoms need one entry per vector")
        new = []
        for start in range(0, n_rows, self.batch_size):
            window = slice(start, start + self.batch_size)
            if self._bound is None:
                self._bound = HeadBound.from_sample(vectors[window], HEAD_FEATURES, self.min_dot)
                self._ules = _ProjectedRows(self.n_features, self._bound.n_head)
            projected = self._bound.project(vectors[window], squared_norms[window])
            local = self._add_batch(projected, metadata[0][window])
            self._ules.append(projected.rows(local))
            leaders = start + local
            self._hits = np.concatenate([self._hits, np.zeros(len(leaders), dtype=np.int64)])
            for kept, values in zip((self._species, self._sample_ids, self._atoms), metadata):
                kept.extend(values[leaders].tolist())
            new.append(leaders)
        self.n_environments += n_rows
        return np.concatenate(new) if new else np.empty(0, dtype=np.int64)

    def _add_batch(self, batch, species):
        """Indices (into ``batch``, a :class:`Projected`) of the rows that become ULEs.

        ``species`` (object array, one per row; None entries if unknown) only orders the
        search: each species' rows meet that species' ULEs first.
        """
        matched = np.zeros(len(batch.vectors), dtype=bool)
        ule_species = np.asarray(self._species, dtype=object)
        for centre in sorted(set(species.tolist()), key=str):
            rows = np.flatnonzero(species == centre)
            chunks = _popularity_chunks(self._hits, preferred=ule_species == centre)
            matched[rows] = _matched_in_chunks(batch, rows, self._ules.view, self._bound, chunks, self._hits)
        return self._new_leaders(batch, np.flatnonzero(~matched))

    def _new_leaders(self, batch, candidates):
        """Which rows ``candidates`` (indices into ``batch``, in order, matching no ULE)
        become ULEs when taken in order; returns those indices.

        Done in blocks of ``GRAM_BLOCK``: each block is first matched against the leaders of
        the earlier blocks (most often matched first, as for the dictionary), then its own
        Gram matrix settles the rest.  That costs (candidates × new leaders + candidates ×
        GRAM_BLOCK) dot products instead of candidates², which matters for the first
        batches, when nearly nothing matches.
        """
        leaders, found = _ProjectedRows(self.n_features, self._bound.n_head), []
        hits = np.zeros(0, dtype=np.int64)
        for start in range(0, len(candidates), GRAM_BLOCK):
            block = candidates[start:start + GRAM_BLOCK]
            if len(leaders):
                block = block[~_matched_in_chunks(batch, block, leaders.view, self._bound,
                                                  _popularity_chunks(hits), hits)]
            block_leaders = self._leaders_among(batch.vectors[block])
            leaders.append(batch.rows(block[block_leaders]))
            hits = np.concatenate([hits, np.zeros(len(block_leaders), dtype=np.int64)])
            found.append(block[block_leaders])
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)

    def _leaders_among(self, candidates):
        """Indices of the candidates that become ULEs when taken in order, from their float32
        Gram matrix (band rule of the exact_bounds docstring for the unsure pairs)."""
        if len(candidates) <= 1:
            return np.arange(len(candidates))
        gram = candidates @ candidates.T
        cut = self._cut
        leaders = np.empty(len(candidates), dtype=np.int64)
        n_leaders = 0
        for k in range(len(candidates)):
            earlier = leaders[:n_leaders]
            dots = gram[k, earlier]
            if n_leaders and dots.max() >= cut.high:
                continue
            unsure = earlier[dots >= cut.low]
            if len(unsure) and any_exact_match(candidates[k], candidates[unsure], self.min_dot):
                continue
            leaders[n_leaders] = k
            n_leaders += 1
        return leaders[:n_leaders]

    def to_frame(self):
        """ULE metadata: ``ule_id`` (int32), ``species``, ``source_sample_id``,
        ``source_atom`` (Int32, missing if not given)."""
        return pd.DataFrame({
            "ule_id": np.arange(len(self), dtype=np.int32),
            "species": pd.array(self._species, dtype="string"),
            "source_sample_id": pd.array(self._sample_ids, dtype="string"),
            "source_atom": pd.array(self._atoms, dtype="Int32"),
        })

    def to_table(self):
        """:meth:`to_frame` plus ``soap``, the unit vectors (fixed_size_list<float32>)."""
        table = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
        return table.append_column("soap", unit_vector_column(self.unit_vectors))

    def write(self, path, provenance=None):
        """Write ``dictionary.parquet``; the threshold and environment count go into the
        provenance (read back by :func:`read_dictionary`)."""
        record = dict(provenance or {})
        record["ules"] = {"threshold": self.threshold, "min_dot": self.min_dot,
                          "n_environments": self.n_environments, "n_ules": len(self),
                          "n_features": self.n_features}
        io.write_parquet(self.to_table(), path, provenance=record)


def _popularity_chunks(hits, preferred=None):
    """ULE ids in chunks: the ``preferred`` ones (bool mask, default none) first, then
    most-credited first, ties to the lower id.  The first chunk has
    max(FIRST_CHUNK_MIN, n / FIRST_CHUNK_DIVISOR) ids, each next one twice as many."""
    first = np.zeros(len(hits), dtype=bool) if preferred is None else np.asarray(preferred, dtype=bool)
    order = np.lexsort((-hits, ~first))
    chunks, start, size = [], 0, max(FIRST_CHUNK_MIN, -(-len(hits) // FIRST_CHUNK_DIVISOR))
    while start < len(order):
        chunks.append(order[start:start + size])
        start, size = start + size, 2 * size
    return chunks


def _matched_in_chunks(batch, rows, dictionary, bound, chunks, hits=None):
    """For the ``rows`` (indices) of ``batch``: does each match any ULE of ``dictionary``
    (both :class:`Projected`)?  Exact rule of the exact_bounds docstring.

    Dots are bounded from the head features first (``bound``, step 3).  The dictionary is met
    chunk by chunk (``chunks``: arrays of ULE ids covering it); a row with a sure match in a
    chunk skips the later ones, and its best ULE there gets a credit in ``hits``.  Rows left
    with no sure match are settled exactly from their full vectors, against only the ULEs the
    bounds could not rule out.  Exact whatever the chunks, so they only change the speed.
    """
    matched = np.zeros(len(rows), dtype=bool)
    if len(dictionary.vectors) == 0:
        return matched
    head = batch.head if len(rows) == len(batch.head) else batch.head[rows]
    tail_norm = batch.tail_norm[rows]
    undecided = {}  # position in rows -> arrays of the ULE ids the bounds could not rule out
    remaining = np.arange(len(rows))
    for columns in chunks:
        dots = (head if len(remaining) == len(rows) else head[remaining]) @ dictionary.head[columns].T
        lower, upper = bound.bracket(dots, np.multiply.outer(tail_norm[remaining], dictionary.tail_norm[columns]))
        best_at = lower.argmax(axis=1)
        sure = lower[np.arange(len(remaining)), best_at] >= bound.min_dot
        if hits is not None:
            hits += np.bincount(columns[best_at[sure]], minlength=len(hits))
        possible = upper >= bound.min_dot
        for position in np.flatnonzero(~sure & possible.any(axis=1)):
            undecided.setdefault(remaining[position], []).append(columns[possible[position]])
        matched[remaining[sure]] = True
        remaining = remaining[~sure]
        if len(remaining) == 0:
            break
    for position, ids in undecided.items():
        if not matched[position]:
            matched[position] = any_exact_match(batch.vectors[rows[position]],
                                                 dictionary.vectors[np.concatenate(ids)], bound.min_dot)
    return matched


class UleDictionary(NamedTuple):
    """A dictionary read back from Parquet."""

    frame: pd.DataFrame  # ule_id, species, source_sample_id, source_atom
    unit_vectors: np.ndarray  # float32 [n_ules, n_features]
    threshold: float  # the similarity threshold it was built with (nan if unknown)


def read_dictionary(path):
    """Read ``dictionary.parquet`` (from :meth:`LeaderDictionary.write`)."""
    table = pq.read_table(path)
    missing = {"ule_id", "species", "source_sample_id", "source_atom", "soap"} - set(table.column_names)
    if missing:
        raise InputError(path, "columns", f"missing {sorted(missing)}", "rebuild the dictionary")
    frame = table.drop_columns(["soap"]).to_pandas()
    if not np.array_equal(frame["ule_id"].to_numpy(), np.arange(len(frame))):
        raise InputError(path, "ule_id", "ids are not 0..n-1 in order", "rebuild the dictionary")
    vectors = checked_unit_vectors(vectors_from_column(table.column("soap"), path), source=path)
    threshold = io.read_provenance(path).get("ules", {}).get("threshold", float("nan"))
    return UleDictionary(frame, vectors, float(threshold))


def build_dictionary_from_files(paths, threshold, batch_size, log_interval_s=30.0):
    """Leader dictionary of all environments of the SOAP sources ``paths``, streamed.

    ``paths``: SOAP Parquet files, or :class:`~mgbarcode.descriptors.StructureSample` s whose
    vectors are computed as they are reached (``soap.store: false``; the same vectors, so the
    same dictionary).  Order (it defines the dictionary): sources in the order given, atoms in
    file order; the workflow passes the training samples sorted by sample id.  Memory: one file, one batch and
    the dictionary.  Logs progress every ``log_interval_s`` seconds and at the end.
    """
    paths = list(paths)
    dictionary = None
    started = last_log = time.perf_counter()
    for batch in iter_soap_batches(paths, batch_size):
        if dictionary is None:
            dictionary = LeaderDictionary(threshold, batch.unit_vectors.shape[1], batch_size)
        dictionary.add(batch.unit_vectors, batch.species, batch.sample_ids, batch.atoms)
        now = time.perf_counter()
        if now - last_log >= log_interval_s:
            last_log = now
            _log_progress("dictionary", dictionary, batch.file_index[-1] + 1, len(paths), now - started)
    if dictionary is None:
        raise InputError("SOAP files", "paths", "no environments to cluster", "pass training SOAP files")
    _log_progress("dictionary done", dictionary, len(paths), len(paths), time.perf_counter() - started)
    return dictionary


def read_threshold(choice_path):
    """The similarity threshold chosen by the calibration job (its JSON ``choice`` file)."""
    return json.loads(Path(choice_path).read_text())["threshold"]


def write_train_dictionary(catalogue_path, choice_path, soap, batch_size, out_path, config):
    """The dictionary job: the leader dictionary of every environment of the distinct ``train``
    samples of the catalogue, in sample-id order (then atom order), at the calibrated threshold
    (:func:`read_threshold`).  ``soap``: a :class:`~mgbarcode.descriptors.SoapInput`.  Written
    to ``out_path`` with provenance."""
    threshold = read_threshold(choice_path)
    catalogue = basins.distinct(pd.read_parquet(catalogue_path))
    train = catalogue[catalogue["split"] == TRAIN_SPLIT].sort_values("sample_id")
    paths = soap.sources(list(train["sample_id"]))
    dictionary = build_dictionary_from_files(paths, threshold, batch_size)
    log.info("%d ULEs from %d train samples at threshold %.4f", len(dictionary), len(paths), threshold)
    dictionary.write(out_path, provenance.record(config, threshold=threshold))


def _log_progress(what, dictionary, files_done, n_files, seconds):
    log.info("%s: %d/%d files, %d environments, %d ULEs, %.1f s (%.0f environments/s)", what,
             files_done, n_files, dictionary.n_environments, len(dictionary), seconds,
             dictionary.n_environments / max(seconds, 1e-9))
