"""Estimation accuracy and consistency: RMSE against truth, NEES and NIS with their χ² bands.

These are the standard checks of a Kalman filter (Bar-Shalom, Li & Kirubarajan, *Estimation with
Applications to Tracking and Navigation*, 2001, §5.4): over R independent Monte Carlo runs, the
average normalised estimation error squared (NEES) of a consistent filter with a d-dimensional
state is distributed as χ²(R d) / R, so it must lie inside the two-sided χ² band computed here;
the same holds for the normalised innovation squared (NIS) with the measurement dimension.
Arrays keep the Monte Carlo runs on axis 0 so that a batched filter's rows (one run per row) feed
them directly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.stats import chi2


def _diff(x_est: np.ndarray, x_true: np.ndarray, index: slice | np.ndarray) -> np.ndarray:
    x_est = np.asarray(x_est, dtype=float)
    x_true = np.asarray(x_true, dtype=float)
    return x_est[..., index] - np.broadcast_to(x_true, x_est.shape)[..., index]


def rmse(
    x_est: np.ndarray, x_true: np.ndarray, index: slice | np.ndarray, axis: int = 0
) -> np.ndarray:
    """Root mean square of the Euclidean error over the components ``index``, averaged over
    ``axis`` (the Monte Carlo runs): √(mean ‖x̂ − x‖²)."""
    e = _diff(x_est, x_true, index)
    return np.sqrt(np.mean(np.sum(e**2, axis=-1), axis=axis))


def position_rmse(x_est: np.ndarray, x_true: np.ndarray, axis: int = 0) -> np.ndarray:
    """Position RMSE (m) over runs on ``axis``; states (..., d≥3) with position first."""
    return rmse(x_est, x_true, slice(0, 3), axis)


def velocity_rmse(x_est: np.ndarray, x_true: np.ndarray, axis: int = 0) -> np.ndarray:
    """Velocity RMSE (m/s) over runs on ``axis``; states (..., d≥6) with velocity at 3:6."""
    return rmse(x_est, x_true, slice(3, 6), axis)


def nees(
    x_est: np.ndarray, P: np.ndarray, x_true: np.ndarray, index: slice | np.ndarray = slice(None)
) -> np.ndarray:
    """Normalised estimation error squared eᵀ P⁻¹ e per row, on the components ``index``.

    ``x_est`` (..., d), ``P`` (..., d, d), ``x_true`` broadcastable to ``x_est``.
    """
    e = _diff(x_est, x_true, index)
    P = np.asarray(P, dtype=float)
    if isinstance(index, slice):
        Ps = P[..., index, index]
    else:
        Ps = P[..., index[:, None], index[None, :]]
    return np.einsum("...i,...i->...", e, np.linalg.solve(Ps, e[..., None])[..., 0])


def nis(innovation: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Normalised innovation squared yᵀ S⁻¹ y per row."""
    y = np.asarray(innovation, dtype=float)
    return np.einsum("...i,...i->...", y, np.linalg.solve(S, y[..., None])[..., 0])


class Chi2Band(NamedTuple):
    """Two-sided acceptance interval for the average of ``runs`` χ²(dof) samples."""

    lower: float
    upper: float

    def contains(self, value: float | np.ndarray) -> np.ndarray:
        return (np.asarray(value) >= self.lower) & (np.asarray(value) <= self.upper)


def chi2_band(dof: int, runs: int, confidence: float = 0.95) -> Chi2Band:
    """Band for the Monte Carlo average of NEES/NIS: [χ²_{R·dof}(α/2), χ²_{R·dof}(1−α/2)] / R."""
    if dof < 1 or runs < 1:
        raise ValueError(f"chi2_band: dof and runs must be >= 1, got dof={dof}, runs={runs}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"chi2_band: confidence must be in (0, 1), got {confidence}")
    alpha = 1.0 - confidence
    k = dof * runs
    return Chi2Band(float(chi2.ppf(alpha / 2, k) / runs), float(chi2.ppf(1 - alpha / 2, k) / runs))


class MonteCarloSummary(NamedTuple):
    """Per-time Monte Carlo statistics: RMSE of position and velocity, average NEES and its band."""

    position_rmse_m: np.ndarray
    velocity_rmse_mps: np.ndarray
    average_nees: np.ndarray
    nees_band: Chi2Band
    runs: int


def monte_carlo_summary(
    x_est: np.ndarray, P: np.ndarray, x_true: np.ndarray, confidence: float = 0.95
) -> MonteCarloSummary:
    """Summaries over runs on axis 0 of ``x_est`` (R, ..., d) and ``P`` (R, ..., d, d);
    ``x_true`` is (R, ..., d) or (..., d) (the same truth for every run)."""
    x_est = np.asarray(x_est, dtype=float)
    runs, d = x_est.shape[0], x_est.shape[-1]
    return MonteCarloSummary(
        position_rmse(x_est, x_true),
        velocity_rmse(x_est, x_true),
        np.mean(nees(x_est, P, x_true), axis=0),
        chi2_band(d, runs, confidence),
        runs,
    )
