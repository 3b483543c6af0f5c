"""Warning zones and the probability that a predicted impact falls in each.

Why it exists: a localized warning ("take cover" only where the round may land) needs, per track and
per zone, the probability that the round lands in the zone. With the predicted impact as a
Gaussian (mean, 2×2 covariance from :mod:`counterram.prediction.impact`) that probability is the
Gaussian's mass inside the zone polygon. It is computed exactly by
:func:`counterram.engagement.polygon_mass.gaussian_masses` (Owen's T function, no sampling), all
tracks against all zones in one compiled call.

A prediction whose covariance is degenerate (a track so precise that the ellipse collapses)
gets a floor of ``min_sigma_m`` on each axis: the probability then stays well defined, and no
warning decision rests on sub-metre precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon

from counterram.engagement.polygon_mass import PolygonEdges, floor_covariance, gaussian_masses

__all__ = ["WarningZones"]


@dataclass(frozen=True)
class WarningZones:
    """Named warning-zone polygons in site-frame east/north metres."""

    names: tuple[str, ...]
    polygons: tuple[Polygon | MultiPolygon, ...]
    min_sigma_m: float = 1.0
    edges: PolygonEdges = field(init=False, repr=False, compare=False)
    """The zones' edges, flattened once for :func:`gaussian_masses`."""

    def __post_init__(self) -> None:
        if len(self.names) != len(self.polygons):
            raise ValueError("WarningZones: names and polygons must have the same length")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"WarningZones: zone names must be unique; got {self.names}")
        for name, poly in zip(self.names, self.polygons, strict=True):
            if not isinstance(poly, (Polygon, MultiPolygon)) or poly.is_empty:
                raise ValueError(f"warning zone {name!r}: polygon must be a non-empty polygon")
        if not self.min_sigma_m > 0:
            raise ValueError("WarningZones.min_sigma_m must be > 0")
        object.__setattr__(self, "edges", PolygonEdges.of(self.polygons))

    @classmethod
    def from_scenario(cls, resolved: object) -> WarningZones:
        """The warning zones of a :class:`~counterram.scenario.resolved.ResolvedScenario`."""
        zones = getattr(resolved, "zones", None)
        if zones is None:
            raise ValueError("from_scenario expects a ResolvedScenario (with .zones)")
        return cls(tuple(z.name for z in zones), tuple(z.area.polygon for z in zones))

    @classmethod
    def from_polygons(
        cls, polygons: dict[str, Polygon | MultiPolygon] | Sequence[tuple[str, Polygon]]
    ) -> WarningZones:
        items = list(polygons.items()) if isinstance(polygons, dict) else list(polygons)
        return cls(tuple(n for n, _ in items), tuple(p for _, p in items))

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown warning zone {name!r}; zones are {self.names}") from None

    def probabilities(self, mean_en: ArrayLike, cov_en: ArrayLike) -> NDArray[np.float64]:
        """P(impact in zone) for N Gaussians (means (N, 2), covariances (N, 2, 2)): (N, Z).

        Rows with a non-finite mean or covariance (a failed prediction) get probability 0.
        """
        mu = np.atleast_2d(np.asarray(mean_en, dtype=float))
        cov = np.asarray(cov_en, dtype=float)
        if cov.ndim == 2:
            cov = cov[None]
        n = mu.shape[0]
        if mu.shape != (n, 2) or cov.shape != (n, 2, 2):
            raise ValueError(
                f"mean_en must be (N, 2), cov_en (N, 2, 2); got {mu.shape}, {cov.shape}"
            )
        out = np.zeros((n, len(self)))
        ok = np.all(np.isfinite(mu), axis=1) & np.all(np.isfinite(cov), axis=(1, 2))
        if not ok.any() or len(self) == 0:
            return out
        out[ok] = gaussian_masses(mu[ok], floor_covariance(cov[ok], self.min_sigma_m),
                                  self.edges)
        return out
