"""Tests of the intercept solution (vacuum closed form, drag refinement) and engagement windows."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from counterram.engagement.intercept import (
    GunLimits,
    InterceptReason,
    WindowReason,
    engagement_window,
    slew_time_s,
    solve_intercept,
    vacuum_intercept,
)
from counterram.physics.catalogue import load_catalogue
from counterram.physics.constants import STANDARD_GRAVITY_MPS2 as G
from counterram.physics.trajectory import Projectiles, launch_state, propagate
from counterram.physics.wind import Wind

CAT = load_catalogue()
ROUND = CAT.get("20mm-sd")
MUZZLE = ROUND.charges["standard"]
MORTAR = CAT.get("81mm-mortar")


def _ballistic_position(state: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Closed-form drag-free position after t (independent of the module's own code)."""
    p = state[:, 0:3] + state[:, 3:6] * t[:, None]
    p[:, 2] -= 0.5 * G * t**2
    return p


def _random_threats(rng: np.random.Generator, n: int) -> np.ndarray:
    pos = np.column_stack(
        [rng.uniform(-1500, 1500, (n, 2)), rng.uniform(300, 1800, n)]
    )
    vel = np.column_stack([rng.uniform(-200, 200, (n, 2)), rng.uniform(-250, 50, n)])
    return np.hstack([pos, vel])


def test_vacuum_intercept_hits_exactly_against_closed_form() -> None:
    rng = np.random.default_rng(1)
    threats = _random_threats(rng, 200)
    gun = np.array([30.0, -20.0, 5.0])
    delay = rng.uniform(0.0, 2.0, 200)
    sol = vacuum_intercept(gun, threats, MUZZLE, fire_delay_s=delay)
    assert np.all(sol.ok)
    # threat at the intercept time and round at its time of flight, both closed form
    threat_p = _ballistic_position(threats, sol.intercept_time_s)
    shot = launch_state(np.broadcast_to(gun, (200, 3)), sol.azimuth_rad, sol.elevation_rad, MUZZLE)
    round_p = _ballistic_position(shot, sol.round_tof_s)
    # double precision on km-scale positions: round-off ~1e-12 m; 1e-6 m leaves ample margin
    assert np.max(np.linalg.norm(threat_p - round_p, axis=1)) < 1e-6
    assert np.max(np.linalg.norm(sol.intercept_enu - threat_p, axis=1)) < 1e-6
    np.testing.assert_allclose(sol.intercept_time_s - sol.fire_time_s, sol.round_tof_s)
    # the round's gravity-free displacement (intercept point plus the drop ½gt²) equals v·t
    rel = threat_p - gun
    rel[:, 2] += 0.5 * G * sol.round_tof_s**2
    np.testing.assert_allclose(np.linalg.norm(rel, axis=1), MUZZLE * sol.round_tof_s, rtol=1e-12)


def test_vacuum_intercept_no_solution_for_a_faster_receding_target() -> None:
    # target 1 km north flying away at 1.5 × the muzzle speed: the round can never catch it
    threat = np.array([[0.0, 1000.0, 500.0, 0.0, 1.5 * MUZZLE, 0.0]])
    sol = vacuum_intercept([0.0, 0.0, 0.0], threat, MUZZLE)
    assert sol.reason[0] == InterceptReason.NO_SOLUTION
    assert np.isnan(sol.round_tof_s[0]) and np.all(np.isnan(sol.intercept_enu[0]))


def test_lead_angles_are_aim_minus_line_of_sight() -> None:
    # crossing target due north moving east: lead in azimuth is positive (aim ahead, clockwise)
    threat = np.array([[0.0, 1000.0, 500.0, 100.0, 0.0, 0.0]])
    sol = vacuum_intercept([0.0, 0.0, 0.0], threat, MUZZLE)
    assert sol.lead_azimuth_rad[0] > 0
    los_el = np.arctan2(500.0, 1000.0)
    np.testing.assert_allclose(sol.elevation_rad[0] - los_el, sol.lead_elevation_rad[0])
    assert sol.lead_angle_rad[0] >= abs(sol.lead_elevation_rad[0]) - 1e-12


def test_refinement_reproduces_closed_form_without_drag() -> None:
    # drag-free threat and round through the RK4 path: RK4 is exact for quadratic motion, so the
    # Newton iteration must land on the closed form to its own tolerance
    rng = np.random.default_rng(2)
    threats = _random_threats(rng, 20)
    bodies = Projectiles.repeat(MORTAR, 20, drag_scale=0.0)
    sol = solve_intercept(
        [0.0, 0.0, 0.0], threats, bodies, interceptor_drag_scale=0.0, tol_s=1e-9, tol_m=1e-8,
        fire_delay_s=0.7,
    )
    ref = vacuum_intercept([0.0, 0.0, 0.0], threats, MUZZLE, fire_delay_s=0.7)
    assert np.all(sol.ok)
    assert np.max(np.linalg.norm(sol.intercept_enu - ref.intercept_enu, axis=1)) < 1e-6
    np.testing.assert_allclose(sol.round_tof_s, ref.round_tof_s, atol=1e-9)
    np.testing.assert_allclose(sol.azimuth_rad, ref.azimuth_rad, atol=1e-9)


