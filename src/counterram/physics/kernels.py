"""Compiled per-body integration kernels (numba) behind :mod:`counterram.physics.trajectory`.

Why compiled: the same integrator flies one interceptor round for fire control, a dozen sigma
points for an impact prediction and 100,000 rounds for a Monte Carlo study. Vectorised numpy pays
~1 µs of dispatch per array operation and ~130 operations per RK4 step whatever N is, so a single
60 s flight costs ~0.3 s; compiled loops over bodies cost tens of nanoseconds per step and body,
for small and large N alike. The kernels are plain functions on floats and arrays; units, objects
and validation live in the Python layer.

Body properties are rows of a float array (columns ``P_*``). The environment travels as separate
arguments ``air, h0, h_step, wind, grid``: ``air`` (2, n) holds density and speed of sound on a
uniform height grid starting at ``h0`` with spacing ``h_step``; ``wind`` (3, k) holds layer
heights, east and north components; ``grid`` (tables, mach) the drag tables on the uniform Mach
grid of :mod:`counterram.physics.drag`. (Arrays are passed one by one, not in a tuple: numba
passes a tuple of arrays with reference-count traffic that made every acceleration ~10× slower.)

Equations: point-mass model (STANAG 4355's point-mass core without the yaw-of-repose and spin
terms) — ``dv/dt = g − ½ ρ Cd(M) A |v_r| v_r / m + T v / (m |v|)`` with ``v_r = v − w``,
gravity ``g = (0, 0, −g0)``, thrust T along the velocity while the motor burns, mass falling
linearly from launch to burnout mass; classical RK4.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from counterram.physics.drag import MACH_STEP

G0 = 9.80665  # kept equal to constants.STANDARD_GRAVITY_MPS2 (a test checks it)

P_MASS, P_BURNOUT_MASS, P_AREA, P_BURN_TIME, P_THRUST, P_DRAG_INDEX, P_DRAG_SCALE = range(7)
N_PROPS = 7


@nb.njit(cache=True, error_model="numpy")
def _air(z, air, h0, h_step):
    rho_t = air[0]
    a_t = air[1]
    x = (z - h0) / h_step
    top = air.shape[1] - 1.000001
    if x < 0.0:
        x = 0.0
    elif x > top:
        x = top
    i = int(x)
    w = x - i
    return rho_t[i] + w * (rho_t[i + 1] - rho_t[i]), a_t[i] + w * (a_t[i + 1] - a_t[i])


@nb.njit(cache=True, error_model="numpy")
def _wind(z, wind):
    wh = wind[0]
    we = wind[1]
    wn = wind[2]
    k = wind.shape[1]
    if k == 1 or z <= wh[0]:
        return we[0], wn[0]
    if z >= wh[k - 1]:
        return we[k - 1], wn[k - 1]
    j = 0
    while wh[j + 1] < z:
        j += 1
    w = (z - wh[j]) / (wh[j + 1] - wh[j])
    return we[j] + w * (we[j + 1] - we[j]), wn[j] + w * (wn[j + 1] - wn[j])


@nb.njit(cache=True, error_model="numpy")
def _cd(row, mach, grid):
    x = mach * (1.0 / MACH_STEP)
    top = grid.shape[1] - 1.000001
    if x > top:
        x = top
    elif x < 0.0:
        x = 0.0
    i = int(x)
    c0 = grid[row, i]
    return c0 + (x - i) * (grid[row, i + 1] - c0)


@nb.njit(cache=True, error_model="numpy")
def mass_at(p, tau):
    """Mass at time since launch ``tau``: linear burn from launch to burnout mass."""
    tb = p[P_BURN_TIME]
    if tb <= 0.0 or tau <= 0.0:
        return p[P_MASS]
    if tau >= tb:
        return p[P_BURNOUT_MASS]
    return p[P_MASS] - (p[P_MASS] - p[P_BURNOUT_MASS]) * tau / tb


@nb.njit(cache=True, error_model="numpy")
def accel(x, y, z, vx, vy, vz, tau, burning, p, air, h0, h_step, wind, grid):
    """Acceleration (ax, ay, az) of one body: gravity, drag on the air-relative velocity, thrust
    along the ground-relative velocity while ``burning``. Scalars in and out, so the compiled loop allocates nothing."""
    rho, sound = _air(z, air, h0, h_step)
    we, wn = _wind(z, wind)
    vrx = vx - we
    vry = vy - wn
    vr = math.sqrt(vrx * vrx + vry * vry + vz * vz)
    if vr < 1e-9:
        vr = 1e-9
    cd = _cd(int(p[P_DRAG_INDEX]), vr / sound, grid) * p[P_DRAG_SCALE]
    m = mass_at(p, tau)
    coef = -0.5 * rho * cd * p[P_AREA] * vr / m
    ax = coef * vrx
    ay = coef * vry
    az = coef * vz - G0
    if burning:
        v = math.sqrt(vx * vx + vy * vy + vz * vz)
        if v < 1e-9:
            v = 1e-9
        t = p[P_THRUST] / (m * v)
        ax += t * vx
        ay += t * vy
        az += t * vz
    return ax, ay, az


@nb.njit(cache=True, error_model="numpy")
def _rk4(s, tau, h, p, air, h0, h_step, wind, grid):
    """Classical RK4 step of length h (may be negative) of the state tuple s = (x, y, z, vx, vy,
    vz). The motor phase is decided once at the step's midpoint."""
    x, y, z, vx, vy, vz = s
    mid = tau + 0.5 * h
    burning = p[P_THRUST] > 0.0 and mid >= 0.0 and mid < p[P_BURN_TIME]
    hh = 0.5 * h
    a1x, a1y, a1z = accel(x, y, z, vx, vy, vz, tau, burning, p, air, h0, h_step, wind, grid)
    vx2, vy2, vz2 = vx + hh * a1x, vy + hh * a1y, vz + hh * a1z
    a2x, a2y, a2z = accel(
        x + hh * vx,
        y + hh * vy,
        z + hh * vz,
        vx2,
        vy2,
        vz2,
        mid,
        burning,
        p,
        air,
        h0,
        h_step,
        wind,
        grid,
    )
    vx3, vy3, vz3 = vx + hh * a2x, vy + hh * a2y, vz + hh * a2z
    a3x, a3y, a3z = accel(
        x + hh * vx2,
        y + hh * vy2,
        z + hh * vz2,
        vx3,
        vy3,
        vz3,
        mid,
        burning,
        p,
        air,
        h0,
        h_step,
        wind,
        grid,
    )
    vx4, vy4, vz4 = vx + h * a3x, vy + h * a3y, vz + h * a3z
    a4x, a4y, a4z = accel(
        x + h * vx3,
        y + h * vy3,
        z + h * vz3,
        vx4,
        vy4,
        vz4,
        tau + h,
        burning,
        p,
        air,
        h0,
        h_step,
        wind,
        grid,
    )
    k = h / 6.0
    return (
        x + k * (vx + 2.0 * (vx2 + vx3) + vx4),
        y + k * (vy + 2.0 * (vy2 + vy3) + vy4),
        z + k * (vz + 2.0 * (vz2 + vz3) + vz4),
        vx + k * (a1x + 2.0 * (a2x + a3x) + a4x),
        vy + k * (a1y + 2.0 * (a2y + a3y) + a4y),
        vz + k * (a1z + 2.0 * (a2z + a3z) + a4z),
    )


