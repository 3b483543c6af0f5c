"""Tests of the interceptor's firing table and the intercept solver on already-flown paths."""

from __future__ import annotations

import numpy as np
import pytest

from counterram.engagement import firing_table as ft
from counterram.engagement.firing_table import FiringTable
from counterram.engagement.intercept import (
    GunLimits,
    InterceptReason,
    WindowReason,
    apply_window_limits,
    engagement_window,
    solve_intercept,
    solve_intercept_on_path,
    vacuum_intercept,
)
from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state, propagate
from counterram.physics.wind import CALM, Wind
from counterram.scenario import load_scenario
from counterram.scenario.resolved import resolve

CAT = load_catalogue()
ROUND = CAT.get("20mm-sd")
MUZZLE = ROUND.charges["standard"]
MORTAR = CAT.get("81mm-mortar")
BAGHDAD = resolve(load_scenario("baghdad-embassy"))
STRONG = Wind.constant(6.0, -8.0)  # 10 m/s from the north-west quadrant

WINDS = {
    "calm": (CALM, None),
    "baghdad-embassy": (BAGHDAD.wind(), BAGHDAD.atmosphere()),
    "grad-salvo": (resolve(load_scenario("grad-salvo")).wind(), None),
    "10 m/s": (STRONG, None),
}


def _direct_round(gun, az, el, tof, wind, atmosphere=None):
    """The round flown directly (1 ms RK4 steps) for each (azimuth, elevation, tof)."""
    kw = {"wind": wind} if atmosphere is None else {"wind": wind, "atmosphere": atmosphere}
    n = np.size(az)
    shot = launch_state(np.broadcast_to(gun, (n, 3)), az, el, MUZZLE)
    return propagate(shot, Projectiles.repeat(ROUND, n), tof, time_since_launch_s=0.0,
                     max_step_s=0.001, **kw)


# ------------------------------------------------------------------------------------------
# The table against direct flights
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(WINDS))
def test_table_matches_direct_flight_anywhere_in_its_domain(name: str) -> None:
    wind, atmosphere = WINDS[name]
    gun = np.array([40.0, -25.0, 6.0])
    kw = {} if atmosphere is None else {"atmosphere": atmosphere}
    table = FiringTable.for_(ROUND, wind=wind, gun_height_m=gun[2], **kw)
    assert (table.harmonics == 0) == wind.is_calm
    rng = np.random.default_rng(3)
    n = 1500
    az = rng.uniform(0.0, 2 * np.pi, n)
    el = rng.uniform(table.elevation_min_rad, table.elevation_max_rad, n)
    tof = rng.uniform(0.0, table.max_tof_s, n)
    pos, vel = table.lookup(az, el, tof)
    ref = _direct_round(gun, az, el, tof, wind, atmosphere)
    err = np.linalg.norm(gun + pos - ref[:, 0:3], axis=1)
    # the brief's bound is 0.5 m; the table is far better than that (centimetres at most)
    assert np.max(err) < 0.5
    assert np.median(err) < 0.01
    assert np.max(np.linalg.norm(vel - ref[:, 3:6], axis=1)) < 0.2


@pytest.mark.parametrize("wind", [CALM, STRONG], ids=["calm", "10 m/s"])
def test_longer_table_holds_out_to_4_km(wind: Wind) -> None:
    # a round without self-destruct would need longer tables: 12 s reaches ~3.9 km
    table = FiringTable.build(ROUND, wind=wind, max_tof_s=12.0)
    rng = np.random.default_rng(4)
    n = 400
    az = rng.uniform(0.0, 2 * np.pi, n)
    el = rng.uniform(np.radians(-25.0), np.radians(85.0), n)
    tof = rng.uniform(5.0, 12.0, n)
    pos, _ = table.lookup(az, el, tof)
    ref = _direct_round(np.zeros(3), az, el, tof, wind)
    assert np.max(np.linalg.norm(ref[:, 0:3], axis=1)) > 3800.0
    assert np.max(np.linalg.norm(pos - ref[:, 0:3], axis=1)) < 0.5


