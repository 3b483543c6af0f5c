"""Tests of the multi-target tracker: salvo with clutter, false tracks from clutter, life cycle,
late and bad plots, multi-radar fusion, and (when the radar and world modules exist) every
built-in scenario.

Synthetic plots come from the physics core's flights and the tracking measurement model with
Gaussian noise; clutter is uniform in range, azimuth and elevation, so its density in
measurement space is known exactly, which is what the false-track bound needs.
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict

import numpy as np
import pytest
from scipy.stats import chi2, poisson

from counterram.metrics.tracks import TrackLog, evaluate_tracks
from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.scenario.resolved import resolve
from counterram.sensors.plots import PlotBatch, SensorInfo
from counterram.tracking import measurement as meas
from counterram.tracking.lifecycle import TrackStatus
from counterram.tracking.motion import GravityOnly
from counterram.tracking.tracker import Tracker, TrackerConfig

# An LCMR-like radar (σ 15 m, 5 mrad) scanning every second, off to the side of the fire.
RADAR = SensorInfo(1, "lcmr", (-1500.0, 500.0, 5.0), 15.0, 5e-3, 5e-3)
RADAR_B = SensorInfo(2, "wlr", (1500.0, -800.0, 5.0), 10.0, 2.5e-3, 2.5e-3)
R_MIN, R_MAX = 200.0, 10_000.0
EL_MIN, EL_MAX = np.deg2rad(0.5), np.deg2rad(60.0)


class SampledTruth:
    """Flights sampled every ``dt``; ``states_at`` interpolates linearly (error < 0.1 m at
    0.02 s for accelerations of ≤ 50 m/s²: a dt²/8 = 2.5 mm)."""

    def __init__(self, t0: np.ndarray, samples_t: np.ndarray, samples: np.ndarray) -> None:
        self.t0, self.st, self.s = np.asarray(t0, float), samples_t, samples

    def states_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        k = (t - self.t0) / (self.st[1] - self.st[0])
        i = np.floor(k).astype(int)
        ids = np.flatnonzero((i >= 0) & (i + 1 < self.st.size))
        f = (k - i)[ids, None]
        st = self.s[ids, i[ids]] * (1 - f) + self.s[ids, i[ids] + 1] * f
        good = np.all(np.isfinite(st), axis=1)
        return ids[good], st[good]


def flights(munition: str, launch, az, el, speed, t0) -> SampledTruth:
    mun = load_catalogue().get(munition)
    n = len(launch)
    state0 = launch_state(launch, az, el, speed)
    fl = fly(state0, Projectiles.from_munitions([mun] * n), sample_dt_s=0.02)
    return SampledTruth(np.broadcast_to(t0, (n,)), fl.samples_t, fl.samples)


class NoTruth:
    def states_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(0, np.int64), np.zeros((0, 6))


def clutter(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` false plots uniform in [R_MIN, R_MAX] × [0, 2π) × [EL_MIN, EL_MAX]."""
    return np.column_stack(
        [rng.uniform(R_MIN, R_MAX, n), rng.uniform(0, 2 * np.pi, n), rng.uniform(EL_MIN, EL_MAX, n)]
    )


def scans(truth, info: SensorInfo, times, pd: float, clutter_per_scan: float, rng):
    """One PlotBatch per scan time (all plots of a scan at one instant) and its labels."""
    s_pos = np.array(info.position_enu)
    sig = np.array([info.sigma_range_m, info.sigma_azimuth_rad, info.sigma_elevation_rad])
    out = []
    for t in times:
        ids, st = truth.states_at(float(t))
        z = meas.measure(st, s_pos, 3) if ids.size else np.zeros((0, 3))
        ok = (rng.random(ids.size) < pd) & (z[:, 2] > EL_MIN) & (z[:, 0] < R_MAX)
        z = z[ok] + rng.standard_normal((int(ok.sum()), 3)) * sig
        nc = rng.poisson(clutter_per_scan)
        z = np.concatenate([z, clutter(nc, rng)])
        labels = np.concatenate([ids[ok], np.full(nc, -1)])
        out.append((batch(np.full(z.shape[0], float(t)), info.sensor_id, z), labels))
    return out


