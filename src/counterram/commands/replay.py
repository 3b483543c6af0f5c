"""The ``replay`` command: an event log printed back as a readable timeline.

A few lines over :func:`counterram.sinks.jsonl.iter_event_dicts`: one row per event (time, kind,
what happened in words), optionally only some kinds (``--kind``, repeatable) or a time span.
Truth events (simulation only) are marked so that they are not mistaken for engine output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from counterram.commands.scenario import EXIT_INVALID
from counterram.events import EVENT_TYPES
from counterram.sinks.jsonl import EventLogError, iter_event_dicts

__all__ = ["describe", "replay"]

_STYLE = {
    "launch": "dim", "impact": "red", "outcome": "magenta", "track": "cyan",
    "impact_prediction": "blue", "origin_estimate": "blue", "warning": "bold yellow",
    "all_clear": "green", "engagement": "bold magenta", "gun_status": "dim magenta",
    "plot_rejected": "red",
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
) -> None:
    """Print a run's event log as a timeline."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    kinds = set(kind or ())
    unknown = sorted(kinds - EVENT_TYPES.keys())
    if unknown:
        err.print(f"[bold red]error:[/] --kind: unknown kind(s) {', '.join(unknown)}; "
                  f"allowed: {', '.join(sorted(EVENT_TYPES))}")
        raise typer.Exit(code=EXIT_INVALID)
    if not log.is_file():
        err.print(f"[bold red]error:[/] no such event log {str(log)!r}")
        raise typer.Exit(code=EXIT_INVALID)
    table = Table(title=str(log))
    table.add_column("t, s", justify="right")
    table.add_column("kind")
    table.add_column("what")
    shown = 0
    try:
        for e in iter_event_dicts(log):
            t = e.get("time_s")
            if kinds and e["kind"] not in kinds:
                continue
            if no_truth and e.get("truth"):
                continue
            if isinstance(t, int | float) and ((start is not None and t < start)
                                               or (end is not None and t > end)):
                continue
            label = e["kind"] + (" (truth)" if e.get("truth") else "")
            table.add_row(_n(t, ".2f"), label, describe(e), style=_STYLE.get(e["kind"], ""))
            shown += 1
    except EventLogError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=EXIT_INVALID) from None
    Console().print(table)
    Console().print(f"{shown} events", highlight=False)
