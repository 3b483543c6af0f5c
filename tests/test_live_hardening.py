"""The live engine against hostile plot streams: one plot cannot drag its clock (``time_jump``)
or crash it (huge integers), a genuine gap is jumped, duplicates are rejected (``duplicate``),
and a header cannot add or move a sensor behind the engine's back."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from conftest import two_firings
from counterram.driver import run_live
from counterram.engine import Engine
from counterram.events import Event
from counterram.run_record import LiveResult
from counterram.sensors.plotio import header_line
from counterram.sensors.plots import SensorInfo
from counterram.sim import SimulationResult
from counterram.sources.streams import udp_lines

# The first 70 s of the two-firing run: both firings' rounds are up and tracked by then.
SPAN_S = 70.0


@pytest.fixture(scope="module")
def lines(small_run: SimulationResult) -> list[str]:
    plots = [x for x in small_run.plot_lines if json.loads(x)["t"] <= SPAN_S]
    return [small_run.plots_header, *plots]


def _live(lines: list[str]) -> tuple[list[Event], LiveResult, float]:
    engine = Engine.from_scenario(two_firings())
    got: list[Event] = []
    start = time.perf_counter()
    result = run_live(engine, lines, lambda _t, ev: got.extend(ev))
    return got, result, time.perf_counter() - start


def _decisions(events: list[Event]) -> list[str]:
    return [e.to_json() for e in events if e.kind != "plot_rejected"]


@pytest.fixture(scope="module")
def clean(lines: list[str]) -> tuple[list[Event], LiveResult, float]:
    return _live(lines)


def _plot(lines: list[str], i: int, **changes: object) -> str:
    record = json.loads(lines[i])
    record.update(changes)
    return json.dumps(record)


def test_the_clean_stream_is_accepted_whole(lines: list[str], clean) -> None:
    _, result, _ = clean
    assert result.total_rejected == 0
    assert result.plots_accepted == len(lines) - 1


@pytest.mark.parametrize("where, t", [("middle", 1e9), ("middle", 1e308), ("first", -1e9),
                                      ("first", 1e9), ("first", 1e308), ("last", 1e9)])
def test_one_plot_cannot_drag_the_clock(lines: list[str], clean, where: str, t: float) -> None:
    """One far-away time: rejected (``time_jump``, or ``out_of_range`` beyond ±1e10 s), the
    run as long as the clean one (not one step per grid step up to 1e9 s), and every decision
    the same."""
    i = {"first": 1, "middle": len(lines) // 2, "last": len(lines) - 1}[where]
    bad = _plot(lines, i, t=t, report_t=t + 0.5)
    events, result, _ = _live([*lines[:i], bad, *lines[i:]])
    reason = "out_of_range" if abs(t) > 1e10 else "time_jump"
    assert result.rejected == {reason: 1}
    assert result.steps <= clean[1].steps + 1
    assert _decisions(events) == _decisions(clean[0])


def test_a_genuine_gap_is_jumped_not_stepped_through(lines: list[str], clean) -> None:
    """The second half of the stream an hour later: every plot accepted (the gap is confirmed
    by the plots after it), one jump, and about the clean run's steps plus one drain — not
    7,200 more."""
    cut = len(lines) // 2
    later = [_plot(lines, i, t=json.loads(lines[i])["t"] + 3600.0,
                   report_t=json.loads(lines[i]).get("report_t", json.loads(lines[i])["t"])
                   + 3600.0) for i in range(cut, len(lines))]
    events, result, _ = _live([*lines[:cut], *later])
    assert result.total_rejected == 0
    assert result.plots_accepted == len(lines) - 1
    assert result.gaps_jumped == 1
    # one drain (60 s of 0.5 s steps) of the gap is stepped through: by then every track has
    # been dropped and the engine is idle (the driver's bound is ten drains)
    assert result.steps <= clean[1].steps + 60.0 / 0.5 + 2
    assert max(e.time_s for e in events) > 3600.0


@pytest.mark.parametrize("digits, reason", [(5000, "not_json"), (400, "out_of_range")])
def test_a_huge_integer_rejects_its_line_only(lines: list[str], clean, digits: int,
                                              reason: str) -> None:
    i = len(lines) // 3
    bad = _plot(lines, i).replace('"range_m":', '"range_m":' + "9" * digits + ',"x":', 1)
    events, result, _ = _live([*lines[:i], bad, *lines[i:]])
    assert result.rejected == {reason: 1}
    assert _decisions(events) == _decisions(clean[0])


def test_a_huge_integer_in_a_datagram_rejects_that_datagram_only(lines: list[str]) -> None:
    datagrams = [lines[0], *lines[1:30], '{"t": ' + "9" * 5000 + "}", *lines[30:40]]
    ports: list[int] = []
    bound = threading.Event()

    def ready(port: int) -> None:
        ports.append(port)
        bound.set()

    stream = udp_lines(0, max_idle_s=5.0, max_datagrams=len(datagrams), ready=ready)
    out: dict[str, LiveResult] = {}
    worker = threading.Thread(target=lambda: out.setdefault(
        "r", run_live(Engine.from_scenario(two_firings()), stream)))
    worker.start()
    assert bound.wait(10.0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for d in datagrams:
            tx.sendto(d.encode(), ("127.0.0.1", ports[0]))
    worker.join(30.0)
    assert not worker.is_alive()
    assert out["r"].rejected == {"not_json": 1}
    assert out["r"].plots_accepted == 39


def test_exact_duplicates_are_rejected_and_change_nothing(lines: list[str], clean) -> None:
    doubled = [lines[0]] + [x for line in lines[1:] for x in (line, line)]
    events, result, _ = _live(doubled)
    assert result.rejected == {"duplicate": len(lines) - 1}
    assert result.plots_accepted == len(lines) - 1
    assert _decisions(events) == _decisions(clean[0])


def _sensors(lines: list[str]) -> list[SensorInfo]:
    record = json.loads(lines[0])
    return [SensorInfo(s["sensor_id"], s["name"], tuple(s["position_enu_m"]), s["sigma_range_m"],
                       s["sigma_azimuth_mrad"] * 1e-3, s["sigma_elevation_mrad"] * 1e-3,
                       s["sigma_radial_velocity_mps"]) for s in record["sensors"]]


def test_a_header_repeating_the_sensors_is_accepted(lines: list[str], clean) -> None:
    i = len(lines) // 2
    events, result, _ = _live([*lines[:i], header_line(_sensors(lines)), *lines[i:]])
    assert result.total_rejected == 0
    assert _decisions(events) == _decisions(clean[0])


def test_a_header_moving_a_sensor_70_km_is_rejected(lines: list[str], clean) -> None:
    sensors = _sensors(lines)
    s = sensors[0]
    moved = SensorInfo(s.sensor_id, s.name, (s.position_enu[0] + 70_000.0, *s.position_enu[1:]),
                       s.sigma_range_m, s.sigma_azimuth_rad, s.sigma_elevation_rad,
                       s.sigma_radial_velocity_mps)
    i = len(lines) // 2
    events, result, _ = _live([*lines[:i], header_line([moved, *sensors[1:]]), *lines[i:]])
    assert result.rejected == {"sensor_redefined": 1}
    assert _decisions(events) == _decisions(clean[0])


def test_a_header_adding_a_sensor_is_rejected_with_its_plots(lines: list[str], clean) -> None:
    """The engine's sensors are the scenario's: a header cannot add one (docs/plots.md), so the
    header and the new sensor's plots are rejected as ``unknown_sensor``, and said so."""
    extra = SensorInfo(99, "ghost", (100.0, 100.0, 5.0), 10.0, 2e-3, 2e-3)
    i = len(lines) // 2
    ghost = [_plot(lines, j, sensor="ghost") for j in range(i, i + 3)]
    events, result, _ = _live([*lines[:i], header_line([extra]), *ghost, *lines[i:]])
    assert result.rejected == {"unknown_sensor": 4}
    assert _decisions(events) == _decisions(clean[0])


def test_every_plot_is_counted_once_accepted_or_rejected(lines: list[str]) -> None:
    """A plot the reader lets through (within its 2 s of disorder) can still be too late for
    the tracker when it is reported late (5 s after its measurement, where the tracker's clock
    has moved on); it counts as rejected by the engine, not also as accepted."""
    late = []
    for i in range(40, len(lines), 200):
        t = max(json.loads(x)["t"] for x in lines[1:i + 1]) - 1.9
        late += [i, _plot(lines, i, t=t, report_t=t + 5.0)]
    stream = list(lines)
    for i, line in reversed(list(zip(late[::2], late[1::2], strict=True))):
        stream.insert(i + 1, line)
    _, result, _ = _live(stream)
    assert result.rejected.get("too_late", 0) > 0
    assert result.plots_accepted + result.total_rejected == len(stream) - 1
