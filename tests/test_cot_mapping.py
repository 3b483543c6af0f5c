"""The engine's events as Cursor on Target: types, positions (back to the site frame within 1 m),
errors from the covariances, times from the epoch, opex, zones, and the stream header that
places them; the scenario's epoch field."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from conftest import two_firings
from counterram.events import (
    AllClear,
    EngagementOutcome,
    ImpactPredicted,
    OriginEstimated,
    StreamHeader,
    TrackEvent,
    WarningIssued,
    event_from_dict,
)
from counterram.scenario import ScenarioError, dump_scenario, load_scenario
from counterram.scenario.loader import load_text
from counterram.scenario.schema import epoch_seconds
from counterram.sim import SimulationResult
from counterram.sinks.cot_map import CotMapper, CotMessage, launcher_type
from counterram.sinks.cot_xml import UNKNOWN_M, iso_utc
from counterram.stream_header import stream_header

EPOCH_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def _attrs(xml: str, tag: str) -> dict[str, str]:
    start = xml.index(f"<{tag} ")
    return dict(_ATTR.findall(xml[start: xml.index(">", start)]))


@pytest.fixture(scope="module")
def stream(small_run: SimulationResult) -> list:
    """The small run's events behind its stream header (as the run driver writes them)."""
    header = stream_header(small_run.step_s, small_run.scenario,
                           json.loads(small_run.plots_header))
    return [header, *small_run.events]


@pytest.fixture(scope="module")
def mapped(stream) -> tuple[CotMapper, list[CotMessage]]:
    mapper = CotMapper(epoch_s=EPOCH_S, uid_prefix="t")
    return mapper, mapper.map(stream)


def test_the_header_places_the_stream_and_reads_back(stream, small_run) -> None:
    header = stream[0]
    assert isinstance(header, StreamHeader)
    sc = small_run.scenario.scenario
    assert (header.latitude_deg, header.longitude_deg, header.altitude_m) == (
        sc.origin.latitude_deg, sc.origin.longitude_deg, sc.origin.altitude_m)
    assert header.simulated and header.epoch_utc == "" and header.frame == "site"
    assert [z.name for z in header.zones] == [z.name for z in small_run.scenario.zones]
    assert event_from_dict(json.loads(header.to_json())).to_json() == header.to_json()
    assert not stream_header(1.0, small_run.scenario, {"format": "counterram-plots"}).simulated


def test_tracks_land_within_a_metre_of_the_event_with_their_errors(stream, mapped) -> None:
    mapper, messages = mapped
    site = mapper.site
    assert site is not None
    tracks = {(e.track_id, e.time_s): e for e in stream
              if isinstance(e, TrackEvent) and e.status == "confirmed"}
    seen = 0
    for m in messages:
        if m.kind != "track" or m.removes:
            continue
        private = _attrs(m.xml, "__counterram")
        e = tracks[(int(private["track_id"]), float(private["time_s"]))]
        point, event, track = _attrs(m.xml, "point"), _attrs(m.xml, "event"), _attrs(m.xml, "track")
        east, north, up = site.to_site(float(point["lat"]), float(point["lon"]),
                                       float(point["hae"]))
        assert math.dist((float(east), float(north), float(up)), e.position_enu) < 1.0
        assert float(point["ce"]) == pytest.approx(e.position_sigma_m, abs=0.051)
        assert float(point["le"]) == pytest.approx(e.position_sigma_m, abs=0.051)
        assert event["type"] == "a-h-A-W" and event["opex"] == "s"
        assert event["how"] == ("m-f" if e.sensors >= 2 else "m-a")
        assert event["time"] == iso_utc(EPOCH_S + e.time_s)
        ve, vn, _vu = e.velocity_enu
        assert float(track["speed"]) == pytest.approx(math.hypot(ve, vn), abs=0.01)
        assert float(track["course"]) == pytest.approx(
            math.degrees(math.atan2(ve, vn)) % 360, abs=0.01)
        assert len(point["lat"].split(".")[1]) >= 7 and len(point["lon"].split(".")[1]) >= 7
        seen += 1
    assert seen == len(tracks)
    assert {_attrs(m.xml, "event")["how"] for m in messages if m.kind == "track"
            and not m.removes} == {"m-a", "m-f"}  # confirmed on one radar, then fused


