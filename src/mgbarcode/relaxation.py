"""Structural relaxation time τα of a liquid from the self-intermediate scattering function.

F_s(q, t) = ⟨ sin(q |Δr_i(t)|) / (q |Δr_i(t)|) ⟩, the isotropic average of
⟨exp(i q·Δr_i(t))⟩ over atoms i and time origins, with Δr_i(t) the unwrapped displacement of
atom i over a lag t (Hansen & McDonald, *Theory of Simple Liquids*, ch. 7).  At q near the
first peak of the structure factor (≈ 2.7 Å⁻¹ for Cu–Zr) F_s decays on the time scale on
which an atom leaves its cage; τα is the lag at which it falls to 1/e (Kob & Andersen,
PRE 51 (1995) 4626).  A crystal's F_s stays at its Debye–Waller plateau exp(−q²⟨u²⟩/3).

Samples closer in time than τα share much of their structure, and their inherent
structures repeat: the ladder protocol measures τα at each level and warns when its snapshots
are closer than that.
Units: Å, ps, Å⁻¹.
"""

import numpy as np

RELAXED_LEVEL = 1.0 / np.e


def self_intermediate_scattering(unwrapped_positions_A, frame_interval_ps, wavenumber_per_A, max_lag_fraction=0.5):
    """F_s(q, t) of a trajectory of unwrapped positions, averaged over atoms and time origins.

    Parameters
    ----------
    unwrapped_positions_A : array (n_frames, n_atoms, 3)
        Positions without periodic wrapping (each atom's path is continuous), Å.
    frame_interval_ps : float
        Time between consecutive frames, ps.
    wavenumber_per_A : float
        q, Å⁻¹ (the first peak of S(q), ≈ 2.7 Å⁻¹ for Cu–Zr).
    max_lag_fraction : float
        Longest lag as a fraction of the trajectory (longer lags have too few origins).

    Returns
    -------
    lags_ps, f_s : arrays (n_lags,)
        Lags from 0 (where F_s = 1) and F_s at each lag.
    """
    positions = np.asarray(unwrapped_positions_A, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[2] != 3 or positions.shape[0] < 2:
        raise ValueError(f"positions must have shape (n_frames >= 2, n_atoms, 3), got {positions.shape}")
    n_frames = positions.shape[0]
    max_lag = max(1, int(max_lag_fraction * (n_frames - 1)))
    f_s = np.empty(max_lag + 1)
    f_s[0] = 1.0
    for lag in range(1, max_lag + 1):
        distances = np.linalg.norm(positions[lag:] - positions[:-lag], axis=2)
        f_s[lag] = np.mean(np.sinc(wavenumber_per_A * distances / np.pi))  # np.sinc(x) = sin(πx)/(πx)
    return np.arange(max_lag + 1) * frame_interval_ps, f_s


def relaxation_time(lags_ps, f_s, level=RELAXED_LEVEL):
    """τα: the first lag at which F_s falls to ``level`` (1/e), linearly interpolated (ps).

    Returns NaN when F_s stays above ``level`` over every lag: the liquid did not relax
    within the window, so τα is longer than ``lags_ps[-1]``.
    """
    lags_ps, f_s = np.asarray(lags_ps, dtype=float), np.asarray(f_s, dtype=float)
    below = np.flatnonzero(f_s <= level)
    if len(below) == 0:
        return float("nan")
    i = below[0]
    if i == 0:
        return 0.0
    t0, t1, f0, f1 = lags_ps[i - 1], lags_ps[i], f_s[i - 1], f_s[i]
    return float(t0 + (f0 - level) * (t1 - t0) / (f0 - f1))


def unwrap(wrapped_positions_A, cells_A):
    """Continuous paths from positions wrapped into a periodic cell that may change shape.

    Each step between consecutive frames is taken as the minimum image in fractional
    coordinates, so frames must be close enough that no atom moves half a cell between them.

    Parameters
    ----------
    wrapped_positions_A : array (n_frames, n_atoms, 3), Å
    cells_A : array (n_frames, 3, 3), cell vectors as rows, Å

    Returns
    -------
    array (n_frames, n_atoms, 3): unwrapped positions, Å, equal to the input at frame 0.
    """
    positions = np.asarray(wrapped_positions_A, dtype=np.float64)
    cells = np.asarray(cells_A, dtype=np.float64)
    fractional = np.einsum("fnj,fjk->fnk", positions, np.linalg.inv(cells))
    steps = np.diff(fractional, axis=0)
    steps -= np.round(steps)
    displacements = np.einsum("fnj,fjk->fnk", steps, cells[1:])
    return np.concatenate([positions[:1], positions[:1] + np.cumsum(displacements, axis=0)])
