"""Tests of the posterior Cramér–Rao bound recursion."""

from __future__ import annotations

import numpy as np
import pytest

from counterram.metrics.pcrlb import measurement_information, pcrlb
from counterram.sensors.plots import SensorInfo
from counterram.tracking import measurement as meas
from counterram.tracking.filters import ExtendedKalmanFilter
from counterram.tracking.motion import ConstantVelocity, GravityOnly

SENSORS = [
    SensorInfo(1, "a", (0.0, 0.0, 0.0), 10.0, 3e-3, 3e-3),
    SensorInfo(2, "b", (4000.0, -2000.0, 20.0), 15.0, 2e-3, 2e-3),
]
TABLE = meas.SensorTable.from_infos(SENSORS)
P0 = np.diag([100.0**2] * 3 + [50.0**2] * 3)


def _truth(K: int, dt: float) -> tuple[np.ndarray, np.ndarray]:
    model = GravityOnly(q=0.0)
    x = np.array([[3000.0, 2500.0, 200.0, -60.0, -40.0, 180.0]])
    out = [x[0]]
    for _ in range(K - 1):
        x = model.transition(x, dt)
        out.append(x[0])
    return np.array(out), dt * np.arange(K)


def test_bound_equals_kalman_covariance_linearised_on_truth() -> None:
    """For additive Gaussian noise, the information recursion is the information form of the
    Kalman covariance recursion with F and H taken on the truth: an EKF whose state is reset to
    the truth before each update (so its H is the truth's) must reproduce J⁻¹ to round-off."""
    K, dt = 40, 0.5
    truth, t = _truth(K, dt)
    model = GravityOnly(q=2.0)
    observed = np.zeros((K, 2), dtype=bool)
    observed[::2, 0] = True
    observed[1::2, 1] = True
    observed[::5, 1] = True  # some steps seen by both
    bound = pcrlb(truth, t, model, P0, TABLE, observed)
    ekf = ExtendedKalmanFilter(model)
    P = P0[None]
    for k in range(K):
        if k:
            _, P = ekf.predict(truth[k - 1 : k], P, dt)
        for s in np.flatnonzero(observed[k]):
            rows = TABLE.rows(np.array([TABLE.sensor_ids[s]]))
            z = meas.measure(truth[k : k + 1], rows.position_enu, 3)
            P = ekf.update(truth[k : k + 1], P, z, rows).P
        np.testing.assert_allclose(bound.covariance_bound[k], P[0], rtol=1e-7, atol=1e-9)
    assert bound.position_rmse_m[-1] < bound.position_rmse_m[0]


def test_detection_probability_scales_information() -> None:
    """Pd multiplies each sensor's Fisher information (no-clutter information reduction)."""
    truth, _ = _truth(3, 1.0)
    observed = np.ones((3, 2), dtype=bool)
    full = measurement_information(truth, TABLE, observed, 1.0)
    half = measurement_information(truth, TABLE, observed, np.array([0.5, 0.5]))
    np.testing.assert_allclose(half, 0.5 * full, rtol=1e-12)
    with pytest.raises(ValueError, match="detection_probability"):
        measurement_information(truth, TABLE, observed, 1.5)


def test_more_sensors_never_loosen_the_bound() -> None:
    """Adding a sensor adds positive semidefinite information: J₂ − J₁ ⪰ 0 at every step."""
    K, dt = 30, 0.5
    truth, t = _truth(K, dt)
    one = np.column_stack([np.ones(K, bool), np.zeros(K, bool)])
    both = np.ones((K, 2), dtype=bool)
    model = ConstantVelocity(q=5.0)
    b1 = pcrlb(truth, t, model, P0, TABLE, one)
    b2 = pcrlb(truth, t, model, P0, TABLE, both)
    eig = np.linalg.eigvalsh(b2.information - b1.information)
    assert eig.min() > -1e-9 * np.abs(b2.information).max()
    assert np.all(b2.position_rmse_m <= b1.position_rmse_m + 1e-12)


def test_static_target_bound_falls_as_one_over_root_n() -> None:
    """A stationary target (q = 0, tiny prior information) seen n times: the position bound is the
    single-look bound / √n (independent looks add equal information)."""
    truth = np.tile([[1000.0, 2000.0, 500.0, 0.0, 0.0, 0.0]], (64, 1))
    t = np.arange(64.0)
    observed = np.column_stack([np.ones(64, bool), np.zeros(64, bool)])
    huge = np.diag([1e12] * 3 + [1e-12] * 3)  # position unknown, velocity known to be zero
    bound = pcrlb(truth, t, ConstantVelocity(q=0.0), huge, TABLE, observed)
    ratio = bound.position_rmse_m[[0, 3, 15, 63]] / bound.position_rmse_m[0]
    np.testing.assert_allclose(ratio, 1 / np.sqrt([1, 4, 16, 64]), rtol=1e-6)
