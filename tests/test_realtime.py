"""The wall-clock engine (``counterram.realtime``): it steps while no plot comes and notices the
silent radar then, rejects plots that arrive later than its tolerance and uses those within it,
and times its warnings from their plots' arrival; the lines' ``seq`` numbers count what was
lost. In process, with paced line generators: a few seconds each."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from counterram.cli import app
from counterram.engine import Engine
from counterram.events import WarningIssued
from counterram.realtime import RealtimeOptions, run_realtime
from counterram.scenario import load_scenario
from counterram.sensors.plotio import PlotReader


def _paced(lines: list[str], speed: float, *, stop_at_s: float = math.inf,
           silence_s: float = 0.0, resumed: list[float] | None = None) -> Iterator[str]:
    """The header, then the plot lines at their report times / ``speed`` of wall time; at
    ``stop_at_s`` (stream) nothing for ``silence_s`` of wall time, then the end (its wall
    time into ``resumed``)."""
    yield lines[0]
    plots = sorted(lines[1:], key=lambda x: json.loads(x)["report_t"])
    t0, w0 = json.loads(plots[0])["report_t"], time.monotonic()
    for line in plots:
        t = json.loads(line)["report_t"]
        if t > stop_at_s:
            break
        wait = w0 + (t - t0) / speed - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        yield line
    time.sleep(silence_s)
    if resumed is not None:
        resumed.append(time.monotonic())


def _run(scenario: Path, lines: Iterator[str], speed: float, **options: float):
    engine = Engine.from_scenario(load_scenario(str(scenario), runnable=True))
    emitted: list[tuple[float, object]] = []

    def on_events(_now: float, events: list) -> None:
        at = time.monotonic()
        emitted.extend((at, e) for e in events)

    result = run_realtime(engine, lines, on_events, options=RealtimeOptions(speed, **options))
    return result, emitted


def test_a_silent_stream_is_stepped_and_its_radar_called_silent(live_files) -> None:
    """Plots at 20× until stream time 50 s (both rounds in flight), then 2.5 s of wall time
    (50 s of stream) without a line: the engine steps through the silence on the wall clock
    and reports the radar silent before the source ends (on the stream's clock it would wait
    for the next plot)."""
    lines = live_files["jsonl"].read_text().splitlines()
    resumed: list[float] = []
    _, emitted = _run(live_files["scenario"],
                      _paced(lines, 20.0, stop_at_s=50.0, silence_s=2.5, resumed=resumed),
                      20.0)
    silent = [(at, e) for at, e in emitted
              if e.kind == "sensor_health" and e.status == "silent"]
    assert silent, [e.kind for _, e in emitted]
    at, event = silent[0]
    assert at < resumed[0]  # during the silence, not in the drain after the end
    assert 50.0 < event.time_s < 100.0
    in_silence = [e.time_s for w, e in emitted if w < resumed[0] and e.time_s > 51.0]
    assert in_silence  # steps ran while nothing came


def _plot(t: float, report: float, sensor: str) -> str:
    return json.dumps({"t": t, "sensor": sensor, "range_m": 4000.0 + 10 * t,
                       "azimuth_deg": 40.0, "elevation_deg": 5.0, "snr_db": 20.0,
                       "report_t": report})


def _delayed(header: str, sensor: str, speed: float) -> Iterator[str]:
    """Plots every 0.5 s from t = 0 to 4 on time, then one 0.3 s late and one 3.5 s late
    (stream seconds; wall = stream / speed)."""
    yield header
    w0 = time.monotonic()
    schedule = [(0.5 * i, 0.5 * i, 0.5 * i) for i in range(9)]  # (t, report, sent at)
    schedule += [(4.2, 4.2, 4.5), (5.5, 5.5, 9.0)]
    for t, report, sent in schedule:
        wait = w0 + sent / speed - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        yield _plot(t, report, sensor)


def test_plots_later_than_the_tolerance_are_rejected_as_late(live_files) -> None:
    """At 4×: a plot 0.3 s late (stream) is used, one 3.5 s late is rejected as ``late``,
    counted and reported; the margins (0.7 s and 2.5 s of stream) are 175 ms and 625 ms of
    wall time, beyond a loaded machine's scheduling jitter."""
    lines = live_files["jsonl"].read_text().splitlines()
    sensor = json.loads(lines[0])["sensors"][0]["name"]
    result, emitted = _run(live_files["scenario"], _delayed(lines[0], sensor, 4.0), 4.0)
    assert result.rejected["late"] == 1, result.rejected
    assert result.plots_accepted == 10
    late = [e for _, e in emitted if e.kind == "plot_rejected" and e.reason == "late"]
    assert [e.count for e in late] == [1]
    assert 9.0 <= late[0].time_s <= 10.0  # reported at the step after its arrival


def test_warnings_carry_their_plots_arrival_and_latency(live_files) -> None:
    """At 20×: every warning names the arrival of a plot received before it was issued, and
    its latency is at most what the wall clock says: the step period (25 ms), the hold and
    the step's own time; file-fed logs leave the fields out."""
    lines = live_files["jsonl"].read_text().splitlines()
    result, emitted = _run(live_files["scenario"], _paced(lines, 20.0), 20.0)
    warnings = [(at, e) for at, e in emitted if isinstance(e, WarningIssued)]
    assert warnings and len(result.latencies_ms) == len(warnings)
    for at, e in warnings:
        assert e.plot_arrival_s < at
        assert 0.0 < e.latency_ms <= (at - e.plot_arrival_s) * 1e3
    assert 0.0 < result.latency_p50_ms <= result.latency_p99_ms < 2000.0
    assert all(0.0 <= p <= t for p, t in zip(result.processing_ms, result.latencies_ms,
                                             strict=True))
    plain = warnings[0][1].to_dict()
    assert "latency_ms" in plain and "plot_arrival_s" in plain
    untimed = WarningIssued(time_s=1.0, zone="z").to_dict()
    assert "latency_ms" not in untimed and "plot_arrival_s" not in untimed


def test_seq_numbers_count_the_lines_never_received() -> None:
    """0, 1, 3, 4 (2 missing), 2 (arrived late: found), 7 (5, 6 missing), then a sender
    restart at 0 and 2 (1 missing); a bad seq is rejected as wrong_type."""
    def line(seq: object, t: float) -> str:
        return json.dumps({"t": t, "sensor": 1, "range_m": 1000.0, "azimuth_deg": 0.0,
                           "elevation_deg": 1.0, "snr_db": 10.0, "seq": seq})

    from counterram.sensors.plots import SensorInfo

    sensors = [SensorInfo(1, "r", (0.0, 0.0, 0.0), 10.0, 1e-3, 1e-3, None)]
    seqs = [0, 1, 3, 4, 2, 7]
    lines = [line(s, 0.1 * i) for i, s in enumerate(seqs)]
    reader = PlotReader(lines, sensors)
    list(reader.plots())
    assert reader.missing == 2
    reader = PlotReader([*lines, line(0, 1.0), line(2, 1.1), line("x", 1.2)], sensors)
    list(reader.plots())
    assert reader.missing == 3 and reader.rejected["wrong_type"] == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--speed", "0"], "--speed 0.0"),
    (["--late-tolerance-s", "-1"], "--late-tolerance-s -1.0"),
    (["--hold-s", "2"], "--hold-s 2.0"),
])
def test_bad_realtime_options_are_refused(live_files, tmp_path, args, message) -> None:
    result = CliRunner().invoke(app, [
        "engine", "--scenario", str(live_files["scenario"]), "--plots",
        str(live_files["jsonl"]), "--out", str(tmp_path / "o"), "--realtime", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