def batch(t: np.ndarray, sensor_id, z: np.ndarray) -> PlotBatch:
    m = z.shape[0]
    return PlotBatch(
        np.asarray(t, float),
        np.broadcast_to(np.asarray(sensor_id), (m,)).astype(np.int64),
        z[:, 0],
        np.mod(z[:, 1], 2 * np.pi),
        z[:, 2],
        np.full(m, np.nan),
        np.zeros(m),
    )


SECTION_OFFSETS_M = np.array(
    [[0.0, 0.0], [180.0, 40.0], [60.0, 210.0], [250.0, 260.0], [-150, 120]]
)
"""Launcher offsets of a mortar section: irregular, ≥ 150 m apart, no three of them equally
spaced on a line (a parallel sheaf of equally spaced rounds is ambiguous at 1 s looks: see
docs/tracking.md, "Limits")."""


def section_salvo(seed: int = 7) -> SampledTruth:
    """Five 81 mm bombs fired together by a mortar section at :data:`SECTION_OFFSETS_M`, same
    azimuth and elevation (the rounds fly side by side), launched within 0.3 s."""
    g = np.random.default_rng(seed)
    n = SECTION_OFFSETS_M.shape[0]
    launch = np.column_stack([3000.0 + SECTION_OFFSETS_M, np.zeros(n)])
    return flights(
        "81mm-mortar",
        launch,
        np.full(n, np.deg2rad(225.0)),
        np.deg2rad(60.0),
        202.6,
        2.0 + g.uniform(0, 0.3, n),
    )


# ------------------------------------------------------------------------------------------
# Salvo
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_salvo_in_clutter_every_round_confirmed_without_swaps(seed: int) -> None:
    """Five bombs ≥ 150 m apart seen by a weapon-locating radar (σ 10 m, 2.5 mrad, 1 s looks):
    ≈ 12 σ of its 12 m cross-range noise at 5 km, while the χ² gates of young neighbouring
    tracks (≈ 4 σ of an innovation of 30–50 m) overlap; Pd 0.9, 5 false plots per scan.
    Every round with ≥ 4 plots gets a confirmed track, each confirmed track's plots come from one
    round only (no swap), no round is followed by two tracks (no break) and no confirmed track
    follows clutter."""
    rng = np.random.default_rng(seed)
    truth = section_salvo()
    data = scans(truth, RADAR_B, np.arange(0.0, 45.0, 1.0) + 0.3, 0.9, 5.0, rng)
    tracker = Tracker([RADAR_B], TrackerConfig(revisit_s=1.0))
    log = TrackLog()
    rounds_of_track: dict[int, set[int]] = defaultdict(set)
    detections: dict[int, list[float]] = defaultdict(list)
    for plots, labels in data:
        out = tracker.process(plots, now=float(plots.time_s[0]))
        log.record(out, tracker.motion)
        for r in labels[labels >= 0]:
            detections[int(r)].append(float(plots.time_s[0]))
        conf = set(out.track_id[out.confirmed].tolist())
        for tid, lab in zip(out.plot_track_id, labels, strict=True):
            if tid in conf and lab >= 0:
                rounds_of_track[int(tid)].add(int(lab))
    eligible = {r for r, d in detections.items() if len(d) >= 4}
    assert len(eligible) == 5
    m = evaluate_tracks(log, truth, first_detection_s={r: d[0] for r, d in detections.items()})
    for r, ok in zip(m.round_id, m.confirmed, strict=True):
        assert ok or r not in eligible
    assert all(len(v) == 1 for v in rounds_of_track.values()), dict(rounds_of_track)
    assert m.swapped_track_ids.size == 0
    assert m.spurious_track_ids.size == 0
    looks = np.array([p.time_s[0] for p, _ in data])
    for r, breaks, ttc in zip(m.round_id, m.breaks, m.time_to_confirm_s, strict=True):
        seen = np.isin(looks, detections[int(r)])
        first = int(np.argmax(seen))
        # A break is allowed only where the round went unseen for more looks than the miss
        # count allows (the old track is then rightly deleted): Pd 0.9, 4 misses ≈ 1e-4/look.
        run, longest = 0, 0
        for s_ in seen[first : np.flatnonzero(seen)[-1]]:
            run = 0 if s_ else run + 1
            longest = max(longest, run)
        if longest <= TrackerConfig().max_misses:
            assert breaks == 0
        # 3 of 4 at 1 s looks: confirmed by the end of the first 4-look window holding 3 of its
        # plots, or up to two windows (8 s) later when its first plots went to competing pairs
        # (a neighbour's or a false plot) that then failed to confirm.
        hits = np.convolve(seen[first:].astype(int), np.ones(4, int))[: seen.size - first]
        ready = looks[first + int(np.argmax(hits >= 3))] - looks[first]
        assert ttc <= ready + 8.0 + 1e-9, (r, ttc, ready)


