"""Tests of the compiled ballistic propagation (counterram.tracking.kernels behind Ballistic).

The oracle is a small vectorised numpy implementation of the same model kept here: RK4 on the
state and the variational equations with the analytic acceleration Jacobian, air and Cd from the
tables' own numpy lookups (``AirTable.lookup``, ``DragCurve.lookup``). The kernel does the same
arithmetic in the same order except the summation order of the small matrix products and the
libm ``exp``, a few units in the last place per operation. RK4 over at most ~30 sub-steps of a
dynamics whose Jacobian has norm ≲ 0.1 /s cannot amplify that beyond ~1e-14, so agreement is
asserted at 1e-9 relative: any formula or indexing error shows up orders of magnitude above it.
"""

from __future__ import annotations

import numpy as np
import pytest

from counterram.physics.atmosphere import Atmosphere
from counterram.physics.catalogue import load_catalogue
from counterram.physics.wind import Wind
from counterram.tracking.motion import Ballistic

RTOL = 1e-9


# ------------------------------------------------------------------------------------------
# numpy reference
# ------------------------------------------------------------------------------------------


def _ref_acceleration(m: Ballistic, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(v̇ (N, 3), ∂v̇/∂x (N, 3, d)) with the formulas of Ballistic's documentation."""
    rho, d_rho, c_s, d_c_s, wind, d_wind = m.air.lookup(x[:, 2])
    w = x[:, 3:6] - wind
    speed = np.sqrt(np.sum(w * w, axis=1))
    cd, d_cd = m.drag.lookup(speed / c_s)
    scale = np.exp(x[:, 6]) if m.dim == 7 else 1.0
    c = 0.5 * np.asarray(m.area_over_mass_m2pkg, dtype=float) * scale
    k = c * rho * cd
    a_drag = -(k * speed)[:, None] * w
    acc = a_drag.copy()
    acc[:, 2] -= m.g
    safe = np.where(speed > 0.0, speed, 1.0)
    a_t = m.thrust_acceleration_mps2
    outer = w[:, :, None] * w[:, None, :]
    dv = -((c * rho * (cd / safe + d_cd / c_s))[:, None, None] * outer)
    dv -= (k * speed)[:, None, None] * np.eye(3)
    if a_t:
        acc += (a_t / safe)[:, None] * w
        dv += (a_t / safe)[:, None, None] * (np.eye(3) - outer / (safe**2)[:, None, None])
    J = np.zeros((x.shape[0], 3, m.dim))
    J[:, :, 3:6] = dv
    d_z = -(c * speed * (d_rho * cd - rho * d_cd * speed * d_c_s / c_s**2))[:, None] * w
    J[:, :, 2] = d_z - np.einsum("nij,nj->ni", dv, d_wind)
    if m.dim == 7:
        J[:, :, 6] = a_drag
    return acc, J


def _ref_predict(
    m: Ballistic, x: np.ndarray, P: np.ndarray, dt: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, sym(F P Fᵀ + Q), F) by RK4 on [x, Φ] in equal sub-steps shared by all rows."""
    n_steps = max(1, int(np.ceil(np.max(np.abs(dt)) / m.max_step_s)))
    h = (dt / n_steps)[:, None]
    Phi = np.tile(np.eye(m.dim), (x.shape[0], 1, 1))

    def deriv(x: np.ndarray, Phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        acc, J = _ref_acceleration(m, x)
        xdot = np.zeros_like(x)
        xdot[:, :3] = x[:, 3:6]
        xdot[:, 3:6] = acc
        Phidot = np.zeros_like(Phi)
        Phidot[:, :3] = Phi[:, 3:6]
        Phidot[:, 3:6] = J @ Phi
        return xdot, Phidot

    hh = h[:, :, None]
    for _ in range(n_steps):
        k1, L1 = deriv(x, Phi)
        k2, L2 = deriv(x + 0.5 * h * k1, Phi + 0.5 * hh * L1)
        k3, L3 = deriv(x + 0.5 * h * k2, Phi + 0.5 * hh * L2)
        k4, L4 = deriv(x + h * k3, Phi + hh * L3)
        x = x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        Phi = Phi + hh / 6.0 * (L1 + 2.0 * L2 + 2.0 * L3 + L4)
    Pp = Phi @ P @ np.swapaxes(Phi, 1, 2) + m.process_noise(x, dt)
    return x, 0.5 * (Pp + np.swapaxes(Pp, 1, 2)), Phi


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------

MUN = load_catalogue().get("81mm-mortar")
ATM = Atmosphere(site_altitude_m=300.0, temperature_offset_k=8.0)
WIND = Wind.layers([0, 1000, 3000], [2, 8, 15], [-1, 3, 0])


def _states(n: int, dim: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """States across the tables: heights below, inside and above the air table, air speeds from
    0 to ~Mach 1.3 (the transonic Cd rise), β ≠ 0; SPD covariances; per-row dt of both signs,
    zero and longer than one sub-step."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.normal(0, 2000, (n, 2)),
            rng.uniform(-800, 6000, n),
            rng.normal(0, 180, (n, 2)),
            rng.normal(0, 260, n),
            rng.normal(0, 0.3, n),
        ]
    )[:, :dim]
    x[0, 2] = 35_000.0  # above the table (held values, zero slopes)
    x[1, 2] = -900.0  # below it
    x[2, 3:6] = [2.0, 8.0, 0.0]  # ~at rest in the air at ground level
    A = rng.normal(size=(n, dim, dim)) * np.array([30.0] * 3 + [10.0] * 3 + [0.2] * (dim - 6))
    P = A @ np.swapaxes(A, 1, 2) + np.eye(dim)
    dt = rng.uniform(-1.2, 1.2, n)
    dt[3] = 0.0
    return x, P, dt