@nb.njit(cache=True, error_model="numpy")
def step(s, tau, h, p, air, h0, h_step, wind, grid):
    """One step of length h, split at motor burnout if burnout falls inside it, so the thrust
    discontinuity never sits inside an RK4 stage."""
    if p[P_THRUST] > 0.0 and h != 0.0:
        frac = (p[P_BURN_TIME] - tau) / h
        if 1e-9 < frac < 1.0 - 1e-9:
            mid = _rk4(s, tau, frac * h, p, air, h0, h_step, wind, grid)
            return _rk4(mid, tau + frac * h, h - frac * h, p, air, h0, h_step, wind, grid)
    return _rk4(s, tau, h, p, air, h0, h_step, wind, grid)


@nb.njit(cache=True, error_model="numpy")
def _locate_crossing(s, tau, h, ground, p, air, h0, h_step, wind, grid):
    """Fraction f of the step where z = ground (Newton on partial RK4 steps), and the state."""
    end = step(s, tau, h, p, air, h0, h_step, wind, grid)
    dz = s[2] - end[2]
    f = (s[2] - ground) / dz if dz != 0.0 else 1.0
    for _ in range(6):
        end = step(s, tau, f * h, p, air, h0, h_step, wind, grid)
        slope = end[5] * h
        if slope == 0.0:
            break
        df = (end[2] - ground) / slope
        f = min(1.0, max(0.0, f - df))
        if abs(df) < 1e-13:
            break
    return f, step(s, tau, f * h, p, air, h0, h_step, wind, grid)


