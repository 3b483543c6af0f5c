"""The engine: a pure step function, plot screening that never raises, cues, latency."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from conftest import two_firings
from counterram.engine import PLOT_REJECT_REASONS, STAGES, Engine, EngineConfig
from counterram.events import EngagementOrdered, ImpactPredicted, PlotRejected, TrackEvent
from counterram.sensors.plots import PlotBatch
from counterram.sim import SimulationResult, simulate


def small_scenario():
    """The shared two-firing scenario (conftest): at seed 1 the guns engage, a fast run with
    the engine's every kind of event."""
    return two_firings()


@pytest.fixture(scope="module")
def recorded() -> tuple[SimulationResult, list[tuple[float, PlotBatch]]]:
    """A simulated run and the batches its engine received, step by step."""
    res = simulate(small_scenario(), seed=1)
    plots = res.plots
    step = res.step_s
    k_end = round(res.end_time_s / step)
    # the plots of step k are those reported in ((k-1)·step, k·step]
    report = plots.report_time_s
    steps = []
    for k in range(1, k_end + 1):
        now = k * step
        sel = np.flatnonzero((report > now - step) & (report <= now))
        steps.append((now, plots.take(sel)))
    return res, steps


def _engine_events(steps: list[tuple[float, PlotBatch]]) -> list[str]:
    engine = Engine.from_scenario(small_scenario())
    out = []
    for now, batch in steps:
        out.extend(e.to_json() for e in engine.step(now, batch))
    return out


def test_step_is_pure_and_reproduces_the_simulated_run(recorded) -> None:
    res, steps = recorded
    first = _engine_events(steps)
    again = _engine_events(steps)
    assert first == again
    simulated = [e.to_json() for e in res.events if not e.truth]
    assert first == simulated  # the simulator adds nothing to the engine's picture
    kinds = {line.split('"kind":"')[1].split('"')[0] for line in first}
    assert {"track", "impact_prediction", "warning", "engagement", "gun_status"} <= kinds


def test_decisions_do_not_depend_on_the_wall_clock(recorded, monkeypatch) -> None:
    """The engine reads perf_counter only to measure latency: a clock that jumps wildly must
    not change a single event."""
    _, steps = recorded
    reference = _engine_events(steps[:200])
    ticks = itertools.count()
    monkeypatch.setattr(
        "counterram.engine.time.perf_counter", lambda: 1e6 * math.sin(next(ticks))
    )
    assert _engine_events(steps[:200]) == reference


def _batch(**cols: list[float]) -> PlotBatch:
    n = len(cols["time_s"])
    base = {
        "sensor_id": [1] * n, "range_m": [3000.0] * n, "azimuth_rad": [1.0] * n,
        "elevation_rad": [0.2] * n, "radial_velocity_mps": [math.nan] * n,
        "snr_db": [20.0] * n,
    }
    base.update(cols)
    return PlotBatch(
        np.array(base["time_s"], dtype=float), np.array(base["sensor_id"], dtype=np.int32),
        np.array(base["range_m"]), np.array(base["azimuth_rad"]),
        np.array(base["elevation_rad"]), np.array(base["radial_velocity_mps"]),
        np.array(base["snr_db"]),
        None if "report_time_s" not in base else np.array(base["report_time_s"]),
    )


def test_invalid_plots_are_rejected_counted_and_never_raise() -> None:
    engine = Engine.from_scenario(small_scenario())
    engine.step(10.0, _batch(time_s=[9.9]))
    bad = _batch(
        time_s=[10.1, math.nan, 10.2, 10.3, 10.4, 10.45, 3.0, 10.5, 10.4],
        sensor_id=[1, 1, 99, 1, 1, 1, 1, 1, 2],
        range_m=[3000.0, 3000.0, 3000.0, -5.0, 3000.0, math.inf, 3000.0, 3000.0, 3100.0],
        elevation_rad=[0.2, 0.2, 0.2, 0.2, 2.0, 0.2, 0.2, 0.2, 0.2],
        report_time_s=[10.2, 10.2, 10.2, 10.3, 10.4, 10.45, 3.0, 11.0, 10.4],
    )
    events = engine.step(10.5, bad)
    rejected = {e.reason: e.count for e in events if isinstance(e, PlotRejected)}
    assert rejected == {
        "not_finite": 2, "unknown_sensor": 1, "out_of_range": 2, "not_yet_reported": 1,
        "too_late": 1,
    }
    assert set(rejected) <= set(PLOT_REJECT_REASONS)
    assert engine.plots_accepted == 1 + 2  # the first step's plot and two good ones here
    assert sum(engine.rejected.values()) == 7
    engine.step(11.0, PlotBatch.empty())  # and it goes on


