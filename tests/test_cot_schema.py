"""Every CoT event the sink writes validates against the package's schema (cot_event.xsd), and
takproto (TAK protocol 1) parses every one to the same uid, type, time and point."""

from __future__ import annotations

import json
import re
from importlib.resources import files

import pytest
import takproto
from lxml import etree

from counterram.events import EngagementOutcome
from counterram.sim import SimulationResult
from counterram.sinks.cot_map import CotMapper, CotMessage
from counterram.sinks.cot_xml import event_xml
from counterram.stream_header import stream_header


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    path = files("counterram.sinks").joinpath("schema/cot_event.xsd")
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture(scope="module")
def messages(small_run: SimulationResult) -> list[CotMessage]:
    header = stream_header(small_run.step_s, small_run.scenario,
                           json.loads(small_run.plots_header))
    mapper = CotMapper(epoch_s=1.8e9)
    out = mapper.map([header, *small_run.events])
    out += mapper.map([EngagementOutcome(150.0, gun="gun-north", track_id=9, killed=True,
                                         debris_enu=(10.0, 20.0, 300.0))])
    return out


def test_every_kind_is_made(messages) -> None:
    assert {m.kind for m in messages} == {"track", "impact_prediction", "origin_estimate",
                                          "warning", "all_clear", "engagement", "outcome"}
    types = {re.search(r'type="([^"]+)"', m.xml).group(1) for m in messages}
    assert {"a-h-A-W", "b-d-i", "b-d-i-m", "b-d-l", "b-d-l-m", "a-h-G-E-W-S", "a-h-G-E-W-O",
            "u-d-f", "t-x-d-d", "b-m-p-s-p-i"} <= types


def test_every_event_validates_against_the_schema(schema, messages) -> None:
    for m in messages:
        doc = etree.fromstring(m.xml.encode("utf-8"))
        assert schema.validate(doc), (schema.error_log.last_error, m.xml[:300])


@pytest.mark.parametrize("broken", [
    ('how="m-a" ', ""),                          # no how: TAK servers drop it
    (' ce="', ' cx="'),                         # no ce
    ('lat="', 'lat="1'),                        # latitude beyond 90
    ('version="2.0"', 'version="1.0"'),
    ('type="a-h-A-W"', 'type="A-h"'),
    ('<track course="', '<track course="4'),    # course ≥ 360
    ('time="', 'time="yesterday'),
])
def test_the_schema_refuses_a_broken_event(schema, broken) -> None:
    xml = event_xml(uid="u", cot_type="a-h-A-W", how="m-a", time_s=1.8e9, stale_s=1.8e9 + 5,
                    lat=80.123456789, lon=44.0, ce=3.0, le=3.0,
                    detail='<track course="12.00" speed="3.00"/>')
    assert schema.validate(etree.fromstring(xml.encode()))
    bad = xml.replace(*broken, 1)
    assert bad != xml
    assert not schema.validate(etree.fromstring(bad.encode()))


@pytest.mark.parametrize("version", [takproto.TAKProtoVer.STREAM, takproto.TAKProtoVer.MESH])
def test_takproto_parses_every_event(messages, version) -> None:
    for m in messages:
        msg = takproto.parse_proto(takproto.xml2proto(m.xml, version))
        assert msg is not None
        e = msg.cotEvent
        head = dict(re.findall(r'(\w+)="([^"]*)"', m.xml[: m.xml.index("<point")]))
        point = dict(re.findall(r'(\w+)="([^"]*)"', m.xml[m.xml.index("<point"):
                                                           m.xml.index("<detail>")]))
        assert (e.uid, e.type, e.how) == (m.uid, head["type"], head["how"])
        assert e.lat == pytest.approx(float(point["lat"]), abs=1e-9)
        assert e.lon == pytest.approx(float(point["lon"]), abs=1e-9)
        assert e.ce == pytest.approx(float(point["ce"]))
        assert e.sendTime == takproto.format_time(head["time"])
        assert e.staleTime >= e.sendTime