def _check_by_flying(sol, threats, bodies, gun, wind=None) -> np.ndarray:
    """Miss distance when the round is flown independently (finer RK4 step) with the aim."""
    kw = {} if wind is None else {"wind": wind}
    n = threats.shape[0]
    shot = launch_state(np.broadcast_to(gun, (n, 3)), sol.azimuth_rad, sol.elevation_rad, MUZZLE)
    r = propagate(shot, Projectiles.repeat(ROUND, n), sol.round_tof_s, time_since_launch_s=0.0,
                  max_step_s=0.001, **kw)
    t = propagate(threats, bodies, sol.intercept_time_s, max_step_s=0.001, **kw)
    return np.linalg.norm(r[:, 0:3] - t[:, 0:3], axis=1)


@pytest.mark.parametrize("wind", [None, Wind.constant(8.0, -5.0)])
def test_drag_refined_solution_hits_at_1500_m(wind) -> None:
    # 81 mm mortar bombs descending ~1.5 km from the gun, from several directions
    gun = np.array([0.0, 0.0, 2.0])
    az = np.radians([20.0, 110.0, 200.0, 300.0])
    pos = np.column_stack([1300 * np.sin(az), 1300 * np.cos(az), np.full(4, 750.0)])
    vel = np.column_stack([-80 * np.sin(az), -80 * np.cos(az), np.full(4, -150.0)])
    threats = np.hstack([pos, vel])
    bodies = Projectiles.repeat(MORTAR, 4)
    kw = {} if wind is None else {"wind": wind}
    sol = solve_intercept(gun, threats, bodies, **kw)
    assert np.all(sol.ok)
    assert np.all((sol.slant_range_m > 1200) & (sol.slant_range_m < 1700))
    # 0.5 m is the brief's requirement; the solver's own tolerance is 1 mm + 1e-4 s × ~1.3 km/s
    miss = _check_by_flying(sol, threats, bodies, gun, wind)
    assert np.max(miss) < 0.5
    # the refinement matters: the vacuum aim misses by metres at this range
    vac = vacuum_intercept(gun, threats, MUZZLE)
    vac_miss = _check_by_flying(vac, threats, bodies, gun, wind)
    assert np.min(vac_miss) > 5.0
    assert np.all(sol.round_tof_s > vac.round_tof_s)  # drag slows the round


def test_solution_with_fire_delay_matches_prepropagated_state() -> None:
    threats = np.array([[1200.0, 900.0, 1400.0, -60.0, -40.0, -150.0]])
    bodies = Projectiles.repeat(MORTAR, 1)
    a = solve_intercept([0, 0, 0], threats, bodies, fire_delay_s=1.5)
    moved = propagate(threats, bodies, 1.5, max_step_s=0.01)
    b = solve_intercept([0, 0, 0], moved, bodies)
    # same physics, same steps: agreement to the solver tolerance (1 mm, 1e-4 s)
    np.testing.assert_allclose(a.intercept_enu, b.intercept_enu, atol=5e-3)
    np.testing.assert_allclose(a.intercept_time_s, b.intercept_time_s + 1.5, atol=2e-4)
    np.testing.assert_allclose(a.fire_time_s, 1.5)


def test_near_vertical_shot_converges() -> None:
    # a bomb almost overhead: the aim is parametrised by a direction, so the zenith is no problem
    threats = np.array([[20.0, 10.0, 1400.0, -30.0, -10.0, -120.0]])
    bodies = Projectiles.repeat(MORTAR, 1)
    sol = solve_intercept([0, 0, 0], threats, bodies)
    assert sol.ok[0] and np.degrees(sol.elevation_rad[0]) > 85.0
    assert _check_by_flying(sol, threats, bodies, np.zeros(3))[0] < 0.5


def test_bad_input_names_the_field() -> None:
    bodies = Projectiles.repeat(MORTAR, 1)
    with pytest.raises(ValueError, match="threat_state"):
        solve_intercept([0, 0, 0], np.zeros((1, 5)), bodies)
    with pytest.raises(ValueError, match="gun_enu"):
        solve_intercept([0, 0], np.ones((1, 6)), bodies)
    with pytest.raises(ValueError, match="muzzle_speed_mps"):
        vacuum_intercept([0, 0, 0], np.ones((1, 6)), -5.0)
    with pytest.raises(ValueError, match="min_range_m"):
        GunLimits(min_range_m=3000.0, max_range_m=2000.0)
    with pytest.raises(ValueError, match="no_fire_areas"):
        GunLimits(no_fire_areas=("not a polygon",))


# ------------------------------------------------------------------------------------------
# Engagement windows
# ------------------------------------------------------------------------------------------

# an 81 mm bomb crossing from east to west, north of the gun: its bearing sweeps 63° → 0°
THREAT = np.array([[1900.0, 700.0, 1300.0, -150.0, 0.0, -40.0]])


