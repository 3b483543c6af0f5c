"""Multi-target tracker cost and accuracy, against Stone Soup's EKF multi-target tracker and
FilterPy's EKF step, on the same plots in one run.

Cost: 100 simultaneous 81 mm bombs spread over 16 km × 16 km, one weapon-locating radar (σ 10 m,
2.5 mrad, one look per second, Pd 0.95) and 20 false plots per look, 20 looks. Our tracker
(generic 7-state ballistic EKF, χ² gating, GNN, two-point initiation, M-of-N) and Stone Soup's
``MultiTargetTracker`` (``ExtendedKalmanPredictor``/``ExtendedKalmanUpdater`` on a 3-D constant
velocity model, ``DistanceHypothesiser`` with the Mahalanobis measure, ``GNNWith2DAssignment``,
``MultiMeasurementInitiator`` with 3 points, ``UpdateTimeStepsDeleter``,
``CartesianToElevationBearingRange``) process the same plots; the cost per track update is the
whole run's time divided by the number of track updates (so it includes gating, assignment,
initiation and deletion). FilterPy's ``ExtendedKalmanFilter`` predict + update on the same
constant-velocity model and measurement is the single-filter reference.

Our tracker is timed as the median of ``REPEATS`` runs (a fresh tracker each), Stone Soup's once
(one run takes seconds). A last row feeds our tracker the same plots stamped the way a rotating
radar stamps them (each plot at its beam-crossing time, one plot group per timestamp), the regime
where the fixed cost of each group's calls (prediction, gate, update) dominates (timed once).

Accuracy: position and velocity RMSE of our tracker over Monte Carlo runs of one round (an
81 mm bomb and a 107 mm rocket after burnout, one radar, 1 s looks), against the posterior
Cramér–Rao bound computed with the round's own munition model (the tracker uses the generic one).

Plain script: ``python benchmarks/bench_tracker.py``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from counterram.metrics.pcrlb import pcrlb
from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.sensors.plots import PlotBatch, SensorInfo
from counterram.tracking import measurement as meas
from counterram.tracking.motion import Ballistic, ConstantVelocity
from counterram.tracking.tracker import Tracker, TrackerConfig

RADAR = SensorInfo(1, "wlr", (0.0, 0.0, 5.0), 10.0, 2.5e-3, 2.5e-3)
SIGMA = np.array([10.0, 2.5e-3, 2.5e-3])
LOOK_S = 1.0
REPEATS = 5


def raid(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flights of ``n`` 81 mm bombs: (sample times, states (n, K, 6), launch times)."""
    rng = np.random.default_rng(seed)
    mun = load_catalogue().get("81mm-mortar")
    launch = np.column_stack([rng.uniform(-8000, 8000, (n, 2)), np.zeros(n)])
    state0 = launch_state(
        launch, rng.uniform(0, 2 * np.pi, n), np.deg2rad(rng.uniform(45, 70, n)), 202.6
    )
    fl = fly(state0, Projectiles.from_munitions([mun] * n), sample_dt_s=0.05)
    return fl.samples_t, fl.samples, rng.uniform(0.0, 2.0, n)


def plots_of(
    t_samples, states, t0, looks, clutter_per_look: float, seed: int = 1
) -> list[PlotBatch]:
    rng = np.random.default_rng(seed)
    s = np.array(RADAR.position_enu)
    out = []
    for t in looks:
        k = np.rint((t - t0) / (t_samples[1] - t_samples[0])).astype(int)
        ok = (k >= 0) & (k < t_samples.size)
        st = states[np.flatnonzero(ok), k[ok]]
        st = st[np.all(np.isfinite(st), axis=1)]
        z = meas.measure(st, s, 3)
        keep = (rng.random(len(z)) < 0.95) & (z[:, 2] > np.deg2rad(0.5)) & (z[:, 0] < 12_000)
        z = z[keep] + rng.standard_normal((int(keep.sum()), 3)) * SIGMA
        nc = rng.poisson(clutter_per_look)
        zc = np.column_stack(
            [
                rng.uniform(300, 12_000, nc),
                rng.uniform(0, 2 * np.pi, nc),
                rng.uniform(np.deg2rad(0.5), np.deg2rad(60), nc),
            ]
        )
        z = np.concatenate([z, zc])
        m = len(z)
        out.append(
            PlotBatch(
                np.full(m, float(t)),
                np.ones(m, np.int64),
                z[:, 0],
                np.mod(z[:, 1], 2 * np.pi),
                z[:, 2],
                np.full(m, np.nan),
                np.zeros(m),
            )
        )
    return out


