"""The wall-clock engine: a live plot stream stepped on the monotonic clock, not on the plots.

Why it exists: stepped on the stream's own clock (:func:`counterram.driver.run_live`), an
engine whose radar falls silent stops stepping — no track coasts, no warning clears, no silent
sensor is noticed — and a plot that arrives late is used as if it had been on time. A radar
feed runs on the wall clock, and so must the engine that serves it.

Clock: the first accepted plot anchors stream time to the monotonic clock: at wall time ``w``
the stream clock reads ``r₀ + (w − a₀) · speed`` (``r₀`` that plot's report time, ``a₀`` its
arrival, ``speed`` the stream seconds per wall second: 1 for a radar, 10 for a simulated feed
sent at ten times real time). Steps lie on the grid ``now = k · step_s`` (the header's
``step_s`` when the stream has one, else the engine's; the first step is the first grid time
at or after ``r₀``) and step ``k`` runs ``hold_s`` of wall time (default
:data:`DEFAULT_HOLD_S`) after the stream clock reaches ``now``, whatever has arrived: plots
reported by ``now`` go into it, the others wait for their step. A silent stream
is stepped all the same (the health stage then calls the radar silent, tracks coast, zones
clear). A step that runs later than one step period (the engine fell behind: a salvo's step
took longer than the period) is followed by the grid step at or before the stream clock, the
steps between skipped (``steps_skipped``): the engine catches up instead of lagging for ever.

Late plots: a plot's lateness is the stream clock at its arrival minus its report time. Up to
``late_tolerance_s`` (stream seconds, default :data:`DEFAULT_LATE_TOLERANCE_S`) it is used —
in the next step if its own has run (the tracker takes plots measured up to its own late
tolerance, 2 s, before its clock); beyond, it is rejected and counted as ``late`` and reported
as a ``plot_rejected`` event at the next step.

Reading: the source is read on a thread of its own (:class:`PlotReader` included, stamping
each plot with its line's arrival: a UDP source's monotonic receive time, else the time the
line was read), so that a source that blocks — a socket with nothing to read, stdin — never
holds a step back. When the source ends (UDP: ``--max-idle-s`` without a datagram) the
buffered plots are used and the engine steps on, no longer paced, until no zone is warned (at
most ``drain_s`` of stream time), as the file-fed engine does.

Latency: every warning event carries ``plot_arrival_s``, the arrival of the latest-received
plot that updated one of its tracks (by this step), and ``latency_ms``, from that arrival to
the moment the step that issued the warning returned it; :class:`LiveResult` keeps every
warning's latency (``latency_p50_ms``, ``latency_p99_ms``) and its processing part, from the
later of that arrival and the step's start to the step's return (the rest is the wait for
the step: up to a step period plus ``hold_s``). docs/running.md defines them.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from counterram.engine import Engine
from counterram.events import Event, PlotRejected, WarningIssued
from counterram.run_record import LiveResult
from counterram.sensors.plotio import Plot, PlotReader
from counterram.sources.base import PlotSource

__all__ = ["DEFAULT_LATE_TOLERANCE_S", "RealtimeOptions", "run_realtime"]

DEFAULT_LATE_TOLERANCE_S = 1.0
"""Stream seconds a plot may arrive after its report time and still be used: two steps of
the built-in scenarios' 0.5 s, half the tracker's own late tolerance."""


DEFAULT_HOLD_S = 0.02
"""Wall seconds a step waits past its due time for plots still in transit or being decoded
(an ASTERIX record takes ~1 ms): without it a plot reported just before a step's time misses
the step (measured: 10× ASTERIX feeds then warned up to 3 s away from the file-fed engine;
with 20 ms, at the same stream times)."""


@dataclass(frozen=True)
class RealtimeOptions:
    """``speed``: stream seconds per wall second; ``late_tolerance_s``, ``hold_s``: module
    docstring."""

    speed: float = 1.0
    late_tolerance_s: float = DEFAULT_LATE_TOLERANCE_S
    hold_s: float = DEFAULT_HOLD_S

    def __post_init__(self) -> None:
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise ValueError(f"--speed {self.speed}: must be a finite number > 0 (stream "
                             "seconds per wall second: 1 for a radar)")
        if not (math.isfinite(self.hold_s) and 0 <= self.hold_s <= 1):
            raise ValueError(f"--hold-s {self.hold_s}: must be within [0, 1] (seconds)")
        if not (math.isfinite(self.late_tolerance_s) and self.late_tolerance_s >= 0):
            raise ValueError(f"--late-tolerance-s {self.late_tolerance_s}: must be a finite "
                             "number ≥ 0 (seconds)")


class _End:
    """The reader thread's last item: the stream has ended (``error``: why, if it failed)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _timed(source: PlotSource | Iterable[str],
           clock: Callable[[], float]) -> Iterator[tuple[float, Any]]:
    """(arrival, line): a source's own receive times where it has them (UDP), else the time
    each line is read."""
    timed = getattr(source, "timed_lines", None)
    if callable(timed):
        yield from timed()
        return
    lines = source.lines() if isinstance(source, PlotSource) else source
    for line in lines:
        yield clock(), line


