"""Exact floating-point bounds: the similarity, the exact match rule at the cut, outward
rounding, and the head-feature bounds on dot products."""

from fractions import Fraction

import numpy as np
import pytest

from mgbarcode.ules import exact_bounds
from tests.conftest import unit_rows

pytestmark = pytest.mark.usefixtures("single_blas_thread")


def test_similarity_is_the_papers_distance_formula():
    rng = np.random.default_rng(0)
    a, b = unit_rows(rng.normal(size=(2, 50, 30)).reshape(100, 30)).reshape(2, 50, 30).astype(np.float64)
    direct = 1 - np.linalg.norm(a - b, axis=1) / 2
    np.testing.assert_allclose(exact_bounds.similarity_from_dot(np.einsum("ij,ij->i", a, b)), direct, atol=1e-7)
    assert exact_bounds.similarity_from_dot(1.0) == 1.0 and exact_bounds.similarity_from_dot(-1.0) == 0.0
    for threshold in (0.5, 0.84, 0.95, 0.999):
        assert (exact_bounds.similarity_from_dot(exact_bounds.min_dot_for_threshold(threshold))
                == pytest.approx(threshold))
    assert exact_bounds.similarity_from_dot(np.float32(0.9)).dtype == np.float32
    with pytest.raises(ValueError):
        exact_bounds.min_dot_for_threshold(1.5)


def test_exact_match_is_exact_at_the_cut():
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, y = unit_rows(rng.normal(size=(2, 40)))
        exact = sum(Fraction(float(p)) * Fraction(float(q)) for p, q in zip(x, y))
        for offset in (-1e-15, 0.0, 1e-15):
            min_dot = float(exact) + offset
            assert exact_bounds._exact_match(x, y, min_dot) == (exact >= Fraction(min_dot))


def test_rounding_outward_to_float32_brackets_the_value():
    values = np.random.default_rng(6).uniform(-2, 2, size=1000)
    down = exact_bounds.round_outward(values, np.dtype(np.float32), up=False)
    up = exact_bounds.round_outward(values, np.dtype(np.float32), up=True)
    assert down.dtype == up.dtype == np.float32
    assert (down <= values).all() and (up >= values).all() and (np.nextafter(down, np.float32(np.inf)) >= values).all()
    scalar = exact_bounds.round_outward(0.1, np.dtype(np.float32), up=True)
    assert isinstance(scalar, np.float32) and scalar >= 0.1 and scalar == np.float32(0.1)  # 0.1 rounds up


def test_head_bounds_bracket_every_exact_dot(glass_vectors):
    """Step 3 of the exact_bounds docstring: the head features' float32 dot ± ρₓρᵤ ± E_H
    brackets the exact dot of every pair, and ρ is a tight upper bound of the rest's norm."""
    min_dot = exact_bounds.min_dot_for_threshold(0.9)
    bound = exact_bounds.HeadBound.from_sample(glass_vectors, exact_bounds.HEAD_FEATURES, min_dot)
    assert bound.n_head == exact_bounds.HEAD_FEATURES < glass_vectors.shape[1]
    vectors, squared_norms = exact_bounds.checked_unit_vectors_and_squared_norms(glass_vectors)
    projected = bound.project(vectors, squared_norms)
    exact64 = vectors.astype(np.float64)
    rest = np.delete(exact64, bound.features, axis=1)
    rest_norm = np.sqrt(np.einsum("ij,ij->i", rest, rest))
    assert (projected.tail_norm >= rest_norm).all()
    # ρ² exceeds ‖x_T‖² by at most twice the float32 squared norm's rounding bound.
    float32_norm_error = exact_bounds._gamma(vectors.shape[1] + 1, exact_bounds.FLOAT32_UNIT_ROUNDOFF)
    assert (projected.tail_norm ** 2 - rest_norm ** 2 <= 2.1 * float32_norm_error).all()
    assert rest_norm.max() < 0.1  # SOAP's weight is in the head features
    head_dots = (projected.head @ projected.head.T).astype(np.float64)
    reach = np.multiply.outer(projected.tail_norm, projected.tail_norm) + bound.error
    exact = exact64 @ exact64.T  # float64 error ~1e-13, far inside the margins below
    assert (head_dots - reach <= exact + 1e-12).all() and (exact - 1e-12 <= head_dots + reach).all()
    # The bounds are tight enough to decide most pairs near the threshold on their own.
    near = np.abs(exact - min_dot) < 0.02
    decided = (head_dots - reach >= min_dot) | (head_dots + reach < min_dot)
    assert near.sum() > 100 and decided[near].mean() > 0.8
