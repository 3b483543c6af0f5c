"""A paced radar stream sender: simulated plots as UDP datagrams to 127.0.0.1, one plot per
datagram, each sent at its report time scaled by a speed factor.

Why it exists: a live engine has to be tried on a live feed — plots arriving one by one on the
wall clock, some of them lost — before it meets a radar. ``counterram plots SCENARIO --send
udp://127.0.0.1:PORT`` turns a scenario's simulated plots into such a feed, as ASTERIX CAT 048
data blocks (:class:`~counterram.sensors.asterix.AsterixEncoder`) or as JSON Lines
(docs/plots.md; the header line first and again every few seconds, so that a receiver started
late still learns the sensors).

Pacing: datagram *i* leaves at ``start + (t_i − t_0) / speed`` on the monotonic clock, ``t_i``
its plot's report time. A sender that falls behind (a slow machine) sends at once and catches
up; ``late_max_s`` says by how much it fell behind. ``speed = 0`` sends as fast as the
loopback allows, pausing briefly after every few datagrams so that a receiver reading them is
not overrun. Dropping is drawn from the seed: the same seed drops the same plots.
"""

from __future__ import annotations

import contextlib
import math
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from counterram.sensors.asterix import AsterixEncoder
from counterram.sensors.plotio import header_line, plot_lines
from counterram.sensors.plots import PlotBatch, PlotTruth, SensorInfo
from counterram.sources.streams import LOCALHOST

__all__ = [
    "FORMATS",
    "Datagram",
    "SendError",
    "SendStats",
    "asterix_datagrams",
    "check_options",
    "drop_mask",
    "jsonl_datagrams",
    "parse_send_url",
    "send_datagrams",
]

FORMATS = ("asterix", "jsonl")
"""The formats ``--format`` allows."""

HEADER_EVERY_S = 2.0
"""JSON Lines: the header is sent again after this many seconds of wall time."""

BURST = 16
BURST_PAUSE_S = 0.001
"""``speed = 0``: a pause of ``BURST_PAUSE_S`` after every ``BURST`` datagrams (at most
~16,000 datagrams a second: a receiver that only reads keeps up)."""

SEND_BUFFER_BYTES = 1 << 20

DROP_SPAWN_KEY = 7
"""The drop stream is ``SeedSequence(seed, spawn_key=(7,))``: independent of the streams the
simulation draws from the same seed."""


class SendError(ValueError):
    """A send option that cannot be used (the message names the option and what is allowed)."""


@dataclass(frozen=True)
class Datagram:
    """One datagram to send: its scenario time (the plot's report time) and its bytes."""

    time_s: float
    data: bytes


@dataclass
class SendStats:
    """What a send did."""

    sent: int = 0
    """Plot datagrams sent."""
    dropped: int = 0
    """Plot datagrams dropped on purpose (``drop``)."""
    headers: int = 0
    """Header datagrams sent (JSON Lines)."""
    errors: int = 0
    """Datagrams the socket refused (e.g. no receiver: ECONNREFUSED on loopback)."""
    wall_s: float = 0.0
    """Wall time from the first datagram to the last."""
    late_max_s: float = 0.0
    """Most a datagram left after its scheduled wall time."""
    stream_s: float = 0.0
    """Scenario time the datagrams span."""

    @property
    def rate(self) -> float:
        """Datagrams (plots and headers) sent per second of wall time."""
        return (self.sent + self.headers) / self.wall_s if self.wall_s > 0 else math.nan


def parse_send_url(url: str) -> int:
    """The port of ``udp://127.0.0.1:PORT``; anything else raises :class:`SendError` (the sender
    sends to the loopback address only)."""
    if not url.startswith("udp://"):
        raise SendError(f"--send {url!r}: expected udp://{LOCALHOST}:PORT")
    host, _, port = url[len("udp://"):].rpartition(":")
    if host != LOCALHOST:
        raise SendError(f"--send {url!r}: plots are sent to {LOCALHOST} only "
                        f"(udp://{LOCALHOST}:PORT)")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SendError(f"--send {url!r}: the port must be a number in 1..65535")
    return int(port)


def check_options(fmt: str, speed: float, drop: float) -> None:
    """Raise :class:`SendError` for a format, speed or drop fraction that cannot be used."""
    if fmt not in FORMATS:
        raise SendError(f"--format {fmt!r}: allowed: {', '.join(FORMATS)}")
    if not (math.isfinite(speed) and speed >= 0):
        raise SendError(f"--speed {speed}: must be a finite number ≥ 0 (1 = real time, "
                        "10 = ten times faster, 0 = as fast as possible)")
    if not (math.isfinite(drop) and 0 <= drop < 1):
        raise SendError(f"--drop {drop}: must be a fraction in [0, 1)")


