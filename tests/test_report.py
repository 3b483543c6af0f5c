"""The run report: self-contained, real figures, right numbers, deterministic, robust to gaps.

The input is a real truth (baghdad-embassy) with events synthesised from it: tracks at the true
positions plus noise, predictions near the true impacts, zone warnings merged per zone the way a
warner issues them, one engagement that kills its round. Expected per-round values (first track,
warning time, outcome) are computed here from that construction, independently of the report.
"""

from __future__ import annotations

import base64
import io
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from counterram.events import (
    AllClear,
    Ellipse,
    EngagementOrdered,
    EngagementOutcome,
    GunStatus,
    ImpactPredicted,
    OriginEstimated,
    PlotRejected,
    RoundImpacted,
    RoundLaunched,
    TrackEvent,
    WarningIssued,
)
from counterram.scenario import load_scenario
from counterram.scenario.resolved import resolve
from counterram.sinks.analysis import analyse_run, truth_positions
from counterram.sinks.figures import ellipse_axes
from counterram.sinks.report import render_report, write_report
from counterram.world import build_truth

UNDETECTED = (0, 12)   # rounds 0 (east-bank) and 12 (district-west) are never tracked
ENGAGED = 2            # lands in the embassy; shot down 6 s before impact
TRACK_START_S = 3.0    # first track report this long after launch
CLEAR_MARGIN_S = 5.0   # all clear this long after the zone's last impact
WARN_DELAY_S = 2.0     # warning this long after the round's first track


@pytest.fixture(scope="module")
def world():
    return resolve(load_scenario("baghdad-embassy"))


@pytest.fixture(scope="module")
def truth(world):
    return build_truth(world)


def _run_events(truth, *, engage: bool = True, warn: bool = True):
    """Events of a plausible run, and the expected per-round first-track and warning times."""
    rng = np.random.default_rng(7)
    n = len(truth)
    events = []
    first_track = np.full(n, np.nan)
    kill_t = np.full(n, np.nan)
    if engage:
        kill_t[ENGAGED] = truth.impact_time_s[ENGAGED] - 6.0
    end = np.where(np.isfinite(kill_t), kill_t, truth.impact_time_s)
    for r in range(n):
        events.append(RoundLaunched(
            float(truth.launch_time_s[r]), round_id=r, munition=str(truth.munition[r]),
            launch_enu=tuple(truth.launch_enu[r]), aim_enu=tuple(truth.aim_enu[r])))
        if r in UNDETECTED:
            continue
        times = truth.launch_time_s[r] + TRACK_START_S + np.arange(0.0, 60.0, 1.0)
        times = times[times < end[r] - 0.5]
        first_track[r] = times[0]
        for j, t in enumerate(times):
            ids, states = truth.states_at(float(t))
            pos = states[list(ids).index(r), :3] + rng.normal(0.0, 15.0, 3)
            events.append(TrackEvent(
                float(t), track_id=100 + r, status="tentative" if j < 2 else "confirmed",
                position_enu=tuple(pos), velocity_enu=tuple(states[list(ids).index(r), 3:]),
                position_sigma_m=15.0, updates=j + 1))
        cov = np.array([[80.0**2, 0.3 * 80 * 40], [0.3 * 80 * 40, 40.0**2]])
        a, b, ang, _ = ellipse_axes(cov, None)
        events.append(ImpactPredicted(
            float(times[-1]), track_id=100 + r,
            impact_en=tuple(truth.impact_enu[r, :2] + rng.normal(0.0, 40.0, 2)),
            covariance_m2=tuple(map(tuple, cov)),
            ellipse=Ellipse(a, b, 90.0 - ang, 0.9),
            impact_time_s=float(truth.impact_time_s[r]), impact_time_sigma_s=0.5,
            threat_class="rocket", munition=str(truth.munition[r])))
        if r % 4 == 1:
            events.append(OriginEstimated(
                float(times[-1]), track_id=100 + r,
                origin_en=tuple(truth.launch_enu[r, :2] + rng.normal(0.0, 60.0, 2)),
                covariance_m2=((150.0**2, 0.0), (0.0, 90.0**2)),
                ellipse=None, launch_time_s=float(truth.launch_time_s[r])))
    # A false track far from every flight.
    events += [TrackEvent(100.0 + k, track_id=999, status="confirmed",
                          position_enu=(-9000.0, 9000.0, 500.0)) for k in range(3)]
    # Warnings: per zone, merge [first track + delay, end + margin] of the rounds falling in it.
    warned = np.full(n, np.nan)
    if warn:
        for zone in truth.zone_names:
            rows = [r for r in range(n) if zone in truth.impact_zones[r] and
                    np.isfinite(first_track[r])]
            spans = sorted((first_track[r] + WARN_DELAY_S, end[r] + CLEAR_MARGIN_S, r)
                           for r in rows)
            start = stop = -math.inf
            for s, e, r in spans:
                if s > stop:
                    if math.isfinite(stop):
                        events.append(AllClear(stop, zone=zone))
                    start, stop = s, e
                    events.append(WarningIssued(s, zone=zone, track_ids=(100 + r,),
                                                probability=0.8))
                else:
                    stop = max(stop, e)
                    events.append(WarningIssued(s, zone=zone, track_ids=(100 + r,),
                                                probability=0.9, update=True))
                warned[r] = start if math.isnan(warned[r]) else min(warned[r], start)
            if math.isfinite(stop):
                events.append(AllClear(stop, zone=zone))
    if engage:
        r = ENGAGED
        t_fire = kill_t[r] - 2.0
        ids, states = truth.states_at(float(kill_t[r]))
        at = states[list(ids).index(r), :3]
        events += [
            GunStatus(t_fire, gun="gun-north", state="firing", magazine=1450),
            EngagementOrdered(t_fire, gun="gun-north", track_id=100 + r, fire_time_s=t_fire,
                              rounds=100, intercept_enu=tuple(at + 5.0),
                              intercept_time_s=float(kill_t[r]), predicted_pk=0.8),
            EngagementOutcome(float(kill_t[r]), gun="gun-north", track_id=100 + r, round_id=r,
                              killed=True, miss_distance_m=1.2,
                              debris_enu=(at[0] + 40.0, at[1] - 30.0, 0.0)),
        ]
    for r in range(n):
        if not (engage and r == ENGAGED):
            events.append(RoundImpacted(float(truth.impact_time_s[r]), round_id=r,
                                        impact_enu=tuple(truth.impact_enu[r]),
                                        zones=truth.impact_zones[r]))
    events += [PlotRejected(50.0, reason="late", count=3), PlotRejected(60.0, reason="malformed")]
    events.sort(key=lambda e: e.time_s)
    return events, first_track, warned, end


