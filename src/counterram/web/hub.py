"""The hub: one picture, many pages; the feed publishes steps, each page's stream reads them.

Why it exists: the feed (a simulation, a replay or the live engine) runs in its own thread and
must never wait for a browser; each page's server-sent event stream runs on the server's event
loop. The hub takes each step from the feed, applies it to the one :class:`Picture` and queues
it, serialised once, for every subscribed page. Subscribing takes the picture's snapshot and
joins the queue under one lock, so a page that connects late gets the current picture and then
every step after it, none twice (each message carries a sequence number). A page that cannot
keep up (:data:`QUEUE_LIMIT` messages behind) is sent a fresh snapshot instead of the backlog.

Messages (``type``): ``picture`` (the whole picture and the status: on connecting, after a seek,
after a resync), ``step`` (a step's events, the clock and the engine latency), ``status`` (mode,
speed, pause, run state, changed by the controls).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

from counterram.web.state import Picture

__all__ = ["QUEUE_LIMIT", "Hub", "Subscriber"]

QUEUE_LIMIT = 500
"""Messages a page may fall behind before it is resynchronised with a snapshot."""


def _dumps(message: dict[str, Any]) -> str:
    try:
        return json.dumps(message, separators=(",", ":"), allow_nan=False, default=_plain)
    except ValueError:  # a NaN or infinity somewhere: JSON has none, the page gets null
        return json.dumps(_finite(message), separators=(",", ":"), allow_nan=False,
                          default=_plain)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """NaN-free plain values for anything numpy (or an odd float) left in an event."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if f == f and abs(f) != float("inf") else None


class Subscriber:
    """One page's stream: a queue on the server's event loop, fed from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self.behind = False

    def push(self, seq: int, data: str) -> None:
        """Queue a message (thread-safe; drops to a resync when the page is far behind)."""
        def put() -> None:
            if self.queue.qsize() >= QUEUE_LIMIT:
                self.behind = True
                return
            self.queue.put_nowait((seq, data))

        with contextlib.suppress(RuntimeError):  # the loop has closed: the page is gone
            self.loop.call_soon_threadsafe(put)


class Hub:
    """The picture and its subscribers (module docstring). ``status`` is the feed's state that
    pages show (mode, speed, paused, run state, scenario); ``update_status`` changes it."""

    def __init__(self, status: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._picture = Picture()
        self._seq = 0
        self._subs: set[Subscriber] = set()
        self.status: dict[str, Any] = dict(status or {})
        self.latency_ms: float | None = None

    # ------------------------------------------------------------------ feed side
    def publish_step(self, time_s: float, events: Sequence[dict[str, Any]],
                     latency_ms: float | None = None) -> None:
        """A step's events (dicts, in order) at ``time_s``, to the picture and every page."""
        with self._lock:
            for e in events:
                self._picture.apply(e)
            self._picture.advance(time_s)
            if latency_ms is not None:
                self.latency_ms = latency_ms
            self._seq += 1
            data = _dumps({"type": "step", "seq": self._seq, "time_s": time_s,
                           "events": list(events), "latency_ms": latency_ms})
            self._broadcast(data)

    def reset(self, build: Callable[[Picture], None] | None = None, **status: Any) -> None:
        """Start a new picture (``build`` fills it, e.g. a replay up to its seek time), change
        the status, and send every page the new picture."""
        with self._lock:
            self._picture = Picture()
            if build is not None:
                build(self._picture)
            self.status.update(status)
            self._seq += 1
            self._broadcast(_dumps(self._picture_message()))

    def update_status(self, **status: Any) -> None:
        """Change the status pages show (speed, paused, run state) and tell them."""
        with self._lock:
            self.status.update(status)
            self._seq += 1
            self._broadcast(_dumps({"type": "status", "seq": self._seq,
                                    "status": dict(self.status)}))

    # ------------------------------------------------------------------ page side
    def subscribe(self, loop: asyncio.AbstractEventLoop) -> tuple[Subscriber, int, str]:
        """A new page's queue and its first message, the current picture, with its sequence
        number (taken atomically: the queue gets exactly the later messages)."""
        sub = Subscriber(loop)
        with self._lock:
            self._subs.add(sub)
            return sub, self._seq, _dumps(self._picture_message())

    def resync(self, sub: Subscriber) -> tuple[int, str]:
        """A fresh picture for a page that fell behind, with its sequence number; the backlog
        is dropped (messages still on their way carry older numbers and are skipped)."""
        with self._lock:
            while not sub.queue.empty():
                sub.queue.get_nowait()
            sub.behind = False
            return self._seq, _dumps(self._picture_message())

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a page whose stream has closed."""
        with self._lock:
            self._subs.discard(sub)

    def picture(self) -> dict[str, Any]:
        """The picture message now (``GET /api/picture``)."""
        with self._lock:
            return json.loads(_dumps(self._picture_message()))

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    # ------------------------------------------------------------------ inside the lock
    def _picture_message(self) -> dict[str, Any]:
        return {"type": "picture", "seq": self._seq, "picture": self._picture.snapshot(),
                "status": dict(self.status), "latency_ms": self.latency_ms}

    def _broadcast(self, data: str) -> None:
        for sub in self._subs:
            sub.push(self._seq, data)