# ------------------------------------------------------------------------------------------
# False tracks from clutter
# ------------------------------------------------------------------------------------------


def test_false_tracks_from_an_hour_of_clutter_are_few_and_bounded() -> None:
    """An hour of pure clutter, 5 false plots per 2 s scan (9 000 plots) over 0.2–10 km,
    0.5–60° elevation, all azimuths.

    Bound: a tentative track (two plots that passed the kinematic gates) confirms only if a
    later plot falls in its χ² gate. For clutter uniform in (r, az, el) with density λ, the
    expected number of plots in the gate of a track with innovation covariance S is
    λ V = λ (4/3) π γ^{3/2} √det S, γ = χ²₃(0.999). Summing λ V over every tentative track at
    every scan it lives through (S computed from the tracks the tracker outputs) gives E, the
    expected number of clutter plots landing in tentative gates; false confirmations ≤ such
    hits, and hits are Poisson(E), so the count must stay below the 99.9 % Poisson quantile of
    E. Gates reaching outside the clutter box make E an over-estimate (conservative), and so
    does predicting the covariance without drag (gravity only, same process noise: drag damps
    velocity errors, so the ballistic model's S is slightly smaller).
    """
    rng = np.random.default_rng(11)
    revisit, hours, per_scan = 2.0, 1.0, 5.0
    times = np.arange(0.0, 3600.0 * hours, revisit)
    counts = rng.poisson(per_scan, times.size)
    z = clutter(int(counts.sum()), rng)
    t = np.repeat(times, counts)
    cuts = np.cumsum(counts)[:-1]
    tracker = Tracker([RADAR], TrackerConfig(revisit_s=revisit))
    linear = GravityOnly(q=tracker.config.process_noise_q)
    density = per_scan / ((R_MAX - R_MIN) * 2 * np.pi * (EL_MAX - EL_MIN))
    gamma = chi2.ppf(TrackerConfig().gate_probability, 3)
    R = np.diag([RADAR.sigma_range_m, RADAR.sigma_azimuth_rad, RADAR.sigma_elevation_rad]) ** 2
    expected_hits = 0.0
    confirmed_ids: set[int] = set()
    s_pos = np.array(RADAR.position_enu)
    for k, (tk, zk) in enumerate(zip(np.split(t, cuts), np.split(z, cuts), strict=True)):
        out = tracker.process(batch(tk, 1, zk), now=float(times[k]))
        confirmed_ids |= set(out.track_id[out.confirmed].tolist())
        tent = out.status == TrackStatus.TENTATIVE
        if not tent.any():
            continue
        dt = times[k] + revisit - out.state_time_s[tent]
        x, P = linear.predict(out.x[tent, :6], out.P[tent, :6, :6], dt)[:2]
        H = meas.jacobian(x, s_pos, 3)
        S = H @ P @ np.swapaxes(H, 1, 2) + R
        volume = 4.0 / 3.0 * np.pi * gamma**1.5 * np.sqrt(np.linalg.det(S))
        expected_hits += float(np.sum(density * volume))
    bound = poisson.ppf(0.999, expected_hits)
    assert out.counters["tracks_initiated"] > 100  # the gates were exercised
    assert len(confirmed_ids) <= bound, (len(confirmed_ids), expected_hits)
    print(f"false confirmed tracks per hour: {len(confirmed_ids)}, E = {expected_hits:.2f}")


# ------------------------------------------------------------------------------------------
# Life cycle, ids, late and bad plots, fusion
# ------------------------------------------------------------------------------------------