def run_ours(batches: list[PlotBatch]) -> tuple[float, int, int, float]:
    """(seconds, track updates, confirmed tracks at the end, seconds of the last 10 looks)."""
    tracker = Tracker([RADAR], TrackerConfig(revisit_s=LOOK_S))
    t0 = time.perf_counter()
    t_half = t0
    for i, b in enumerate(batches):
        if i == len(batches) - 10:
            t_half = time.perf_counter()
            used_half = tracker.counters["plots_used"]
        out = tracker.process(b, now=float(b.time_s[0]))
    t1 = time.perf_counter()
    used = out.counters["plots_used"]
    return t1 - t0, used, int(out.confirmed.sum()), (t1 - t_half) / max(used - used_half, 1)


def run_ours_median(
    batches: list[PlotBatch], repeats: int = REPEATS
) -> tuple[float, int, int, float]:
    """:func:`run_ours` repeated ``repeats`` times; the run of median duration."""
    runs = sorted((run_ours(batches) for _ in range(repeats)), key=lambda r: r[0])
    return runs[len(runs) // 2]


def rotating_stamps(batches: list[PlotBatch]) -> list[PlotBatch]:
    """The plots of each look re-stamped at the crossing time of a beam turning clockwise from
    north once per look, in time order."""
    out = []
    for b in batches:
        t = b.time_s + np.mod(b.azimuth_rad, 2 * np.pi) / (2 * np.pi) * LOOK_S
        order = np.argsort(t, kind="stable")
        out.append(replace(b.take(order), time_s=t[order], report_time_s=t[order]))
    return out


def run_stonesoup(batches: list[PlotBatch]) -> tuple[float, int, int] | None:
    try:
        from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
        from stonesoup.deleter.time import UpdateTimeStepsDeleter
        from stonesoup.hypothesiser.distance import DistanceHypothesiser
        from stonesoup.initiator.simple import MultiMeasurementInitiator
        from stonesoup.measures import Mahalanobis
        from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
        from stonesoup.models.transition.linear import (
            CombinedLinearGaussianTransitionModel,
        )
        from stonesoup.models.transition.linear import ConstantVelocity as SSConstantVelocity
        from stonesoup.predictor.kalman import ExtendedKalmanPredictor
        from stonesoup.tracker.simple import MultiTargetTracker
        from stonesoup.types.angle import Bearing, Elevation
        from stonesoup.types.detection import Detection
        from stonesoup.types.state import GaussianState
        from stonesoup.types.update import Update
        from stonesoup.updater.kalman import ExtendedKalmanUpdater
    except ImportError:
        return None
    model = CartesianToElevationBearingRange(
        ndim_state=6,
        mapping=(0, 2, 4),
        noise_covar=np.diag([SIGMA[2] ** 2, SIGMA[1] ** 2, SIGMA[0] ** 2]),
        translation_offset=np.array(RADAR.position_enu).reshape(3, 1),
    )
    # q = 100 m²/s³: a constant-velocity model must absorb gravity's 9.8 m/s² over a look
    transition = CombinedLinearGaussianTransitionModel([SSConstantVelocity(100.0)] * 3)
    predictor, updater = ExtendedKalmanPredictor(transition), ExtendedKalmanUpdater(model)
    hypothesiser = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=4.0)
    associator = GNNWith2DAssignment(hypothesiser)
    deleter = UpdateTimeStepsDeleter(3)
    prior = GaussianState(np.zeros((6, 1)), np.diag([0, 300.0**2] * 3))
    initiator = MultiMeasurementInitiator(prior, deleter, associator, updater, model, min_points=3)
    start = datetime(2024, 1, 1)
    feed = []
    for b in batches:
        when = start + timedelta(seconds=float(b.time_s[0]))
        bearing = np.pi / 2 - b.azimuth_rad  # Stone Soup: counter-clockwise from east
        dets = {
            Detection(
                np.array([[Elevation(el)], [Bearing(br)], [r]]),
                timestamp=when,
                measurement_model=model,
            )
            for el, br, r in zip(b.elevation_rad, bearing, b.range_m, strict=True)
        }
        feed.append((when, dets))
    tracker = MultiTargetTracker(initiator, deleter, feed, associator, updater)
    updates = 0
    t0 = time.perf_counter()
    for when, tracks in tracker:
        updates += sum(
            1 for tr in tracks if isinstance(tr.state, Update) and tr.state.timestamp == when
        )
    return time.perf_counter() - t0, updates, len(tracks)


