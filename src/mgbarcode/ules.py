"""Unique local environments (ULEs): the leader dictionary, its calibration, and encoding.

Similarity of two unit SOAP vectors (METHOD §2)::

    M = 1 − ‖p̂ᵢ − p̂ⱼ‖ / 2,   ‖p̂ᵢ − p̂ⱼ‖² = 2 − 2 p̂ᵢ·p̂ⱼ,
    so  M ≥ t  ⟺  p̂ᵢ·p̂ⱼ ≥ d(t) = 1 − 2 (1 − t)²        (:func:`min_dot_for_threshold`).

**The match rule, exactly.**  Environment i *matches* ULE j iff the exact real dot product
of the two stored float32 unit vectors is ≥ d(t), with d(t) evaluated in float64.  Every
decision in this module (dictionary building, reference loop, encoder's ``matched`` flag)
follows that rule, whatever order a BLAS sums in:

1. A float32 matrix product gives each dot to within E₃₂ = γₙ(2⁻²⁴)·(1+τ)², where
   γₙ(u) = n·u / (1 − n·u) bounds the rounding of any n-term dot product whatever its
   summation order or use of FMA (Higham, *Accuracy and Stability of Numerical Algorithms*,
   eq. 3.5: |fl(x·y) − x·y| ≤ γₙ Σ|xₖyₖ| ≤ γₙ‖x‖‖y‖), and τ bounds how far the stored
   vectors' norms are from 1 (checked on input).  For n = 3289, E₃₂ ≈ 2·10⁻⁴.
2. A float32 dot ≥ d + 2E₃₂ is a sure match, one < d − 2E₃₂ a sure miss (a factor 2 of
   margin, and the cuts rounded outward to float32).  Only rows with a dot inside that
   band and no sure match are recomputed in float64 (E₆₄ ≈ 4·10⁻¹³ by the same bound),
   and only dots still inside *that* band are summed exactly with :func:`math.fsum`
   (float32 × float32 products are exact in float64, and the sign of fsum(products − d)
   is exact).  Measured on SOAP data: 1–2 % of rows need the float64 step while building
   (step 3 leaves them open), ~13 % while encoding with the plain float32 search at a threshold in the middle of the
   nearest-ULE similarities.
3. While building, dots are first bounded from a fixed subset H of "head" features alone
   (the largest by mean square in the first batch: SOAP's weight sits in a few hundred
   features).  x·u = x_H·u_H + x_T·u_T with |x_T·u_T| ≤ ‖x_T‖‖u_T‖ (Cauchy–Schwarz, T the
   other features), so with P the float32 head dot (|P − x_H·u_H| ≤ E_H = γ_|H|(2⁻²⁴)(1+τ)²)
   and ρ ≥ ‖x_T‖, P − ρₓρᵤ − E_H ≥ d is a sure match and P + ρₓρᵤ + E_H < d a sure miss;
   pairs in between are decided from the full vectors in float64, then exactly, as above.
   ρ² = fl₃₂(‖x‖²)/(1 − γₙ₊₁(2⁻²⁴)) − fl₆₄(‖x_H‖²)/(1 + γ_|H|₊₁(2⁻⁵³)) bounds ‖x_T‖² from
   above (the float32 squared norm is the one the unit check computes anyway); 10⁻¹² is
   added to every bound for the float64 arithmetic on them.  Measured on random-structure
   SOAP: the best 512 of 3289 features leave ‖x_T‖ ≤ 0.044, and head products are 1/6.4 of
   the work of full ones.
4. The encoder uses the same bounds (same :class:`_HeadBound`; head = the 512 features of
   largest mean square over the dictionary) to find each environment's nearest ULE: ULE j
   cannot be the nearest if its upper bound is below another ULE's lower bound, since then
   its exact dot is strictly smaller.  Over the float32 head-dot matrix H this is first
   tested with the largest ρ of the dictionary (ULE j stays only if H_j ≥ max H − 2r, r =
   ρₓ·max ρᵤ + E_H, the cut rounded down to float32), then with each pair's own bounds; only
   the ULEs left (~3 per environment on the study's glasses, of thousands) get a full dot, in
   float64, and the argmax and ``matched`` flag follow from those as in steps 2 and below
   with E₆₄ for E₃₂.  The pruned ULEs' exact dots are below the best one's, so neither
   result can change.

So the batched dictionary equals the one-at-a-time reference bit for bit, and an
environment that joined the dictionary (as a ULE or as a match) is always ``matched`` when
encoded against it.  The *nearest* ULE is exact in the same way: the argmax of the computed
dots, except for rows where another ULE's dot lies within 3·E of the best (a near-tie; E =
E₃₂ for the plain float32 search, E₆₄ for the pruned one), which are re-ranked in float64 and
then exactly; exact ties go to the lowest id.  (A float32 argmax alone would not do: the
same vector at two ids gets dots differing in the last bit, depending on where it sits in
the BLAS tiles.)  Encodings therefore do not depend on the BLAS library, the batch size or
the pruning.

**Dictionary order.**  Leader clustering depends on the order of the environments: files in
the order given (the workflow passes the training SOAP files sorted by sample id), atoms in
file order.  An environment becomes a new ULE iff it matches no existing ULE.
"""