SUMMARY = {
    "scenario": "baghdad-embassy", "seed": 20200103, "rounds_launched": 21,
    "rounds_detected": 19, "tracks_confirmed": 20, "false_tracks": 1, "warnings_issued": 7,
    "rounds_in_zones": 18, "rounds_warned_in_time": 16,
    "warning_time_s": {"median": 14.2, "p10": 6.5, "min": 3.25},
    "false_warnings": 0, "engagements": 1, "intercepts": 1, "leakers_on_assets": 8,
    "rounds_fired": 100, "poi_cep_m": 37.4, "poo_cep_m": 112.0, "expected_casualties": 0.0123,
    "engine_latency_ms": {"p50": 0.84, "p99": None},
}
# How each value must read in the summary table (integers plain, one decimal, 3 significant
# digits below one, null as "none").
EXPECTED_CELLS = {
    "rounds_launched": "21", "rounds_detected": "19", "warning_time_s.median": "14.2",
    "warning_time_s.p10": "6.5", "warning_time_s.min": "3.2", "poi_cep_m": "37.4",
    "poo_cep_m": "112", "expected_casualties": "0.0123", "engine_latency_ms.p50": "0.84",
    "engine_latency_ms.p99": "none", "rounds_fired": "100", "seed": "20200103",
}


@pytest.fixture(scope="module")
def run(truth):
    return _run_events(truth)


@pytest.fixture(scope="module")
def html(world, truth, run):
    return render_report(world, truth, run[0], SUMMARY)


