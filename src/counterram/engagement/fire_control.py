"""Fire control: which gun fires which burst at which threat, when, where to aim, at what risk.

Why it exists: threat evaluation says which tracks threaten an asset and how urgently; the guns
have limits (travel, range, height, no-fire sectors and areas, slew, reaction, magazine) and a
burst is a gamble whose odds depend on geometry and on how well the track is known. This module
turns both into fire orders, one plan per call, for all guns and threats at once.

``FireControl.plan(now, threats, tracks)`` (pure with respect to time and I/O: its only clock is
``now``; it keeps per-gun state and the engagements under way between calls):

0. **Gun pointing and kill assessment.** Each gun has slewed, since the last plan, toward the
   aim of its next planned burst (both axes at the slew rate, inside its travel): a gun waiting
   for its fire time is already laid when it comes, however far it started. A track fired at is
   held — ``burst`` until the intercept time, then ``assess`` — until it shows the outcome: a
   miss when it is updated with a plot measured ``look_s`` or more after the intercept (the
   round flies on along its path), a kill when the tracker deletes it
   (:meth:`FireControl.end_tracks`). No gun fires at a held track, so no burst goes at a round
   already killed, and never two guns at one round at once.
1. **Candidates.** Tracks that threat evaluation engages (:mod:`counterram.engagement.threat`)
   and that are not held.
2. **Windows.** Each threat's path is flown once from its track's state, with its munition's
   drag (β = log drag scale relative to the munition), and sampled every ``grid_step_s`` from
   ``now`` up to ``horizon_s`` plus the round's longest flight; fire times at which the threat
   is down, below the lowest engagement height or out of reach are dropped at once, the rest
   sampled every
   ``grid_step_s`` for the ``fine_span_s`` after the gun is free and every ``coarse_step_s``
   beyond. Every (threat, fire time) is solved on the flown path with the gun's firing table
   (:func:`~counterram.engagement.intercept.solve_intercept_on_path`,
   :class:`~counterram.engagement.firing_table.FiringTable`: nothing is integrated inside the
   solve) and checked against the gun's limits
   (:func:`~counterram.engagement.intercept.apply_window_limits`) and its no-fire sectors with
   their elevation caps (:func:`~counterram.engagement.config.in_no_fire_sector`). A fire time is
   usable when nothing is flagged and the gun can be there: free time + reaction + slew from its
   current pointing.
3. **Kill probability.** For every usable fire time, the burst kill probability of the gun's
   kill model (:func:`~counterram.engagement.lethality.burst_pk`, compiled for the batch in
   :mod:`~counterram.engagement.candidate_pk`: the threat's presented area
   × P(defeat | hit) by default, or a lethal radius) with a shared bias: dispersion σ_d = slant
   range × dispersion, bias covariance = fire-control error (σ_fc × range per axis) plus the
   track's position covariance at the intercept projected on the miss plane
   (:func:`~counterram.engagement.lethality.bias_covariance`). The covariance is carried over
   the track's age and the round's flight by the first-order transition
   δp(t) = δp₀ + t δv₀ + ½ t² a_d δβ (a_d the drag acceleration, which scales with exp β) — not
   over the wait until a later fire time: the track is updated until the burst leaves, so it
   will be known then at least as well as now, and the fire time is chosen on geometry (range,
   aspect), not on how far the present estimate would have to be predicted.
4. **Burst plan.** :func:`~counterram.engagement.schedule.plan_bursts`, the time-indexed
   maximum-marginal-return greedy over every usable (gun, threat, fire time) with values =
   threat priorities: first bursts before second bursts (every reachable threat is engaged
   before any is engaged twice; tracks fired at before count as engaged), a gun's bursts apart
   by burst + re-lay and the slew between their aims, bursts at one threat apart by burst +
   round flight + ``look_s`` (shoot-look-shoot), magazines, a burst only while it adds at least
   ``min_pk`` to its threat's kill probability, later bursts discounted by
   exp(−t / ``plan_horizon_s``), and work-conserving (a gun that can fire now does, unless
   waiting is worth more).
5. **Orders.** Each gun's earliest planned burst is ordered when its fire time is within
   ``commit_s`` of ``now`` (the gun is laid on the aim, its magazine loses the burst, it is busy
   for the burst and re-lay, the track is held); otherwise the gun slews toward it until the
   next plan. Later bursts wait for a later plan, with a fresher track.
6. **Collateral.** Every order carries its expected casualties (FAA 14 CFR 420 App. C, via
   :mod:`counterram.engagement.collateral`): dud rounds flown to the ground (n × dud rate), the
   fragments of the rounds that self-destruct, and Pk × the debris of the killed threat falling
   from the intercept point. With ``withhold_if_collateral_exceeds_benefit`` a gun holds fire
   (GunStatus ``hold`` with the reason) when that exceeds the casualties the burst is expected to
   avert: Pk × Σ_k P(impact in populated area k) × ρ_k × A_L, with A_L the threat's lethal area
   (a model: ``lethal_area_ref_m2`` × (mass / ``lethal_area_ref_mass_kg``)^(2/3), the
   cube-root scaling of blast and fragment radii with charge size [unverified]).

Gun status events (``ready``, ``slewing`` = a burst planned and the gun laying toward it,
``firing``, ``hold``, ``empty``) are emitted when a gun's state, hold reason or magazine changes.

Python loops run over guns and over the few orders of one plan; everything per threat and per
fire time is batched or compiled. benchmarks/bench_engine.py measures the stage at 100 threats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from counterram.engagement.candidate_pk import candidate_bias_covariance, candidate_burst_pk
from counterram.engagement.collateral import (
    FallingDebris,
    PopulatedArea,
    debris_footprint,
    dud_round_impacts,
    expected_casualties,
    gaussian_polygon_probabilities,
    self_destruct_fragments,
)
from counterram.engagement.config import Gun, in_no_fire_sector
from counterram.engagement.firing_table import FiringTable
from counterram.engagement.intercept import (
    GunLimits,
    InterceptSolution,
    WindowReason,
    apply_window_limits,
    solve_intercept_on_path,
)
from counterram.engagement.lethality import presented_length_m
from counterram.engagement.polygon_mass import floor_covariance
from counterram.engagement.schedule import plan_bursts
from counterram.engagement.threat import ThreatAssessment
from counterram.events import EngagementOrdered, GunStatus
from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import Munition, load_catalogue
from counterram.physics.trajectory import Projectiles, acceleration, fly
from counterram.physics.wind import CALM, Wind

__all__ = [
    "BURNT_OUT_S",
    "Engagement",
    "FireControl",
    "FireControlConfig",
    "FireOrder",
    "GunState",
    "TrackStates",
    "position_covariance_at",
    "threat_lethal_area_m2",
]

BURNT_OUT_S = 1e9
"""Time since launch meaning "motor burnt out"."""

_NO_FIRE = int(WindowReason.NO_FIRE_SECTOR | WindowReason.NO_FIRE_AREA)
_FORGET_S = 60.0  # an engagement whose track vanished without a deletion is dropped this late
_IGNORED = int(WindowReason.NOT_READY)


@dataclass(frozen=True)
class TrackStates:
    """Tracks as fire control needs them (N rows).

    ``x`` (N, 7) = [east, north, up, v_east, v_north, v_up, β] at ``time_s`` (N,), with β the
    natural log of the drag scale relative to ``munition`` (one catalogue name per row, e.g. the
    classifier's choice with :meth:`Classification.best_log_drag_scale`); ``P`` (N, 7, 7).
    """

    track_id: NDArray[np.int64]
    time_s: NDArray[np.float64]
    x: NDArray[np.float64]
    P: NDArray[np.float64]
    munition: tuple[str, ...]
    time_since_launch_s: NDArray[np.float64] | None = None
    path: NDArray[np.float64] | None = None
    """Optional (N, K, 6): each track's path already flown on :meth:`FireControl.path_grid`
    from the plan's ``now`` (rows where ``has_path`` is False are ignored)."""
    has_path: NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        n = np.asarray(self.track_id).shape[0]
        object.__setattr__(self, "track_id", np.asarray(self.track_id, dtype=np.int64))
        object.__setattr__(
            self, "time_s", np.broadcast_to(np.asarray(self.time_s, dtype=float), (n,)).copy()
        )
        x = np.asarray(self.x, dtype=float).reshape(n, 7)
        P = np.asarray(self.P, dtype=float).reshape(n, 7, 7)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(P))):
            raise ValueError("TrackStates: x and P must be finite")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "P", P)
        if len(self.munition) != n:
            raise ValueError(f"TrackStates: one munition per track ({n}); got {len(self.munition)}")
        tsl = self.time_since_launch_s
        object.__setattr__(
            self, "time_since_launch_s",
            np.full(n, BURNT_OUT_S) if tsl is None
            else np.broadcast_to(np.asarray(tsl, dtype=float), (n,)).copy(),
        )
        if self.path is not None:
            path = np.asarray(self.path, dtype=float)
            has = np.asarray(self.has_path, dtype=bool).reshape(n)
            if path.ndim != 3 or path.shape[0] != n or path.shape[2] != 6:
                raise ValueError(f"TrackStates: path must be ({n}, K, 6); got {path.shape}")
            object.__setattr__(self, "path", path)
            object.__setattr__(self, "has_path", has)

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    def rows_of(self, track_ids: ArrayLike) -> NDArray[np.int64]:
        """Row of each track id (−1 when absent)."""
        index = {int(t): r for r, t in enumerate(self.track_id)}
        ids = np.atleast_1d(np.asarray(track_ids, dtype=np.int64))
        return np.array([index.get(int(t), -1) for t in ids], dtype=np.int64)


