"""The ``replay`` command: an event log printed back as a readable timeline, or sent again.

A few lines over :func:`counterram.sinks.jsonl.iter_event_dicts`: one row per event (time, kind,
what happened in words), optionally only some kinds (``--kind``, repeatable) or a time span.
Truth events (simulation only) are marked so that they are not mistaken for engine output.
``--tak URL`` sends the events shown to a TAK server or client as Cursor on Target (the log's
stream header is always passed on: it places the positions); ``--speed X`` paces the replay
(1 = real time, 2 = twice as fast, 0 = as fast as possible), printing each row as it comes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from counterram.commands.scenario import EXIT_INVALID
from counterram.commands.tak import TakOption, cot_sink, print_tak
from counterram.events import EVENT_TYPES, event_from_dict
from counterram.run_record import RunRecord
from counterram.sinks.base import RunStart
from counterram.sinks.cot import CotSink
from counterram.sinks.jsonl import EventLogError, iter_event_dicts

__all__ = ["describe", "replay"]

_STYLE = {
    "launch": "dim", "impact": "red", "outcome": "magenta", "track": "cyan",
    "impact_prediction": "blue", "origin_estimate": "blue", "warning": "bold yellow",
    "all_clear": "green", "engagement": "bold magenta", "gun_status": "dim magenta",
    "plot_rejected": "red", "header": "dim", "sensor_health": "red",
}


def _n(value: Any, fmt: str = ".0f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "?"
    try:
        return format(value, fmt)
    except (TypeError, ValueError, OverflowError):  # not a number (a damaged log)
        return "?"


def _en(v: Any) -> str:
    return "(?)" if not v else "(" + ", ".join(_n(x) for x in v) + ") m"


def describe(e: Mapping[str, Any]) -> str:
    """One line saying what an event (as a dict) means; an event missing the fields of its
    kind (a log written by hand, or damaged) is shown as its fields."""
    try:
        return _describe(e)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return _fields(e)


def _fields(e: Mapping[str, Any]) -> str:
    text = str({key: v for key, v in e.items() if key not in ("schema_version", "kind")})
    return text if len(text) <= 300 else text[:299] + "…"


def _describe(e: Mapping[str, Any]) -> str:
    k = e.get("kind")
    if k == "header":
        epoch = f", time 0 = {e['epoch_utc']}" if e.get("epoch_utc") else ""
        sim = ", simulated plots" if e.get("simulated") else ""
        return (f"{e.get('scenario') or '?'}: origin {_n(e.get('latitude_deg'), '.6f')}, "
                f"{_n(e.get('longitude_deg'), '.6f')}, {_n(e.get('altitude_m'))} m; "
                f"{len(e.get('zones') or ())} warning zones{epoch}{sim}")
    if k == "launch":
        return f"round {e['round_id']} ({e['munition']}) launched from {_en(e['launch_enu'])}"
    if k == "impact":
        where = ", ".join([*e.get("assets", ()), *e.get("zones", ())]) or "open ground"
        return f"round {e['round_id']} landed at {_en(e['impact_enu'])}: {where}"
    if k == "outcome":
        what = "KILLED" if e.get("killed") else "missed"
        return (f"{e['gun']} burst at track {e['track_id']}: {what} round {e['round_id']} "
                f"(miss {_n(e.get('miss_distance_m'), '.1f')} m, {e.get('duds', 0)} duds)")
    if k == "track":
        if e.get("update"):
            return (f"track {e['track_id']} at {_en(e['position_enu'])}, "
                    f"σ {_n(e.get('position_sigma_m'))} m, {e.get('updates')} plots")
        reason = f" ({e['reason']})" if e.get("reason") else ""
        return f"track {e['track_id']} {e['status']}{reason} at {_en(e['position_enu'])}"
    if k == "impact_prediction":
        ell = e.get("ellipse") or {}
        return (f"track {e['track_id']} ({e.get('munition') or '?'}) will land at "
                f"{_en(e['impact_en'])} at t={_n(e.get('impact_time_s'), '.1f')} s, "
                f"{_n(100 * ell.get('probability', math.nan))} % within "
                f"{_n(ell.get('semi_major_m'))} × {_n(ell.get('semi_minor_m'))} m")
    if k == "origin_estimate":
        return (f"track {e['track_id']} ({e.get('munition') or '?'}) fired from "
                f"{_en(e['origin_en'])} ({_n(e.get('latitude_deg'), '.5f')}, "
                f"{_n(e.get('longitude_deg'), '.5f')}) at t={_n(e.get('launch_time_s'), '.1f')} s")
    if k == "warning":
        verb = "update" if e.get("update") else "INCOMING"
        early = " (early)" if e.get("early") else ""
        return (f"{verb} {e['zone']}{early}: tracks {list(e.get('track_ids', []))}, "
                f"p={_n(e.get('probability'), '.2f')}, impact "
                f"t={_n(e.get('predicted_impact_time_s'), '.1f')} s")
    if k == "all_clear":
        return f"ALL CLEAR {e['zone']}"
    if k == "engagement":
        return (f"{e['gun']} ordered to fire {e['rounds']} rounds at track {e['track_id']} "
                f"at t={_n(e.get('fire_time_s'), '.2f')} s (az {_n(e.get('azimuth_deg'), '.1f')}°,"
                f" el {_n(e.get('elevation_deg'), '.1f')}°), Pk {_n(e.get('predicted_pk'), '.2f')},"
                f" defending {e.get('threatened_asset') or '?'}")
    if k == "gun_status":
        why = f" ({e['hold_reason']})" if e.get("hold_reason") else ""
        return f"{e['gun']} {e['state']}{why}, {e.get('magazine')} rounds left"
    if k == "plot_rejected":
        return f"{e.get('count')} plots rejected: {e.get('reason')} {e.get('detail', '')}".strip()
    return _fields(e)


def replay(
    log: Annotated[Path, typer.Argument(help="An events.jsonl written by run or engine.")],
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", "-k", help="Only these event kinds (repeatable).")
    ] = None,
    start: Annotated[float | None, typer.Option(help="From this time, s.")] = None,
    end: Annotated[float | None, typer.Option(help="Up to this time, s.")] = None,
    no_truth: Annotated[
        bool, typer.Option("--no-truth", help="Leave out truth events (what really flew).")
    ] = False,
    tak: TakOption = None,
    speed: Annotated[
        float, typer.Option(help="Pace the replay: 1 = real time, 2 = twice as fast, "
                            "0 = as fast as possible.", min=0.0, max=1e6)
    ] = 0.0,
) -> None:
    """Print a run's event log as a timeline (and send it to TAK with --tak)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)

    def fail(message: str) -> NoReturn:
        err.print(f"[bold red]error:[/] {message}")
        raise typer.Exit(code=EXIT_INVALID)

    kinds = set(kind or ())
    unknown = sorted(kinds - EVENT_TYPES.keys())
    if unknown:
        fail(f"--kind: unknown kind(s) {', '.join(unknown)}; "
             f"allowed: {', '.join(sorted(EVENT_TYPES))}")
    if not log.is_file():
        fail(f"no such event log {str(log)!r}")
    if not math.isfinite(speed):
        fail(f"--speed must be a finite number ≥ 0, got {speed}")
    feed = cot_sink(tak, fail)
    out = Console()
    streaming = speed > 0
    table = Table(title=str(log))
    table.add_column("t, s", justify="right")
    table.add_column("kind")
    table.add_column("what")
    pace = _Pace(speed)
    shown = 0
    if feed is not None:
        feed.open(RunStart("replay", None, None))
    try:
        for e in iter_event_dicts(log):
            t = e.get("time_s")
            is_header = e["kind"] == "header"
            if kinds and e["kind"] not in kinds and not (is_header and feed is not None):
                continue
            if no_truth and e.get("truth"):
                continue
            if isinstance(t, int | float) and not is_header and (
                    (start is not None and t < start) or (end is not None and t > end)):
                continue
            pace.wait(t)
            if feed is not None:
                _send(feed, e)
            if kinds and e["kind"] not in kinds:
                continue  # the header, passed on for the positions but not asked for
            label = e["kind"] + (" (truth)" if e.get("truth") else "")
            row = (_n(t, ".2f"), label, describe(e))
            if streaming:
                out.print(f"{row[0]:>9}  {row[1]:<18} {row[2]}", highlight=False,
                          style=_STYLE.get(e["kind"], ""))
            else:
                table.add_row(*row, style=_STYLE.get(e["kind"], ""))
            shown += 1
    except EventLogError as exc:
        fail(str(exc))
    finally:
        if feed is not None:
            feed.close(RunRecord("replay", None, None))
    if not streaming:
        out.print(table)
    out.print(f"{shown} events", highlight=False)
    print_tak(feed, out)


class _Pace:
    """Sleeps so that event times run ``speed`` times as fast as the wall clock (0: never)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.first: float | None = None
        self.wall0 = 0.0

    def wait(self, t: Any) -> None:
        if self.speed <= 0 or not isinstance(t, int | float) or not math.isfinite(t):
            return
        if self.first is None:
            self.first, self.wall0 = float(t), time.monotonic()
            return
        delay = self.wall0 + (float(t) - self.first) / self.speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def _send(feed: CotSink, e: Mapping[str, Any]) -> None:
    """One event of the log to the CoT sink (a line that is not a valid event is skipped)."""
    try:
        event = event_from_dict(dict(e))
    except (TypeError, ValueError):
        return
    feed.write(event.time_s, [event])