def _table(html: str, table_id: str) -> list[list[str]]:
    m = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert m, f"table {table_id} missing"
    body = m.group(1).split("<tbody>")[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def _pngs(html: str) -> list[bytes]:
    srcs = re.findall(r'<img[^>]*\bsrc="([^"]*)"', html)
    assert srcs, "no figures"
    out = []
    for src in srcs:
        assert src.startswith("data:image/png;base64,"), src[:60]
        out.append(base64.b64decode(src.split(",", 1)[1], validate=True))
    return out


def test_writes_self_contained_file(tmp_path, world, truth, run, html):
    path = write_report(tmp_path / "out", world, truth, run[0], SUMMARY)
    assert path == tmp_path / "out" / "report.html" and path.is_file()
    text = path.read_text(encoding="utf-8")
    assert text == html
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "decision support only" in text
    assert "baghdad-embassy" in text


def test_figures_are_real_pngs(html):
    pngs = _pngs(html)
    assert len(pngs) == 5  # site map, district map, side view, timeline, warning times
    for png in pngs:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        img = imread(io.BytesIO(png), format="png")
        h, w = img.shape[:2]
        assert w >= 300 and h >= 300, (w, h)
        rgb = img[..., :3].reshape(-1, 3)
        # A blank or single-colour canvas has std 0; a drawn figure (white page, black axes,
        # coloured layers) has a std of several per cent of full scale.
        assert float(rgb.std()) > 0.03
        packed = np.round(rgb * 255).astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
        assert np.unique(packed).size >= 2


def test_summary_numbers_in_table(html):
    rows = {m[0]: m[1] for m in re.findall(
        r'<tr data-key="([^"]+)"><td>[^<]*</td><td class="num">([^<]*)</td>', html)}
    for key, cell in EXPECTED_CELLS.items():
        assert rows.get(key) == cell, (key, rows.get(key))
    assert "21 rounds launched; 19 detected" in html


def test_round_table(html, truth, run):
    _, first_track, warned, end = run
    rows = _table(html, "round-table")
    assert len(rows) == len(truth)
    for r, cells in enumerate(rows):
        assert cells[0] == str(r)
        assert cells[2] == truth.munition[r]
        detected = cells[6]
        if r in UNDETECTED:
            assert detected == "—"
        else:
            # The report gives times with one decimal: within 0.05 s of the construction.
            assert abs(float(detected) - first_track[r]) <= 0.05 + 1e-9
        if not truth.impact_zones[r]:
            assert cells[7] == "no zone"
        elif np.isfinite(warned[r]):
            assert abs(float(cells[8]) - (end[r] - warned[r])) <= 0.05 + 1e-9
        else:
            assert cells[7] == "missed"
    assert "intercepted by gun-north" in rows[ENGAGED][11]
    assert rows[0][11] == "landed"


def test_analysis_matches_construction(world, truth, run):
    events, first_track, warned, end = run
    a = analyse_run(world, truth, events)
    detected = [r for r in range(len(truth)) if r not in UNDETECTED]
    assert a.track_round == {100 + r: r for r in detected}
    assert a.unmatched_tracks == 1  # the false track
    np.testing.assert_allclose(a.first_detection_s, first_track, equal_nan=True)
    np.testing.assert_allclose(a.end_time_s, end)
    np.testing.assert_allclose(a.warned_s, warned, equal_nan=True)
    assert a.intercepted.sum() == 1 and a.intercepted[ENGAGED]
    assert a.engaged_by[ENGAGED] == ("gun-north",)
    assert a.rejected_plots == {"late": 3, "malformed": 1}
    assert a.event_counts["plot_rejected"] == 2


def test_deterministic_and_log_round_trip(truth, run, html):
    # A second rendering, from the unresolved scenario and from the events' JSON-ready dicts
    # (as read back from an event log), gives the same bytes.
    again = render_report(load_scenario("baghdad-embassy"), truth,
                          [e.to_dict() for e in run[0]], SUMMARY)
    assert again == html


def test_renders_without_engagements_warnings_or_summary(tmp_path, world, truth):
    events, *_ = _run_events(truth, engage=False, warn=False)
    events = [e for e in events if not isinstance(e, OriginEstimated)]
    empty = {k: None for k in SUMMARY}
    path = write_report(tmp_path, world, truth, events, empty)
    text = path.read_text(encoding="utf-8")
    assert "warnings issued: none" in text
    assert "intercepted" not in " ".join(c[11] for c in _table(text, "round-table"))
    assert len(_pngs(text)) == 5
    # Nothing at all: no events, no summary.
    bare = render_report(world, truth, [], {})
    assert "events: none" in bare and "no summary" in bare
    assert len(_table(bare, "round-table")) == len(truth)


def test_rejects_wrong_inputs(world, truth):
    with pytest.raises(TypeError, match="scenario"):
        render_report("baghdad-embassy", truth, [], {})
    with pytest.raises(TypeError, match="events"):
        render_report(world, truth, [42], {})
    with pytest.raises(ValueError, match="match_gate_m"):
        render_report(world, truth, [], {}, match_gate_m=-1.0)


def test_ellipse_axes_convention():
    # Variance 100² along north-east (compass 45°), 20² across: semi-axes √(k² λ) with
    # k² = −2 ln(1 − 0.9) = 4.605; angle 45° from east.
    k = math.sqrt(-2.0 * math.log(0.1))
    c, s = math.cos(math.radians(45)), math.sin(math.radians(45))
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag([100.0**2, 20.0**2]) @ rot.T
    a, b, angle, p = ellipse_axes(cov, Ellipse(0, 0, 0, 0.9))
    assert p == 0.9
    assert a == pytest.approx(100 * k) and b == pytest.approx(20 * k)
    assert angle % 180 == pytest.approx(45.0)
    # No usable covariance: the ellipse's compass orientation (0° = north) is 90° from east.
    a, b, angle, _ = ellipse_axes(((math.nan, 0), (0, math.nan)), Ellipse(50.0, 10.0, 0.0, 0.5))
    assert (a, b, angle) == (50.0, 10.0, 90.0)
    assert ellipse_axes(((0, 0), (0, 0)), None) is None


def test_truth_positions_match_states_at(truth):
    # Linear interpolation between samples h = 0.05 s apart errs by at most h²/8 · |a|: 3 mm at
    # 1 g and 0.16 m inside a rocket's 500 m/s² boost; states_at (cubic Hermite) is exact to
    # about 1 mm (docs/truth.md). So the two agree to 0.2 m.
    t = 0.5 * (truth.launch_time_s[5] + truth.impact_time_s[5]) + 0.013
    ids, states = truth.states_at(t)
    got = truth_positions(truth, ids, np.full(ids.size, t))
    np.testing.assert_allclose(got, states[:, :3], atol=0.2)
    assert np.all(np.isnan(truth_positions(truth, np.array([5]), np.array([-1.0]))))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_chromium_renders(tmp_path, world, truth, run):
    path = write_report(tmp_path, world, truth, run[0], SUMMARY)
    out = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
         Path(path).as_uri()], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "round-table" in out.stdout and out.stdout.count("<img") == 5


