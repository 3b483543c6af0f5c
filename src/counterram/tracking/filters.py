"""Batched Kalman filters (extended and unscented) over N tracks, and χ² gating of tracks vs plots.

Both filters share one interface (:class:`Filter`): ``predict(x, P, dt) -> (x, P)`` and
``update(x, P, z, sensors) -> UpdateResult``, where ``x`` is (N, d), ``P`` (N, d, d), ``z``
(N, 3|4) and every row may come from a different sensor
(:class:`~counterram.tracking.measurement.SensorRows`). The code keeps the textbook's symbols —
x, P, F, H, R, Q, S, K, y, on stacked arrays: the UKF in numpy's batched ``@`` and ``solve``, the
EKF's update in one compiled loop over rows (:mod:`counterram.tracking.update_kernels`: the
tracker updates a handful of tracks per plot group, where numpy's dispatch cost dominated). Both
replace the per-track Python loop that makes the field's libraries cost about a millisecond per
track update (measured in benchmarks/bench_filters.py).

Covariance updates use the Joseph form P = (I − K H) P (I − K H)ᵀ + K R Kᵀ (EKF), which stays
symmetric positive semidefinite under round-off and for any gain; the UKF uses P − K S Kᵀ. Both
results are symmetrised. Azimuth innovations are wrapped to (−π, π]; the UKF averages the predicted
azimuths of its sigma points as wrapped offsets from a reference point, so a track crossing north
(azimuth ±π ... 0 ≡ 2π) gets a correct mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
from scipy.stats import chi2

from counterram.tracking import measurement as meas
from counterram.tracking import update_kernels
from counterram.tracking.measurement import SensorRows
from counterram.tracking.motion import MotionModel


class UpdateResult(NamedTuple):
    """Posterior ``x`` (N, d), ``P`` (N, d, d); ``innovation`` y (N, m), its covariance ``S``
    (N, m, m), the normalised innovation squared ``nis`` = yᵀ S⁻¹ y (N,) and ``dof`` (N,), the
    number of measured components per row (3, or 4 with radial velocity)."""

    x: np.ndarray
    P: np.ndarray
    innovation: np.ndarray
    S: np.ndarray
    nis: np.ndarray
    dof: np.ndarray


class Filter(Protocol):
    """A batched Bayesian filter over Gaussian track states."""

    motion: MotionModel

    def predict(
        self, x: np.ndarray, P: np.ndarray, dt: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def update(
        self, x: np.ndarray, P: np.ndarray, z: np.ndarray, sensors: SensorRows
    ) -> UpdateResult: ...


def _tr(A: np.ndarray) -> np.ndarray:
    return np.swapaxes(A, -1, -2)


def _symmetric(P: np.ndarray) -> np.ndarray:
    return 0.5 * (P + _tr(P))


def _check(x: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    P = np.asarray(P, dtype=float)
    if x.ndim != 2 or P.shape != (x.shape[0], x.shape[1], x.shape[1]):
        raise ValueError(f"x must be (N, d) and P (N, d, d); got x {x.shape}, P {P.shape}")
    return x, P


def _gain_and_nis(P_xz: np.ndarray, S: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """K = P_xz S⁻¹ and yᵀ S⁻¹ y, via one batched solve against the symmetric S."""
    rhs = np.concatenate([_tr(P_xz), y[:, :, None]], axis=2)  # (N, m, d+1)
    sol = np.linalg.solve(S, rhs)
    K = _tr(sol[:, :, :-1])
    nis = np.einsum("ni,ni->n", y, sol[:, :, -1])
    return K, nis


@dataclass(frozen=True)
class ExtendedKalmanFilter:
    """EKF with analytic Jacobians (motion model's F, measurement's H) and Joseph-form update."""

    motion: MotionModel

    def predict(
        self, x: np.ndarray, P: np.ndarray, dt: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        x, P = _check(x, P)
        x_pred, P_pred, _F = self.motion.predict(x, P, dt)
        return x_pred, P_pred

    def update(
        self, x: np.ndarray, P: np.ndarray, z: np.ndarray, sensors: SensorRows
    ) -> UpdateResult:
        """Joseph-form update of N rows, one compiled call
        (:func:`~counterram.tracking.update_kernels.ekf_update`)."""
        x, P = _check(x, P)
        z, has_doppler, m = meas.prepare(z, sensors)
        n, d = x.shape
        x_post, P_post = np.empty((n, d)), np.empty((n, d, d))
        y, S, nis = np.empty((n, m)), np.empty((n, m, m)), np.empty(n)
        update_kernels.ekf_update(
            np.ascontiguousarray(x), np.ascontiguousarray(P), np.ascontiguousarray(z),
            np.ascontiguousarray(sensors.position_enu, dtype=float),
            np.ascontiguousarray(sensors.sigma, dtype=float), x_post, P_post, y, S, nis,
        )
        return UpdateResult(x_post, P_post, y, S, nis, 3 + has_doppler.astype(np.int64))


@dataclass(frozen=True)
class UnscentedKalmanFilter:
    """UKF with the scaled unscented transform (Julier & Uhlmann; Wan & van der Merwe 2000).

    λ = α² (n + κ) − n; sigma points x ± columns of chol((n + λ) P); weights W₀ᵐ = λ/(n+λ),
    W₀ᶜ = W₀ᵐ + 1 − α² + β, Wᵢ = 1/(2(n+λ)). The defaults α = 1, κ = 0 keep every mean weight
    non-negative (W₀ᵐ = 0, points at ±√n σ), which keeps the covariances positive definite.
    """

    motion: MotionModel
    alpha: float = 1.0
    beta: float = 2.0
    kappa: float = 0.0

    def _weights(self, n: int) -> tuple[np.ndarray, np.ndarray, float]:
        lam = self.alpha**2 * (n + self.kappa) - n
        if n + lam <= 0:
            raise ValueError("UnscentedKalmanFilter: alpha, kappa give n + lambda <= 0")
        Wm = np.full(2 * n + 1, 0.5 / (n + lam))
        Wc = Wm.copy()
        Wm[0] = lam / (n + lam)
        Wc[0] = Wm[0] + 1.0 - self.alpha**2 + self.beta
        return Wm, Wc, n + lam

    def sigma_points(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(N, 2n+1, n) sigma points."""
        n = x.shape[1]
        _, _, c = self._weights(n)
        L = np.linalg.cholesky(c * P)  # (N, n, n), columns are the offsets
        offsets = _tr(L)
        return np.concatenate([x[:, None, :], x[:, None, :] + offsets, x[:, None, :] - offsets], 1)

    def predict(
        self, x: np.ndarray, P: np.ndarray, dt: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        x, P = _check(x, P)
        N, n = x.shape
        Wm, Wc, _ = self._weights(n)
        X = self.sigma_points(x, P)
        dt_rows = np.broadcast_to(np.asarray(dt, dtype=float), (N,))
        X = self.motion.transition(X.reshape(-1, n), np.repeat(dt_rows, 2 * n + 1))
        X = X.reshape(N, 2 * n + 1, n)
        x_pred = np.einsum("k,nki->ni", Wm, X)
        dX = X - x_pred[:, None, :]
        Q = self.motion.process_noise(x, dt_rows)
        P_pred = np.einsum("k,nki,nkj->nij", Wc, dX, dX) + Q
        return x_pred, _symmetric(P_pred)

    def update(
        self, x: np.ndarray, P: np.ndarray, z: np.ndarray, sensors: SensorRows
    ) -> UpdateResult:
        x, P = _check(x, P)
        z, has_doppler, m = meas.prepare(z, sensors)
        N, n = x.shape
        Wm, Wc, _ = self._weights(n)
        X = self.sigma_points(x, P)
        Z = meas.measure(X, sensors.position_enu[:, None, :], m)  # (N, 2n+1, m)
        # Mean of the predicted measurements: wrapped offsets from sigma point 0, then wrap.
        ref = Z[:, :1, :]
        z_pred = ref[:, 0, :] + np.einsum("k,nki->ni", Wm, meas.residual(Z, ref))
        z_pred[:, meas.AZIMUTH] = meas.wrap_angle(z_pred[:, meas.AZIMUTH])
        dZ = meas.residual(Z, z_pred[:, None, :])
        dX = X - x[:, None, :]
        R = meas.noise_covariance(sensors, m)
        y = meas.residual(np.where(np.isfinite(z), z, 0.0), z_pred)
        if m == meas.MEASUREMENT_DIM:
            off = ~has_doppler
            dZ[off, :, meas.RADIAL_VELOCITY] = 0.0
            H_unused = np.zeros((N, m, n))
            y, _, R = meas.mask_doppler(y, H_unused, R, has_doppler)
        S = _symmetric(np.einsum("k,nki,nkj->nij", Wc, dZ, dZ) + R)
        P_xz = np.einsum("k,nki,nkj->nij", Wc, dX, dZ)
        K, nis = _gain_and_nis(P_xz, S, y)
        x_post = x + np.einsum("nij,nj->ni", K, y)
        P_post = P - K @ S @ _tr(K)
        dof = 3 + has_doppler.astype(np.int64)
        return UpdateResult(x_post, _symmetric(P_post), y, S, nis, dof)


class GateResult(NamedTuple):
    """``d2`` (N, M) squared Mahalanobis distances track × plot, ``threshold`` (M,) the χ² gate
    per plot (its degrees of freedom depend on whether it carries radial velocity), ``inside``
    (N, M)."""

    d2: np.ndarray
    threshold: np.ndarray
    inside: np.ndarray


def mahalanobis(
    x: np.ndarray,
    P: np.ndarray,
    z: np.ndarray,
    sensors: SensorRows,
    *,
    max_pairs_per_chunk: int = 100_000,
) -> np.ndarray:
    """Squared Mahalanobis distances yᵀ S⁻¹ y between every track (N) and every plot (M), (N, M).

    For each pair, y = z_j − h(x_i; sensor_j) (azimuth wrapped) and S = H P_i Hᵀ + R_j with H taken
    at x_i. Tracks are processed in chunks so memory stays bounded for large N × M.
    """
    x, P = _check(x, P)
    z, has_doppler, m = meas.prepare(z, sensors)
    N, M = x.shape[0], z.shape[0]
    out = np.empty((N, M))
    if N == 0 or M == 0:
        return out
    R = meas.noise_covariance(sensors, m)
    z_clean = np.where(np.isfinite(z), z, 0.0)
    step = max(1, max_pairs_per_chunk // M)
    for start in range(0, N, step):  # chunks, not tracks: bounded memory for large N × M
        sl = slice(start, min(N, start + step))
        xi = x[sl, None, :]
        s = sensors.position_enu[None, :, :]
        H = meas.jacobian(xi, s, m)  # (n, M, m, d)
        y = meas.residual(z_clean[None, :, :], meas.measure(xi, s, m))  # (n, M, m)
        Rb = np.broadcast_to(R, (*H.shape[:2], m, m)).copy()
        if m == meas.MEASUREMENT_DIM:
            off = ~has_doppler
            y[:, off, meas.RADIAL_VELOCITY] = 0.0
            H[:, off, meas.RADIAL_VELOCITY, :] = 0.0
            Rb[:, off, meas.RADIAL_VELOCITY, :] = 0.0
            Rb[:, off, :, meas.RADIAL_VELOCITY] = 0.0
            Rb[:, off, meas.RADIAL_VELOCITY, meas.RADIAL_VELOCITY] = 1.0
        S = H @ P[sl, None, :, :] @ _tr(H) + Rb
        out[sl] = np.einsum("nmi,nmi->nm", y, np.linalg.solve(S, y[..., None])[..., 0])
    return out


def gate(
    x: np.ndarray,
    P: np.ndarray,
    z: np.ndarray,
    sensors: SensorRows,
    probability: float = 0.999,
) -> GateResult:
    """χ² gating: plot j may belong to track i when d²_ij ≤ χ²_dof(probability)."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"gate probability must be in (0, 1), got {probability}")
    d2 = mahalanobis(x, P, z, sensors)
    z_arr = np.asarray(z, dtype=float)
    dof = 3 + meas.doppler_mask(z_arr, sensors).astype(int)
    threshold = chi2.ppf(probability, dof)
    return GateResult(d2, threshold, d2 <= threshold[None, :])
