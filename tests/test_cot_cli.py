"""``--tak`` on run, engine and replay: a bad URL is one clear line (exit 2, no traceback); the
events reach a local TCP server; replay paces with ``--speed``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import CotServer, wait_until
from counterram.cli import app
from counterram.scenario import dump_scenario
from counterram.sim import SimulationResult
from counterram.sinks.cot import TAK_ENV

runner = CliRunner()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory, small_scenario) -> Path:
    path = tmp_path_factory.mktemp("cli") / "two.yaml"
    path.write_text(dump_scenario(small_scenario), encoding="utf-8")
    return path


@pytest.fixture()
def server():
    s = CotServer().start()
    yield s
    s.stop()


def _log(tmp_path: Path) -> Path:
    """A tiny event log: a header, a track, a warning and its all-clear, a truth launch."""
    zone = {"name": "z", "vertices_en": [[0, 0], [100, 0], [100, 100]],
            "center_en": [50, 30], "radius_m": None}
    lines = [
        {"schema_version": 1, "kind": "header", "time_s": 0.5, "scenario": "t",
         "latitude_deg": 33.3, "longitude_deg": 44.39, "altitude_m": 34.0, "frame": "site",
         "epoch_utc": "", "simulated": True, "zones": [zone]},
        {"schema_version": 1, "kind": "launch", "truth": True, "time_s": 0.6, "round_id": 0,
         "munition": "81mm-mortar", "launch_enu": [0, 0, 0], "aim_enu": [1, 1, 0]},
        {"schema_version": 1, "kind": "track", "time_s": 1.0, "track_id": 1,
         "status": "confirmed", "position_enu": [500.0, 200.0, 300.0],
         "velocity_enu": [-100.0, 0.0, 10.0], "position_sigma_m": 5.0, "updates": 3,
         "reason": "", "update": False, "sensors": 1},
        {"schema_version": 1, "kind": "warning", "time_s": 1.0, "zone": "z", "track_ids": [1],
         "probability": 0.5, "predicted_impact_time_s": 20.0, "update": False, "early": False},
        {"schema_version": 1, "kind": "all_clear", "time_s": 1.5, "zone": "z"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("url", ["http://127.0.0.1:8087", "tcp://127.0.0.1", "localhost:8087",
                                 "tls://127.0.0.1:8089?cert=/no/such.pem"])
def test_a_bad_tak_url_is_one_clear_line(tmp_path: Path, scenario_file: Path, url: str) -> None:
    log = _log(tmp_path)
    commands = [
        ["run", str(scenario_file), "--out", str(tmp_path / "r"), "--tak", url],
        ["engine", "--scenario", str(scenario_file), "--plots", str(log), "--out",
         str(tmp_path / "e"), "--tak", url],
        ["replay", str(log), "--tak", url],
    ]
    for command in commands:
        res = runner.invoke(app, command)
        assert res.exit_code == 2, (command, res.output)
        assert "--tak" in res.output and "tcp://HOST:PORT" in res.output, res.output
        assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert not (tmp_path / "r").exists()  # refused before anything ran


def test_replay_sends_the_log_and_paces_it(tmp_path: Path, server: CotServer) -> None:
    log = _log(tmp_path)
    url = f"tcp://127.0.0.1:{server.port}"
    started = time.monotonic()
    res = runner.invoke(app, ["replay", str(log), "--tak", url, "--speed", "2"])
    elapsed = time.monotonic() - started
    assert res.exit_code == 0, res.output
    assert elapsed >= (1.5 - 0.5) / 2 - 0.05  # the log spans 1 s: half a second at speed 2
    assert "INCOMING z" in res.output and "ALL CLEAR z" in res.output
    assert "3 CoT events sent, 0 dropped" in res.output
    assert wait_until(lambda: len(server.received()) == 3, 5.0)
    got = b"".join(server.received())
    assert b'type="a-h-A-W"' in got and b'type="u-d-f"' in got and b'type="t-x-d-d"' in got
    assert got.count(b'opex="s"') == 3  # the header says simulated


def test_replay_of_only_some_kinds_still_places_them(tmp_path: Path, server: CotServer) -> None:
    res = runner.invoke(app, ["replay", str(_log(tmp_path)), "--kind", "track", "--tak",
                              f"tcp://127.0.0.1:{server.port}"])
    assert res.exit_code == 0, res.output
    assert "1 events" in res.output
    assert wait_until(lambda: len(server.received()) == 1, 5.0)
    assert b'type="a-h-A-W"' in server.received()[0]


def test_run_and_engine_send_to_tak(tmp_path: Path, scenario_file: Path, server: CotServer,
                                    small_run: SimulationResult) -> None:
    url = f"tcp://127.0.0.1:{server.port}"
    plots = tmp_path / "plots.jsonl"
    plots.write_text("\n".join([small_run.plots_header, *small_run.plot_lines[:600]]) + "\n",
                     encoding="utf-8")
    res = runner.invoke(app, ["engine", "--scenario", str(scenario_file), "--plots",
                              str(plots), "--out", str(tmp_path / "live"), "--tak", url])
    assert res.exit_code == 0, res.output
    assert "CoT events sent" in res.output
    assert wait_until(lambda: any(b'type="a-h-A-W"' in e for e in server.received()), 5.0)
    res = runner.invoke(app, ["run", str(scenario_file), "--out", str(tmp_path / "run"),
                              "--quiet", "--tak", url])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    (tak,) = summary["tak"]
    assert tak["destination"] == url and tak["sent"] > 100 and tak["dropped"] == 0


def test_the_cot_sink_by_name_reads_its_destinations(tmp_path: Path, scenario_file: Path,
                                                     monkeypatch) -> None:
    monkeypatch.delenv(TAK_ENV, raising=False)
    res = runner.invoke(app, ["run", str(scenario_file), "--out", str(tmp_path / "r"),
                              "--sink", "cot", "--quiet"])
    assert res.exit_code == 2 and TAK_ENV in res.output, res.output