def test_table_derivatives_match_finite_differences() -> None:
    table = FiringTable.for_(ROUND, wind=BAGHDAD.wind())
    rng = np.random.default_rng(5)
    az = rng.uniform(0.0, 2 * np.pi, 50)
    el = rng.uniform(np.radians(-20.0), np.radians(80.0), 50)
    tof = rng.uniform(0.5, 4.5, 50)
    _, vel, d_az, d_el = table.lookup(az, el, tof, derivatives=True)
    h = 1e-5
    fd_az = (table.lookup(az + h, el, tof)[0] - table.lookup(az - h, el, tof)[0]) / (2 * h)
    fd_el = (table.lookup(az, el + h, tof)[0] - table.lookup(az, el - h, tof)[0]) / (2 * h)
    fd_t = (table.lookup(az, el, tof + h)[0] - table.lookup(az, el, tof - h)[0]) / (2 * h)
    # the azimuth harmonics are linear in elevation, so their elevation derivative is the
    # interval's slope: agreement to ~1e-3 of the ~2 km/rad columns
    np.testing.assert_allclose(d_az, fd_az, atol=1.0)
    np.testing.assert_allclose(d_el, fd_el, atol=2.0)
    np.testing.assert_allclose(vel, fd_t, atol=1e-3)


def test_lookup_outside_the_domain_is_nan() -> None:
    table = FiringTable.for_(ROUND)
    pos, vel = table.lookup(
        [0.0, 0.0, 0.0, 1.0],
        [np.radians(-40.0), np.radians(100.0), 0.3, 0.3],
        [1.0, 1.0, table.max_tof_s + 0.1, -0.1],
    )
    assert np.all(np.isnan(pos)) and np.all(np.isnan(vel))
    assert np.all(np.isfinite(table.lookup(0.0, 0.3, table.max_tof_s)[0]))
    assert table.max_tof_s == pytest.approx(ROUND.self_destruct_s + 1.0)
    assert table.elevation_min_rad <= np.radians(-25.0)
    assert table.elevation_max_rad >= np.radians(90.0)


def test_for_caches_per_conditions() -> None:
    a = FiringTable.for_(ROUND, wind=STRONG, gun_height_m=2.0)
    assert FiringTable.for_(ROUND, MUZZLE, wind=STRONG, gun_height_m=2.0) is a
    assert FiringTable.for_(ROUND, wind=STRONG, gun_height_m=3.0) is not a
    assert FiringTable.for_(ROUND, wind=CALM, gun_height_m=2.0) is not a
    assert FiringTable.for_(ROUND, 1000.0, wind=STRONG, gun_height_m=2.0) is not a
    assert a.build_time_s > 0 and a.nbytes == a.data.nbytes
    with pytest.raises(ValueError, match="time_step_s"):
        FiringTable.build(ROUND, time_step_s=0.0)


def test_reason_codes_match_intercept_reason() -> None:
    assert ft.SOLVED == InterceptReason.OK
    assert ft.NO_SOLUTION == InterceptReason.NO_SOLUTION
    assert ft.NOT_CONVERGED == InterceptReason.NOT_CONVERGED
    assert ft.THREAT_DOWN == InterceptReason.THREAT_DOWN


# ------------------------------------------------------------------------------------------
# Intercepts on an already-flown path
# ------------------------------------------------------------------------------------------


def _mortar_threats(rng: np.random.Generator, n: int, spread: float = 1.0) -> np.ndarray:
    """81 mm bombs 1–2 km from the gun, descending towards it from all sides."""
    az = rng.uniform(0.0, 2 * np.pi, n)
    dist = rng.uniform(1000.0, 2000.0, n) * spread
    pos = np.column_stack([dist * np.sin(az), dist * np.cos(az), rng.uniform(900.0, 1600.0, n)])
    vel = np.column_stack([-90.0 * np.sin(az), -90.0 * np.cos(az), rng.uniform(-160.0, -60.0, n)])
    return np.hstack([pos, vel])


def _paths(threats, bodies, wind, step=0.25, horizon=20.0):
    path = fly(threats, bodies, wind=wind, sample_dt_s=step, max_time_s=horizon)
    return path.samples_t, path.samples


