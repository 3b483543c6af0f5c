"""The current picture: what an operator sees now, rebuilt from the event stream.

Why it exists: the page keeps its own picture by applying each step's events as they arrive
(``static/view.js`` follows the same rules), but a page that connects late, or reloads, or a
replay that seeks, needs the picture as it stands without the whole log. :class:`Picture`
applies event dicts (as in ``events.jsonl``, docs/events.md) and hands out a JSON-ready
snapshot. What it keeps, and for how long, is the one set of display rules:

* tracks: confirmed until deleted, with their last :data:`HISTORY` positions, and the class and
  munition of their latest prediction;
* impact predictions: per track, until the track is deleted (or :data:`STALE_IMPACT_S` after
  the predicted impact time);
* origin estimates: per track, until :data:`ORIGIN_KEEP_S` after the track's deletion;
* warned zones: from ``warning`` to ``all_clear``;
* guns: their latest ``gun_status``;
* bursts (``engagement``): until :data:`BURST_KEEP_S` after the intercept time;
* truth (simulation only, marked so): launches, impacts, outcomes for :data:`TRUTH_KEEP_S`;
* the event list: the last :data:`LOG_SIZE` events, leaving out the periodic reports (track
  states, a track's impact predictions after its first).

An event that lacks the fields of its kind (a damaged log) is counted in ``skipped`` and
otherwise ignored: the view never stops on one bad line.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from typing import Any

__all__ = [
    "BURST_KEEP_S",
    "HISTORY",
    "LOG_SIZE",
    "ORIGIN_KEEP_S",
    "STALE_IMPACT_S",
    "TRUTH_KEEP_S",
    "Picture",
]

HISTORY = 30
"""Positions kept per track (its trail on the map)."""
LOG_SIZE = 200
"""Events kept in the event list."""
ORIGIN_KEEP_S = 120.0
"""How long an origin estimate stays after its track is deleted (counter-fire wants it)."""
STALE_IMPACT_S = 10.0
"""An impact prediction older than its impact time by this much is dropped."""
BURST_KEEP_S = 3.0
"""How long a burst stays drawn after its intercept time."""
TRUTH_KEEP_S = 20.0
"""How long a truth marker (launch, impact, outcome) stays."""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class Picture:
    """The picture built from events (module docstring). Not thread-safe: its owner locks."""

    def __init__(self) -> None:
        self.time_s: float | None = None
        self.tracks: dict[int, dict[str, Any]] = {}
        self.impacts: dict[int, dict[str, Any]] = {}
        self.origins: dict[int, dict[str, Any]] = {}
        self.zones: dict[str, dict[str, Any]] = {}
        self.guns: dict[str, dict[str, Any]] = {}
        self.bursts: list[dict[str, Any]] = []
        self.truth: list[dict[str, Any]] = []
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.counts: Counter[str] = Counter()
        self.skipped = 0

    # ------------------------------------------------------------------ events
    def apply(self, event: dict[str, Any]) -> None:
        """Take one event (a dict as in the event log) into the picture."""
        kind = event.get("kind")
        # periodic reports stay out of the event list: track states, repeated predictions
        repeat = (kind == "track" and bool(event.get("update"))) or (
            kind == "impact_prediction" and event.get("track_id") in self.impacts)
        try:
            self._apply(event)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            self.skipped += 1
            return
        self.counts[str(kind)] += 1
        if not repeat:
            self.log.append(event)

    def advance(self, time_s: float) -> None:
        """Move the picture's clock to ``time_s`` and drop what has expired by then."""
        t = _num(time_s)
        if t is None:
            return
        self.time_s = t if self.time_s is None else max(self.time_s, t)
        now = self.time_s
        for tid in [k for k, v in self.impacts.items()
                    if v["impact_time_s"] is not None
                    and now > v["impact_time_s"] + STALE_IMPACT_S]:
            del self.impacts[tid]
        for tid in [k for k, v in self.origins.items()
                    if v.get("expires_s") is not None and now > v["expires_s"]]:
            del self.origins[tid]
        self.bursts = [b for b in self.bursts if not now > b["expires_s"]]
        self.truth = [m for m in self.truth if not now > m["expires_s"]]

    def _apply(self, e: dict[str, Any]) -> None:
        kind = e["kind"]
        t = _num(e.get("time_s"))
        if t is not None:
            self.advance(t)
        if kind == "track":
            tid = int(e["track_id"])
            if e["status"] == "deleted":
                self.tracks.pop(tid, None)
                self.impacts.pop(tid, None)
                if tid in self.origins:
                    self.origins[tid]["expires_s"] = (t or 0.0) + ORIGIN_KEEP_S
                return
            pos = [float(x) for x in e["position_enu"]]
            track = self.tracks.get(tid)
            if track is None:
                track = {"track_id": tid, "history": [], "threat_class": "", "munition": ""}
                self.tracks[tid] = track
                for known in (self.impacts.get(tid), self.origins.get(tid)):
                    if known:
                        track["threat_class"] = known["threat_class"]
                        track["munition"] = known["munition"]
            track.update(time_s=t, position_enu=pos,
                         velocity_enu=[float(x) for x in e["velocity_enu"]],
                         position_sigma_m=_num(e.get("position_sigma_m")),
                         updates=e.get("updates"))
            track["history"].append(pos)
            del track["history"][:-HISTORY]
        elif kind in ("impact_prediction", "origin_estimate"):
            tid = int(e["track_id"])
            where = "impact_en" if kind == "impact_prediction" else "origin_en"
            item = {
                "track_id": tid, "time_s": t, "en": [float(x) for x in e[where]],
                "ellipse": dict(e["ellipse"]),
                "threat_class": str(e.get("threat_class") or ""),
                "munition": str(e.get("munition") or ""),
            }
            if kind == "impact_prediction":
                item["impact_time_s"] = _num(e.get("impact_time_s"))
                self.impacts[tid] = item
            else:
                item["launch_time_s"] = _num(e.get("launch_time_s"))
                item["expires_s"] = None if tid in self.tracks else (t or 0.0) + ORIGIN_KEEP_S
                self.origins[tid] = item
            if tid in self.tracks:
                self.tracks[tid]["threat_class"] = item["threat_class"]
                self.tracks[tid]["munition"] = item["munition"]
        elif kind == "warning":
            zone = str(e["zone"])
            since = self.zones.get(zone, {}).get("since_s", t)
            self.zones[zone] = {
                "zone": zone, "since_s": since, "time_s": t,
                "track_ids": [int(x) for x in e.get("track_ids", ())],
                "probability": _num(e.get("probability")),
                "predicted_impact_time_s": _num(e.get("predicted_impact_time_s")),
                "early": bool(e.get("early")),
            }
        elif kind == "all_clear":
            self.zones.pop(str(e["zone"]), None)
        elif kind == "gun_status":
            gun = str(e["gun"])
            self.guns[gun] = {"gun": gun, "state": str(e["state"]),
                              "magazine": e.get("magazine"),
                              "hold_reason": str(e.get("hold_reason") or ""), "time_s": t}
        elif kind == "engagement":
            it = _num(e.get("intercept_time_s"))
            self.bursts.append({
                "gun": str(e["gun"]), "track_id": int(e["track_id"]),
                "fire_time_s": _num(e.get("fire_time_s")), "intercept_time_s": it,
                "intercept_enu": [float(x) for x in e["intercept_enu"]],
                "rounds": e.get("rounds"), "predicted_pk": _num(e.get("predicted_pk")),
                "threatened_asset": e.get("threatened_asset") or "",
                "expires_s": (it if it is not None else (t or 0.0)) + BURST_KEEP_S,
            })
        elif kind in ("launch", "impact", "outcome") and e.get("truth"):
            where = {"launch": "launch_enu", "impact": "impact_enu",
                     "outcome": "debris_enu"}[kind]
            point = e.get(where)
            if not isinstance(point, list | tuple) or any(_num(x) is None for x in point[:2]):
                return  # a miss brings nothing down: its debris point is null (or nulls)
            self.truth.append({
                "kind": kind, "time_s": t, "enu": [float(x) for x in point],
                "round_id": e.get("round_id"), "killed": bool(e.get("killed")),
                "munition": e.get("munition") or "",
                "expires_s": (t or 0.0) + TRUTH_KEEP_S,
            })

    # ------------------------------------------------------------------ snapshot
    def snapshot(self) -> dict[str, Any]:
        """The picture as JSON-ready data (what a late-joining page starts from)."""
        return {
            "time_s": self.time_s,
            "tracks": [dict(v, history=list(v["history"])) for v in self.tracks.values()],
            "impacts": list(self.impacts.values()),
            "origins": list(self.origins.values()),
            "zones": list(self.zones.values()),
            "guns": list(self.guns.values()),
            "bursts": list(self.bursts),
            "truth": list(self.truth),
            "log": list(self.log),
            "counts": dict(self.counts),
            "skipped": self.skipped,
        }
