"""The run driver: one loop around the engine for simulated and live runs, feeding sinks.

Why it exists: a run — the simulator's radars or a live plot stream in, events out — has the
same shape either way: the engine steps on a time grid, each step's events go to every sink
(:mod:`counterram.sinks`), and at the end the sinks get the run's record. The CLI only picks a
source (:mod:`counterram.sources`) and sinks by name, builds a :class:`RunDriver` and presents
the outcome; a new sink or source is one module and one registration.

Live stepping (:func:`run_live`): plots are grouped into engine steps by time, on the grid
``now = k · step_s`` (the header's ``step_s`` and ``start_s`` when the stream has them, as a
simulated run's ``plots.jsonl`` does; else the engine's step, with the grid starting at the
first plot): a step runs once a plot measured after it arrives (so every plot reported by then
has been read, in a stream ordered by measurement time) and receives the plots reported by its
time. At the end of the stream the engine steps on until the buffered plots are used and no
zone is warned any more (at most ``drain_s`` of stream time). A gap in the stream is stepped
through for ``drain_s`` and, once the engine is idle (no track, no warning, no burst pending;
at most ten times ``drain_s``), jumped: the next step is the one of the next plot, so a
stream that resumes an hour later costs a minute or two of steps, not 7,200, and the events
are those of stepping through (an idle engine's empty step has none). The engine's clock
cannot be dragged: the reader rejects a plot far ahead of the stream's clock unless later
plots confirm the gap (``time_jump``, :class:`~counterram.sensors.plotio.PlotReader`), and a
header's ``step_s`` outside 1 ms–10 s or a ``start_s`` after the first plot is ignored. A
malformed line is rejected by the reader, counted, and reported as a
:class:`~counterram.events.PlotRejected` event at the next step; the engine goes on.

The stream header (:mod:`counterram.stream_header`): the first ``write`` every sink gets starts
with a :class:`~counterram.events.StreamHeader` (the site origin, the warning zones' outlines,
the scenario's epoch), timed at the first step, the same in both modes; a live run given no
scenario has none.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from counterram.engine import Engine, EngineConfig
from counterram.events import Event, PlotRejected
from counterram.realtime import RealtimeOptions, run_realtime
from counterram.run_record import LiveResult, RunRecord
from counterram.scenario.resolved import resolve
from counterram.sensors.plotio import Plot, PlotReader
from counterram.sensors.plots import PlotBatch
from counterram.sinks.base import RunStart, Sink
from counterram.sources.base import PlotSource
from counterram.stream_header import stream_header
from counterram.world.storage import write_truth

__all__ = ["LiveResult", "RunDriver", "RunRecord", "run_live"]


class RunDriver:
    """Runs the engine and hands every step to ``sinks`` (their files go into ``out``)."""

    def __init__(self, sinks: Sequence[Sink] = (), out: Path | None = None) -> None:
        self.sinks = list(sinks)
        self.out = out

    # ------------------------------------------------------------------ simulation
    def simulate(
        self,
        scenario: Any,
        seed: int | None = None,
        progress: Callable[[float, float], None] | None = None,
        *,
        config: EngineConfig | None = None,
    ) -> RunRecord:
        """Simulate ``scenario`` (a name, Scenario or resolved) with the engine in the loop
        (:func:`counterram.sim.simulate`); the record carries the run's summary."""
        from counterram.sim import simulate
        from counterram.summary import compute_summary

        if isinstance(scenario, str):
            from counterram.scenario import load_scenario

            scenario = load_scenario(scenario)
        world = resolve(scenario)
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
        record = RunRecord("simulation", self.out, world)
        opened: list[Sink] = []
        plots_meta: list[dict[str, Any] | None] = []  # until the header is written

        def on_start(header: str) -> None:
            plots_meta.append(_parsed(header))
            start = RunStart("simulation", self.out, world, header)
            for s in self.sinks:
                s.open(start)
                opened.append(s)

        def on_step(now: float, events: list[Event], lines: list[str]) -> None:
            record.plots_received += len(lines)
            if plots_meta:
                events = [stream_header(now, world, plots_meta.pop()), *events]
            for s in self.sinks:
                s.plots(now, lines)
                s.write(now, events)

        try:
            result = simulate(world, seed, progress, config=config, on_step=on_step,
                              on_start=on_start, record_plots=False)
            record.simulation, record.engine, record.events = result, result.engine, result.events
            if self.out is not None:
                write_truth(result.truth, self.out / "truth.parquet")
            latency = {k: v.__dict__ for k, v in result.engine.latency.items()}
            record.summary = compute_summary(
                result.events, result.truth, result.scenario, seed=result.seed,
                detections=result.detections, latency=latency,
                extra={
                    "end_time_s": result.end_time_s,
                    "step_s": result.step_s,
                    "plots_received": record.plots_received,
                    "run_time_s": round(time.perf_counter() - record.started, 2),
                },
            )
        finally:
            for s in opened:
                s.close(record)
        return record

    # ------------------------------------------------------------------ live
    def live(
        self,
        engine: Engine,
        source: PlotSource | Iterable[str],
        *,
        step_s: float | None = None,
        drain_s: float = 60.0,
        time_tolerance_s: float = 2.0,
        max_jump_s: float = 60.0,
        wall_clock: Callable[[], float] | None = None,
        scenario: Any | None = None,
        keep_events: bool = False,
        realtime: RealtimeOptions | None = None,
    ) -> RunRecord:
        """Run ``engine`` on a plot source (or any iterable of plot lines): module docstring;
        with ``realtime`` on the wall clock instead (:func:`counterram.realtime.run_realtime`).
        The record keeps the events only with ``keep_events``: a live engine runs for days, and
        its sinks have them."""
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
        record = RunRecord("live", self.out, scenario, engine)
        start = RunStart("live", self.out, scenario)
        opened: list[Sink] = []
        plots_meta: list[dict[str, Any] | None] = []  # the stream's header, until written

        def on_header(meta: dict[str, Any] | None) -> None:
            if scenario is not None:
                plots_meta.append(meta)

        def emit(now: float, events: list[Event]) -> None:
            if plots_meta:
                events = [stream_header(now, scenario, plots_meta.pop()), *events]
            if keep_events:
                record.events.extend(events)
            for s in self.sinks:
                s.write(now, events)

        try:
            for s in self.sinks:
                s.open(start)
                opened.append(s)
            if realtime is not None:
                record.live = run_realtime(engine, source, emit, options=realtime,
                                           step_s=step_s, drain_s=drain_s,
                                           time_tolerance_s=time_tolerance_s,
                                           max_jump_s=max_jump_s, on_header=on_header)
            else:
                lines = source.lines() if isinstance(source, PlotSource) else source
                record.live = run_live(engine, lines, emit, step_s=step_s, drain_s=drain_s,
                                       time_tolerance_s=time_tolerance_s,
                                       max_jump_s=max_jump_s, wall_clock=wall_clock,
                                       on_header=on_header)
            record.plots_received = record.live.plots_accepted
        finally:
            for s in opened:
                s.close(record)
        return record