def single_round(t0: float = 2.0, east: float = 3000.0) -> SampledTruth:
    return flights(
        "81mm-mortar",
        np.array([[east, 3000.0, 0.0]]),
        np.array([np.deg2rad(225.0)]),
        np.deg2rad(60.0),
        202.6,
        np.array([t0]),
    )


def test_life_cycle_tentative_confirmed_deleted_and_ids_never_reused() -> None:
    """No clutter, Pd 1: the round's track is tentative after its 2nd plot, confirmed at its
    3rd, keeps one id over the whole flight, and is deleted after the plots stop (landing) with
    reason "impact" or "missed"; a second round later gets a new, larger id."""
    rng = np.random.default_rng(3)
    tracker = Tracker([RADAR], TrackerConfig(revisit_s=1.0))
    data = scans(single_round(), RADAR, np.arange(0.0, 50.0, 1.0) + 0.3, 1.0, 0.0, rng)
    statuses, ids, events = [], set(), []
    n_plots = 0
    for (plots, _), t in zip(data, np.arange(0.0, 50.0, 1.0) + 0.3, strict=True):
        out = tracker.process(plots, now=float(t))
        n_plots += len(plots)
        events += list(out.events)
        if n_plots in (1, 2, 3):
            statuses.append(out.status.tolist())
        ids |= set(out.track_id.tolist())
    assert statuses == [[], [TrackStatus.TENTATIVE], [TrackStatus.CONFIRMED]]
    assert ids == {1}
    assert [e.kind for e in events] == ["confirmed", "deleted"]
    assert events[1].reason in ("impact", "missed")
    assert out.counters["tracks_initiated"] == 1
    # a second round: its track gets id 2
    data = scans(single_round(t0=60.0), RADAR, np.arange(60.0, 75.0, 1.0) + 0.3, 1.0, 0.0, rng)
    for plots, _ in data:
        out = tracker.process(plots, now=float(plots.time_s[0]))
    assert out.track_id.tolist() == [2]


def test_late_plots_within_tolerance_are_used_and_older_ones_rejected() -> None:
    """Plots of a scan delivered one scan late (0.5 s behind the tracker, tolerance 2 s) are
    still used (the track keeps all its updates); a plot 5 s old is rejected and counted."""
    rng = np.random.default_rng(4)
    data = scans(single_round(), RADAR, np.arange(0.0, 20.0, 1.0) + 0.3, 1.0, 0.0, rng)
    data = [d for d in data if len(d[0])]
    tracker = Tracker([RADAR], TrackerConfig(revisit_s=1.0, late_tolerance_s=2.0))
    # deliver scan k's plots, then scan k-1's plots of the second radar's clock offset: emulate
    # by swapping every other pair of scans (the older arrives after the newer).
    order = []
    for k in range(0, len(data) - 1, 2):
        order += [k + 1, k]
    used = 0
    for k in order:
        out = tracker.process(data[k][0])
        used = out.counters["plots_used"]
    n = sum(len(data[k][0]) for k in order)
    assert out.counters["rejected_late"] == 0
    assert out.counters["tracks_confirmed"] == 1
    assert used >= n - 3  # all but the plots that started the track (2, or 3 when swapped)
    assert out.confirmed.sum() == 1
    old = data[0][0]
    out = tracker.process(old)  # 1 plot, about 15 s old
    assert out.counters["rejected_late"] == len(old)
    assert out.plot_track_id.tolist() == [-1] * len(old)


def test_bad_plots_are_rejected_and_counted() -> None:
    tracker = Tracker([RADAR])
    z = np.array([[3000.0, 1.0, 0.3], [np.nan, 1.0, 0.3], [-5.0, 1.0, 0.3], [3000.0, 1.0, 0.3]])
    plots = batch(np.array([1.0, 1.0, 1.0, np.nan]), np.array([1, 1, 1, 1]), z)
    out = tracker.process(plots)
    assert out.counters["rejected_invalid"] == 3
    out = tracker.process(batch(np.array([2.0]), np.array([9]), z[:1]))
    assert out.counters["rejected_unknown_sensor"] == 1
    with pytest.raises(ValueError, match="confirm_hits"):
        TrackerConfig(confirm_hits=5, confirm_looks=4)
    with pytest.raises(ValueError, match="gate_probability"):
        TrackerConfig(gate_probability=1.5)


