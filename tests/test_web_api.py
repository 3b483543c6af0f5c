"""The web view's server: tokens on the controls, input checks, loopback by default, the picture
a late page gets, the replay clock, and the three feeds (docs/web.md)."""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import socket
import time
import warnings

import httpx
import pytest
from typer.testing import CliRunner

from conftest import serve_process, two_firings
from counterram.cli import app as cli_app
from counterram.commands.engine_live import engine_live
from counterram.commands.serve import serve
from counterram.driver import RunDriver
from counterram.engine import Engine
from counterram.scenario import load_scenario
from counterram.web.app import create_app
from counterram.web.hub import Hub
from counterram.web.modes import live_view, replay_view, simulation_view
from counterram.web.replay_clock import SimClock
from counterram.web.server import WebServer, bind, host_warning, is_loopback
from counterram.web.state import ORIGIN_KEEP_S, Picture

with warnings.catch_warnings():  # starlette's TestClient over httpx: deprecated, still fine
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "test-token-123"


def _track(t: float, tid: int, status: str = "confirmed", update: bool = False) -> dict:
    return {"schema_version": 1, "kind": "track", "time_s": t, "track_id": tid,
            "status": status, "position_enu": [100.0 * tid, 50.0 * t, 300.0],
            "velocity_enu": [-10.0, 0.0, 5.0], "position_sigma_m": 3.0, "updates": 5,
            "reason": "impact" if status == "deleted" else "", "update": update}


def _warning(t: float, zone: str, tids: list[int], impact_s: float) -> dict:
    return {"schema_version": 1, "kind": "warning", "time_s": t, "zone": zone,
            "track_ids": tids, "probability": 0.9, "predicted_impact_time_s": impact_s,
            "update": False, "early": False}


def _ellipse_event(kind: str, t: float, tid: int) -> dict:
    where = "impact_en" if kind == "impact_prediction" else "origin_en"
    return {"schema_version": 1, "kind": kind, "time_s": t, "track_id": tid, where: [1.0, 2.0],
            "covariance_m2": [[1.0, 0.0], [0.0, 1.0]],
            "ellipse": {"semi_major_m": 30.0, "semi_minor_m": 10.0, "orientation_deg": 45.0,
                        "probability": 0.9},
            "impact_time_s": t + 20, "launch_time_s": t - 5, "threat_class": "mortar",
            "munition": "81mm-mortar", "latitude_deg": 33.0, "longitude_deg": 44.0}


EVENTS = [
    _track(1.0, 1), _ellipse_event("impact_prediction", 1.0, 1), _track(2.0, 1, update=True),
    _warning(2.0, "embassy-compound", [1], 20.0), _track(3.0, 2),
    {"schema_version": 1, "kind": "all_clear", "time_s": 6.0, "zone": "embassy-compound"},
    _track(7.0, 1, "deleted"), _track(8.0, 2, update=True),
]


@pytest.fixture
def replay_client() -> TestClient:
    view = replay_view(EVENTS, load_scenario("baghdad-embassy"), paused=True)
    view.start()
    try:
        yield TestClient(create_app(view.hub, view.site, view.controls, TOKEN))
    finally:
        view.stop()


# ------------------------------------------------------------------------------ tokens
@pytest.mark.parametrize("path, body", [
    ("pause", {"paused": True}), ("speed", {"speed": 5}), ("seek", {"time_s": 3.0}),
    ("start", {}),
])
def test_controls_refuse_a_missing_or_wrong_token(replay_client, path, body):
    r = replay_client.post(f"/api/control/{path}", json=body)
    assert r.status_code == 401 and "token" in r.json()["detail"]
    r = replay_client.post(f"/api/control/{path}", json=body,
                           headers={"Authorization": "Bearer not-the-token"})
    assert r.status_code == 403
    r = replay_client.post(f"/api/control/{path}", json=body,
                           headers={"X-Counterram-Token": "nope"})
    assert r.status_code == 403
    r = replay_client.post(f"/api/control/{path}", json=body,
                           headers={"Authorization": "Basic " + TOKEN})
    assert r.status_code == 401