def test_impacts_and_origins_carry_their_ellipse_and_1_sigma(stream, mapped) -> None:
    _mapper, messages = mapped
    by_uid_time = {(m.uid, _attrs(m.xml, "event")["time"]): m for m in messages}
    n = 0
    for e in stream:
        if not isinstance(e, ImpactPredicted | OriginEstimated):
            continue
        what = "impact" if isinstance(e, ImpactPredicted) else "origin"
        m = by_uid_time[(f"t.{what}.{e.track_id}", iso_utc(EPOCH_S + e.time_s))]
        point, event = _attrs(m.xml, "point"), _attrs(m.xml, "event")
        mortar = e.threat_class == "mortar"
        assert event["type"] == f"b-d-{'i' if what == 'impact' else 'l'}" + ("-m" * mortar)
        assert float(point["lat"]) == pytest.approx(e.latitude_deg, abs=1e-8)
        assert float(point["lon"]) == pytest.approx(e.longitude_deg, abs=1e-8)
        sigma = math.sqrt(np.linalg.eigvalsh(np.array(e.covariance_m2))[-1])
        assert float(point["ce"]) == pytest.approx(sigma, abs=0.051)
        assert float(point["le"]) == UNKNOWN_M
        ellipse = _attrs(m.xml, "ellipse")
        assert float(ellipse["major"]) == pytest.approx(e.ellipse.semi_major_m, abs=0.006)
        assert float(ellipse["angle"]) == pytest.approx(e.ellipse.orientation_deg, abs=0.006)
        if what == "impact":
            assert event["stale"] == iso_utc(EPOCH_S + e.impact_time_s + 60.0)
        else:
            launcher = by_uid_time[(f"t.launcher.{e.track_id}", event["time"])]
            assert _attrs(launcher.xml, "event")["type"] == launcher_type(e.threat_class,
                                                                         e.munition)
        n += 1
    kinds = {e.threat_class for e in stream if isinstance(e, ImpactPredicted)}
    assert n > 10 and kinds == {"rocket", "mortar"}


def test_launchers_by_class() -> None:
    assert launcher_type("mortar", "81mm-mortar") == "a-h-G-E-W-O"
    assert launcher_type("rocket", "122mm-9m22u") == "a-h-G-E-W-X"
    assert launcher_type("rocket", "107mm-rocket") == "a-h-G-E-W-S"
    assert launcher_type("artillery", "155mm-shell") == "a-h-G-E-W-H"
    assert launcher_type("", "") == "a-h-G-E-W"


def test_warned_zones_are_drawn_until_impact_and_removed_on_all_clear(stream, mapped) -> None:
    mapper, messages = mapped
    site = mapper.site
    header = stream[0]
    zones = {z.name: z for z in header.zones}
    warnings = [e for e in stream if isinstance(e, WarningIssued)]
    clears = [e for e in stream if isinstance(e, AllClear)]
    assert warnings and clears
    drawn = [m for m in messages if m.kind == "warning"]
    assert len(drawn) == len(warnings)
    for e, m in zip(warnings, drawn, strict=True):
        event = _attrs(m.xml, "event")
        assert m.uid == f"t.zone.{e.zone}"
        assert event["stale"] == iso_utc(EPOCH_S + e.predicted_impact_time_s + 30.0)
        zone = zones[e.zone]
        if math.isfinite(zone.radius_m):
            assert event["type"] == "u-d-c-e"
            assert float(_attrs(m.xml, "ellipse")["major"]) == pytest.approx(zone.radius_m)
        else:
            assert event["type"] == "u-d-f"
            vertices = re.findall(r'<link point="([-0-9.]+),([-0-9.]+)"/>', m.xml)
            assert len(vertices) == len(zone.vertices_en) + 1  # closed
            for (lat, lon), (east, north) in zip(vertices, zone.vertices_en, strict=False):
                e2, n2, _ = site.to_site(float(lat), float(lon))
                assert math.hypot(float(e2) - east, float(n2) - north) < 1.0
    removed = [m for m in messages if m.kind == "all_clear"]
    assert [m.removes for m in removed] == [f"t.zone.{e.zone}" for e in clears]
    assert all(_attrs(m.xml, "event")["type"] == "t-x-d-d" for m in removed)


