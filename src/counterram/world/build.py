"""The simulated world: a scenario's raids → aimed launches → truth flights.

:func:`build_truth` takes the launch plan of :mod:`counterram.world.launches`, aims every round
with :func:`counterram.physics.aiming.aim` (one batched solve per munition, charge and firing
branch), flies all rounds of a munition in one batched :func:`counterram.physics.trajectory.fly`
in the scenario's atmosphere and wind, and records the result as a :class:`Truth`.

Delivery errors are applied to the aim point, not to the launch angles: each round is aimed at
its intended point moved by its drawn range and deflection error, and the aiming solver lands it
there to centimetres. The impact scatter is therefore exactly the configured Gaussian whatever the
munition, charge, wind or elevation branch, which perturbing elevation and azimuth (whose effect
on range depends on all four) would not give.
"""

from __future__ import annotations

import numpy as np

from counterram.physics.aiming import aim, choose_charges
from counterram.physics.atmosphere import Atmosphere
from counterram.physics.catalogue import Catalogue, Munition, load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.scenario.resolved import ResolvedArea, ResolvedScenario, resolve
from counterram.scenario.schema import Scenario
from counterram.world.launches import LaunchPlan, plan_launches
from counterram.world.truth import Truth

__all__ = ["build_truth"]

#: Longest flight the truth integrates (the slowest catalogue round, a 155 mm shell at maximum
#: range in high-angle fire, lands within about 150 s).
MAX_FLIGHT_S = 400.0


def build_truth(
    scenario: Scenario | ResolvedScenario,
    *,
    seed: int | None = None,
    sample_dt_s: float | None = 0.05,
    catalogue: Catalogue | None = None,
) -> Truth:
    """Every round of ``scenario``: launch, aim, flight and impact (see :class:`Truth`).

    ``seed`` None uses the scenario's seed; the same scenario and seed give the same truth bit for
    bit. ``sample_dt_s`` is the spacing of the stored trajectory samples (None: store none,
    which saves memory for large Monte Carlo raids; :meth:`Truth.states_at` then raises).
    """
    world = resolve(scenario)
    if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if sample_dt_s is not None and not (np.isfinite(sample_dt_s) and sample_dt_s > 0):
        raise ValueError(f"sample_dt_s must be a positive number of seconds, got {sample_dt_s!r}")
    catalogue = load_catalogue() if catalogue is None else catalogue
    plan = plan_launches(world, seed, catalogue)
    order = np.argsort(plan.launch_time_s, kind="stable")
    n = len(plan)
    atmosphere, wind = world.atmosphere(), world.wind()

    charge = np.empty(n, dtype=object)
    azimuth, elevation, speed = np.empty(n), np.empty(n), np.empty(n)
    impact_t, apex, miss = np.empty(n), np.empty(n), np.empty(n)
    impact = np.empty((n, 6))
    flights: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for name in dict.fromkeys(plan.munition.tolist()):
        m = catalogue.get(name)
        rows = np.flatnonzero(plan.munition == name)
        _choose_charges(plan, rows, m, atmosphere, charge)
        groups = {(charge[r], bool(plan.high_angle[r])) for r in rows}
        for c, high in sorted(groups):
            sel = rows[(charge[rows] == c) & (plan.high_angle[rows] == high)]
            sol = aim(
                m, plan.launch_enu[sel], plan.aim_point_enu[sel], charge=c, high_angle=high,
                atmosphere=atmosphere, wind=wind,
            )
            azimuth[sel], elevation[sel] = sol.azimuth_rad, sol.elevation_rad
            speed[sel] = sol.muzzle_velocity_mps
        flight = fly(
            launch_state(plan.launch_enu[rows], azimuth[rows], elevation[rows], speed[rows]),
            Projectiles.repeat(m, rows.size),
            atmosphere=atmosphere,
            wind=wind,
            t0_s=plan.launch_time_s[rows],
            ground_height_m=plan.aim_point_enu[rows, 2],
            sample_dt_s=sample_dt_s,
            max_time_s=MAX_FLIGHT_S,
        )
        if not np.all(np.isfinite(flight.impact_time_s)):
            bad = rows[~np.isfinite(flight.impact_time_s)]
            raise RuntimeError(f"{name}: rounds {bad.tolist()} still airborne after "
                               f"{MAX_FLIGHT_S:g} s")
        impact_t[rows], impact[rows], apex[rows] = (
            flight.impact_time_s, flight.impact_state, flight.apex_m
        )
        miss[rows] = np.hypot(*(flight.impact_state[:, :2] - plan.aim_point_enu[rows, :2]).T)
        flights[name] = (rows, flight.samples)

    samples, counts = _gather_samples(flights, n)
    impact_enu = impact[:, :3].copy()
    impact_enu[:, 2] = plan.aim_point_enu[:, 2]  # the crossing height, exactly
    east, north = impact_enu[:, 0], impact_enu[:, 1]
    in_asset = _inside([a.area for a in world.assets], east, north)
    in_zone = _inside([z.area for z in world.zones], east, north)
    in_pop = _inside([p.area for p in world.populated], east, north)
    o = order
    return Truth(
        scenario=world.scenario.name,
        seed=int(world.scenario.seed if seed is None else seed),
        sample_dt_s=float(sample_dt_s) if sample_dt_s is not None else 0.0,
        threat_names=tuple(t.name for t in world.threats),
        asset_names=tuple(a.name for a in world.assets),
        zone_names=tuple(z.name for z in world.zones),
        populated_names=tuple(p.name for p in world.populated),
        round_id=np.arange(n, dtype=np.int64),
        threat_index=plan.threat_index[o].astype(np.int64),
        firing_index=plan.firing_index[o].astype(np.int64),
        round_in_firing=plan.round_in_firing[o].astype(np.int64),
        munition=plan.munition[o],
        charge=charge[o].astype(str) if n else np.zeros(0, dtype=str),
        launch_time_s=plan.launch_time_s[o],
        launch_enu=plan.launch_enu[o],
        aim_enu=plan.aim_enu[o],
        aim_point_enu=plan.aim_point_enu[o],
        delivery_error_m=plan.delivery_error_m[o],
        range_pe_m=plan.range_pe_m[o],
        deflection_pe_m=plan.deflection_pe_m[o],
        azimuth_rad=azimuth[o],
        elevation_rad=elevation[o],
        muzzle_velocity_mps=speed[o],
        impact_time_s=impact_t[o],
        impact_enu=impact_enu[o],
        impact_velocity_mps=impact[o, 3:],
        apex_m=apex[o],
        aim_miss_m=miss[o],
        sample_count=counts[o],
        samples=samples[o],
        impact_in_asset=in_asset[o],
        impact_in_zone=in_zone[o],
        impact_in_populated=in_pop[o],
    )