def test_two_radars_fused_into_one_track_per_round() -> None:
    """Two radars looking at the same instants: one track per round, updated by both radars
    (a group per radar and instant, so both plots of an instant are used)."""
    rng = np.random.default_rng(5)
    truth = single_round()
    times = np.arange(0.0, 30.0, 1.0) + 0.3
    a = scans(truth, RADAR, times, 1.0, 2.0, rng)
    b = scans(truth, RADAR_B, times, 1.0, 2.0, rng)
    tracker = Tracker([RADAR, RADAR_B], TrackerConfig(revisit_s=1.0))
    both = 0
    for (pa, la), (pb, lb), t in zip(a, b, times, strict=True):
        plots = PlotBatch.concatenate([pa, pb])  # equal times: a's plots stay first
        labels = np.concatenate([la, lb])
        out = tracker.process(plots, now=float(t))
        conf = out.track_id[out.confirmed]
        if conf.size:
            assert conf.size == 1
            used = out.plot_track_id == conf[0]
            both += int(np.count_nonzero(used & (labels == 0)) == 2)
    assert both >= 15


# ------------------------------------------------------------------------------------------
# Built-in scenarios (radar and world modules)
# ------------------------------------------------------------------------------------------

_HAVE_SIM = all(
    importlib.util.find_spec(m) is not None
    for m in ("counterram.sensors.radar", "counterram.world", "counterram.scenario")
)


def _simulate_plots():
    try:
        from counterram.sensors import radar
    except Exception:  # a module still being written must not break this file's collection
        return None
    return getattr(radar, "simulate_plots", None)


def run_scenario(name: str, chunk_s: float = 1.0) -> tuple[int, int, dict[int, int]]:
    """Simulate a built-in scenario's search radars (default seed), feed their plots to the
    tracker in order of report time (latency makes some arrive late) in chunks of ``chunk_s``,
    and return (rounds with ≥ 4 plots, of which confirmed, plot count per round)."""
    from counterram.scenario import load_scenario
    from counterram.sensors.radar import radars_from_scenario, simulate_plots
    from counterram.world import build_truth

    scenario = load_scenario(name)
    world = resolve(scenario)
    truth = build_truth(scenario)
    radars = [r for r in radars_from_scenario(scenario) if not r.cued]
    scans_ = simulate_plots(truth, radars, seed=scenario.seed, end_s=scenario.duration_s)
    plots = PlotBatch.concatenate([s.plots for s in scans_])
    labels = np.concatenate([s.truth.round_id for s in scans_])
    order = np.lexsort((plots.time_s, plots.report_time_s))
    plots, labels = plots.take(order), labels[order]
    tracker = Tracker(
        [r.info for r in radars],
        TrackerConfig(sensor_revisit_s={r.sensor_id: r.config.revisit_s for r in radars}),
        atmosphere=world.atmosphere(),
        wind=world.wind(),
    )
    confirmed_ids: set[int] = set()
    used: dict[int, set[int]] = defaultdict(set)
    edges = np.arange(0.0, float(plots.report_time_s.max()) + 2 * chunk_s, chunk_s)
    cuts = np.searchsorted(plots.report_time_s, edges[1:], side="left")
    start = 0
    for end_s, cut in zip(edges[1:], cuts, strict=True):
        part = np.arange(start, cut)
        start = cut
        out = tracker.process(plots.take(part), now=float(end_s))
        confirmed_ids |= {e.track_id for e in out.events if e.kind == "confirmed"}
        for tid, lab in zip(out.plot_track_id, labels[part], strict=True):
            if tid >= 0 and lab >= 0:
                used[int(tid)].add(int(lab))
    rounds, counts = np.unique(labels[labels >= 0], return_counts=True)
    per_round = dict(zip(rounds.tolist(), counts.tolist(), strict=True))
    eligible = {r for r, n in per_round.items() if n >= 4}
    got = set().union(*(used[t] for t in confirmed_ids)) if confirmed_ids else set()
    return len(eligible), len(eligible & got), per_round