@pytest.mark.parametrize("name", ["calm", "baghdad-embassy", "10 m/s"])
def test_tabulated_intercept_matches_drag_newton(name: str) -> None:
    wind, atmosphere = WINDS[name]
    atm = {} if atmosphere is None else {"atmosphere": atmosphere}
    rng = np.random.default_rng(11)
    gun = np.array([15.0, -10.0, 4.0])
    threats = _mortar_threats(rng, 12)
    bodies = Projectiles.repeat(MORTAR, 12)
    path = fly(threats, bodies, wind=wind, sample_dt_s=0.25, max_time_s=20.0, **atm)
    t, samples = path.samples_t, path.samples
    # candidate rows: every threat at fire times 0, 0.25, …, 2 s
    jj, kk = np.meshgrid(np.arange(12), np.arange(9), indexing="ij")
    jj, kk = jj.ravel(), kk.ravel()
    table = FiringTable.for_(ROUND, wind=wind, gun_height_m=gun[2], **atm)
    sol = solve_intercept_on_path(gun, t, samples, jj, t[kk], table, ground_height_m=0.0)
    ref = solve_intercept(gun, samples[jj, kk], bodies.take(jj), wind=wind,
                          ground_height_m=0.0, **atm)
    assert np.all(ref.ok) and np.all(sol.ok)
    assert np.all(sol.round_tof_s < ROUND.self_destruct_s)
    np.testing.assert_allclose(sol.fire_time_s, t[kk])
    np.testing.assert_allclose(sol.intercept_time_s, t[kk] + sol.round_tof_s)
    assert np.max(np.linalg.norm(sol.intercept_enu - ref.intercept_enu, axis=1)) < 0.5
    np.testing.assert_allclose(sol.round_tof_s, ref.round_tof_s, atol=1e-3)
    # same fields, same meaning
    np.testing.assert_allclose(sol.azimuth_rad, ref.azimuth_rad, atol=1e-3)
    np.testing.assert_allclose(sol.elevation_rad, ref.elevation_rad, atol=1e-3)
    np.testing.assert_allclose(sol.lead_azimuth_rad, ref.lead_azimuth_rad, atol=1e-3)
    np.testing.assert_allclose(sol.lead_elevation_rad, ref.lead_elevation_rad, atol=1e-3)
    np.testing.assert_allclose(sol.slant_range_m, ref.slant_range_m, atol=0.5)
    np.testing.assert_allclose(sol.round_velocity_enu, ref.round_velocity_enu, atol=0.2)
    np.testing.assert_allclose(sol.threat_velocity_enu, ref.threat_velocity_enu, atol=0.05)
    np.testing.assert_allclose(sol.gun_enu, np.broadcast_to(gun, (jj.size, 3)))


@pytest.mark.parametrize("name", ["calm", "baghdad-embassy", "grad-salvo"])
def test_intercept_point_is_where_the_flown_round_meets_the_threat(name: str) -> None:
    wind, atmosphere = WINDS[name]
    atm = {} if atmosphere is None else {"atmosphere": atmosphere}
    rng = np.random.default_rng(12)
    gun = np.array([0.0, 0.0, 2.0])
    threats = _mortar_threats(rng, 30)
    bodies = Projectiles.repeat(MORTAR, 30)
    path = fly(threats, bodies, wind=wind, sample_dt_s=0.25, max_time_s=20.0, **atm)
    jj = np.repeat(np.arange(30), 4)
    fire = np.tile([0.0, 0.5, 1.0, 1.6], 30)  # 1.6 s: between path samples
    table = FiringTable.for_(ROUND, wind=wind, gun_height_m=gun[2], **atm)
    sol = solve_intercept_on_path(gun, path.samples_t, path.samples, jj, fire, table)
    assert np.mean(sol.ok) > 0.9
    ok = sol.ok
    n = int(ok.sum())
    shot = launch_state(np.broadcast_to(gun, (n, 3)), sol.azimuth_rad[ok], sol.elevation_rad[ok],
                        MUZZLE)
    round_state = propagate(shot, Projectiles.repeat(ROUND, n), sol.round_tof_s[ok],
                            time_since_launch_s=0.0, max_step_s=0.001, wind=wind, **atm)
    threat_state = propagate(threats[jj[ok]], bodies.take(jj[ok]), sol.intercept_time_s[ok],
                             max_step_s=0.001, wind=wind, **atm)
    miss = np.linalg.norm(round_state[:, 0:3] - threat_state[:, 0:3], axis=1)
    assert np.max(miss) < 0.5
    # the threat part alone: cubic Hermite on 0.25 s samples is good to millimetres (plus the
    # 1 cm convergence tolerance between the round and the interpolated threat)
    threat_err = np.linalg.norm(threat_state[:, 0:3] - sol.intercept_enu[ok], axis=1)
    assert np.max(threat_err) < 0.01 + 0.005 + np.max(
        np.linalg.norm(round_state[:, 0:3] - sol.intercept_enu[ok], axis=1))
    np.testing.assert_allclose(sol.threat_velocity_enu[ok], threat_state[:, 3:6], atol=0.01)
    np.testing.assert_allclose(sol.round_velocity_enu[ok], round_state[:, 3:6], atol=0.2)