def test_absurd_magnitudes_are_out_of_range_without_overflow() -> None:
    """Plots handed to the engine directly get the plot reader's bounds: a range of 1e300 m or
    a radial velocity of 1e5 m/s is rejected before any arithmetic could overflow."""
    import warnings

    engine = Engine.from_scenario(small_scenario())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow RuntimeWarning fails the test
        events = engine.step(10.0, _batch(time_s=[9.8, 9.9, 9.9],
                                          range_m=[1e300, 3000.0, 2e6],
                                          radial_velocity_mps=[math.nan, 1e5, math.nan]))
    rejected = {e.reason: e.count for e in events if isinstance(e, PlotRejected)}
    assert rejected == {"out_of_range": 3}
    assert engine.plots_accepted == 0


def test_time_must_not_go_backwards() -> None:
    engine = Engine.from_scenario(small_scenario())
    engine.step(5.0)
    with pytest.raises(ValueError, match="backwards"):
        engine.step(4.0)


def test_cues_follow_the_confirmed_tracks(recorded) -> None:
    """Cues are the confirmed tracks' own predictions. Half a second ahead, a round in flight
    for more than 6 s (its track is confirmed 2-4 s after launch) must have a cue within 100 m
    (a few track sigmas; an fcr's range gate is ±200 m and its 2° beam about 100 m across at
    3 km) at ≥ 95 % of the steps; what is left are the last looks near the ground, where the
    search radars lose it. (Cues of tracks coasting after their round was killed or landed are
    not counted against the engine: it cannot know yet.)"""
    res, steps = recorded
    engine = Engine.from_scenario(small_scenario())
    covered = total = 0
    for now, batch in steps:
        engine.step(now, batch)
        t = now + 0.5
        ids, states = res.truth.states_at(t)
        keep = ~(res.kill_time_s[ids] <= t) & (t - res.truth.launch_time_s[ids] > 6.0)
        if not keep.any():
            continue
        cues = engine.cues(t)
        total += int(keep.sum())
        if len(cues) == 0:
            continue
        d = np.linalg.norm(states[keep][:, None, :3] - cues.position_enu[None, :, :], axis=2)
        covered += int(np.count_nonzero(d.min(axis=1) < 100.0))
    assert total > 50
    assert covered / total >= 0.95, (covered, total)


def test_latency_is_measured_per_stage(recorded) -> None:
    res, _ = recorded
    lat = res.engine.latency
    assert set(lat) == set(STAGES)
    for stats in lat.values():
        assert stats.steps == res.engine.steps
        assert 0.0 <= stats.p50_ms <= stats.p99_ms <= stats.max_ms


def test_prediction_cadence_is_bounded(recorded) -> None:
    """No track is predicted twice within prediction_interval_s, and every confirmed track that
    flew long enough got predictions."""
    res, _ = recorded
    cfg = res.engine.config
    last: dict[int, float] = {}
    for e in res.events:
        if isinstance(e, ImpactPredicted):
            if e.track_id in last:
                assert e.time_s - last[e.track_id] >= cfg.prediction_interval_s - 1e-9
            last[e.track_id] = e.time_s
    confirmed = {e.track_id for e in res.events
                 if isinstance(e, TrackEvent) and e.status == "confirmed" and not e.update}
    assert confirmed <= set(last)
    assert any(isinstance(e, EngagementOrdered) for e in res.events)


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="step_s"):
        EngineConfig(step_s=0.0)
    with pytest.raises(ValueError, match="min_updates_to_predict"):
        EngineConfig(min_updates_to_predict=1)


