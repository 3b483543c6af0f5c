"""The engine's events as Cursor on Target: what each kind becomes on a TAK map.

Why it exists: the people C-RAM warns and the responders it sends use TAK; this is the one
place that decides how a track, a predicted impact, a point of origin, a warned zone, a burst
and a kill look there (docs/cot.md has the table). :class:`CotMapper` is pure apart from the
wall clock it may read once (to anchor a run without an epoch): events in, CoT messages out,
no I/O, so it is tested on its own and its cost measured per event.

Positions: the stream header (:class:`~counterram.events.StreamHeader`, the first event of a
run's stream) gives the site origin; site-frame points go to WGS84 through
:meth:`counterram.geo.Site.from_site`. Without a header only the impact and origin points
(which carry their own latitude/longitude) can be placed; the rest is counted as unplaced.

Times: CoT ``time`` is the run's epoch plus the event's ``time_s``. The epoch is the
scenario's (``epoch`` field, carried by the header) when it sets one, else the one given to
the mapper, else the wall clock at the first event less that event's ``time_s``: a run
without an epoch starts now, and a live stream timed by the wall clock stays on it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from counterram.events import (
    AllClear,
    EngagementOrdered,
    EngagementOutcome,
    Event,
    ImpactPredicted,
    OriginEstimated,
    StreamHeader,
    TrackEvent,
    WarningIssued,
    ZoneOutline,
)
from counterram.geo import Site
from counterram.scenario.schema import epoch_seconds
from counterram.sinks.cot_xml import (
    UNKNOWN_M,
    delete_xml,
    ellipse_xml,
    esc,
    event_xml,
    iso_utc,
    link_point_xml,
    private_xml,
)

__all__ = [
    "HOSTILE_PROJECTILE",
    "LAUNCHER_TYPES",
    "CotMapper",
    "CotMessage",
    "MapperOptions",
    "launcher_type",
]

HOSTILE_PROJECTILE = "a-h-A-W"
"""A hostile projectile in flight (MIL-STD-2525 air track, weapon)."""

LAUNCHER_TYPES = {
    "mortar": "a-h-G-E-W-O",
    "rocket": "a-h-G-E-W-X",
    "artillery": "a-h-G-E-W-H",
}
"""Hostile launcher by threat class (the catalogue's ``kind``): mortar, multiple rocket
launcher, howitzer."""

SINGLE_RAIL = {"107mm-rocket": "a-h-G-E-W-S"}
"""Munitions whose launcher is usually a single rail or tube (the catalogue's 107 mm rocket:
multi-tube launchers or improvised single rails; the single rail is the C-RAM case)."""

POINT_OF_INTEREST = "b-m-p-s-p-i"
ZONE_STROKE = -65536          # ARGB 0xFFFF0000: opaque red
ZONE_FILL = 1627324416        # ARGB 0x60FF0000: translucent red


def launcher_type(threat_class: str, munition: str = "") -> str:
    """The CoT type of a hostile launcher of ``threat_class`` (or of ``munition``)."""
    if munition in SINGLE_RAIL:
        return SINGLE_RAIL[munition]
    return LAUNCHER_TYPES.get(threat_class, "a-h-G-E-W")


@dataclass(frozen=True)
class CotMessage:
    """One CoT event: its ``uid``, the XML, when it goes stale (s since 1970) and, for a
    ``t-x-d-d``, the uid it removes; ``kind`` the event kind it came from."""

    uid: str
    xml: str
    stale_s: float
    kind: str
    removes: str | None = None


@dataclass(frozen=True)
class MapperOptions:
    """How long each kind of CoT event stays on a map (s): a track ``track_stale_s`` after its
    latest report (reports come every second); an impact point ``impact_margin_s`` after the
    predicted impact; a warned zone ``zone_margin_s`` after its predicted impact (an
    all-clear removes it before); a point of origin and its launcher ``origin_stale_s``; a
    burst marker ``burst_margin_s`` after its intercept; a kill ``kill_stale_s``."""

    track_stale_s: float = 5.0
    impact_margin_s: float = 60.0
    zone_margin_s: float = 30.0
    origin_stale_s: float = 1800.0
    burst_margin_s: float = 30.0
    kill_stale_s: float = 300.0


class CotMapper:
    """Events → :class:`CotMessage` (module docstring).

    ``epoch_s`` fixes scenario time 0 (seconds since 1970) when the stream's header has none;
    ``uid_prefix`` starts every uid (default ``counterram.SCENARIO.YYYYMMDDTHHMMSS`` of the
    epoch); ``opex`` None marks events ``s`` when the header says the plots are simulated,
    else ``opex`` as given ("" for none); ``clock`` is the wall clock (seconds since 1970).
    """

    def __init__(
        self,
        *,
        epoch_s: float | None = None,
        uid_prefix: str | None = None,
        opex: str | None = None,
        options: MapperOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or MapperOptions()
        self._epoch_given = epoch_s
        self.epoch_s: float | None = None
        self._prefix_given = uid_prefix
        self.uid_prefix = uid_prefix or "counterram"
        self._opex_given = opex
        self.opex = opex or ""
        self._clock = clock
        self.header: StreamHeader | None = None
        self.site: Site | None = None
        self.zones: dict[str, _Zone] = {}
        self._class: dict[int, tuple[str, str]] = {}
        self.unplaced = 0
        """Events that needed the site origin and came before (or without) a header."""
        self.mapped = 0

    # ------------------------------------------------------------------ public API
    def map(self, events: Iterable[Event]) -> list[CotMessage]:
        """The CoT messages of some events, in order (most events give one, some none: truth
        launches and impacts, gun states, input health)."""
        out: list[CotMessage] = []
        for e in events:
            if self.epoch_s is None:
                self._anchor(e)
            handler = _HANDLERS.get(type(e))
            if handler is not None:
                got = handler(self, e)
                self.mapped += len(got)
                out.extend(got)
        return out

    def track_uid(self, track_id: int) -> str:
        return f"{self.uid_prefix}.track.{track_id}"

    def zone_uid(self, zone: str) -> str:
        return f"{self.uid_prefix}.zone.{_uid_safe(zone)}"

    # ------------------------------------------------------------------ set-up
    def _anchor(self, e: Event) -> None:
        """Fix the epoch (and the uid prefix) at the stream's first event."""
        header = e if isinstance(e, StreamHeader) else None
        if header is not None and header.epoch_utc:
            self.epoch_s = epoch_seconds(header.epoch_utc)
        elif self._epoch_given is not None:
            self.epoch_s = float(self._epoch_given)
        else:
            self.epoch_s = self._clock() - float(e.time_s)
        if self._prefix_given is None:
            name = header.scenario if header is not None and header.scenario else "run"
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.epoch_s))
            self.uid_prefix = f"counterram.{_uid_safe(name)}.{stamp}"

    def _header(self, e: StreamHeader) -> list[CotMessage]:
        self.header = e
        if self._opex_given is None:
            self.opex = "s" if e.simulated else ""
        if math.isfinite(e.latitude_deg) and math.isfinite(e.longitude_deg):
            self.site = Site(e.latitude_deg, e.longitude_deg, e.altitude_m)
            self.zones = {z.name: _Zone.of(z, self.site) for z in e.zones}
        return []

    def _t(self, time_s: float) -> float:
        assert self.epoch_s is not None
        return self.epoch_s + float(time_s)

    def _geodetic(self, east: float, north: float, up: float) -> tuple[float, float, float]:
        assert self.site is not None
        lat, lon, alt = self.site.from_site(east, north, up)
        return float(lat), float(lon), float(alt)

    # ------------------------------------------------------------------ the kinds
    def _track(self, e: TrackEvent) -> list[CotMessage]:
        uid = self.track_uid(e.track_id)
        if e.status == "deleted":
            return [self._delete(uid, HOSTILE_PROJECTILE, e.time_s, "track")]
        if self.site is None:
            self.unplaced += 1
            return []
        lat, lon, hae = self._geodetic(*e.position_enu)
        ve, vn, vu = e.velocity_enu
        speed = math.hypot(ve, vn)
        course = math.degrees(math.atan2(ve, vn)) % 360.0
        slope = math.degrees(math.atan2(vu, speed)) if speed > 0 or vu else 0.0
        how = "m-f" if e.sensors >= 2 else "m-a"
        cls, munition = self._class.get(e.track_id, ("", ""))
        label = f"T{e.track_id}" + (f" {cls}" if cls else "")
        sigma = e.position_sigma_m
        radars = f", {e.sensors} radar{'s' if e.sensors > 1 else ''}" if e.sensors else ""
        remarks = (f"hostile {cls or 'projectile'} track {e.track_id}"
                   f"{' (' + munition + ')' if munition else ''}: {e.updates} plots{radars}, "
                   f"σ {_num(sigma, '.1f' if sigma < 10 else '.0f')} m, {speed:.0f} m/s, "
                   f"climbing {vu:.0f} m/s")
        detail = (f'<track course="{course:.2f}" speed="{speed:.2f}" slope="{slope:.2f}"/>'
                  f'<contact callsign="{esc(label)}"/><remarks>{esc(remarks)}</remarks>'
                  + private_xml(kind="track", time_s=_time_text(e.time_s),
                                track_id=e.track_id, status=e.status))
        t = self._t(e.time_s)
        stale = t + self.options.track_stale_s
        xml = event_xml(uid=uid, cot_type=HOSTILE_PROJECTILE, how=how, time_s=t, stale_s=stale,
                        lat=lat, lon=lon, hae=hae, ce=sigma, le=sigma, detail=detail,
                        opex=self.opex)
        return [CotMessage(uid, xml, stale, "track")]

    def _ground_point(self, e: ImpactPredicted | OriginEstimated, en: tuple[float, float]
                      ) -> tuple[float, float, float] | None:
        """(lat, lon, hae) of an impact or origin point: the event's own latitude/longitude,
        on the ground at the site's altitude."""
        alt = self.site.alt_m if self.site is not None else 0.0
        if math.isfinite(e.latitude_deg) and math.isfinite(e.longitude_deg):
            return e.latitude_deg, e.longitude_deg, alt
        if self.site is None:
            return None
        return self._geodetic(en[0], en[1], 0.0)

    def _impact(self, e: ImpactPredicted) -> list[CotMessage]:
        self._class[e.track_id] = (e.threat_class, e.munition)
        where = self._ground_point(e, e.impact_en)
        if where is None:
            self.unplaced += 1
            return []
        uid = f"{self.uid_prefix}.impact.{e.track_id}"
        mortar = e.threat_class == "mortar"
        t = self._t(e.time_s)
        impact_t = self._t(e.impact_time_s) if math.isfinite(e.impact_time_s) else t
        stale = max(impact_t, t) + self.options.impact_margin_s
        ell = e.ellipse
        shape = "" if ell is None else ellipse_xml(ell.semi_major_m, ell.semi_minor_m,
                                                   ell.orientation_deg)
        p = "" if ell is None else f", {100 * ell.probability:.0f} % within " \
            f"{ell.semi_major_m:.0f} × {ell.semi_minor_m:.0f} m"
        remarks = (f"predicted impact of track {e.track_id} ({e.munition or e.threat_class}) "
                   f"at {iso_utc(impact_t)} ± {_num(e.impact_time_sigma_s, '.1f')} s{p}")
        detail = (shape + f'<contact callsign="{esc(f"IMPACT T{e.track_id}")}"/>'
                  f"<remarks>{esc(remarks)}</remarks>"
                  + _link(self.track_uid(e.track_id), HOSTILE_PROJECTILE)
                  + private_xml(kind="impact_prediction", time_s=_time_text(e.time_s),
                                track_id=e.track_id))
        xml = event_xml(uid=uid, cot_type="b-d-i-m" if mortar else "b-d-i", how="h-c",
                        time_s=t, stale_s=stale, lat=where[0], lon=where[1], hae=where[2],
                        ce=_sigma_max(e.covariance_m2), detail=detail, opex=self.opex)
        return [CotMessage(uid, xml, stale, "impact_prediction")]

    def _origin(self, e: OriginEstimated) -> list[CotMessage]:
        where = self._ground_point(e, e.origin_en)
        if where is None:
            self.unplaced += 1
            return []
        t = self._t(e.time_s)
        stale = t + self.options.origin_stale_s
        mortar = e.threat_class == "mortar"
        ce = _sigma_max(e.covariance_m2)
        ell = e.ellipse
        shape = "" if ell is None else ellipse_xml(ell.semi_major_m, ell.semi_minor_m,
                                                   ell.orientation_deg)
        launched = iso_utc(self._t(e.launch_time_s)) if math.isfinite(e.launch_time_s) else "?"
        what = e.munition or e.threat_class or "round"
        remarks = f"point of origin of track {e.track_id} ({what}), launched {launched}"
        common = (f"<remarks>{esc(remarks)}</remarks>"
                  + _link(self.track_uid(e.track_id), HOSTILE_PROJECTILE)
                  + private_xml(kind="origin_estimate", time_s=_time_text(e.time_s),
                                track_id=e.track_id))
        uid = f"{self.uid_prefix}.origin.{e.track_id}"
        origin = event_xml(
            uid=uid, cot_type="b-d-l-m" if mortar else "b-d-l", how="h-c", time_s=t,
            stale_s=stale, lat=where[0], lon=where[1], hae=where[2], ce=ce,
            detail=shape + f'<contact callsign="{esc(f"POO T{e.track_id}")}"/>' + common,
            opex=self.opex)
        launcher_uid = f"{self.uid_prefix}.launcher.{e.track_id}"
        launcher = event_xml(
            uid=launcher_uid, cot_type=launcher_type(e.threat_class, e.munition), how="h-c",
            time_s=t, stale_s=stale, lat=where[0], lon=where[1], hae=where[2], ce=ce,
            detail=f'<contact callsign="{esc(f"LAUNCHER T{e.track_id}")}"/>' + common,
            opex=self.opex)
        return [CotMessage(uid, origin, stale, "origin_estimate"),
                CotMessage(launcher_uid, launcher, stale, "origin_estimate")]

    def _warning(self, e: WarningIssued) -> list[CotMessage]:
        zone = self.zones.get(e.zone)
        if zone is None:
            self.unplaced += 1
            return []
        uid = self.zone_uid(e.zone)
        t = self._t(e.time_s)
        if math.isfinite(e.predicted_impact_time_s):
            impact_t = self._t(e.predicted_impact_time_s)
            when = f"predicted impact {iso_utc(impact_t)} (in {impact_t - t:.0f} s)"
        else:
            impact_t, when = t, "impact time unknown"
        stale = max(impact_t, t) + self.options.zone_margin_s
        tracks = ", ".join(str(i) for i in e.track_ids)
        remarks = (f"INCOMING {e.zone}{' (early warning)' if e.early else ''}: tracks {tracks}; "
                   f"{when}; p = {e.probability:.2f}")
        detail = (zone.geometry + f'<strokeColor value="{ZONE_STROKE}"/>'
                  f'<fillColor value="{ZONE_FILL}"/><strokeWeight value="3.0"/>'
                  f'<contact callsign="{esc(f"INCOMING {e.zone}")}"/>'
                  f"<remarks>{esc(remarks)}</remarks>" + '<labels_on value="true"/>'
                  + private_xml(kind="warning", time_s=_time_text(e.time_s), zone=e.zone,
                                update=str(e.update).lower()))
        xml = event_xml(uid=uid, cot_type=zone.cot_type, how="h-c", time_s=t, stale_s=stale,
                        lat=zone.lat, lon=zone.lon, hae=zone.hae, detail=detail, opex=self.opex)
        return [CotMessage(uid, xml, stale, "warning")]

    def _all_clear(self, e: AllClear) -> list[CotMessage]:
        zone = self.zones.get(e.zone)
        cot_type = zone.cot_type if zone is not None else "u-d-f"
        return [self._delete(self.zone_uid(e.zone), cot_type, e.time_s, "all_clear")]

    def _engagement(self, e: EngagementOrdered) -> list[CotMessage]:
        if self.site is None:
            self.unplaced += 1
            return []
        lat, lon, hae = self._geodetic(*e.intercept_enu)
        fire_ms = round(e.fire_time_s * 1000.0) if math.isfinite(e.fire_time_s) else 0
        uid = f"{self.uid_prefix}.burst.{_uid_safe(e.gun)}.{e.track_id}.{fire_ms}"
        t = self._t(e.time_s)
        intercept_t = self._t(e.intercept_time_s) if math.isfinite(e.intercept_time_s) else t
        stale = max(intercept_t, t) + self.options.burst_margin_s
        fire = iso_utc(self._t(e.fire_time_s)) if math.isfinite(e.fire_time_s) else "?"
        remarks = (f"{e.gun} fires {e.rounds} rounds at track {e.track_id} at {fire} "
                   f"(az {_num(e.azimuth_deg, '.1f')}°, el {_num(e.elevation_deg, '.1f')}°); "
                   f"intercept {iso_utc(intercept_t)} at {hae:.0f} m; Pk "
                   f"{_num(e.predicted_pk, '.2f')}; defends {e.threatened_asset or '?'}; "
                   f"expected casualties {_num(e.expected_casualties, '.3f')}")
        detail = (f'<contact callsign="{esc(f"FIRE {e.gun} T{e.track_id}")}"/>'
                  f"<remarks>{esc(remarks)}</remarks>"
                  + _link(self.track_uid(e.track_id), HOSTILE_PROJECTILE)
                  + private_xml(kind="engagement", time_s=_time_text(e.time_s), gun=e.gun,
                                track_id=e.track_id))
        xml = event_xml(uid=uid, cot_type=POINT_OF_INTEREST, how="h-c", time_s=t,
                        stale_s=stale, lat=lat, lon=lon, hae=hae, detail=detail,
                        opex=self.opex)
        return [CotMessage(uid, xml, stale, "engagement")]

    def _outcome(self, e: EngagementOutcome) -> list[CotMessage]:
        """A kill, as the simulation's truth has it (the engine itself only sees the track
        end); a miss gives nothing."""
        if not e.killed or self.site is None or not all(map(math.isfinite, e.debris_enu)):
            return []
        lat, lon, hae = self._geodetic(*e.debris_enu)
        uid = f"{self.uid_prefix}.kill.{_uid_safe(e.gun)}.{e.track_id}.{round(e.time_s * 1000)}"
        t = self._t(e.time_s)
        stale = t + self.options.kill_stale_s
        remarks = (f"KILL: {e.gun}'s burst destroyed the round of track {e.track_id} "
                   f"(miss distance {_num(e.miss_distance_m, '.1f')} m; simulation)")
        detail = (f'<contact callsign="{esc(f"KILL T{e.track_id}")}"/>'
                  f"<remarks>{esc(remarks)}</remarks>"
                  + private_xml(kind="outcome", time_s=_time_text(e.time_s), gun=e.gun,
                                track_id=e.track_id))
        xml = event_xml(uid=uid, cot_type=POINT_OF_INTEREST, how="m-s", time_s=t,
                        stale_s=stale, lat=lat, lon=lon, hae=hae, detail=detail,
                        opex=self.opex or "s")
        return [CotMessage(uid, xml, stale, "outcome")]

    def _delete(self, target: str, target_type: str, time_s: float, kind: str) -> CotMessage:
        t = self._t(time_s)
        uid = f"{target}.delete.{round(time_s * 1000)}"
        xml = delete_xml(uid=uid, target_uid=target, target_type=target_type, time_s=t,
                         opex=self.opex)
        return CotMessage(uid, xml, t, kind, removes=target)