def test_bursts_and_kills_are_shown(stream, mapped) -> None:
    mapper, messages = mapped
    bursts = [m for m in messages if m.kind == "engagement"]
    assert len(bursts) == sum(e.kind == "engagement" for e in stream) > 0
    assert all(_attrs(m.xml, "event")["type"] == "b-m-p-s-p-i" for m in bursts)
    kill = EngagementOutcome(100.0, gun="g", track_id=3, round_id=1, killed=True,
                             miss_distance_m=0.4, debris_enu=(100.0, 200.0, 300.0))
    (m,) = mapper.map([kill])
    point = _attrs(m.xml, "point")
    east, north, up = mapper.site.to_site(float(point["lat"]), float(point["lon"]),
                                          float(point["hae"]))
    assert math.dist((float(east), float(north), float(up)), (100.0, 200.0, 300.0)) < 1.0
    assert "KILL T3" in m.xml and _attrs(m.xml, "event")["how"] == "m-s"
    assert mapper.map([EngagementOutcome(101.0, killed=False)]) == []


def test_truth_launches_and_impacts_are_not_sent(stream, mapped) -> None:
    _, messages = mapped
    assert not {m.kind for m in messages} & {"launch", "impact", "gun_status", "header"}


def test_the_epoch_comes_from_the_header_else_the_clock_at_the_first_event() -> None:
    header = StreamHeader(0.5, scenario="x y", latitude_deg=10.0, longitude_deg=20.0,
                          epoch_utc="2026-01-01T00:00:00Z")
    track = TrackEvent(2.5, track_id=1, position_enu=(100.0, 0.0, 50.0), sensors=1)
    m = CotMapper(clock=lambda: 5e9)
    (msg,) = m.map([header, track])
    assert _attrs(msg.xml, "event")["time"] == "2026-01-01T00:00:02.500Z"
    assert msg.uid == "counterram.x_y.20260101T000000.track.1"
    clocked = CotMapper(clock=lambda: EPOCH_S + 100.0)
    (msg,) = clocked.map([StreamHeader(0.5, latitude_deg=10.0, longitude_deg=20.0), track])
    assert _attrs(msg.xml, "event")["time"] == iso_utc(EPOCH_S + 100.0 + 2.0)
    assert "opex" not in _attrs(msg.xml, "event")  # the plots were not simulated


def test_without_a_header_only_impacts_and_origins_are_placed() -> None:
    m = CotMapper(epoch_s=EPOCH_S)
    impact = ImpactPredicted(3.0, track_id=2, impact_en=(10.0, 10.0),
                             covariance_m2=((4.0, 0.0), (0.0, 1.0)), impact_time_s=20.0,
                             threat_class="rocket", latitude_deg=33.0, longitude_deg=44.0)
    got = m.map([TrackEvent(3.0, track_id=2), impact, WarningIssued(3.0, zone="z")])
    assert [x.kind for x in got] == ["impact_prediction"] and m.unplaced == 2
    assert float(_attrs(got[0].xml, "point")["ce"]) == pytest.approx(2.0)


def test_escaping_and_unknown_errors() -> None:
    m = CotMapper(epoch_s=EPOCH_S, uid_prefix="p")
    header = StreamHeader(0.0, latitude_deg=10.0, longitude_deg=20.0)
    (msg,) = m.map([header, TrackEvent(1.0, track_id=1, position_sigma_m=math.nan)])
    assert _attrs(msg.xml, "point")["ce"] == "9999999.0"
    (clear,) = m.map([AllClear(2.0, zone='a "zone" & <b>')])
    assert "&quot;" not in clear.uid and "&amp;" not in clear.xml.split("<detail>")[0]


# ---------------------------------------------------------------------------- the scenario epoch
def test_the_epoch_field_is_optional_validated_and_round_trips() -> None:
    base = dump_scenario(load_scenario("fob-mortar"))
    assert load_scenario("fob-mortar").epoch is None
    sc = load_text("epoch: 2026-03-01T09:00:00+03:00\n" + base)
    assert sc.epoch == "2026-03-01T06:00:00Z"
    assert epoch_seconds(sc.epoch) == pytest.approx(1_772_344_800.0)
    assert load_text(dump_scenario(sc)) == sc
    for bad, why in [("2026-03-01", "date without a time"), ("2026-03-01T09:00:00", "no zone"),
                     ("soon", "not an ISO 8601 time"), ("1960-01-01T00:00:00Z", "before 1970"),
                     ("5", "expected text")]:
        with pytest.raises(ScenarioError) as err:
            load_text(f"epoch: {bad}\n" + base, "s.yaml")
        text = str(err.value)
        assert "s.yaml:1: epoch:" in text and why in text, text


def test_a_run_with_an_epoch_writes_it_in_its_header() -> None:
    sc = two_firings().model_copy(update={"epoch": "2026-01-01T00:00:00Z"})
    header = stream_header(0.5, sc, {"seed": 1})
    assert header.epoch_utc == "2026-01-01T00:00:00Z" and header.simulated
