"""The built-in plot sources: a JSON Lines file, stdin, and UDP datagrams on 127.0.0.1 (a file
named ``*.ast`` is read as ASTERIX, :mod:`counterram.sources.asterix`).

UDP: one JSON line (or several, newline-separated) per datagram, received on the loopback
address only; the stream ends after ``max_idle_s`` seconds without a datagram (before the first
one: after ``first_wait_s``, by default the same) or after ``max_datagrams``. The socket asks
for a 4 MiB receive buffer (best effort: the kernel caps it at ``net.core.rmem_max``) so that
datagrams arriving while the engine steps wait for it instead of being lost.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from counterram.sources.base import SourceError, register_source

__all__ = ["LOCALHOST", "RECEIVE_BUFFER_BYTES", "FileSource", "StdinSource", "UdpSource",
           "first_wait", "parse_udp_url", "timed_udp_datagrams", "udp_datagrams", "udp_lines"]

LOCALHOST = "127.0.0.1"

RECEIVE_BUFFER_BYTES = 4 << 20
"""SO_RCVBUF asked for: a few thousand plot datagrams, seconds of a feed at 10× speed."""


@dataclass(frozen=True)
class FileSource:
    """Plot lines from a JSON Lines file."""

    path: Path

    def describe(self) -> str:
        return str(self.path)

    def lines(self) -> Iterator[str]:
        with self.path.open(encoding="utf-8", errors="replace") as fp:
            yield from fp


@dataclass(frozen=True)
class StdinSource:
    """Plot lines from the standard input."""

    def describe(self) -> str:
        return "stdin"

    def lines(self) -> Iterator[str]:
        yield from sys.stdin


@dataclass(frozen=True)
class UdpSource:
    """Plot lines from UDP datagrams on 127.0.0.1:``port`` (module docstring)."""

    port: int
    max_idle_s: float = 5.0
    max_datagrams: int | None = None
    ready: Callable[[int], None] | None = None
    first_wait_s: float | None = None

    def describe(self) -> str:
        return f"udp://{LOCALHOST}:{self.port}"

    def lines(self) -> Iterator[str]:
        return udp_lines(self.port, max_idle_s=self.max_idle_s,
                         max_datagrams=self.max_datagrams, ready=self.ready,
                         first_wait_s=self.first_wait_s)

    def timed_lines(self) -> Iterator[tuple[float, str]]:
        """(monotonic receive time of its datagram, line): the wall-clock engine's input."""
        for arrival, data in timed_udp_datagrams(
                self.port, max_idle_s=self.max_idle_s, max_datagrams=self.max_datagrams,
                ready=self.ready, first_wait_s=self.first_wait_s):
            for line in data.decode("utf-8", errors="replace").splitlines():
                yield arrival, line


def parse_udp_url(url: str) -> int:
    """The port of ``udp://127.0.0.1:PORT``; anything else raises :class:`SourceError` (the
    engine listens on the loopback address only)."""
    rest = url[len("udp://"):]
    host, _, port = rest.rpartition(":")
    if host != LOCALHOST:
        raise SourceError(f"--plots {url!r}: the engine listens on {LOCALHOST} only "
                          f"(udp://{LOCALHOST}:PORT)")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SourceError(f"--plots {url!r}: the port must be a number in 1..65535")
    return int(port)


def udp_datagrams(
    port: int,
    *,
    max_idle_s: float = 5.0,
    max_datagrams: int | None = None,
    ready: Callable[[int], None] | None = None,
    first_wait_s: float | None = None,
) -> Iterator[bytes]:
    """UDP datagrams received on 127.0.0.1:``port`` (0: any free port, reported to
    ``ready(port)`` once bound); ends after ``max_idle_s`` without a datagram (``first_wait_s``
    before the first one: a receiver started before its sender), or after ``max_datagrams``."""
    for _, data in timed_udp_datagrams(port, max_idle_s=max_idle_s,
                                       max_datagrams=max_datagrams, ready=ready,
                                       first_wait_s=first_wait_s):
        yield data


def timed_udp_datagrams(
    port: int,
    *,
    max_idle_s: float = 5.0,
    max_datagrams: int | None = None,
    ready: Callable[[int], None] | None = None,
    first_wait_s: float | None = None,
) -> Iterator[tuple[float, bytes]]:
    """:func:`udp_datagrams` with each datagram's receive time (``time.monotonic`` just after
    the socket returned it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with contextlib.suppress(OSError):  # best effort (module docstring)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.bind((LOCALHOST, port))
        sock.settimeout(max_idle_s if first_wait_s is None else first_wait_s)
        if ready is not None:
            ready(sock.getsockname()[1])
        count = 0
        while max_datagrams is None or count < max_datagrams:
            try:
                data = sock.recv(65535)
            except TimeoutError:
                return
            arrival = time.monotonic()
            if count == 0:
                sock.settimeout(max_idle_s)
            count += 1
            yield arrival, data
    finally:
        sock.close()


def udp_lines(
    port: int,
    *,
    max_idle_s: float = 5.0,
    max_datagrams: int | None = None,
    ready: Callable[[int], None] | None = None,
    first_wait_s: float | None = None,
) -> Iterator[str]:
    """Lines received as UDP datagrams on 127.0.0.1:``port`` (:func:`udp_datagrams`)."""
    for data in udp_datagrams(port, max_idle_s=max_idle_s, max_datagrams=max_datagrams,
                              ready=ready, first_wait_s=first_wait_s):
        yield from data.decode("utf-8", errors="replace").splitlines()


def _file(spec: str, options: dict[str, Any]) -> Any:
    path = Path(spec)
    if not path.is_file():
        raise SourceError(f"--plots: no such file {spec!r} (a JSON Lines file, an ASTERIX "
                          f".ast file, - or udp://{LOCALHOST}:PORT)")
    if path.suffix.lower() == ".ast":  # ASTERIX: counterram.sources.asterix
        from counterram.sources.asterix import AsterixFileSource, decoder_from_options

        return AsterixFileSource(path, decoder_from_options(options))
    return FileSource(path)


def first_wait(options: dict[str, Any]) -> float | None:
    """The ``first_wait_s`` option as a float (None: as ``max_idle_s``)."""
    value = options.get("first_wait_s")
    return None if value is None else float(value)


def _udp(spec: str, options: dict[str, Any]) -> UdpSource:
    return UdpSource(parse_udp_url(spec), max_idle_s=float(options.get("max_idle_s", 5.0)),
                     max_datagrams=options.get("max_datagrams"), ready=options.get("ready"),
                     first_wait_s=first_wait(options))


register_source("file", _file)
register_source("stdin", lambda _spec, _options: StdinSource())
register_source("udp", _udp)
