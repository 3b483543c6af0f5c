"""The ``engine`` command: the C2 engine on a live plot stream (a file, stdin or UDP datagrams).

Why it exists: the engine that the simulator drives is meant to run on real radar plots. This
command opens the plot source (:mod:`counterram.sources`: a JSON Lines file in the documented
plot format, docs/plots.md, ``-`` for stdin, ``udp://127.0.0.1:PORT``, an ASTERIX ``.ast``
file or ``asterix+udp://127.0.0.1:PORT`` (docs/asterix.md), or any registered source), and
runs the engine on it with the run driver (:mod:`counterram.driver`, which describes how plots
become steps), writing the same event log as a simulated run, flushed
after every step: a recorded ``plots.jsonl`` of a run replays to the same tracks, warnings and
engagement decisions. A malformed line is rejected, counted, logged and reported as a
``PlotRejected`` event at the next step; the engine goes on. ``--tak URL`` sends the events to
a TAK server or client as Cursor on Target (docs/cot.md).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from counterram.commands.out_folder import out_folder_problem
from counterram.commands.scenario import EXIT_INVALID, _fail
from counterram.commands.tak import TakOption, cot_sink, print_tak
from counterram.driver import RunDriver
from counterram.engine import Engine
from counterram.realtime import DEFAULT_HOLD_S, DEFAULT_LATE_TOLERANCE_S, RealtimeOptions
from counterram.scenario import ScenarioError, load_scenario
from counterram.sinks import make_sinks
from counterram.sources import SourceError, open_source
from counterram.sources.asterix import asterix_options

__all__ = ["engine_live"]


def engine_live(
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Scenario (built-in name or file) that "
                          "describes the site, radars, zones, assets and guns.")
    ],
    plots: Annotated[
        str, typer.Option("--plots", "-p", help="Plot stream: a JSON Lines file, - for stdin, "
                          "udp://127.0.0.1:PORT, an ASTERIX .ast file, "
                          "asterix+udp://127.0.0.1:PORT, or another registered source.")
    ],
    out_text: Annotated[
        str, typer.Option("--out", "-o", help="Folder for events.jsonl (created).")
    ] = "counterram-live",
    max_idle_s: Annotated[
        float, typer.Option(help="UDP: stop after this many seconds without a datagram.",
                            min=0.01)
    ] = 5.0,
    max_datagrams: Annotated[
        int | None, typer.Option(help="UDP: stop after this many datagrams.", min=1)
    ] = None,
    wait_first_s: Annotated[
        float | None, typer.Option(help="UDP: wait this long for the first datagram (a "
                                   "receiver started before its sender; default: "
                                   "--max-idle-s).", min=0.01)
    ] = None,
    sink: Annotated[
        list[str] | None, typer.Option("--sink", help="A further registered sink to feed "
                                       "(repeatable; events.jsonl is always written).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No final table.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into --out even if it already holds files "
                           "(a previous events.jsonl is replaced).")
    ] = False,
    realtime: Annotated[
        bool, typer.Option("--realtime", help="Step on the wall clock (a live feed): a step "
                           "every step period whether plots come or not; plots later than "
                           "--late-tolerance-s are rejected as late; warnings carry their "
                           "plot-to-warning latency (docs/running.md).")
    ] = False,
    speed: Annotated[
        float, typer.Option(help="--realtime: stream seconds per wall second (1 for a radar; "
                            "the sender's --speed for a simulated feed).")
    ] = 1.0,
    late_tolerance_s: Annotated[
        float, typer.Option(help="--realtime: stream seconds a plot may arrive after its "
                            "report time and still be used.")
    ] = DEFAULT_LATE_TOLERANCE_S,
    hold_s: Annotated[
        float, typer.Option(help="--realtime: wall seconds a step waits past its time for "
                            "plots in transit or being decoded.")
    ] = DEFAULT_HOLD_S,
    step_s: Annotated[
        float | None, typer.Option(help="The engine's step (default: the stream header's, "
                                   "else the scenario's fastest search radar's revisit).",
                                   min=1e-3, max=10.0)
    ] = None,
    tak: TakOption = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Show the engine live in the web view (docs/web.md); "
                           "the page stays up after the stream ends, until Ctrl-C.")
    ] = False,
    serve_host: Annotated[
        str, typer.Option(help="--serve: address to listen on (beyond loopback is warned of).")
    ] = "127.0.0.1",
    serve_port: Annotated[
        int, typer.Option(help="--serve: port to listen on (0: a free one).", min=0, max=65535)
    ] = 8017,
) -> None:
    """Run the engine on a live plot stream and write its events (flushed every step)."""
    problem = out_folder_problem(out_text, force=force)
    if problem:
        _error(problem)
    try:
        options = RealtimeOptions(speed, late_tolerance_s, hold_s) if realtime else None
    except ValueError as exc:
        _error(str(exc))
    out = Path(out_text)
    feed = cot_sink(tak, _error)
    try:
        sc = load_scenario(scenario, runnable=True)
    except ScenarioError as exc:
        _fail(exc.problems)
    try:
        source = open_source(plots, max_idle_s=max_idle_s, max_datagrams=max_datagrams,
                             first_wait_s=wait_first_s, ready=_listening(plots),
                             **asterix_options(sc))
    except SourceError as exc:
        _error(str(exc))
    try:
        sinks = make_sinks(["events", *(sink or [])])
    except ValueError as exc:
        _error(f"--sink: {exc}")
    if feed is not None:
        sinks.append(feed)
    engine = Engine.from_scenario(sc)
    web = None
    if serve:
        from counterram.commands.serve import start_live_view

        view, web = start_live_view(sc, engine, host=serve_host, port=serve_port)
        sinks.append(view.sink)
    try:
        record = RunDriver(sinks, out).live(engine, source, scenario=sc, step_s=step_s,
                                            realtime=options)
    except OSError as exc:
        _error(f"cannot run: {exc.strerror or exc}")
    result = record.live
    assert result is not None
    if quiet:
        _linger(web)
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
    table.add_row("plots missing (seq gaps)", str(result.missing))
    if realtime:
        table.add_row("steps skipped (behind)", str(result.steps_skipped))
        table.add_row("warnings timed", str(len(result.latencies_ms)))
        table.add_row("plot-to-warning p50 ms", f"{result.latency_p50_ms:.1f}")
        table.add_row("plot-to-warning p99 ms", f"{result.latency_p99_ms:.1f}")
        table.add_row("processing p50 ms", f"{result.processing_p50_ms:.1f}")
        table.add_row("processing p99 ms", f"{result.processing_p99_ms:.1f}")
    for kind, count in sorted(result.events.items()):
        table.add_row(f"events: {kind}", str(count))
    console.print(table)
    console.print(f"wrote {out / 'events.jsonl'}", highlight=False)
    print_tak(feed, console)
    _linger(web)


def _linger(web: Any) -> None:
    """--serve: the page stays up after the stream ends, until Ctrl-C."""
    if web is not None:
        print("the plot stream has ended; the web view stays up until Ctrl-C", flush=True)
        web.wait()


def _listening(plots: str) -> Callable[[int], None]:
    """A UDP source's ``ready``: one line on stderr once the socket is bound, so that an
    operator (or a script starting the sender) knows plots sent from now on are received."""
    scheme = plots.split("://", 1)[0]

    def ready(port: int) -> None:
        print(f"listening on {scheme}://127.0.0.1:{port}", file=sys.stderr, flush=True)

    return ready


def _error(message: str) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=EXIT_INVALID)
