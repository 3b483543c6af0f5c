"""Sending Cursor-on-Target messages to a TAK server or client: TCP, TLS or UDP, never blocking.

Why it exists: a TAK server goes away (a restart, a network cut) and comes back; the engine must
not notice. Each destination has a :class:`Transport`: :meth:`Transport.send` only appends to a
bounded queue (a few microseconds, never waits on the network) and a background thread does
the rest — connects, sends, reconnects with exponential backoff, and while disconnected lets
the queue fill up to its bound, dropping the oldest messages (a map wants the newest state)
and counting them. On reconnection the thread first sends the current picture (the latest
message of every object still on the map, given by ``resync``), so a restarted server shows
the tracks, points and warned zones again without waiting for their next update.

Destinations are URLs (:func:`parse_tak_url`): ``tcp://HOST:PORT`` (a TAK server's plain input,
events back to back, each ending with ``</event>``), ``tls://HOST:PORT`` (the same over TLS,
with ``cert``/``key``/``ca`` files and ``insecure=1`` in the query; a key's password from
``COUNTERRAM_TAK_KEY_PASSWORD``), ``udp://HOST:PORT`` (one event per datagram, as ATAK's
network input or mesh takes them). ``protocol=tak`` sends TAK protocol version 1 (protobuf,
through the optional ``takproto`` package: ``pip install 'counterram[tak]'``) instead of XML.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "ALLOWED_FORMS",
    "TakDestination",
    "TakUrlError",
    "Transport",
    "TransportStats",
    "parse_tak_url",
]

ALLOWED_FORMS = ("tcp://HOST:PORT, udp://HOST:PORT, tls://HOST:PORT (tls: ?cert=FILE&key=FILE"
                 "&ca=FILE&insecure=1; any: ?protocol=xml|tak)")
"""The destination forms, for error messages."""

KEY_PASSWORD_ENV = "COUNTERRAM_TAK_KEY_PASSWORD"
NEVER_CONNECTED_FLUSH_S = 1.0
"""How long the end of a run waits on a destination that never answered (s)."""
_QUERY = {"tcp": {"protocol"}, "udp": {"protocol"},
          "tls": {"protocol", "cert", "key", "ca", "insecure"}}
_MAX_DATAGRAM = 65_507
_BATCH_BYTES = 256 * 1024


class TakUrlError(ValueError):
    """A destination that is not one of :data:`ALLOWED_FORMS` (the message says why)."""


@dataclass(frozen=True)
class TakDestination:
    """A parsed destination (:func:`parse_tak_url`)."""

    text: str
    scheme: str
    host: str
    port: int
    protocol: str = "xml"
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    insecure: bool = False


def parse_tak_url(text: str) -> TakDestination:
    """``tcp://HOST:PORT``, ``udp://HOST:PORT`` or ``tls://HOST:PORT[?options]`` → a
    destination; anything else raises :class:`TakUrlError` saying what is wrong."""
    raw = str(text).strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise TakUrlError(f"not a destination ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _QUERY:
        what = f"unknown scheme {scheme!r}" if scheme else "no scheme"
        raise TakUrlError(what)
    if not parts.hostname:
        raise TakUrlError("no host")
    if port is None or port == 0:
        raise TakUrlError("no port (1-65535)")
    if parts.username is not None or parts.password is not None:
        raise TakUrlError("a user or password has no place in the address")
    if parts.path not in ("", "/") or parts.fragment:
        raise TakUrlError("nothing may follow HOST:PORT but ?options")
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key not in _QUERY[scheme]:
            allowed = ", ".join(sorted(_QUERY[scheme]))
            raise TakUrlError(f"unknown option {key!r} for {scheme} (allowed: {allowed})")
        options[key] = value
    protocol = options.get("protocol", "xml").lower()
    if protocol not in ("xml", "tak"):
        raise TakUrlError(f"protocol {protocol!r}: allowed xml (CoT XML) or tak (TAK protocol 1)")
    if protocol == "tak":
        try:
            import takproto  # noqa: F401
        except ImportError:
            raise TakUrlError("protocol=tak needs the takproto package: "
                              "pip install 'counterram[tak]'") from None
    for name in ("cert", "key", "ca"):
        path = options.get(name)
        if path is not None and not Path(path).is_file():
            raise TakUrlError(f"{name}={path!r}: no such file")
    insecure = options.get("insecure", "0").lower()
    if insecure not in ("0", "1", "true", "false", "yes", "no"):
        raise TakUrlError(f"insecure={insecure!r}: allowed 1 or 0")
    if "key" in options and "cert" not in options:
        raise TakUrlError("key= needs cert= (the client certificate)")
    return TakDestination(
        text=raw, scheme=scheme, host=parts.hostname, port=port, protocol=protocol,
        cert=options.get("cert"), key=options.get("key"), ca=options.get("ca"),
        insecure=insecure in ("1", "true", "yes"),
    )


@dataclass
class TransportStats:
    """What a destination got: messages ``sent`` (handed to the network), ``dropped`` (pushed
    out of the full queue while the destination was away, or a datagram the network refused),
    ``unsent`` (still queued when the run ended and the flush time ran out), ``connects``
    (successful connections; more than one means it reconnected), ``resent`` (messages of the
    current picture sent again after a reconnection) and the ``last_error``."""

    destination: str
    sent: int = 0
    dropped: int = 0
    unsent: int = 0
    connects: int = 0
    resent: int = 0
    last_error: str = ""

    @property
    def reconnects(self) -> int:
        return max(self.connects - 1, 0)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reconnects": self.reconnects}

    def describe(self) -> str:
        """One line for the console."""
        text = (f"TAK {self.destination}: {self.sent:,} CoT events sent, {self.dropped:,} dropped"
                f", {self.unsent:,} unsent, {self.reconnects} reconnections")
        if self.connects == 0 and self.last_error:
            text += f" (never connected: {self.last_error})"
        elif self.last_error and (self.dropped or self.unsent):
            text += f" (last error: {self.last_error})"
        return text


class Transport:
    """One destination's queue and sending thread (module docstring).

    ``queue_size`` bounds the messages held while the destination is away; ``backoff_s`` is
    the first wait after a failed connection, doubled up to ``max_backoff_s``; ``resync()``
    gives the messages to send first after a reconnection.
    """

    def __init__(
        self,
        destination: TakDestination | str,
        *,
        queue_size: int = 10_000,
        backoff_s: float = 0.2,
        max_backoff_s: float = 10.0,
        connect_timeout_s: float = 3.0,
        send_timeout_s: float = 5.0,
        resync: Callable[[], Sequence[bytes]] | None = None,
    ) -> None:
        self.destination = destination if isinstance(destination, TakDestination) \
            else parse_tak_url(destination)
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.queue_size = int(queue_size)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.send_timeout_s = float(send_timeout_s)
        self.resync = resync
        self.stats = TransportStats(self.destination.text)
        self._encode = _encoder(self.destination)
        self._context = _tls_context(self.destination) if self.destination.scheme == "tls" \
            else None
        self._queue: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._deadline = float("inf")
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        """Set while connected (UDP: once the socket is open); tests wait on it."""

    # ------------------------------------------------------------------ the engine's side
    def start(self) -> None:
        """Start the sending thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"cot {self.destination.text}")
            self._thread.start()

    def send(self, payload: bytes) -> None:
        """Queue one message; never waits on the network. A full queue drops its oldest."""
        with self._cond:
            if len(self._queue) >= self.queue_size:
                self._queue.popleft()
                self.stats.dropped += 1
            self._queue.append(payload)
            self._cond.notify()

    def pending(self) -> int:
        """Messages queued and not yet sent."""
        with self._cond:
            return len(self._queue)

    def close(self, timeout_s: float = 5.0) -> TransportStats:
        """Send what is queued (for at most ``timeout_s``, reconnecting if need be; at most
        :data:`NEVER_CONNECTED_FLUSH_S` for a destination that never answered), stop the
        thread, and return the statistics; what is left is counted as unsent."""
        if self.stats.connects == 0:
            timeout_s = min(timeout_s, NEVER_CONNECTED_FLUSH_S)
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + max(timeout_s, 0.0)
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(timeout_s, 0.0) + self.connect_timeout_s
                              + self.send_timeout_s + 1.0)
        with self._cond:
            self.stats.unsent += len(self._queue)
            self._queue.clear()
        self._disconnect()
        return self.stats

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        delay = self.backoff_s
        while not self._done():
            if self._sock is None:
                try:
                    self._sock = self._connect()
                except (OSError, ssl.SSLError) as exc:
                    self.stats.last_error = _reason(exc)
                    self._wait(delay)
                    delay = min(delay * 2.0, self.max_backoff_s)
                    continue
                delay = self.backoff_s
                self.stats.connects += 1
                self.connected.set()
                if self.stats.connects > 1 and self.resync is not None:
                    self._requeue(list(self.resync()), resent=True)
            batch = self._take()
            if self.destination.scheme == "udp":
                self._send_datagrams(batch)
            elif not self._peer_alive():
                self._requeue(batch)
                self._disconnect("closed by the server")
            elif batch:
                try:
                    self._sock.sendall(b"".join(self._encode(p) for p in batch))
                except (OSError, ssl.SSLError) as exc:
                    self._requeue(batch)
                    self._disconnect(_reason(exc))
                else:
                    self.stats.sent += len(batch)
        self._disconnect()

    def _done(self) -> bool:
        with self._cond:
            if not self._closing:
                return False
            return not self._queue or time.monotonic() >= self._deadline

    def _wait(self, seconds: float) -> None:
        """Sleep ``seconds`` (less when closing and the deadline is nearer); close() wakes it."""
        with self._cond:
            if self._closing:
                seconds = min(seconds, max(self._deadline - time.monotonic(), 0.0))
            self._cond.wait(seconds)

    def _take(self) -> list[bytes]:
        """Up to ~256 kB of queued messages (waiting up to 0.2 s for one)."""
        with self._cond:
            if not self._queue and not self._closing:
                self._cond.wait(0.2)
            batch: list[bytes] = []
            size = 0
            while self._queue and size < _BATCH_BYTES:
                item = self._queue.popleft()
                batch.append(item)
                size += len(item)
            return batch

    def _requeue(self, batch: list[bytes], *, resent: bool = False) -> None:
        """Put messages at the head of the queue: a batch that failed (the bound holds: its
        oldest are dropped), or the current picture after a reconnection (beyond the bound:
        one message per object on the map)."""
        if not batch:
            return
        with self._cond:
            self._queue.extendleft(reversed(batch))
            if resent:
                self.stats.resent += len(batch)
                return
            while len(self._queue) > self.queue_size:
                self._queue.popleft()
                self.stats.dropped += 1

    def _connect(self) -> socket.socket:
        d = self.destination
        if d.scheme == "udp":
            family, kind, proto, _, addr = socket.getaddrinfo(
                d.host, d.port, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(family, kind, proto)
            sock.connect(addr)
            return sock
        raw = socket.create_connection((d.host, d.port), timeout=self.connect_timeout_s)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(self.send_timeout_s)
        if self._context is None:
            return raw
        try:
            return self._context.wrap_socket(raw, server_hostname=d.host)
        except BaseException:
            raw.close()
            raise

    def _peer_alive(self) -> bool:
        """Read (and discard) what the server sent us — a TAK server relays other clients'
        events — and tell whether it has closed the connection."""
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.settimeout(0.0)  # a TLS record may be only part of what select saw
            for _ in range(64):
                pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
                if not pending and not select.select([sock], [], [], 0)[0]:
                    return True
                try:
                    if not sock.recv(65536):
                        return False
                except (ssl.SSLWantReadError, BlockingIOError):
                    return True
        except (OSError, ValueError):
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(self.send_timeout_s)
        return True

    def _send_datagrams(self, batch: list[bytes]) -> None:
        sock = self._sock
        assert sock is not None
        for payload in batch:
            data = self._encode(payload)
            if len(data) > _MAX_DATAGRAM:
                self.stats.dropped += 1
                self.stats.last_error = f"a {len(data):,}-byte event does not fit a datagram"
                continue
            try:
                sock.send(data)
            except OSError as exc:  # e.g. refused: nothing listens there (the datagram is lost)
                self.stats.dropped += 1
                self.stats.last_error = _reason(exc)
            else:
                self.stats.sent += 1

    def _disconnect(self, reason: str = "") -> None:
        sock, self._sock = self._sock, None
        self.connected.clear()
        if reason:
            self.stats.last_error = reason
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:200]


def _encoder(d: TakDestination) -> Callable[[bytes], bytes]:
    """XML as it is, or TAK protocol 1 (stream framing on TCP/TLS, mesh on UDP)."""
    if d.protocol != "tak":
        return lambda payload: payload
    import takproto

    version = takproto.TAKProtoVer.MESH if d.scheme == "udp" else takproto.TAKProtoVer.STREAM

    def encode(payload: bytes) -> bytes:
        return bytes(takproto.xml2proto(payload.decode("utf-8"), version))

    return encode


def _tls_context(d: TakDestination) -> ssl.SSLContext:
    """The TLS client context: the server checked against ``ca`` (or the system's roots)
    unless ``insecure``; the client certificate when given."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=d.ca)
    if d.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if d.cert is not None:
        context.load_cert_chain(d.cert, d.key, password=os.environ.get(KEY_PASSWORD_ENV))
    return context
