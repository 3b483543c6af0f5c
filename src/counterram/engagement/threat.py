"""Threat evaluation: which tracks threaten a defended asset, which asset, and how urgently.

Why it exists: a C-RAM gun has a few seconds and a finite magazine, and every burst drops duds,
fragments and debris on the defended area. Iron Dome's battle management shows the rule: predict
each round's impact point and engage only rounds that will land on something worth defending;
rounds headed for open ground are warned (where a warning zone covers them) but not engaged
(Reuters, FACTS.md section 1). This module applies that rule to N tracks at once.

For each track with a predicted impact (Gaussian mean and 2×2 covariance on the ground, from
:func:`counterram.prediction.impact.predict_impact`) and each defended asset a (polygon, value
V_a > 0):

* ``P_a`` = probability that the impact falls inside the asset's polygon — the Gaussian's mass in
  the polygon, exact (:func:`counterram.engagement.polygon_mass.gaussian_masses`, all assets in
  one call);
  each axis of the covariance is floored at ``min_sigma_m`` so that a collapsed ellipse keeps a
  well-defined probability;
* the **threatened asset** is the one with the largest expected loss V_a·P_a;
* the track is **engaged** when that asset's P_a ≥ ``min_probability`` (default 0.05), the
  prediction is valid and the impact is still ahead (t_go > 0);
* the **threat value** used by the weapon–target assignment is the expected loss if the round is
  not stopped, V = V_a·P_a, and the **priority** weights it by urgency:

      priority = V_a · P_a · τ / (τ + t_go)

  with t_go the predicted time to impact and τ = ``urgency_time_s`` (default 10 s): a round
  landing τ seconds from now counts half as much as one landing now, so among equally valuable
  rounds the gun turns first to the one that leaves the least time. The form is a model choice
  (monotone in value, probability and urgency, bounded, no division by zero at impact).

Populated areas are not assets here: the collateral side of an engagement (and of not engaging)
is weighed by fire control (:mod:`counterram.engagement.fire_control`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon

from counterram.engagement.polygon_mass import PolygonEdges, floor_covariance, gaussian_masses

__all__ = [
    "DefendedAssets",
    "ThreatAssessment",
    "ThreatConfig",
    "evaluate_threats",
    "floor_covariance",
]


@dataclass(frozen=True)
class ThreatConfig:
    """Threat evaluation settings (see the module docstring)."""

    min_probability: float = 0.05
    urgency_time_s: float = 10.0
    min_sigma_m: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_probability <= 1.0:
            raise ValueError(
                f"ThreatConfig.min_probability must be in [0, 1]; got {self.min_probability!r}"
            )
        if not (np.isfinite(self.urgency_time_s) and self.urgency_time_s > 0):
            raise ValueError(
                f"ThreatConfig.urgency_time_s must be > 0; got {self.urgency_time_s!r}"
            )
        if not (np.isfinite(self.min_sigma_m) and self.min_sigma_m > 0):
            raise ValueError(f"ThreatConfig.min_sigma_m must be > 0; got {self.min_sigma_m!r}")


@dataclass(frozen=True)
class DefendedAssets:
    """Named asset polygons (site-frame east/north metres) with their values (> 0)."""

    names: tuple[str, ...]
    polygons: tuple[Polygon | MultiPolygon, ...]
    values: NDArray[np.float64]
    edges: PolygonEdges = field(init=False, repr=False, compare=False)
    """The polygons' edges, flattened once for :func:`gaussian_masses`."""

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=float)
        if not (len(self.names) == len(self.polygons) == v.shape[0]):
            raise ValueError("DefendedAssets: names, polygons and values must have equal lengths")
        if not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise ValueError(f"DefendedAssets: values must be finite and > 0; got {v}")
        for name, poly in zip(self.names, self.polygons, strict=True):
            if not isinstance(poly, (Polygon, MultiPolygon)) or poly.is_empty:
                raise ValueError(f"defended asset {name!r}: polygon must be a non-empty polygon")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "edges", PolygonEdges.of(self.polygons))

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_scenario(cls, resolved: object) -> DefendedAssets:
        """The defended assets of a :class:`~counterram.scenario.resolved.ResolvedScenario`."""
        assets = getattr(resolved, "assets", None)
        if assets is None:
            raise ValueError("from_scenario expects a ResolvedScenario (with .assets)")
        return cls(
            tuple(a.name for a in assets),
            tuple(a.area.polygon for a in assets),
            np.array([a.value for a in assets], dtype=float),
        )

    @classmethod
    def from_polygons(
        cls, items: Sequence[tuple[str, Polygon | MultiPolygon, float]]
    ) -> DefendedAssets:
        """From (name, polygon, value) triples."""
        return cls(
            tuple(i[0] for i in items), tuple(i[1] for i in items),
            np.array([i[2] for i in items], dtype=float),
        )


