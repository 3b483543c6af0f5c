"""Scenario time at a chosen speed: the clock of a replay and of a simulation shown as it runs.

Why it exists: a finished run's event log, or a simulation that computes faster than real time,
has to be shown at a pace a person can follow — 1× to 50× the wall clock, paused, or moved to
another moment. :class:`SimClock` is that clock (thread-safe); :class:`Replay` plays an event
log against it into the hub, in steps of at most :data:`TICK_S` of wall time, and rebuilds the
picture on a seek. The whole log is held in memory (a run's log is megabytes; a days-long live
log is better cut with ``counterram replay --start/--end`` first).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from counterram.events import SCHEMA_VERSION
from counterram.sinks.jsonl import EventLogError, iter_event_dicts
from counterram.web.hub import Hub
from counterram.web.state import Picture

__all__ = ["MAX_SPEED", "MIN_SPEED", "TICK_S", "Replay", "SimClock", "load_log"]

MIN_SPEED = 1.0
MAX_SPEED = 50.0
TICK_S = 0.03
"""Wall time between a replay's steps: ~33 drawn updates per second at most."""


class SimClock:
    """Scenario time that runs at ``speed`` × the wall clock unless paused; ``seek`` sets it."""

    def __init__(self, start_s: float = 0.0, speed: float = 1.0, paused: bool = False,
                 wall: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._anchor_sim = float(start_s)
        self._anchor_wall = wall()
        self._speed = float(speed)
        self._paused = bool(paused)

    def now(self) -> float:
        """Scenario time now."""
        with self._lock:
            return self._now()

    def _now(self) -> float:
        if self._paused:
            return self._anchor_sim
        return self._anchor_sim + (self._wall() - self._anchor_wall) * self._speed

    def _rebase(self, sim_s: float) -> None:
        self._anchor_sim, self._anchor_wall = sim_s, self._wall()

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def set_speed(self, speed: float) -> None:
        """Run at ``speed`` × the wall clock from now on."""
        with self._lock:
            self._rebase(self._now())
            self._speed = float(speed)

    def set_paused(self, paused: bool) -> None:
        """Stop (or restart) the clock where it is."""
        with self._lock:
            self._rebase(self._now())
            self._paused = bool(paused)

    def seek(self, sim_s: float) -> None:
        """Move the clock to ``sim_s`` (paused or not, as it was)."""
        with self._lock:
            self._rebase(float(sim_s))


def load_log(path: Path) -> list[dict[str, Any]]:
    """A replayable event log: every event with a finite ``time_s``, in file order. Raises
    :class:`EventLogError` (with the file and line) on a line that is not an event, or on a log
    of a newer schema than this reader's."""
    out = []
    for e in iter_event_dicts(path):
        version = e.get("schema_version", SCHEMA_VERSION)
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise EventLogError(f"{path}: schema_version {version} is newer than this "
                                f"counterram reads ({SCHEMA_VERSION}); upgrade counterram")
        t = e.get("time_s")
        if isinstance(t, int | float) and not isinstance(t, bool) and t == t \
                and abs(t) != float("inf"):
            out.append(e)
    return out


class Replay:
    """Plays ``events`` (from :func:`load_log`) into ``hub`` on ``clock`` in a thread."""

    def __init__(self, events: list[dict[str, Any]], hub: Hub, clock: SimClock,
                 *, tick_s: float = TICK_S, latency_ms: float | None = None) -> None:
        self.events = events
        self.hub = hub
        self.clock = clock
        self.tick_s = tick_s
        self.latency_ms = latency_ms
        # the log's clock, made non-decreasing (a step's truth events carry their own times)
        self._gate: list[float] = []
        top = float("-inf")
        for e in events:
            top = max(top, float(e["time_s"]))
            self._gate.append(top)
        self.start_s = self._gate[0] if self._gate else 0.0
        self.end_s = self._gate[-1] if self._gate else 0.0
        self._next = 0
        self._last_t: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ controls
    def seek(self, time_s: float) -> float:
        """Show the picture as it stood at ``time_s`` (clamped to the log's span); returns the
        time sought."""
        t = min(max(float(time_s), self.start_s), self.end_s)
        with self._lock:
            self.clock.seek(t)
            upto = bisect.bisect_right(self._gate, t)

            def build(picture: Picture) -> None:
                for e in self.events[:upto]:
                    picture.apply(e)
                picture.advance(t)

            self._next, self._last_t = upto, t
            self.hub.reset(build, state=self._state(t), time_s=t)
        return t

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            self.clock.set_paused(paused)
            self.hub.update_status(paused=self.clock.paused)

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self.clock.set_speed(speed)
            self.hub.update_status(speed=self.clock.speed)

    # ------------------------------------------------------------------ running
    def start(self) -> None:
        """Begin playing (in a daemon thread) from the clock's time."""
        self.seek(self.clock.now())
        self._thread = threading.Thread(target=self._run, name="counterram-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _state(self, t: float) -> str:
        return "ended" if t >= self.end_s else "running"

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            self.tick()

    def tick(self) -> None:
        """Publish the events whose time the clock has passed (one step); at the log's end
        the clock stops there."""
        with self._lock:
            if self.clock.paused:
                return
            t = self.clock.now()
            if t >= self.end_s:
                t = self.end_s
                self.clock.seek(t)
            if t == self._last_t:
                return
            upto = bisect.bisect_right(self._gate, t)
            batch = self.events[self._next:upto]
            self._next, self._last_t = upto, t
            self.hub.publish_step(t, batch, self.latency_ms)
            state = self._state(t)
            if self.hub.status.get("state") != state:
                self.hub.update_status(state=state)