def test_window_respects_every_limit() -> None:
    area = box(500.0, 560.0, 560.0, 640.0)  # a populated block on the bearings 38°–47°
    limits = GunLimits(
        max_range_m=1800.0,
        min_range_m=300.0,
        min_altitude_m=200.0,
        no_fire_sectors_rad=((np.radians(0.0), np.radians(20.0)),),
        no_fire_areas=(area,),
        overshoot_m=300.0,
    )
    times = np.arange(0.0, 14.0, 0.1)
    w = engagement_window(limits, THREAT, Projectiles.repeat(MORTAR, 1), times)
    sol = w.solution
    feas = w.feasible[0]
    assert feas.any() and not feas.all()
    r = sol.slant_range_m[0][feas]
    assert np.all((r >= 300.0) & (r <= 1900.0))
    assert np.all(sol.intercept_enu[0][feas, 2] >= 200.0)
    az = sol.azimuth_rad[0][feas]
    assert not np.any(az <= np.radians(20.0))
    assert np.all(sol.round_tof_s[0][feas] <= ROUND.self_destruct_s)
    # no feasible line of fire (extended by the overshoot) crosses the area: independent check
    end = sol.intercept_enu[0][feas, 0:2]
    unit = end / np.linalg.norm(end, axis=1, keepdims=True)
    lines = shapely.linestrings(np.stack([np.zeros_like(end), end + 300.0 * unit], axis=1))
    assert not np.any(shapely.intersects(lines, area))
    # and the limits did bite somewhere along this path
    flags = np.bitwise_or.reduce(w.reasons[0])
    for reason in (
        WindowReason.MAX_RANGE, WindowReason.MIN_ALTITUDE, WindowReason.NO_FIRE_AREA,
        WindowReason.NO_FIRE_SECTOR,
    ):
        assert flags & reason, reason
    # the no-fire area splits the feasible fire times in two intervals
    assert len(w.intervals(0)) == 2


def test_window_earliest_fire_time_accounts_for_slew_and_reaction() -> None:
    limits = GunLimits(slew_rate_radps=np.radians(30.0), reaction_time_s=0.5)
    times = np.arange(0.0, 12.0, 0.05)
    bodies = Projectiles.repeat(MORTAR, 1)
    # pointing south-west (220°, inside the ±150° travel) versus at the threat already
    away = engagement_window(limits, THREAT, bodies, times,
                             current_azimuth_rad=np.radians(220.0))
    los_az = np.arctan2(THREAT[0, 0], THREAT[0, 1])
    near = engagement_window(limits, THREAT, bodies, times, current_azimuth_rad=los_az,
                             current_elevation_rad=np.radians(36.0))
    k = away.earliest_index[0]
    assert k >= 0
    t_away = away.earliest_fire_time_s[0]
    assert away.feasible[0, k] and t_away >= away.ready_time_s[0, k]
    # every earlier grid time was feasible (the path is) but the gun was not ready yet
    assert np.all(away.feasible[0, 1:k])
    assert np.all(away.reasons[0, :k] & WindowReason.NOT_READY)
    # independent readiness: the gun swings through north (not the dead arc in the south)
    aim_az = np.degrees(away.solution.azimuth_rad[0, k])
    expected = 0.5 + (360.0 - 220.0 + aim_az) / 30.0
    np.testing.assert_allclose(away.ready_time_s[0, k], expected, rtol=1e-9)
    assert near.earliest_fire_time_s[0] < 1.0 < t_away


def test_slew_respects_the_dead_arc() -> None:
    # travel ±150° about north: from az +140° to −140° the gun must swing 280°, not 80°
    limits = GunLimits(slew_rate_radps=np.radians(100.0))
    t = slew_time_s(limits, np.radians(140.0), 0.0, np.radians(-140.0), 0.0)
    np.testing.assert_allclose(t, 2.8)
    full = GunLimits(slew_rate_radps=np.radians(100.0), azimuth_half_width_rad=np.pi)
    np.testing.assert_allclose(slew_time_s(full, np.radians(140.0), 0.0, np.radians(-140.0), 0.0),
                               0.8)


def test_window_marks_azimuth_limit_and_landed_threat() -> None:
    # gun facing north with ±60° travel; the threat comes from the south-east and lands
    limits = GunLimits(azimuth_half_width_rad=np.radians(60.0))
    threat = np.array([[900.0, -900.0, 600.0, -60.0, 60.0, -100.0]])
    w = engagement_window(limits, threat, Projectiles.repeat(MORTAR, 1), np.arange(0.0, 12, 0.5),
                          method="vacuum")
    assert not w.feasible.any()
    assert np.all(w.reasons[0] & (WindowReason.AZIMUTH_LIMIT | WindowReason.NO_INTERCEPT))
    assert np.isnan(w.earliest_fire_time_s[0])
    # late fire times: the bomb is already on the ground
    assert w.solution.reason[0, -1] in (InterceptReason.THREAT_DOWN, InterceptReason.OK)
