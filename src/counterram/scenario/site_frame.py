"""Scenario positions and areas in the site frame: points → ENU metres, polygons and circles →
shapely polygons (:class:`ResolvedArea`).

Kept below the scenario schema (it needs only the geometry types and the site) so that
equipment models — a gun's no-fire areas — can be resolved without importing the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import shapely
from numpy.typing import ArrayLike
from shapely.geometry import Point, Polygon

from counterram.geo import Site
from counterram.scenario.geometry import Circle, EnuPoint, GeoPoint

__all__ = ["QUAD_SEGS", "ResolvedArea", "Shape", "area_to_site", "point_to_site"]


class Shape(Protocol):
    """A scenario area: a polygon of positions or a circle (areas, zones, no-fire areas)."""

    polygon: tuple[GeoPoint | EnuPoint, ...] | None
    circle: Circle | None


# Circles become polygons with 4 * 32 = 128 vertices: the polygon's area is short of the disc's
# by 1 - sin(2π/128)·128/(2π) ≈ 0.04 %, far below any other uncertainty in a scenario.
QUAD_SEGS = 32


def point_to_site(site: Site | None, point: GeoPoint | EnuPoint) -> np.ndarray:
    """A scenario position → site-frame metres, shape (3,) = (east, north, z)."""
    if isinstance(point, EnuPoint):
        return np.array([point.east_m, point.north_m, point.up_m])
    if site is None:
        raise ValueError("a geodetic position needs the scenario's origin")
    e, n, z = site.to_site(point.latitude_deg, point.longitude_deg, point.altitude_m)
    return np.array([float(e), float(n), float(z)])


def _ring_to_site(site: Site | None, ring: tuple[GeoPoint | EnuPoint, ...]) -> np.ndarray:
    """Polygon vertices → (K, 2) east/north metres; geodetic ones converted in one call."""
    out = np.empty((len(ring), 2))
    geo_idx = [i for i, p in enumerate(ring) if isinstance(p, GeoPoint)]
    for i, p in enumerate(ring):
        if isinstance(p, EnuPoint):
            out[i] = (p.east_m, p.north_m)
    if geo_idx:
        if site is None:
            raise ValueError("a geodetic position needs the scenario's origin")
        lat = np.array([ring[i].latitude_deg for i in geo_idx])  # type: ignore[union-attr]
        lon = np.array([ring[i].longitude_deg for i in geo_idx])  # type: ignore[union-attr]
        e, n, _ = site.to_site(lat, lon)
        out[geo_idx, 0] = e
        out[geo_idx, 1] = n
    return out


@dataclass(frozen=True)
class ResolvedArea:
    """An area on the ground in site-frame metres.

    ``polygon`` is a shapely polygon (a circle is a 128-gon); ``center_m`` the circle's centre
    or the polygon's centroid; ``radius_m`` set for circles only.
    """

    polygon: Polygon
    center_m: np.ndarray
    radius_m: float | None = None

    @property
    def area_m2(self) -> float:
        return float(np.pi * self.radius_m**2) if self.radius_m is not None else self.polygon.area

    @property
    def vertices_m(self) -> np.ndarray:
        """Exterior ring vertices, (K, 2), without the closing repeat."""
        return np.asarray(self.polygon.exterior.coords)[:-1, :2]

    def contains(self, east_m: ArrayLike, north_m: ArrayLike) -> np.ndarray:
        """Whether each point lies inside or on the boundary (vectorised, any shape)."""
        if self.radius_m is not None:
            de = np.asarray(east_m) - self.center_m[0]
            dn = np.asarray(north_m) - self.center_m[1]
            return np.hypot(de, dn) <= self.radius_m
        return shapely.intersects_xy(self.polygon, east_m, north_m)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points drawn uniformly inside, shape (n, 2) east/north metres."""
        if self.radius_m is not None:
            r = self.radius_m * np.sqrt(rng.random(n))
            theta = 2.0 * np.pi * rng.random(n)
            return self.center_m + np.column_stack((r * np.sin(theta), r * np.cos(theta)))
        # Rejection from the bounding box, in vectorised batches sized by the acceptance rate.
        x0, y0, x1, y1 = self.polygon.bounds
        accept = max(self.polygon.area / max((x1 - x0) * (y1 - y0), 1e-12), 1e-3)
        out: list[np.ndarray] = []
        have = 0
        while have < n:
            m = int(1.2 * (n - have) / accept) + 16
            pts = np.column_stack((rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)))
            pts = pts[shapely.contains_xy(self.polygon, pts[:, 0], pts[:, 1])]
            out.append(pts)
            have += len(pts)
        return np.concatenate(out)[:n]


def area_to_site(site: Site | None, area: Shape) -> ResolvedArea:
    """A scenario polygon or circle → :class:`ResolvedArea` (``asset`` zones excluded)."""
    if area.polygon is not None:
        poly = Polygon(_ring_to_site(site, area.polygon))
        c = poly.centroid
        return ResolvedArea(poly, np.array([c.x, c.y]))
    circle: Circle | None = area.circle
    if circle is None:
        raise ValueError("area has no polygon or circle")
    center = point_to_site(site, circle.center)[:2]
    poly = Point(center).buffer(circle.radius_m, quad_segs=QUAD_SEGS)
    return ResolvedArea(poly, center, float(circle.radius_m))