def test_engine_imports_nothing_of_the_simulator() -> None:
    """The live engine runs on plots: importing it (and building it from a scenario) loads
    neither the radar simulation, the simulator nor the truth model (a fresh interpreter, so
    that other tests' imports do not hide one), and its view of the sensors is the simulated
    radars' own."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from counterram.engine import Engine\n"
        "from counterram.scenario import load_scenario\n"
        "engine = Engine.from_scenario(load_scenario('baghdad-embassy'))\n"
        "bad = sorted(m for m in sys.modules if m in ('counterram.sensors.radar', 'counterram.sim',"
        " 'counterram.sensors.detection') or m.startswith('counterram.world'))\n"
        "print(bad, engine.config.step_s, len(engine.sensors))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    bad, step, n = out.stdout.rsplit("]", 1)[0] + "]", *out.stdout.rsplit("]", 1)[1].split()
    assert bad == "[]", out.stdout
    from counterram.scenario import load_scenario
    from counterram.sensors.radar import radars_from_scenario

    radars = radars_from_scenario(load_scenario("baghdad-embassy"))
    engine = Engine.from_scenario(load_scenario("baghdad-embassy"))
    assert engine.sensors == tuple(r.info for r in radars)
    assert int(n) == len(radars) and float(step) == engine.config.step_s


def test_a_stage_is_added_or_replaced_by_configuration(recorded) -> None:
    """The step is the declared stage pipeline: a registered stage named in the configuration
    runs in its place with its own latency figure, sees what the stages before it found, and
    leaves the default stages' events as they were; replacing ``warn`` by a stage that does
    nothing removes exactly the warnings; an unknown name is refused with the registered ones."""
    from dataclasses import replace

    from counterram.events import AllClear, WarningIssued
    from counterram.stages import DEFAULT_STAGES, register_stage

    seen: list[tuple[float, int, int]] = []

    class Probe:
        name = "probe"

        def __init__(self, engine: Engine) -> None:
            self.engine = engine

        def step(self, picture) -> None:
            seen.append((picture.time_s, len(picture.tracks.track_id), len(picture.fresh)))

    class Silent:
        name = "warn"

        def __init__(self, engine: Engine) -> None:
            pass

        def step(self, picture) -> None:
            pass

    register_stage("probe", Probe)
    register_stage("silent_warn", Silent)
    _, steps = recorded
    plain = Engine.from_scenario(small_scenario())
    probed = Engine.from_scenario(
        small_scenario(), replace(plain.config, stages=(*DEFAULT_STAGES[:3], "probe",
                                                        *DEFAULT_STAGES[3:])))
    silent = Engine.from_scenario(
        small_scenario(), replace(plain.config, stages=tuple(
            "silent_warn" if s == "warn" else s for s in DEFAULT_STAGES)))
    a, b, c = [], [], []
    for now, batch in steps:
        a += plain.step(now, batch)
        b += probed.step(now, batch)
        c += silent.step(now, batch)
    assert [e.to_json() for e in a] == [e.to_json() for e in b]
    assert "probe" in probed.last_latency_s and "probe" in probed.latency
    assert len(seen) == plain.steps and max(n for _, n, _ in seen) > 0
    assert any(f > 0 for _, _, f in seen)  # the predict stage ran before the probe
    warnings = (WarningIssued, AllClear)
    assert any(isinstance(e, warnings) for e in a)
    assert not any(isinstance(e, warnings) for e in c)
    first = next(i for i, e in enumerate(a) if isinstance(e, warnings))
    assert [e.to_json() for e in a[:first]] == [e.to_json() for e in c[:first]]
    with pytest.raises(ValueError, match=r"unknown.*registered"):
        Engine.from_scenario(small_scenario(), replace(plain.config, stages=("screen", "nope")))