import logging
import math
import time
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import io
from .descriptors import iter_soap_batches, unit_vector_column, vectors_from_column
from .errors import InputError
from .results_layout import ULE_PREFIX

log = logging.getLogger(__name__)

FLOAT32_UNIT_ROUNDOFF = 2.0 ** -24
FLOAT64_UNIT_ROUNDOFF = 2.0 ** -53
# Accepted |‖p̂‖ − 1| of input unit vectors; enters the rounding bounds above.
NORM_TOLERANCE = 1e-3
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
# Head features the build and the encoder bound dots with first (module docstring, steps 3
# and 4); performance only.
HEAD_FEATURES = 512
# The encoder computes the full dots of the (row, ULE) pairs its bounds leave open in blocks of
# this many pairs.  A batch whose float32 head-dot test (module docstring, step 4) leaves more
# than PRUNE_MAX_FRACTION of all pairs open is done with one full float32 GEMM instead: a
# gathered pair's full dot costs the time of ~50 GEMM entries (measured, 3289 features, one
# BLAS thread), and the pairs' own bounds then keep about half of those the first test left.
# SOAP leaves ~5 pairs per environment to that test; vectors whose weight is not in a few
# features (random ones) leave nearly all.  Performance only; the result is the same.
PAIR_BLOCK = 256
PRUNE_MAX_FRACTION = 1 / 32
# Added to every bound computed in float64 arithmetic (terms of size <= 4, a few operations).
ARITHMETIC_SLACK = 1e-12


# --------------------------------------------------------------------------- similarity

def similarity_from_dot(dot):
    """Similarity M = 1 − ‖p̂ᵢ − p̂ⱼ‖/2 of unit vectors from their dot product (dimensionless,
    in [0, 1]; keeps the dtype of ``dot``)."""
    dot = np.asarray(dot)
    return 1 - np.sqrt(np.maximum(2 - 2 * dot, 0)) / 2


def min_dot_for_threshold(threshold):
    """The dot product d(t) = 1 − 2(1 − t)² (float64) at which M equals ``threshold``."""
    threshold = float(threshold)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"similarity threshold must be in (0, 1], got {threshold}")
    return 1.0 - 2.0 * (1.0 - threshold) ** 2


def ule_column(ule_id):
    """Column name of ULE ``ule_id`` in the fraction and count tables: ``ule_0042``."""
    return f"{ULE_PREFIX}{int(ule_id):04d}"


def _gamma(n_terms, unit_roundoff):
    """Higham's γₙ = n·u / (1 − n·u): relative rounding bound of an n-term sum of products."""
    nu = n_terms * unit_roundoff
    if nu >= 0.5:
        raise ValueError(f"{n_terms} terms are too many for the rounding bound")
    return nu / (1.0 - nu)


def _dot_error_bound(n_features, unit_roundoff):
    """Bound on |computed − exact| of a dot product of two stored unit vectors (module
    docstring, step 1)."""
    return _gamma(n_features, unit_roundoff) * (1.0 + NORM_TOLERANCE) ** 2


class _Cut:
    """The band [low, high) of computed dots that cannot be decided at one precision.

    ``computed >= high``: sure match; ``computed < low``: sure miss.  Both cuts are rounded
    outward in ``dtype`` so that comparing arrays of that dtype is safe.
    """

    def __init__(self, min_dot, n_features, dtype, unit_roundoff):
        error = _dot_error_bound(n_features, unit_roundoff)
        self.error = error
        self.min_dot = min_dot
        self.high = _round_outward(min_dot + 2 * error, dtype, up=True)
        self.low = _round_outward(min_dot - 2 * error, dtype, up=False)
        # The factor 2 above absorbs the float64 rounding of min_dot ± error itself.


