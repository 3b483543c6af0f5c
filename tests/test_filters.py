"""Tests of the batched motion models, measurement model, EKF/UKF and gating.

The Monte Carlo tests put one run per filter row: 200 runs of an 81 mm mortar bomb seen by two
radars are filtered in one batch, and their statistics are compared with the posterior
Cramér–Rao bound and the χ² consistency bands.
"""

from __future__ import annotations

import numpy as np
import pytest

from counterram.metrics.estimation import chi2_band, monte_carlo_summary, nees
from counterram.metrics.pcrlb import pcrlb
from counterram.physics.atmosphere import Atmosphere
from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles, launch_state, propagate
from counterram.physics.wind import Wind
from counterram.sensors.plots import SensorInfo
from counterram.tracking import measurement as meas
from counterram.tracking.filters import (
    ExtendedKalmanFilter,
    UnscentedKalmanFilter,
    gate,
    mahalanobis,
)
from counterram.tracking.motion import (
    STANDARD_GRAVITY_MPS2,
    Ballistic,
    ConstantVelocity,
    GravityOnly,
)

RADARS = [
    SensorInfo(1, "north", (0.0, 0.0, 0.0), 10.0, 2.5e-3, 2.5e-3),
    SensorInfo(2, "east", (3000.0, -1000.0, 5.0), 10.0, 2.5e-3, 2.5e-3),
]
TABLE = meas.SensorTable.from_infos(RADARS)


def _mortar_model(**kwargs) -> Ballistic:
    mun = load_catalogue().get("81mm-mortar")
    return Ballistic.for_munition(mun, **kwargs)


