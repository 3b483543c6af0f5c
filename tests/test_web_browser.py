"""The web view in a real browser: headless Chromium (Debian's, driven by Playwright) on
``counterram serve --replay`` of a short run. Every zone is drawn; a zone turns warned when its
warning is replayed and clears after its all-clear; the track count is the events'; pause stops
the clock; the screenshot docs/web.md shows is saved. With 100 tracks live the drawn updates per
second are measured and printed (docs/performance.md), not asserted."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import serve_process
from counterram.scenario import load_scenario
from counterram.scenario.resolved import resolve
from counterram.sinks.jsonl import iter_event_dicts
from counterram.web.site import site_geometry

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs "
                       "Debian's package)"),
    pytest.mark.slow,
]
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-gpu"]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "web.png"
WAIT_MS = 60_000  # generous: the machine may be busy


@pytest.fixture(scope="module")
def browser():
    sync = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def tracks_at(log: Path, t: float) -> set[int]:
    """The confirmed tracks of a log at time ``t`` (events in file order while the log's
    running clock is at or before ``t``)."""
    alive: set[int] = set()
    top = -np.inf
    for e in iter_event_dicts(log):
        top = max(top, e["time_s"])
        if top > t:
            break
        if e["kind"] == "track":
            if e["status"] == "deleted":
                alive.discard(e["track_id"])
            else:
                alive.add(e["track_id"])
    return alive


def first_warning_and_clear(log: Path, after_s: float) -> tuple[str, float, float]:
    """A zone first warned after ``after_s``: its name, warning time and all-clear time."""
    warned: dict[str, float] = {}
    for e in iter_event_dicts(log):
        if e["kind"] == "warning" and not e["update"] and e["time_s"] > after_s:
            warned.setdefault(e["zone"], e["time_s"])
        if e["kind"] == "all_clear" and e["zone"] in warned:
            return e["zone"], warned[e["zone"]], e["time_s"]
    raise AssertionError("the log has no warning followed by its all-clear")


def clock(page) -> float:
    return float(page.get_attribute("#clock", "data-time"))


def open_page(browser, served):
    page = browser.new_page(viewport={"width": 1400, "height": 850})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(served.url + "#token=" + served.token)
    return page, errors


def test_replay_in_the_browser(browser, small_run_log):
    zones = [z["name"] for z in site_geometry(resolve(load_scenario("baghdad-embassy")))["zones"]]
    zone, warned_s, clear_s = first_warning_and_clear(small_run_log, 28.0)
    with serve_process(["serve", "--replay", str(small_run_log), "baghdad-embassy",
                        "--port", "0", "--paused", "--start", str(warned_s - 1.5)]) as served:
        page, errors = open_page(browser, served)
        page.wait_for_function(f"document.querySelectorAll('path.cr-zone').length === "
                               f"{len(zones)}", timeout=WAIT_MS)
        drawn = page.eval_on_selector_all("path.cr-zone", "els => els.map(e => e.dataset.zone)")
        assert sorted(drawn) == sorted(zones)
        page.wait_for_function(f"counterram.picture.time_s === {warned_s - 1.5}",
                               timeout=WAIT_MS)
        warned = f'path.cr-zone.warned[data-zone="{zone}"]'
        assert page.query_selector(warned) is None

        # play (the page's own controls, with the token from its address) at 10×
        assert page.evaluate("counterram.control('speed', {speed: 10})")
        page.click("#play")
        page.wait_for_selector(warned, timeout=WAIT_MS)
        page.wait_for_selector(f'#incoming .banner[data-zone="{zone}"]', timeout=WAIT_MS)
        assert clock(page) >= warned_s

        # the screenshot: paused a few seconds into the raid
        page.click("#play")  # pause
        page.wait_for_function("counterram.status.paused === true", timeout=WAIT_MS)
        assert page.evaluate(f"counterram.control('seek', {{time_s: {warned_s + 6}}})")
        page.wait_for_function(f"counterram.picture.time_s === {warned_s + 6}",
                               timeout=WAIT_MS)
        expected = tracks_at(small_run_log, warned_s + 6)
        assert len(expected) > 0
        page.wait_for_function(f"counterram.trackCount() === {len(expected)}", timeout=WAIT_MS)
        assert page.inner_text("#track-count") == str(len(expected))
        assert sorted(int(x) for x in page.eval_on_selector_all(
            ".cr-track", "els => els.map(e => e.dataset.track)")) == sorted(expected)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))

        # play through the all-clear
        page.click("#play")
        page.wait_for_function(f"document.querySelector('{warned}') === null",
                               timeout=WAIT_MS)
        assert page.query_selector(f'#incoming .banner[data-zone="{zone}"]') is None
        assert clock(page) >= clear_s

        # pause stops the clock; the tracks shown are the events'
        page.click("#play")
        page.wait_for_function("counterram.status.paused === true", timeout=WAIT_MS)
        time.sleep(0.3)  # any step already on its way has arrived
        held = clock(page)
        time.sleep(1.5)
        assert clock(page) == held
        expected = tracks_at(small_run_log, held)
        assert page.evaluate("counterram.trackCount()") == len(expected)
        assert page.inner_text("#track-count") == str(len(expected))
        assert errors == []


def synthetic_log(path: Path, tracks: int = 100, duration_s: float = 60.0,
                  step_s: float = 0.2) -> None:
    """``tracks`` tracks reported every ``step_s`` for ``duration_s``, with impact predictions
    every second and a warning (fixed seed)."""
    rng = np.random.default_rng(17)
    start = rng.uniform(-6000, 6000, (tracks, 2))
    velocity = -start / 40.0 + rng.normal(0, 5, (tracks, 2))
    ellipse = {"semi_major_m": 60.0, "semi_minor_m": 20.0, "orientation_deg": 30.0,
               "probability": 0.9}
    with path.open("w") as fp:
        for k in range(1, round(duration_s / step_s) + 1):
            t = round(k * step_s, 3)
            for i in range(tracks):
                e, n = (start[i] + velocity[i] * t).tolist()
                fp.write(json.dumps({
                    "schema_version": 1, "kind": "track", "time_s": t, "track_id": i + 1,
                    "status": "confirmed", "position_enu": [e, n, 500.0],
                    "velocity_enu": [*velocity[i].tolist(), 0.0], "position_sigma_m": 5.0,
                    "updates": k, "reason": "", "update": k > 1}) + "\n")
                if k % round(1 / step_s) == 1:
                    fp.write(json.dumps({
                        "schema_version": 1, "kind": "impact_prediction", "time_s": t,
                        "track_id": i + 1, "impact_en": (start[i] + velocity[i] * 40).tolist(),
                        "covariance_m2": [[1, 0], [0, 1]], "ellipse": ellipse,
                        "impact_time_s": 40.0, "impact_time_sigma_s": 1.0,
                        "threat_class": "rocket", "munition": "107mm-rocket",
                        "latitude_deg": 33.3, "longitude_deg": 44.4}) + "\n")
            if k == 1:
                fp.write(json.dumps({
                    "schema_version": 1, "kind": "warning", "time_s": t,
                    "zone": "embassy-compound", "track_ids": list(range(1, tracks + 1)),
                    "probability": 0.9, "predicted_impact_time_s": 40.0, "update": False,
                    "early": False}) + "\n")


def test_hundred_tracks_drawn_updates_per_second(browser, tmp_path, record_property):
    log = tmp_path / "events.jsonl"
    synthetic_log(log)
    with serve_process(["serve", "--replay", str(log), "baghdad-embassy", "--port", "0",
                        "--speed", "4"]) as served:
        page, errors = open_page(browser, served)
        page.wait_for_function("counterram.trackCount() === 100", timeout=WAIT_MS)
        time.sleep(0.5)
        d0, ms0, t0 = page.evaluate("[counterram.draws, counterram.drawMsTotal, "
                                    "performance.now()]")
        time.sleep(5.0)
        d1, ms1, t1 = page.evaluate("[counterram.draws, counterram.drawMsTotal, "
                                    "performance.now()]")
        assert page.evaluate("counterram.trackCount()") == 100
        assert errors == []
    rate = (d1 - d0) / ((t1 - t0) / 1000.0)
    per_draw = (ms1 - ms0) / max(1, d1 - d0)
    record_property("web_draws_per_s_100_tracks", round(rate, 1))
    record_property("web_draw_ms_100_tracks", round(per_draw, 2))
    print(f"\nweb view, 100 tracks live: {rate:.1f} drawn updates/s, "
          f"{per_draw:.1f} ms per draw")
    assert d1 > d0  # it draws at all; the rate itself is a measurement, not a test