def test_engagement_opportunity_section(world, truth, run, html):
    from counterram.metrics.opportunity import engagement_opportunity
    from counterram.summary import match_tracks

    events = run[0]
    rows = _table(html, "opportunity-table")
    assets = [r for r in range(len(truth)) if truth.impact_assets[r]]
    assert [int(c[0]) for c in rows] == assets
    owner = match_tracks(truth, [e for e in events if isinstance(e, TrackEvent)])
    opp = engagement_opportunity(truth, world, events, owner=owner).by_round()
    classes = re.findall(r'<tr class="([^"]*)"><td class="num">(\d+)</td>',
                         html.split('id="opportunity-table"')[1].split("</table>")[0])
    for (cls, rid), cells in zip(classes, rows, strict=True):
        r = int(rid)
        assert cells[5] == ("yes" if opp[r].engageable else "no")
        engaged = r == ENGAGED  # the only round fired at
        assert (cls == "defect") == (opp[r].engageable and not engaged), (r, cls)
        assert cells[10] == ("no" if engaged else "yes")  # leaked: every asset round but the kill
        if cls == "defect":
            assert "gun-" in cells[6] and "defect" in cells[11]
    assert ENGAGED in assets and "gun-north" in rows[assets.index(ENGAGED)][8]
    ratios = _table(html, "success-ratios")
    assert ratios[0][1] == "1" and ratios[0][2] == "1 of 1"  # killed ÷ engaged rounds
    assert ratios[2][1] == "100"  # 100 rounds fired, one kill
    assert 'id="defects"' in html


def test_reason_counts_read_as_one_row():
    from counterram.sinks.report import summary_rows

    rows = summary_rows({"asset_rounds_not_engageable": {"not_tracked": 1, "out_of_range": 2,
                                                         "travel": 0},
                         "engageable_not_engaged": [4, 7]})
    values = {r["key"]: r["value"] for r in rows}
    assert values["asset_rounds_not_engageable"] == "not tracked 1, out of range 2"
    assert values["engageable_not_engaged"] == "4, 7"