def run_realtime(
    engine: Engine,
    source: PlotSource | Iterable[str],
    on_events: Callable[[float, list[Event]], None] | None = None,
    *,
    options: RealtimeOptions | None = None,
    step_s: float | None = None,
    drain_s: float = 60.0,
    time_tolerance_s: float = 2.0,
    max_jump_s: float = 60.0,
    on_header: Callable[[dict[str, Any] | None], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> LiveResult:
    """Step ``engine`` on the wall clock over a plot source (module docstring);
    ``on_events(now, events)`` after every step, ``on_header`` once before the first."""
    from counterram.driver import _batch, _finite, _step

    opts = options if options is not None else RealtimeOptions()
    speed = opts.speed
    arrival = [math.nan]

    def stamped() -> Iterator[Any]:
        for when, line in _timed(source, clock):
            arrival[0] = when
            yield line

    reader = PlotReader(stamped(), engine.sensors, time_tolerance_s=time_tolerance_s,
                        max_jump_s=max_jump_s, add_sensors=False,
                        wall_clock=lambda: clock() * speed, arrival=lambda: arrival[0])
    items: queue.Queue[Plot | _End] = queue.Queue()

    def read() -> None:
        try:
            for plot in reader.plots():
                items.put(plot)
        except BaseException as exc:  # handed to the stepping thread, which raises it
            items.put(_End(exc))
        else:
            items.put(_End())

    threading.Thread(target=read, name="plot-reader", daemon=True).start()
    result = LiveResult()
    first = items.get()
    if isinstance(first, _End):
        if first.error is not None:
            raise first.error
        result.missing = reader.missing
        result.rejected = Counter(dict.copy(reader.rejected))
        return result

    header = reader.header or {}
    step = step_s or _step(header.get("step_s")) or engine.config.step_s
    anchor_stream = first.report_time_s
    anchor_wall = first.arrival_s if math.isfinite(first.arrival_s) else clock()
    start = _finite(header.get("start_s"))
    k = math.ceil(anchor_stream / step - 1e-9)
    if start is not None and start <= first.time_s:
        k = max(k, round(start / step) + 1)
    if on_header is not None:
        on_header(reader.header)

    def stream_at(wall: float) -> float:
        return anchor_stream + (wall - anchor_wall) * speed

    buffer: list[Plot] = []
    seen_rejects: Counter[str] = Counter()
    late = [0]
    last_arrival: dict[int, float] = {}
    last_t = first.time_s

    def take(plot: Plot) -> None:
        nonlocal last_t
        if stream_at(plot.arrival_s) - plot.report_time_s > opts.late_tolerance_s:
            late[0] += 1
            return
        buffer.append(plot)
        last_t = max(last_t, plot.time_s)

    def flush(k: int) -> None:
        now = k * step
        ready = sorted((p for p in buffer if p.report_time_s <= now), key=lambda p: p.time_s)
        buffer[:] = [p for p in buffer if p.report_time_s > now]
        events: list[Event] = []
        rejected = Counter(dict.copy(reader.rejected))  # one atomic copy (the reader's thread)
        if late[0]:
            rejected["late"] += late[0]
        fresh = rejected - seen_rejects
        for reason in sorted(fresh):
            detail = (f"arrived more than {opts.late_tolerance_s:g} s after its report time"
                      if reason == "late" else "rejected by the plot reader")
            events.append(PlotRejected(time_s=now, reason=reason, count=fresh[reason],
                                       detail=detail))
        seen_rejects.update(fresh)
        before = engine.plots_accepted
        started = clock()
        events.extend(engine.step(now, _batch(ready)))
        returned = clock()
        for plot, tid in zip(ready, engine.last_plot_track_id.tolist(), strict=True):
            if tid >= 0:
                last_arrival[tid] = max(last_arrival.get(tid, -math.inf), plot.arrival_s)
        for i, e in enumerate(events):
            if isinstance(e, WarningIssued):
                when = max((last_arrival.get(t, -math.inf) for t in e.track_ids),
                           default=-math.inf)
                if math.isfinite(when):
                    ms = (returned - when) * 1e3
                    events[i] = dataclasses.replace(e, plot_arrival_s=when, latency_ms=ms)
                    result.latencies_ms.append(ms)
                    result.processing_ms.append((returned - max(started, when)) * 1e3)
        if len(last_arrival) > 4 * max(len(engine.tracker.tracks), 16):
            live = set(engine.tracks.track_id.tolist())
            for tid in [t for t in last_arrival if t not in live]:
                del last_arrival[tid]
        result.steps += 1
        result.plots_accepted += engine.plots_accepted - before
        if math.isnan(result.first_step_s):
            result.first_step_s = now
        result.last_step_s = now
        for e in events:
            result.events[e.kind] += 1
        if on_events is not None:
            on_events(now, events)

    take(first)
    ended: _End | None = None
    while ended is None:
        due = anchor_wall + (k * step - anchor_stream) / speed + opts.hold_s
        while True:
            wait = due - clock()
            try:
                item = items.get(timeout=wait) if wait > 0 else items.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _End):
                ended = item
                break
            take(item)
        if ended is not None:
            break
        behind = math.floor(stream_at(clock()) / step + 1e-9)
        if behind > k:  # this step is more than a period late: catch up (module docstring)
            result.steps_skipped += behind - k
            k = behind
        flush(k)
        k += 1
    if ended.error is not None:
        raise ended.error
    while buffer:
        flush(k)
        k += 1
    while not engine.quiet and k * step <= last_t + drain_s:
        flush(k)
        k += 1
    result.missing = reader.missing
    result.rejected = Counter(dict.copy(reader.rejected)) + engine.rejected
    if late[0]:
        result.rejected["late"] += late[0]
    return result