MODELS = {
    "7-state, wind": dict(atmosphere=ATM, wind=WIND, q=3.0, q_beta=1e-3),
    "6-state, calm": dict(estimate_drag_scale=False, q=2.0),
    "boost, thrust": dict(
        atmosphere=ATM, wind=WIND, burnt_out=False, thrust_acceleration_mps2=90.0, q=50.0
    ),
}


def _model(name: str) -> Ballistic:
    return Ballistic.for_munition(MUN, **MODELS[name])


def _assert_close(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> None:
    """Elementwise, relative to each row's largest entry (so exact zeros and small entries
    from cancellation are judged on the row's scale)."""
    axes = tuple(range(1, want.ndim))
    scale = np.max(np.abs(want), axis=axes, keepdims=True)
    np.testing.assert_array_less(np.abs(got - want), np.broadcast_to(rtol * scale, want.shape))


# ------------------------------------------------------------------------------------------
# Agreement with the numpy reference
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_predict_matches_numpy_reference(name: str) -> None:
    model = _model(name)
    x, P, dt = _states(40, model.dim)
    got = model.predict(x, P, dt)
    x_ref, P_ref, F_ref = _ref_predict(model, x, P, dt)
    _assert_close(got.x, x_ref)
    _assert_close(got.F, F_ref)
    # P entries relative to sqrt(P_ii P_jj): the scale of a covariance entry
    sd = np.sqrt(np.einsum("nii->ni", P_ref))
    np.testing.assert_array_less(np.abs(got.P - P_ref), RTOL * sd[:, :, None] * sd[:, None, :])
    np.testing.assert_array_equal(got.P, np.swapaxes(got.P, 1, 2))
    # the other entry points run the same kernel: same numbers
    np.testing.assert_allclose(model.transition(x, dt), got.x, rtol=1e-14, atol=1e-12)
    x_j, F_j = model.transition_jacobian(x, dt)
    np.testing.assert_allclose(x_j, got.x, rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(F_j, got.F, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("name", list(MODELS))
def test_acceleration_matches_numpy_reference(name: str) -> None:
    model = _model(name)
    x, _, _ = _states(40, model.dim)
    a, J = model.acceleration_jacobian(x)
    a_ref, J_ref = _ref_acceleration(model, x)
    _assert_close(a, a_ref)
    _assert_close(J, J_ref)
    np.testing.assert_array_equal(model.acceleration(x), a)


def test_per_row_area_over_mass_and_scalar_dt() -> None:
    """A/m given per row, one scalar dt for all rows (the tracker's shared-stamp case)."""
    base = _model("7-state, wind")
    x, P, _ = _states(12, 7)
    aom = base.area_over_mass_m2pkg * np.linspace(0.5, 2.0, 12)
    model = Ballistic(base.drag, aom, base.air, q=base.q, q_beta=base.q_beta)
    got = model.predict(x, P, 0.37)
    x_ref, P_ref, F_ref = _ref_predict(model, x, P, np.full(12, 0.37))
    _assert_close(got.x, x_ref)
    _assert_close(got.F, F_ref)
    _assert_close(got.P, P_ref)
    with pytest.raises(ValueError, match="area_over_mass_m2pkg"):
        model.transition(x[:5], 0.1)


# ------------------------------------------------------------------------------------------
# Jacobian against finite differences (the boost mode; test_filters covers the 7-state)
# ------------------------------------------------------------------------------------------


def test_boost_jacobian_matches_central_differences() -> None:
    """F of the thrusting model vs central differences of its transition.

    Air speeds of 120–300 m/s: thrust along ŵ is singular at zero air speed, which a 0.6 s step
    of 90 m/s² must stay clear of. Steps h of 1e-3 of each component's scale: truncation
    h²/6 · |∂³x/∂x³| is ~1e-7 (drag and thrust vary over ~100 m/s and ~km) and round-off
    ε|x|/h ~ 1e-10, but the interpolated tables are only C¹ (their second derivative jumps at
    nodes 10 m and 0.002 Mach apart), which limits central differences to ~h × jump ~ 1e-6
    (measured: 3e-7); 2e-5, as in test_filters, leaves a margin.
    """
    model = _model("boost, thrust")
    rng = np.random.default_rng(8)
    u = rng.normal(size=(5, 3))
    v = u / np.linalg.norm(u, axis=1, keepdims=True) * rng.uniform(120, 300, (5, 1))
    x = np.column_stack(
        [rng.normal(0, 500, (5, 2)), rng.uniform(100, 2500, 5), v, rng.normal(0, 0.2, 5)]
    )
    steps = 1e-3 * np.maximum(1.0, np.abs(x).max(axis=0))
    for dt in (0.2, -0.6):
        _, F = model.transition_jacobian(x, dt)
        cols = []
        for j, h in enumerate(steps):
            e = np.zeros(7)
            e[j] = h
            cols.append((model.transition(x + e, dt) - model.transition(x - e, dt)) / (2 * h))
        np.testing.assert_allclose(F, np.stack(cols, axis=-1), atol=2e-5)


# ------------------------------------------------------------------------------------------
# Rows are independent; bad input
# ------------------------------------------------------------------------------------------


def test_rows_are_independent_and_nan_rows_stay_contained() -> None:
    """Each row's result depends only on that row (the sub-step count is shared: equal |dt|
    here), and a NaN state gives a NaN row without disturbing the others."""
    model = _model("7-state, wind")
    x, P, _ = _states(8, 7)
    dt = np.where(np.arange(8) % 2, 0.5, -0.5)
    full = model.predict(x, P, dt)
    for i in (0, 5):
        one = model.predict(x[i : i + 1], P[i : i + 1], dt[i : i + 1])
        np.testing.assert_array_equal(one.x[0], full.x[i])
        np.testing.assert_array_equal(one.F[0], full.F[i])
        np.testing.assert_array_equal(one.P[0], full.P[i])
    bad = x.copy()
    bad[4, 2] = np.nan
    out = model.predict(bad, P, dt)
    assert np.all(np.isnan(out.x[4, :6]))
    keep = np.arange(8) != 4
    np.testing.assert_array_equal(out.x[keep], full.x[keep])
    np.testing.assert_array_equal(out.P[keep], full.P[keep])


def test_bad_input_is_named() -> None:
    model = _model("7-state, wind")
    x, P, dt = _states(4, 7)
    with pytest.raises(ValueError, match="dt must be finite"):
        model.predict(x, P, np.array([0.1, np.inf, 0.2, 0.3]))
    with pytest.raises(ValueError, match="P must have shape"):
        model.predict(x, P[:, :6, :6], dt)
    with pytest.raises(ValueError, match="state x"):
        model.transition(x[:, :6], dt)
    with pytest.raises(ValueError, match="dt must be a scalar"):
        model.transition(x, dt[:3])
    empty = model.predict(np.zeros((0, 7)), np.zeros((0, 7, 7)), 0.1)
    assert empty.x.shape == (0, 7) and empty.P.shape == (0, 7, 7) and empty.F.shape == (0, 7, 7)