def _choose_charges(
    plan: LaunchPlan, rows: np.ndarray, munition: Munition, atmosphere: Atmosphere,
    out: np.ndarray,
) -> None:
    """Charges of one munition's rounds: the scenario's, or the lowest charge that reaches both
    the intended and the perturbed aim point (so a long error never leaves a round short)."""
    given = plan.charge_spec[rows]
    free = rows[given == ""]
    out[rows[given != ""]] = given[given != ""]
    if free.size:
        launch = plan.launch_enu[free, :2]
        reach = np.maximum(
            np.hypot(*(plan.aim_enu[free, :2] - launch).T),
            np.hypot(*(plan.aim_point_enu[free, :2] - launch).T),
        )
        out[free] = choose_charges(munition, reach, atmosphere)


def _gather_samples(
    flights: dict[str, tuple[np.ndarray, np.ndarray | None]], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-munition sample blocks → one (R, K, 6) NaN-padded array and per-round counts."""
    k = max((s.shape[1] for _, s in flights.values() if s is not None), default=0)
    samples = np.full((n, k, 6), np.nan)
    for rows, block in flights.values():
        if block is not None:
            samples[rows, : block.shape[1]] = block
    counts = np.isfinite(samples[:, :, 0]).sum(axis=1).astype(np.int64)
    return samples, counts


def _inside(areas: list[ResolvedArea], east: np.ndarray, north: np.ndarray) -> np.ndarray:
    """(R, len(areas)) point-in-area matrix."""
    out = np.zeros((east.size, len(areas)), dtype=bool)
    for j, area in enumerate(areas):
        out[:, j] = area.contains(east, north)
    return out
