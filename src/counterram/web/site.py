"""The site as the page draws it: the resolved scenario's geometry, as plain JSON.

Why it exists: the event stream says where tracks, impacts and bursts are, but not what the
site looks like; the page takes that from ``GET /api/site``, built here once from the resolved
scenario (:func:`counterram.scenario.resolved.resolve`): defended assets, warning zones,
populated areas with their density, radars with their sectors and ranges, guns with their
azimuth travel, ranges, magazine, no-fire sectors and no-fire areas. Everything is in the site
frame (east, north metres from the origin), as the events are; the origin and the metres per
degree at it let the page place it all on a user's tile map (a local tangent plane: within
metres over the tens of kilometres of a site, which is enough to draw on).
"""

from __future__ import annotations

import math
from typing import Any

from counterram.scenario.resolved import ResolvedArea, ResolvedScenario, area_to_site

__all__ = ["site_geometry"]

_A, _E2 = 6_378_137.0, 6.694_379_990_14e-3  # WGS84


def _ring(area: ResolvedArea) -> list[list[float]]:
    return [[round(float(e), 2), round(float(n), 2)] for e, n in area.vertices_m]


def _metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """Metres per degree of latitude and of longitude at ``lat_deg`` (WGS84)."""
    phi = math.radians(lat_deg)
    w = math.sqrt(1.0 - _E2 * math.sin(phi) ** 2)
    meridian = _A * (1.0 - _E2) / w**3
    normal = _A / w
    return meridian * math.pi / 180.0, normal * math.cos(phi) * math.pi / 180.0


def site_geometry(world: ResolvedScenario) -> dict[str, Any]:
    """The site of ``world`` as JSON-ready data (module docstring)."""
    sc = world.scenario
    guns = []
    for g in world.effectors:
        spec = g.spec
        guns.append({
            "name": g.name, "position_en": [float(x) for x in g.position_m[:2]],
            "heading_deg": spec.heading_deg, "azimuth_limit_deg": spec.azimuth_limit_deg,
            "min_range_m": spec.min_range_m, "max_range_m": spec.max_range_m,
            "magazine": spec.magazine,
            "no_fire_sectors": [
                {"from_azimuth_deg": s.from_azimuth_deg, "to_azimuth_deg": s.to_azimuth_deg,
                 "max_elevation_deg": s.max_elevation_deg} for s in spec.no_fire_sectors],
            "no_fire_areas": [
                {"name": a.name, "ring_en": _ring(area_to_site(world.site, a))}
                for a in spec.no_fire_areas],
        })
    radars = []
    for r in world.sensors:
        spec = r.spec
        radars.append({
            "name": r.name, "type": spec.type,
            "position_en": [float(x) for x in r.position_m[:2]],
            "sector_center_deg": getattr(spec, "sector_center_deg", 0.0),
            "sector_width_deg": getattr(spec, "sector_width_deg", 360.0),
            "min_range_m": spec.min_range_m, "max_range_m": spec.max_range_m,
            "attached_to": getattr(spec, "attached_to", None),
        })
    # the view opens on the defended site (a wide populated area would dwarf it) with room
    # for the guns' reach around it
    rings = [a.area for a in world.assets] + [z.area for z in world.zones]
    points = [v for area in rings for v in area.vertices_m.tolist()]
    points += [g["position_en"] for g in guns] + [r["position_en"] for r in radars]
    if not points:
        points = [[0.0, 0.0]]
    reach = max([g["max_range_m"] for g in guns] + [1000.0])
    east = [p[0] for p in points] + [min(p[0] for p in points) - reach,
                                     max(p[0] for p in points) + reach]
    north = [p[1] for p in points] + [min(p[1] for p in points) - reach,
                                      max(p[1] for p in points) + reach]
    lat_m, lon_m = _metres_per_degree(sc.origin.latitude_deg)
    return {
        "name": sc.name,
        "description": sc.description,
        "duration_s": sc.duration_s,
        "origin": {"latitude_deg": sc.origin.latitude_deg,
                   "longitude_deg": sc.origin.longitude_deg,
                   "altitude_m": sc.origin.altitude_m,
                   "metres_per_degree_latitude": lat_m,
                   "metres_per_degree_longitude": lon_m},
        "bounds_en": [[min(east), min(north)], [max(east), max(north)]],
        "assets": [{"name": a.name, "kind": a.kind, "value": a.value, "ring_en": _ring(a.area)}
                   for a in world.assets],
        "zones": [{"name": z.name, "asset": z.asset, "ring_en": _ring(z.area)}
                  for z in world.zones],
        "populated": [{"name": p.name, "density_per_km2": p.density_per_m2 * 1e6,
                       "ring_en": _ring(p.area)} for p in world.populated],
        "radars": radars,
        "guns": guns,
    }