def _round_outward(value, dtype, up):
    """``value`` (float64, scalar or array) rounded to ``dtype``, up (never below it) or down
    (never above it); a scalar gives a ``dtype`` scalar."""
    value = np.asarray(value)
    rounded = value.astype(dtype)
    outward = rounded < value if up else rounded > value
    return np.where(outward, np.nextafter(rounded, dtype.type(np.inf if up else -np.inf)), rounded)[()]


def _exact_match(x, y, min_dot):
    """Exact x·y ≥ min_dot for float32 vectors x, y (products exact in float64; fsum exact)."""
    products = x.astype(np.float64) * y.astype(np.float64)
    return math.fsum([*products.tolist(), -min_dot]) >= 0.0


def _any_exact_match(x, rows, min_dot):
    """Whether float32 vector ``x`` matches any of ``rows`` under the exact rule.

    ``rows`` may be float32 or float64 holding float32 values (a float64 array is used as
    is, which keeps the reference loop from copying its dictionary per environment).
    """
    if len(rows) == 0:
        return False
    x64 = x.astype(np.float64)
    dots = rows.astype(np.float64, copy=False) @ x64
    cut = _Cut(min_dot, len(x), np.dtype(np.float64), FLOAT64_UNIT_ROUNDOFF)
    if (dots >= cut.high).any():
        return True
    return any(_exact_match(x, rows[j], min_dot) for j in np.flatnonzero(dots >= cut.low))


def _checked_unit_vectors(unit_vectors, source="unit vectors"):
    """C-contiguous float32 [n, n_features]; InputError unless every row has norm 1 ± τ."""
    return _checked_unit_vectors_and_squared_norms(unit_vectors, source)[0]


