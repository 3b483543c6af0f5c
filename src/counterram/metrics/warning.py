"""Warning and point-of-origin metrics, and the synthetic studies that measure the predictors.

Why it exists: a warning system is judged by the seconds it gives people before impact and by how
often it sends them to shelter for nothing. A weapon-locating function is judged by how close its
point of origin lands to the firing point. This module turns warning records and ground truth into
those numbers:

* **warning time** of a true round landing in a zone = impact time − issue time of the warning
  covering that zone at impact. A warning issued after impact, or none, is a **miss**
  (warning time NaN);
* **false warning**: a warning interval (issue → all clear) of a zone in which no true round
  landed during the interval;
* **physically available time** = impact − first detection by any radar; **decision latency** =
  first warning − first detection;
* **impact-point error** of the prediction at first warning (and over time, from a prediction
  history);
* **point-of-origin error** as CEP (median radial miss, m) and as a percentage of the
  launch-to-impact range. The public anchor: the LCMR locates mortar firing points out to
  ~7 km "typically within ~100 m" (FACTS.md section 3), i.e. ~1.4 % of range at the edge of its
  coverage.

The synthetic generators (:func:`synthetic_rounds`, :func:`track_covariances`,
:func:`track_estimates`) and :func:`policy_study` make the measurements reported in
docs/warning.md reproducible from fixed seeds. They stand in for the tracker: the state estimate
is the true state plus a Gaussian error with the stated covariance, which is what a consistent
tracker delivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely import intersects_xy

from counterram.physics.catalogue import Munition
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.prediction.ellipse import circular_error_probable
from counterram.prediction.impact import predict_impact
from counterram.warning.policy import EarlyWarningPolicy
from counterram.warning.warner import (
    AllClear,
    Warner,
    WarnerSettings,
    WarningIssued,
    WarningRecord,
)
from counterram.warning.zones import WarningZones

__all__ = [
    "FalseWarning",
    "PolicyStudy",
    "RoundWarning",
    "SyntheticRounds",
    "WarningInterval",
    "false_warnings",
    "needless_shelter_person_s",
    "origin_error",
    "policy_study",
    "round_warnings",
    "synthetic_rounds",
    "track_covariances",
    "track_estimates",
    "warning_intervals",
    "zone_populations",
]


# --------------------------------------------------------------------------------------------
# Warning metrics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarningInterval:
    """One warning of one zone, from issue to all clear (``inf`` while still warned)."""

    zone: str
    issued_s: float
    cleared_s: float


def warning_intervals(records: Sequence[WarningRecord]) -> list[WarningInterval]:
    """Warning intervals from a record stream (in time order)."""
    open_: dict[str, float] = {}
    out: list[WarningInterval] = []
    for r in records:
        if isinstance(r, WarningIssued):
            open_[r.zone] = r.time_s
        elif isinstance(r, AllClear) and r.zone in open_:
            out.append(WarningInterval(r.zone, open_.pop(r.zone), r.time_s))
    out.extend(WarningInterval(z, t, np.inf) for z, t in open_.items())
    return out


@dataclass(frozen=True)
class RoundWarning:
    """Warning outcome of one true round landing in one zone."""

    round_index: int
    zone: str
    impact_time_s: float
    warning_time_s: float  # NaN: missed
    available_time_s: float
    decision_latency_s: float  # NaN: missed

    @property
    def missed(self) -> bool:
        return not np.isfinite(self.warning_time_s)


def round_warnings(
    records: Sequence[WarningRecord],
    zones: WarningZones,
    impact_en: ArrayLike,
    impact_time_s: ArrayLike,
    first_detection_s: ArrayLike | None = None,
) -> list[RoundWarning]:
    """Warning time of every (true round, zone it lands in) pair."""
    imp = np.atleast_2d(np.asarray(impact_en, dtype=float))
    t_imp = np.asarray(impact_time_s, dtype=float).reshape(-1)
    det = (
        np.full(t_imp.shape, np.nan)
        if first_detection_s is None
        else np.asarray(first_detection_s, dtype=float).reshape(-1)
    )
    intervals = warning_intervals(records)
    out = []
    for j, (name, poly) in enumerate(zip(zones.names, zones.polygons, strict=True)):
        inside = np.flatnonzero(intersects_xy(poly, imp[:, 0], imp[:, 1]))
        mine = [iv for iv in intervals if iv.zone == name]
        for r in inside:
            cover = [iv for iv in mine if iv.issued_s <= t_imp[r] <= iv.cleared_s]
            issued = min((iv.issued_s for iv in cover), default=np.nan)
            wt = t_imp[r] - issued
            out.append(
                RoundWarning(
                    int(r),
                    zones.names[j],
                    float(t_imp[r]),
                    float(wt),
                    float(t_imp[r] - det[r]),
                    float(issued - det[r]),
                )
            )
    return out


@dataclass(frozen=True)
class FalseWarning:
    zone: str
    issued_s: float
    cleared_s: float


def false_warnings(
    records: Sequence[WarningRecord],
    zones: WarningZones,
    impact_en: ArrayLike,
    impact_time_s: ArrayLike,
) -> list[FalseWarning]:
    """Warning intervals during which no true round landed in the warned zone."""
    imp = np.atleast_2d(np.asarray(impact_en, dtype=float)).reshape(-1, 2)
    t_imp = np.asarray(impact_time_s, dtype=float).reshape(-1)
    out = []
    for iv in warning_intervals(records):
        poly = zones.polygons[zones.index(iv.zone)]
        during = (t_imp >= iv.issued_s) & (t_imp <= iv.cleared_s)
        if imp.shape[0] == 0 or not np.any(during & intersects_xy(poly, imp[:, 0], imp[:, 1])):
            out.append(FalseWarning(iv.zone, iv.issued_s, iv.cleared_s))
    return out


def zone_populations(zones: WarningZones, populated: Sequence[Any]) -> NDArray[np.float64]:
    """People in each warning zone (Z,): Σ over populated areas of density × the area of the
    zone's overlap with it (``populated``: the resolved scenario's areas, each with
    ``area.polygon`` in site metres and ``density_per_m2``)."""
    out = np.zeros(len(zones))
    polygons = np.asarray(zones.polygons, dtype=object)
    for p in populated:
        out += p.density_per_m2 * shapely.area(shapely.intersection(polygons, p.area.polygon))
    return out


def needless_shelter_person_s(
    false: Sequence[FalseWarning], zones: WarningZones, populations: ArrayLike, end_time_s: float
) -> float:
    """Person-seconds of shelter for nothing: Σ over false warnings of the zone's people ×
    the time it was warned (a warning still open counts to ``end_time_s``)."""
    pop = np.asarray(populations, dtype=float)
    return float(sum(
        pop[zones.index(f.zone)] * max(min(f.cleared_s, end_time_s) - f.issued_s, 0.0)
        for f in false
    ))


def origin_error(
    predicted_en: ArrayLike, true_en: ArrayLike, range_m: ArrayLike
) -> tuple[float, float]:
    """(CEP in m, CEP as % of range: the median of miss / range × 100) of origin estimates."""
    p = np.atleast_2d(np.asarray(predicted_en, dtype=float))
    t = np.atleast_2d(np.asarray(true_en, dtype=float))
    r = np.asarray(range_m, dtype=float).reshape(-1)
    err = p - t
    miss = np.hypot(err[:, 0], err[:, 1])
    ok = np.isfinite(miss) & (r > 0)
    return circular_error_probable(err[ok]), float(np.median(100.0 * miss[ok] / r[ok]))


# --------------------------------------------------------------------------------------------
# Synthetic rounds and track estimates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticRounds:
    """R true rounds launched at t = 0: munitions, launch states, impacts and sampled paths.

    ``samples`` (R, K, 6) every ``sample_dt_s`` from launch (NaN after impact).
    """

    munitions: tuple[Munition, ...]
    launch_en: NDArray[np.float64]
    launch_elevation_rad: NDArray[np.float64]
    launch_speed_mps: NDArray[np.float64]
    impact_en: NDArray[np.float64]
    impact_time_s: NDArray[np.float64]
    sample_dt_s: float
    samples: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.munitions)

    @property
    def range_m(self) -> NDArray[np.float64]:
        d = self.impact_en - self.launch_en
        return np.hypot(d[:, 0], d[:, 1])

    def state_at(self, time_s: ArrayLike, index: ArrayLike | None = None) -> NDArray[np.float64]:
        """True states at times on the sample grid (nearest sample): of every round (times (R,))
        or of the rounds ``index`` (times one per index)."""
        rows = np.arange(len(self)) if index is None else np.asarray(index)
        k = np.rint(np.asarray(time_s, dtype=float) / self.sample_dt_s).astype(int)
        return self.samples[rows, k]

    def grid_time(self, time_s: ArrayLike) -> NDArray[np.float64]:
        """Times snapped to the sample grid."""
        return np.rint(np.asarray(time_s, dtype=float) / self.sample_dt_s) * self.sample_dt_s


def synthetic_rounds(
    rng: np.random.Generator,
    munitions: Sequence[Munition],
    *,
    launch_en: ArrayLike | None = None,
    target_en: ArrayLike | None = None,
    elevation_margin_deg: float = 2.0,
    sample_dt_s: float = 0.1,
) -> SyntheticRounds:
    """One true round per entry of ``munitions``.

    Without targets: a random charge, a random elevation within the munition's limits (at least
    10°; ``elevation_margin_deg`` inside them) and a random azimuth, from ``launch_en`` (default
    the origin). With ``target_en`` (R, 2): aimed at the targets by the physics core's
    :func:`~counterram.physics.aiming.aim` (lowest charge that reaches, usual branch).
    """
    rows = list(munitions)
    r = len(rows)
    launch = (
        np.zeros((r, 2))
        if launch_en is None
        else np.broadcast_to(np.asarray(launch_en, dtype=float), (r, 2)).copy()
    )
    if target_en is None:
        speed = np.array([rng.choice(list(m.charges.values())) for m in rows])
        lo = np.array([max(m.elevation_min_deg, 10.0) + elevation_margin_deg for m in rows])
        hi = np.array([m.elevation_max_deg - elevation_margin_deg for m in rows])
        el = np.radians(rng.uniform(lo, hi))
        az = rng.uniform(0.0, 2 * np.pi, r)
    else:
        from counterram.physics.aiming import aim

        tgt = np.broadcast_to(np.asarray(target_en, dtype=float), (r, 2))
        speed, el, az = np.empty(r), np.empty(r), np.empty(r)
        for name in {m.name for m in rows}:
            sel = np.array([m.name == name for m in rows])
            m = next(mm for mm in rows if mm.name == name)
            sol = aim(
                m,
                np.column_stack([launch[sel], np.zeros(sel.sum())]),
                np.column_stack([tgt[sel], np.zeros(sel.sum())]),
            )
            speed[sel], el[sel], az[sel] = (
                sol.muzzle_velocity_mps,
                sol.elevation_rad,
                sol.azimuth_rad,
            )
    x0 = launch_state(np.column_stack([launch, np.zeros(r)]), az, el, speed)
    f = fly(x0, Projectiles.from_munitions(rows), time_since_launch_s=0.0, sample_dt_s=sample_dt_s)
    assert f.samples is not None
    return SyntheticRounds(
        tuple(rows),
        launch,
        el,
        speed,
        f.impact_state[:, :2],
        f.impact_time_s,
        sample_dt_s,
        f.samples,
    )


def track_covariances(
    rng: np.random.Generator,
    n: int,
    *,
    position_sigma_m: tuple[float, float] = (10.0, 30.0),
    velocity_sigma_mps: tuple[float, float] = (2.0, 5.0),
    log_drag_sigma: tuple[float, float] = (0.05, 0.15),
    correlation: float = 0.5,
) -> NDArray[np.float64]:
    """N realistic track covariances (N, 7, 7): standard deviations drawn uniformly in the given
    ranges, correlations from a random Wishart matrix shrunk by ``correlation`` towards 0 (a
    tracker's position and velocity errors are correlated)."""
    sp = rng.uniform(*position_sigma_m, n)
    sv = rng.uniform(*velocity_sigma_mps, n)
    sb = rng.uniform(*log_drag_sigma, n)
    sd = np.column_stack([sp, sp, sp, sv, sv, sv, sb])
    A = rng.standard_normal((n, 7, 10))
    W = A @ np.swapaxes(A, 1, 2)
    d = np.sqrt(np.einsum("nii->ni", W))
    C = W / (d[:, :, None] * d[:, None, :])
    C = correlation * C + (1.0 - correlation) * np.eye(7)
    return C * sd[:, :, None] * sd[:, None, :]


def track_estimates(
    rng: np.random.Generator, true_state: ArrayLike, P: ArrayLike
) -> NDArray[np.float64]:
    """Estimates x̂ ~ N([x_true, β = 0], P), (N, 7)."""
    xt = np.atleast_2d(np.asarray(true_state, dtype=float))
    x = np.column_stack([xt[:, :6], np.zeros(xt.shape[0])])
    L = np.linalg.cholesky(np.asarray(P, dtype=float))
    return x + np.einsum("nij,nj->ni", L, rng.standard_normal(x.shape))


# --------------------------------------------------------------------------------------------
# Early-warning policy study
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyStudy:
    """Outcome of :func:`policy_study` for one policy."""

    warning_time_s: NDArray[np.float64]  # per round landing in a zone (NaN = missed)
    available_time_s: NDArray[np.float64]
    decision_latency_s: NDArray[np.float64]
    impact_error_at_warning_m: NDArray[np.float64]
    false_warnings_per_round: float
    false_warnings_per_clutter_track: float
    rounds_in_zones: int

    @property
    def missed_fraction(self) -> float:
        return float(np.mean(~np.isfinite(self.warning_time_s))) if self.rounds_in_zones else 0.0

    @property
    def median_warning_time_s(self) -> float:
        w = self.warning_time_s[np.isfinite(self.warning_time_s)]
        return float(np.median(w)) if w.size else float("nan")


def _grid_zones(cells: int, cell_m: float) -> WarningZones:
    from shapely.geometry import box

    half = 0.5 * cells * cell_m
    items = []
    for i in range(cells):
        for j in range(cells):
            e0, n0 = -half + i * cell_m, -half + j * cell_m
            items.append((f"Z{i}{j}", box(e0, n0, e0 + cell_m, n0 + cell_m)))
    return WarningZones.from_polygons(items)


def _schedule_sigmas(k: NDArray[np.float64], meas_sigma_m: float, dt: float) -> NDArray[np.float64]:
    """Standard deviations (N, 7) after k ≥ 2 updates of a least-squares track (position ~
    2σ/√k, velocity ~ √(12/(k(k²−1))) σ/T, log drag scale 0.3/√(k/2) floored at 0.05)."""
    sp = np.maximum(2.0 * meas_sigma_m / np.sqrt(k), 5.0)
    sv = np.maximum(np.sqrt(12.0 / (k * (k**2 - 1.0))) * meas_sigma_m / dt, 0.5)
    sb = np.maximum(0.3 / np.sqrt(k / 2.0), 0.05)
    return np.column_stack([sp, sp, sp, sv, sv, sv, sb])


def policy_study(
    rng: np.random.Generator,
    munitions: Sequence[Munition],
    policy: EarlyWarningPolicy,
    *,
    settings: WarnerSettings | None = None,
    zone_cells: int = 3,
    zone_cell_m: float = 200.0,
    target_box_m: float = 1000.0,
    launch_range_m: tuple[float, float] = (1500.0, 5000.0),
    detection_delay_s: tuple[float, float] = (1.5, 3.0),
    update_interval_s: float = 0.5,
    confirm_updates: int = 6,
    measurement_sigma_m: float = 20.0,
    error_correlation: float = 0.9,
    clutter_tracks: int = 0,
    clutter_updates: int = 3,
) -> PolicyStudy:
    """Warning times and false warnings of a policy on synthetic raids (one round per munition
    entry), each round with its own :class:`Warner` over a grid of square zones.

    Rounds are launched from random azimuths at ``launch_range_m`` and aimed at uniform points
    of a ``target_box_m`` square around the zone grid. Tracking starts ``detection_delay_s``
    after launch and updates every ``update_interval_s``. The track is tentative for the first
    ``confirm_updates`` − 1 updates. Its estimate is the truth plus a Gaussian error with the
    least-squares covariance schedule of :func:`_schedule_sigmas` (time-correlated, AR(1)
    coefficient ``error_correlation``). Clutter tracks are ballistic-looking false tracks: real
    flights that are seen for ``clutter_updates`` updates and then dropped, never confirmed and
    never impacting; any warning they cause is false.
    """
    zones = _grid_zones(zone_cells, zone_cell_m)
    rows = list(munitions) + [munitions[i % len(munitions)] for i in range(clutter_tracks)]
    n_real = len(munitions)
    r = len(rows)
    az = rng.uniform(0, 2 * np.pi, r)
    dist = rng.uniform(*launch_range_m, r)
    targets = rng.uniform(-0.5 * target_box_m, 0.5 * target_box_m, (r, 2))
    launch = targets + np.column_stack([dist * np.sin(az), dist * np.cos(az)])
    truth = synthetic_rounds(rng, rows, launch_en=launch, target_en=targets, sample_dt_s=0.05)
    detect = truth.grid_time(
        rng.uniform(*detection_delay_s, r) + np.array([m.burn_time_s for m in rows])
    )
    last = np.where(np.arange(r) < n_real, np.inf, detect + clutter_updates * update_interval_s)
    warners = [Warner(zones, settings) for _ in range(r)]
    records: list[list[WarningRecord]] = [[] for _ in range(r)]
    z = rng.standard_normal((r, 7))
    first_warning_error = np.full(r, np.nan)
    k = 2  # the first prediction needs two plots (velocity)
    while True:
        t = truth.grid_time(detect + (k - 1) * update_interval_s)
        live = np.flatnonzero((t < truth.impact_time_s - update_interval_s) & (t <= last))
        if live.size == 0:
            break
        z[live] = error_correlation * z[live] + np.sqrt(1 - error_correlation**2) * (
            rng.standard_normal((live.size, 7))
        )
        sd = _schedule_sigmas(np.full(live.size, float(k)), measurement_sigma_m, update_interval_s)
        x = np.column_stack([truth.state_at(t[live], live), np.zeros(live.size)]) + sd * z[live]
        P = sd[:, :, None] ** 2 * np.eye(7)
        pred = predict_impact(x, P, t[live], [rows[i] for i in live])
        mask, pred = policy.select(t[live], pred, k >= confirm_updates)
        prob = zones.probabilities(pred.mean_en, pred.cov_en)
        for a, i in enumerate(live):
            if not mask[a]:
                warners[i].advance(float(t[i]))
                continue
            out = warners[i].update(float(t[i]), [int(i)], pred.take([a]), prob[a : a + 1])
            if np.isnan(first_warning_error[i]) and any(isinstance(o, WarningIssued) for o in out):
                first_warning_error[i] = float(np.hypot(*(pred.mean_en[a] - truth.impact_en[i])))
            records[i].extend(out)
        k += 1
    for i in range(r):
        end = truth.impact_time_s[i] if i < n_real else last[i]
        records[i].extend(warners[i].end_tracks(float(end), [i], neutralised=i >= n_real))
        records[i].extend(warners[i].advance(float(end) + 1e6))
    wt, avail, lat, err = [], [], [], []
    false_real = 0
    for i in range(n_real):
        rw = round_warnings(
            records[i],
            zones,
            truth.impact_en[i : i + 1],
            truth.impact_time_s[i : i + 1],
            detect[i : i + 1],
        )
        for w in rw:
            wt.append(w.warning_time_s)
            avail.append(w.available_time_s)
            lat.append(w.decision_latency_s)
            err.append(first_warning_error[i])
        false_real += len(
            false_warnings(
                records[i], zones, truth.impact_en[i : i + 1], truth.impact_time_s[i : i + 1]
            )
        )
    false_clutter = sum(
        len(false_warnings(records[i], zones, np.empty((0, 2)), np.empty(0)))
        for i in range(n_real, r)
    )
    return PolicyStudy(
        np.array(wt),
        np.array(avail),
        np.array(lat),
        np.array(err),
        false_real / max(n_real, 1),
        false_clutter / max(clutter_tracks, 1),
        len(wt),
    )
