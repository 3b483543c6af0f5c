"""Cross-check of our batched EKF against Stone Soup's EKF on the same problem.

Same constant-velocity (or gravity) motion model and process noise, same spherical measurement
model, same prior and plots: the two must agree on every posterior mean and covariance over a
sequence of updates. Stone Soup orders the state [x, vx, y, vy, z, vz] and measures
[elevation, bearing, range] with bearing counter-clockwise from east (x); ours is
[e, n, u, ve, vn, vu] and [range, azimuth, elevation] with azimuth clockwise from north, so
bearing = π/2 − azimuth. Stone Soup's EKF takes its measurement Jacobian by forward differences
with steps ~1e-8 relative, which bounds the agreement to ~1e-7 relative; the tolerance is 1e-6.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

stonesoup = pytest.importorskip("stonesoup")

from stonesoup.models.control.linear import LinearControlModel  # noqa: E402
from stonesoup.models.measurement.nonlinear import (  # noqa: E402
    CartesianToElevationBearingRange,
)
from stonesoup.models.transition.linear import (  # noqa: E402
    CombinedLinearGaussianTransitionModel,
    ConstantVelocity,
)
from stonesoup.predictor.kalman import ExtendedKalmanPredictor  # noqa: E402
from stonesoup.types.angle import Bearing, Elevation  # noqa: E402
from stonesoup.types.detection import Detection  # noqa: E402
from stonesoup.types.state import GaussianState, State  # noqa: E402
from stonesoup.updater.kalman import ExtendedKalmanUpdater  # noqa: E402

from counterram.sensors.plots import SensorInfo  # noqa: E402
from counterram.tracking import measurement as meas  # noqa: E402
from counterram.tracking.filters import ExtendedKalmanFilter  # noqa: E402
from counterram.tracking.motion import STANDARD_GRAVITY_MPS2, GravityOnly  # noqa: E402
from counterram.tracking.motion import ConstantVelocity as OurConstantVelocity  # noqa: E402

PERM = np.array([0, 3, 1, 4, 2, 5])  # ours -> Stone Soup: ss[i] = ours[PERM[i]]
INV = np.argsort(PERM)


def _to_ss(x: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x[PERM], P[np.ix_(PERM, PERM)]


def _from_ss(x: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x[INV], P[np.ix_(INV, INV)]


def _rel_close(a: np.ndarray, b: np.ndarray, rtol: float) -> None:
    """Agreement relative to the array's scale (covariance entries near zero are compared to the
    matrix's largest entry)."""
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


@pytest.mark.parametrize("gravity", [False, True])
def test_ekf_matches_stonesoup(gravity: bool) -> None:
    q, steps = 3.0, 30
    sensor = SensorInfo(1, "radar", (250.0, -400.0, 12.0), 10.0, 2.5e-3, 3e-3)
    rows = meas.SensorRows.single(sensor, 1)
    ours_model = GravityOnly(q=q) if gravity else OurConstantVelocity(q=q)
    ekf = ExtendedKalmanFilter(ours_model)

    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(q)] * 3)
    measurement = CartesianToElevationBearingRange(
        ndim_state=6,
        mapping=(0, 2, 4),
        noise_covar=np.diag(
            [sensor.sigma_elevation_rad**2, sensor.sigma_azimuth_rad**2, sensor.sigma_range_m**2]
        ),
        translation_offset=np.array([[v] for v in sensor.position_enu]),
    )
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement)

    rng = np.random.default_rng(77)
    truth = np.array([[3000.0, 4000.0, 300.0, -90.0, -150.0, 160.0]])
    x = truth + rng.normal(0, [40, 40, 40, 20, 20, 20], (1, 6))
    P = np.diag([40.0**2] * 3 + [20.0**2] * 3)[None]
    t0 = datetime(2024, 1, 1)
    ss_x, ss_P = _to_ss(x[0], P[0])
    ss_state = GaussianState(ss_x[:, None], ss_P, timestamp=t0)

    t = 0.0
    for k in range(steps):
        dt = 0.4 + 0.3 * (k % 3)  # irregular revisit
        t += dt
        truth = ours_model.transition(truth, dt)
        z = (
            meas.measure(truth, rows.position_enu, 3)
            + rng.standard_normal((1, 3)) * rows.sigma[:, :3]
        )
        z[:, 1] = np.mod(z[:, 1], 2 * np.pi)
        # ours
        x, P = ekf.predict(x, P, dt)
        res = ekf.update(x, P, z, rows)
        x, P = res.x, res.P
        # Stone Soup
        stamp = t0 + timedelta(seconds=t)
        if gravity:
            control = LinearControlModel(
                control_matrix=np.array([[0.0], [0.0], [0.0], [0.0], [0.5 * dt**2], [dt]])
            )
            predictor = ExtendedKalmanPredictor(transition, control_model=control)
            prediction = predictor.predict(
                ss_state, timestamp=stamp, control_input=State([[-STANDARD_GRAVITY_MPS2]])
            )
        else:
            prediction = predictor.predict(ss_state, timestamp=stamp)
        bearing = np.pi / 2 - z[0, 1]
        detection = Detection(
            np.array([[Elevation(z[0, 2])], [Bearing(bearing)], [z[0, 0]]]),
            timestamp=stamp,
            measurement_model=measurement,
        )
        hypothesis = stonesoup.types.hypothesis.SingleHypothesis(prediction, detection)
        ss_state = updater.update(hypothesis)
        back_x, back_P = _from_ss(
            np.asarray(ss_state.state_vector, float)[:, 0], np.asarray(ss_state.covar, float)
        )
        _rel_close(x[0], back_x, 1e-6)
        _rel_close(P[0], back_P, 1e-6)
    # The filters did work: the final position error is a few sigma at most.
    err = x[0, :3] - truth[0, :3]
    assert err @ np.linalg.solve(P[0, :3, :3], err) < 20.0