@dataclass(frozen=True)
class FireControlConfig:
    """Fire-control settings (SI units; see the module docstring for their roles)."""

    horizon_s: float = 15.0
    grid_step_s: float = 0.25
    fine_span_s: float = 3.0
    coarse_step_s: float = 1.0
    commit_s: float = 1.0
    look_s: float = 1.0
    min_pk: float = 0.01
    plan_horizon_s: float = 5.0
    ground_height_m: float = 0.0
    path_rtol: float = 1e-8
    collateral: bool = True
    lethal_area_ref_m2: float = 300.0
    lethal_area_ref_mass_kg: float = 4.5

    def __post_init__(self) -> None:
        for name in ("horizon_s", "grid_step_s", "coarse_step_s", "plan_horizon_s",
                     "path_rtol",
                     "lethal_area_ref_m2", "lethal_area_ref_mass_kg"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"FireControlConfig.{name} must be finite and > 0; got {v!r}")
        for name in ("commit_s", "look_s", "fine_span_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"FireControlConfig.{name} must be finite and >= 0; got {v!r}")
        for name in ("min_pk",):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"FireControlConfig.{name} must be in [0, 1]; got {v!r}")


def threat_lethal_area_m2(munition: Munition, config: FireControlConfig) -> float:
    """Lethal area of a threat's warhead on the ground (a model; module docstring, step 7)."""
    return config.lethal_area_ref_m2 * (
        munition.burnout_mass_kg / config.lethal_area_ref_mass_kg
    ) ** (2.0 / 3.0)