def _checked_unit_vectors_and_squared_norms(unit_vectors, source="unit vectors"):
    """:func:`_checked_unit_vectors` and the float32 squared norms it checked them with."""
    vectors = np.ascontiguousarray(unit_vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise InputError(source, "soap", f"shape {vectors.shape}, expected [n, n_features]",
                         "pass a 2-D array of unit vectors")
    norms_sq = np.einsum("ij,ij->i", vectors, vectors)
    bad = np.flatnonzero(~(np.abs(norms_sq - 1) <= 2 * NORM_TOLERANCE))
    if len(bad):
        raise InputError(source, "soap", f"rows {bad[:10].tolist()} are not unit vectors "
                         f"(squared norms {norms_sq[bad[:3]].tolist()})",
                         "normalise the SOAP vectors (mgbarcode.descriptors.soap_vectors)")
    return vectors, norms_sq


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


class _Projected(NamedTuple):
    """Environments as the dictionary build compares them (module docstring, step 3)."""

    vectors: np.ndarray  # float32 [n, n_features], unit
    head: np.ndarray  # float32 [n, n_head]: the head features, contiguous
    tail_norm: np.ndarray  # float64 [n]: >= the norm of the other features

    def rows(self, index):
        return _Projected(self.vectors[index], self.head[index], self.tail_norm[index])


class _ProjectedRows:
    """A growable :class:`_Projected` (each part grows by doubling)."""

    def __init__(self, n_features, n_head):
        self._parts = (_GrowableRows(n_features, np.float32), _GrowableRows(n_head, np.float32),
                       _GrowableRows(1, np.float64))

    def __len__(self):
        return len(self._parts[0])

    @property
    def view(self):
        vectors, head, tail_norm = (part.view for part in self._parts)
        return _Projected(vectors, head, tail_norm[:, 0])

    def append(self, projected):
        for part, values in zip(self._parts, (projected.vectors, projected.head, projected.tail_norm[:, None])):
            part.append(values)


class _HeadBound:
    """Bounds on dot products from the head features (module docstring, step 3).

    ``features``: sorted int64 indices of the head features, or None for all of them (then
    there is no rest, and ρ = 0).
    """

    def __init__(self, features, n_features, min_dot):
        self.features = features
        self.n_features = n_features
        self.n_head = n_features if features is None else len(features)
        self.min_dot = min_dot
        self.error = _dot_error_bound(self.n_head, FLOAT32_UNIT_ROUNDOFF) + ARITHMETIC_SLACK

    @classmethod
    def from_sample(cls, unit_vectors, n_head, min_dot):
        """Head = the ``n_head`` features with the largest mean square over ``unit_vectors``
        (ties to the lower index); all features if there are no more than ``2 * n_head``."""
        n_features = unit_vectors.shape[1]
        if n_features <= 2 * n_head:
            return cls(None, n_features, min_dot)
        mean_square = np.einsum("ij,ij->j", unit_vectors, unit_vectors)
        return cls(np.sort(np.argsort(-mean_square, kind="stable")[:n_head]), n_features, min_dot)

    def project(self, vectors, squared_norms):
        """:class:`_Projected` of unit ``vectors`` given their float32 ``squared_norms``."""
        if self.features is None:
            return _Projected(vectors, vectors, np.zeros(len(vectors)))
        head = np.take(vectors, self.features, axis=1)
        head64 = head.astype(np.float64)
        head_squared = np.einsum("ij,ij->i", head64, head64)
        rest_squared = (squared_norms.astype(np.float64) / (1 - _gamma(self.n_features + 1, FLOAT32_UNIT_ROUNDOFF))
                        - head_squared / (1 + _gamma(self.n_head + 1, FLOAT64_UNIT_ROUNDOFF)) + ARITHMETIC_SLACK)
        tail_norm = np.sqrt(np.maximum(rest_squared, 0.0)) * (1 + 4 * FLOAT64_UNIT_ROUNDOFF)
        return _Projected(vectors, head, tail_norm)

    def reach(self, tail_products):
        """ρₓρᵤ + E_H (float64): how far an exact dot can lie from its float32 head dot, given
        the product ``tail_products`` of the two vectors' tail norms."""
        return tail_products + self.error

    def bracket(self, head_dots, tail_products):
        """float64 ``(lower, upper)`` bounds of exact dots from their float32 ``head_dots``
        and the products of the two sides' tail norms (arrays that broadcast together)."""
        dots = head_dots.astype(np.float64)
        reach = self.reach(tail_products)
        return dots - reach, dots + reach


# --------------------------------------------------------------------------- dictionary

def build_dictionary_reference(unit_vectors, threshold):
    """Leader clustering one environment at a time: the definition the batched code must equal.

    Environment k becomes a new ULE iff it matches no earlier ULE (exact rule of the module
    docstring; dots against the whole dictionary in one float64 matrix-vector product).
    Returns the int64 indices of the leaders, in input order.  Slow: for tests and benchmarks.
    """
    vectors = _checked_unit_vectors(unit_vectors)
    min_dot = min_dot_for_threshold(threshold)
    dictionary = _GrowableRows(vectors.shape[1], np.float64)
    leaders = []
    for k, vector in enumerate(vectors):
        if not _any_exact_match(vector, dictionary.view, min_dot):
            dictionary.append(vector[None, :])
            leaders.append(k)
    return np.asarray(leaders, dtype=np.int64)


class LeaderDictionary:
    """Exact leader clustering, batched (same result as :func:`build_dictionary_reference`).

    For each batch of environments (in order):

    1. float32 products of the head features (module docstring, step 3) bound every dot;
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
        self._cut = _Cut(self.min_dot, self.n_features, np.dtype(np.float32), FLOAT32_UNIT_ROUNDOFF)
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
        vectors, squared_norms = _checked_unit_vectors_and_squared_norms(unit_vectors)
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
                self._bound = _HeadBound.from_sample(vectors[window], HEAD_FEATURES, self.min_dot)
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
        """Indices (into ``batch``, a :class:`_Projected`) of the rows that become ULEs.

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
        Gram matrix (band rule of the module docstring for the unsure pairs)."""
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
            if len(unsure) and _any_exact_match(candidates[k], candidates[unsure], self.min_dot):
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
    (both :class:`_Projected`)?  Exact rule of the module docstring.

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
            matched[position] = _any_exact_match(batch.vectors[rows[position]],
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
    vectors = _checked_unit_vectors(vectors_from_column(table.column("soap"), path), source=path)
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


def _log_progress(what, dictionary, files_done, n_files, seconds):
    log.info("%s: %d/%d files, %d environments, %d ULEs, %.1f s (%.0f environments/s)", what,
             files_done, n_files, dictionary.n_environments, len(dictionary), seconds,
             dictionary.n_environments / max(seconds, 1e-9))


# --------------------------------------------------------------------------- calibration

def select_calibration_samples(sample_ids, n_samples, seed):
    """``n_samples`` of ``sample_ids`` drawn without replacement by a seeded RNG (all of them
    if there are fewer), returned sorted.  The ids are sorted first, so the choice does not
    depend on the order they are given in."""
    ids = sorted(set(sample_ids))
    if n_samples >= len(ids):
        return ids
    chosen = np.random.default_rng(seed).choice(len(ids), size=int(n_samples), replace=False)
    return sorted(ids[i] for i in chosen)


def count_ules_by_threshold(unit_vectors, thresholds, batch_size, species=None):
    """Dictionary size (int64) at each similarity threshold for the same environments in the
    same order: the ULE count against threshold curve (the paper's Fig. A1 analogue).
    ``species`` (centre species per row, optional) only speeds the builds up."""
    vectors = _checked_unit_vectors(unit_vectors)
    counts = []
    for threshold in thresholds:
        dictionary = LeaderDictionary(threshold, vectors.shape[1], batch_size)
        dictionary.add(vectors, species)
        counts.append(len(dictionary))
        log.info("threshold %.4f: %d ULEs from %d environments", threshold, len(dictionary), len(vectors))
    return np.asarray(counts, dtype=np.int64)


def threshold_for_target_size(thresholds, counts, target_size):
    """The threshold whose ULE count is closest to ``target_size`` on a log scale.

    Rule: minimise |log(count) − log(target)| (counts span decades, so 200 and 800 are
    equally far from 400); ties go to the smaller threshold (the smaller dictionary).  No
    interpolation: the returned threshold is one that was measured.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    if thresholds.shape != counts.shape or len(thresholds) == 0:
        raise ValueError("thresholds and counts must be non-empty and of equal length")
    if target_size < 1 or (counts < 1).any():
        raise ValueError("target_size and counts must be >= 1")
    distance = np.abs(np.log(counts / target_size))
    best = np.flatnonzero(distance == distance.min())
    return float(thresholds[best].min())


# --------------------------------------------------------------------------- encoding

class _NearestSearch:
    """The dictionary as the encoder searches it (module docstring, step 4).

    ``prune=False`` computes every dot with one float32 GEMM per batch (the plain search);
    ``prune=True`` (when the vectors have more than 2 × HEAD_FEATURES features) first bounds
    every dot from the head features and computes full dots only for the ULEs that may be the
    nearest.  Both give the same assignments: the exact argmax and the exact matched flag.
    """

    def __init__(self, dictionary_vectors, threshold, prune=True):
        vectors, squared_norms = _checked_unit_vectors_and_squared_norms(dictionary_vectors, source="dictionary")
        if len(vectors) == 0:
            raise InputError("dictionary", "ule_id", "the dictionary is empty", "rebuild it from training data")
        self.cut = _Cut(min_dot_for_threshold(threshold), vectors.shape[1], np.dtype(np.float32),
                        FLOAT32_UNIT_ROUNDOFF)
        bound = _HeadBound.from_sample(vectors, HEAD_FEATURES, self.cut.min_dot) if prune else None
        self.bound = bound if bound is not None and bound.features is not None else None
        self.vectors = vectors
        if self.bound is not None:
            self.ules = self.bound.project(vectors, squared_norms)
            self.largest_tail_norm = float(self.ules.tail_norm.max())
            self.cut64 = _Cut(self.cut.min_dot, vectors.shape[1], np.dtype(np.float64), FLOAT64_UNIT_ROUNDOFF)

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
        """The ULEs that may be nearest to each row of ``batch`` (a :class:`_Projected`) and
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
        floor = _round_outward(top - 2 * self.bound.reach(batch.tail_norm * self.largest_tail_norm)
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
    only rows whose best dot lies inside the rounding band are recomputed (module docstring,
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
        matched[row] = _any_exact_match(batch[row], dictionary[ids[row, dots[row] >= cut.low]], cut.min_dot)
    return ids[rows, position].astype(np.int32), dots[rows, position].astype(np.float32), matched


def _exact_argmax(x, rows):
    """Index of the row with the largest exact dot with ``x`` (lowest index on exact ties)."""
    x64 = x.astype(np.float64)
    dots = rows.astype(np.float64) @ x64
    error = _dot_error_bound(len(x), FLOAT64_UNIT_ROUNDOFF)
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
    back to it, within ~1e-3), and whether M ≥ ``threshold`` (exact rule, module docstring).  Per ``batch_size`` rows: one float32 GEMM
    of the head features, then full dots only where the bounds leave a ULE in the running
    (step 4); ``prune=False`` does one full float32 GEMM instead (same result, for tests and
    benchmarks).  Near-ties and near-threshold rows are re-checked as described there.
    """
    vectors, squared_norms = _checked_unit_vectors_and_squared_norms(unit_vectors)
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
        vectors_batch, squared_norms = _checked_unit_vectors_and_squared_norms(
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


def _sample_table(sample_ids, n_atoms, n_unmatched, per_ule):
    """One row per sample: sample_id, n_atoms, n_unmatched, then ule_0000 … columns."""
    head = pd.DataFrame({"sample_id": sample_ids, "n_atoms": n_atoms, "n_unmatched": n_unmatched})
    body = pd.DataFrame(per_ule, columns=[ule_column(i) for i in range(per_ule.shape[1])])
    return pd.concat([head, body], axis=1)