@pytest.mark.slow
@pytest.mark.skipif(
    not _HAVE_SIM or _simulate_plots() is None, reason="radar/world modules not available"
)
@pytest.mark.parametrize("name", ["baghdad-embassy", "fob-mortar", "grad-salvo"])
def test_builtin_scenario_confirms_rounds_with_four_detections(name: str) -> None:
    """≥ 99 % of the rounds that the search radars detect at least 4 times get a confirmed
    track (the issue's acceptance figure; 4 plots leave 3-of-4 confirmation room for one
    plot lost to initiation)."""
    eligible, confirmed, _ = run_scenario(name)
    assert eligible > 0
    assert confirmed / eligible >= 0.99, (eligible, confirmed)


def test_spatial_screen_never_drops_a_track_the_gate_would_accept(monkeypatch) -> None:
    """The per-group screen (:func:`~counterram.tracking.update_kernels.near_tracks`, inside
    the tracker's compiled group step) is conservative: over a simulated run with clutter,
    every track that passes the χ² gate of some plot of a group was in the screened set, and
    the screen leaves tracks out (a search radar's group, clutter all over the sky, keeps most
    tracks; a cued fire-control look keeps only the track it looked at)."""
    from conftest import two_firings as small_scenario
    from counterram.engine import Engine
    from counterram.sim import simulate
    from counterram.tracking import update_kernels

    res = simulate(small_scenario(), seed=2)
    engine = Engine.from_scenario(small_scenario())
    tracker = engine.tracker
    step_group = update_kernels.screen_predict_gate
    seen = {"groups": 0, "tracks": 0, "kept": 0, "missed": 0}

    def checked(x, P, time_s, status, t, *rest):
        out = step_group(x, P, time_s, status, t, *rest)
        near = out[0]
        z, s, sigma, m, doppler = rest[15:20]
        last_hit, miss_interval, shape, reacq_q, reacq_b = rest[-5:]
        # the prediction the group step gates with: the model's, plus the per-track inflation
        # (drag-shape noise on β before, re-acquisition noise for tracks that missed a look)
        dt = t - time_s
        tables = tracker._motion_args[4:9]  # air, z0, dz, drag, Mach step
        q_extra, b_extra = np.empty(x.shape[0]), np.empty(x.shape[0])
        update_kernels.prior_inflation(
            x, tracker.motion.acceleration(x), dt, status, last_hit, miss_interval, t,
            int(TrackStatus.CONFIRMED), shape, reacq_q, reacq_b, *tables, q_extra, b_extra,
        )
        P = P.copy()
        P[:, 6, 6] += b_extra
        xp, Pp = tracker.filter.predict(x, P, dt)
        update_kernels.add_white_acceleration(Pp, dt, q_extra)
        d2 = np.empty((x.shape[0], z.shape[0]))
        update_kernels.gate_distances(xp, Pp, z, s, sigma, m, doppler, d2)
        limit = np.where(status == TrackStatus.CONFIRMED, tracker._gate_limit.max(),
                         tracker._tentative_limit.max())
        gated = np.flatnonzero(np.any(d2 <= limit[:, None], axis=1))
        seen["groups"] += 1
        seen["tracks"] += x.shape[0]
        seen["kept"] += near.size
        seen["missed"] += np.setdiff1d(gated, near).size
        return out

    monkeypatch.setattr(update_kernels, "screen_predict_gate", checked)
    report = res.plots.report_time_s
    step = res.step_s
    for k in range(1, round(res.end_time_s / step) + 1):
        now = k * step
        tracker.step(now, res.plots.take(np.flatnonzero((report > now - step) & (report <= now))))
    assert seen["groups"] > 100
    assert seen["missed"] == 0
    assert seen["kept"] < 0.9 * seen["tracks"]