def _order(plots: PlotBatch) -> np.ndarray:
    """Send order: by report time, then measurement time (a plot reported earlier never
    arrives after one reported later)."""
    return np.lexsort((plots.time_s, plots.report_time_s))


def asterix_datagrams(
    plots: PlotBatch, sensors: Sequence[SensorInfo], *, tod_offset_s: float = 0.0
) -> tuple[list[Datagram], AsterixEncoder]:
    """One CAT 048 data block per plot that can be encoded, in send order; the encoder counts
    the plots left out (``skipped``)."""
    encoder = AsterixEncoder(sensors, tod_offset_s=tod_offset_s)
    order = _order(plots)
    cols = [np.asarray(c)[order].tolist() for c in (
        plots.time_s, plots.sensor_id, plots.range_m, plots.azimuth_rad, plots.elevation_rad,
        plots.radial_velocity_mps, plots.snr_db)]
    report = np.asarray(plots.report_time_s)[order].tolist()
    out = []
    for rep, values in zip(report, zip(*cols, strict=True), strict=True):
        data = encoder.block(*values)
        if data is not None:
            out.append(Datagram(rep, data))
    return out, encoder


def jsonl_datagrams(
    plots: PlotBatch,
    sensors: Sequence[SensorInfo],
    truth: PlotTruth | None = None,
    **meta: object,
) -> tuple[bytes, list[Datagram]]:
    """The header line and one plot line per plot (send order), as datagram bytes; each line
    carries ``seq``, its place in the send order (0, 1, …), so that a receiver counts the
    datagrams it never got (docs/plots.md)."""
    order = _order(plots)
    batch = plots.take(order)
    labels = None if truth is None else PlotTruth(np.asarray(truth.round_id)[order])
    report = np.asarray(batch.report_time_s).tolist()
    lines = plot_lines(batch, sensors, labels)
    out = [Datagram(t, _with_seq(line, i).encode("utf-8"))
           for i, (t, line) in enumerate(zip(report, lines, strict=True))]
    return header_line(sensors, **meta).encode("utf-8"), out


def _with_seq(line: str, seq: int) -> str:
    """A plot line (a JSON object) with ``"seq": seq`` as its last key."""
    text = line.rstrip()
    return f'{text[:-1]},"seq":{seq}}}'


def drop_mask(n: int, fraction: float, seed: int) -> np.ndarray:
    """Which of ``n`` datagrams to drop: each with probability ``fraction``, drawn from
    ``SeedSequence(seed, spawn_key=(DROP_SPAWN_KEY,))``."""
    if fraction <= 0 or n == 0:
        return np.zeros(n, dtype=bool)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DROP_SPAWN_KEY,)))
    return rng.random(n) < fraction


def send_datagrams(
    datagrams: Sequence[Datagram],
    port: int,
    *,
    speed: float = 1.0,
    drop: np.ndarray | None = None,
    header: bytes | None = None,
    header_every_s: float = HEADER_EVERY_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int], None] | None = None,
) -> SendStats:
    """Send ``datagrams`` to 127.0.0.1:``port`` paced by ``speed`` (module docstring); ``drop``
    (bool per datagram) leaves some out, ``header`` goes first and again every
    ``header_every_s`` of wall time; ``progress(i)`` after each datagram."""
    stats = SendStats()
    if not datagrams:
        return stats
    drop = np.zeros(len(datagrams), bool) if drop is None else np.asarray(drop, bool)
    t0 = datagrams[0].time_s
    stats.stream_s = datagrams[-1].time_s - t0
    address = (LOCALHOST, port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        # best effort: a smaller buffer only makes the sender block sooner
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)

        def send(data: bytes) -> bool:
            try:
                sock.sendto(data, address)
            except OSError:  # nobody listening yet (ICMP port unreachable) or buffer full
                stats.errors += 1
                return False
            return True

        start = clock()
        next_header = start
        for i, dgram in enumerate(datagrams):
            if speed > 0:
                due = start + (dgram.time_s - t0) / speed
                wait = due - clock()
                if wait > 0:
                    sleep(wait)
                else:
                    stats.late_max_s = max(stats.late_max_s, -wait)
            elif i and i % BURST == 0:
                sleep(BURST_PAUSE_S)
            if header is not None and clock() >= next_header:
                if send(header):
                    stats.headers += 1
                next_header = clock() + header_every_s
            if drop[i]:
                stats.dropped += 1
            elif send(dgram.data):
                stats.sent += 1
            if progress is not None:
                progress(i)
        stats.wall_s = clock() - start
    return stats
