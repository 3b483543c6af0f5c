"""Outcome of a burst in simulation: kill or miss, and where every round and piece of debris falls.

Why it exists: fire control orders bursts on *predicted* kill probabilities; the simulator must
decide what really happens, with the same physics, so that the engine's claims can be measured
against truth. This module draws one burst's outcome (simulation only; the engine never calls it).

Model, in the miss plane (the plane through the intercept point normal to the line of fire, axes
as in :func:`counterram.engagement.lethality.bias_covariance`), the same model the predicted Pk
uses (:func:`counterram.engagement.lethality.burst_pk`, selected by the gun's ``kill_model``), so
that predicted and realised kill rates can be compared:

* **shared bias** = track error + fire-control error. The gun aims every round at the predicted
  intercept point Q; at the intercept time the threat really is at T, so each round passes
  (Q − T) off the threat (projected on the miss plane) — the track's prediction error, taken from
  truth, not sampled. The fire-control error adds N(0, (σ_fc · range)² I), one draw per burst;
* **dispersion** N(0, (σ_d)² I) per round, σ_d = range × dispersion, drawn round by round with
  :func:`counterram.engagement.lethality.sample_burst`;
* a **kill**, by the gun's ``kill_model``:

  - ``presented_area`` (default): a round *hits* when its miss point lies inside the threat's
    presented rectangle (:func:`counterram.engagement.lethality.presented_area`: the true
    threat's silhouette, body axis along its *true* velocity, seen along the order's line of
    fire); each hitting round then defeats the threat with the catalogue's
    ``defeat_given_hit``, one uniform draw per hitting round in round order; the first
    defeating round is the killing round. A round that hits without defeating is treated like
    a miss for what falls (flown on);
  - ``lethal_radius``: the first round passing within the catalogue's ``lethal_radius_m`` of
    the threat's centre kills.

  The random draws come in a fixed order for a given model (bias, dispersion, the defeat draws
  of the presented-area model, then the duds), so a seeded generator repeats an outcome. Range
  change and bias drift within the burst are neglected, as in the Pk model.

What falls:

* a killed threat breaks up at the intercept (its true state there) and falls as a debris
  footprint (:func:`counterram.engagement.collateral.debris_footprint`) instead of impacting;
* every round but the one that killed flies on along its own aim (the gun's aim plus its
  fire-control and dispersion angles) with the physics core: a round whose self-destruct fails
  (probability ``dud_rate``, drawn per round) or that reaches the ground before its
  self-destruct time lands whole — its impact point is recorded; the others burst at the
  self-destruct time — the burst point is recorded and its fragments follow
  :func:`counterram.engagement.collateral.debris_footprint` with the round-fragment model;
* expected casualties (FAA 14 CFR 420 App. C): debris footprint and fragment ellipses through
  the Gaussian-in-polygon kernel, the whole rounds at their sampled impact points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from counterram.engagement.collateral import (
    ROUND_FRAGMENTS,
    FallingDebris,
    PopulatedArea,
    SampledImpacts,
    casualty_area_m2,
    debris_footprint,
    expected_casualties,
)
from counterram.engagement.config import Gun
from counterram.engagement.fire_control import FireOrder
from counterram.engagement.lethality import (
    miss_plane_axes,
    presented_area,
    presented_length_m,
    sample_burst,
)
from counterram.events import EngagementOutcome
from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import Munition
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.physics.wind import CALM, Wind

__all__ = ["BurstOutcome", "miss_plane_basis", "resolve_burst"]


def miss_plane_basis(line_of_fire: ArrayLike) -> NDArray[np.float64]:
    """(2, 3) unit axes of the plane normal to the line of fire: u1 = unit(ẑ × d) (east when
    firing vertically), u2 = d × u1 — the axes of :func:`lethality.bias_covariance`."""
    return miss_plane_axes(np.asarray(line_of_fire, dtype=float).reshape(3))


@dataclass(frozen=True)
class BurstOutcome:
    """What one burst did (simulation truth).

    ``miss_m`` (n, 2) every round's miss vector in the miss plane, ``bias_m`` (2,) the shared
    part (track error + fire-control error); ``kill_round`` the index of the killing round (−1).
    ``debris`` is the killed threat's footprint (None without a kill), broken up at
    ``debris_enu``. ``dud`` (n,) marks rounds whose self-destruct failed; ``ground_impact_enu``
    (G, 3) and ``ground_round`` (G,) where whole rounds (duds, and rounds that reach the ground
    before self-destructing) landed; ``burst_enu`` (B, 3) where the others self-destructed.
    Expected casualties are split by source.
    """

    gun: str
    track_id: int
    round_id: int
    fire_time_s: float
    intercept_time_s: float
    killed: bool
    kill_round: int
    miss_distance_m: float
    bias_m: NDArray[np.float64]
    miss_m: NDArray[np.float64]
    debris: FallingDebris | None
    debris_enu: NDArray[np.float64]
    dud: NDArray[np.bool_]
    ground_impact_enu: NDArray[np.float64]
    ground_impact_time_s: NDArray[np.float64]
    ground_round: NDArray[np.int64]
    burst_enu: NDArray[np.float64]
    casualties_debris: float
    casualties_rounds: float
    casualties_fragments: float

    @property
    def n_duds(self) -> int:
        return int(np.count_nonzero(self.dud))

    @property
    def expected_casualties(self) -> float:
        """Expected casualties of everything the burst brought down."""
        return self.casualties_debris + self.casualties_rounds + self.casualties_fragments

    def to_event(self, time_s: float | None = None) -> EngagementOutcome:
        """The outcome as a truth event (default time: the intercept time)."""
        return EngagementOutcome(
            time_s=self.intercept_time_s if time_s is None else time_s,
            gun=self.gun,
            track_id=self.track_id,
            round_id=self.round_id,
            killed=self.killed,
            miss_distance_m=self.miss_distance_m,
            duds=self.n_duds,
            expected_casualties=self.expected_casualties,
            debris_enu=tuple(float(v) for v in self.debris_enu),  # type: ignore[arg-type]
        )


def resolve_burst(
    order: FireOrder,
    true_state_at_intercept: ArrayLike,
    rng: np.random.Generator,
    *,
    gun: Gun,
    threat: Munition,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    populated_areas: Sequence[PopulatedArea] = (),
    background_density_per_km2: float = 0.0,
    ground_height_m: float = 0.0,
    round_id: int = -1,
    fly_rounds: bool = True,
) -> BurstOutcome:
    """Draw the outcome of one ordered burst against the threat's true state (6,) at the
    order's intercept time.

    ``threat`` is the true munition (its silhouette and ``defeat_given_hit``, or its lethal
    radius, by ``gun.config.kill_model``; its mass). ``fly_rounds`` False skips the rounds'
    flights and their collateral (kill statistics only).
    """
    truth = np.asarray(true_state_at_intercept, dtype=float).reshape(6)
    if not np.all(np.isfinite(truth)):
        raise ValueError("true_state_at_intercept must be six finite numbers")
    n = int(order.rounds)
    aim = order.aim_unit
    basis = miss_plane_basis(aim)
    rng_m = float(order.slant_range_m)
    track_bias = basis @ (np.asarray(order.intercept_enu, dtype=float) - truth[0:3])
    sample = sample_burst(
        rng, n, rng_m * gun.dispersion_rad, sigma_bias_m=rng_m * gun.fire_control_sigma_rad
    )
    aim_miss = sample.miss_m  # (n, 2): fire-control error + dispersion (angles × range)
    miss = aim_miss + track_bias
    dist = np.hypot(miss[:, 0], miss[:, 1])
    if gun.config.kill_model == "lethal_radius":
        if threat.lethal_radius_m is None:
            raise ValueError(f"{threat.name} has no lethal_radius_m (not a threat?)")
        inside = dist < threat.lethal_radius_m
        killed = bool(inside.any())
        kill_round = int(np.argmax(inside)) if killed else -1
    else:
        q = threat.defeat_given_hit
        if q is None:
            raise ValueError(f"{threat.name} has no defeat_given_hit (not a threat?)")
        area = presented_area(aim, truth[3:6], threat.diameter_m, presented_length_m(threat))
        hit = np.flatnonzero(area.contains(miss[None])[0])
        defeating = hit[rng.random(hit.size) < q]
        killed = defeating.size > 0
        kill_round = int(defeating[0]) if killed else -1

    debris = None
    debris_enu = np.full(3, np.nan)
    c_debris = 0.0
    if killed and truth[2] > ground_height_m:
        debris_enu = truth[0:3].copy()
        debris = debris_footprint(
            truth[None], threat.burnout_mass_kg, ground_height_m=ground_height_m,
            atmosphere=atmosphere, wind=wind,
        )
        c_debris = expected_casualties(
            debris, populated_areas, background_density_per_km2=background_density_per_km2
        ).total

    dud = rng.random(n) < gun.dud_rate
    if killed:
        dud[kill_round] = False  # the killing round is spent on the threat
    ground = np.zeros((0, 3))
    ground_t = np.zeros(0)
    ground_round = np.zeros(0, dtype=np.int64)
    bursts = np.zeros((0, 3))
    c_rounds = c_frag = 0.0
    if fly_rounds:
        flying = np.flatnonzero(np.arange(n) != kill_round)
        dirs = aim[None, :] + (aim_miss[flying] / rng_m) @ basis
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        az = np.arctan2(dirs[:, 0], dirs[:, 1])
        el = np.arcsin(np.clip(dirs[:, 2], -1.0, 1.0))
        start = launch_state(
            np.broadcast_to(order.gun_enu, (flying.size, 3)), az, el, gun.muzzle_speed_mps
        )
        sd_s = gun.self_destruct_s
        flight = fly(
            start, Projectiles.repeat(gun.interceptor, flying.size), atmosphere=atmosphere,
            wind=wind, ground_height_m=ground_height_m, sample_dt_s=sd_s, max_time_s=400.0,
        )
        whole = dud[flying] | (flight.impact_time_s <= sd_s)
        landed = whole & np.isfinite(flight.impact_time_s)
        ground = flight.impact_state[landed, 0:3]
        ground_t = order.fire_time_s + flight.impact_time_s[landed]
        ground_round = flying[landed]
        burst_states = flight.samples[~whole, 1] if flight.samples.shape[1] > 1 else (
            np.zeros((0, 6))
        )
        burst_states = burst_states[np.all(np.isfinite(burst_states), axis=1)]
        bursts = burst_states[:, 0:3].copy()
        m = gun.interceptor
        length = presented_length_m(m)
        if ground.shape[0]:
            impacts = SampledImpacts(
                ground[:, 0:2], np.ones(ground.shape[0]),
                casualty_area_m2(np.full(ground.shape[0], m.diameter_m * length)),
            )
            c_rounds = expected_casualties(
                impacts, populated_areas, background_density_per_km2=background_density_per_km2
            ).total
        if burst_states.shape[0]:
            frags = debris_footprint(
                burst_states, m.mass_kg, ROUND_FRAGMENTS, ground_height_m=ground_height_m,
                atmosphere=atmosphere, wind=wind,
            )
            c_frag = expected_casualties(
                frags, populated_areas, background_density_per_km2=background_density_per_km2
            ).total
    return BurstOutcome(
        gun=order.gun,
        track_id=int(order.track_id),
        round_id=int(round_id),
        fire_time_s=float(order.fire_time_s),
        intercept_time_s=float(order.intercept_time_s),
        killed=killed,
        kill_round=kill_round,
        miss_distance_m=float(dist.min()) if n else math.nan,
        bias_m=sample.bias_m + track_bias,
        miss_m=miss,
        debris=debris,
        debris_enu=debris_enu,
        dud=dud,
        ground_impact_enu=ground,
        ground_impact_time_s=ground_t,
        ground_round=ground_round,
        burst_enu=bursts,
        casualties_debris=float(c_debris),
        casualties_rounds=float(c_rounds),
        casualties_fragments=float(c_frag),
    )
