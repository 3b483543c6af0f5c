"""Typed, immutable, versioned events: the one language every consumer of the engine reads.

The engine and the simulator emit events; sinks (event log, summary, report, CoT, web view) only
read them and never reach into engine internals. Every event serialises to one JSON object with
``schema_version`` and ``kind`` first, so a log written by one version can be read by another and
a run replays as a timeline. Truth events (what really flew, simulation only) carry
``truth: true`` so that nothing downstream mistakes them for engine output.

Serialisation is deterministic (fixed key order, ``repr`` floats, arrays as nested lists), so the
same scenario and seed give a byte-identical event log. The schema is documented in
docs/events.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, ClassVar

import numpy as np

SCHEMA_VERSION = 1


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy arrays and scalars become lists and Python numbers; non-finite
    floats become None (JSON has no NaN)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events: something that happened at ``time_s`` (seconds, scenario time)."""

    kind: ClassVar[str] = "event"
    truth: ClassVar[bool] = False
    optional: ClassVar[frozenset[str]] = frozenset()
    """Fields left out of :meth:`to_dict` while unmeasured (NaN): what only some runs measure
    (a wall-clock engine's latencies) does not change the other runs' logs."""

    time_s: float

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict: schema_version, kind, truth, time_s, then fields."""
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": self.kind}
        if self.truth:
            out["truth"] = True
        for f in fields(self):
            value = _plain(getattr(self, f.name))
            if value is None and f.name in self.optional:
                continue
            out[f.name] = value
        return out

    def to_json(self) -> str:
        """One line of JSON (no spaces after separators, keys in declaration order)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


# ------------------------------------------------------------------------------------ the stream
@dataclass(frozen=True, slots=True)
class ZoneOutline:
    """A warning zone's outline in the site frame: its vertices (east, north, m, the closing
    vertex not repeated), and for a circle its centre and radius (NaN for a polygon)."""

    name: str
    vertices_en: tuple[tuple[float, float], ...] = ()
    center_en: tuple[float, float] = (0.0, 0.0)
    radius_m: float = math.nan


@dataclass(frozen=True, slots=True)
class StreamHeader(Event):
    """The first event of a run's stream (written by the run driver with the first step's
    events): what a consumer needs to place the stream's site-frame positions on the Earth and
    to draw its warning zones, without the scenario file. The same in a simulated run and in
    the live engine fed that run's plots, so it never names the mode or the wall clock:
    ``epoch_utc`` is the scenario's ``epoch`` (UTC of scenario time 0) and empty when the
    scenario sets none; ``simulated`` says that the plots were drawn by a simulation (the plot
    stream's header carries a seed)."""

    kind: ClassVar[str] = "header"
    scenario: str = ""
    latitude_deg: float = math.nan
    longitude_deg: float = math.nan
    altitude_m: float = 0.0
    frame: str = "site"
    epoch_utc: str = ""
    simulated: bool = False
    zones: tuple[ZoneOutline, ...] = ()


# ------------------------------------------------------------------------------ truth (simulation)
@dataclass(frozen=True, slots=True)
class RoundLaunched(Event):
    """Truth: a round left its launcher."""

    kind: ClassVar[str] = "launch"
    truth: ClassVar[bool] = True
    round_id: int = -1
    munition: str = ""
    launch_enu: tuple[float, float, float] = (0.0, 0.0, 0.0)
    aim_enu: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class RoundImpacted(Event):
    """Truth: a round reached the ground (not intercepted), with where it landed."""

    kind: ClassVar[str] = "impact"
    truth: ClassVar[bool] = True
    round_id: int = -1
    impact_enu: tuple[float, float, float] = (0.0, 0.0, 0.0)
    assets: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    populated_areas: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------- tracking
@dataclass(frozen=True, slots=True)
class TrackEvent(Event):
    """A track's state: ``status`` is tentative, confirmed or deleted; ``reason`` for deletions.
    ``update`` is False for a life-cycle change (confirmation, deletion) and True for a periodic
    state report of a live track."""

    kind: ClassVar[str] = "track"
    track_id: int = -1
    status: str = "confirmed"
    position_enu: tuple[float, float, float] = (0.0, 0.0, 0.0)
    velocity_enu: tuple[float, float, float] = (0.0, 0.0, 0.0)
    position_sigma_m: float = math.nan
    updates: int = 0
    reason: str = ""
    update: bool = False
    sensors: int = 0
    """How many radars' plots the track has used (0: not known, as in logs written before the
    field existed); two or more make it a fused track."""


@dataclass(frozen=True, slots=True)
class Ellipse:
    """A ground error ellipse: semi-axes (m), orientation of the major axis (compass degrees),
    and the probability it contains."""

    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    probability: float


@dataclass(frozen=True, slots=True)
class ImpactPredicted(Event):
    """Predicted point of impact of a track with its uncertainty."""

    kind: ClassVar[str] = "impact_prediction"
    track_id: int = -1
    impact_en: tuple[float, float] = (0.0, 0.0)
    covariance_m2: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    ellipse: Ellipse | None = None
    impact_time_s: float = math.nan
    impact_time_sigma_s: float = math.nan
    threat_class: str = ""
    munition: str = ""
    latitude_deg: float = math.nan
    longitude_deg: float = math.nan


@dataclass(frozen=True, slots=True)
class OriginEstimated(Event):
    """Estimated point of origin (launch point) of a track, for responders."""

    kind: ClassVar[str] = "origin_estimate"
    track_id: int = -1
    origin_en: tuple[float, float] = (0.0, 0.0)
    covariance_m2: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    ellipse: Ellipse | None = None
    launch_time_s: float = math.nan
    threat_class: str = ""
    munition: str = ""
    latitude_deg: float = math.nan
    longitude_deg: float = math.nan


