"""Checks across fields, against the munition catalogue and on geometry.

The schema checks each field on its own; this module checks what needs several fields at once:
names that must be unique or must refer to something, munitions and charges that must exist in
the catalogue, aim points within the munition's reach from its launcher, polygons that must be
valid rings, geometry that must stay near the origin, and times that must fall inside the
scenario. Each finding is an :class:`Issue` located by its field path (the loader adds file and
line).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pydantic import BaseModel
from shapely.geometry import Point

from counterram.geo import Site
from counterram.scenario.geometry import Circle, EnuPoint, GeoPoint
from counterram.scenario.resolved import area_to_site, point_to_site
from counterram.scenario.schema import Scenario, ThreatSpec

__all__ = [
    "MAX_HEIGHT_M",
    "MAX_OFFSET_M",
    "MAX_RANGE_MARGIN",
    "MIN_RANGE_MARGIN",
    "Issue",
    "check_scenario",
]

#: Geometry must lie within this horizontal distance of the origin: the site frame is a flat
#: tangent plane, whose height error (d²/2R) reaches 280 m at 60 km, and no C-RAM sensor or
#: threat in the catalogue reaches much farther than the 20 km of a 122 mm rocket.
MAX_OFFSET_M = 60_000.0
#: Heights must lie between the ground (the site frame's flat ground at z = 0: a radar 500 m
#: underground sees nothing) and 20 km above it (higher than any C-RAM threat's apex).
MAX_HEIGHT_M = 20_000.0
_BELOW_GROUND_M = 1e-3  # rounding of altitudes converted to heights
#: Catalogue ranges hold for standard conditions; wind and temperature move them by a few per
#: cent, so aim distances up to 5 % beyond the maximum (or below the minimum) are accepted.
MAX_RANGE_MARGIN = 1.05
MIN_RANGE_MARGIN = 0.95

_NAMED = ("defended_assets", "warning_zones", "populated_areas", "sensors", "effectors", "threats")


@dataclass(frozen=True)
class Issue:
    """One cross-field finding: where (field path), what, the value and what is allowed."""

    loc: tuple[str | int, ...]
    message: str
    value: Any = None
    allowed: str = ""
    has_value: bool = True


def check_scenario(
    scenario: Scenario, catalogue: Any | None = None, *, runnable: bool = False
) -> list[Issue]:
    """Every cross-field problem of a schema-valid scenario (empty when it is consistent).

    ``catalogue`` defaults to the packaged munition catalogue. ``runnable`` adds what a run
    needs and a truth-only study does not: at least one sensor and one threat.
    """
    if catalogue is None:
        from counterram.physics.catalogue import load_catalogue

        catalogue = load_catalogue()
    o = scenario.origin
    site = Site(o.latitude_deg, o.longitude_deg, o.altitude_m)
    issues: list[Issue] = []
    if runnable:
        issues += _check_present(scenario)
    issues += _check_names(scenario)
    issues += _check_references(scenario)
    issues += _check_times(scenario)
    geometry_issues = _check_geometry(scenario, site)
    issues += geometry_issues
    bad_places = {i.loc[:3] for i in geometry_issues}
    issues += _check_equipment(scenario, catalogue)
    for index, threat in enumerate(scenario.threats):
        issues += _check_threat(threat, index, site, catalogue, bad_places)
    return issues


def _check_present(scenario: Scenario) -> Iterator[Issue]:
    """What every run needs: a radar for the engine to track with and a threat to fire (a
    scenario without either validates and then cannot run)."""
    if not scenario.sensors:
        yield Issue(("sensors",), "no sensors: the engine needs at least one radar", None,
                    "a list of one or more radars (type lcmr, wlr or fcr)", has_value=False)
    if not scenario.threats:
        yield Issue(("threats",), "no threats: nothing would be fired", None,
                    "a list of one or more firing units", has_value=False)


def _check_names(scenario: Scenario) -> Iterator[Issue]:
    for collection in _NAMED:
        seen: dict[str, int] = {}
        for index, item in enumerate(getattr(scenario, collection)):
            if item.name in seen:
                yield Issue(
                    (collection, index, "name"),
                    f"duplicate name (also {collection}.{seen[item.name]})",
                    item.name,
                    f"names unique within {collection}",
                )
            else:
                seen[item.name] = index
    districts = scenario.warning_districts
    if districts is not None:
        from counterram.scenario.districts import district_names

        generated = set(district_names(districts.prefix, districts.cells_per_side))
        for index, zone in enumerate(scenario.warning_zones):
            if zone.name in generated:
                yield Issue(
                    ("warning_zones", index, "name"),
                    "also the name of a generated district (warning_districts.prefix)",
                    zone.name,
                    f"a name not of the form {districts.prefix}-NNNN, or another "
                    "warning_districts.prefix",
                )


def _check_references(scenario: Scenario) -> Iterator[Issue]:
    assets = [a.name for a in scenario.defended_assets]
    for index, zone in enumerate(scenario.warning_zones):
        if zone.asset is not None and zone.asset not in assets:
            yield Issue(
                ("warning_zones", index, "asset"),
                "unknown defended asset",
                zone.asset,
                _one_of(list(dict.fromkeys(assets)), "no defended assets are defined"),
            )
    effectors = [e.name for e in scenario.effectors]
    for index, sensor in enumerate(scenario.sensors):
        if sensor.attached_to is not None and sensor.attached_to not in effectors:
            yield Issue(
                ("sensors", index, "attached_to"),
                "unknown effector",
                sensor.attached_to,
                _one_of(list(dict.fromkeys(effectors)), "no effectors are defined"),
            )


def _check_times(scenario: Scenario) -> Iterator[Issue]:
    duration = scenario.duration_s
    for index, t in enumerate(scenario.threats):
        field = "start_time_s" if t.start_time_s is not None else "time_window_s"
        latest_start = t.start_time_s if t.start_time_s is not None else t.time_window_s[1]  # type: ignore[index]
        value = t.start_time_s if t.start_time_s is not None else list(t.time_window_s)  # type: ignore[arg-type]
        last_round = latest_start + (t.rounds - 1) * t.salvo_interval_s
        if latest_start > duration:
            yield Issue(("threats", index, field), "beyond the scenario's duration_s", value,
                        f"times within [0, {_num(duration)}] s")
        elif last_round > duration:
            yield Issue(
                ("threats", index, field),
                f"the last round ({t.rounds} rounds, {_num(t.salvo_interval_s)} s apart) may "
                f"leave at {_num(last_round)} s, after duration_s",
                value,
                f"last launch ≤ {_num(duration)} s",
            )


def _positions(obj: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple, Any]]:
    """Every position in a model tree with its field path."""
    if isinstance(obj, GeoPoint | EnuPoint):
        yield loc, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _positions(getattr(obj, name), (*loc, name))
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from _positions(item, (*loc, i))


def _polygons(obj: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple, Any]]:
    """Every model carrying a ``polygon`` ring, with its field path."""
    if isinstance(obj, BaseModel):
        if getattr(obj, "polygon", None) is not None:
            yield loc, obj
        for name in type(obj).model_fields:
            if name != "polygon":
                yield from _polygons(getattr(obj, name), (*loc, name))
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from _polygons(item, (*loc, i))


def _circles(obj: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple, Circle]]:
    """Every circle in a model tree, with its field path."""
    if isinstance(obj, Circle):
        yield loc, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _circles(getattr(obj, name), (*loc, name))
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from _circles(item, (*loc, i))


def _check_geometry(scenario: Scenario, site: Site) -> list[Issue]:
    issues: list[Issue] = []
    for loc, point in _positions(scenario, ()):
        e, n, z = point_to_site(site, point)
        offset = float(np.hypot(e, n))
        if offset > MAX_OFFSET_M:
            issues.append(Issue(
                loc, f"{_num(offset / 1000, 1)} km from the origin",
                point.model_dump(exclude_none=True),
                f"within {_num(MAX_OFFSET_M / 1000)} km of the origin",
            ))
        if not -_BELOW_GROUND_M <= z <= MAX_HEIGHT_M:
            where = f"{_num(-z, 1)} m below the ground" if z < 0 else f"{_num(z)} m up"
            issues.append(Issue(
                loc, where, point.model_dump(exclude_none=True),
                f"heights from 0 (the ground, the origin's altitude) to {_num(MAX_HEIGHT_M)} m",
            ))
    for loc, circle in _circles(scenario, ()):
        e, n, _ = point_to_site(site, circle.center)
        reach = float(np.hypot(e, n)) + circle.radius_m
        if reach > MAX_OFFSET_M and float(np.hypot(e, n)) <= MAX_OFFSET_M:
            issues.append(Issue(
                (*loc, "radius_m"), f"the circle reaches {_num(reach / 1000, 1)} km from the "
                "origin", circle.radius_m,
                f"centre distance + radius within {_num(MAX_OFFSET_M / 1000)} km of the origin",
            ))
    for loc, owner in _polygons(scenario, ()):
        ring = area_to_site(site, owner).vertices_m
        distinct = np.unique(np.round(ring, 3), axis=0)
        poly_loc = (*loc, "polygon")
        first, last = (point_to_site(site, owner.polygon[i])[:2] for i in (0, -1))
        if len(owner.polygon) > 3 and np.allclose(first, last, atol=1e-3):
            issues.append(Issue(poly_loc, "the ring repeats its first point at the end", None,
                                "the points in order around the area, the first one once "
                                "(the ring closes itself)", has_value=False))
            continue
        if len(distinct) < 3:
            issues.append(Issue(poly_loc, f"only {len(distinct)} distinct points", None,
                                "a ring of 3 or more distinct points", has_value=False))
            continue
        poly = shapely.Polygon(ring)
        if not poly.is_valid:
            issues.append(Issue(
                poly_loc, f"not a valid ring ({shapely.is_valid_reason(poly)})", None,
                "a simple ring: edges that do not cross, listed in order around the area",
                has_value=False,
            ))
    return issues


def _check_equipment(scenario: Scenario, catalogue: Any) -> Iterator[Issue]:
    for index, gun in enumerate(scenario.effectors):
        munition = _lookup(catalogue, gun.ammunition)
        if isinstance(munition, str):
            yield Issue(("effectors", index, "ammunition"), munition, gun.ammunition,
                        _interceptors(catalogue))
        elif munition.kind != "interceptor":
            yield Issue(("effectors", index, "ammunition"),
                        f"{munition.name} is a {munition.kind}, not an interceptor round",
                        gun.ammunition, _interceptors(catalogue))


def _check_threat(
    t: ThreatSpec, index: int, site: Site, catalogue: Any, bad_places: set[tuple]
) -> Iterator[Issue]:
    loc = ("threats", index)
    munition = _lookup(catalogue, t.munition)
    if isinstance(munition, str):
        yield Issue((*loc, "munition"), munition, t.munition, _threat_names(catalogue))
        return
    if munition.kind == "interceptor":
        yield Issue((*loc, "munition"), f"{munition.name} is an interceptor round, not a threat",
                    t.munition, _threat_names(catalogue))
        return
    if t.charge is not None and t.charge not in munition.charges:
        yield Issue((*loc, "charge"), f"{munition.name} has no such charge", t.charge,
                    "one of " + ", ".join(munition.charges) + " (or leave it out)")
    launch_field = "position" if t.position is not None else "launch_area"
    aim_field = "aim_point" if t.aim_point is not None else "aim_area"
    if (*loc, launch_field) in bad_places or (*loc, aim_field) in bad_places:
        return
    launch = _reach_shape(site, t.position, t.launch_area)
    aim = _reach_shape(site, t.aim_point, t.aim_area)
    nearest = float(launch[0].distance(aim[0]))
    diff = launch[1][:, None, :] - aim[1][None, :, :]
    farthest = float(np.sqrt((diff**2).sum(-1)).max())
    longest = MAX_RANGE_MARGIN * munition.max_range_m
    shortest = MIN_RANGE_MARGIN * munition.min_range_m
    single = t.position is not None and t.aim_point is not None
    if farthest > longest:
        what = (f"the aim point is {_num(farthest)} m from the launcher" if single else
                f"launch and aim places lie up to {_num(farthest)} m apart")
        yield Issue(
            (*loc, aim_field),
            f"{what}, beyond the reach of {munition.name}",
            _raw(t, aim_field),
            f"distances ≤ {_num(longest)} m ({MAX_RANGE_MARGIN} × max_range_m "
            f"{_num(munition.max_range_m)} m)",
        )
    if nearest < shortest:
        what = (f"the aim point is {_num(nearest)} m from the launcher" if single else
                f"launch and aim places come within {_num(nearest)} m")
        yield Issue(
            (*loc, aim_field),
            f"{what}, inside the minimum range of {munition.name}",
            _raw(t, aim_field),
            f"distances ≥ {_num(shortest)} m ({MIN_RANGE_MARGIN} × min_range_m "
            f"{_num(munition.min_range_m)} m)",
        )


def _reach_shape(site: Site, point: Any, area: Any) -> tuple[Any, np.ndarray]:
    """A launch or aim place as (shapely geometry, (K, 2) extreme points) in metres."""
    if point is not None:
        xy = point_to_site(site, point)[:2]
        return Point(xy), xy[None, :]
    resolved = area_to_site(site, area)
    return resolved.polygon, resolved.vertices_m


def _raw(t: ThreatSpec, field: str) -> Any:
    return getattr(t, field).model_dump(exclude_none=True)


def _lookup(catalogue: Any, name: str) -> Any:
    """The munition, or the catalogue's explanation of why there is none."""
    try:
        return catalogue.get(name)
    except ValueError as exc:  # UnknownMunitionError
        return str(exc).split(" Allowed munitions")[0]


def _threat_names(catalogue: Any) -> str:
    return "one of " + ", ".join(m.name for m in catalogue if m.kind != "interceptor")


def _interceptors(catalogue: Any) -> str:
    return "one of " + ", ".join(m.name for m in catalogue if m.kind == "interceptor")


def _one_of(names: list[str], empty: str) -> str:
    return "one of " + ", ".join(names) if names else empty


def _num(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"
