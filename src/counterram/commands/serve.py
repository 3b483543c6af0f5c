"""The ``serve`` command: the web operator view of a simulation running now or a finished run.

Why it exists: a person watching a run wants the air picture — zones under INCOMING, where each
round will land and came from, which gun engages what — not JSON. ``counterram serve SCENARIO``
simulates the scenario and shows it at ``--speed`` × real time; ``counterram serve --replay
DIR/events.jsonl`` plays a finished run with play, pause, speed and seek (``engine … --serve``
shows the live engine, :func:`start_live_view`). The server binds 127.0.0.1 unless ``--host``
says otherwise (with a warning) and prints a token the controls need (docs/web.md).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from counterram.commands.scenario import EXIT_INVALID, _fail
from counterram.scenario import DEFAULT_SCENARIO, ScenarioError, builtin_names, load_scenario
from counterram.sinks.jsonl import EventLogError
from counterram.web.replay_clock import MAX_SPEED, MIN_SPEED, load_log
from counterram.web.server import DEFAULT_HOST, DEFAULT_PORT

__all__ = ["serve", "start_live_view"]

_TILES = re.compile(r"^https?://[^\s]+$")


def _error(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=EXIT_INVALID)


def _warn(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold yellow]warning:[/] "
                                                                f"{message}")


def check_tiles(tiles: str | None) -> None:
    """A tile URL template must be http(s) with {z}, {x} and {y}."""
    if tiles is None:
        return
    if not _TILES.match(tiles) or not all(k in tiles for k in ("{z}", "{x}", "{y}")):
        _error(f"--tiles: {tiles!r} is not a tile URL template like "
               "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png (http or https, with {z}, {x}, {y})")


def _open(view: Any, host: str, port: int, tiles: str | None, title: str) -> Any:
    """Bind, build the app, print where to look and the token; the server (not yet running)."""
    from counterram.web.app import create_app, leaflet_missing
    from counterram.web.server import WebServer, bind, host_warning, new_token

    try:
        sock = bind(host, port)
    except OSError as exc:
        _error(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    warning = host_warning(host)
    if warning:
        _warn(warning)
    missing = leaflet_missing()
    if missing:
        _warn(missing)
    token = new_token()
    server = WebServer(create_app(view.hub, view.site, view.controls, token, tiles=tiles), sock)
    print(f"counterram web view ({title}): {server.url}", flush=True)
    print(f"control token: {token}", flush=True)
    print(f"operator page (with the token): {server.url}#token={token}", flush=True)
    return server


def start_live_view(scenario: Any, engine: Any, *, host: str = DEFAULT_HOST,
                    port: int = DEFAULT_PORT) -> tuple[Any, Any]:
    """The live engine's view, serving in a thread: (view, server); ``view.sink`` goes to the
    run driver and ``server.wait()`` keeps the page up after the stream ends."""
    from counterram.web.modes import live_view

    view = live_view(scenario, engine)
    server = _open(view, host, port, None, f"live engine, {view.site['name']}")
    server.start()
    return view, server


def _named_in_log(log: Path) -> str | None:
    """The scenario named by the log's ``header`` event (its first line), if any."""
    try:
        with log.open(encoding="utf-8") as fp:
            first = json.loads(fp.readline() or "{}")
    except (OSError, ValueError):
        return None
    if isinstance(first, dict) and first.get("kind") == "header":
        name = first.get("scenario")
        return name if isinstance(name, str) else None
    return None


def replay_scenario(log: Path, scenario: str | None) -> str:
    """The scenario of a replay: as given, else a built-in one named by the log's header
    event, else by summary.json beside the log; else a one-line error."""
    if scenario is not None:
        return scenario
    summary = log.parent / "summary.json"
    try:
        named = json.loads(summary.read_text(encoding="utf-8")).get("scenario")
    except (OSError, ValueError, AttributeError):
        named = None
    for name in (_named_in_log(log), named):
        if isinstance(name, str) and name in builtin_names():
            return name
    _error(f"--replay: name the run's scenario (a built-in name or the scenario file): "
           f"neither the log's header nor {summary} names a built-in one")
    raise AssertionError  # unreachable: _error exits


def _summary_latency(log: Path) -> float | None:
    try:
        summary = json.loads((log.parent / "summary.json").read_text(encoding="utf-8"))
        value = summary["engine_latency_ms"]["p50"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def serve(
    scenario: Annotated[
        str | None, typer.Argument(help="Scenario to simulate (built-in name or file; default "
                                   f"{DEFAULT_SCENARIO}); with --replay, the run's scenario "
                                   "(default: the built-in one named by the log's header or "
                                   "summary.json).")
    ] = None,
    replay: Annotated[
        Path | None, typer.Option("--replay", help="Play back this events.jsonl instead of "
                                  "simulating (play, pause, speed, seek).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Simulation: root seed (default: the scenario's).", min=0)
    ] = None,
    speed: Annotated[
        float, typer.Option(help=f"Scenario seconds per wall-clock second ({MIN_SPEED:g}-"
                            f"{MAX_SPEED:g}).", min=MIN_SPEED, max=MAX_SPEED)
    ] = 1.0,
    paused: Annotated[bool, typer.Option("--paused", help="Start paused.")] = False,
    start: Annotated[
        float | None, typer.Option(help="Replay: start at this time, s (default: the first "
                                   "event).")
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (anything but loopback is warned of).")
    ] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(help="Port to listen on (0: a free one).", min=0, max=65535)
    ] = DEFAULT_PORT,
    tiles: Annotated[
        str | None, typer.Option(help="A local tile server's URL template "
                                 "(http://HOST/{z}/{x}/{y}.png); default: the site's own "
                                 "geometry on a plain background.")
    ] = None,
) -> None:
    """Serve the web operator view of a simulation running now, or of a finished run."""
    check_tiles(tiles)
    if replay is not None and not replay.is_file():
        _error(f"--replay: no such event log {str(replay)!r}")
    name = scenario or DEFAULT_SCENARIO
    if replay is not None:
        name = replay_scenario(replay, scenario)
    try:
        sc = load_scenario(name, runnable=replay is None)
    except ScenarioError as exc:
        _fail(exc.problems)

    from counterram.web.modes import replay_view, simulation_view

    if replay is not None:
        try:
            events = load_log(replay)
        except EventLogError as exc:
            _error(str(exc))
        if not events:
            _error(f"--replay: {str(replay)!r} holds no events")
        view = replay_view(events, sc, speed=speed, paused=paused, start_s=start,
                           latency_ms=_summary_latency(replay), source=str(replay))
        title = f"replay of {replay}, {sc.name}"
    else:
        if start is not None:
            _error("--start is for --replay (a simulation starts at 0 s)")
        view = simulation_view(sc, seed=seed, speed=speed, paused=paused)
        title = f"simulation of {sc.name}"
    server = _open(view, host, port, tiles, title)
    view.start()
    try:
        server.run()
    finally:
        view.stop()
        sys.stdout.flush()