def test_threat_path_interpolation_is_good_to_millimetres() -> None:
    # the threat's interpolated state at the fire time is what the lead angles are measured from
    rng = np.random.default_rng(13)
    threats = _mortar_threats(rng, 10)
    bodies = Projectiles.repeat(MORTAR, 10)
    wind = BAGHDAD.wind()
    path = fly(threats, bodies, wind=wind, sample_dt_s=0.25, max_time_s=20.0)
    last = np.empty(10, dtype=np.int64)
    ft.last_finite(path.samples, last)
    assert np.all(last == np.isfinite(path.samples[..., 0]).sum(axis=1) - 1)
    fire = rng.uniform(0.0, 8.0, 10)
    sol = solve_intercept_on_path(np.zeros(3), path.samples_t, path.samples, np.arange(10),
                                  fire, FiringTable.for_(ROUND, wind=wind))
    direct = propagate(threats, bodies, fire, max_step_s=0.001, wind=wind)
    los_az = np.arctan2(direct[:, 0], direct[:, 1]) % (2 * np.pi)
    los_el = np.arctan2(direct[:, 2], np.hypot(direct[:, 0], direct[:, 1]))
    ok = sol.ok
    assert ok.sum() >= 8
    r = np.linalg.norm(direct[:, 0:3], axis=1)
    # 1 mm at the range is 1e-3 / r rad
    d_az = np.angle(np.exp(1j * (sol.azimuth_rad - sol.lead_azimuth_rad - los_az)))
    assert np.all(np.abs(d_az[ok]) * r[ok] < 2e-3)
    d_el = sol.elevation_rad - sol.lead_elevation_rad - los_el
    assert np.all(np.abs(d_el[ok]) * r[ok] < 2e-3)


def test_drag_free_solution_reproduces_the_closed_form() -> None:
    rng = np.random.default_rng(14)
    threats = _mortar_threats(rng, 20)
    bodies = Projectiles.repeat(MORTAR, 20, drag_scale=0.0)
    path = fly(threats, bodies, sample_dt_s=0.25, max_time_s=20.0)
    table = FiringTable.for_(ROUND, drag_scale=0.0)
    fire = np.full(20, 0.75)
    sol = solve_intercept_on_path(np.zeros(3), path.samples_t, path.samples, np.arange(20),
                                  fire, table, tol_m=1e-4)
    ref = vacuum_intercept(np.zeros(3), threats, MUZZLE, fire_delay_s=fire)
    assert np.all(sol.ok)
    # quadratic paths: Hermite in time is exact, Lagrange in elevation to micrometres
    assert np.max(np.linalg.norm(sol.intercept_enu - ref.intercept_enu, axis=1)) < 1e-3
    np.testing.assert_allclose(sol.round_tof_s, ref.round_tof_s, atol=1e-6)


def test_near_vertical_and_over_the_zenith() -> None:
    # bombs almost overhead, from both sides: the elevation may pass 90° during the iteration
    threats = np.array([
        [20.0, 10.0, 1400.0, -30.0, -10.0, -120.0],
        [-15.0, 5.0, 1300.0, 25.0, 0.0, -130.0],
    ])
    bodies = Projectiles.repeat(MORTAR, 2)
    path = fly(threats, bodies, sample_dt_s=0.25, max_time_s=20.0)
    sol = solve_intercept_on_path(np.zeros(3), path.samples_t, path.samples, [0, 1],
                                  [0.0, 0.0], FiringTable.for_(ROUND))
    ref = solve_intercept(np.zeros(3), threats, bodies)
    assert np.all(sol.ok)
    assert np.all(np.degrees(sol.elevation_rad) > 85.0) and np.all(sol.elevation_rad <= np.pi / 2)
    assert np.max(np.linalg.norm(sol.intercept_enu - ref.intercept_enu, axis=1)) < 0.5


