"""The run driver takes new sinks and plot sources by registration alone: a sink and a source
defined here are used by the ``run`` and ``engine`` commands without any change to them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import pytest
import typer
from typer.testing import CliRunner

from counterram.commands.engine_live import engine_live
from counterram.commands.run import run
from counterram.driver import RunDriver
from counterram.engine import Engine
from counterram.events import Event
from counterram.scenario import dump_scenario
from counterram.sinks import RunStart, Sink, make_sinks, register_sink
from counterram.sources import SourceError, open_source, register_source


class Collector(Sink):
    """Keeps what it is given; the instances are listed for the test to read."""

    made: ClassVar[list[Collector]] = []

    def __init__(self) -> None:
        self.start: RunStart | None = None
        self.events: list[str] = []
        self.plot_lines = 0
        self.closed_with: str | None = None
        Collector.made.append(self)

    def open(self, start: RunStart) -> None:
        self.start = start

    def plots(self, now: float, lines: Sequence[str]) -> None:
        self.plot_lines += len(lines)

    def write(self, now: float, events: Sequence[Event]) -> None:
        self.events.extend(e.to_json() for e in events)

    def close(self, record) -> None:
        self.closed_with = record.mode


class Recorded:
    """Plot lines kept in memory under a name (``memory://NAME``)."""

    store: ClassVar[dict[str, list[str]]] = {}

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        return f"memory://{self.name}"

    def lines(self) -> Iterator[str]:
        yield from self.store[self.name]


def _memory(spec: str, _options: dict) -> Recorded:
    name = spec[len("memory://"):]
    if name not in Recorded.store:
        raise SourceError(f"--plots {spec!r}: nothing recorded under {name!r}")
    return Recorded(name)


register_sink("collect", Collector)
register_source("memory", _memory)


def _app(command) -> typer.Typer:
    app = typer.Typer()
    app.command()(command)
    app.command("other")(lambda: None)  # two commands, so the command is named on the line
    return app


@pytest.fixture(scope="module")
def simulated(tmp_path_factory, small_scenario) -> tuple[Path, Path, Collector]:
    folder = tmp_path_factory.mktemp("driver")
    scenario = folder / "two.yaml"
    scenario.write_text(dump_scenario(small_scenario), encoding="utf-8")
    Collector.made.clear()
    res = CliRunner().invoke(_app(run), ["run", str(scenario), "--seed", "3", "--out",
                                         str(folder / "run"), "--sink", "collect", "--quiet"])
    assert res.exit_code == 0, res.output
    return scenario, folder / "run", Collector.made[-1]


def test_a_registered_sink_gets_a_simulated_run(simulated) -> None:
    _, out, sink = simulated
    logged = (out / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert sink.start is not None and sink.start.mode == "simulation"
    assert sink.start.plots_header is not None
    assert sink.events == logged and len(logged) > 50  # every event, in the log's order
    plots = (out / "plots.jsonl").read_text(encoding="utf-8").splitlines()
    assert sink.plot_lines == len(plots) - 1  # every plot line, not the header
    assert sink.closed_with == "simulation"
    assert (out / "summary.json").is_file()


def test_a_registered_source_feeds_the_live_engine(simulated, tmp_path) -> None:
    scenario, out, sim_sink = simulated
    Recorded.store["two"] = (out / "plots.jsonl").read_text(encoding="utf-8").splitlines()
    Collector.made.clear()
    res = CliRunner().invoke(_app(engine_live), [
        "engine-live", "--scenario", str(scenario), "--plots", "memory://two",
        "--out", str(tmp_path / "live"), "--sink", "collect", "--quiet"])
    assert res.exit_code == 0, res.output
    sink = Collector.made[-1]
    assert sink.start is not None and sink.start.mode == "live" and sink.closed_with == "live"
    logged = (tmp_path / "live" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert sink.events == logged
    # the live engine's decisions on the recorded plots are the simulated run's
    engine_kinds = ("track", "impact_prediction", "warning", "engagement")
    sim = [e for e in sim_sink.events if any(f'"kind":"{k}' in e for k in engine_kinds)]
    live = [e for e in sink.events if any(f'"kind":"{k}' in e for k in engine_kinds)]
    assert len(sim) > 10
    assert live[: len(sim)] == sim
    # both streams open with the same header: the site origin, the zones, simulated plots
    assert sink.events[0] == sim_sink.events[0]
    header = json.loads(sim_sink.events[0])
    assert header["kind"] == "header" and header["simulated"] and header["zones"]
    assert not any('"kind":"header"' in e for e in sink.events[1:])


def test_unknown_sources_and_sinks_are_named() -> None:
    with pytest.raises(SourceError, match=r"unknown source 'tcp'.*memory://.*udp://"):
        open_source("tcp://127.0.0.1:1")
    with pytest.raises(SourceError, match="nothing recorded"):
        open_source("memory://absent")
    with pytest.raises(ValueError, match=r"unknown sink 'nope'; known sinks: .*collect"):
        make_sinks(["nope"])


def test_the_driver_runs_live_on_plain_lines_with_no_sinks(simulated, small_scenario) -> None:
    _, out, sim_sink = simulated
    lines = (out / "plots.jsonl").read_text(encoding="utf-8").splitlines()
    record = RunDriver().live(Engine.from_scenario(small_scenario), lines, keep_events=True)
    assert RunDriver().live(Engine.from_scenario(small_scenario), lines).events == []
    assert record.live is not None and record.live.steps > 0
    assert record.live.plots_accepted == sim_sink.plot_lines
    assert [e.to_json() for e in record.events if e.kind == "engagement"] == [
        e for e in sim_sink.events if '"kind":"engagement"' in e]