@nb.njit(cache=True, error_model="numpy")
def fly_kernel(
    x0,
    tau0,
    props,
    ground,
    h,
    max_steps,
    stride,
    air,
    h0,
    h_step,
    wind,
    grid,
    impact_elapsed,
    impact_state,
    apex,
    apex_elapsed,
    samples,
    last_step,
):
    """Integrate each body until it descends through its ground height (see trajectory.fly).

    Writes the elapsed time at the crossing (NaN if none within max_steps), the state there, the
    apex height and its elapsed time, and (if ``samples`` has room) states every ``stride`` steps.
    ``last_step[n]`` is the number of whole steps body n took.
    """
    n_samples = samples.shape[1]
    for n in range(x0.shape[0]):
        p = props[n]
        g = ground[n]
        s = (x0[n, 0], x0[n, 1], x0[n, 2], x0[n, 3], x0[n, 4], x0[n, 5])
        tau = tau0[n]
        top = s[2]
        top_t = 0.0
        impact_elapsed[n] = np.nan
        impact_state[n, :] = np.nan
        if n_samples > 0:
            for i in range(6):
                samples[n, 0, i] = s[i]
        k = 0
        while k < max_steps:
            k += 1
            new = step(s, tau, h, p, air, h0, h_step, wind, grid)
            vz0 = s[5]
            vz1 = new[5]
            if (h > 0.0 and vz0 > 0.0 and vz1 <= 0.0) or (h < 0.0 and vz0 < 0.0 and vz1 >= 0.0):
                f = -vz0 / ((vz1 - vz0) / h)
                z_top = s[2] + 0.5 * vz0 * f
                if z_top > top:
                    top = z_top
                    top_t = (k - 1) * h + f
            if new[2] > top:
                top = new[2]
                top_t = k * h
            if new[2] <= g and s[2] > g:
                f, hit = _locate_crossing(s, tau, h, g, p, air, h0, h_step, wind, grid)
                impact_elapsed[n] = (k - 1 + f) * h
                for i in range(6):
                    impact_state[n, i] = hit[i]
                break
            s = new
            tau += h
            if stride > 0 and k % stride == 0:
                j = k // stride
                if j < n_samples:
                    for i in range(6):
                        samples[n, j, i] = s[i]
        apex[n] = top
        apex_elapsed[n] = top_t
        last_step[n] = k


@nb.njit(cache=True, error_model="numpy")
def propagate_kernel(x0, tau0, props, total, max_step, air, h0, h_step, wind, grid, out):
    """Each body's state after ``total[n]`` seconds (any sign) in equal steps ≤ max_step."""
    for n in range(x0.shape[0]):
        p = props[n]
        s = (x0[n, 0], x0[n, 1], x0[n, 2], x0[n, 3], x0[n, 4], x0[n, 5])
        steps = math.ceil(abs(total[n]) / max_step)
        h = total[n] / steps if steps > 0 else 0.0
        tau = tau0[n]
        for _ in range(steps):
            s = step(s, tau, h, p, air, h0, h_step, wind, grid)
            tau += h
        for i in range(6):
            out[n, i] = s[i]


@nb.njit(cache=True, error_model="numpy")
def acceleration_kernel(x, tau, props, air, h0, h_step, wind, grid, out):
    """Accelerations (N, 3) of bodies in states x (N, 6) at times since launch tau (N,)."""
    for n in range(x.shape[0]):
        p = props[n]
        burning = p[P_THRUST] > 0.0 and tau[n] >= 0.0 and tau[n] < p[P_BURN_TIME]
        ax, ay, az = accel(
            x[n, 0],
            x[n, 1],
            x[n, 2],
            x[n, 3],
            x[n, 4],
            x[n, 5],
            tau[n],
            burning,
            p,
            air,
            h0,
            h_step,
            wind,
            grid,
        )
        out[n, 0] = ax
        out[n, 1] = ay
        out[n, 2] = az