def _batch(plots: list[Plot]) -> PlotBatch:
    """Plots → a batch sorted by measurement time (stable), as the plot reader builds it."""
    if not plots:
        return PlotBatch.empty()
    batch = PlotBatch(
        np.array([p.time_s for p in plots]),
        np.array([p.sensor_id for p in plots], dtype=np.int32),
        np.array([p.range_m for p in plots], dtype=float),
        np.array([p.azimuth_rad for p in plots], dtype=float),
        np.array([p.elevation_rad for p in plots], dtype=float),
        np.array([p.radial_velocity_mps for p in plots], dtype=float),
        np.array([p.snr_db for p in plots], dtype=float),
        np.array([p.report_time_s for p in plots], dtype=float),
    )
    return batch.take(np.argsort(batch.time_s, kind="stable"))


def run_live(
    engine: Engine,
    lines: Iterable[str],
    on_events: Callable[[float, list[Event]], None] | None = None,
    *,
    step_s: float | None = None,
    drain_s: float = 60.0,
    time_tolerance_s: float = 2.0,
    max_jump_s: float = 60.0,
    wall_clock: Callable[[], float] | None = None,
    on_header: Callable[[dict[str, Any] | None], None] | None = None,
) -> LiveResult:
    """Step ``engine`` on a stream of plot lines (module docstring); ``on_events(now, events)``
    after every step. ``step_s`` overrides the header's and the engine's step; ``max_jump_s``
    and ``wall_clock`` are the plot reader's (:class:`~counterram.sensors.plotio.PlotReader`:
    with a wall clock, a live feed cannot run ahead of real time). ``on_header(header)`` once,
    before the first step, with the stream's header as read by then (None without one)."""
    reader = PlotReader(lines, engine.sensors, time_tolerance_s=time_tolerance_s,
                        max_jump_s=max_jump_s, add_sensors=False, wall_clock=wall_clock)
    result = LiveResult()
    buffer: list[Plot] = []
    seen_rejects: Counter[str] = Counter()
    grid: dict[str, float] = {}

    def flush(k: int) -> None:
        now = k * grid["step"]
        ready = [p for p in buffer if p.report_time_s <= now]
        buffer[:] = [p for p in buffer if p.report_time_s > now]
        events: list[Event] = []
        fresh = reader.rejected - seen_rejects
        for reason in sorted(fresh):
            events.append(PlotRejected(time_s=now, reason=reason, count=fresh[reason],
                                       detail="rejected by the plot reader"))
        seen_rejects.update(fresh)
        before = engine.plots_accepted
        events.extend(engine.step(now, _batch(ready)))
        result.steps += 1
        # what the engine took: a plot the reader let through can still be too late for the
        # tracker (counted in engine.rejected), and must not be counted twice
        result.plots_accepted += engine.plots_accepted - before
        if math.isnan(result.first_step_s):
            result.first_step_s = now
        result.last_step_s = now
        for e in events:
            result.events[e.kind] += 1
        if on_events is not None:
            on_events(now, events)

    k = 0
    last_t = -math.inf
    for plot in reader.plots():
        if not grid:
            header = reader.header or {}
            step = step_s or _step(header.get("step_s")) or engine.config.step_s
            start = _finite(header.get("start_s"))
            if start is None or start > plot.time_s:
                start = math.floor(plot.time_s / step) * step
            grid["step"] = step
            k = round(start / step) + 1
            last_t = start
            if on_header is not None:
                on_header(reader.header)
        while plot.time_s > k * grid["step"]:
            since = k * grid["step"] - last_t
            if not buffer and since > drain_s and (_idle(engine) or since > _GAP_LIMIT * drain_s):
                # a gap in the stream: once the engine has nothing left to do (or after ten
                # drains at most), the grid jumps to the next plot instead of stepping through
                k = math.ceil(plot.time_s / grid["step"])
                result.gaps_jumped += 1
                break
            flush(k)
            k += 1
        buffer.append(plot)
        last_t = max(last_t, plot.time_s)
    if grid:
        while buffer:
            flush(k)
            k += 1
        while not engine.quiet and k * grid["step"] <= last_t + drain_s:
            flush(k)
            k += 1
    result.rejected = reader.rejected + engine.rejected
    result.missing = reader.missing
    return result


def _parsed(header: str) -> dict[str, Any] | None:
    """A plot header line as a dict (None when it is not a JSON object)."""
    try:
        value = json.loads(header)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
            and value > 0:
        return float(value)
    return None


_GAP_LIMIT = 10  # a gap is stepped through for at most this many drains


def _idle(engine: Engine) -> bool:
    """Nothing for the engine to do without plots: no track at all (not even a tentative one),
    no warned zone, no burst awaiting assessment; an empty step then gives no event."""
    return engine.quiet and len(engine.tracker.tracks) == 0


def _step(value: object) -> float | None:
    """A header's ``step_s`` when it is a usable engine step (1 ms to 10 s)."""
    step = _positive(value)
    return step if step is not None and 1e-3 <= step <= 10.0 else None


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
