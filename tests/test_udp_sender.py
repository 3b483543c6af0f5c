"""The paced UDP plot sender: each datagram at its scaled report time, drops drawn from the seed,
the header first and repeated, and options it cannot use refused with one line and exit code 2."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import asterix_sensors, random_plots
from counterram.cli import app
from counterram.sensors.asterix import AsterixDecoder
from counterram.sensors.plots import PlotBatch
from counterram.sources.streams import RECEIVE_BUFFER_BYTES, udp_datagrams
from counterram.sources.udp_sender import (
    Datagram,
    SendError,
    asterix_datagrams,
    check_options,
    drop_mask,
    jsonl_datagrams,
    parse_send_url,
    send_datagrams,
)


class FakeClock:
    """A clock that only moves when slept on: the pacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


@pytest.fixture()
def receiver():
    """A socket on 127.0.0.1 (any free port) and a function draining what it has received."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.5)

    def drain() -> list[bytes]:
        got = []
        while True:
            try:
                got.append(rx.recv(65535))
            except TimeoutError:
                return got

    yield rx.getsockname()[1], drain
    rx.close()


def test_pacing_follows_the_scaled_report_times(receiver) -> None:
    port, drain = receiver
    datagrams = [Datagram(t, f"{t}".encode()) for t in (10.0, 10.0, 12.0, 15.0, 30.0)]
    clock = FakeClock()
    stats = send_datagrams(datagrams, port, speed=10.0, clock=clock, sleep=clock.sleep)
    assert stats.sent == 5 and stats.dropped == 0 and stats.errors == 0
    assert clock.sleeps == pytest.approx([0.2, 0.3, 1.5])  # (t − 10 s) / 10 after the start
    assert stats.wall_s == pytest.approx(2.0) and stats.stream_s == 20.0
    assert drain() == [d.data for d in datagrams]


def test_speed_zero_pauses_only_between_bursts(receiver) -> None:
    port, drain = receiver
    datagrams = [Datagram(float(i), b"x") for i in range(100)]
    clock = FakeClock()
    send_datagrams(datagrams, port, speed=0.0, clock=clock, sleep=clock.sleep)
    assert len(clock.sleeps) == 6  # after datagrams 16, 32, …, 96
    assert len(drain()) == 100


def test_drops_are_drawn_from_the_seed(receiver) -> None:
    port, drain = receiver
    a, b, c = drop_mask(2000, 0.1, 5), drop_mask(2000, 0.1, 5), drop_mask(2000, 0.1, 6)
    assert (a == b).all() and not (a == c).all()
    assert 150 < a.sum() < 250
    assert not drop_mask(50, 0.0, 5).any()
    datagrams = [Datagram(0.0, str(i).encode()) for i in range(200)]
    mask = drop_mask(200, 0.1, 5)
    stats = send_datagrams(datagrams, port, speed=0.0, drop=mask)
    assert stats.dropped == mask.sum() and stats.sent == 200 - mask.sum()
    assert drain() == [str(i).encode() for i in range(200) if not mask[i]]


def test_jsonl_header_goes_first_and_again(receiver) -> None:
    port, drain = receiver
    datagrams = [Datagram(float(t), b"plot") for t in range(0, 10)]
    clock = FakeClock()
    stats = send_datagrams(datagrams, port, speed=1.0, header=b"HEAD", header_every_s=3.0,
                           clock=clock, sleep=clock.sleep)
    got = drain()
    assert got[0] == b"HEAD" and stats.headers == got.count(b"HEAD") == 4  # at 0, 3, 6, 9 s
    assert got.count(b"plot") == 10


def test_datagrams_in_report_order_decode_to_the_plots() -> None:
    infos = asterix_sensors()
    plots = random_plots(300)
    latency = np.where(np.arange(len(plots)) % 3 == 0, 2.0, 0.5)  # report order ≠ time order
    batch = PlotBatch(plots.time_s, plots.sensor_id, plots.range_m, plots.azimuth_rad,
                      plots.elevation_rad, plots.radial_velocity_mps, plots.snr_db,
                      plots.time_s + latency)
    datagrams, encoder = asterix_datagrams(batch, infos)
    times = [d.time_s for d in datagrams]
    assert times == sorted(times) and len(datagrams) == len(batch) - encoder.total_skipped > 250
    decoder = AsterixDecoder(infos)
    assert all(isinstance(line, str) for d in datagrams for line in decoder.lines(d.data))
    header, lines = jsonl_datagrams(batch, infos, scenario="x")
    assert header.startswith(b'{"format":"counterram-plots"') and len(lines) == len(batch)
    assert [d.time_s for d in lines] == sorted(batch.report_time_s.tolist())
    assert [json.loads(d.data)["report_t"] for d in lines] == pytest.approx(
        sorted(batch.report_time_s.tolist()), abs=1e-6)


def test_receive_buffer_is_asked_for() -> None:
    bound: list[int] = []
    stream = udp_datagrams(0, max_idle_s=0.05, first_wait_s=0.05, ready=bound.append)
    assert list(stream) == [] and bound  # bound, then ended after the first wait
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        # the kernel caps it (net.core.rmem_max); asking must never fail
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) > 0


@pytest.mark.parametrize(("url", "message"), [
    ("udp://10.1.2.3:9000", "127.0.0.1 only"),
    ("tcp://127.0.0.1:9000", "expected udp://127.0.0.1:PORT"),
    ("udp://127.0.0.1:0", "1..65535"),
    ("udp://127.0.0.1:x", "1..65535"),
])
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(SendError, match=message):
        parse_send_url(url)


@pytest.mark.parametrize(("args", "message"), [
    (("asterix", -1.0, 0.0), "--speed"),
    (("asterix", float("inf"), 0.0), "--speed"),
    (("asterix", 1.0, 1.0), "--drop"),
    (("asterix", 1.0, float("nan")), "--drop"),
    (("xml", 1.0, 0.0), "allowed: asterix, jsonl"),
])
def test_bad_values(args: tuple, message: str) -> None:
    with pytest.raises(SendError, match=message):
        check_options(*args)


@pytest.mark.parametrize(("extra", "message"), [
    (["--send", "udp://192.168.1.1:9"], "--send"),
    (["--send", "udp://127.0.0.1:9", "--format", "csv"], "--format"),
    (["--send", "udp://127.0.0.1:9", "--speed", "-2"], "--speed"),
    (["--send", "udp://127.0.0.1:9", "--drop", "1.5"], "--drop"),
    ([], "--out FILE or --send"),
])
def test_cli_refuses_with_one_line(extra: list[str], message: str) -> None:
    res = CliRunner().invoke(app, ["plots", "fob-mortar", *extra])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