def test_a_good_token_controls_and_reading_needs_none(replay_client):
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert replay_client.get("/api/site").status_code == 200
    assert replay_client.get("/api/picture").status_code == 200
    r = replay_client.post("/api/control/seek", json={"time_s": 3.5}, headers=ok)
    assert r.status_code == 200 and r.json()["time_s"] == 3.5
    picture = replay_client.get("/api/picture").json()
    assert picture["picture"]["time_s"] == 3.5
    assert sorted(t["track_id"] for t in picture["picture"]["tracks"]) == [1, 2]
    assert [z["zone"] for z in picture["picture"]["zones"]] == ["embassy-compound"]
    r = replay_client.post("/api/control/speed", json={"speed": 12.5},
                           headers={"X-Counterram-Token": TOKEN})
    assert r.status_code == 200
    assert replay_client.get("/api/picture").json()["status"]["speed"] == 12.5


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("path, body, says", [
    ("speed", {"speed": 0.5}, "greater than or equal to 1"),
    ("speed", {"speed": 51}, "less than or equal to 50"),
    ("speed", {"speed": "fast"}, "speed"),
    ("speed", {"speed": True}, "speed"),
    ("speed", {}, "speed: Field required"),
    ("pause", {"paused": "yes"}, "paused"),
    ("seek", {"time_s": "later"}, "time_s"),
    ("seek", {"time_s": 1.0, "extra": 1}, "extra"),
    ("start", {"seed": -1}, "seed"),
])
def test_bad_control_input_is_a_4xx_with_a_message(replay_client, path, body, says):
    r = replay_client.post(f"/api/control/{path}", json=body,
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 422
    assert says in r.json()["detail"]


def test_not_json_nan_and_controls_the_feed_lacks(replay_client):
    ok = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    r = replay_client.post("/api/control/seek", content="{not json", headers=ok)
    assert r.status_code == 422 and "not JSON" in r.json()["detail"]
    r = replay_client.post("/api/control/seek", content='{"time_s": NaN}', headers=ok)
    assert r.status_code == 422 and "finite" in r.json()["detail"]
    r = replay_client.post("/api/control/start", json={"seed": 3}, headers=ok)
    assert r.status_code == 409 and "replay" in r.json()["detail"]
    # a seek beyond the log is clamped to its span, not an error
    r = replay_client.post("/api/control/seek", json={"time_s": 1e9}, headers=ok)
    assert r.status_code == 200 and r.json()["time_s"] == EVENTS[-1]["time_s"]


def test_live_view_refuses_every_control():
    sc = load_scenario("baghdad-embassy")
    view = live_view(sc, Engine.from_scenario(sc))
    client = TestClient(create_app(view.hub, view.site, view.controls, TOKEN))
    for path, body in (("pause", {"paused": True}), ("speed", {"speed": 2}),
                       ("seek", {"time_s": 1}), ("start", {})):
        r = client.post(f"/api/control/{path}", json=body,
                        headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 409 and "live" in r.json()["detail"]


# ------------------------------------------------------------------------------ binding
def test_the_server_binds_loopback_unless_told_otherwise():
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(engine_live).parameters["serve_host"].default == "127.0.0.1"
    sock = bind(port=0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
    for host in ("127.0.0.1", "127.3.2.1", "::1", "localhost"):
        assert is_loopback(host) and host_warning(host) is None
    for host in ("0.0.0.0", "192.168.1.20", "example.org"):
        assert not is_loopback(host)
        assert "127.0.0.1" in host_warning(host)


def test_serve_cli_bad_input_is_one_line_exit_2(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli_app, ["serve", "--replay", str(tmp_path / "none.jsonl")])
    assert r.exit_code == 2 and "no such event log" in r.output
    log = tmp_path / "events.jsonl"
    log.write_text(json.dumps(EVENTS[0]) + "\n")
    r = runner.invoke(cli_app, ["serve", "--replay", str(log)])
    assert r.exit_code == 2 and "name the run's scenario" in r.output
    r = runner.invoke(cli_app, ["serve", "--tiles", "ftp://x/{z}/{x}/{y}"])
    assert r.exit_code == 2 and "tile URL template" in r.output
    r = runner.invoke(cli_app, ["serve", "--speed", "80"])
    assert r.exit_code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "track"\n')
    r = runner.invoke(cli_app, ["serve", "--replay", str(bad), "baghdad-embassy"])
    assert r.exit_code == 2 and "not JSON" in r.output
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        r = runner.invoke(cli_app, ["serve", "--replay", str(log), "baghdad-embassy",
                                    "--port", str(taken.getsockname()[1])])
        assert r.exit_code == 2 and "cannot listen on 127.0.0.1" in r.output
    finally:
        taken.close()
    assert "Traceback" not in r.output


def test_a_replay_finds_its_scenario_in_the_header_or_the_summary(tmp_path):
    from counterram.commands.serve import replay_scenario

    log = tmp_path / "events.jsonl"
    log.write_text(json.dumps({"schema_version": 1, "kind": "header", "time_s": 0.5,
                               "scenario": "fob-mortar"}) + "\n" + json.dumps(EVENTS[0]) + "\n")
    assert replay_scenario(log, None) == "fob-mortar"
    assert replay_scenario(log, "my-site.yaml") == "my-site.yaml"
    log.write_text(json.dumps(EVENTS[0]) + "\n")
    (tmp_path / "summary.json").write_text(json.dumps({"scenario": "grad-salvo"}))
    assert replay_scenario(log, None) == "grad-salvo"


def test_a_host_beyond_loopback_is_warned_of(small_run_log):
    with serve_process(["serve", "--replay", str(small_run_log), "baghdad-embassy",
                        "--host", "0.0.0.0", "--port", "0", "--paused"]) as served:
        assert any("warning" in line and "0.0.0.0" in line for line in served.lines)
        r = httpx.get(served.url.replace("0.0.0.0", "127.0.0.1") + "api/site", timeout=30)
        assert r.status_code == 200


# ------------------------------------------------------------------------------ the picture
def test_late_joiner_gets_the_current_picture_first_then_the_steps():
    hub = Hub({"mode": "test"})
    hub.publish_step(1.0, [EVENTS[0], EVENTS[1]])
    hub.publish_step(2.0, [EVENTS[2], EVENTS[3]])

    async def join() -> tuple[dict, list[dict]]:
        sub, seq, first = hub.subscribe(asyncio.get_running_loop())
        hub.publish_step(3.0, [EVENTS[4]])
        number, data = await asyncio.wait_for(sub.queue.get(), timeout=10)
        assert number > seq
        hub.unsubscribe(sub)
        return json.loads(first), [json.loads(data)]

    first, later = asyncio.run(join())
    assert first["type"] == "picture" and first["picture"]["time_s"] == 2.0
    (track,) = first["picture"]["tracks"]
    assert track["track_id"] == 1 and len(track["history"]) == 2
    assert track["munition"] == "81mm-mortar"
    assert first["picture"]["zones"][0]["zone"] == "embassy-compound"
    assert later[0]["type"] == "step" and later[0]["events"] == [EVENTS[4]]


def test_the_stream_sends_the_picture_first_over_http(small_run_log):
    sc = load_scenario("baghdad-embassy")
    from counterram.web.replay_clock import load_log

    view = replay_view(load_log(small_run_log), sc, paused=True, start_s=40.0)
    view.start()
    server = WebServer(create_app(view.hub, view.site, view.controls, TOKEN), bind(port=0))
    server.start()
    try:
        with httpx.stream("GET", server.url + "api/stream", timeout=30) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("data:"):
                    first = json.loads(line[5:])
                    break
        assert first["type"] == "picture" and first["picture"]["time_s"] == 40.0
        assert len(first["picture"]["tracks"]) >= 1
        assert {z["zone"] for z in first["picture"]["zones"]} >= {"embassy-compound"}
        page = httpx.get(server.url, timeout=30)
        assert page.status_code == 200 and "leaflet.js" in page.text
    finally:
        server.stop()
        view.stop()


def test_a_nan_in_an_event_reaches_the_page_as_null_and_tiles_are_passed_on():
    hub = Hub()

    async def step_message() -> dict:
        sub, _, _ = hub.subscribe(asyncio.get_running_loop())
        hub.publish_step(1.0, [dict(EVENTS[0], position_sigma_m=float("nan"))])
        _, data = await asyncio.wait_for(sub.queue.get(), timeout=10)
        return json.loads(data)

    assert asyncio.run(step_message())["events"][0]["position_sigma_m"] is None
    (track,) = hub.picture()["picture"]["tracks"]
    assert track["position_sigma_m"] is None
    sc = load_scenario("baghdad-embassy")
    view = live_view(sc, Engine.from_scenario(sc))
    tiles = "http://127.0.0.1:8080/{z}/{x}/{y}.png"
    client = TestClient(create_app(view.hub, view.site, view.controls, TOKEN, tiles=tiles))
    site = client.get("/api/site").json()
    assert site["tiles"] == tiles
    assert {z["name"] for z in site["zones"]} == {z.name for z in sc.warning_zones}
    assert site["origin"]["latitude_deg"] == sc.origin.latitude_deg


def test_picture_rules():
    p = Picture()
    for e in EVENTS[:5]:
        p.apply(e)
    assert set(p.tracks) == {1, 2} and set(p.zones) == {"embassy-compound"}
    assert p.zones["embassy-compound"]["predicted_impact_time_s"] == 20.0
    p.apply(_ellipse_event("origin_estimate", 3.0, 1))
    p.apply(EVENTS[5])  # all clear
    assert p.zones == {}
    p.apply(EVENTS[6])  # track 1 deleted: its prediction goes, its origin stays a while
    assert set(p.tracks) == {2} and 1 not in p.impacts and 1 in p.origins
    p.advance(7.0 + ORIGIN_KEEP_S + 1)
    assert 1 not in p.origins
    p.apply({"kind": "track", "time_s": 200.0, "track_id": 3})  # damaged: no status
    assert p.skipped == 1 and 3 not in p.tracks
    miss = {"kind": "outcome", "truth": True, "time_s": 201.0, "gun": "g", "track_id": 2,
            "round_id": 1, "killed": False, "debris_enu": [None, None, None]}
    p.apply(miss)  # a miss brings nothing down: no marker, and not a damaged event
    assert p.truth == [] and p.skipped == 1
    kinds = [e["kind"] for e in p.log]
    assert "track" in kinds and kinds.count("impact_prediction") == 1
    assert all(not (e["kind"] == "track" and e.get("update")) for e in p.log)


# ------------------------------------------------------------------------------ the clock
def test_sim_clock_pause_speed_seek():
    wall = [0.0]
    clock = SimClock(10.0, 2.0, wall=lambda: wall[0])
    wall[0] = 1.0
    assert clock.now() == 12.0
    clock.set_paused(True)
    wall[0] = 5.0
    assert clock.now() == 12.0
    clock.set_paused(False)
    clock.set_speed(10.0)
    wall[0] = 6.0
    assert clock.now() == 22.0
    clock.seek(3.0)
    assert clock.now() == 3.0


def test_replay_seek_rebuilds_the_picture_and_pause_holds_it():
    sc = load_scenario("baghdad-embassy")
    view = replay_view(EVENTS, sc, paused=True)
    replay = view.controls.replay  # type: ignore[attr-defined]
    view.start()
    try:
        replay.seek(6.5)
        pic = view.hub.picture()["picture"]
        assert pic["time_s"] == 6.5 and pic["zones"] == []
        assert sorted(t["track_id"] for t in pic["tracks"]) == [1, 2]
        time.sleep(0.3)
        assert view.hub.picture()["picture"]["time_s"] == 6.5  # paused: the clock holds
        replay.seek(2.5)
        assert [z["zone"] for z in view.hub.picture()["picture"]["zones"]] == \
            ["embassy-compound"]
        replay.set_speed(50.0)
        replay.set_paused(False)
        deadline = time.monotonic() + 30
        while view.hub.status.get("state") != "ended" and time.monotonic() < deadline:
            time.sleep(0.05)
        pic = view.hub.picture()["picture"]
        assert view.hub.status["state"] == "ended" and pic["time_s"] == 8.0
        assert [t["track_id"] for t in pic["tracks"]] == [2]
    finally:
        view.stop()


# ------------------------------------------------------------------------------ the feeds
def test_simulation_feed_runs_paced_with_engine_latency_and_restarts():
    sc = two_firings().model_copy(update={"duration_s": 30.0})
    view = simulation_view(sc, speed=50.0)
    view.start()
    try:
        deadline = time.monotonic() + 120
        while view.hub.status.get("state") != "ended" and time.monotonic() < deadline:
            time.sleep(0.1)
        status = view.hub.status
        assert status["state"] == "ended", status
        message = view.hub.picture()
        assert message["latency_ms"] is not None and message["latency_ms"] > 0
        assert message["picture"]["time_s"] >= 30.0
        assert {g["gun"] for g in message["picture"]["guns"]} == {"gun-north", "gun-south"}
        assert view.controls.start(5) == 5
        assert view.hub.status["seed"] == 5
    finally:
        view.stop()


def test_live_sink_feeds_the_hub(small_run):
    sc = two_firings()
    engine = Engine.from_scenario(sc)
    view = live_view(sc, engine)
    assert view.sink is not None
    RunDriver([view.sink]).live(engine, [small_run.plots_header, *small_run.plot_lines],
                                 scenario=sc)
    message = view.hub.picture()
    assert view.hub.status["state"] == "ended"
    counts = message["picture"]["counts"]
    engine_kinds = {e.kind for e in small_run.events if not e.truth}
    assert {"track", "warning", "all_clear"} <= engine_kinds <= set(counts) | {"plot_rejected"}
    assert message["latency_ms"] is not None and math.isfinite(message["latency_ms"])


def test_engine_serve_shows_the_live_engine(small_run, tmp_path):
    plots = tmp_path / "plots.jsonl"
    plots.write_text("\n".join([small_run.plots_header, *small_run.plot_lines]) + "\n")
    with serve_process(["engine", "--scenario", "baghdad-embassy", "--plots", str(plots),
                        "--out", str(tmp_path / "live"), "--quiet", "--serve",
                        "--serve-port", "0"]) as served:
        assert served.url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            message = httpx.get(served.url + "api/picture", timeout=30).json()
            if message["status"].get("state") == "ended":
                break
            time.sleep(0.2)
        assert message["status"]["mode"] == "live" and message["status"]["state"] == "ended"
        assert message["picture"]["counts"].get("warning", 0) > 0
        assert message["latency_ms"] is not None
        r = httpx.post(served.url + "api/control/pause", json={"paused": True}, timeout=30,
                       headers={"Authorization": f"Bearer {served.token}"})
        assert r.status_code == 409
    assert (tmp_path / "live" / "events.jsonl").stat().st_size > 0
