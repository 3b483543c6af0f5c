"""Sensor faults as scenario features: one of two radars silent for 30 s mid-raid (``outages``)
or reporting with a bias (``bias``). The engine notices a silent radar (a ``sensor_health``
event within three revisits of its last plot for the fast one) and its recovery, and a biased
one (its plots disagree with the tracks the other radar feeds), never cries wolf on a healthy
run, and no round landing in a zone goes unwarned that was warned without
the fault (the other radar covers the raid)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import two_firings
from counterram.events import Event, SensorHealth
from counterram.health import SensorHealthMonitor
from counterram.scenario import Scenario, load_text, validate_text
from counterram.sensors.config import RadarBias
from counterram.sensors.plots import PlotBatch, SensorInfo
from counterram.sim import SimulationResult, simulate
from counterram.summary import compute_summary
from test_scenario_errors import BASE

OUTAGE = (35.0, 65.0)  # mid-raid: the rockets leave at 20 s, the mortar bombs at 30 s


def _with(index: int, **changes: object) -> Scenario:
    sc = two_firings()
    sensors = list(sc.sensors)
    sensors[index] = sensors[index].model_copy(update=changes)
    return sc.model_copy(update={"sensors": tuple(sensors)})


def _health(events: list[Event]) -> list[SensorHealth]:
    return [e for e in events if isinstance(e, SensorHealth)]


def _unwarned(res: SimulationResult) -> set[int]:
    s = compute_summary(res.events, res.truth, res.scenario, seed=1, detections=res.detections)
    assert s["rounds_in_zones"] >= 4  # the raid does land in the zones
    return set(s["rounds_landed_in_zones_unwarned"])


@pytest.fixture(scope="module")
def faulty() -> dict[str, SimulationResult]:
    bias = RadarBias(from_s=35.0, azimuth_mrad=20.0, range_m=30.0)
    cases = {"outage-lcmr": _with(0, outages=(OUTAGE,)), "outage-wlr": _with(1, outages=(OUTAGE,)),
             "bias-lcmr": _with(0, bias=bias), "bias-wlr": _with(1, bias=bias)}
    return {name: simulate(sc, seed=1) for name, sc in cases.items()}


def test_a_healthy_run_has_no_health_event(small_run: SimulationResult) -> None:
    assert _health(small_run.events) == []


@pytest.mark.parametrize("case, sensor, revisits", [("outage-wlr", "wlr-1", 3),
                                                    ("outage-lcmr", "lcmr-1", 8)])
def test_an_outage_is_noticed_and_its_end_too(faulty, case: str, sensor: str,
                                              revisits: int) -> None:
    """The wlr (0.5 s revisit, a dense plot rate mid-raid) within 3 revisits of its last plot;
    the lcmr (2 s revisit, a false alarm every fourth second, few rounds in view) within 8. Its
    first plot after the outage (reported one latency later) is its recovery."""
    res = faulty[case]
    info = next(s.spec for s in res.scenario.sensors if s.spec.name == sensor)
    events = _health(res.events)
    assert [(e.sensor, e.status) for e in events] == [(sensor, "silent"), (sensor, "recovered")]
    silent, back = events
    assert OUTAGE[0] < silent.time_s < OUTAGE[1]
    assert silent.silent_s <= revisits * info.revisit_s + 0.5  # + one engine step
    assert OUTAGE[1] < back.time_s <= OUTAGE[1] + info.revisit_s + info.latency_s + 0.5
    assert back.silent_s >= OUTAGE[1] - OUTAGE[0]


@pytest.mark.parametrize("case", ["outage-lcmr", "outage-wlr", "bias-lcmr", "bias-wlr"])
def test_no_round_goes_unwarned_that_was_warned_without_the_fault(
    faulty, small_run: SimulationResult, case: str
) -> None:
    assert _unwarned(faulty[case]) <= _unwarned(small_run)


@pytest.mark.parametrize("case, sensor", [("bias-lcmr", "lcmr-1"), ("bias-wlr", "wlr-1")])
def test_a_biased_radar_is_reported_first(faulty, case: str, sensor: str) -> None:
    """A 20 mrad / 30 m bias from 35 s: the biased radar is the first one reported
    ``inconsistent``, within 20 s (the lcmr's 2 s revisit brings a few plots a look), and its
    mean offset has the bias's signs (positive azimuth and range). The other radar may follow:
    with two radars the fused tracks lie between them."""
    events = _health(faulty[case].events)
    assert events, case
    first = events[0]
    assert (first.sensor, first.status) == (sensor, "inconsistent")
    assert 35.0 < first.time_s < 55.0
    offsets = dict(part.split()[:2] for part in first.detail.split(": ", 1)[1].split(", "))
    assert float(offsets["range"]) > 0 and float(offsets["azimuth"]) > 0
    assert {e.status for e in events} <= {"inconsistent", "consistent"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baghdad-embassy", "fob-mortar", "grad-salvo"])
def test_healthy_builtin_scenarios_raise_no_health_event(name: str) -> None:
    from counterram.scenario import load_scenario

    assert _health(simulate(load_scenario(name), seed=1).events) == []


def test_the_other_radar_keeps_the_rounds_tracked(faulty, small_run) -> None:
    """During the outage the other radar still reports the rounds: confirmed tracks carry on
    (a track event in the outage window for each firing's rounds)."""
    for case in ("outage-lcmr", "outage-wlr"):
        inside = {e.track_id for e in faulty[case].events
                  if e.kind == "track" and OUTAGE[0] < e.time_s < OUTAGE[1]}
        assert len(inside) >= 4, case


def test_a_biased_radar_reports_off_by_its_bias(faulty, small_run) -> None:
    """The bias shows in the plots: the wlr's azimuth errors against truth move by 20 mrad from
    35 s on, its range errors by 30 m."""
    def errors(res: SimulationResult, after: bool) -> tuple[float, float]:
        batch, labels = res.plots, res.plot_labels
        sensor = next(i for i, s in enumerate(res.scenario.sensors, start=1) if s.name == "wlr-1")
        rows = (batch.sensor_id == sensor) & (labels.round_id >= 0) & \
            ((batch.time_s >= 35.0) == after)
        pos = np.asarray(labels.state[rows, :3]) - np.array([-600.0, -300.0, 5.0])
        az = np.arctan2(pos[:, 0], pos[:, 1])
        d_az = np.angle(np.exp(1j * (batch.azimuth_rad[rows] - az)))
        d_r = batch.range_m[rows] - np.linalg.norm(pos, axis=1)
        return float(np.median(d_az)) * 1e3, float(np.median(d_r))

    base_az, base_r = errors(small_run, True)
    az, r = errors(faulty["bias-wlr"], True)
    # medians of a few hundred plots of 2.5 mrad and 10 m noise: within 1 mrad and 3 m
    assert abs(az - base_az - 20.0) < 1.0 and abs(r - base_r - 30.0) < 3.0
    before_az, before_r = errors(faulty["bias-wlr"], False)
    assert abs(before_az) < 1.0 and abs(before_r) < 3.0


# ---------------------------------------------------------------------------- the monitor alone
SENSORS = [SensorInfo(1, "fast", (0.0, 0.0, 5.0), 10.0, 2e-3, 2e-3),
           SensorInfo(2, "cued", (0.0, 0.0, 5.0), 1.0, 5e-4, 5e-4)]


def _plots(now: float, sensor: int, n: int) -> PlotBatch:
    t = np.full(n, now - 0.25)
    return PlotBatch(t, np.full(n, sensor, dtype=np.int32), np.full(n, 1000.0), np.zeros(n),
                     np.full(n, 0.1), np.full(n, np.nan), np.full(n, 20.0), t + 0.2)


def test_the_monitor_judges_silence_against_the_background_rate() -> None:
    """2 plots per 0.5 s step (4/s) of background; silence from 30 s: called when 12 plots are
    missing (3.0 s → the step at 33.0), recovered at once; the cued radar, silent throughout,
    is never judged."""
    monitor = SensorHealthMonitor(SENSORS, {1: 0.5, 2: 0.1}, cued=[2])
    events: list[SensorHealth] = []
    for k in range(1, 121):
        now = 0.5 * k
        n = 0 if 30.0 < now <= 45.0 else 2
        events += monitor.step(now, _plots(now, 1, n))  # type: ignore[arg-type]
    assert [(e.sensor, e.status) for e in events] == [("fast", "silent"), ("fast", "recovered")]
    assert 32.5 <= events[0].time_s <= 33.5
    assert events[1].time_s == 45.5
    assert monitor.silent == ()


def test_a_radar_that_never_reported_is_not_silent() -> None:
    monitor = SensorHealthMonitor(SENSORS[:1], {1: 0.5})
    assert all(monitor.step(0.5 * k, _plots(0.5 * k, 1, 0)) == [] for k in range(1, 400))


# ---------------------------------------------------------------------------- in scenario files
def test_faults_are_written_in_the_scenario_file() -> None:
    text = BASE.replace("position: {east_m: 0, north_m: 50}}",
                        "position: {east_m: 0, north_m: 50}, outages: [[100, 130]], "
                        "bias: {from_s: 50, azimuth_mrad: 10, range_m: -20}}")
    radar = load_text(text).sensors[0]
    assert radar.outages == ((100.0, 130.0),)
    assert radar.bias == RadarBias(from_s=50.0, azimuth_mrad=10.0, range_m=-20.0)
    bad = text.replace("azimuth_mrad: 10", "azimuth_mrad: 1e4")
    (problem,) = validate_text(bad, "s.yaml")
    assert problem.field == "sensors.0.bias.azimuth_mrad" and "out of range" in str(problem)
