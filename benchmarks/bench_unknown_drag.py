"""The tracker on rounds that are no catalogue munition: unknown drag laws, scored with the
project's track metrics.

Real rounds differ from the catalogue (charges, fins, wear, motors, radar calibration). This
generator flies rounds under a drag law the tracker does not know — quadratic drag with a
speed-independent coefficient in air of constant density, a = −k |v| v + g, so no transonic
rise and fall of the drag coefficient — from launch points 3–8 km from the radar at high angle
with launch speeds 250–1,000 m/s, and feeds their plots (σ 10 m in range, 2 mrad in azimuth
and elevation, Pd 0.9, Poisson clutter, one look a second) to the tracker. The tracker's
generic model carries a log drag scale against its reference drag curve; here the scale that
fits moves by ~1.5 (log units) when a fast round goes subsonic, which is what the benchmark
probes.

Scores (``counterram.metrics.tracks.evaluate_tracks``): confirmed tracks per round (1.0 is one
track each; a break adds one), rounds never confirmed, false (spurious) and swapped tracks,
position and velocity RMSE while a confirmed track follows its round, and the breaks by launch
speed and by cause (at a gap where the round went unseen for more than ``max_misses`` looks, or
while it was seen). ``--q-beta`` overrides the drag-scale drift rate
(``TrackerConfig.process_noise_q_beta``) to compare a tuning against the default; ``--config``
compares any ``TrackerConfig`` settings, one variant per argument (``default``, or
``name=value,name=value``), in the same run.

Plain script: ``python benchmarks/bench_unknown_drag.py [--rounds N] [--seeds S] [--json]``,
e.g. ``--config default drag_shape_sigma=0,reacquire_q=0``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass, replace

import numpy as np

from counterram.metrics.tracks import TrackLog, evaluate_tracks
from counterram.sensors.plots import PlotBatch, SensorInfo
from counterram.tracking import measurement as meas
from counterram.tracking.tracker import Tracker, TrackerConfig

G = 9.80665
RADAR = SensorInfo(1, "wlr", (0.0, 0.0, 5.0), 10.0, 2e-3, 2e-3)
SIGMA = np.array([10.0, 2e-3, 2e-3])
LOOK_S = 1.0
DT_S = 0.01
PD = 0.9
CLUTTER_PER_LOOK = 5.0


@dataclass(frozen=True)
class Flights:
    """Truth of a raid: sample times (K,), states (N, K, 6) (NaN after impact), launch speed
    (N,), drag coefficient k (N,, 1/m)."""

    t: np.ndarray
    x: np.ndarray
    speed_mps: np.ndarray
    k_per_m: np.ndarray

    def states_at(self, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Ids and states of the rounds in flight at ``time_s`` (the metrics' truth source)."""
        i = round(time_s / DT_S)
        if not 0 <= i < self.t.size:
            return np.zeros(0, np.int64), np.zeros((0, 6))
        s = self.x[:, i]
        live = np.flatnonzero(np.isfinite(s[:, 0]))
        return live, s[live]


def _accel(v: np.ndarray, k: np.ndarray) -> np.ndarray:
    a = -k[:, None] * np.linalg.norm(v, axis=1)[:, None] * v
    a[:, 2] -= G
    return a


def raid(n: int, seed: int, spread_s: float = 20.0) -> Flights:
    """``n`` rounds launched over ``spread_s`` from 3–8 km, high angle, 250–1,000 m/s, each with
    its own drag coefficient (k = ρ C_d A / 2m for rounds of 60–160 mm: 3e-5–2e-4 per m), flown by
    RK4 at 10 ms until they reach the ground."""
    rng = np.random.default_rng(seed)
    rng_m, bearing = rng.uniform(3000.0, 8000.0, n), rng.uniform(0.0, 2 * np.pi, n)
    speed = rng.uniform(250.0, 1000.0, n)
    elev = np.deg2rad(rng.uniform(45.0, 70.0, n))
    k = np.exp(rng.uniform(np.log(3e-5), np.log(2e-4), n))
    toward = bearing + np.pi + rng.normal(0.0, 0.3, n)  # fired roughly at the radar's site
    launch_s = rng.uniform(0.0, spread_s, n)
    steps = int(400.0 / DT_S)
    t = np.arange(steps) * DT_S
    x = np.full((n, steps, 6), np.nan)
    p = np.column_stack([rng_m * np.sin(bearing), rng_m * np.cos(bearing), np.zeros(n)])
    v = speed[:, None] * np.column_stack(
        [np.cos(elev) * np.sin(toward), np.cos(elev) * np.cos(toward), np.sin(elev)]
    )
    start = np.rint(launch_s / DT_S).astype(int)
    flying = np.zeros(n, bool)
    for i in range(steps):
        flying |= start == i
        if not flying.any():
            continue
        f = np.flatnonzero(flying)
        x[f, i, :3], x[f, i, 3:] = p[f], v[f]
        pv, vv = p[f], v[f]
        k1v, k1p = _accel(vv, k[f]), vv
        k2v, k2p = _accel(vv + 0.5 * DT_S * k1v, k[f]), vv + 0.5 * DT_S * k1v
        k3v, k3p = _accel(vv + 0.5 * DT_S * k2v, k[f]), vv + 0.5 * DT_S * k2v
        k4v, k4p = _accel(vv + DT_S * k3v, k[f]), vv + DT_S * k3v
        p[f] = pv + DT_S / 6 * (k1p + 2 * k2p + 2 * k3p + k4p)
        v[f] = vv + DT_S / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        landed = f[p[f, 2] < 0.0]
        flying[landed] = False
        start[landed] = -1
        if not flying.any() and np.all(start < i):
            x = x[:, : i + 1]
            t = t[: i + 1]
            break
    return Flights(t, x, speed, k)


def looks(
    fl: Flights, seed: int, seen: list[np.ndarray] | None = None
) -> list[tuple[float, PlotBatch]]:
    """One look a second: every round above 0.5° of elevation within 15 km detected with
    probability Pd, measured with the radar's noise, plus Poisson clutter. ``seen``, when
    given, receives the ids of the rounds detected at each look."""
    rng = np.random.default_rng(seed + 10_000)
    site = np.array(RADAR.position_enu)
    out = []
    for t in np.arange(LOOK_S, fl.t[-1], LOOK_S):
        ids, s = fl.states_at(float(t))
        z = meas.measure(s, site, 3) if ids.size else np.zeros((0, 3))
        keep = (rng.random(len(z)) < PD) & (z[:, 2] > np.deg2rad(0.5)) & (z[:, 0] < 15_000)
        if seen is not None:
            seen.append(ids[keep])
        z = z[keep] + rng.standard_normal((int(keep.sum()), 3)) * SIGMA
        nc = rng.poisson(CLUTTER_PER_LOOK)
        zc = np.column_stack([
            rng.uniform(300, 15_000, nc), rng.uniform(0, 2 * np.pi, nc),
            rng.uniform(np.deg2rad(0.5), np.deg2rad(60), nc),
        ])
        z = np.vstack([z, zc])
        m = len(z)
        out.append((float(t), PlotBatch(
            time_s=np.full(m, t), sensor_id=np.full(m, RADAR.sensor_id, np.int64),
            range_m=z[:, 0], azimuth_rad=z[:, 1], elevation_rad=z[:, 2],
            radial_velocity_mps=np.full(m, np.nan), snr_db=np.full(m, 20.0),
            report_time_s=np.full(m, t),
        )))
    return out


def unseen_gaps(seen: list[np.ndarray], n: int, looks_missed: int) -> np.ndarray:
    """Per round, how many times it went more than ``looks_missed`` consecutive looks without a
    plot between its first and last plot (out of coverage, or missed detections): a tracker
    that deletes a track after that many misses breaks there whatever its model."""
    hit = np.zeros((len(seen), n), bool)
    for k, ids in enumerate(seen):
        hit[k, ids] = True
    gaps = np.zeros(n, np.int64)
    for r in range(n):
        k = np.flatnonzero(hit[:, r])
        gaps[r] = int(np.count_nonzero(np.diff(k) - 1 > looks_missed))
    return gaps


def score(n: int, seed: int, config: TrackerConfig) -> dict:
    """Fly a raid, track it, score it."""
    fl = raid(n, seed)
    seen: list[np.ndarray] = []
    batches = looks(fl, seed, seen)
    gaps = unseen_gaps(seen, n, config.max_misses)
    tracker = Tracker([RADAR], config)
    log = TrackLog()
    t0 = time.perf_counter()
    for t, b in batches:
        log.record(tracker.process(b, now=t), tracker.motion)
    seconds = time.perf_counter() - t0
    m = evaluate_tracks(log, fl)
    confirmed = m.confirmed
    fast = fl.speed_mps[m.round_id] > 750.0
    return {
        "seed": seed,
        "rounds": int(m.round_id.size),
        "confirmed": int(confirmed.sum()),
        "tracks_per_round": float(m.n_tracks[confirmed].mean()) if confirmed.any() else None,
        "breaks": int(m.breaks.sum()),
        "breaks_fast": int(m.breaks[fast].sum()),
        "breaks_below_500": int(m.breaks[fl.speed_mps[m.round_id] < 500.0].sum()),
        "unseen_gaps": int(gaps[m.round_id].sum()),
        "breaks_while_seen": int(np.maximum(m.breaks - gaps[m.round_id], 0).sum()),
        "false_tracks": int(m.spurious_track_ids.size),
        "swapped_tracks": int(m.swapped_track_ids.size),
        "position_rmse_m": float(np.sqrt(np.nanmean(m.position_rmse_m**2))),
        "velocity_rmse_mps": float(np.sqrt(np.nanmean(m.velocity_rmse_mps**2))),
        "tracker_s": seconds,
    }


def _config(text: str) -> TrackerConfig:
    """A ``TrackerConfig`` from ``default`` or ``name=value,name=value`` (numbers)."""
    if text == "default":
        return TrackerConfig()
    fields = set(TrackerConfig.__dataclass_fields__)
    changes = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        if name not in fields or not value:
            raise SystemExit(f"--config: {item!r} is not name=value with name one of the "
                             f"TrackerConfig fields ({', '.join(sorted(fields))})")
        changes[name] = type(getattr(TrackerConfig(), name))(float(value))
    return replace(TrackerConfig(), **changes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, nargs="+", default=[20, 100])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--q-beta", type=float, nargs="+", default=[None],
                    help="drag-scale drift rates to compare (default: the tracker's own)")
    ap.add_argument("--config", nargs="+", default=[],
                    help="TrackerConfig variants to compare: 'default' or 'name=value,...'")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    variants = [
        ("default" if q is None else f"process_noise_q_beta={q:g}",
         TrackerConfig() if q is None else replace(TrackerConfig(), process_noise_q_beta=q))
        for q in args.q_beta
    ] if not args.config else [(text, _config(text)) for text in args.config]
    rows = []
    for label, config in variants:
        for n in args.rounds:
            runs = [score(n, seed, config) for seed in range(args.seeds)]
            total = sum(r["confirmed"] for r in runs)
            rows.append({
                "config": label, "q_beta": config.process_noise_q_beta, "rounds": n,
                "seeds": args.seeds,
                "tracks_per_round": sum(r["tracks_per_round"] * r["confirmed"] for r in runs)
                / max(total, 1),
                "unconfirmed": sum(r["rounds"] - r["confirmed"] for r in runs),
                "breaks": sum(r["breaks"] for r in runs),
                "breaks_fast": sum(r["breaks_fast"] for r in runs),
                "breaks_below_500": sum(r["breaks_below_500"] for r in runs),
                "unseen_gaps": sum(r["unseen_gaps"] for r in runs),
                "breaks_while_seen": sum(r["breaks_while_seen"] for r in runs),
                "false_tracks": sum(r["false_tracks"] for r in runs),
                "swapped_tracks": sum(r["swapped_tracks"] for r in runs),
                "position_rmse_m": float(np.mean([r["position_rmse_m"] for r in runs])),
                "velocity_rmse_mps": float(np.mean([r["velocity_rmse_mps"] for r in runs])),
                "runs": runs,
            })
    if args.json:
        print(json.dumps({"machine": platform.platform(), "rows": rows}, indent=1))
        return
    width = max(len(r["config"]) for r in rows)
    print("(gaps: a round unseen for more than max_misses looks; seen: breaks not at such a gap)")
    print(f"{'config':<{width}} {'rounds':>6} {'seeds':>5} {'trk/rnd':>7} {'unconf':>6} "
          f"{'breaks':>6} {'>750':>5} {'<500':>5} {'gaps':>5} {'seen':>5} {'false':>5} "
          f"{'swaps':>5} {'pos m':>6} {'vel m/s':>7}")
    for r in rows:
        print(f"{r['config']:<{width}} {r['rounds']:>6} {r['seeds']:>5} "
              f"{r['tracks_per_round']:>7.3f} {r['unconfirmed']:>6} {r['breaks']:>6} "
              f"{r['breaks_fast']:>5} "
              f"{r['breaks_below_500']:>5} {r['unseen_gaps']:>5} {r['breaks_while_seen']:>5} "
              f"{r['false_tracks']:>5} {r['swapped_tracks']:>5} "
              f"{r['position_rmse_m']:>6.1f} {r['velocity_rmse_mps']:>7.2f}")


if __name__ == "__main__":
    main()
