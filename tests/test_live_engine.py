"""The live engine: a recorded run's plots replay to the same decisions; bad lines are rejected
and counted while the engine goes on; plots arrive over UDP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conftest import two_firings
from counterram.commands.engine_live import engine_live
from counterram.commands.replay import replay
from counterram.driver import run_live
from counterram.engine import Engine
from counterram.events import Event
from counterram.scenario import dump_scenario
from counterram.sim import SimulationResult
from counterram.sources import SourceError
from counterram.sources.streams import parse_udp_url, udp_lines


def small_scenario():
    """The shared two-firing scenario (conftest)."""
    return two_firings()


@pytest.fixture(scope="module")
def run(small_run: SimulationResult) -> SimulationResult:
    return small_run


def _lines(res: SimulationResult) -> list[str]:
    return [res.plots_header, *res.plot_lines]


def _live(lines: list[str]) -> tuple[list[Event], object]:
    engine = Engine.from_scenario(small_scenario())
    got: list[Event] = []
    result = run_live(engine, lines, lambda _t, ev: got.extend(ev))
    return got, result


def _decisions(events: list[Event], until: float) -> list[str]:
    """The engine's events (no truth, no input-health events) up to ``until``, as JSON."""
    return [e.to_json() for e in events
            if not e.truth and e.kind != "plot_rejected" and e.time_s <= until]


@pytest.fixture(scope="module")
def replayed(run: SimulationResult) -> tuple[list[Event], object]:
    return _live(_lines(run))


def test_recorded_plots_replay_to_the_same_decisions(run, replayed) -> None:
    """The simulator feeds the engine plots read back from the plot format, and the live engine
    groups a stream into the same steps, so every track, prediction, warning and engagement
    must come out identical (byte for byte, not just within a tolerance)."""
    live, result = replayed
    assert result.total_rejected == 0
    assert result.plots_accepted == len(run.plot_lines)
    until = max(e.time_s for e in live)
    sim = _decisions(run.events, until)
    assert _decisions(live, until) == sim
    kinds = {json.loads(x)["kind"] for x in sim}
    assert {"track", "impact_prediction", "origin_estimate", "warning", "all_clear",
            "engagement", "gun_status"} <= kinds


def test_malformed_lines_are_rejected_counted_and_the_engine_goes_on(run, replayed) -> None:
    lines = _lines(run)
    bad = ['{not json', '[1, 2]', '{"t": 50.0, "sensor": "lcmr-1"}',
           '{"t": "x", "sensor": "lcmr-1", "range_m": 1, "azimuth_deg": 1, "elevation_deg": 1,'
           ' "snr_db": 1}',
           '{"t": 50.0, "sensor": "nope", "range_m": 1, "azimuth_deg": 1, "elevation_deg": 1,'
           ' "snr_db": 1}',
           '{"t": 50.0, "sensor": "lcmr-1", "range_m": NaN, "azimuth_deg": 1,'
           ' "elevation_deg": 1, "snr_db": 1}']
    # inserted a third of the way in: the stream carries on around them
    cut = len(lines) // 3
    live, result = _live(lines[:cut] + bad + lines[cut:])
    assert result.rejected == {"not_json": 1, "not_an_object": 1, "missing_field": 1,
                               "wrong_type": 1, "unknown_sensor": 1, "not_finite": 1}
    reported = sum(e.count for e in live if e.kind == "plot_rejected")
    assert reported == 6
    until = max(e.time_s for e in replayed[0])
    assert _decisions(live, until) == _decisions(replayed[0], until)


def test_udp_stream_on_loopback(run) -> None:
    """A few datagrams (a header and a handful of plots of one round, one of them malformed)
    sent to 127.0.0.1: received, parsed, stepped; the stream ends after the datagram count."""
    datagrams = [run.plots_header, *run.plot_lines[:40], "garbage"]
    port_box: list[int] = []
    bound = threading.Event()

    def ready(port: int) -> None:
        port_box.append(port)
        bound.set()

    stream = udp_lines(0, max_idle_s=5.0, max_datagrams=len(datagrams), ready=ready)
    engine = Engine.from_scenario(small_scenario())
    got: list[Event] = []
    out: dict[str, object] = {}

    def consume() -> None:
        out["result"] = run_live(engine, stream, lambda _t, ev: got.extend(ev))

    worker = threading.Thread(target=consume)
    worker.start()
    assert bound.wait(10.0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for d in datagrams:
            tx.sendto(d.encode(), ("127.0.0.1", port_box[0]))
    worker.join(30.0)
    assert not worker.is_alive()
    result = out["result"]
    assert result.plots_accepted == 40  # type: ignore[attr-defined]
    assert result.rejected == {"not_json": 1}  # type: ignore[attr-defined]
    assert result.steps > 0  # type: ignore[attr-defined]


def test_udp_url_must_be_loopback() -> None:
    assert parse_udp_url("udp://127.0.0.1:9000") == 9000
    for bad in ("udp://0.0.0.0:9000", "udp://example.com:1", "udp://127.0.0.1:0",
                "udp://127.0.0.1:x"):
        with pytest.raises(SourceError, match=r"127\.0\.0\.1|port"):
            parse_udp_url(bad)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("engine")(engine_live)
    app.command("replay")(replay)
    return app


def test_engine_and_replay_commands(run, tmp_path: Path) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(dump_scenario(small_scenario()), encoding="utf-8")
    plots = tmp_path / "plots.jsonl"
    plots.write_text("\n".join([*_lines(run)[:400], "{broken"]) + "\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(_app(), ["engine", "--scenario", str(scenario), "--plots", str(plots),
                                 "--out", str(tmp_path / "live")])
    assert res.exit_code == 0, res.output
    assert "not_json" in res.output
    log = tmp_path / "live" / "events.jsonl"
    assert log.is_file() and log.stat().st_size > 0
    res = runner.invoke(_app(), ["replay", str(log), "--kind", "track"])
    assert res.exit_code == 0, res.output
    assert "confirmed" in res.output
    res = runner.invoke(_app(), ["replay", str(log), "--kind", "nonsense"])
    assert res.exit_code == 2
    assert "allowed" in res.output
    res = runner.invoke(_app(), ["engine", "--scenario", str(scenario), "--plots",
                                 "udp://10.0.0.1:5000"])
    assert res.exit_code == 2
    assert "127.0.0.1" in res.output
