"""The run report: one self-contained HTML page that says what happened in a simulated run.

An analyst who ran a scenario wants to see it, not read an event log: where the rounds came from
and fell, which were seen, warned and shot down, how much warning people had, and the run's
headline numbers. :func:`write_report` joins the three records of a finished run (the scenario,
the truth of what flew, the engine's events) with the run summary and writes ``report.html``:
summary table and a plain-language paragraph, site maps, a side view, a per-round timeline and
table, the engagement opportunity of the rounds headed for defended assets (which a gun could
have engaged, which were, and the defects: engageable but not engaged), warning times, and event
counts.

The page is meant to be archived and mailed: figures are embedded PNGs (base64), the CSS is
inline, there is no script and no external reference, so it opens offline in any browser. It is
deterministic (no date, fixed PNG metadata), so the same run gives a byte-identical file.

The engine's events do not say which true round a track is (the engine does not know); the
report finds out the simple way, by matching each confirmed track to the true round nearest to
its reported positions (see :func:`analyse_run`). Jinja2 renders the page (autoescaped), the
figures are drawn by :mod:`counterram.sinks.figures`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from counterram.events import (
    Event,
    TrackEvent,
)
from counterram.metrics.matching import MATCH_GATE_M, kill_times, match_tracks
from counterram.scenario.resolved import ResolvedScenario, resolve
from counterram.scenario.schema import Scenario
from counterram.sinks.analysis import (
    RunAnalysis,
    WarningInterval,
    analyse_run,
    as_events,
)
from counterram.world.truth import Truth

__all__ = [
    "REPORT_NAME",
    "RunAnalysis",
    "WarningInterval",
    "analyse_run",
    "opportunity_section",
    "render_report",
    "write_report",
]

#: File name written by :func:`write_report`.
REPORT_NAME = "report.html"



# ----------------------------------------------------------------------------------- formatting
NONE = "none"

# Summary keys the simulator writes: label and unit. Others are shown under their own name.
_SUMMARY_FIELDS: dict[str, tuple[str, str]] = {
    "scenario": ("Scenario", ""),
    "seed": ("Seed", ""),
    "rounds_launched": ("Rounds launched", "rounds"),
    "rounds_detected": ("Rounds detected", "rounds"),
    "tracks_confirmed": ("Tracks confirmed", "tracks"),
    "false_tracks": ("False tracks", "tracks"),
    "warnings_issued": ("Warnings issued", "warnings"),
    "rounds_in_zones": ("Rounds landing in warning zones", "rounds"),
    "rounds_warned_in_time": ("Rounds warned before impact", "rounds"),
    "warning_time_s.median": ("Warning time, median", "s"),
    "warning_time_s.p10": ("Warning time, 10th percentile", "s"),
    "warning_time_s.min": ("Warning time, shortest", "s"),
    "false_warnings": ("False warnings", "warnings"),
    "needless_shelter_person_s": ("Needless shelter (people × time under false warnings)",
                                  "person-s"),
    "people_warned_per_round_in_zone": ("People warned per round landing in a zone", "people"),
    "engagements": ("Engagements ordered", "bursts"),
    "intercepts": ("Intercepts", "rounds"),
    "leakers_on_assets": ("Leakers on defended assets", "rounds"),
    "rounds_fired": ("Interceptor rounds fired", "rounds"),
    "asset_rounds": ("Rounds whose true impact is on a defended asset", "rounds"),
    "asset_rounds_engageable": ("of those, engageable by some gun", "rounds"),
    "asset_rounds_engaged": ("of those, engaged", "rounds"),
    "asset_rounds_engageable_engaged": ("of those, engageable and engaged", "rounds"),
    "asset_rounds_killed": ("of those, shot down", "rounds"),
    "asset_rounds_not_tracked": ("of those, never tracked", "rounds"),
    "asset_rounds_not_engageable": ("of those, not engageable, by reason", "rounds"),
    "engageable_not_engaged": ("Engageable but not engaged (defects)", "round ids"),
    "rounds_engaged": ("Rounds engaged (any target)", "rounds"),
    "bursts_at_killed_rounds": ("Bursts at a round already shot down", "bursts"),
    "bursts_at_nothing": ("Bursts that met no live round (poor or false track)", "bursts"),
    "success_ratio_engaged": ("Success ratio: rounds killed ÷ rounds engaged", ""),
    "success_ratio_bursts": ("Success ratio: intercepts ÷ bursts", ""),
    "rounds_per_kill": ("Interceptor rounds per kill", "rounds"),
    "poi_cep_m": ("Point-of-impact error, CEP", "m"),
    "poo_cep_m": ("Point-of-origin error, CEP", "m"),
    "expected_casualties": ("Expected casualties", "people"),
    "engine_latency_ms.p50": ("Engine latency per scan, median", "ms"),
    "engine_latency_ms.p99": ("Engine latency per scan, 99th percentile", "ms"),
}
_SUFFIX_UNITS = (("_ms", "ms"), ("_s", "s"), ("_m2", "m²"), ("_m", "m"), ("_mps", "m/s"),
                 ("_deg", "°"), ("_kg", "kg"))


def fmt(value: Any, digits: int = 1) -> str:
    """A value for the page: ``none`` for missing/NaN, integers as is, floats rounded."""
    if value is None:
        return NONE
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if not math.isfinite(f):
            return NONE
        if f == round(f) and abs(f) < 1e12:
            return str(round(f))
        if abs(f) >= 100:
            return f"{f:.0f}"
        if abs(f) >= 1:
            return f"{f:.{digits}f}"
        return f"{f:.3g}"
    if isinstance(value, str):
        return value if value else NONE
    if isinstance(value, Sequence):
        return ", ".join(fmt(v) for v in value) if value else NONE
    return str(value)


def _unit_of(key: str) -> str:
    leaf = key.split(".")[0]
    for suffix, unit in _SUFFIX_UNITS:
        if leaf.endswith(suffix):
            return unit
    return ""


def _flatten(summary: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in summary.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.extend(_flatten(v, key + "."))
        else:
            out.append((key, v))
    return out


def _reason_text(counts: Mapping[str, Any]) -> str:
    """Non-zero reason counts in plain words ("out of range 2, not tracked 1"), or none."""
    from counterram.metrics.opportunity import REASON_LABELS

    parts = [f"{REASON_LABELS.get(k, k)} {fmt(v)}" for k, v in counts.items() if v]
    return ", ".join(parts) if parts else NONE


def summary_rows(summary: Mapping[str, Any]) -> list[dict[str, str]]:
    """Rows (label, value, unit) of the summary: known keys in a fixed order, then the rest."""
    reasons = summary.get("asset_rounds_not_engageable")
    if isinstance(reasons, Mapping):  # one row in words, not one row per reason
        summary = {**summary, "asset_rounds_not_engageable": _reason_text(reasons)}
    flat = dict(_flatten(summary))
    for parent in ("warning_time_s", "engine_latency_ms"):  # a null group: show its parts
        if parent in flat and flat[parent] is None:
            del flat[parent]
            for key in _SUMMARY_FIELDS:
                if key.startswith(parent + "."):
                    flat.setdefault(key, None)
    rows = []
    for key, (label, unit) in _SUMMARY_FIELDS.items():
        if key in flat:
            rows.append({"key": key, "label": label, "value": fmt(flat.pop(key)), "unit": unit})
    for key, value in flat.items():
        rows.append({"key": key, "label": key.replace("_", " "), "value": fmt(value),
                     "unit": _unit_of(key)})
    return rows


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def narrative(summary: Mapping[str, Any], analysis: RunAnalysis) -> str:
    """A few plain sentences on the run, from the summary (the analysis fills gaps)."""

    def get(key: str, fallback: Any = None) -> Any:
        v = summary.get(key)
        return fallback if v is None else v

    a = analysis
    launched = get("rounds_launched", a.n_rounds)
    parts = [f"{_plural(int(launched), 'round')} launched"]
    detected = get("rounds_detected", int(np.isfinite(a.first_detection_s).sum()))
    parts.append(f"{detected} detected")
    in_zones = get("rounds_in_zones", int(a.in_zone.sum()))
    warned = get("rounds_warned_in_time",
                 int(np.isfinite(a.warning_time_s[a.in_zone]).sum()) if a.n_rounds else 0)
    wt = summary.get("warning_time_s")
    median = wt.get("median") if isinstance(wt, Mapping) else None
    if median is None and np.isfinite(a.warning_time_s[a.in_zone]).any():
        median = float(np.nanmedian(a.warning_time_s[a.in_zone]))
    zone_txt = f"{in_zones} landed in warning zones"
    if in_zones:
        who = "all" if warned == in_zones else f"{warned}"
        zone_txt += f", {who} warned before impact"
        if median is not None and warned:
            zone_txt += f" with a median warning of {fmt(float(median))} s"
    parts.append(zone_txt)
    engagements = get("engagements", len(a.engagements))
    intercepts = get("intercepts", int(a.intercepted.sum()))
    if engagements or intercepts:
        parts.append(f"{_plural(int(engagements), 'engagement')} ordered, "
                     f"{intercepts} intercepted")
    else:
        parts.append("no engagements")
    leakers = summary.get("leakers_on_assets")
    if leakers is not None:
        parts.append(f"{_plural(int(leakers), 'round')} hit defended assets")
    text = "; ".join(parts) + "."
    extra = []
    fw = summary.get("false_warnings")
    if fw is not None:
        extra.append(f"{_plural(int(fw), 'false warning')}")
    ft = summary.get("false_tracks")
    if ft is not None:
        extra.append(f"{_plural(int(ft), 'false track')}")
    if extra:
        text += " " + ", ".join(extra).capitalize() + "."
    cas = summary.get("expected_casualties")
    if cas is not None:
        text += f" Expected casualties: {fmt(float(cas))}."
    return text


def _t(value: float) -> str:
    """A time or duration in seconds, to 0.1 s; "—" when it did not happen."""
    return f"{float(value):.1f}" if np.isfinite(value) else "—"


def round_rows(truth: Truth, a: RunAnalysis) -> list[dict[str, str]]:
    """One table row per true round."""
    rows = []
    threats = truth.threat
    for r in range(len(truth)):
        assets, zones = truth.impact_assets[r], truth.impact_zones[r]
        pop = truth.impact_populated[r]
        place = ", ".join((*assets, *zones)) or (", ".join(pop) if pop else "open ground")
        killed = bool(a.intercepted[r])
        if killed:
            place = f"(would have fallen in {place})"
            outcome = f"intercepted by {a.killed_by[r]}" if a.killed_by[r] else "intercepted"
        else:
            outcome = "landed (engaged, missed)" if a.engaged_by[r] else "landed"
        if not a.in_zone[r]:
            warn_txt = "no zone"
        elif np.isfinite(a.warned_s[r]):
            warn_txt = _t(a.warned_s[r])
        else:
            warn_txt = "missed"
        rows.append({
            "id": str(int(truth.round_id[r])),
            "threat": str(threats[r]),
            "munition": str(truth.munition[r]),
            "launch": _t(truth.launch_time_s[r]),
            "end": _t(a.end_time_s[r]),
            "place": place,
            "asset_hit": "yes" if assets and not killed else "",
            "detected": _t(a.first_detection_s[r]),
            "warned": warn_txt,
            "warning_time": _t(a.warning_time_s[r]),
            "available": _t(a.available_s[r]),
            "engaged": (f"{_t(a.engaged_s[r])} ({', '.join(a.engaged_by[r])})"
                        if a.engaged_by[r] else "—"),
            "outcome": outcome,
            "outcome_class": "kill" if killed else ("hit" if assets else "land"),
        })
    return rows


def _intervals_text(intervals: Iterable[Any]) -> str:
    """Fire-time intervals per gun, as "gun-south 266.5–276.5, 281.5 s; gun-north 275.5 s"."""
    spans: dict[str, list[str]] = {}
    for iv in intervals:
        span = _t(iv.start_s) if iv.start_s == iv.end_s else f"{_t(iv.start_s)}–{_t(iv.end_s)}"
        spans.setdefault(iv.gun, []).append(span)
    return "; ".join(f"{gun} {', '.join(s)} s" for gun, s in spans.items()) or "—"


def opportunity_section(
    world: ResolvedScenario, truth: Truth, events: Sequence[Event], *,
    match_gate_m: float = MATCH_GATE_M,
) -> dict[str, Any]:
    """The "Engagement opportunity" section: one row per round whose true impact is on a
    defended asset (engageable, engaged, killed, leaked; defects flagged), the counts and the
    success ratios, from :mod:`counterram.metrics.opportunity` with the summary's track matching
    (:func:`counterram.metrics.matching.match_tracks`, as everywhere), so the numbers are
    summary.json's."""
    from counterram.metrics.opportunity import (
        REASON_LABELS,
        engagement_opportunity,
        engagement_tally,
        has_samples,
    )

    tracks = [e for e in events if isinstance(e, TrackEvent)]
    owner = match_tracks(truth, tracks, kill_times(events, len(truth)), gate_m=match_gate_m)
    opp = (engagement_opportunity(truth, world, events, owner=owner)
           if has_samples(truth) else None)
    tally = engagement_tally(truth, events, opp, owner=owner)
    fields = tally.as_summary()
    rows = []
    threats = truth.threat
    for a in tally.asset_rounds:
        r, op = a.round_id, a.opportunity
        if op is None:
            engageable, window, earliest, note = NONE, "—", "—", "not computed"
        else:
            engageable = "yes" if op.engageable else "no"
            window = _intervals_text(op.intervals)
            earliest = (f"{_t(op.earliest_fire_s)} ({op.earliest_gun})" if op.engageable
                        else "—")
            note = REASON_LABELS.get(op.reason, op.reason) if op.reason else ""
            if op.reason == "not_tracked":
                note += " (a gun could have reached it)" if op.reachable else (
                    " (no gun could have reached it)")
        if a.defect:
            note = "defect: engageable, not engaged"
        rows.append({
            "id": str(r),
            "threat": str(threats[r]),
            "munition": str(truth.munition[r]),
            "assets": ", ".join(truth.impact_assets[r]),
            "confirmed": _t(op.confirmed_s) if op is not None else "—",
            "engageable": engageable,
            "window": window,
            "earliest": earliest,
            "engaged": (f"{_t(a.engaged_s)} ({', '.join(a.engaged_by)})" if a.engaged_by
                        else ("yes" if a.engaged else "no")),
            "killed": _t(a.killed_s) if a.killed else "no",
            "leaked": "yes" if a.leaked else "no",
            "note": note,
            "row_class": "defect" if a.defect else ("kill" if a.killed else (
                "hit" if a.leaked else "")),
        })
    defects = [row for row, a in zip(rows, tally.asset_rounds, strict=True) if a.defect]
    reasons = fields["asset_rounds_not_engageable"]
    return {
        "computed": opp is not None,
        "rows": rows,
        "defects": defects,
        "counts": {k: fmt(fields[k]) for k in (
            "asset_rounds", "asset_rounds_engageable", "asset_rounds_engaged",
            "asset_rounds_killed", "asset_rounds_not_tracked", "rounds_engaged",
            "bursts_at_killed_rounds", "bursts_at_nothing")},
        "leaked": fmt(sum(a.leaked for a in tally.asset_rounds)),
        "reasons": _reason_text(reasons) if isinstance(reasons, Mapping) else NONE,
        "ratios": [
            {"label": "rounds killed ÷ rounds engaged",
             "value": fmt(fields["success_ratio_engaged"]),
             "detail": f"{tally.rounds_killed} of {tally.rounds_engaged}"},
            {"label": "intercepts ÷ bursts ordered",
             "value": fmt(fields["success_ratio_bursts"]),
             "detail": f"{tally.intercepts} of {tally.bursts}"},
            {"label": "interceptor rounds fired ÷ intercepts",
             "value": fmt(fields["rounds_per_kill"]),
             "detail": f"{tally.rounds_fired} rounds, {tally.intercepts} intercepts"},
        ],
        "grid": fmt(opp.grid_step_s) if opp is not None else NONE,
    }


def _site_rows(world: ResolvedScenario) -> dict[str, list[dict[str, str]]]:
    return {
        "assets": [{"name": a.name, "kind": a.kind, "value": fmt(a.value),
                    "area": fmt(a.area.area_m2 / 1e6, 2)} for a in world.assets],
        "zones": [{"name": z.name, "asset": z.asset or "—",
                   "area": fmt(z.area.area_m2 / 1e6, 2)} for z in world.zones],
        "sensors": [{"name": s.name, "type": str(getattr(s.spec, "type", "")),
                     "east": fmt(float(s.position_m[0])), "north": fmt(float(s.position_m[1]))}
                    for s in world.sensors],
        "effectors": [{"name": g.name, "type": str(getattr(g.spec, "type", "")),
                       "east": fmt(float(g.position_m[0])),
                       "north": fmt(float(g.position_m[1]))} for g in world.effectors],
    }


# ------------------------------------------------------------------------------------ rendering
def _template() -> jinja2.Template:
    text = (resources.files("counterram.sinks") / "templates" / "report.html.j2").read_text(
        encoding="utf-8"
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.from_string(text)


def render_report(
    scenario: Scenario | ResolvedScenario,
    truth: Truth,
    events: Sequence[Event | Mapping[str, Any]],
    summary: Mapping[str, Any] | None = None,
    *,
    match_gate_m: float = MATCH_GATE_M,
) -> str:
    """The report page as a string (see :func:`write_report`)."""
    from counterram.sinks import figures

    if isinstance(scenario, Scenario):
        world = resolve(scenario)
    elif isinstance(scenario, ResolvedScenario):
        world = scenario
    else:
        raise TypeError(
            f"scenario: expected a Scenario or ResolvedScenario, got {type(scenario).__name__}"
        )
    if not isinstance(truth, Truth):
        raise TypeError(f"truth: expected a Truth, got {type(truth).__name__}")
    summary = {} if summary is None else summary
    if not isinstance(summary, Mapping):
        raise TypeError(f"summary: expected a mapping, got {type(summary).__name__}")
    analysis = analyse_run(world, truth, events, match_gate_m=match_gate_m)
    opportunity = opportunity_section(world, truth, as_events(events), match_gate_m=match_gate_m)
    spec = world.scenario
    context = {
        "name": spec.name,
        "description": spec.description,
        "seed": fmt(summary.get("seed", truth.seed)),
        "origin": f"{spec.origin.latitude_deg:.4f}° N, {spec.origin.longitude_deg:.4f}° E, "
                  f"{spec.origin.altitude_m:g} m",
        "duration": fmt(float(spec.duration_s)),
        "summary": summary_rows(summary),
        "narrative": narrative(summary, analysis),
        "figures": figures.render_figures(world, truth, analysis),
        "rounds": round_rows(truth, analysis),
        "opportunity": opportunity,
        "site": _site_rows(world),
        "event_counts": list(analysis.event_counts.items()),
        "rejected": list(analysis.rejected_plots.items()),
        "tracks": {
            "seen": analysis.tracks_seen,
            "confirmed": analysis.tracks_confirmed,
            "matched": len(analysis.track_round),
            "unmatched": analysis.unmatched_tracks,
            "gate": fmt(float(match_gate_m)),
        },
        "warnings": [
            {"zone": w.zone, "issued": _t(w.issued_s),
             "cleared": _t(w.cleared_s) if math.isfinite(w.cleared_s) else "not cleared"}
            for w in analysis.warnings
        ],
    }
    return _template().render(**context)


def write_report(
    out_dir: str | Path,
    scenario: Scenario | ResolvedScenario,
    truth: Truth,
    events: Sequence[Event | Mapping[str, Any]],
    summary: Mapping[str, Any] | None = None,
    *,
    match_gate_m: float = MATCH_GATE_M,
) -> Path:
    """Write ``out_dir/report.html`` for a finished run and return its path.

    ``scenario`` is the scenario run (parsed or resolved), ``truth`` what flew, ``events`` the
    engine's and simulator's events in log order (objects or their dicts), ``summary`` the run's
    headline numbers (summary.json; missing or null values show as "none"). The file is
    self-contained and the same inputs give the same bytes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_NAME
    html = render_report(scenario, truth, events, summary, match_gate_m=match_gate_m)
    path.write_text(html, encoding="utf-8", newline="\n")
    return path
