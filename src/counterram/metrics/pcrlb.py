"""Posterior Cramér–Rao lower bound (PCRLB) of a tracking problem along a true trajectory.

The bound tells what no unbiased estimator can beat, given the motion model, its process noise and
the sensors' geometry and noise; a filter whose RMSE sits near it has little left to gain. For
additive Gaussian process and measurement noise the Fisher information obeys the Riccati-like
recursion of Tichavský, Muravchik & Nehorai, "Posterior Cramér–Rao bounds for discrete-time
nonlinear filtering", IEEE Trans. Signal Processing 46(5), 1998, eq. (21)–(22) specialised as in
Ristic, Arulampalam & Gordon, *Beyond the Kalman Filter*, 2004, §4.2::

    J₀     = P₀⁻¹ + Σ_s p_d,s H_sᵀ R_s⁻¹ H_s
    J_{k+1} = (Q_k + F_k J_k⁻¹ F_kᵀ)⁻¹ + Σ_s p_d,s H_sᵀ R_s⁻¹ H_s

with F_k the transition Jacobian and H_s the measurement Jacobian of each sensor that reports at
step k+1, evaluated on the true trajectory (the expectations over the state are replaced by their
value on the truth, which is exact for linear models and accurate when the posterior spread is
small against the nonlinearity's scale). A detection probability p_d < 1 scales each sensor's
information (the "information reduction factor" bound for no clutter). The bound on the RMSE of a
component group is √trace of the matching block of J⁻¹.

The time recursion is a loop over time steps (each step depends on the previous); F, Q and the
measurement information are computed for all steps at once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from counterram.tracking import measurement as meas
from counterram.tracking.measurement import SensorTable
from counterram.tracking.motion import MotionModel


class PCRLBResult(NamedTuple):
    """Bound over time: information J (K, d, d), its inverse (the covariance bound) and the
    RMSE bounds √tr of its position (K,) and velocity (K,) blocks."""

    time_s: np.ndarray
    information: np.ndarray
    covariance_bound: np.ndarray
    position_rmse_m: np.ndarray
    velocity_rmse_mps: np.ndarray


def measurement_information(
    truth: np.ndarray,
    sensors: SensorTable,
    observed: np.ndarray,
    detection_probability: float | np.ndarray = 1.0,
    use_radial_velocity: bool = False,
) -> np.ndarray:
    """Σ_s p_d,s H_sᵀ R_s⁻¹ H_s at each true state (K, d) → (K, d, d) (diagonal R)."""
    K = truth.shape[0]
    S = sensors.sensor_ids.size
    observed = np.asarray(observed, dtype=bool)
    if observed.shape != (K, S):
        raise ValueError(f"observed must have shape (K, S) = ({K}, {S}), got {observed.shape}")
    pd = np.broadcast_to(np.asarray(detection_probability, dtype=float), (S,))
    if np.any((pd <= 0) | (pd > 1)):
        raise ValueError(f"detection_probability must be in (0, 1], got {pd.tolist()}")
    m = 4 if use_radial_velocity else 3
    H = meas.jacobian(truth[:, None, :], sensors.position_enu[None, :, :], m)  # (K, S, m, d)
    inv_var = 1.0 / sensors.sigma[:, :m] ** 2  # (S, m)
    inv_var = np.where(np.isfinite(inv_var), inv_var, 0.0)  # sensors without Doppler
    weight = observed * pd[None, :]  # (K, S)
    return np.einsum("ks,ksmi,sm,ksmj->kij", weight, H, inv_var, H)


def pcrlb(
    truth: np.ndarray,
    time_s: np.ndarray,
    motion: MotionModel,
    P0: np.ndarray,
    sensors: SensorTable,
    observed: np.ndarray,
    *,
    detection_probability: float | np.ndarray = 1.0,
    use_radial_velocity: bool = False,
) -> PCRLBResult:
    """PCRLB along ``truth`` (K, d) at ``time_s`` (K,), prior covariance ``P0`` (d, d) at time 0,
    ``observed`` (K, S) saying which of the table's S sensors report at each step."""
    truth = np.asarray(truth, dtype=float)
    time_s = np.asarray(time_s, dtype=float)
    K, d = truth.shape
    if time_s.shape != (K,) or np.any(np.diff(time_s) <= 0):
        raise ValueError("time_s must be (K,) and strictly increasing")
    if np.shape(P0) != (d, d):
        raise ValueError(f"P0 must be ({d}, {d}), got {np.shape(P0)}")
    info = measurement_information(
        truth, sensors, observed, detection_probability, use_radial_velocity
    )
    dt = np.diff(time_s)
    if K > 1:
        _, _, F = motion.predict(truth[:-1], np.zeros((K - 1, d, d)), dt)
        Q = motion.process_noise(truth[:-1], dt)
    J = np.empty((K, d, d))
    J[0] = np.linalg.inv(P0) + info[0]
    for k in range(1, K):  # sequential recursion
        prior = Q[k - 1] + F[k - 1] @ np.linalg.solve(J[k - 1], F[k - 1].T)
        J[k] = np.linalg.inv(prior) + info[k]
        J[k] = 0.5 * (J[k] + J[k].T)
    C = np.linalg.inv(J)
    pos = np.sqrt(np.trace(C[:, :3, :3], axis1=1, axis2=2))
    vel = np.sqrt(np.trace(C[:, 3:6, 3:6], axis1=1, axis2=2))
    return PCRLBResult(time_s, J, C, pos, vel)