def filterpy_step() -> float | None:
    try:
        from filterpy.kalman import ExtendedKalmanFilter as FPExtendedKalmanFilter
    except ImportError:
        return None
    cv = ConstantVelocity(q=1.0)
    f = FPExtendedKalmanFilter(dim_x=6, dim_z=3)
    f.F = cv.predict(np.zeros((1, 6)), np.zeros((1, 6, 6)), LOOK_S).F[0]
    f.Q = cv.process_noise(np.zeros((1, 6)), LOOK_S)[0]
    f.R = np.diag(SIGMA**2)
    x0 = np.array([3000.0, 2000.0, 1000.0, 50.0, -40.0, 100.0])
    s = np.array(RADAR.position_enu)
    z = meas.measure(x0[None], s, 3)[0]

    def cycle() -> None:
        f.x = x0[:, None].copy()
        f.P = np.diag([100.0] * 3 + [25.0] * 3)
        f.predict()
        f.update(
            z,
            lambda x: meas.jacobian(x[None, :, 0], s, 3)[0],
            lambda x: meas.measure(x[None, :, 0], s, 3)[0],
            residual=lambda a, b: meas.residual(a[None], b[None])[0],
        )

    cycle()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.5:
        cycle()
        n += 1
    return (time.perf_counter() - t0) / n


def accuracy(munition: str, runs: int = 30) -> tuple[float, float, float, float]:
    """Mean over converged looks of our position and velocity RMSE and their PCRLB (one round,
    ``runs`` Monte Carlo runs, one tracker each)."""
    mun = load_catalogue().get(munition)
    rocket = mun.kind == "rocket"
    el = np.deg2rad(45.0 if rocket else 60.0)
    speed = list(mun.charges.values())[-1 if rocket else 3]
    state0 = launch_state(np.array([[3000.0, 3000.0, 0.0]]), np.deg2rad(225.0), el, speed)
    fl = fly(state0, Projectiles.from_munitions([mun]), sample_dt_s=0.05)
    first = mun.burn_time_s + 0.5 if rocket else 1.0  # rockets: seen after burnout
    looks = np.arange(first, fl.impact_time_s[0] - 1.0, LOOK_S)
    k = np.rint(looks / 0.05).astype(int)
    truth = fl.samples[0, k]
    s = np.array(RADAR.position_enu)
    est = np.full((runs, looks.size, 6), np.nan)
    for r in range(runs):
        rng = np.random.default_rng(100 + r)
        tracker = Tracker([RADAR], TrackerConfig(revisit_s=LOOK_S))
        for i, t in enumerate(looks):
            z = meas.measure(truth[i : i + 1], s, 3) + rng.standard_normal((1, 3)) * SIGMA
            b = PlotBatch(
                np.array([t]),
                np.array([1]),
                z[:, 0],
                np.mod(z[:, 1], 2 * np.pi),
                z[:, 2],
                np.array([np.nan]),
                np.zeros(1),
            )
            out = tracker.process(b, now=float(t))
            if out.confirmed.sum() == 1:
                est[r, i] = out.x[out.confirmed][0, :6]
    # The truth flies without random forcing: bound it with (almost) no process noise, the
    # round's own drag curve and mass, and its drag scale β = 0 to be learned from a 0.3 prior.
    model = Ballistic.for_munition(mun, q=1e-4, q_beta=1e-8)
    truth7 = np.column_stack([truth, np.zeros(looks.size)])
    P0 = np.diag([100.0**2] * 3 + [300.0**2] * 3 + [0.3**2])
    table = meas.SensorTable.from_infos([RADAR])
    bound = pcrlb(truth7, looks, model, P0, table, np.ones((looks.size, 1), bool))
    conv = slice(10, None)  # from the 11th look on
    e = est[:, conv] - truth[None, conv]
    pos = np.sqrt(np.nanmean(np.sum(e[..., :3] ** 2, axis=-1), axis=0))
    vel = np.sqrt(np.nanmean(np.sum(e[..., 3:] ** 2, axis=-1), axis=0))
    return (
        float(np.mean(pos)),
        float(np.mean(bound.position_rmse_m[conv])),
        float(np.mean(vel)),
        float(np.mean(bound.velocity_rmse_mps[conv])),
    )


