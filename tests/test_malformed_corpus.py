"""The malformed-input corpus (tests/malformed_corpus.py) against the loader, the plot reader,
the live engine and the commands: no traceback, no hang (every case under a time limit), every
rejection naming its file, line and field or its reason, and the engine's counts exact."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conftest import time_limit, two_firings
from counterram.cli import app
from counterram.commands.scenario import validate
from counterram.driver import run_live
from counterram.engine import Engine
from counterram.events import Event
from counterram.scenario import dump_scenario, validate_text
from counterram.sensors.plotio import REJECT_REASONS, PlotReader
from counterram.sim import SimulationResult
from malformed_corpus import (
    CLI_CASES,
    PLOT_CASES,
    SCENARIO_CASES,
    CliCase,
    PlotCase,
    ScenarioCase,
    plot_line,
    scenario_text,
)
from test_scenario_errors import BASE

LIMIT_S = 20.0  # per case; the slowest (a 5 MiB file, 50,000 brackets) take about 1 s
_PROBLEM = re.compile(r"^bad\.yaml(:\d+)?: (\S+): \S")


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    cases = [*SCENARIO_CASES, *PLOT_CASES, *CLI_CASES]
    assert len(cases) >= 200
    for group in (SCENARIO_CASES, PLOT_CASES, CLI_CASES):
        ids = [c.id for c in group]
        assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert {c.reason for c in PLOT_CASES} == set(REJECT_REASONS) - {"malformed", "bad_record"}


# ---------------------------------------------------------------------------------- scenarios
@pytest.mark.parametrize("case", SCENARIO_CASES, ids=lambda c: c.id)
def test_a_malformed_scenario_is_refused_with_file_line_and_field(case: ScenarioCase) -> None:
    text = scenario_text(case)
    with time_limit(LIMIT_S):
        problems = [str(p) for p in validate_text(text, "bad.yaml")]
    assert problems, "accepted"
    for p in problems:
        assert _PROBLEM.match(p), p
        assert "\n" not in p and len(p) < 1000, p[:200]
    if case.field is not None:
        fields = [_PROBLEM.match(p).group(2) for p in problems]  # type: ignore[union-attr]
        assert any(f == case.field or f.startswith(case.field + ".") for f in fields), problems
    if case.field not in (None, "(file)"):
        assert any(_PROBLEM.match(p).group(1) for p in problems), "no line given"  # type: ignore[union-attr]


def _validate_app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("validate")(validate)
    cli.command("noop")(lambda: None)
    return cli


@pytest.mark.parametrize("case", SCENARIO_CASES[::4], ids=lambda c: c.id)
def test_the_validate_command_refuses_it_without_a_traceback(
    case: ScenarioCase, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(scenario_text(case), encoding="utf-8")
    with time_limit(LIMIT_S):
        res = CliRunner().invoke(_validate_app(), ["validate", str(path)])
    assert res.exit_code == 2
    assert isinstance(res.exception, SystemExit)
    assert res.stderr.startswith(str(path))


# ---------------------------------------------------------------------------------- plot lines
SPAN_S = 40.0


@pytest.fixture(scope="module")
def stream(small_run: SimulationResult) -> list[str]:
    """The first 40 s of the two-firing run's plot stream (header first)."""
    plots = [x for x in small_run.plot_lines if json.loads(x)["t"] <= SPAN_S]
    return [small_run.plots_header, *plots]


def _with_bad(stream: list[str], cases: list[PlotCase], first: int = 20) -> list[str]:
    """The stream with each case's line inserted after a clean plot (its template), spread
    evenly from the ``first`` plot on."""
    out = list(stream[: first + 1])
    gap = max((len(stream) - first - 1) // (len(cases) + 1), 4)
    rest = stream[first + 1:]
    for i, case in enumerate(cases):
        chunk = rest[i * gap:(i + 1) * gap]
        out += chunk
        out.append(plot_line(case, out[-1] if chunk else stream[first]))
    out += rest[len(cases) * gap:]
    return out


@pytest.fixture(scope="module")
def sensors() -> tuple:
    """What the live engine knows of the run's sensors (the scenario's radars)."""
    return Engine.from_scenario(two_firings()).sensors


@pytest.mark.parametrize("case", PLOT_CASES, ids=lambda c: c.id)
def test_a_malformed_plot_line_is_rejected_with_its_reason(
    case: PlotCase, stream: list[str], sensors: tuple
) -> None:
    lines = _with_bad(stream, [case])
    with time_limit(LIMIT_S):
        reader = PlotReader(lines, sensors, add_sensors=False)
        accepted = sum(1 for _ in reader)
    assert reader.rejected == {case.reason: 1}
    assert accepted == len(stream) - 1


def _live(lines: list[str]) -> tuple[list[Event], object]:
    got: list[Event] = []
    result = run_live(Engine.from_scenario(two_firings()), lines, lambda _t, e: got.extend(e))
    return got, result


def test_the_live_engine_counts_every_rejection_exactly_and_decides_the_same(
    stream: list[str],
) -> None:
    """Every plot case in one stream: the engine's rejection counts are the corpus's, every
    clean plot is accepted, the rejections are reported as plot_rejected events, and the
    engine's decisions are those of the clean stream."""
    start = time.perf_counter()
    with time_limit(120.0):
        clean_events, clean = _live(stream)
        events, result = _live(_with_bad(stream, PLOT_CASES))
    assert result.rejected == Counter(c.reason for c in PLOT_CASES)  # type: ignore[attr-defined]
    assert result.plots_accepted == clean.plots_accepted == len(stream) - 1  # type: ignore[attr-defined]
    reported = Counter()
    for e in events:
        if e.kind == "plot_rejected":
            reported[e.reason] += e.count  # type: ignore[attr-defined]
    assert reported == result.rejected  # type: ignore[attr-defined]
    decisions = [e.to_json() for e in events if e.kind != "plot_rejected"]
    assert decisions == [e.to_json() for e in clean_events]
    assert time.perf_counter() - start < 60.0


# ---------------------------------------------------------------------------------- commands
@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, stream: list[str]) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli")
    (root / "scenario.yaml").write_text(dump_scenario(two_firings()), encoding="utf-8")
    (root / "bad.yaml").write_text(BASE.replace("duration_s: 600", "duration_s: -5"),
                                   encoding="utf-8")
    (root / "plots.jsonl").write_text("\n".join(stream[:50]) + "\n", encoding="utf-8")
    (root / "events.jsonl").write_text('{"kind": "all_clear", "time_s": 1.0, "zone": "z"}\n',
                                       encoding="utf-8")
    (root / "file.txt").write_text("a plain file\n", encoding="utf-8")
    (root / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (root / "used").mkdir()
    (root / "used" / "events.jsonl").write_text("earlier\n", encoding="utf-8")
    return {"scenario": str(root / "scenario.yaml"), "bad": str(root / "bad.yaml"),
            "plots": str(root / "plots.jsonl"), "log": str(root / "events.jsonl"),
            "file": str(root / "file.txt"), "binary": str(root / "binary.bin"),
            "used": str(root / "used"), "root": str(root)}


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_a_bad_command_line_is_a_message_not_a_traceback(
    case: CliCase, files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [a.format(dir=empty, **files) for a in case.args]
    with time_limit(LIMIT_S):
        res = CliRunner().invoke(app, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    assert res.exit_code == 2, res.output
    message = " ".join(res.output.split()).lower()
    assert case.words.lower() in message, res.output
    assert not list(empty.iterdir()), "a refused command wrote files"
