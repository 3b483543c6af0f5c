"""A run fed to a real TAK server (taky on 127.0.0.1): a second client receives, for every round,
its track, impact and origin events and the zone warnings and all-clears, where the event log
puts them; the server killed mid-run and restarted: the run finishes, the sink reconnects and
counts what it dropped, and the engine is never held up."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from conftest import CotClient, Taky, time_limit, two_firings, wait_until
from counterram.driver import RunDriver
from counterram.events import Event
from counterram.geo import Site
from counterram.metrics.matching import match_tracks
from counterram.scenario import load_scenario
from counterram.scenario.schema import epoch_seconds
from counterram.sinks import make_sinks
from counterram.sinks.base import Sink
from counterram.sinks.cot import CotSink
from counterram.sinks.cot_xml import iso_utc
from counterram.sinks.jsonl import read_events
from counterram.world.storage import read_truth

pytestmark = pytest.mark.slow

EPOCH = "2026-03-01T06:00:00Z"
PREFIX = "it"
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


def _parse(xml: bytes) -> dict[str, object]:
    """uid, type, time and the point of a relayed event, and the uid a t-x-d-d removes."""
    head = xml[: xml.index(b">")]
    attrs = {k.decode(): v.decode() for k, v in _ATTR.findall(head)}
    point = xml[xml.index(b"<point"):]
    point = point[: point.index(b"/>")]
    attrs.update({k.decode(): v.decode() for k, v in _ATTR.findall(point)})
    link = re.search(rb'<link uid="([^"]+)" relation="none"', xml)
    attrs["removes"] = link.group(1).decode() if link else ""
    return attrs


def _by_uid_time(received: Sequence[bytes]) -> dict[tuple[str, str], dict[str, object]]:
    out = {}
    for xml in received:
        e = _parse(xml)
        if str(e["uid"]).startswith(PREFIX + "."):
            out[(str(e["uid"]), str(e["time"]))] = e
    return out


def _enu(site: Site, e: dict[str, object]) -> np.ndarray:
    east, north, up = site.to_site(float(e["lat"]), float(e["lon"]), float(e["hae"]))
    return np.array([float(east), float(north), float(up)])


@pytest.fixture(scope="module")
def fed_run(tmp_path_factory) -> tuple[Path, list[bytes], CotSink, Site]:
    """fob-mortar (epoch set) run with the CoT sink to taky, a second taky client listening."""
    folder = tmp_path_factory.mktemp("taky")
    server = Taky(folder).start()
    client = CotClient(server.port)
    try:
        assert wait_until(lambda: client.connections == 1, 10.0)
        sc = load_scenario("fob-mortar").model_copy(update={"epoch": EPOCH})
        sink = CotSink([f"tcp://127.0.0.1:{server.port}"], uid_prefix=PREFIX)
        out = folder / "run"
        with time_limit(180.0):
            RunDriver([*make_sinks(["events"]), sink], out).simulate(sc)
        sent = sink.stats[0].sent
        assert wait_until(lambda: len([x for x in client.received() if b'uid="it.' in x])
                          >= sent, 20.0, 0.1)
        time.sleep(0.3)  # anything late
        received = client.received()
    finally:
        client.close()
        server.kill()
    o = sc.origin
    return out, received, sink, Site(o.latitude_deg, o.longitude_deg, o.altitude_m)


def test_every_round_its_track_impact_origin_warnings_and_all_clears_reach_a_tak_client(
    fed_run,
) -> None:
    out, received, sink, site = fed_run
    stats = sink.stats[0]
    assert stats.connects == 1 and stats.dropped == 0 and stats.unsent == 0
    ours = [x for x in received if f'uid="{PREFIX}.'.encode() in x[:200]]
    assert len(ours) == stats.sent  # taky relayed every one (none without how or ce/le)
    got = _by_uid_time(ours)
    events = read_events(out / "events.jsonl")
    assert events[0].kind == "header" and events[0].epoch_utc == EPOCH
    epoch = epoch_seconds(EPOCH)

    def relayed(uid: str, time_s: float) -> dict[str, object]:
        key = (uid, iso_utc(epoch + time_s))
        assert key in got, f"{key} not received"
        return got[key]

    checked = {"track": 0, "impact_prediction": 0, "origin_estimate": 0, "warning": 0,
               "all_clear": 0}
    for e in events:
        if e.truth:
            continue
        if e.kind == "track" and e.status == "confirmed":
            r = relayed(f"{PREFIX}.track.{e.track_id}", e.time_s)
            assert r["type"] == "a-h-A-W" and r["how"] == ("m-f" if e.sensors >= 2 else "m-a")
            assert np.linalg.norm(_enu(site, r) - np.array(e.position_enu)) < 1.0
        elif e.kind == "track":  # deleted: removed from the map
            r = relayed(f"{PREFIX}.track.{e.track_id}.delete.{round(e.time_s * 1000)}",
                        e.time_s)
            assert r["type"] == "t-x-d-d" and r["removes"] == f"{PREFIX}.track.{e.track_id}"
        elif e.kind == "impact_prediction":
            r = relayed(f"{PREFIX}.impact.{e.track_id}", e.time_s)
            assert r["type"] == "b-d-i-m"  # fob-mortar: mortars only
            assert np.linalg.norm(_enu(site, r)[:2] - np.array(e.impact_en)) < 1.0
            sigma = math.sqrt(max(np.linalg.eigvalsh(np.array(e.covariance_m2))))
            assert float(r["ce"]) == pytest.approx(sigma, abs=0.06)
        elif e.kind == "origin_estimate":
            r = relayed(f"{PREFIX}.origin.{e.track_id}", e.time_s)
            assert r["type"] == "b-d-l-m"
            assert np.linalg.norm(_enu(site, r)[:2] - np.array(e.origin_en)) < 1.0
            launcher = relayed(f"{PREFIX}.launcher.{e.track_id}", e.time_s)
            assert launcher["type"] == "a-h-G-E-W-O"
        elif e.kind == "warning":
            r = relayed(f"{PREFIX}.zone.{e.zone}", e.time_s)
            assert r["type"] in ("u-d-f", "u-d-c-e")
            stale = iso_utc(epoch + e.predicted_impact_time_s + 30.0)
            assert r["stale"] == stale
        elif e.kind == "all_clear":
            r = relayed(f"{PREFIX}.zone.{e.zone}.delete.{round(e.time_s * 1000)}", e.time_s)
            assert r["type"] == "t-x-d-d" and r["removes"] == f"{PREFIX}.zone.{e.zone}"
        else:
            continue
        checked[e.kind] += 1
    assert min(checked.values()) > 0, checked
    # every round: a track the matcher gives it, its impact and origin points relayed
    truth = read_truth(out / "truth.parquet")
    tracks = [e for e in events if e.kind == "track"]
    matched = match_tracks(truth, tracks)
    assert len(truth) == 21 and set(matched.values()) == set(range(len(truth)))
    for kind in ("track", "impact", "origin"):
        relayed_ids = {int(str(u).rsplit(".", 1)[1]) for u, _ in got
                       if re.fullmatch(rf"{PREFIX}\.{kind}\.\d+", str(u))}
        assert set(matched) <= relayed_ids, kind


class _Outage(Sink):
    """Kills the TAK server at ``down_s`` (scenario time) and starts it again at ``up_s``."""

    def __init__(self, server: Taky, down_s: float, up_s: float) -> None:
        self.server, self.down_s, self.up_s = server, down_s, up_s
        self.state = "up"

    def write(self, now: float, events: Sequence[Event]) -> None:
        if self.state == "up" and now >= self.down_s:
            self.server.kill()
            self.state = "down"
        elif self.state == "down" and now >= self.up_s:
            self.server.start()
            self.state = "back"


class _Timed(CotSink):
    """The CoT sink, timing its own ``write`` calls (what the engine's loop waits for)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.write_s: list[float] = []

    def write(self, now: float, events: Sequence[Event]) -> None:
        t0 = time.perf_counter()
        super().write(now, events)
        self.write_s.append(time.perf_counter() - t0)


def test_the_server_killed_mid_run_the_run_finishes_reconnects_and_counts_drops(
    tmp_path: Path,
) -> None:
    server = Taky(tmp_path).start()
    client = CotClient(server.port)
    try:
        sink = _Timed([f"tcp://127.0.0.1:{server.port}"], queue_size=20, uid_prefix=PREFIX,
                      transport={"backoff_s": 0.05, "max_backoff_s": 0.5})
        outage = _Outage(server, down_s=22.0, up_s=60.0)  # the rockets' flight, then the mortars'
        with time_limit(180.0):
            record = RunDriver([outage, sink], tmp_path / "run").simulate(two_firings(), seed=1)
        assert outage.state == "back" and record.summary is not None
        stats = sink.stats[0]
        assert stats.reconnects >= 1, stats
        assert stats.dropped > 0, stats  # a 20-message queue cannot hold 38 s of the run
        assert stats.unsent == 0 and stats.resent > 0
        assert record.summary["tak"][0]["dropped"] == stats.dropped
        # the engine never waited on the network: every write returned at once
        assert max(sink.write_s) < 0.05, max(sink.write_s)
        # after the restart the second client (reconnected) got the rest of the run
        assert wait_until(lambda: client.connections >= 2, 10.0)
        late = [e for e in record.events if e.time_s > 70.0 and (
            e.kind == "impact_prediction" or (e.kind == "track" and e.status == "confirmed"))]
        assert late
        last = max(e.time_s for e in late)

        def late_times() -> list[float]:
            found = re.findall(rb'<__counterram kind="(?:track|impact_prediction)" '
                               rb'time_s="([0-9.]+)"', b"".join(client.received()))
            return [float(t) for t in found if float(t) > 70.0]

        assert wait_until(lambda: max(late_times(), default=0.0) >= last, 10.0)
    finally:
        client.close()
        server.kill()
