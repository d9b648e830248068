"""Exact floating-point bounds: the ULE match rule decided exactly from rounded dot products.

Similarity of two unit SOAP vectors (METHOD §2)::

    M = 1 − ‖p̂ᵢ − p̂ⱼ‖ / 2,   ‖p̂ᵢ − p̂ⱼ‖² = 2 − 2 p̂ᵢ·p̂ⱼ,
    so  M ≥ t  ⟺  p̂ᵢ·p̂ⱼ ≥ d(t) = 1 − 2 (1 − t)²        (:func:`min_dot_for_threshold`).

**The match rule, exactly.**  Environment i *matches* ULE j iff the exact real dot product
of the two stored float32 unit vectors is ≥ d(t), with d(t) evaluated in float64.  Every
decision of :mod:`mgbarcode.ules` (dictionary building, reference loop, encoder's ``matched``
flag) follows that rule, whatever order a BLAS sums in:

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
3. While building (:mod:`~mgbarcode.ules.leader_dictionary`), dots are first bounded from a
   fixed subset H of "head" features alone
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
4. The encoder (:mod:`~mgbarcode.ules.encoding`) uses the same bounds (same
   :class:`HeadBound`; head = the 512 features of
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
"""

import math
from typing import NamedTuple

import numpy as np

from ..errors import InputError

FLOAT32_UNIT_ROUNDOFF = 2.0 ** -24
FLOAT64_UNIT_ROUNDOFF = 2.0 ** -53
# Accepted |‖p̂‖ − 1| of input unit vectors; enters the rounding bounds above.
NORM_TOLERANCE = 1e-3
# Head features the build and the encoder bound dots with first (module docstring, steps 3
# and 4); performance only.
HEAD_FEATURES = 512
# Added to every bound computed in float64 arithmetic (terms of size <= 4, a few operations).
ARITHMETIC_SLACK = 1e-12


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


def _gamma(n_terms, unit_roundoff):
    """Higham's γₙ = n·u / (1 − n·u): relative rounding bound of an n-term sum of products."""
    nu = n_terms * unit_roundoff
    if nu >= 0.5:
        raise ValueError(f"{n_terms} terms are too many for the rounding bound")
    return nu / (1.0 - nu)


def dot_error_bound(n_features, unit_roundoff):
    """Bound on |computed − exact| of a dot product of two stored unit vectors (module
    docstring, step 1)."""
    return _gamma(n_features, unit_roundoff) * (1.0 + NORM_TOLERANCE) ** 2


class Cut:
    """The band [low, high) of computed dots that cannot be decided at one precision.

    ``computed >= high``: sure match; ``computed < low``: sure miss.  Both cuts are rounded
    outward in ``dtype`` so that comparing arrays of that dtype is safe.
    """

    def __init__(self, min_dot, n_features, dtype, unit_roundoff):
        error = dot_error_bound(n_features, unit_roundoff)
        self.error = error
        self.min_dot = min_dot
        self.high = round_outward(min_dot + 2 * error, dtype, up=True)
        self.low = round_outward(min_dot - 2 * error, dtype, up=False)
        # The factor 2 above absorbs the float64 rounding of min_dot ± error itself.


def round_outward(value, dtype, up):
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


def any_exact_match(x, rows, min_dot):
    """Whether float32 vector ``x`` matches any of ``rows`` under the exact rule.

    ``rows`` may be float32 or float64 holding float32 values (a float64 array is used as
    is, which keeps the reference loop from copying its dictionary per environment).
    """
    if len(rows) == 0:
        return False
    x64 = x.astype(np.float64)
    dots = rows.astype(np.float64, copy=False) @ x64
    cut = Cut(min_dot, len(x), np.dtype(np.float64), FLOAT64_UNIT_ROUNDOFF)
    if (dots >= cut.high).any():
        return True
    return any(_exact_match(x, rows[j], min_dot) for j in np.flatnonzero(dots >= cut.low))


def checked_unit_vectors(unit_vectors, source="unit vectors"):
    """C-contiguous float32 [n, n_features]; InputError unless every row has norm 1 ± τ."""
    return checked_unit_vectors_and_squared_norms(unit_vectors, source)[0]


def checked_unit_vectors_and_squared_norms(unit_vectors, source="unit vectors"):
    """:func:`checked_unit_vectors` and the float32 squared norms it checked them with."""
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


class Projected(NamedTuple):
    """Environments as the dictionary build compares them (module docstring, step 3)."""

    vectors: np.ndarray  # float32 [n, n_features], unit
    head: np.ndarray  # float32 [n, n_head]: the head features, contiguous
    tail_norm: np.ndarray  # float64 [n]: >= the norm of the other features

    def rows(self, index):
        return Projected(self.vectors[index], self.head[index], self.tail_norm[index])


class HeadBound:
    """Bounds on dot products from the head features (module docstring, step 3).

    ``features``: sorted int64 indices of the head features, or None for all of them (then
    there is no rest, and ρ = 0).
    """

    def __init__(self, features, n_features, min_dot):
        self.features = features
        self.n_features = n_features
        self.n_head = n_features if features is None else len(features)
        self.min_dot = min_dot
        self.error = dot_error_bound(self.n_head, FLOAT32_UNIT_ROUNDOFF) + ARITHMETIC_SLACK

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
        """:class:`Projected` of unit ``vectors`` given their float32 ``squared_norms``."""
        if self.features is None:
            return Projected(vectors, vectors, np.zeros(len(vectors)))
        head = np.take(vectors, self.features, axis=1)
        head64 = head.astype(np.float64)
        head_squared = np.einsum("ij,ij->i", head64, head64)
        rest_squared = (squared_norms.astype(np.float64) / (1 - _gamma(self.n_features + 1, FLOAT32_UNIT_ROUNDOFF))
                        - head_squared / (1 + _gamma(self.n_head + 1, FLOAT64_UNIT_ROUNDOFF)) + ARITHMETIC_SLACK)
        tail_norm = np.sqrt(np.maximum(rest_squared, 0.0)) * (1 + 4 * FLOAT64_UNIT_ROUNDOFF)
        return Projected(vectors, head, tail_norm)

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
