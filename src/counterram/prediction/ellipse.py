"""Error ellipses of 2-D Gaussian ground estimates (points of impact and of origin).

A predicted point of impact or origin is reported as a mean and a 2×2 covariance in east/north
metres; people and displays want an ellipse that holds the true point with a stated probability.
For a 2-D Gaussian the squared Mahalanobis distance of the true point is χ² with 2 degrees of
freedom, whose quantile has the closed form ``k² = −2 ln(1 − p)`` (p = 0.5 → 1.386, p = 0.9 →
4.605), so the p-ellipse has semi-axes ``k √λ`` along the covariance's eigenvectors. The
eigen-decomposition of a symmetric 2×2 matrix is written out in closed form so that N ellipses
cost a handful of array operations.

Orientation follows the project convention for directions on the ground: the compass azimuth of
the major axis, clockwise from north, folded into [0, π) (an axis has no sense of direction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ErrorEllipse",
    "chi2_2_quantile",
    "circular_error_probable",
    "error_ellipse",
    "inside_ellipse",
    "mahalanobis2",
]


def chi2_2_quantile(probability: ArrayLike) -> NDArray[np.float64]:
    """Quantile of the χ² distribution with 2 degrees of freedom: ``−2 ln(1 − p)``."""
    p = np.asarray(probability, dtype=float)
    if np.any(~((p > 0.0) & (p < 1.0))):
        raise ValueError(f"probability must be in (0, 1); got {probability!r}")
    return -2.0 * np.log1p(-p)


def _as_cov(cov_en: ArrayLike) -> NDArray[np.float64]:
    cov = np.asarray(cov_en, dtype=float)
    if cov.ndim == 2:
        cov = cov[None]
    if cov.ndim != 3 or cov.shape[1:] != (2, 2):
        raise ValueError(f"cov_en must be (2, 2) or (N, 2, 2); got shape {cov.shape}")
    return 0.5 * (cov + np.swapaxes(cov, 1, 2))


@dataclass(frozen=True)
class ErrorEllipse:
    """N ellipses holding the true point with ``probability`` (arrays of shape (N,)).

    ``orientation_rad`` is the compass azimuth of the major axis (clockwise from north, [0, π)).
    """

    semi_major_m: NDArray[np.float64]
    semi_minor_m: NDArray[np.float64]
    orientation_rad: NDArray[np.float64]
    probability: float

    @property
    def orientation_deg(self) -> NDArray[np.float64]:
        """Major-axis azimuth in degrees."""
        return np.degrees(self.orientation_rad)

    @property
    def area_m2(self) -> NDArray[np.float64]:
        return np.pi * self.semi_major_m * self.semi_minor_m


def error_ellipse(cov_en: ArrayLike, probability: float = 0.9) -> ErrorEllipse:
    """The ``probability`` error ellipses of covariances (N, 2, 2) (or one (2, 2))."""
    cov = _as_cov(cov_en)
    k2 = float(chi2_2_quantile(probability))
    a, b, c = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]  # east-east, east-north, north-north
    half_trace = 0.5 * (a + c)
    root = np.sqrt((0.5 * (a - c)) ** 2 + b**2)
    lam1 = half_trace + root
    lam2 = np.maximum(half_trace - root, 0.0)
    # Major eigenvector (e, n) ∝ (b, lam1 − a) or (lam1 − c, b); its azimuth is atan2(e, n).
    e = np.where(a >= c, lam1 - c, b)
    n = np.where(a >= c, b, lam1 - a)
    az = np.mod(np.arctan2(e, n), np.pi)
    az = np.where((root == 0.0), 0.0, az)
    return ErrorEllipse(np.sqrt(k2 * lam1), np.sqrt(k2 * lam2), az, float(probability))


def mahalanobis2(
    points_en: ArrayLike, mean_en: ArrayLike, cov_en: ArrayLike
) -> NDArray[np.float64]:
    """Squared Mahalanobis distances (N,) of points (N, 2) from Gaussians (N, 2)/(N, 2, 2)."""
    d = np.atleast_2d(np.asarray(points_en, dtype=float)) - np.atleast_2d(
        np.asarray(mean_en, dtype=float)
    )
    cov = _as_cov(cov_en)
    a, b, c = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]
    det = a * c - b * b
    return (c * d[:, 0] ** 2 - 2.0 * b * d[:, 0] * d[:, 1] + a * d[:, 1] ** 2) / det


def inside_ellipse(
    points_en: ArrayLike, mean_en: ArrayLike, cov_en: ArrayLike, probability: float
) -> NDArray[np.bool_]:
    """Whether each point lies inside its Gaussian's ``probability`` ellipse."""
    return mahalanobis2(points_en, mean_en, cov_en) <= chi2_2_quantile(probability)


def circular_error_probable(errors_en: ArrayLike) -> float:
    """Empirical CEP (m): the median radial miss of error vectors (N, 2)."""
    e = np.atleast_2d(np.asarray(errors_en, dtype=float))
    r = np.hypot(e[:, 0], e[:, 1])
    r = r[np.isfinite(r)]
    if r.size == 0:
        raise ValueError("circular_error_probable: no finite error vectors")
    return float(np.median(r))
