"""Per-track cost of one EKF cycle (predict + update) with a spherical radar measurement.

Compares our batched EKF (N tracks per call) with Stone Soup's ExtendedKalmanPredictor +
ExtendedKalmanUpdater and FilterPy's ExtendedKalmanFilter, both one track per call, on the same
constant-velocity model and [range, azimuth, elevation] measurement; also times our ballistic
model (RK4 drag propagation with variational-equation Jacobian, 7-state with log drag scale) and
the UKF. Plain script: ``python benchmarks/bench_filters.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from counterram.physics.catalogue import load_catalogue
from counterram.sensors.plots import SensorInfo
from counterram.tracking import measurement as meas
from counterram.tracking.filters import ExtendedKalmanFilter, UnscentedKalmanFilter
from counterram.tracking.motion import Ballistic, ConstantVelocity

SENSOR = SensorInfo(1, "radar", (0.0, 0.0, 0.0), 10.0, 2.5e-3, 2.5e-3)
DT = 0.1


def best_of(fn: Callable[[], None], repeats: int = 5, min_time: float = 0.2) -> float:
    """Best (over ``repeats``) mean seconds per call, each repeat running ≥ ``min_time``."""
    fn()
    best = np.inf
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time:
                break
        best = min(best, elapsed / n)
    return best


def _states(n: int, dim: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.column_stack(
        [rng.uniform(1000, 5000, (n, 2)), rng.uniform(500, 2000, n), rng.normal(0, 150, (n, 3))]
    )
    if dim == 7:
        x = np.column_stack([x, np.zeros(n)])
    P = np.tile(np.diag([30.0**2] * 3 + [10.0**2] * 3 + [0.1**2] * (dim - 6)), (n, 1, 1))
    z = meas.measure(x, np.zeros(3), 3) + rng.normal(0, 1e-3, (n, 3))
    return x, P, z


def ours(filt, n: int, dim: int = 6) -> float:
    x, P, z = _states(n, dim)
    rows = meas.SensorRows.single(SENSOR, n)

    def cycle() -> None:
        xp, Pp = filt.predict(x, P, DT)
        filt.update(xp, Pp, z, rows)

    return best_of(cycle) / n


def stonesoup_ekf() -> float | None:
    try:
        from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
        from stonesoup.models.transition.linear import (
            CombinedLinearGaussianTransitionModel,
        )
        from stonesoup.models.transition.linear import ConstantVelocity as SSConstantVelocity
        from stonesoup.predictor.kalman import ExtendedKalmanPredictor
        from stonesoup.types.angle import Bearing, Elevation
        from stonesoup.types.detection import Detection
        from stonesoup.types.hypothesis import SingleHypothesis
        from stonesoup.types.state import GaussianState
        from stonesoup.updater.kalman import ExtendedKalmanUpdater
    except ImportError:
        return None
    transition = CombinedLinearGaussianTransitionModel([SSConstantVelocity(1.0)] * 3)
    model = CartesianToElevationBearingRange(
        ndim_state=6, mapping=(0, 2, 4), noise_covar=np.diag([2.5e-3**2, 2.5e-3**2, 100.0])
    )
    predictor, updater = ExtendedKalmanPredictor(transition), ExtendedKalmanUpdater(model)
    t0 = datetime(2024, 1, 1)
    mean = np.array([[3000.0], [-50.0], [2000.0], [40.0], [1000.0], [100.0]])
    covar = np.diag([900.0, 100.0] * 3)
    z = np.array([[Elevation(0.27)], [Bearing(0.59)], [3700.0]])
    clock = [t0]

    def cycle() -> None:
        # Fresh objects and times each cycle: Stone Soup caches predictions of identical inputs.
        prior = GaussianState(mean, covar, timestamp=clock[0])
        clock[0] += timedelta(seconds=DT)
        det = Detection(z, timestamp=clock[0], measurement_model=model)
        prediction = predictor.predict(prior, timestamp=det.timestamp)
        updater.update(SingleHypothesis(prediction, det))

    return best_of(cycle)


def filterpy_ekf() -> float | None:
    try:
        from filterpy.kalman import ExtendedKalmanFilter as FPExtendedKalmanFilter
    except ImportError:
        return None
    model = ConstantVelocity(q=1.0)
    f = FPExtendedKalmanFilter(dim_x=6, dim_z=3)
    f.F = model.predict(np.zeros((1, 6)), np.zeros((1, 6, 6)), DT).F[0]
    f.Q = model.process_noise(np.zeros((1, 6)), DT)[0]
    f.R = np.diag([100.0, 2.5e-3**2, 2.5e-3**2])
    x0, P0, z = _states(1)
    s = np.zeros(3)

    def hx(x: np.ndarray) -> np.ndarray:
        return meas.measure(x[None, :, 0], s, 3)[0]

    def h_jac(x: np.ndarray) -> np.ndarray:
        return meas.jacobian(x[None, :, 0], s, 3)[0]

    def residual(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return meas.residual(a[None], b[None])[0]

    def cycle() -> None:
        f.x = x0[0][:, None].copy()
        f.P = P0[0].copy()
        f.predict()
        f.update(z[0], h_jac, hx, residual=residual)

    return best_of(cycle)


def main() -> None:
    mun = load_catalogue().get("81mm-mortar")
    ballistic = Ballistic.for_munition(mun, max_step_s=DT)
    ss = stonesoup_ekf()
    fp = filterpy_ekf()
    rows: list[tuple[str, int, float]] = []
    for n in (1, 10, 100, 1000):
        rows.append(
            (
                "counterram EKF, constant velocity",
                n,
                ours(ExtendedKalmanFilter(ConstantVelocity()), n),
            )
        )
    for n in (1, 10, 100, 1000):
        rows.append(
            (
                "counterram EKF, ballistic 7-state (RK4)",
                n,
                ours(ExtendedKalmanFilter(ballistic), n, 7),
            )
        )
    for n in (1, 1000):
        rows.append(
            (
                "counterram UKF, ballistic 7-state (RK4)",
                n,
                ours(UnscentedKalmanFilter(ballistic), n, 7),
            )
        )
    if fp is not None:
        rows.append(("FilterPy ExtendedKalmanFilter, CV", 1, fp))
    if ss is not None:
        rows.append(("Stone Soup EKF predictor+updater, CV", 1, ss))
    print(f"{'filter':44s} {'N':>5s} {'µs/track':>10s} {'speed-up vs Stone Soup':>24s}")
    for name, n, sec in rows:
        speedup = f"{ss / sec:8.1f}×" if ss is not None else "n/a"
        print(f"{name:44s} {n:5d} {sec * 1e6:10.2f} {speedup:>24s}")


if __name__ == "__main__":
    main()