_HANDLERS: dict[type, Callable[[CotMapper, object], list[CotMessage]]] = {
    StreamHeader: CotMapper._header,  # type: ignore[dict-item]
    TrackEvent: CotMapper._track,  # type: ignore[dict-item]
    ImpactPredicted: CotMapper._impact,  # type: ignore[dict-item]
    OriginEstimated: CotMapper._origin,  # type: ignore[dict-item]
    WarningIssued: CotMapper._warning,  # type: ignore[dict-item]
    AllClear: CotMapper._all_clear,  # type: ignore[dict-item]
    EngagementOrdered: CotMapper._engagement,  # type: ignore[dict-item]
    EngagementOutcome: CotMapper._outcome,  # type: ignore[dict-item]
}


@dataclass(frozen=True)
class _Zone:
    """A zone's CoT drawing, converted once: type, centre, and the geometry's XML."""

    cot_type: str
    lat: float
    lon: float
    hae: float
    geometry: str

    @classmethod
    def of(cls, zone: ZoneOutline, site: Site) -> _Zone:
        if math.isfinite(zone.radius_m):
            lat, lon, hae = site.from_site(zone.center_en[0], zone.center_en[1], 0.0)
            r = zone.radius_m
            return cls("u-d-c-e", float(lat), float(lon), float(hae), ellipse_xml(r, r, 0.0))
        v = np.asarray(zone.vertices_en, dtype=float).reshape(-1, 2)
        lats, lons, _ = site.from_site(v[:, 0], v[:, 1], np.zeros(len(v)))
        ring = [link_point_xml(a, b) for a, b in zip(lats.tolist(), lons.tolist(), strict=True)]
        if ring:
            ring.append(ring[0])  # a closed shape repeats its first vertex
        lat, lon, hae = site.from_site(zone.center_en[0], zone.center_en[1], 0.0)
        return cls("u-d-f", float(lat), float(lon), float(hae), "".join(ring))


def _sigma_max(cov: tuple[tuple[float, float], tuple[float, float]]) -> float:
    """1σ along the major axis of a 2×2 covariance (m): the circular error that no direction
    exceeds; unknown when the covariance is not finite."""
    try:
        (a, b), (c, d) = cov
        b = 0.5 * (float(b) + float(c))
        half = 0.5 * (float(a) - float(d))
        largest = 0.5 * (float(a) + float(d)) + math.sqrt(half * half + b * b)
    except (TypeError, ValueError):
        return UNKNOWN_M
    return math.sqrt(max(largest, 0.0)) if math.isfinite(largest) else UNKNOWN_M


def _link(uid: str, cot_type: str) -> str:
    return f'<link uid="{esc(uid)}" type="{cot_type}" relation="p-p"/>'


def _num(value: float, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) and math.isfinite(value) else "?"


def _time_text(time_s: float) -> str:
    return repr(float(time_s))


def _uid_safe(text: str) -> str:
    """Text for a uid: letters, digits, ``-`` and ``_``; anything else becomes ``_``."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "_"