@dataclass
class GunState:
    """A gun's changing state: pointing, when it is free, rounds left, status.

    ``azimuth_rad``/``elevation_rad`` are the pointing at ``pointed_s``; between plans the gun
    slews from there toward ``planned`` (the aim of its next planned burst: track id, fire time,
    azimuth, elevation), so that a gun waiting for its fire time is already laid when it comes.
    """

    azimuth_rad: float
    elevation_rad: float
    busy_until_s: float = -math.inf
    magazine: int = 0
    state: str = "ready"
    hold_reason: str = ""
    last_reported: tuple[str, str, int] | None = None
    pointed_s: float = -math.inf
    planned: tuple[int, float, float, float] | None = None


@dataclass
class Engagement:
    """A track under fire: its latest burst's gun, intercept time, and the assessment phase.

    ``burst`` until the intercept time, then ``assess`` until the track shows the outcome: a
    miss when it is updated with a plot measured ``look_s`` or more after the intercept (the
    round flies on along its path), a kill when the tracker deletes it (lost or diverging).
    """

    gun: str
    intercept_time_s: float

    def phase(self, now: float) -> str:
        return "burst" if now < self.intercept_time_s else "assess"


@dataclass(frozen=True)
class FireOrder:
    """One burst ordered: who fires at what, when, how, with what odds and what collateral.

    Angles in radians, positions in site-frame metres, times in scenario seconds.
    ``bias_cov_m2`` is the miss-plane bias covariance the Pk was computed with (fire control +
    track) and ``sigma_dispersion_m`` the per-round dispersion at the intercept range.
    """

    time_s: float
    gun: str
    gun_index: int
    track_id: int
    fire_time_s: float
    rounds: int
    burst_s: float
    azimuth_rad: float
    elevation_rad: float
    gun_enu: NDArray[np.float64]
    intercept_enu: NDArray[np.float64]
    intercept_time_s: float
    slant_range_m: float
    round_tof_s: float
    threat_velocity_enu: NDArray[np.float64]
    predicted_pk: float
    bias_cov_m2: NDArray[np.float64]
    sigma_dispersion_m: float
    expected_casualties: float
    casualties_averted: float
    threatened_asset: str
    threat_munition: str
    priority: float

    @property
    def aim_unit(self) -> NDArray[np.float64]:
        """Unit aim direction (3,) in ENU."""
        ce = math.cos(self.elevation_rad)
        return np.array([ce * math.sin(self.azimuth_rad), ce * math.cos(self.azimuth_rad),
                         math.sin(self.elevation_rad)])

    def to_event(self) -> EngagementOrdered:
        """The order as an event (degrees at the interface)."""
        return EngagementOrdered(
            time_s=self.time_s,
            gun=self.gun,
            track_id=int(self.track_id),
            fire_time_s=self.fire_time_s,
            rounds=int(self.rounds),
            intercept_enu=tuple(float(v) for v in self.intercept_enu),  # type: ignore[arg-type]
            intercept_time_s=self.intercept_time_s,
            azimuth_deg=math.degrees(self.azimuth_rad) % 360.0,
            elevation_deg=math.degrees(self.elevation_rad),
            predicted_pk=self.predicted_pk,
            expected_casualties=self.expected_casualties,
            threatened_asset=self.threatened_asset,
        )