def _quadratic_drag_rounds(
    speed_mps: np.ndarray, k_per_m: np.ndarray, dt_s: float = 0.02
) -> tuple[np.ndarray, np.ndarray]:
    """Rounds that are no catalogue munition: a = −k |v| v + g (a speed-independent drag
    coefficient in air of constant density, so no transonic change of Cd), fired east at 60°
    from 4, 6, 8 … km north of the radar (never near its zenith, never near each other).
    Returns sample times (K,) and states (N, K, 6), NaN once a round is on the ground."""
    n = speed_mps.size
    el = np.deg2rad(60.0)
    p = np.column_stack([np.zeros(n), 4000.0 + 2000.0 * np.arange(n), np.zeros(n)])
    v = speed_mps[:, None] * np.array([np.cos(el), 0.0, np.sin(el)])
    out = [np.hstack([p, v])]
    flying = np.ones(n, bool)

    def acc(u: np.ndarray) -> np.ndarray:
        a = -k_per_m[:, None] * np.linalg.norm(u, axis=1, keepdims=True) * u
        a[:, 2] -= 9.80665
        return a

    while flying.any():
        k1 = acc(v)
        k2 = acc(v + 0.5 * dt_s * k1)
        k3 = acc(v + 0.5 * dt_s * k2)
        k4 = acc(v + dt_s * k3)
        p = p + dt_s * (v + dt_s / 6 * (k1 + k2 + k3))  # RK4 position for v̇ = a(v)
        v = v + dt_s / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        flying &= p[:, 2] > 0.0
        s = np.hstack([p, v])
        s[~flying] = np.nan
        out.append(s)
    return np.arange(len(out)) * dt_s, np.stack(out, axis=1)


def _tracks_per_round(
    config: TrackerConfig, speed: np.ndarray, k_per_m: np.ndarray, seed: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Fast unknown-drag rounds through one radar (σ 10 m, 2 mrad, Pd 0.9, 1 s looks): per
    round, the number of confirmed tracks that took its plots, and how often it went more
    than ``max_misses`` looks unseen (where any tracker must break)."""
    t, x = _quadratic_drag_rounds(speed, k_per_m)
    radar = SensorInfo(1, "wlr", (0.0, 0.0, 5.0), 10.0, 2e-3, 2e-3)
    sigma = np.array([10.0, 2e-3, 2e-3])
    rng = np.random.default_rng(seed)
    tracker = Tracker([radar], config)
    owner: list[np.ndarray] = []  # round of each plot, per look
    used: list[np.ndarray] = []
    confirmed: set[int] = set()
    for look in np.arange(1.0, t[-1], 1.0):
        s = x[:, round(look / (t[1] - t[0]))]
        live = np.flatnonzero(np.isfinite(s[:, 0]))
        z = meas.measure(s[live], np.array(radar.position_enu), 3)
        keep = (rng.random(live.size) < 0.9) & (z[:, 2] > np.deg2rad(0.5))
        z = z[keep] + rng.standard_normal((int(keep.sum()), 3)) * sigma
        m = len(z)
        out = tracker.process(PlotBatch(
            np.full(m, look), np.ones(m, np.int64), z[:, 0], np.mod(z[:, 1], 2 * np.pi),
            z[:, 2], np.full(m, np.nan), np.zeros(m)), now=float(look))
        owner.append(live[keep])
        used.append(out.plot_track_id)
        confirmed |= {e.track_id for e in out.events if e.kind == "confirmed"}
    n_tracks = np.zeros(speed.size, np.int64)
    gaps = np.zeros(speed.size, np.int64)
    for r in range(speed.size):
        ids = {int(i) for o, u in zip(owner, used, strict=True) for i in u[o == r]}
        n_tracks[r] = len(ids & confirmed)
        seen = np.flatnonzero([np.any(o == r) for o in owner])
        gaps[r] = np.count_nonzero(np.diff(seen) - 1 > config.max_misses)
    return n_tracks, gaps


def test_fast_rounds_of_unknown_drag_keep_one_track_through_mach_one() -> None:
    """Rounds launched at 850–1,000 m/s under a drag law the tracker does not know go subsonic
    mid-flight, where the drag scale that fits them moves by ~1 (log units). With the
    drag-shape noise and re-acquisition each keeps one confirmed track from first look to the
    ground (a break is allowed only where the round went unseen for more than max_misses
    looks); without them, the same plots break tracks (the test's control)."""
    speed = np.array([750.0, 800.0, 850.0, 900.0, 950.0, 1000.0])
    k = np.full(speed.size, 2e-4)  # a strongly decelerating round: through Mach 1 in seconds
    n_tracks, gaps = _tracks_per_round(TrackerConfig(), speed, k, seed=2)
    assert np.all(n_tracks >= 1), n_tracks
    assert np.all(n_tracks <= 1 + gaps), (n_tracks, gaps)
    stiff = TrackerConfig(drag_shape_sigma=0.0, reacquire_q=0.0, reacquire_beta_sigma=0.0)
    n_stiff, gaps_stiff = _tracks_per_round(stiff, speed, k, seed=2)
    assert np.sum(n_stiff - gaps_stiff) >= n_stiff.size + 2, (n_stiff, gaps_stiff)


def _parallel_sheaf_tracks(seed: int, config: TrackerConfig) -> tuple[int, int, int]:
    """``grad-salvo`` (40 rockets from one launcher, 0.5 s apart) with every round aimed at
    the aim area's centre: a parallel sheaf. Returns (rounds with ≥ 4 search-radar plots,
    confirmed tracks credited to a round by most of their plots, confirmed tracks with less
    than half their plots from any one round)."""
    from dataclasses import replace

    from counterram.scenario import load_scenario
    from counterram.sensors.radar import radars_from_scenario, simulate_plots
    from counterram.world import build_truth

    base = load_scenario("grad-salvo")
    threat = base.threats[0]
    corner = threat.aim_area.polygon
    centre = type(corner[0])(east_m=float(np.mean([p.east_m for p in corner])),
                             north_m=float(np.mean([p.north_m for p in corner])))
    threat = threat.model_copy(update={"aim_area": None, "aim_point": centre})
    scenario = base.model_copy(update={"seed": seed, "threats": [threat]})
    world = resolve(scenario)
    radars = [r for r in radars_from_scenario(scenario) if not r.cued]
    scans_ = simulate_plots(build_truth(scenario), radars, seed=seed, end_s=scenario.duration_s)
    plots = PlotBatch.concatenate([s.plots for s in scans_])
    labels = np.concatenate([s.truth.round_id for s in scans_])
    order = np.lexsort((plots.time_s, plots.report_time_s))
    plots, labels = plots.take(order), labels[order]
    config = replace(config, sensor_revisit_s={r.sensor_id: r.config.revisit_s for r in radars})
    tracker = Tracker([r.info for r in radars], config, atmosphere=world.atmosphere(),
                      wind=world.wind())
    confirmed: set[int] = set()
    used: dict[int, list[int]] = defaultdict(list)
    cuts = np.searchsorted(plots.report_time_s, np.arange(1.0, scenario.duration_s + 1.0))
    for k, (a, b) in enumerate(zip(np.r_[0, cuts[:-1]], cuts, strict=True)):
        out = tracker.process(plots.take(np.arange(a, b)), now=float(k + 1))
        confirmed |= {e.track_id for e in out.events if e.kind == "confirmed"}
        for tid, lab in zip(out.plot_track_id, labels[a:b], strict=True):
            if tid >= 0:
                used[int(tid)].append(int(lab))
    counts = np.unique(labels[labels >= 0], return_counts=True)[1]
    credited = false = 0
    for tid in confirmed:
        lab, n = np.unique(used[tid], return_counts=True)
        best = int(np.argmax(n))
        if lab[best] < 0 or n[best] < 0.5 * len(used[tid]):
            false += 1
        else:
            credited += 1
    return int(np.count_nonzero(counts >= 4)), credited, false


def test_parallel_sheaf_gets_about_one_track_per_round_and_no_stitched_tracks() -> None:
    """A 40-round salvo from one launcher aimed at one point (rounds 0.5 s apart on one path,
    seen every 0.5 s and 2 s): with the crowded-confirmation rule (M + 1 of N + 1 among close
    neighbours) the confirmed tracks are within 5 % of the rounds and at most one is stitched
    from several rounds; without it, tracks stitched from neighbouring rounds confirm (the
    control: 37 in 16 seeds in benchmarks/bench_salvo.py against 1, ≥ 5 in these two)."""
    got = [_parallel_sheaf_tracks(seed, TrackerConfig()) for seed in (0, 3)]
    rounds = sum(g[0] for g in got)
    assert rounds >= 70
    assert sum(g[1] for g in got) <= 1.05 * rounds, got
    assert sum(g[2] for g in got) <= 1, got
    loose = [_parallel_sheaf_tracks(seed, TrackerConfig(crowded_confirm_extra=0))
             for seed in (0, 3)]
    assert sum(g[2] for g in loose) >= 5, loose
