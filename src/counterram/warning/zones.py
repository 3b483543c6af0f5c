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
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon

from counterram.engagement.polygon_mass import (
    PolygonEdges,
    floor_covariance,
    gaussian_pair_masses,
    screen_boxes,
)

__all__ = ["WarningZones"]


@dataclass(frozen=True)
class WarningZones:
    """Named warning-zone polygons in site-frame east/north metres."""

    names: tuple[str, ...]
    polygons: tuple[Polygon | MultiPolygon, ...]
    min_sigma_m: float = 1.0
    edges: PolygonEdges = field(init=False, repr=False, compare=False)
    """The zones' edges, flattened once for :func:`gaussian_masses`."""
    _positions: dict[str, int] = field(init=False, repr=False, compare=False)
    _index: shapely.STRtree = field(init=False, repr=False, compare=False)
    _areas: NDArray[np.float64] = field(init=False, repr=False, compare=False)

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
        object.__setattr__(self, "_positions", {n: j for j, n in enumerate(self.names)})
        object.__setattr__(self, "_index", shapely.STRtree(shapely.box(*self.edges.bounds.T)))
        object.__setattr__(self, "_areas", shapely.area(np.asarray(self.polygons, dtype=object)))

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

    def position(self, name: str) -> int:
        """The column of zone ``name`` (``KeyError`` if there is none): a dictionary lookup,
        where a city has thousands of zones."""
        return self._positions[name]

    def index(self, name: str) -> int:
        try:
            return self._positions[name]
        except KeyError:
            raise ValueError(f"unknown warning zone {name!r}; zones are {self.names}") from None

    def probabilities(self, mean_en: ArrayLike, cov_en: ArrayLike) -> NDArray[np.float64]:
        """P(impact in zone) for N Gaussians (means (N, 2), covariances (N, 2, 2)): (N, Z).

        Rows with a non-finite mean or covariance (a failed prediction) get probability 0.
        """
        rows, cols, p = self.pair_probabilities(mean_en, cov_en)
        out = np.zeros((np.atleast_2d(np.asarray(mean_en, dtype=float)).shape[0], len(self)))
        out[rows, cols] = p
        return out

    def pair_probabilities(
        self, mean_en: ArrayLike, cov_en: ArrayLike, floor: float = 0.0,
        include: ArrayLike | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """The entries of :meth:`probabilities` that may reach ``floor``, as ``(rows, zone
        columns, p)``, exact; the (row, zone) pairs of ``include`` (K, 2) are always weighed.

        The zones near each prediction come from an R-tree over the zones' bounding boxes
        (shapely's STRtree), queried with each Gaussian's box of
        :data:`~counterram.engagement.polygon_mass.SCREEN_SIGMAS` standard deviations (a zone
        outside it holds < 1e-16 of the mass). Of those, a pair whose mass is provably below
        ``floor`` is left out unweighed: the mass is at most the zone's area × the density's
        largest value over the zone's box, and that value is at most exp(−d²/2) / (2π √det Σ),
        with d the larger of the east and north gaps from the mean to the box in marginal
        standard deviations (the Mahalanobis distance of any point is at least each marginal
        one). A wide early prediction (σ of kilometres) over a city of small districts meets
        hundreds of zones in its box, and in none of them but the few nearest its centre can it
        reach a warning threshold; the warner asks for those, and for the pairs it already
        holds, so its decisions and records are those of the full matrix.
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
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
        finite = np.all(np.isfinite(mu), axis=1) & np.all(np.isfinite(cov), axis=(1, 2))
        ok = np.flatnonzero(finite)
        if not ok.size or len(self) == 0:
            return none
        mu, cov = mu[ok], floor_covariance(cov[ok], self.min_sigma_m)
        candidates = self._index.query(shapely.box(*screen_boxes(mu, cov).T))
        if floor > 0 and candidates.shape[1]:
            keep = self._may_reach(mu, cov, candidates, floor)
            if include is not None:
                must = np.asarray(include, dtype=np.int64).reshape(-1, 2)
                local = np.full(n, -1, dtype=np.int64)
                local[ok] = np.arange(ok.size)
                must_rows = local[must[:, 0]]
                must = must[must_rows >= 0]
                codes = must_rows[must_rows >= 0] * len(self) + must[:, 1]
                keep |= np.isin(candidates[0] * len(self) + candidates[1], codes)
            candidates = candidates[:, keep]
        if not candidates.shape[1]:
            return none
        pairs, mass = gaussian_pair_masses(mu, cov, self.edges,
                                           np.ascontiguousarray(candidates.T))
        return ok[pairs[:, 0]], pairs[:, 1], mass

    def pair_masses(
        self, mean_en: ArrayLike, cov_en: ArrayLike, pairs: ArrayLike
    ) -> NDArray[np.float64]:
        """Exact P(impact in zone) of the given (row, zone) ``pairs`` (K, 2) of N Gaussians
        (finite ones; the covariance floored as in :meth:`probabilities`); a zone outside the
        Gaussian's screening box gets 0, as in :meth:`probabilities`."""
        pr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        out = np.zeros(pr.shape[0])
        if not pr.shape[0]:
            return out
        mu = np.atleast_2d(np.asarray(mean_en, dtype=float))
        cov = floor_covariance(np.asarray(cov_en, dtype=float).reshape(-1, 2, 2),
                               self.min_sigma_m)
        box = screen_boxes(mu[pr[:, 0]], cov[pr[:, 0]])
        zb = self.edges.bounds[pr[:, 1]]
        near = np.flatnonzero((box[:, 2] >= zb[:, 0]) & (box[:, 0] <= zb[:, 2])
                              & (box[:, 3] >= zb[:, 1]) & (box[:, 1] <= zb[:, 3]))
        if near.size:
            out[near] = gaussian_pair_masses(mu, cov, self.edges,
                                             np.ascontiguousarray(pr[near]))[1]
        return out

    def mass_bounds(
        self, mean_en: ArrayLike, cov_en: ArrayLike, pairs: ArrayLike
    ) -> NDArray[np.float64]:
        """Upper bounds of P(impact in zone) for (row, zone) ``pairs`` (K, 2), from the
        density's largest value over the zone's box (:meth:`pair_probabilities`)."""
        pr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        mu = np.atleast_2d(np.asarray(mean_en, dtype=float))
        cov = floor_covariance(np.asarray(cov_en, dtype=float).reshape(-1, 2, 2),
                               self.min_sigma_m)
        return self._bound(mu, cov, pr[:, 0], pr[:, 1])

    def _bound(self, mu: NDArray, cov: NDArray, i: NDArray, j: NDArray) -> NDArray[np.float64]:
        box = self.edges.bounds[j]
        m = mu[i]
        gap = np.maximum(np.maximum(box[:, :2] - m, m - box[:, 2:]), 0.0)
        var = np.stack([cov[i, 0, 0], cov[i, 1, 1]], axis=1)
        d2 = np.max(gap * gap / var, axis=1)
        det = cov[i, 0, 0] * cov[i, 1, 1] - cov[i, 0, 1] * cov[i, 1, 0]
        peak = 1.0 / (2.0 * np.pi * np.sqrt(np.maximum(det, 1e-300)))
        return np.minimum(self._areas[j] * peak * np.exp(-0.5 * d2), 1.0) * (1.0 + 1e-9)

    def _may_reach(
        self, mu: NDArray, cov: NDArray, candidates: NDArray, floor: float
    ) -> NDArray[np.bool_]:
        """Which candidate (Gaussian, zone) pairs may hold ``floor`` or more (the bound of
        :meth:`pair_probabilities`, with a margin for rounding)."""
        return self._bound(mu, cov, candidates[0], candidates[1]) >= floor