def test_warm_started_and_cold_rows_agree() -> None:
    rng = np.random.default_rng(15)
    threats = _mortar_threats(rng, 20)
    bodies = Projectiles.repeat(MORTAR, 20)
    wind = STRONG
    t, samples = _paths(threats, bodies, wind)
    jj = np.repeat(np.arange(20), 16)
    fire = np.tile(0.25 * np.arange(16), 20)
    table = FiringTable.for_(ROUND, wind=wind)
    warm = solve_intercept_on_path(np.zeros(3), t, samples, jj, fire, table)
    cold = solve_intercept_on_path(np.zeros(3), t, samples, jj, fire, table, warm_start=False)
    np.testing.assert_array_equal(warm.reason, cold.reason)
    ok = warm.ok
    assert ok.mean() > 0.8
    # both converged to the 1 cm tolerance on the same root
    assert np.max(np.linalg.norm(warm.intercept_enu[ok] - cold.intercept_enu[ok], axis=1)) < 0.03


def test_rows_outside_the_domain_are_flagged() -> None:
    gun = np.zeros(3)
    threats = np.array([
        [0.0, 6000.0, 1500.0, 0.0, -150.0, 0.0],  # 0: far beyond the round's reach in 5 s
        [0.0, 1500.0, 1000.0, 0.0, 1.5 * MUZZLE, 0.0],  # 1: receding faster than the round
        [0.0, 1200.0, 120.0, 0.0, -80.0, -150.0],  # 2: about to land
        [300.0, 900.0, 900.0, -50.0, -50.0, -100.0],  # 3: an ordinary bomb
    ])
    bodies = Projectiles.repeat(MORTAR, 4)
    path = fly(threats, bodies, sample_dt_s=0.25, max_time_s=10.0, ground_height_m=0.0)
    table = FiringTable.for_(ROUND)
    rows = [0, 1, 2, 2, 3, 3]
    fire = [0.0, 0.0, 0.7, 5.0, 0.0, 30.0]  # row 3: bomb 2 is down; row 5: past the path
    sol = solve_intercept_on_path(gun, path.samples_t, path.samples, rows, fire, table,
                                  ground_height_m=0.0)
    assert sol.reason[0] == InterceptReason.NOT_CONVERGED
    assert sol.reason[1] == InterceptReason.NO_SOLUTION
    # the intercept would come after the bomb lands: not on its path
    assert sol.reason[2] == InterceptReason.NOT_CONVERGED
    assert sol.reason[3] == InterceptReason.THREAT_DOWN
    assert sol.reason[4] == InterceptReason.OK
    assert sol.reason[5] == InterceptReason.THREAT_DOWN
    bad = ~sol.ok
    for arr in (sol.azimuth_rad, sol.elevation_rad, sol.round_tof_s, sol.slant_range_m,
                sol.intercept_enu, sol.round_velocity_enu, sol.threat_velocity_enu):
        assert np.all(np.isnan(arr[bad]))
    with pytest.raises(ValueError, match="gun_height_m"):
        solve_intercept_on_path([0.0, 0.0, 5.0], path.samples_t, path.samples, [3], [0.0], table)
    with pytest.raises(ValueError, match="path_states"):
        solve_intercept_on_path(gun, path.samples_t[:-1], path.samples, [3], [0.0], table)
    with pytest.raises(ValueError, match="threat_index"):
        solve_intercept_on_path(gun, path.samples_t, path.samples, [4], [0.0], table)