def position_covariance_at(
    P: NDArray[np.float64], dt_s: NDArray[np.float64], drag_accel: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Position covariance (..., 3, 3) after dt (...,) by the first-order transition
    δp = δp₀ + dt δv₀ + ½ dt² a_d δβ (module docstring, step 3). ``P`` (..., 7, 7) and
    ``drag_accel`` (..., 3) broadcast against ``dt_s``."""
    dt = np.asarray(dt_s, dtype=float)
    eye = np.eye(3)
    phi = np.zeros((*dt.shape, 3, 7))
    phi[..., :, 0:3] = eye
    phi[..., :, 3:6] = dt[..., None, None] * eye
    phi[..., :, 6] = 0.5 * dt[..., None] ** 2 * drag_accel
    return phi @ P @ np.swapaxes(phi, -1, -2)


@dataclass(frozen=True)
class _Shot:
    """A planned burst due now: its row in the gun's window solution, Pk, fire time (relative
    to now), miss-plane bias covariance and per-round dispersion."""

    k: int
    pk: float
    fire_s: float
    bias_cov: NDArray[np.float64]
    sigma_d: float


class FireControl:
    """Fire-control manager for a set of guns (see the module docstring).

    Args:
        guns: resolved guns (:func:`counterram.engagement.config.guns_from_scenario`).
        catalogue: munition catalogue (threat lethal radius, drag, mass); default the built-in.
        atmosphere, wind: the site's (physics core objects).
        config: :class:`FireControlConfig`.
        populated_areas: for expected casualties (collateral kernel's :class:`PopulatedArea`).
        background_density_per_km2: uniform density outside the populated areas.
    """

    def __init__(
        self,
        guns: Sequence[Gun],
        catalogue: Any | None = None,
        atmosphere: Atmosphere = STANDARD,
        wind: Wind = CALM,
        config: FireControlConfig | None = None,
        *,
        populated_areas: Sequence[PopulatedArea] = (),
        background_density_per_km2: float = 0.0,
    ) -> None:
        self.guns = tuple(guns)
        names = [g.name for g in self.guns]
        if len(set(names)) != len(names):
            raise ValueError(f"FireControl: gun names must be unique; got {names}")
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.atmosphere = atmosphere
        self.wind = wind
        self.config = config if config is not None else FireControlConfig()
        self.populated_areas = tuple(populated_areas)
        if background_density_per_km2 < 0:
            raise ValueError("background_density_per_km2 must be >= 0")
        self.background_density_per_km2 = float(background_density_per_km2)
        self.states = [
            GunState(
                azimuth_rad=g.limits.azimuth_center_rad, elevation_rad=0.0,
                magazine=g.config.magazine,
            )
            for g in self.guns
        ]
        self.engagements: dict[int, Engagement] = {}
        """Track id → the track's latest burst, while it is under fire or being assessed."""
        self.fired_at: set[int] = set()
        """Tracks fired at so far (a further burst at one is a second burst)."""
        self._path_grid: tuple[float, float] | None = None

    # ------------------------------------------------------------------------------------
    def initial_status(self, time_s: float = 0.0) -> list[GunStatus]:
        """A status event per gun (ready or empty), e.g. at the start of a run."""
        out = []
        for g, s in zip(self.guns, self.states, strict=True):
            s.state = "ready" if s.magazine >= g.rounds_per_burst else "empty"
            s.last_reported = (s.state, "", s.magazine)
            out.append(GunStatus(time_s=time_s, gun=g.name, state=s.state, magazine=s.magazine))
        return out

    def plan(
        self, now: float, threats: ThreatAssessment, tracks: TrackStates
    ) -> tuple[list[FireOrder], list[GunStatus]]:
        """Plan at time ``now``: the bursts ordered now and the gun status changes."""
        now = float(now)
        self._advance_pointing(now)
        self._assess(now, tracks)
        rows = threats.ranked()
        trow = tracks.rows_of(threats.track_id[rows]) if rows.size else np.zeros(0, np.int64)
        blocked = np.array([int(t) in self.engagements for t in threats.track_id[rows]],
                           dtype=bool)
        keep = (trow >= 0) & ~blocked
        rows, trow = rows[keep], trow[keep]
        orders: list[FireOrder] = []
        holds: dict[int, str] = {}
        waiting: set[int] = set()
        for st in self.states:
            st.planned = None
        if rows.size:
            orders, holds, waiting = self._plan_threats(now, threats, rows, tracks, trow)
        return orders, self._status_events(now, orders, holds, waiting)

    def path_grid(self) -> tuple[float, float]:
        """(Sample interval, span) of the threat paths a plan samples from its ``now``: paths
        flown elsewhere on this grid (``TrackStates.path``) are used instead of flying them."""
        if self._path_grid is None:
            tail = max((self._table(g).max_tof_s for g in self.guns), default=0.0)
            cfg = self.config
            self._path_grid = (cfg.grid_step_s, cfg.horizon_s + tail + cfg.grid_step_s)
        return self._path_grid

    def _table(self, gun: Gun) -> FiringTable:
        """The firing table of a gun's round in this site's air (built once, then shared)."""
        return FiringTable.for_(gun.interceptor, gun.muzzle_speed_mps, self.atmosphere,
                                self.wind, gun_height_m=float(gun.position_enu[2]))

    def under_fire(self, now: float) -> dict[int, str]:
        """Track id → ``burst`` or ``assess`` for every track whose latest burst is not yet
        assessed."""
        return {t: e.phase(now) for t, e in self.engagements.items()}

    def end_tracks(self, track_ids: Sequence[int]) -> None:
        """Forget tracks the tracker deleted (a kill, when they were under assessment)."""
        for t in track_ids:
            self.engagements.pop(int(t), None)
            self.fired_at.discard(int(t))

    def _assess(self, now: float, tracks: TrackStates) -> None:
        """Release the tracks whose latest burst has shown a miss: updated with a plot measured
        ``look_s`` or more after the intercept, the round still flying its path."""
        if not self.engagements:
            return
        rows = tracks.rows_of(list(self.engagements))
        for (tid, e), r in zip(list(self.engagements.items()), rows, strict=True):
            if r >= 0 and tracks.time_s[r] >= e.intercept_time_s + self.config.look_s - 1e-9:
                del self.engagements[tid]
            elif now > e.intercept_time_s + _FORGET_S:
                del self.engagements[tid]  # long gone from the picture without a deletion

    def _advance_pointing(self, now: float) -> None:
        """Slew every free gun toward its planned aim for the time since its last plan."""
        for g, st in zip(self.guns, self.states, strict=True):
            start = max(st.pointed_s, st.busy_until_s)
            if st.planned is not None and math.isfinite(start) and now > start:
                _, _, az, el = st.planned
                st.azimuth_rad, st.elevation_rad = _slew_toward(
                    g.limits, st.azimuth_rad, st.elevation_rad, az, el, now - start
                )
            st.pointed_s = max(now, st.pointed_s)

    # ------------------------------------------------------------------------------------
    def _plan_threats(
        self, now: float, threats: ThreatAssessment, rows: NDArray[np.int64],
        tracks: TrackStates, trow: NDArray[np.int64],
    ) -> tuple[list[FireOrder], dict[int, str], set[int]]:
        cfg = self.config
        J = rows.size
        by_name = {n: self.catalogue.get(n) for n in {tracks.munition[r] for r in trow}}
        munitions = [by_name[tracks.munition[r]] for r in trow]
        x = tracks.x[trow]
        P = tracks.P[trow]
        t_state = tracks.time_s[trow]
        tsl = tracks.time_since_launch_s[trow]  # type: ignore[index]
        scale = np.exp(np.clip(x[:, 6], -3.0, 3.0))
        bodies = Projectiles.from_munitions(munitions, drag_scale=scale)
        dt_now = now - t_state
        no_drag = replace(bodies, drag_scale=np.zeros(J))
        a_d = acceleration(x[:, :6], bodies, time_since_launch_s=tsl, atmosphere=self.atmosphere,
                           wind=self.wind) - acceleration(
            x[:, :6], no_drag, time_since_launch_s=tsl, atmosphere=self.atmosphere, wind=self.wind)
        horizon = min(cfg.horizon_s, float(np.nanmax(threats.impact_time_s[rows])) - now)
        if not horizon > 0:
            return [], {}, set()
        # every threat's predicted path on the fire-time grid from now (NaN once down), flown
        # once from the track's state and long enough for the last fire time's round to reach it
        tables = [self._table(g) for g in self.guns]
        span = horizon + max(t.max_tof_s for t in tables) + cfg.grid_step_s
        k_path = int(np.floor(span / cfg.grid_step_s + 1e-9)) + 1
        path_t = np.arange(k_path) * cfg.grid_step_s
        path_x = np.full((J, k_path, 6), np.nan)
        own = np.arange(J)
        if tracks.path is not None and tracks.path.shape[1] >= k_path:
            given = tracks.has_path[trow]  # type: ignore[index]
            path_x[given] = tracks.path[trow[given], :k_path]
            own = np.flatnonzero(~given)
        if own.size:
            path_x[own] = fly(
                x[own, :6], bodies.take(own), atmosphere=self.atmosphere, wind=self.wind,
                time_since_launch_s=tsl[own], ground_height_m=cfg.ground_height_m,
                sample_dt_s=cfg.grid_step_s, sample_from_s=np.maximum(dt_now[own], 0.0),
                sample_span_s=path_t[-1], max_time_s=float(np.max(dt_now[own])) + span,
                rtol=cfg.path_rtol,
            ).samples
        on_grid = path_t <= horizon + 1e-9
        grid, samples = path_t[on_grid], path_x[:, on_grid]  # fire times (K,), (J, K, 6)
        stride = max(1, round(cfg.coarse_step_s / cfg.grid_step_s))
        coarse = np.arange(grid.size) % stride == 0
        speed = np.sqrt(np.einsum("jki,jki->jk", samples[..., 3:6], samples[..., 3:6]))
        body_rows: dict[str, NDArray[np.float64]] = {}

        windows: dict[int, InterceptSolution] = {}
        no_fire_only: dict[int, int] = {}
        cand: list[tuple[NDArray[Any], ...]] = []  # per gun: (row, j, t, pk, spacing, bcov, sd)
        for i, gun in enumerate(self.guns):
            st = self.states[i]
            if st.magazine < gun.rounds_per_burst:
                continue
            start = max(st.busy_until_s - now, 0.0)
            # cheap screen: only fire times at which the threat is airborne, above the lowest
            # engagement height and within reach (range + its own travel during the longest
            # round flight) are solved
            rel = samples[..., 0:3] - gun.position_enu
            reach = gun.limits.max_range_m + speed * gun.self_destruct_s + 50.0
            # fine grid for the next fine_span_s after the gun is free, coarse beyond
            sampled = coarse | (grid <= start + cfg.fine_span_s)
            with np.errstate(invalid="ignore"):
                screen = (
                    (grid[None, :] >= start - 1e-9)
                    & sampled[None, :]
                    & (samples[..., 2] - cfg.ground_height_m >= gun.limits.min_altitude_m)
                    & (np.einsum("jki,jki->jk", rel, rel) <= reach * reach)
                )
            jj, kk = np.nonzero(screen)
            if jj.size == 0:
                continue
            # each candidate (threat j, fire time grid[k]) solved on the flown path with the
            # gun's firing table: nothing is integrated here
            sol = solve_intercept_on_path(
                gun.position_enu, path_t, path_x, jj, grid[kk], tables[i],
                ground_height_m=cfg.ground_height_m,
            )
            reasons, ready_s = apply_window_limits(
                gun.limits, sol, np.zeros(jj.size), current_azimuth_rad=st.azimuth_rad,
                current_elevation_rad=st.elevation_rad, ground_height_m=cfg.ground_height_m,
                interceptor=gun.interceptor,
            )
            with np.errstate(invalid="ignore"):
                sector = in_no_fire_sector(
                    gun.no_fire_sectors_rad, np.nan_to_num(sol.azimuth_rad),
                    np.nan_to_num(sol.elevation_rad, nan=10.0),
                ) & sol.ok
            reasons[sector] |= int(WindowReason.NO_FIRE_SECTOR)
            blocking = reasons & ~_IGNORED
            with np.errstate(invalid="ignore"):
                ready = grid[kk] >= start + ready_s - 1e-9
            usable = (blocking == 0) & ready
            # threats this gun could engage but for a no-fire restriction (reported as a hold)
            only_nf = ((blocking & ~_NO_FIRE) == 0) & ((blocking & _NO_FIRE) != 0)
            has_nf = np.bincount(jj[only_nf], minlength=J) > 0
            has_use = np.bincount(jj[usable], minlength=J) > 0
            for j in np.flatnonzero(has_nf & ~has_use):
                no_fire_only.setdefault(i, int(threats.track_id[rows[j]]))
            windows[i] = sol
            u = np.flatnonzero(usable)
            if u.size == 0:
                continue
            rng_m = sol.slant_range_m[u]
            aim = _unit_vectors(sol.azimuth_rad[u], sol.elevation_rad[u])
            ju = jj[u]
            # the track as well known at the fire time as it is now (it is updated until the
            # burst leaves, usually better): carried over the track's age and the round's flight
            # only, so that the fire time is chosen on geometry, not on prediction growth
            dt_int = sol.round_tof_s[u] + now - t_state[ju]
            bcov = candidate_bias_covariance(aim, rng_m, gun.fire_control_sigma_rad, P, ju,
                                             dt_int, a_d)
            sd = rng_m * gun.dispersion_rad
            model = gun.config.kill_model
            if model not in body_rows:
                body_rows[model] = _kill_model_rows(model, munitions)
            body = body_rows[model][ju]
            pk = candidate_burst_pk(gun.config.kill_model, gun.rounds_per_burst, sd, bcov, aim,
                                    sol.threat_velocity_enu[u], body[:, 0], body[:, 1],
                                    body[:, 2])
            spacing = gun.burst_s + sol.round_tof_s[u] + cfg.look_s
            cand.append((np.full(u.size, i), u, ju, grid[kk[u]], pk, spacing, bcov, sd))

        if not cand:
            holds = {i: f"no-fire restriction on track {t}" for i, t in no_fire_only.items()}
            return [], holds, set()
        gun_of, row_of, j_of, t_of, pk_of, spacing_of = (
            np.concatenate([c[k] for c in cand]) for k in range(6)
        )
        bcov_of = np.concatenate([c[6] for c in cand])
        sd_of = np.concatenate([c[7] for c in cand])
        values = threats.priority[rows]
        cycle = np.array([g.burst_s + g.config.retarget_s for g in self.guns])
        capacity = np.array([st.magazine // g.rounds_per_burst
                             for g, st in zip(self.guns, self.states, strict=True)])
        az_of = np.concatenate([windows[int(c[0][0])].azimuth_rad[c[1]] for c in cand])
        el_of = np.concatenate([windows[int(c[0][0])].elevation_rad[c[1]] for c in cand])
        lim = [g.limits for g in self.guns]
        slew = (np.array([g.config.retarget_s for g in self.guns]),
                np.array([x.slew_rate_radps for x in lim]),
                np.array([x.azimuth_center_rad for x in lim]),
                np.array([x.azimuth_half_width_rad >= math.pi for x in lim]))
        engaged = np.array([int(t) in self.fired_at for t in threats.track_id[rows]], dtype=bool)
        chosen = plan_bursts(gun_of, j_of, t_of, pk_of, values, cycle, spacing_of, capacity,
                             min_gain=cfg.min_pk, horizon_s=cfg.plan_horizon_s,
                             aims=(az_of, el_of), slew=slew, engaged=engaged,
                             due_s=cfg.commit_s)

        orders: list[FireOrder] = []
        holds: dict[int, str] = {}
        waiting: set[int] = set()
        nxt: dict[int, int] = {}  # gun → its earliest planned burst (candidate index)
        for c in chosen.tolist():
            i = int(gun_of[c])
            if i not in nxt or t_of[c] < t_of[nxt[i]]:
                nxt[i] = c
        due: list[tuple[int, _Shot, int]] = []  # (gun, shot, threat) ordered now
        for i, c in sorted(nxt.items()):
            sol = windows[i]
            k = int(row_of[c])
            j = int(j_of[c])
            fire_s = float(t_of[c])
            if fire_s > cfg.commit_s:
                # not due yet: lay the gun toward it while it waits
                waiting.add(i)
                self.states[i].planned = (int(threats.track_id[rows[j]]), now + fire_s,
                                          float(sol.azimuth_rad[k]), float(sol.elevation_rad[k]))
                continue
            due.append((i, _Shot(k, float(pk_of[c]), fire_s, bcov_of[c], float(sd_of[c])), j))
        weighed = self._collateral([(self.guns[i], windows[i], shot, rows[j], munitions[j])
                                    for i, shot, j in due], threats)
        for (i, shot, j), (e_c, averted) in zip(due, weighed, strict=True):
            gun = self.guns[i]
            order = self._order(now, i, gun, windows[i], shot, rows[j], threats, munitions[j],
                                e_c, averted)
            if (gun.config.withhold_if_collateral_exceeds_benefit
                    and order.expected_casualties > order.casualties_averted):
                holds[i] = (
                    f"collateral: track {order.track_id} expected casualties "
                    f"{order.expected_casualties:.2e} > averted {order.casualties_averted:.2e}"
                )
                continue
            orders.append(order)
            self._commit(i, gun, order)
        for i, t in no_fire_only.items():
            if i not in holds and not any(o.gun_index == i for o in orders) and i not in waiting:
                holds[i] = f"no-fire restriction on track {t}"
        return orders, holds, waiting

    def _order(
        self, now: float, i: int, gun: Gun, sol: Any, pr: _Shot, row: int,
        threats: ThreatAssessment, munition: Munition, e_c: float, averted: float,
    ) -> FireOrder:
        k = pr.k
        intercept = np.asarray(sol.intercept_enu[k], dtype=float)
        v_threat = np.asarray(sol.threat_velocity_enu[k], dtype=float)
        az = float(sol.azimuth_rad[k])
        el = float(sol.elevation_rad[k])
        return FireOrder(
            time_s=now,
            gun=gun.name,
            gun_index=i,
            track_id=int(threats.track_id[row]),
            fire_time_s=now + pr.fire_s,
            rounds=gun.rounds_per_burst,
            burst_s=gun.burst_s,
            azimuth_rad=az,
            elevation_rad=el,
            gun_enu=np.asarray(gun.position_enu, dtype=float).copy(),
            intercept_enu=intercept,
            intercept_time_s=now + pr.fire_s + float(sol.round_tof_s[k]),
            slant_range_m=float(sol.slant_range_m[k]),
            round_tof_s=float(sol.round_tof_s[k]),
            threat_velocity_enu=v_threat,
            predicted_pk=pr.pk,
            bias_cov_m2=np.asarray(pr.bias_cov, dtype=float),
            sigma_dispersion_m=pr.sigma_d,
            expected_casualties=e_c,
            casualties_averted=averted,
            threatened_asset=threats.asset[row],
            threat_munition=munition.name,
            priority=float(threats.priority[row]),
        )

    def _collateral(
        self, shots: list[tuple[Gun, Any, _Shot, int, Munition]], threats: ThreatAssessment,
    ) -> list[tuple[float, float]]:
        """(Expected casualties of each burst, casualties it is expected to avert), for the
        bursts (gun, window solution, shot, threat row, munition) ordered in one plan, weighed
        in one batch: one flight per kind of falling piece for all of them."""
        cfg = self.config
        if not shots or not cfg.collateral or not (
            self.populated_areas or self.background_density_per_km2
        ):
            return [(0.0, 0.0)] * len(shots)
        n = len(shots)

        def column(name: str) -> NDArray[np.float64]:  # each shot's row of its window solution
            return np.array([getattr(sol, name)[shot.k] for _, sol, shot, _, _ in shots])

        az, el = column("azimuth_rad"), column("elevation_rad")
        intercept, v_threat = column("intercept_enu"), column("threat_velocity_enu")
        pk = np.array([shot.pk for _, _, shot, _, _ in shots])
        parts: list[FallingDebris] = []
        owner: list[NDArray[np.int64]] = []
        # the gun's own rounds, one batch per kind of gun (interceptor, dispersion, speed)
        kinds: dict[tuple[int, float, float], list[int]] = {}
        for m, (gun, _, _, _, _) in enumerate(shots):
            key = (id(gun.interceptor), gun.dispersion_rad, gun.muzzle_speed_mps)
            kinds.setdefault(key, []).append(m)
        for members in kinds.values():
            gun = shots[members[0]][0]
            idx = np.array(members)
            gun_enu = np.array([shots[m][0].position_enu for m in members], dtype=float)
            n_rounds = np.array([shots[m][0].rounds_per_burst for m in members], dtype=float)
            common = dict(
                muzzle_speed_mps=gun.muzzle_speed_mps, ground_height_m=cfg.ground_height_m,
                atmosphere=self.atmosphere, wind=self.wind,
            )
            if gun.dud_rate > 0:
                parts.append(dud_round_impacts(
                    gun_enu, az[idx], el[idx], gun.interceptor, n_rounds=n_rounds,
                    dispersion_rad=gun.dispersion_rad, **common,
                ))
                owner.append(idx)
            parts.append(self_destruct_fragments(
                gun_enu, az[idx], el[idx], gun.interceptor, n_rounds=n_rounds, **common,
            ))
            owner.append(idx)
        # the killed threats' debris, from the intercept points above the ground
        up = np.flatnonzero(intercept[:, 2] > cfg.ground_height_m)
        if up.size:
            parts.append(debris_footprint(
                np.concatenate([intercept[up], v_threat[up]], axis=1),
                np.array([shots[m][4].burnout_mass_kg for m in up.tolist()]),
                count_scale=pk[up], ground_height_m=cfg.ground_height_m,
                atmosphere=self.atmosphere, wind=self.wind,
            ))
            owner.append(up)
        per_piece = expected_casualties(
            FallingDebris.concatenate(parts), self.populated_areas,
            background_density_per_km2=self.background_density_per_km2,
        ).by_piece
        e_c = np.bincount(np.concatenate(owner), weights=per_piece, minlength=n)
        rows = np.array([row for _, _, _, row, _ in shots])
        lethal_area = np.array([threat_lethal_area_m2(s[4], cfg) for s in shots])
        in_areas = (
            gaussian_polygon_probabilities(
                threats.impact_en[rows],
                floor_covariance(threats.impact_cov_en[rows].copy(), 1.0),
                [a.polygon for a in self.populated_areas],
            ) @ np.array([a.density_per_m2 for a in self.populated_areas])
            if self.populated_areas else np.zeros(n)
        )
        averted = pk * lethal_area * (in_areas + self.background_density_per_km2 * 1e-6)
        return [(float(e), float(v)) for e, v in zip(e_c, averted, strict=True)]

    def _commit(self, i: int, gun: Gun, order: FireOrder) -> None:
        st = self.states[i]
        st.magazine -= order.rounds
        st.busy_until_s = order.fire_time_s + gun.burst_s + gun.config.retarget_s
        st.azimuth_rad = order.azimuth_rad
        st.elevation_rad = order.elevation_rad
        st.pointed_s = st.busy_until_s
        st.planned = None
        self.fired_at.add(order.track_id)
        self.engagements[order.track_id] = Engagement(gun.name, order.intercept_time_s)

    def _status_events(
        self, now: float, orders: list[FireOrder], holds: dict[int, str], waiting: set[int]
    ) -> list[GunStatus]:
        fired = {o.gun_index for o in orders}
        out: list[GunStatus] = []
        for i, (g, st) in enumerate(zip(self.guns, self.states, strict=True)):
            reason = ""
            if i in fired or st.busy_until_s > now:
                state = "firing"
            elif st.magazine < g.rounds_per_burst:
                state = "empty"
            elif i in holds:
                state, reason = "hold", holds[i]
            elif i in waiting:
                state = "slewing"
            else:
                state = "ready"
            st.state, st.hold_reason = state, reason
            key = (state, reason, st.magazine)
            if key != st.last_reported:
                st.last_reported = key
                out.append(GunStatus(time_s=now, gun=g.name, state=state, magazine=st.magazine,
                                     hold_reason=reason))
        return out


def _unit_vectors(azimuth_rad: NDArray[np.float64],
                  elevation_rad: NDArray[np.float64]) -> NDArray[np.float64]:
    """ENU unit vectors (N, 3) of compass azimuths and elevations (N,)."""
    ce = np.cos(elevation_rad)
    out = np.empty((azimuth_rad.shape[0], 3))
    out[:, 0] = ce * np.sin(azimuth_rad)
    out[:, 1] = ce * np.cos(azimuth_rad)
    out[:, 2] = np.sin(elevation_rad)
    return out


def _kill_model_rows(kill_model: str, munitions: Sequence[Munition]) -> NDArray[np.float64]:
    """Per threat (J, 3): the kill model's value (P(defeat | hit), or the lethal radius), the
    body diameter and the silhouette length."""
    field = "lethal_radius_m" if kill_model == "lethal_radius" else "defeat_given_hit"
    seen: dict[int, tuple[float, float, float]] = {}
    rows = []
    for m in munitions:
        row = seen.get(id(m))
        if row is None:
            value = getattr(m, field)
            if value is None:
                raise ValueError(f"{m.name} has no {field} (not a threat?)")
            row = seen[id(m)] = (float(value), float(m.diameter_m), presented_length_m(m))
        rows.append(row)
    return np.array(rows, dtype=float).reshape(len(rows), 3)


def _slew_toward(
    limits: GunLimits, az0: float, el0: float, az1: float, el1: float, dt_s: float
) -> tuple[float, float]:
    """Pointing after slewing from (az0, el0) toward (az1, el1) for ``dt_s``: both axes at the
    slew rate, azimuth inside the gun's travel (the way :func:`slew_time_s` measures it)."""
    step = limits.slew_rate_radps * dt_s
    c = limits.azimuth_center_rad
    a0 = _wrap_angle(az0 - c)
    a1 = _wrap_angle(az1 - c)
    d_az = _wrap_angle(a1 - a0) if limits.azimuth_half_width_rad >= math.pi else a1 - a0
    d_az = max(-step, min(step, d_az))
    d_el = max(-step, min(step, el1 - el0))
    return (c + a0 + d_az) % (2.0 * math.pi), el0 + d_el


def _wrap_angle(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi
