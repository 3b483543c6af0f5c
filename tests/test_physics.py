"""Physics core: atmosphere, wind, integrator (vacuum closed forms, solve_ivp, backward
retrace, wind effects) and aiming."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.interpolate import PchipInterpolator

from counterram.physics import kernels
from counterram.physics.aiming import aim, max_range
from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import load_catalogue
from counterram.physics.constants import STANDARD_GRAVITY_MPS2 as G
from counterram.physics.trajectory import Projectiles, acceleration, fly, launch_state, propagate
from counterram.physics.wind import Wind

CATALOGUE = load_catalogue()
THREATS = [m for m in CATALOGUE if m.kind != "interceptor"]


# ------------------------------------------------------------------------------- atmosphere
@pytest.mark.parametrize(
    ("height_m", "temperature_k", "pressure_pa", "density"),
    [
        # ICAO Doc 7488 / US Standard Atmosphere 1976 tabulated values (geometric height)
        (0.0, 288.15, 101325.0, 1.2250),
        (5000.0, 255.68, 54048.0, 0.73643),
        (11000.0, 216.77, 22700.0, 0.36480),
        (20000.0, 216.65, 5529.3, 0.088910),
    ],
)
def test_isa_matches_published_table(height_m, temperature_k, pressure_pa, density):
    state = STANDARD.at(height_m)
    # the tables round to 4-5 significant digits: 0.1 % covers their rounding
    assert state.temperature_k == pytest.approx(temperature_k, rel=1e-3)
    assert state.pressure_pa == pytest.approx(pressure_pa, rel=1e-3)
    assert state.density_kgpm3 == pytest.approx(density, rel=1e-3)
    assert state.speed_of_sound_mps == pytest.approx(
        np.sqrt(1.4 * 287.05287 * temperature_k), rel=1e-3
    )


def test_site_altitude_and_temperature_offset():
    high = Atmosphere(site_altitude_m=1500.0)
    assert high.density(0.0) == pytest.approx(STANDARD.density(1500.0), rel=1e-12)
    hot = Atmosphere(temperature_offset_k=15.0)
    # same pressure, temperature +15 K: density scales by T_std / (T_std + 15)
    assert hot.density(0.0) == pytest.approx(1.225 * 288.15 / 303.15, rel=1e-3)
    assert hot.speed_of_sound(0.0) > STANDARD.speed_of_sound(0.0)
    with pytest.raises(ValueError, match="temperature_offset_k"):
        Atmosphere(temperature_offset_k=float("nan"))


def test_lookup_table_matches_closed_form():
    h = np.linspace(-500.0, 25_000.0, 10_001)
    rho, a = STANDARD.table.lookup(h.copy())
    exact = STANDARD.at(h)
    # linear interpolation on a 5 m grid: relative error ≤ (5 m)² / (8 H²) ≈ 1e-7 (H ≈ 6 km)
    # inside layers; across the tropopause kink the lapse rate jumps by 6.5 K/km, giving at most
    # ~ 6.5e-3 × 5 m / (4 × 216.65 K) ≈ 4e-5 relative in temperature
    assert np.max(np.abs(rho / exact.density_kgpm3 - 1)) < 4e-5
    assert np.max(np.abs(a / exact.speed_of_sound_mps - 1)) < 4e-5
    inside = (np.abs(h - 11_019.0) > 50.0) & (np.abs(h - 20_063.0) > 50.0)  # off the kinks
    assert np.max(np.abs(rho / exact.density_kgpm3 - 1)[inside]) < 1e-6  # geometric heights


# ------------------------------------------------------------------------------------ wind
def test_wind_profile_interpolates_and_holds_ends():
    w = Wind.layers([0.0, 1000.0, 3000.0], [0.0, 10.0, 20.0], [5.0, 5.0, -5.0])
    got = w.at(np.array([-50.0, 500.0, 2000.0, 9000.0]))
    np.testing.assert_allclose(got[:, 0], [0.0, 5.0, 15.0, 20.0])
    np.testing.assert_allclose(got[:, 1], [5.0, 5.0, 0.0, -5.0])
    np.testing.assert_allclose(got[:, 2], 0.0)
    with pytest.raises(ValueError, match="increasing"):
        Wind.layers([0.0, 0.0], [1.0, 2.0], [0.0, 0.0])


# ------------------------------------------------------------------------------ integrator
def test_gravity_constant_is_shared():
    assert kernels.G0 == G


@pytest.mark.parametrize("method", ["adaptive", "rk4"])
def test_vacuum_matches_closed_forms(method):
    munition = CATALOGUE.get("81mm")
    el = np.radians([30.0, 45.0, 60.0, 80.0])
    v = 250.0
    flight = fly(
        launch_state(np.zeros((4, 3)), 0.4, el, v),
        Projectiles.repeat(munition, 4, drag_scale=0.0),
        method=method,
    )
    rng = v**2 * np.sin(2 * el) / G
    tof = 2 * v * np.sin(el) / G
    apex = (v * np.sin(el)) ** 2 / (2 * G)
    # the requirement is 0.1 %; the integrators are exact for a quadratic to rounding
    np.testing.assert_allclose(flight.range_m, rng, rtol=1e-9)
    np.testing.assert_allclose(flight.time_of_flight_s, tof, rtol=1e-9)
    np.testing.assert_allclose(flight.apex_m, apex, rtol=1e-9)
    np.testing.assert_allclose(flight.impact_angle_deg, np.degrees(el), rtol=1e-9)


def _reference_solve_ivp(munition, state0, wind, rtol=1e-9):
    """An independent solution: solve_ivp on the closed-form ISA and a PCHIP Cd curve."""
    cd_curve = PchipInterpolator(np.array(munition.mach), np.array(munition.cd), extrapolate=False)
    mach_lo, mach_hi = munition.mach[0], munition.mach[-1]
    m0, mb, tb, thrust = (
        munition.mass_kg,
        munition.burnout_mass_kg,
        munition.burn_time_s,
        munition.thrust_n,
    )

    def rhs(t, y):
        air = STANDARD.at(y[2])
        w = wind.at(y[2])
        vr = y[3:6] - w
        speed = np.linalg.norm(vr)
        cd = float(cd_curve(np.clip(speed / air.speed_of_sound_mps, mach_lo, mach_hi)))
        mass = m0 - (m0 - mb) * min(max(t, 0.0), tb) / tb if tb > 0 else m0
        a = -0.5 * air.density_kgpm3 * cd * munition.area_m2 * speed * vr / mass
        if t < tb:
            a = a + thrust / mass * y[3:6] / np.linalg.norm(y[3:6])
        a[2] -= G
        return np.concatenate([y[3:6], a])

    def ground(t, y):
        return y[2] if t > 1e-3 else 1.0

    ground.terminal = True
    ground.direction = -1
    y = np.asarray(state0, dtype=float)
    t0 = 0.0
    if tb > 0:  # integrate the boost separately so the thrust cut-off is not stepped over
        boost = solve_ivp(rhs, (0.0, tb), y, method="DOP853", rtol=rtol, atol=1e-9)
        y, t0 = boost.y[:, -1], tb
    sol = solve_ivp(rhs, (t0, 600.0), y, method="DOP853", rtol=rtol, atol=1e-9, events=ground)
    return sol.t_events[0][0], sol.y_events[0][0]


@pytest.mark.parametrize("munition", CATALOGUE, ids=lambda m: m.name)
def test_agrees_with_solve_ivp_and_retraces_launch(munition):
    lo, hi = munition.elevation_min_deg, munition.elevation_max_deg
    elevations = np.radians(np.linspace(max(lo, 5.0) + 2.0, min(hi, 80.0) - 2.0, 3))
    v = munition.charge_velocity(None)
    wind = Wind.constant(4.0, -3.0)
    state0 = launch_state(np.zeros((3, 3)), 0.7, elevations, v)
    bodies = Projectiles.repeat(munition, 3)
    flight = fly(state0, bodies, wind=wind)
    for i in range(3):
        t_ref, y_ref = _reference_solve_ivp(munition, state0[i], wind)
        assert flight.time_of_flight_s[i] == pytest.approx(t_ref, abs=1e-3)
        # requirement: impact within 1 m of solve_ivp at rtol 1e-9
        assert np.linalg.norm(flight.impact_state[i, :3] - y_ref[:3]) < 1.0
    back = fly(
        flight.impact_state,
        bodies,
        wind=wind,
        backward=True,
        time_since_launch_s=flight.time_of_flight_s,
    )
    # requirement: backward from the impact state retraces the launch point within 1 m
    assert np.max(np.linalg.norm(back.impact_state[:, :3] - state0[:, :3], axis=1)) < 1.0
    np.testing.assert_allclose(-back.time_of_flight_s, flight.time_of_flight_s, atol=2e-3)


def test_adaptive_agrees_with_fine_rk4_and_samples_are_on_the_path():
    rocket = CATALOGUE.get("122mm")
    state0 = launch_state(np.zeros((1, 3)), 1.0, np.radians(40.0), rocket.charge_velocity(None))
    bodies = Projectiles.repeat(rocket, 1)
    ref = fly(state0, bodies, method="rk4", dt_s=0.002, sample_dt_s=0.1)
    got = fly(state0, bodies, sample_dt_s=0.1)
    # RK4 at 2 ms is converged to well under a millimetre; the adaptive default to millimetres
    assert np.linalg.norm(got.impact_state[0, :3] - ref.impact_state[0, :3]) < 0.05
    k = min(got.samples.shape[1], ref.samples.shape[1]) - 1
    # Hermite samples: centimetres on positions, millimetres per second on velocities
    assert np.nanmax(np.abs(got.samples[0, :k, :3] - ref.samples[0, :k, :3])) < 0.05
    assert np.nanmax(np.abs(got.samples[0, :k, 3:] - ref.samples[0, :k, 3:])) < 0.01
    # propagate from launch reaches the same state as the sample at 10 s
    at10 = propagate(state0, bodies, 10.0, time_since_launch_s=0.0)
    np.testing.assert_allclose(at10[0], got.samples[0, 100], atol=0.02)
    assert np.all(np.isnan(got.samples[0, got.samples.shape[1] - 1 :, 0])) or (
        got.samples_t[-1] <= got.time_of_flight_s[0]
    )


def test_acceleration_is_gravity_plus_drag_opposing_relative_velocity():
    m = CATALOGUE.get("81mm")
    state = np.array([[0.0, 0.0, 100.0, 0.0, 200.0, 0.0]])
    a = acceleration(state, Projectiles.repeat(m, 1))[0]
    assert a[1] < 0 and a[0] == pytest.approx(0.0, abs=1e-12)
    assert a[2] == pytest.approx(-G, abs=1e-12)
    calm = acceleration(np.array([[0, 0, 100.0, 0, 0, -1e-3]]), Projectiles.repeat(m, 1))[0]
    assert calm[2] == pytest.approx(-G, abs=1e-6)


@pytest.mark.parametrize("name", ["81mm", "107mm", "155mm"])
def test_head_and_tail_wind_change_range_plausibly(name):
    m = CATALOGUE.get(name)
    el = np.radians(45.0 if m.kind != "mortar" else 50.0)
    state0 = launch_state(np.zeros((1, 3)), 0.0, el, m.charge_velocity(None))
    bodies = Projectiles.repeat(m, 1)
    calm = fly(state0, bodies)
    tail = fly(state0, bodies, wind=Wind.constant(0.0, 10.0))
    head = fly(state0, bodies, wind=Wind.constant(0.0, -10.0))
    gain = tail.range_m[0] - calm.range_m[0]
    loss = calm.range_m[0] - head.range_m[0]
    assert gain > 0 and loss > 0
    # a round is carried at most by the wind over its whole flight (w × TOF), and drag couples it
    # to the air strongly enough to be carried a sizeable part of that (≥ 10 %)
    bound = 10.0 * calm.time_of_flight_s[0]
    assert 0.1 * bound < gain < bound
    assert 0.1 * bound < loss < bound
    # a crosswind drifts the round downwind
    cross = fly(state0, bodies, wind=Wind.constant(10.0, 0.0))
    assert 0.0 < cross.impact_state[0, 0] < bound


def test_invalid_inputs_raise_clear_errors():
    m = CATALOGUE.get("81mm")
    with pytest.raises(ValueError, match="NaN"):
        fly(np.full((1, 6), np.nan), Projectiles.repeat(m, 1))
    with pytest.raises(ValueError, match="N, 6"):
        fly(np.zeros((2, 6)), Projectiles.repeat(m, 1))
    with pytest.raises(ValueError, match="method"):
        fly(np.zeros((1, 6)), Projectiles.repeat(m, 1), method="euler")


# ---------------------------------------------------------------------------------- aiming
@pytest.mark.parametrize("munition", THREATS, ids=lambda m: m.name)
def test_aiming_lands_within_a_metre(munition):
    rng = np.random.default_rng(7)
    reach, _ = max_range(munition)
    n = 6
    ranges = rng.uniform(max(munition.min_range_m, 0.1 * reach) * 1.1, 0.95 * reach, n)
    bearing = rng.uniform(0, 2 * np.pi, n)
    launch = np.column_stack([rng.uniform(-500, 500, (n, 2)), np.zeros(n)])
    target = launch + np.column_stack(
        [ranges * np.sin(bearing), ranges * np.cos(bearing), np.zeros(n)]
    )
    target[:, 2] = rng.uniform(-20.0, 40.0, n)  # terrain height of the aim point
    wind = Wind.layers([0.0, 2000.0], [3.0, 9.0], [-2.0, 4.0])
    sol = aim(munition, launch, target, wind=wind)
    assert np.all(sol.feasible)
    flight = fly(
        launch_state(launch, sol.azimuth_rad, sol.elevation_rad, sol.muzzle_velocity_mps),
        Projectiles.repeat(munition, n),
        wind=wind,
        ground_height_m=target[:, 2],
    )
    miss = np.hypot(*(flight.impact_state[:, :2] - target[:, :2]).T)
    assert np.max(miss) < 1.0
    if munition.kind == "mortar":
        assert np.all(sol.elevation_rad > np.radians(45.0) - 1e-9)


def test_low_and_high_angle_solutions_reach_the_same_point():
    m = CATALOGUE.get("155mm")
    target = np.array([[0.0, 19000.0, 0.0]])  # the high branch ends at 70°, 17.5 km
    low = aim(m, np.zeros((1, 3)), target, high_angle=False)
    high = aim(m, np.zeros((1, 3)), target, high_angle=True)
    assert low.elevation_rad[0] < np.radians(45) < high.elevation_rad[0]
    assert low.miss_m[0] < 1.0 and high.miss_m[0] < 1.0
    assert high.time_of_flight_s[0] > low.time_of_flight_s[0]


def test_out_of_reach_target_is_flagged_infeasible():
    m = CATALOGUE.get("60mm")
    sol = aim(m, np.zeros((1, 3)), np.array([[0.0, 9000.0, 0.0]]))
    assert not sol.feasible[0]


def test_mortar_picks_lowest_sufficient_charge():
    m = CATALOGUE.get("81mm")
    sol = aim(m, np.zeros((2, 3)), np.array([[0.0, 300.0, 0.0], [0.0, 5500.0, 0.0]]))
    names = m.charge_names
    assert names.index(sol.charge[0]) < names.index(sol.charge[1]) == len(names) - 1


def test_one_pass_sampled_flight_equals_two_passes(monkeypatch) -> None:
    """A short sampled flight is flown once into an array sized for max_time_s and trimmed; it
    must equal, bit for bit, the two-pass flight (first pass to size the array exactly)."""
    import counterram.physics.trajectory as tr
    from counterram.physics.catalogue import load_catalogue
    from counterram.physics.trajectory import Projectiles, fly, launch_state

    cat = load_catalogue()
    for name, speed in (("81mm-mortar", 250.0), ("20mm-sd", 1100.0), ("122mm", 50.0)):
        x = launch_state(np.zeros((7, 3)), np.linspace(0, 1, 7),
                         np.radians(np.linspace(5, 80, 7)), np.full(7, speed))
        bodies = Projectiles.repeat(cat.get(name), 7)
        for max_time in (1.0, 3.3, 37.7, 400.0):
            one = fly(x, bodies, sample_dt_s=0.25, max_time_s=max_time)
            monkeypatch.setattr(tr, "_ONE_PASS_SAMPLES", 0)
            two = fly(x, bodies, sample_dt_s=0.25, max_time_s=max_time)
            monkeypatch.undo()
            assert one.samples.shape == two.samples.shape
            assert np.array_equal(one.samples, two.samples, equal_nan=True)
            assert np.array_equal(one.samples_t, two.samples_t)
            assert np.array_equal(one.impact_state, two.impact_state, equal_nan=True)


def test_fly_samples_from_a_later_time_on_one_grid() -> None:
    # bodies of different ages sampled on a common grid from "now": each sample equals the
    # plain flight's sample at the same elapsed time (both are Hermite samples of one integration)
    cat = load_catalogue()
    names = [m.name for m in cat if m.kind != "interceptor"][:3]
    bodies = Projectiles.from_munitions([cat.get(n) for n in names])
    x0 = np.array([[0, 0, 1000, 100, 50, 200.0], [0, 0, 500, -80, 20, 150.0],
                   [100, 0, 2000, 50, 50, 0.0]])
    late = np.array([0.1, 0.35, 0.6])
    f = fly(x0, bodies, sample_dt_s=0.25, sample_from_s=late, sample_span_s=10.0)
    assert f.samples.shape == (3, 41, 6)
    for n in range(3):
        fine = fly(x0[n : n + 1], bodies.take([n]), sample_dt_s=0.05)
        k = np.round((late[n] + f.samples_t) / 0.05).astype(int)
        ok = k < fine.samples.shape[1]
        np.testing.assert_allclose(f.samples[n, ok], fine.samples[0, k[ok]], atol=1e-6)
    plain = fly(x0, bodies)
    np.testing.assert_allclose(f.impact_state, plain.impact_state, atol=1e-9)
    with pytest.raises(ValueError, match="sample_from_s"):
        fly(x0, bodies, sample_dt_s=0.25, sample_from_s=-1.0)
    with pytest.raises(ValueError, match="adaptive"):
        fly(x0, bodies, sample_dt_s=0.25, sample_from_s=late, method="rk4")