def test_irregular_path_times() -> None:
    rng = np.random.default_rng(16)
    threats = _mortar_threats(rng, 5)
    bodies = Projectiles.repeat(MORTAR, 5)
    path = fly(threats, bodies, sample_dt_s=0.125, max_time_s=15.0)
    keep = np.sort(np.r_[0, rng.choice(np.arange(1, path.samples_t.size), 60, replace=False)])
    t, samples = path.samples_t[keep], path.samples[:, keep]
    table = FiringTable.for_(ROUND)
    a = solve_intercept_on_path(np.zeros(3), t, samples, np.arange(5), np.full(5, 0.3), table)
    b = solve_intercept_on_path(np.zeros(3), path.samples_t, path.samples, np.arange(5),
                                np.full(5, 0.3), table)
    assert np.all(a.ok) and np.all(b.ok)
    assert np.max(np.linalg.norm(a.intercept_enu - b.intercept_enu, axis=1)) < 0.05


# ------------------------------------------------------------------------------------------
# Limits on any solution
# ------------------------------------------------------------------------------------------

CROSSING = np.array([[1900.0, 700.0, 1300.0, -150.0, 0.0, -40.0]])


def _first_threat(sol):
    """The (K, ...) solutions of the first threat of an (N, K, ...) window solution."""
    from dataclasses import fields, replace

    out = {f.name: getattr(sol, f.name)[0] for f in fields(sol)
           if isinstance(getattr(sol, f.name), np.ndarray) and getattr(sol, f.name).ndim >= 2}
    return replace(sol, **out)


def test_apply_window_limits_reproduces_engagement_window() -> None:
    from shapely.geometry import box

    limits = GunLimits(
        max_range_m=1800.0, min_range_m=300.0, min_altitude_m=200.0,
        no_fire_sectors_rad=((np.radians(0.0), np.radians(20.0)),),
        no_fire_areas=(box(500.0, 560.0, 560.0, 640.0),), overshoot_m=300.0,
    )
    times = np.arange(0.0, 14.0, 0.25)
    bodies = Projectiles.repeat(MORTAR, 1)
    w = engagement_window(limits, CROSSING, bodies, times, current_azimuth_rad=1.0)
    sol = _first_threat(w.solution)
    reasons, ready = apply_window_limits(limits, sol, times, current_azimuth_rad=1.0)
    np.testing.assert_array_equal(reasons, w.reasons[0])
    np.testing.assert_allclose(ready, w.ready_time_s[0])
    # default fire times: the solution's own
    again, _ = apply_window_limits(limits, sol, current_azimuth_rad=1.0)
    np.testing.assert_array_equal(again, reasons)


def test_table_window_agrees_with_the_drag_window() -> None:
    from shapely.geometry import box

    limits = GunLimits(
        max_range_m=1800.0, min_range_m=300.0, min_altitude_m=200.0,
        no_fire_sectors_rad=((np.radians(0.0), np.radians(20.0)),),
        no_fire_areas=(box(500.0, 560.0, 560.0, 640.0),), overshoot_m=300.0,
        slew_rate_radps=np.radians(30.0), reaction_time_s=0.5,
    )
    times = np.arange(0.0, 14.0, 0.1)
    bodies = Projectiles.repeat(MORTAR, 1)
    kw = {"current_azimuth_rad": np.radians(220.0), "wind": STRONG}
    drag = engagement_window(limits, CROSSING, bodies, times, **kw)
    table = engagement_window(limits, CROSSING, bodies, times, method="table", **kw)
    both = drag.solution.ok[0] & table.solution.ok[0]
    assert both.sum() > 100
    d = np.linalg.norm(drag.solution.intercept_enu[0, both] - table.solution.intercept_enu[0,
                       both], axis=1)
    assert np.max(d) < 0.5
    # identical flags wherever both solved and no limit sits within the solvers' difference
    same = both & (np.abs(drag.solution.slant_range_m[0] - limits.max_range_m) > 1.0)
    assert np.mean(drag.reasons[0, same] == table.reasons[0, same]) > 0.97
    assert drag.earliest_fire_time_s[0] == pytest.approx(table.earliest_fire_time_s[0])
    np.testing.assert_allclose(drag.intervals(0), table.intervals(0), atol=0.11)
    # the table's misses (round past its table, bomb landed) are infeasible for the drag solver
    only_drag = drag.solution.ok[0] & ~table.solution.ok[0]
    assert np.all(drag.reasons[0, only_drag] & ~int(WindowReason.NOT_READY))
    with pytest.raises(ValueError, match="method"):
        engagement_window(limits, CROSSING, bodies, times, method="nope")  # type: ignore[arg-type]