@dataclass(frozen=True)
class ThreatAssessment:
    """Threat evaluation of N tracks (one row each) against A assets.

    ``probability`` (N, A) is P(impact in asset); ``asset_index`` (N,) the threatened asset (−1
    when none has a positive expected loss or the prediction is invalid) and ``asset`` its name
    (``""`` for none); ``p_asset`` and ``asset_value`` (N,) that asset's probability and value;
    ``value`` (N,) = V_a·P_a, the expected loss if the round lands; ``time_to_impact_s`` (N,);
    ``priority`` (N,) (module docstring); ``engage`` (N,) the decision. The predicted impact
    ``impact_en`` (N, 2), ``impact_cov_en`` (N, 2, 2) and ``impact_time_s`` (N,) are kept for fire
    control's collateral weighing.
    """

    time_s: float
    track_id: NDArray[np.int64]
    asset_names: tuple[str, ...]
    probability: NDArray[np.float64]
    asset_index: NDArray[np.int64]
    p_asset: NDArray[np.float64]
    asset_value: NDArray[np.float64]
    value: NDArray[np.float64]
    time_to_impact_s: NDArray[np.float64]
    priority: NDArray[np.float64]
    engage: NDArray[np.bool_]
    impact_en: NDArray[np.float64]
    impact_cov_en: NDArray[np.float64]
    impact_time_s: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    @property
    def asset(self) -> tuple[str, ...]:
        """Name of each row's threatened asset (``""`` for none)."""
        return tuple(self.asset_names[i] if i >= 0 else "" for i in self.asset_index)

    def ranked(self) -> NDArray[np.int64]:
        """Row indices of the engaged tracks, highest priority first (ties: lowest track id)."""
        rows = np.flatnonzero(self.engage)
        order = np.lexsort((self.track_id[rows], -self.priority[rows]))
        return rows[order]

    def row_of(self, track_id: int) -> int:
        """Row of a track id (−1 when absent)."""
        hits = np.flatnonzero(self.track_id == track_id)
        return int(hits[0]) if hits.size else -1


def evaluate_threats(
    now_s: float,
    track_id: ArrayLike,
    impact_en: ArrayLike,
    impact_cov_en: ArrayLike,
    impact_time_s: ArrayLike,
    assets: DefendedAssets,
    config: ThreatConfig | None = None,
    *,
    valid: ArrayLike | None = None,
) -> ThreatAssessment:
    """Evaluate N tracks' predicted impacts (means (N, 2), covariances (N, 2, 2), times (N,))
    against the defended assets. Rows with ``valid`` False or a non-finite prediction get no
    asset and are not engaged. With a ``GroundPrediction`` ``g``: ``impact_en=g.mean_en,
    impact_cov_en=g.cov_en, impact_time_s=g.time_s, valid=g.valid``.
    """
    cfg = config if config is not None else ThreatConfig()
    ids = np.atleast_1d(np.asarray(track_id)).astype(np.int64)
    n = ids.shape[0]
    mu = np.asarray(impact_en, dtype=float).reshape(n, 2)
    cov = np.asarray(impact_cov_en, dtype=float).reshape(n, 2, 2)
    t_imp = np.asarray(impact_time_s, dtype=float).reshape(n)
    ok = np.all(np.isfinite(mu), axis=1) & np.all(np.isfinite(cov), axis=(1, 2)) & np.isfinite(
        t_imp
    )
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool).reshape(n)
    prob = np.zeros((n, len(assets)))
    if ok.any() and len(assets):
        prob[ok] = gaussian_masses(mu[ok], floor_covariance(cov[ok], cfg.min_sigma_m),
                                   assets.edges)
    loss = prob * assets.values[None, :]
    if len(assets):
        best = np.argmax(loss, axis=1)
        has = ok & (loss[np.arange(n), best] > 0)
    else:
        best = np.zeros(n, dtype=np.int64)
        has = np.zeros(n, dtype=bool)
    asset_index = np.where(has, best, -1).astype(np.int64)
    rows = np.arange(n)
    p_asset = np.where(has, prob[rows, np.maximum(best, 0)] if len(assets) else 0.0, 0.0)
    value_a = np.where(has, assets.values[np.maximum(best, 0)] if len(assets) else 0.0, 0.0)
    t_go = np.where(ok, t_imp - now_s, np.nan)
    value = value_a * p_asset
    urgency = cfg.urgency_time_s / (cfg.urgency_time_s + np.maximum(np.nan_to_num(t_go), 0.0))
    priority = value * urgency
    engage = has & (p_asset >= cfg.min_probability) & (np.nan_to_num(t_go, nan=-1.0) > 0)
    return ThreatAssessment(
        time_s=float(now_s),
        track_id=ids,
        asset_names=assets.names,
        probability=prob,
        asset_index=asset_index,
        p_asset=p_asset,
        asset_value=value_a,
        value=value,
        time_to_impact_s=t_go,
        priority=np.where(has, priority, 0.0),
        engage=engage,
        impact_en=mu,
        impact_cov_en=cov,
        impact_time_s=t_imp,
    )