def main() -> None:
    t_samples, states, t0 = raid(100)
    batches = plots_of(t_samples, states, t0, np.arange(3.0, 23.0, LOOK_S), clutter_per_look=20)
    n_plots = sum(len(b) for b in batches)
    ours_s, ours_updates, ours_tracks, ours_steady = run_ours_median(batches)
    rot_s, rot_updates, rot_tracks, _ = run_ours_median(rotating_stamps(batches), 1)
    ss = run_stonesoup(batches)
    fp = filterpy_step()
    print(f"100 rounds + 20 false plots per look, 20 looks, {n_plots} plots")
    print(f"{'tracker':<44}{'run s':>8}{'updates':>9}{'µs/update':>11}{'tracks':>8}")
    ours_us = 1e6 * ours_s / ours_updates
    print(
        f"{'counterram Tracker (ballistic 7-state EKF)':<44}{ours_s:>8.2f}{ours_updates:>9d}"
        f"{ours_us:>11.0f}{ours_tracks:>8d}"
    )
    print(f"{'  steady state, last 10 looks':<44}{'':>8}{'':>9}{1e6 * ours_steady:>11.0f}")
    print(
        f"{'  same plots, rotating-radar time stamps':<44}{rot_s:>8.2f}{rot_updates:>9d}"
        f"{1e6 * rot_s / rot_updates:>11.0f}{rot_tracks:>8d}"
    )
    if ss is not None:
        ss_s, ss_updates, ss_tracks = ss
        ss_us = 1e6 * ss_s / max(ss_updates, 1)
        print(
            f"{'Stone Soup MultiTargetTracker (CV EKF)':<44}{ss_s:>8.2f}{ss_updates:>9d}"
            f"{ss_us:>11.0f}{ss_tracks:>8d}"
        )
        print(f"ratio Stone Soup / counterram per update: {ss_us / ours_us:.0f}×")
    if fp is not None:
        print(f"FilterPy EKF predict + update (one CV track): {1e6 * fp:.0f} µs")
    rate = ours_updates / ours_s
    print(f"throughput: {rate:.0f} track updates/s, {len(batches) / ours_s:.1f} looks/s")
    print()
    print(
        f"{'single round, 30 runs':<24}{'pos RMSE m':>12}{'PCRLB m':>9}{'ratio':>7}"
        f"{'vel RMSE m/s':>14}{'PCRLB':>7}{'ratio':>7}"
    )
    for name in ("81mm-mortar", "107mm-rocket"):
        p, pb, v, vb = accuracy(name)
        print(f"{name:<24}{p:>12.2f}{pb:>9.2f}{p / pb:>7.2f}{v:>14.2f}{vb:>7.2f}{v / vb:>7.2f}")


if __name__ == "__main__":
    main()
