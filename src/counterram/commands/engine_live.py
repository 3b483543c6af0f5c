"""The ``engine`` command: the C2 engine on a live plot stream (a file, stdin or UDP datagrams).

Why it exists: the engine that the simulator drives is meant to run on real radar plots. This
command feeds it a stream in the documented JSON Lines plot format (docs/plots.md) and writes the
same event log as a simulated run, flushed after every step, so a recorded ``plots.jsonl`` of a
run replays to the same tracks, warnings and engagement decisions.

Plots are grouped into engine steps by time, on the grid ``now = k · step_s`` (the header's
``step_s`` and ``start_s`` when the stream has them, as a simulated run's ``plots.jsonl`` does;
else the scenario's step, with the grid starting at the first plot): a step runs once a plot
measured after it arrives (so every plot reported by then has been read, in a stream ordered by
measurement time) and receives the plots reported by its time. At the end of the stream the
engine steps on until the buffered plots are used and no zone is warned any more (at most
``drain_s`` of stream time). A malformed line is rejected by the reader, counted, logged and
reported as a :class:`~counterram.events.PlotRejected` event at the next step; the engine goes on.

UDP: one JSON line (or several, newline-separated) per datagram, on 127.0.0.1 only; the stream
ends after ``max_idle_s`` seconds without a datagram or after ``max_datagrams``.
"""

from __future__ import annotations

import math
import socket
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from counterram.commands.scenario import EXIT_INVALID, _fail
from counterram.engine import Engine
from counterram.events import Event, PlotRejected
from counterram.scenario import ScenarioError, load_scenario
from counterram.sensors.plotio import Plot, PlotReader
from counterram.sensors.plots import PlotBatch
from counterram.sinks.jsonl import EventLogWriter

__all__ = ["LiveResult", "engine_live", "parse_udp_url", "run_live", "udp_lines"]

LOCALHOST = "127.0.0.1"


@dataclass
class LiveResult:
    """What a live run did: steps, plots accepted, rejections by reason (reader and engine)
    and event counts by kind."""

    steps: int = 0
    plots_accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    first_step_s: float = math.nan
    last_step_s: float = math.nan

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())


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
) -> LiveResult:
    """Run ``engine`` on a stream of plot lines (module docstring); ``on_events(now, events)``
    after every step. ``step_s`` overrides the header's and the engine's step."""
    reader = PlotReader(lines, engine.sensors, time_tolerance_s=time_tolerance_s)
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
        events.extend(engine.step(now, _batch(ready)))
        result.steps += 1
        result.plots_accepted += len(ready)
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
            step = step_s or _positive(header.get("step_s")) or engine.config.step_s
            start = _finite(header.get("start_s"))
            if start is None:
                start = math.floor(plot.time_s / step) * step
            grid["step"] = step
            k = round(start / step) + 1
        while plot.time_s > k * grid["step"]:
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
    return result


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
            and value > 0:
        return float(value)
    return None


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def parse_udp_url(url: str) -> int:
    """The port of ``udp://127.0.0.1:PORT``; anything else raises ValueError (the engine
    listens on the loopback address only)."""
    rest = url[len("udp://"):]
    host, _, port = rest.rpartition(":")
    if host != LOCALHOST:
        raise ValueError(f"--plots {url!r}: the engine listens on {LOCALHOST} only "
                         f"(udp://{LOCALHOST}:PORT)")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--plots {url!r}: the port must be a number in 1..65535")
    return int(port)


def udp_lines(
    port: int,
    *,
    max_idle_s: float = 5.0,
    max_datagrams: int | None = None,
    ready: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """Lines received as UDP datagrams on 127.0.0.1:``port`` (0: any free port, reported to
    ``ready(port)`` once bound); ends after ``max_idle_s`` without a datagram or after
    ``max_datagrams``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((LOCALHOST, port))
        sock.settimeout(max_idle_s)
        if ready is not None:
            ready(sock.getsockname()[1])
        count = 0
        while max_datagrams is None or count < max_datagrams:
            try:
                data = sock.recv(65535)
            except TimeoutError:
                return
            count += 1
            yield from data.decode("utf-8", errors="replace").splitlines()
    finally:
        sock.close()


def engine_live(
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Scenario (built-in name or file) that "
                          "describes the site, radars, zones, assets and guns.")
    ],
    plots: Annotated[
        str, typer.Option("--plots", "-p", help="Plot stream: a JSON Lines file, - for stdin, "
                          "or udp://127.0.0.1:PORT.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for events.jsonl (created).")
    ] = Path("counterram-live"),
    max_idle_s: Annotated[
        float, typer.Option(help="UDP: stop after this many seconds without a datagram.",
                            min=0.01)
    ] = 5.0,
    max_datagrams: Annotated[
        int | None, typer.Option(help="UDP: stop after this many datagrams.", min=1)
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No final table.")] = False,
) -> None:
    """Run the engine on a live plot stream and write its events (flushed every step)."""
    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        _fail(exc.problems)
    source: Iterable[str]
    if plots.startswith("udp://"):
        try:
            port = parse_udp_url(plots)
        except ValueError as exc:
            _error(str(exc))
        source = udp_lines(port, max_idle_s=max_idle_s, max_datagrams=max_datagrams)
    elif plots == "-":
        source = sys.stdin
    else:
        path = Path(plots)
        if not path.is_file():
            _error(f"--plots: no such file {plots!r} (a JSON Lines file, - or "
                   f"udp://{LOCALHOST}:PORT)")
        source = path  # type: ignore[assignment]
    engine = Engine.from_scenario(sc)
    try:
        with EventLogWriter(out / "events.jsonl") as log:
            result = run_live(engine, source, lambda _t, events: log.write(events))  # type: ignore[arg-type]
    except OSError as exc:
        _error(f"cannot run: {exc.strerror or exc}")
    if quiet:
        return
    console = Console()
    table = Table(title=f"engine on {plots} ({sc.name})")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("steps", str(result.steps))
    table.add_row("plots accepted", str(result.plots_accepted))
    table.add_row("plots rejected", str(result.total_rejected))
    for reason, count in sorted(result.rejected.items()):
        table.add_row(f"  {reason}", str(count))
    for kind, count in sorted(result.events.items()):
        table.add_row(f"events: {kind}", str(count))
    console.print(table)
    console.print(f"wrote {out / 'events.jsonl'}", highlight=False)


def _error(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=EXIT_INVALID)