def _central_jacobian(fun, x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of fun: (N, d) -> (N, m), as a test oracle."""
    cols = []
    for j, h in enumerate(steps):
        e = np.zeros(x.shape[1])
        e[j] = h
        cols.append((fun(x + e) - fun(x - e)) / (2 * h))
    return np.stack(cols, axis=-1)


# ------------------------------------------------------------------------------------------
# Motion models
# ------------------------------------------------------------------------------------------


def test_gravity_only_is_exact_vacuum_flight() -> None:
    x0 = np.array([[10.0, -20.0, 5.0, 30.0, 40.0, 100.0]])
    t = 7.5
    x = GravityOnly(q=0.0).transition(x0, t)
    expected = x0[0, :3] + x0[0, 3:] * t - np.array([0, 0, 0.5 * STANDARD_GRAVITY_MPS2 * t**2])
    np.testing.assert_allclose(x[0, :3], expected, rtol=1e-14)
    # F is exact: predict with P = 0 and q = 0 gives P = 0; F maps a perturbation linearly.
    pred = GravityOnly(q=0.0).predict(x0, np.zeros((1, 6, 6)), t)
    dx = np.array([1.0, 2.0, 3.0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(
        GravityOnly(q=0.0).transition(x0 + dx, t) - x, pred.F @ dx, rtol=1e-12
    )


def test_white_acceleration_noise_matches_sampled_integral() -> None:
    """Q of the CV model equals the covariance of a sampled white-acceleration path integral.

    10 000 paths × 200 sub-steps of white acceleration; the sample covariance has a relative
    standard error ≈ √(2/10 000) = 1.4 %, so 6 % is > 4σ.
    """
    q, dt, n_sub, paths = 2.0, 1.5, 200, 10_000
    rng = np.random.default_rng(11)
    h = dt / n_sub
    acc = rng.standard_normal((paths, n_sub)) * np.sqrt(q / h)
    v = np.cumsum(acc * h, axis=1)
    p = np.sum(v * h, axis=1) - 0.5 * h * v[:, -1]  # trapezoid position from v(0) = 0
    sample = np.cov(np.stack([p, v[:, -1]]))
    Q = ConstantVelocity(q=q).process_noise(np.zeros((1, 6)), dt)[0]
    expected = Q[np.ix_([0, 3], [0, 3])]
    np.testing.assert_allclose(sample, expected, rtol=0.06)


def test_ballistic_jacobian_matches_central_differences() -> None:
    """F from the variational equations equals the derivative of the RK4 propagation.

    Oracle: central differences with 1e-3 relative steps; their truncation error h²|f'''|/6 is
    about 1e-6 of F's scale for these smooth dynamics, so 2e-5 absolute (F entries are O(1..dt))
    checks the analytic derivatives (a wrong Mach or wind term gives errors ~1e-3 and above).
    """
    model = _mortar_model(
        atmosphere=Atmosphere(site_altitude_m=300.0),
        wind=Wind.layers([0, 1000, 3000], [2, 8, 15], [-1, 3, 0]),
    )
    rng = np.random.default_rng(3)
    x = np.column_stack(
        [
            rng.normal(0, 500, (6, 2)),
            rng.uniform(100, 3000, 6),
            rng.normal(0, 150, (6, 2)),
            rng.normal(0, 250, 6),  # up to Mach ~1: across the transonic Cd rise
            rng.normal(0, 0.2, 6),
        ]
    )
    steps = 1e-3 * np.maximum(1.0, np.abs(x).max(axis=0))
    for dt in (0.1, 1.0, -0.7):
        _, F = model.transition_jacobian(x, dt)
        F_fd = _central_jacobian(lambda y, dt=dt: model.transition(y, dt), x, steps)
        np.testing.assert_allclose(F, F_fd, atol=2e-5)


def test_ballistic_agrees_with_physics_propagation() -> None:
    """Tracker propagation = physics core's (same ODE, both RK4): within 1 cm over 20 s.

    The two differ only in table interpolation (Hermite here, linear there, both < 1e-5
    relative in Cd and density) and step size; drag is ~10 % of gravity, so the position
    difference after 20 s is ≲ 1e-5 × ½ g t² ≈ 2 cm at worst; measured ~2 mm.
    """
    cat = load_catalogue()
    atm = Atmosphere(site_altitude_m=500.0, temperature_offset_k=10.0)
    wind = Wind.layers([0, 1000, 3000], [2, 8, 15], [-1, 3, 0])
    for name, speed in (("81mm-mortar", 265.0), ("155mm-he", 800.0)):
        mun = cat.get(name)
        model = Ballistic.for_munition(
            mun, atmosphere=atm, wind=wind, estimate_drag_scale=False, max_step_s=0.02
        )
        x0 = launch_state([[0.0, 0.0, 0.0]], 0.5, np.radians(50.0), speed)
        ours = model.transition(x0, 20.0)
        theirs = propagate(x0, Projectiles.repeat(mun, 1), 20.0, atmosphere=atm, wind=wind)
        np.testing.assert_allclose(ours[:, :3], theirs[:, :3], atol=0.01)
        np.testing.assert_allclose(ours[:, 3:], theirs[:, 3:], atol=0.002)


def test_drag_scale_is_log_and_per_row_dt_works() -> None:
    """β = ln 2 doubles the drag acceleration; rows with their own dt equal separate calls."""
    model = _mortar_model()
    x = np.array([[0, 0, 500, 100, 50, 80, 0.0], [0, 0, 500, 100, 50, 80, np.log(2.0)]])
    g = np.array([0, 0, -STANDARD_GRAVITY_MPS2])
    a = model.acceleration(x)
    np.testing.assert_allclose(a[1] - g, 2.0 * (a[0] - g), rtol=1e-12)
    both = model.transition(x, np.array([0.3, 1.7]))
    np.testing.assert_allclose(both[0], model.transition(x[:1], 0.3)[0], rtol=1e-12)
    # 1.7 s is split in 34 sub-steps in both calls only if max step allows: compare loosely
    # (RK4 global error at 0.05 s steps is ~1e-7 m here).
    np.testing.assert_allclose(both[1], model.transition(x[1:], 1.7)[0], atol=1e-6)


# ------------------------------------------------------------------------------------------
# Measurement model
# ------------------------------------------------------------------------------------------


def test_measurement_jacobian_and_conventions() -> None:
    s = np.array([[100.0, 200.0, 10.0]])
    x = np.array([[1100.0, 200.0, 1010.0, -50.0, 20.0, 30.0]])  # due east, 45° up
    z = meas.measure(x, s)
    np.testing.assert_allclose(z[0, :3], [1000 * np.sqrt(2), np.pi / 2, np.pi / 4], rtol=1e-12)
    np.testing.assert_allclose(z[0, 3], (-50 * 1000 + 30 * 1000) / (1000 * np.sqrt(2)))
    rng = np.random.default_rng(5)
    xs = np.column_stack(
        [rng.normal(0, 3000, (8, 2)), rng.uniform(50, 3000, 8), rng.normal(0, 200, (8, 3))]
    )
    H = meas.jacobian(xs, s)
    H_fd = _central_jacobian(lambda y: meas.measure(y, s), xs, np.full(6, 1e-3))
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-10)


def test_spherical_to_enu_inverts_and_covariance_matches_samples() -> None:
    """Inverse conversion recovers positions; its covariance matches 20 000 noisy conversions
    (sample covariance relative standard error √(2/20 000) = 1 %; 5 % tolerance)."""
    rows = meas.SensorRows.single(RADARS[1], 4)
    rng = np.random.default_rng(8)
    p = rows.position_enu + rng.normal(0, 3000, (4, 3)) * [1, 1, 0.3] + [0, 0, 2000]
    x = np.column_stack([p, np.zeros((4, 3))])
    z = meas.measure(x, rows.position_enu, 3)
    back, C = meas.spherical_to_enu(z, rows)
    np.testing.assert_allclose(back, p, atol=1e-8)
    noisy = z[0] + rng.standard_normal((20_000, 3)) * rows.sigma[0, :3]
    samples, _ = meas.spherical_to_enu(noisy, meas.SensorRows.single(RADARS[1], 20_000))
    np.testing.assert_allclose(np.cov(samples.T), C[0], rtol=0.05, atol=0.05 * np.abs(C[0]).max())


# ------------------------------------------------------------------------------------------
# Monte Carlo: mortar bomb, two radars, EKF and UKF vs PCRLB and χ² bands
# ------------------------------------------------------------------------------------------

RUNS, STEPS, DT = 200, 150, 0.2
P0 = np.diag([30.0**2] * 3 + [20.0**2] * 3 + [0.2**2])


@pytest.fixture(scope="module")
def mortar_mc() -> dict:
    """Truth: 200 runs of the model with its own process noise (matched model) from one start
    state; each run's filter starts from a prior mean drawn from N(truth, P0); one radar plot
    every 0.2 s, alternating between the two radars (each 2.5 Hz), σr = 10 m,
    σaz = σel = 2.5 mrad."""
    model = _mortar_model(q=0.5, q_beta=1e-4, max_step_s=0.1)
    rng = np.random.default_rng(2024)
    launch = launch_state([[4000.0, 3000.0, 0.0]], np.radians(225.0), np.radians(55.0), 265.0)
    x0 = model.transition(np.column_stack([launch, [[0.0]]]), 3.0)[0]
    truth = np.empty((RUNS, STEPS, 7))
    nominal = np.empty((STEPS, 7))
    xt = np.tile(x0, (RUNS, 1))
    prior_mean = x0 + rng.standard_normal((RUNS, 7)) @ np.linalg.cholesky(P0).T
    xn = x0[None]
    for k in range(STEPS):
        if k:
            xt = model.transition(xt, DT)
            L = np.linalg.cholesky(model.process_noise(xt, DT))
            xt = xt + np.einsum("nij,nj->ni", L, rng.standard_normal((RUNS, 7)))
            xn = model.transition(xn, DT)
        truth[:, k] = xt
        nominal[k] = xn[0]
    sensor_of_step = 1 + np.arange(STEPS) % 2
    z = np.empty((RUNS, STEPS, 3))
    for k in range(STEPS):
        rows = TABLE.rows(np.full(RUNS, sensor_of_step[k]))
        z[:, k] = meas.measure(truth[:, k], rows.position_enu, 3)
        z[:, k] += rng.standard_normal((RUNS, 3)) * rows.sigma[:, :3]
    z[:, :, 1] = np.mod(z[:, :, 1], 2 * np.pi)  # plots report azimuth in [0, 2π)
    out = {"model": model, "truth": truth, "nominal": nominal, "x0": x0}
    for name, filt in (("ekf", ExtendedKalmanFilter(model)), ("ukf", UnscentedKalmanFilter(model))):
        x, P = prior_mean, np.tile(P0, (RUNS, 1, 1))
        est, cov, nis = np.empty_like(truth), np.empty((RUNS, STEPS, 7, 7)), np.empty((RUNS, STEPS))
        for k in range(STEPS):
            if k:
                x, P = filt.predict(x, P, DT)
            res = filt.update(x, P, z[:, k], TABLE.rows(np.full(RUNS, sensor_of_step[k])))
            x, P = res.x, res.P
            est[:, k], cov[:, k], nis[:, k] = x, P, res.nis
        out[name] = (est, cov, nis)
    observed = np.column_stack([sensor_of_step == 1, sensor_of_step == 2])
    out["bound"] = pcrlb(nominal, DT * np.arange(STEPS), model, P0, TABLE, observed)
    return out


CONVERGED = slice(20, None)  # after 4 s (20 plots), the prior no longer dominates


@pytest.mark.parametrize("name", ["ekf", "ukf"])
def test_mortar_rmse_near_pcrlb(mortar_mc: dict, name: str) -> None:
    """Converged position RMSE within 1.2× the PCRLB at every step, and not below 0.85× of it.

    With a matched model the EKF/UKF are near-efficient (Farina et al., IEEE TAES 2002), so the
    ratio is ~1; its sampling error with 200 runs of a 3-D error is √(1/(4·200·3)) ≈ 2 % per step
    (and the truth's process noise scatters the Jacobians about the nominal trajectory by far
    less), so [0.85, 1.2] is > 7σ wide on each side.
    """
    est, _, _ = mortar_mc[name]
    summary = monte_carlo_summary(est, mortar_mc[name][1], mortar_mc["truth"])
    ratio = summary.position_rmse_m[CONVERGED] / mortar_mc["bound"].position_rmse_m[CONVERGED]
    assert ratio.max() < 1.2, ratio.max()
    assert ratio.min() > 0.85, ratio.min()
    assert np.mean(ratio) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("name", ["ekf", "ukf"])
def test_mortar_nees_and_nis_inside_chi2_bands(mortar_mc: dict, name: str) -> None:
    """Average NEES (7-D) over 200 runs lies in the 95 % band of χ²(1400)/200 = [6.49, 7.53].

    At each step the probability of leaving the band is 5 % for a consistent filter; steps are
    correlated, so we require ≥ 85 % of the converged steps inside (a filter whose covariance is
    10 % too small has its mean NEES at 7.7 and fails almost every step), and the time-averaged
    NEES inside the band. The NIS (3-D) is checked the same way.
    """
    est, cov, nis_values = mortar_mc[name]
    avg_nees = np.mean(nees(est, cov, mortar_mc["truth"]), axis=0)[CONVERGED]
    band = chi2_band(7, RUNS)
    assert band.contains(avg_nees).mean() >= 0.85
    assert band.contains(avg_nees.mean())
    avg_nis = nis_values.mean(axis=0)[CONVERGED]
    nis_band = chi2_band(3, RUNS)
    assert nis_band.contains(avg_nis).mean() >= 0.85
    assert nis_band.contains(avg_nis.mean())


def test_ukf_and_ekf_agree(mortar_mc: dict) -> None:
    """On the same plots, UKF and EKF estimates differ by a small fraction of the posterior
    sigma: the measurement nonlinearity over ±√7 σ (≈ 20 m at 2–5 km range, converged) and the
    drag nonlinearity are weak, so the second-order terms the UKF captures move the estimate by
    < 0.1 σ in position and velocity; β enters through exp(β) with σ ≈ 0.1, so its second-order
    term is ~σ²/2 relative: < 0.2 σ. Position covariances agree within 2 %."""
    ekf, ekf_P, _ = mortar_mc["ekf"]
    ukf, ukf_P, _ = mortar_mc["ukf"]
    sigma = np.sqrt(np.diagonal(ekf_P, axis1=-2, axis2=-1))
    diff = np.abs(ukf - ekf)[:, CONVERGED] / sigma[:, CONVERGED]
    assert diff[..., :6].max() < 0.1
    assert diff[..., 6].max() < 0.2
    tr_e = np.trace(ekf_P[:, CONVERGED, :3, :3], axis1=-2, axis2=-1)
    tr_u = np.trace(ukf_P[:, CONVERGED, :3, :3], axis1=-2, axis2=-1)
    np.testing.assert_allclose(tr_u, tr_e, rtol=0.02)


def test_drag_scale_is_learned(mortar_mc: dict) -> None:
    """The filter learns the drag scale from the trajectory's curvature: the final β RMSE over
    200 runs is below 0.15 (prior σ 0.2; the truth's own β random walk adds √(1e-4 · 30 s) ≈ 0.055,
    measured ≈ 0.11 ± 0.006) and β's NEES sits in the 99 % χ²(200)/200 band."""
    est, cov, _ = mortar_mc["ekf"]
    truth = mortar_mc["truth"]
    beta_rmse = np.sqrt(np.mean((est[:, -1, 6] - truth[:, -1, 6]) ** 2))
    assert beta_rmse < 0.15
    assert np.sqrt(np.mean(cov[:, -1, 6, 6])) < 0.15
    beta_nees = np.mean(nees(est[:, -1], cov[:, -1], truth[:, -1], np.array([6])))
    assert chi2_band(1, RUNS, 0.99).contains(beta_nees)


# ------------------------------------------------------------------------------------------
# Numerical properties, angle wrap, Doppler masking and gating
# ------------------------------------------------------------------------------------------


def test_joseph_update_keeps_covariance_symmetric_positive_definite() -> None:
    """A very precise sensor (σr = 1 cm, σ angles = 1 µrad) against a 10 km prior: condition
    numbers reach ~1e14; after 200 updates P must stay exactly symmetric and positive definite."""
    precise = SensorInfo(9, "precise", (0.0, 0.0, 0.0), 0.01, 1e-6, 1e-6)
    rows = meas.SensorRows.single(precise, 4)
    model = ConstantVelocity(q=1e-6)
    ekf = ExtendedKalmanFilter(model)
    rng = np.random.default_rng(4)
    truth = np.column_stack([rng.uniform(1000, 5000, (4, 3)), rng.normal(0, 100, (4, 3))])
    x = truth + rng.normal(0, 100, truth.shape)
    P = np.tile(np.diag([1e8] * 3 + [1e4] * 3), (4, 1, 1))
    for _ in range(200):
        x, P = ekf.predict(x, P, 0.1)
        truth = model.transition(truth, 0.1)
        z = meas.measure(truth, rows.position_enu, 3)
        z += rng.standard_normal((4, 3)) * rows.sigma[:, :3]
        res = ekf.update(x, P, z, rows)
        x, P = res.x, res.P
        assert np.array_equal(P, np.swapaxes(P, -1, -2))
        assert np.all(np.linalg.eigvalsh(P) > 0)


@pytest.mark.parametrize("filter_cls", [ExtendedKalmanFilter, UnscentedKalmanFilter])
def test_azimuth_wrap_across_north_and_south(filter_cls) -> None:
    """A target 1 mrad east of north measured at 2π − 1 mrad (plots use [0, 2π)) gives an
    innovation of −2 mrad, not 2π − 2 mrad; a target due south (where h's azimuth jumps between
    +π and −π) with sigma points on both sides gets a correct predicted azimuth."""
    rows = meas.SensorRows.single(RADARS[0], 2)
    r = 3000.0
    x = np.array(
        [
            [r * np.sin(1e-3), r * np.cos(1e-3), 500.0, 0, 0, 0],
            [r * np.sin(1e-3), -r * np.cos(1e-3), 500.0, 0, 0, 0],  # az = π − 1 mrad
        ]
    )
    P = np.tile(np.diag([50.0**2] * 3 + [10.0**2] * 3), (2, 1, 1))
    z_true = meas.measure(x, rows.position_enu, 3)
    z = z_true.copy()
    z[0, 1] = 2 * np.pi - 1e-3
    z[1, 1] = -np.pi + 1e-3  # 2 mrad across south, written on the other side of the cut
    res = filter_cls(GravityOnly(q=1.0)).update(x, P, z, rows)
    np.testing.assert_allclose(res.innovation[:, 1], [-2e-3, 2e-3], atol=1e-4)
    assert np.all(res.nis < 3.0)  # 2 mrad × 3 km = 6 m against ~50 m sigma: a small NIS
    assert res.x[0, 0] < x[0, 0]  # pulled west across north
    assert res.x[1, 0] < x[1, 0]  # pulled west across south


def test_missing_radial_velocity_is_masked_exactly() -> None:
    """A 4-column row with NaN radial velocity updates exactly like a 3-column row; a row with
    radial velocity tightens the along-line-of-sight velocity."""
    doppler = SensorInfo(3, "doppler", (0.0, 0.0, 0.0), 10.0, 2e-3, 2e-3, 0.5)
    rows = meas.SensorRows.single(doppler, 2)
    x = np.array([[2000.0, 3000.0, 800.0, -80.0, -120.0, 60.0]] * 2)
    P = np.tile(np.diag([100.0**2] * 3 + [50.0**2] * 3), (2, 1, 1))
    z = meas.measure(x + np.array([5, -5, 5, 3, -2, 1]), rows.position_enu)
    z[0, 3] = np.nan
    for filt in (ExtendedKalmanFilter(GravityOnly()), UnscentedKalmanFilter(GravityOnly())):
        res4 = filt.update(x, P, z, rows)
        res3 = filt.update(x[:1], P[:1], z[:1, :3], rows.take(np.array([0])))
        np.testing.assert_allclose(res4.x[0], res3.x[0], rtol=1e-12)
        np.testing.assert_allclose(res4.P[0], res3.P[0], rtol=1e-10)
        np.testing.assert_allclose(res4.nis[0], res3.nis[0], rtol=1e-10)
        assert res4.dof.tolist() == [3, 4]
        los = (x[1, :3] - rows.position_enu[1]) / np.linalg.norm(x[1, :3])
        assert los @ res4.P[1, 3:6, 3:6] @ los < 0.5 * los @ res4.P[0, 3:6, 3:6] @ los


def test_gate_distances_equal_update_nis() -> None:
    """d²(track i, plot j) equals the NIS of updating track i with plot j alone; the gate uses
    χ²(3) or χ²(4) by plot."""
    doppler = SensorInfo(3, "doppler", (200.0, 100.0, 0.0), 10.0, 2e-3, 2e-3, 0.5)
    table = meas.SensorTable.from_infos([*RADARS, doppler])
    rng = np.random.default_rng(6)
    x = np.column_stack(
        [rng.uniform(-3000, 3000, (5, 2)), rng.uniform(300, 2000, 5), rng.normal(0, 100, (5, 3))]
    )
    A = rng.normal(0, 1, (5, 6, 6))
    P = A @ np.swapaxes(A, -1, -2) * 100 + np.eye(6) * 10
    sensors = table.rows(np.array([1, 2, 3, 3]))
    z = meas.measure(x[[0, 1, 2, 3]] + rng.normal(0, 20, (4, 6)), sensors.position_enu)
    z[:2, 3] = np.nan
    d2 = mahalanobis(x, P, z, sensors)
    ekf = ExtendedKalmanFilter(GravityOnly())
    for i in range(5):
        for j in range(4):
            res = ekf.update(x[i : i + 1], P[i : i + 1], z[j : j + 1], sensors.take(np.array([j])))
            assert d2[i, j] == pytest.approx(res.nis[0], rel=1e-9)
    g = gate(x, P, z, sensors, 0.99)
    np.testing.assert_allclose(g.threshold, [11.345, 11.345, 13.277, 13.277], rtol=1e-3)
    assert np.array_equal(g.inside, d2 <= g.threshold)


def test_bad_input_names_the_field() -> None:
    ekf = ExtendedKalmanFilter(GravityOnly())
    rows = meas.SensorRows.single(RADARS[0], 1)
    with pytest.raises(ValueError, match="shape"):
        ekf.update(np.zeros((1, 6)), np.eye(6)[None], np.zeros((1, 2)), rows)
    with pytest.raises(ValueError, match="sensor_id"):
        TABLE.rows(np.array([7]))
    with pytest.raises(ValueError, match="dt"):
        GravityOnly().predict(np.zeros((2, 6)), np.zeros((2, 6, 6)), np.zeros(3))


# ------------------------------------------------------------------------------------------
# Rocket in boost: IMM over boost and ballistic modes
# ------------------------------------------------------------------------------------------


def test_imm_keeps_a_burning_rocket_consistent() -> None:
    """A 122 mm rocket (1.9 s burn, ~400 m/s² thrust) tracked from 0.3 s after launch by a 20 Hz
    radar, 100 runs. A ballistic-only EKF becomes grossly overconfident during the burn (average
    7-D NEES in the thousands); the IMM (boost: thrust along velocity + q = 3000 m²/s³;
    ballistic: q = 1) stays at or below the 99 % χ²(700)/100 upper band throughout (an IMM's
    moment-matched mixture is conservative, so only the upper side is asserted), switches to
    boost during the burn and back to ballistic within ~1 s of burnout."""
    from counterram.tracking.imm import InteractingMultipleModel

    mun = load_catalogue().get("122mm-9m22u")
    runs, dt, t_start, steps = 100, 0.05, 0.3, 100
    bodies = Projectiles.repeat(mun, 1)
    launch = launch_state([[8000.0, 6000.0, 0.0]], np.radians(225.0), np.radians(40.0), 45.0)
    truth = [propagate(launch, bodies, t_start, time_since_launch_s=0.0)[0]]
    for k in range(1, steps):
        tau = t_start + (k - 1) * dt
        truth.append(
            propagate(truth[-1][None], bodies, dt, time_since_launch_s=tau, max_step_s=0.005)[0]
        )
    truth = np.column_stack([np.array(truth), np.zeros(steps)])  # β = 0: catalogue drag
    t = t_start + dt * np.arange(steps)

    rows = meas.SensorRows.single(RADARS[0], runs)
    rng = np.random.default_rng(12)
    P0 = np.diag([20.0**2] * 3 + [30.0**2] * 3 + [0.2**2])
    x0 = truth[0] + rng.standard_normal((runs, 7)) @ np.linalg.cholesky(P0).T
    thrust_acc = mun.thrust_n / (0.5 * (mun.mass_kg + mun.burnout_mass_kg))
    ballistic = Ballistic.for_munition(mun, q=1.0, max_step_s=dt)
    boost = Ballistic.for_munition(
        mun, burnt_out=False, q=3000.0, thrust_acceleration_mps2=thrust_acc, max_step_s=dt
    )
    imm = InteractingMultipleModel(
        [ExtendedKalmanFilter(boost), ExtendedKalmanFilter(ballistic)],
        np.array([[0.0, 0.5], [1e-3, 0.0]]),
    )
    ekf = ExtendedKalmanFilter(ballistic)
    state = imm.initial(x0, np.tile(P0, (runs, 1, 1)), [0.5, 0.5])
    x, P = x0, np.tile(P0, (runs, 1, 1))
    nees_imm, nees_ekf, mu_boost = np.empty(steps), np.empty(steps), np.empty(steps)
    for k in range(steps):
        z = meas.measure(np.repeat(truth[k][None], runs, 0), rows.position_enu, 3)
        z += rng.standard_normal((runs, 3)) * rows.sigma[:, :3]
        if k:
            state = imm.predict(state, dt)
            x, P = ekf.predict(x, P, dt)
        state, _ = imm.update(state, z, rows)
        res = ekf.update(x, P, z, rows)
        x, P = res.x, res.P
        xc, Pc = state.combined()
        nees_imm[k] = nees(xc, Pc, truth[k]).mean()
        nees_ekf[k] = nees(x, P, truth[k]).mean()
        mu_boost[k] = state.mu[:, 0].mean()
    upper = chi2_band(7, runs, 0.99).upper
    assert np.all(nees_imm <= upper), nees_imm.max()
    burnout = np.argmin(np.abs(t - mun.burn_time_s))
    assert nees_ekf[burnout] > 100 * upper
    late_burn = (t > 1.2) & (t < mun.burn_time_s)
    assert np.all(mu_boost[late_burn] > 0.6)
    assert np.all(mu_boost[t > mun.burn_time_s + 1.0] < 0.05)


def test_compiled_update_and_gate_match_the_textbook_forms() -> None:
    """The compiled EKF update (Cholesky solves, scalar loops) equals the textbook Joseph form
    written with numpy's batched algebra, and the tracker's compiled per-sensor gate equals
    :func:`mahalanobis`, for 7-state tracks, with and without radial velocity."""
    from counterram.tracking import update_kernels

    doppler = SensorInfo(3, "doppler", (200.0, 100.0, 5.0), 10.0, 2e-3, 2e-3, 0.5)
    rng = np.random.default_rng(11)
    n = 6
    x = np.column_stack([rng.uniform(-4000, 4000, (n, 2)), rng.uniform(300, 3000, n),
                         rng.normal(0, 150, (n, 3)), rng.normal(0, 0.3, n)])
    A = rng.normal(0, 1, (n, 7, 7))
    P = A @ np.swapaxes(A, -1, -2) * 50 + np.eye(7)
    rows = meas.SensorRows.single(doppler, n)
    z = meas.measure(x + rng.normal(0, 15, (n, 7)), rows.position_enu)
    z[::2, 3] = np.nan
    res = ExtendedKalmanFilter(GravityOnly()).update(x[:, :6], P[:, :6, :6], z, rows)
    for i in range(n):
        k = 4 if np.isfinite(z[i, 3]) else 3
        H = meas.jacobian(x[i : i + 1, :6], rows.position_enu[i], k)[0]
        R = np.diag(rows.sigma[i, :k] ** 2)
        y = meas.residual(z[i : i + 1, :k], meas.measure(x[i : i + 1, :6],
                                                         rows.position_enu[i], k))[0]
        S = H @ P[i, :6, :6] @ H.T + R
        K = P[i, :6, :6] @ H.T @ np.linalg.inv(S)
        IKH = np.eye(6) - K @ H
        np.testing.assert_allclose(res.x[i], x[i, :6] + K @ y, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(res.P[i], IKH @ P[i, :6, :6] @ IKH.T + K @ R @ K.T,
                                   rtol=1e-9, atol=1e-9)
        assert res.nis[i] == pytest.approx(y @ np.linalg.solve(S, y), rel=1e-10)
    d2 = np.empty((n, n))
    has = np.isfinite(z[:, 3])
    update_kernels.gate_distances(x, P, z, rows.position_enu[0], rows.sigma[0], 4, has, d2)
    np.testing.assert_allclose(d2, mahalanobis(x, P, z, rows), rtol=1e-9)
    d3 = np.empty((n, n))
    update_kernels.gate_distances(x, P, z, rows.position_enu[0], rows.sigma[0], 3,
                                  np.zeros(n, dtype=bool), d3)
    np.testing.assert_allclose(d3, mahalanobis(x, P, z[:, :3], rows), rtol=1e-9)
