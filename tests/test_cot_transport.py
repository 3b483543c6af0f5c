"""Sending CoT: destination URLs; TCP to a local server (order, framing), its loss and return
(reconnection, the picture sent again, drops counted with a bounded queue); a send that never
waits; UDP datagrams; TLS with a client certificate; TAK protocol 1."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
import takproto

from conftest import CotServer, free_port, wait_until
from counterram.events import StreamHeader, TrackEvent
from counterram.run_record import RunRecord
from counterram.sinks.base import RunStart
from counterram.sinks.cot import CotSink
from counterram.sinks.cot_transport import TakUrlError, Transport, parse_tak_url
from counterram.sinks.cot_xml import event_xml

FAST = {"backoff_s": 0.02, "max_backoff_s": 0.2, "connect_timeout_s": 1.0, "send_timeout_s": 2.0}


def _event(i: int) -> bytes:
    return event_xml(uid=f"u{i}", cot_type="a-h-A-W", how="m-a", time_s=1.8e9 + i,
                     stale_s=1.8e9 + i + 5, lat=10.0, lon=20.0).encode()


def _uids(events: list[bytes]) -> list[str]:
    return [e.split(b'uid="', 1)[1].split(b'"', 1)[0].decode() for e in events]


# ------------------------------------------------------------------------------------ URLs
@pytest.mark.parametrize("url", ["tcp://127.0.0.1:8087", "udp://localhost:4242",
                                 "tls://tak.example:8089?insecure=1", "tcp://[::1]:8087",
                                 "udp://127.0.0.1:6969?protocol=tak"])
def test_good_urls(url: str) -> None:
    d = parse_tak_url(url)
    assert d.scheme == url.split(":")[0] and 0 < d.port < 65536


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:80", "unknown scheme 'http'"),
    ("127.0.0.1:8087", "scheme"),
    ("tcp://127.0.0.1", "no port"),
    ("tcp://:8087", "no host"),
    ("tcp://127.0.0.1:99999", "not a destination"),
    ("tcp://127.0.0.1:80x", "not a destination"),
    ("tcp://u:p@127.0.0.1:8087", "user or password"),
    ("tcp://127.0.0.1:8087/path", "nothing may follow"),
    ("tcp://127.0.0.1:8087?cert=x.pem", "unknown option 'cert' for tcp"),
    ("tls://127.0.0.1:8089?cert=/no/such.pem", "no such file"),
    ("tls://127.0.0.1:8089?insecure=maybe", "insecure"),
    ("udp://127.0.0.1:1?protocol=json", "protocol 'json'"),
    ("", "no scheme"),
])
def test_bad_urls_say_why(url: str, why: str) -> None:
    with pytest.raises(TakUrlError, match=why.replace("(", r"\(")):
        parse_tak_url(url)


# ------------------------------------------------------------------------------------ TCP
def test_tcp_delivers_every_event_in_order() -> None:
    server = CotServer().start()
    t = Transport(f"tcp://127.0.0.1:{server.port}", **FAST)
    t.start()
    try:
        for i in range(500):
            t.send(_event(i))
        stats = t.close(5.0)
        assert wait_until(lambda: len(server.received()) == 500, 5.0)
        assert _uids(server.received()) == [f"u{i}" for i in range(500)]
        assert (stats.sent, stats.dropped, stats.unsent, stats.connects) == (500, 0, 0, 1)
    finally:
        server.stop()


def test_send_never_waits_on_an_absent_server() -> None:
    t = Transport(f"tcp://127.0.0.1:{free_port()}", queue_size=100, **FAST)
    t.start()
    started = time.perf_counter()
    for i in range(20_000):
        t.send(_event(i % 50))
    elapsed = time.perf_counter() - started
    stats = t.close(0.2)
    assert elapsed < 1.0, elapsed  # ~1-3 µs a message
    assert stats.connects == 0 and stats.sent == 0
    assert stats.dropped == 20_000 - 100 and stats.unsent == 100
    assert "never connected" in stats.describe()


def test_the_server_lost_and_back_reconnects_resends_the_picture_and_counts_drops() -> None:
    server = CotServer().start()
    port = server.port
    sink = CotSink([f"tcp://127.0.0.1:{port}"], queue_size=30, epoch_s=1.8e9, uid_prefix="p",
                   clock=lambda: 1.8e9, transport=FAST)
    sink.open(RunStart("live", None, None))
    header = StreamHeader(0.0, latitude_deg=10.0, longitude_deg=20.0)

    def tracks(first: int, n: int) -> list[TrackEvent]:
        return [TrackEvent(float(k), track_id=k % 5, position_enu=(k, 0.0, 100.0))
                for k in range(first, first + n)]

    sink.write(0.0, [header, *tracks(0, 10)])
    transport = sink.transports[0]
    assert wait_until(lambda: len(server.received()) == 10, 5.0)
    server.stop()
    assert wait_until(lambda: not transport.connected.is_set(), 5.0)
    sink.write(10.0, tracks(10, 100))  # while it is away: 100 into a 30-message queue
    time.sleep(0.3)
    server = CotServer(port).start()
    assert wait_until(lambda: transport.connected.is_set(), 5.0)
    sink.write(110.0, tracks(110, 5))
    sink.close(RunRecord("live", None, None))
    stats = sink.stats[0]
    try:
        assert stats.connects == 2 and stats.reconnects == 1
        assert stats.dropped == 100 - 30 and stats.unsent == 0
        assert stats.resent == 5  # the five tracks on the map, sent first on reconnection
        assert wait_until(lambda: len(server.received()) == 5 + 30 + 5, 5.0)
        got = _uids(server.received())
        assert set(got[:5]) == {f"p.track.{i}" for i in range(5)}  # the picture first
        assert got[5:] == [f"p.track.{k % 5}" for k in [*range(80, 110), *range(110, 115)]]
        assert "70 dropped" in stats.describe() and "1 reconnections" in stats.describe()
    finally:
        server.stop()


# ------------------------------------------------------------------------------------ UDP
def test_udp_sends_one_event_per_datagram() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2.0)
        t = Transport(f"udp://127.0.0.1:{rx.getsockname()[1]}", **FAST)
        t.start()
        for i in range(20):
            t.send(_event(i))
        got = [rx.recv(65536) for _ in range(20)]
        stats = t.close(2.0)
    assert [g for g in got] == [_event(i) for i in range(20)]
    assert stats.sent == 20 and stats.dropped == 0


def test_tak_protocol_1_over_udp_is_mesh_protobuf() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2.0)
        t = Transport(f"udp://127.0.0.1:{rx.getsockname()[1]}?protocol=tak", **FAST)
        t.start()
        t.send(_event(7))
        data = rx.recv(65536)
        t.close(2.0)
    assert data[:3] == b"\xbf\x01\xbf"
    msg = takproto.parse_proto(bytearray(data))
    assert msg.cotEvent.uid == "u7" and msg.cotEvent.lat == pytest.approx(10.0)


# ------------------------------------------------------------------------------------ TLS
def test_tls_with_a_client_certificate(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1")
    client_cert = ca.issue_cert("counterram-client")
    ca_file, client_file = tmp_path / "ca.pem", tmp_path / "client.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(client_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED  # the server insists on a client certificate
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    received: list[bytes] = []
    peer: dict[str, object] = {}

    def serve() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            peer["cert"] = tls.getpeercert()
            while chunk := tls.recv(65536):
                received.append(chunk)

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    try:
        t = Transport(f"tls://127.0.0.1:{port}?cert={client_file}&ca={ca_file}", **FAST)
        t.start()
        for i in range(3):
            t.send(_event(i))
        assert wait_until(lambda: b"".join(received).count(b"</event>") == 3, 5.0), t.stats
        stats = t.close(2.0)
        worker.join(5.0)
    finally:
        listener.close()
    assert b"".join(received) == b"".join(_event(i) for i in range(3))
    assert stats.sent == 3 and stats.connects == 1
    subject = dict(x[0] for x in peer["cert"]["subject"])  # type: ignore[index]
    assert subject.get("organizationalUnitName") or peer["cert"]


def test_tls_refuses_a_server_it_cannot_verify() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:  # every attempt of the client's, until the listener closes
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                continue

    threading.Thread(target=serve, daemon=True).start()
    t = Transport(f"tls://127.0.0.1:{port}", **FAST)  # no ca=: the system's roots
    t.start()
    t.send(_event(1))
    time.sleep(0.3)
    stats = t.close(0.2)
    listener.close()
    assert stats.connects == 0 and stats.unsent == 1
    assert "CERTIFICATE" in stats.last_error.upper()