# -------------------------------------------------------------------------------------- warning
@dataclass(frozen=True, slots=True)
class WarningIssued(Event):
    """INCOMING for a zone: first warning (``update`` False) or a change of an active one."""

    kind: ClassVar[str] = "warning"
    optional: ClassVar[frozenset[str]] = frozenset({"plot_arrival_s", "latency_ms"})
    zone: str = ""
    track_ids: tuple[int, ...] = ()
    probability: float = 0.0
    predicted_impact_time_s: float = math.nan
    update: bool = False
    early: bool = False
    plot_arrival_s: float = math.nan
    """Wall-clock engine only: the monotonic receive time of the plot that caused the warning
    (the latest-received plot that updated one of ``track_ids``; docs/running.md)."""
    latency_ms: float = math.nan
    """Wall-clock engine only: plot-to-warning latency, from ``plot_arrival_s`` to the moment
    the step that issued the warning returned it."""


@dataclass(frozen=True, slots=True)
class AllClear(Event):
    """ALL CLEAR for a zone: its last threat has landed or gone, plus the margin, or
    (``released``) every threat's prediction has left the zone."""

    kind: ClassVar[str] = "all_clear"
    zone: str = ""
    released: bool = False


# ----------------------------------------------------------------------------------- engagement
@dataclass(frozen=True, slots=True)
class EngagementOrdered(Event):
    """A gun is ordered to fire a burst at a track."""

    kind: ClassVar[str] = "engagement"
    gun: str = ""
    track_id: int = -1
    fire_time_s: float = math.nan
    rounds: int = 0
    intercept_enu: tuple[float, float, float] = (0.0, 0.0, 0.0)
    intercept_time_s: float = math.nan
    azimuth_deg: float = math.nan
    elevation_deg: float = math.nan
    predicted_pk: float = math.nan
    expected_casualties: float = 0.0
    threatened_asset: str = ""


@dataclass(frozen=True, slots=True)
class EngagementOutcome(Event):
    """Simulation truth of a burst: kill or miss, and where its rounds and debris fell."""

    kind: ClassVar[str] = "outcome"
    truth: ClassVar[bool] = True
    gun: str = ""
    track_id: int = -1
    round_id: int = -1
    killed: bool = False
    miss_distance_m: float = math.nan
    duds: int = 0
    expected_casualties: float = 0.0
    debris_enu: tuple[float, float, float] = (math.nan, math.nan, math.nan)


@dataclass(frozen=True, slots=True)
class GunStatus(Event):
    """A gun's state: ``state`` ready, slewing, firing, hold or empty; ``hold_reason`` why not."""

    kind: ClassVar[str] = "gun_status"
    gun: str = ""
    state: str = "ready"
    magazine: int = 0
    hold_reason: str = ""


# ----------------------------------------------------------------------------------- input health
@dataclass(frozen=True, slots=True)
class PlotRejected(Event):
    """Plots the engine refused (malformed, too late, unknown sensor), counted by reason."""

    kind: ClassVar[str] = "plot_rejected"
    reason: str = ""
    count: int = 1
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SensorHealth(Event):
    """A radar gone ``silent`` (no plot for longer than its recent rate makes plausible) or
    ``recovered`` (its first plot after that), ``silent_s`` how long it had been quiet; or
    ``inconsistent`` (its plots disagree with the tracks the other radars feed: a bias) and
    ``consistent`` again (:mod:`counterram.health`)."""

    kind: ClassVar[str] = "sensor_health"
    sensor_id: int = 0
    sensor: str = ""
    status: str = ""
    silent_s: float = 0.0
    detail: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        StreamHeader,
        RoundLaunched,
        RoundImpacted,
        TrackEvent,
        ImpactPredicted,
        OriginEstimated,
        WarningIssued,
        AllClear,
        EngagementOrdered,
        EngagementOutcome,
        GunStatus,
        PlotRejected,
        SensorHealth,
    )
}
"""Every event kind and its class."""


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its dict (as read back from an event log)."""
    kind = data.get("kind")
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(sorted(EVENT_TYPES))}")
    cls = EVENT_TYPES[kind]
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    if "ellipse" in values and isinstance(values["ellipse"], dict):
        values["ellipse"] = Ellipse(**values["ellipse"])
    if cls is StreamHeader and isinstance(values.get("zones"), list):
        values["zones"] = tuple(_zone_from_dict(z) for z in values["zones"])
    for k, v in list(values.items()):
        if k == "zones" and cls is StreamHeader:
            continue
        if isinstance(v, list):
            values[k] = tuple(tuple(x) if isinstance(x, list) else x for x in v)
        elif v is None and k != "ellipse":
            values[k] = math.nan
    return cls(**values)


def _zone_from_dict(data: Any) -> ZoneOutline:
    if not isinstance(data, dict):
        raise ValueError(f"a header zone is a mapping, got {data!r:.80}")
    radius = data.get("radius_m")
    return ZoneOutline(
        name=str(data.get("name", "")),
        vertices_en=tuple(tuple(map(float, v)) for v in data.get("vertices_en") or ()),
        center_en=tuple(map(float, data.get("center_en") or (0.0, 0.0))),  # type: ignore[arg-type]
        radius_m=math.nan if radius is None else float(radius),
    )


__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "AllClear",
    "Ellipse",
    "EngagementOrdered",
    "EngagementOutcome",
    "Event",
    "GunStatus",
    "ImpactPredicted",
    "OriginEstimated",
    "PlotRejected",
    "RoundImpacted",
    "RoundLaunched",
    "SensorHealth",
    "StreamHeader",
    "TrackEvent",
    "WarningIssued",
    "ZoneOutline",
    "event_from_dict",
]
