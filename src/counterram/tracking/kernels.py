"""Compiled (numba) propagation of the tracker's ballistic model: state, transition Jacobian and
covariance of N tracks in one call.

Why compiled: the vectorised numpy form of :class:`~counterram.tracking.motion.Ballistic` costs
some 220 array operations per prediction whatever the number of tracks (RK4 stages, table
lookups, the 7×7 variational equations), about 0.3 ms of dispatch. A tracker fed by a rotating
radar stamps every plot at its own beam-crossing time and predicts all its tracks once per plot
group, so that fixed cost was paid hundreds of times per scan. Here the same arithmetic runs as a
loop over rows with scalar math inside, in one compiled call per prediction.

The equations, the RK4 staging, the table interpolation (cubic Hermite on uniform grids, held
constant outside) and the order of the floating-point operations follow the model's
documentation in :mod:`counterram.tracking.motion`, so results agree with a vectorised numpy
evaluation to round-off.

Tables travel packed: ``air`` (G, 10) holds, per height node, density, its height derivative,
speed of sound, its derivative, wind (east, north, up) and its derivative; ``drag`` (M, 2) holds Cd
and dCd/dMach per Mach node. Arrays are passed one by one (not in tuples, which cost reference-count
traffic in numba), all C-contiguous float64 so one compiled signature serves every call.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

AIR_RHO, AIR_D_RHO, AIR_SOUND, AIR_D_SOUND, AIR_WIND, AIR_D_WIND = 0, 1, 2, 3, 4, 7
AIR_COLUMNS = 10
DRAG_CD, DRAG_D_CD = 0, 1

MODE_STATE, MODE_JACOBIAN, MODE_COVARIANCE = 0, 1, 2
"""What :func:`propagate` computes: the state; the state and F; the state, F and P."""


@nb.njit(cache=True, error_model="numpy", inline="always")
def _cell(v, v0, step, n):
    """Grid cell (left node, position in the cell in [0, 1], outside the grid?) of ``v``.
    Outside the grid the position is clamped to the end node; NaN gives position NaN (so the
    interpolated value is NaN too)."""
    s = (v - v0) / step
    outside = s < 0.0 or s > n - 1
    if s != s:
        return 0, s, False
    if s < 0.0:
        s = 0.0
    elif s > n - 1:
        s = float(n - 1)
    i = int(s)
    if i > n - 2:
        i = n - 2
    return i, s - i, outside


@nb.njit(cache=True, error_model="numpy", inline="always")
def _hermite(table, i, t, step, outside, cv, cs):
    """Cubic Hermite value and exact derivative of column ``cv`` (slopes in column ``cs``) of
    ``table`` in cell ``i`` at position ``t``; derivative zero outside the grid."""
    t2 = t * t
    t3 = t2 * t
    f0 = table[i, cv]
    f1 = table[i + 1, cv]
    m0 = table[i, cs] * step
    m1 = table[i + 1, cs] * step
    value = (2 * t3 - 3 * t2 + 1) * f0 + (t3 - 2 * t2 + t) * m0 + (3 * t2 - 2 * t3) * f1
    value = value + (t3 - t2) * m1
    if outside:
        return value, 0.0
    slope = (6 * t2 - 6 * t) * (f0 - f1) + (3 * t2 - 4 * t + 1) * m0 + (3 * t2 - 2 * t) * m1
    return value, slope / step


@nb.njit(cache=True, error_model="numpy", inline="always")
def _accel(z, vx, vy, vz, beta, aom, est_beta, thrust, g, air, z0, dz, drag, mach_step, jac, J):
    """Acceleration (ax, ay, az) of one state (height ``z``, velocity, log drag scale ``beta``
    used when ``est_beta``); with ``jac`` also ∂a/∂x into the rows of ``J`` (3, 6|7): column 2
    (height), 3–5 (velocity) and, when J has 7 columns, 6 (log drag scale). Columns 0 and 1 are
    left untouched (the caller keeps them zero: drag depends on neither east nor north)."""
    i, t, out = _cell(z, z0, dz, air.shape[0])
    rho, d_rho = _hermite(air, i, t, dz, out, AIR_RHO, AIR_D_RHO)
    c_s, d_c_s = _hermite(air, i, t, dz, out, AIR_SOUND, AIR_D_SOUND)
    we, d_we = _hermite(air, i, t, dz, out, AIR_WIND, AIR_D_WIND)
    wn, d_wn = _hermite(air, i, t, dz, out, AIR_WIND + 1, AIR_D_WIND + 1)
    wu, d_wu = _hermite(air, i, t, dz, out, AIR_WIND + 2, AIR_D_WIND + 2)
    wx = vx - we
    wy = vy - wn
    wz = vz - wu
    speed = math.sqrt(wx * wx + wy * wy + wz * wz)
    mach = speed / c_s
    j, tm, outm = _cell(mach, 0.0, mach_step, drag.shape[0])
    cd, d_cd = _hermite(drag, j, tm, mach_step, outm, DRAG_CD, DRAG_D_CD)
    c = 0.5 * aom * (math.exp(beta) if est_beta else 1.0)
    k = c * rho * cd  # drag acceleration = -k |w| w
    ks = k * speed
    adx = -ks * wx
    ady = -ks * wy
    adz = -ks * wz
    ax = adx
    ay = ady
    az = adz - g
    safe = speed if speed > 0.0 else 1.0
    ts = thrust / safe
    if thrust != 0.0:  # thrust along the air-relative velocity
        ax += ts * wx
        ay += ts * wy
        az += ts * wz
    if not jac:
        return ax, ay, az
    # ∂a/∂v = −c ρ [Cd |w| I + (Cd/|w| + Cd'/a) w wᵀ]  (+ thrust: a_T (I − ŵŵᵀ)/|w|)
    coef = c * rho * (cd / safe + d_cd / c_s)
    d_z_fixed_w = -(c * speed * (d_rho * cd - rho * d_cd * speed * d_c_s / c_s**2))
    safe2 = safe * safe
    for r in range(3):
        wr = wx if r == 0 else (wy if r == 1 else wz)
        for s in range(3):
            ws = wx if s == 0 else (wy if s == 1 else wz)
            outer = wr * ws
            dv = -(coef * outer)
            if r == s:
                dv -= ks
            if thrust != 0.0:
                dv += ts * ((1.0 if r == s else 0.0) - outer / safe2)
            J[r, 3 + s] = dv
        # ∂a/∂z: through ρ(z), a(z) (Mach) at fixed w, and through w = v − wind(z)
        J[r, 2] = d_z_fixed_w * wr - (J[r, 3] * d_we + J[r, 4] * d_wn + J[r, 5] * d_wu)
    if J.shape[1] == 7:  # ∂a/∂β = a_drag for a log scale (unused for a 6-state)
        J[0, 6] = adx
        J[1, 6] = ady
        J[2, 6] = adz
    return ax, ay, az


@nb.njit(cache=True, error_model="numpy")
def propagate(
    x,
    dt,
    max_step,
    aom,
    thrust,
    g,
    air,
    z0,
    dz,
    drag,
    mach_step,
    mode,
    P,
    q,
    q_beta,
    x_out,
    F_out,
    P_out,
):
    """RK4 propagation of states ``x`` (N, d) over ``dt`` (N,) into ``x_out``; for ``mode`` ≥
    MODE_JACOBIAN also F = Φ(dt) from the variational equations Φ̇ = A Φ into ``F_out`` (N, d, d);
    for MODE_COVARIANCE also F P Fᵀ + Q (symmetrised, Q white acceleration ``q`` on [p, v] and a
    random walk ``q_beta`` on β) into ``P_out``. ``aom`` holds A/m, one value or one per row.

    All rows take the same number of sub-steps, ceil(max |dt| / max_step) (at least 1), each row
    with its own step length; the four RK4 stages run as a loop around one inlined acceleration.
    Internally every state has D = 7 components (β = 0 and no drag-scale term for d = 6: its
    row and column then stay those of the identity and do not touch the 6 × 6 block), so the
    matrix loops have constant bounds the compiler unrolls. The acceleration depends on neither
    east nor north position and β is constant, so Φ's first two columns and last row stay those
    of the identity: only the 6 × 5 block of rows 0–5, columns 2–6 is integrated.
    """
    n, d = x.shape
    D = 7
    est_beta = d == 7
    jac = mode >= MODE_JACOBIAN
    longest = 0.0
    for r in range(n):
        a = abs(dt[r])
        if a > longest:
            longest = a
    if not math.isfinite(longest):
        raise ValueError("dt must be finite")
    n_steps = max(1, math.ceil(longest / max_step))
    one_aom = aom.shape[0] == 1
    J = np.zeros((3, D))
    Phi = np.empty((D, D))
    L = np.empty((D, D))
    Ls = np.empty((D, D))
    T = np.empty((D, D))
    C = np.empty((D, D))
    Pr = np.zeros((D, D))
    Ps = np.zeros((D, D))  # its first two columns stay unused, its last row e₇
    Ps[D - 1, D - 1] = 1.0
    for r in range(n):
        h = dt[r] / n_steps
        aom_r = aom[0] if one_aom else aom[r]
        px, py, pz = x[r, 0], x[r, 1], x[r, 2]
        vx, vy, vz = x[r, 3], x[r, 4], x[r, 5]
        beta = x[r, 6] if est_beta else 0.0
        if jac:
            for a in range(D):
                for b in range(D):
                    Phi[a, b] = 1.0 if a == b else 0.0
        for _ in range(n_steps):
            kvz = kax = kay = kaz = 0.0
            sx = sy = sz = svx = svy = svz = 0.0
            if jac:
                for a in range(D):
                    for b in range(D):
                        L[a, b] = 0.0
                        Ls[a, b] = 0.0
            for stage in range(4):
                c = 0.0 if stage == 0 else (1.0 if stage == 3 else 0.5)
                weight = 2.0 if stage == 1 or stage == 2 else 1.0
                ch = c * h
                spz = pz + ch * kvz
                qx = vx + ch * kax
                qy = vy + ch * kay
                qz = vz + ch * kaz
                if jac:
                    for a in range(D - 1):
                        for b in range(2, D):
                            Ps[a, b] = Phi[a, b] + ch * L[a, b]
                kax, kay, kaz = _accel(
                    spz,
                    qx,
                    qy,
                    qz,
                    beta,
                    aom_r,
                    est_beta,
                    thrust,
                    g,
                    air,
                    z0,
                    dz,
                    drag,
                    mach_step,
                    jac,
                    J,
                )
                kvz = qz
                sx += weight * qx
                sy += weight * qy
                sz += weight * qz
                svx += weight * kax
                svy += weight * kay
                svz += weight * kaz
                if jac:  # L = A Ps: rows 0–2 the velocity rows of Ps, rows 3–5 J Ps, row 6 zero
                    for a in range(3):
                        for b in range(2, D):
                            L[a, b] = Ps[a + 3, b]
                            acc = 0.0
                            for m in range(2, D):
                                acc += J[a, m] * Ps[m, b]
                            L[a + 3, b] = acc
                    for a in range(D - 1):
                        for b in range(2, D):
                            Ls[a, b] += weight * L[a, b]
            k = h / 6.0
            px += k * sx
            py += k * sy
            pz += k * sz
            vx += k * svx
            vy += k * svy
            vz += k * svz
            if jac:
                for a in range(D - 1):
                    for b in range(2, D):
                        Phi[a, b] += k * Ls[a, b]
        x_out[r, 0] = px
        x_out[r, 1] = py
        x_out[r, 2] = pz
        x_out[r, 3] = vx
        x_out[r, 4] = vy
        x_out[r, 5] = vz
        if est_beta:
            x_out[r, 6] = beta
        if not jac:
            continue
        for a in range(d):
            for b in range(d):
                F_out[r, a, b] = Phi[a, b]
        if mode != MODE_COVARIANCE:
            continue
        # P' = sym(F P Fᵀ + Q); for d = 6, P padded with a zero row and column
        for a in range(d):
            for b in range(d):
                Pr[a, b] = P[r, a, b]
        for a in range(D):
            for b in range(D):
                acc = 0.0
                for m in range(D):
                    acc += Phi[a, m] * Pr[m, b]
                T[a, b] = acc
        for a in range(D):
            for b in range(D):
                acc = 0.0
                for m in range(D):
                    acc += T[a, m] * Phi[b, m]
                C[a, b] = acc
        ad = abs(dt[r])
        for a in range(3):
            C[a, a] += q * ad**3 / 3.0
            C[a, a + 3] += q * dt[r] ** 2 / 2.0
            C[a + 3, a] += q * dt[r] ** 2 / 2.0
            C[a + 3, a + 3] += q * ad
        C[6, 6] += q_beta * ad
        for a in range(d):
            for b in range(d):
                P_out[r, a, b] = 0.5 * (C[a, b] + C[b, a])


@nb.njit(cache=True, error_model="numpy")
def acceleration(x, aom, thrust, g, air, z0, dz, drag, mach_step, jac, a_out, J_out):
    """v̇ (N, 3) of states ``x`` (N, d) into ``a_out``; with ``jac`` also ∂v̇/∂x into ``J_out``
    (N, 3, d)."""
    n, d = x.shape
    one_aom = aom.shape[0] == 1
    J = np.zeros((3, d))
    for r in range(n):
        beta = x[r, 6] if d == 7 else 0.0
        aom_r = aom[0] if one_aom else aom[r]
        ax, ay, az = _accel(
            x[r, 2],
            x[r, 3],
            x[r, 4],
            x[r, 5],
            beta,
            aom_r,
            d == 7,
            thrust,
            g,
            air,
            z0,
            dz,
            drag,
            mach_step,
            jac,
            J,
        )
        a_out[r, 0] = ax
        a_out[r, 1] = ay
        a_out[r, 2] = az
        if jac:
            for a in range(3):
                for b in range(d):
                    J_out[r, a, b] = J[a, b]
