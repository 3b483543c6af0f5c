"""A scenario in the site frame: what the simulation reads.

Scenario files mix latitude/longitude and east/north offsets; the simulation wants metres only.
:func:`resolve` converts every position once (through :class:`counterram.geo.Site`, flat-Earth
site frame: ``z`` is height above the origin's altitude) and every area to a shapely polygon in
metres, with vectorised ``contains`` and uniform ``sample`` helpers. The original specs stay
attached (``.spec``) for everything else they say.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import Point

from counterram.geo import Site
from counterram.scenario.equipment import GunSpec, RadarSpec
from counterram.scenario.schema import Scenario, ThreatSpec
from counterram.scenario.site_frame import QUAD_SEGS, ResolvedArea, area_to_site, point_to_site

if TYPE_CHECKING:
    from counterram.physics.atmosphere import Atmosphere
    from counterram.physics.wind import Wind

__all__ = [
    "ResolvedArea",
    "ResolvedAsset",
    "ResolvedEffector",
    "ResolvedPopulation",
    "ResolvedScenario",
    "ResolvedSensor",
    "ResolvedThreat",
    "ResolvedZone",
    "area_to_site",
    "point_to_site",
    "resolve",
]

@dataclass(frozen=True)
class ResolvedAsset:
    name: str
    kind: str
    value: float
    area: ResolvedArea


@dataclass(frozen=True)
class ResolvedZone:
    name: str
    area: ResolvedArea
    asset: str | None = None


@dataclass(frozen=True)
class ResolvedPopulation:
    name: str
    area: ResolvedArea
    density_per_m2: float


@dataclass(frozen=True)
class ResolvedSensor:
    spec: RadarSpec
    position_m: np.ndarray  # (3,)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class ResolvedEffector:
    spec: GunSpec
    position_m: np.ndarray  # (3,)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class ResolvedThreat:
    """A threat entry with its launch and aim geometry in metres: exactly one of
    ``launch_point_m`` (3,) / ``launch_area``, and one of ``aim_point_m`` (3,) / ``aim_area``."""

    spec: ThreatSpec
    launch_point_m: np.ndarray | None
    launch_area: ResolvedArea | None
    aim_point_m: np.ndarray | None
    aim_area: ResolvedArea | None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario with every position in site-frame metres."""

    scenario: Scenario
    site: Site
    assets: tuple[ResolvedAsset, ...]
    zones: tuple[ResolvedZone, ...]
    populated: tuple[ResolvedPopulation, ...]
    sensors: tuple[ResolvedSensor, ...]
    effectors: tuple[ResolvedEffector, ...]
    threats: tuple[ResolvedThreat, ...]

    @cached_property
    def seed_sequence(self) -> np.random.SeedSequence:
        """Root of every random stream (spawn one child per component)."""
        return np.random.SeedSequence(self.scenario.seed)

    def atmosphere(self) -> Atmosphere:
        """The physics atmosphere for this site (ISA shifted by the temperature offset)."""
        from counterram.physics.atmosphere import Atmosphere

        return Atmosphere(
            site_altitude_m=self.scenario.origin.altitude_m,
            temperature_offset_k=self.scenario.atmosphere.temperature_offset_k,
        )

    def wind(self) -> Wind:
        """The physics wind profile (calm when the file gives none)."""
        from counterram.physics.wind import CALM, Wind

        spec = self.scenario.atmosphere.wind
        if spec is None:
            return CALM
        if spec.constant is not None:
            return Wind.constant(spec.constant.east_mps, spec.constant.north_mps)
        layers: Any = spec.layers
        return Wind.layers(
            np.array([w.height_m for w in layers]),
            np.array([w.east_mps for w in layers]),
            np.array([w.north_mps for w in layers]),
        )


def resolve(scenario: Scenario | ResolvedScenario) -> ResolvedScenario:
    """Convert every position and area of ``scenario`` to the site frame.

    A scenario already in the site frame is returned as it is, so every consumer (simulator,
    engine, summary, report) can take either form through this one call.
    """
    if isinstance(scenario, ResolvedScenario):
        return scenario
    o = scenario.origin
    site = Site(o.latitude_deg, o.longitude_deg, o.altitude_m)
    assets = tuple(
        ResolvedAsset(a.name, a.kind, a.value, area_to_site(site, a))
        for a in scenario.defended_assets
    )
    by_name = {a.name: a for a in assets}
    zones = []
    for z in scenario.warning_zones:
        if z.asset is not None:
            if z.asset not in by_name:
                raise ValueError(f"warning zone {z.name!r} names unknown asset {z.asset!r}")
            base = by_name[z.asset].area
            area = base if z.buffer_m == 0 else _buffered(base, z.buffer_m)
        else:
            area = area_to_site(site, z)
            if z.buffer_m:
                area = _buffered(area, z.buffer_m)
        zones.append(ResolvedZone(z.name, area, z.asset))
    zones.extend(_districts(site, scenario))
    populated = tuple(
        ResolvedPopulation(p.name, area_to_site(site, p), p.density_per_km2 / 1e6)
        for p in scenario.populated_areas
    )
    sensors = tuple(ResolvedSensor(s, point_to_site(site, s.position)) for s in scenario.sensors)
    effectors = tuple(
        ResolvedEffector(g, point_to_site(site, g.position)) for g in scenario.effectors
    )
    threats = tuple(
        ResolvedThreat(
            t,
            None if t.position is None else point_to_site(site, t.position),
            None if t.launch_area is None else area_to_site(site, t.launch_area),
            None if t.aim_point is None else point_to_site(site, t.aim_point),
            None if t.aim_area is None else area_to_site(site, t.aim_area),
        )
        for t in scenario.threats
    )
    return ResolvedScenario(
        scenario, site, assets, tuple(zones), populated, sensors, effectors, threats
    )


def _districts(site: Site, scenario: Scenario) -> list[ResolvedZone]:
    """The generated warning districts (``warning_districts``), as zones."""
    spec = scenario.warning_districts
    if spec is None:
        return []
    from counterram.scenario.districts import district_names, district_polygons

    center = (0.0, 0.0) if spec.center is None else tuple(point_to_site(site, spec.center)[:2])
    polygons = district_polygons(center, spec.extent_m, spec.cells_per_side, spec.layout,
                                 spec.jitter, spec.seed)
    out = []
    for name, poly in zip(district_names(spec.prefix, spec.cells_per_side), polygons, strict=True):
        c = poly.centroid
        out.append(ResolvedZone(name, ResolvedArea(poly, np.array([c.x, c.y])), None))
    return out


def _buffered(area: ResolvedArea, buffer_m: float) -> ResolvedArea:
    if area.radius_m is not None:
        poly = Point(area.center_m).buffer(area.radius_m + buffer_m, quad_segs=QUAD_SEGS)
        return ResolvedArea(poly, area.center_m, area.radius_m + buffer_m)
    poly = area.polygon.buffer(buffer_m, quad_segs=QUAD_SEGS)
    c = poly.centroid
    return ResolvedArea(poly, np.array([c.x, c.y]))
