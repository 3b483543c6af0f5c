"""The commands against hostile arguments: ``replay`` on a binary or damaged log, ``--out ""``,
and a run into a folder that already holds one (refused unless ``--force``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conftest import two_firings
from counterram.commands import run as run_module
from counterram.commands.campaign import campaign
from counterram.commands.engine_live import engine_live
from counterram.commands.plan import plan
from counterram.commands.replay import replay
from counterram.commands.run import run
from counterram.scenario import dump_scenario
from counterram.sim import SimulationResult


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("run")(run)
    app.command("engine")(engine_live)
    app.command("replay")(replay)
    app.command("campaign")(campaign)
    app.command("plan")(plan)
    return app


def _clean_failure(res, *words: str) -> None:
    """Exit code 2, a message, no traceback."""
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    for w in words:
        assert w in res.output, res.output


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text(dump_scenario(two_firings()), encoding="utf-8")
    return path


@pytest.fixture
def plots_file(tmp_path: Path, small_run: SimulationResult) -> Path:
    path = tmp_path / "plots.jsonl"
    path.write_text("\n".join([small_run.plots_header, *small_run.plot_lines[:200]]) + "\n",
                    encoding="utf-8")
    return path


# ---------------------------------------------------------------- replay
def test_replay_of_a_binary_file_is_a_clean_error(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_bytes(b'{"kind": "launch"}\n\x89PNG\r\n\x1a\n\x00\xff\xfe' * 50)
    _clean_failure(CliRunner().invoke(_app(), ["replay", str(log)]), "not UTF-8")


@pytest.mark.parametrize("line, words", [
    ('{"kind": "launch", "time_s": ' + "9" * 5000 + "}", "not JSON"),
    ("[" * 100_000, "not JSON"),
    ('{"kind": ["launch"]}', "not an event"),
    ("42", "not an event"),
], ids=["5000-digits", "deep", "kind-list", "number"])
def test_replay_of_a_damaged_line_names_the_line(tmp_path: Path, line: str, words: str) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text('{"kind": "all_clear", "time_s": 1.0, "zone": "z"}\n' + line + "\n",
                   encoding="utf-8")
    _clean_failure(CliRunner().invoke(_app(), ["replay", str(log)]), f"{log}:2:", words)


def test_replay_shows_events_missing_their_fields(tmp_path: Path) -> None:
    """A hand-written or damaged event of a known kind is shown as its fields, no traceback."""
    log = tmp_path / "events.jsonl"
    lines = [{"kind": "launch"}, {"kind": "impact", "time_s": "soon"},
             {"kind": "warning", "time_s": 10 ** 400, "zone": None},
             {"kind": "engagement", "time_s": 3.0, "gun": "g", "rounds": [1]},
             {"kind": "track", "time_s": 4.0, "position_enu": "here", "update": True}]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(_app(), ["replay", str(log)])
    assert res.exit_code == 0, res.output
    assert "5 events" in res.output


# ---------------------------------------------------------------- --out
@pytest.mark.parametrize("command", ["run", "engine", "campaign", "plan"])
def test_an_empty_out_is_refused(command: str, scenario_file: Path, plots_file: Path,
                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = {"run": ["run", str(scenario_file)],
            "engine": ["engine", "--scenario", str(scenario_file), "--plots", str(plots_file)],
            "campaign": ["campaign", str(scenario_file), "--runs", "1"],
            "plan": ["plan", str(scenario_file), "--vary", "effectors.0.heading_deg=0..360"],
            }[command]
    before = sorted(p.name for p in tmp_path.iterdir())
    _clean_failure(CliRunner().invoke(_app(), [*args, "--out", ""]), "empty path")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written here


def test_run_into_a_used_folder_is_refused_without_force(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "events.jsonl").write_text("previous run\n", encoding="utf-8")
    calls: list[Path] = []

    def fake(scenario: object, folder: Path, **kwargs: object) -> dict:
        calls.append(folder)
        raise typer.Exit(0)

    monkeypatch.setattr(run_module, "run_to_folder", fake)
    res = CliRunner().invoke(_app(), ["run", str(scenario_file), "--out", str(out), "--quiet"])
    _clean_failure(res, "already holds files", "--force")
    assert (out / "events.jsonl").read_text(encoding="utf-8") == "previous run\n"
    assert calls == []
    res = CliRunner().invoke(_app(), ["run", str(scenario_file), "--out", str(out), "--quiet",
                                      "--force"])
    assert res.exit_code == 0, res.output
    assert calls == [out]


def test_engine_into_a_used_folder_needs_force(scenario_file: Path, plots_file: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "live"
    args = ["engine", "--scenario", str(scenario_file), "--plots", str(plots_file),
            "--out", str(out), "--quiet"]
    assert CliRunner().invoke(_app(), args).exit_code == 0
    first = (out / "events.jsonl").read_bytes()
    _clean_failure(CliRunner().invoke(_app(), args), "already holds files")
    assert (out / "events.jsonl").read_bytes() == first
    res = CliRunner().invoke(_app(), [*args, "--force"])
    assert res.exit_code == 0, res.output
    assert (out / "events.jsonl").read_bytes() == first  # replaced by the same replay


def test_an_empty_existing_folder_is_fine(scenario_file: Path, plots_file: Path,
                                          tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    res = CliRunner().invoke(_app(), ["engine", "--scenario", str(scenario_file), "--plots",
                                      str(plots_file), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
