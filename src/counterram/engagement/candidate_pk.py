"""Kill probability of fire control's candidate bursts, in two compiled passes.

Why it exists: every plan scores up to a thousand candidate bursts (gun × threat × fire time)
at 100 threats. Composed from the public, validating functions — the track's position
covariance carried to the intercept (:func:`~counterram.engagement.fire_control.
position_covariance_at`), its projection on the miss plane plus the fire-control error
(:func:`~counterram.engagement.lethality.bias_covariance`), the threat's silhouette
(:func:`~counterram.engagement.lethality.presented_area`) and the burst Pk
(:func:`~counterram.engagement.lethality.burst_kill_probability_presented`) — that costs
~2.5 µs a candidate, three quarters of it array overhead. Here the same formulas run per row in
numba: one pass for the miss-plane bias covariance, one for the silhouette, its axes and the
quadrature levels, feeding the presented-area quadrature kernel itself. The results equal the
composed functions to rounding (a test holds them together); the lethal-radius model takes the
compiled bias covariance and its own model unchanged.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from counterram.engagement import lethality as lt

__all__ = ["candidate_bias_covariance", "candidate_burst_pk"]


@nb.njit(cache=True, error_model="numpy", inline="always")
def _miss_plane(dx, dy, dz):
    """Unit miss-plane axes u1 = unit(ẑ × d) (east when vertical) and u2 = d × u1."""
    h = math.hypot(dx, dy)
    if h <= 1e-9:
        u1x, u1y = 1.0, 0.0
    else:
        u1x, u1y = -dy / h, dx / h
    return u1x, u1y, -dz * u1y, dz * u1x, dx * u1y - dy * u1x


@nb.njit(cache=True, error_model="numpy")
def _bias_kernel(aim, range_m, sigma_fc, P, rows, dt, drag_accel, out):  # pragma: no cover
    phi = np.zeros((3, 7))
    pos = np.empty((3, 3))
    tmp = np.empty((3, 7))
    for u in range(out.shape[0]):
        r = rows[u]
        t = dt[u]
        for i in range(3):
            for k in range(7):
                phi[i, k] = 0.0
            phi[i, i] = 1.0
            phi[i, 3 + i] = t
            phi[i, 6] = 0.5 * t * t * drag_accel[r, i]
        for i in range(3):
            for k in range(7):
                acc = 0.0
                for m in range(7):
                    acc += phi[i, m] * P[r, m, k]
                tmp[i, k] = acc
        for i in range(3):
            for j in range(3):
                acc = 0.0
                for k in range(7):
                    acc += tmp[i, k] * phi[j, k]
                pos[i, j] = acc
        norm = math.sqrt(aim[u, 0] ** 2 + aim[u, 1] ** 2 + aim[u, 2] ** 2)
        u1x, u1y, u2x, u2y, u2z = _miss_plane(aim[u, 0] / norm, aim[u, 1] / norm,
                                              aim[u, 2] / norm)
        # B pos Bᵀ with B = [[u1x, u1y, 0], [u2x, u2y, u2z]]
        b0 = (u1x, u1y, 0.0)
        b1 = (u2x, u2y, u2z)
        c00 = c01 = c10 = c11 = 0.0
        for i in range(3):
            for j in range(3):
                c00 += b0[i] * pos[i, j] * b0[j]
                c01 += b0[i] * pos[i, j] * b1[j]
                c10 += b1[i] * pos[i, j] * b0[j]
                c11 += b1[i] * pos[i, j] * b1[j]
        s = (sigma_fc * range_m[u]) ** 2
        out[u, 0, 0] = s + c00
        out[u, 0, 1] = c01
        out[u, 1, 0] = c10
        out[u, 1, 1] = s + c11
    return out


@nb.njit(cache=True, error_model="numpy")
def _silhouette_kernel(  # pragma: no cover - compiled
    aim, velocity, diameter, length, cov, sd, n_rounds, q, sharp_levels, saturation_levels,
    h_s, h_t, c_ss, c_st, c_tt, outer, inner,
):
    """Per row: the presented rectangle (half-sides), the bias covariance in its axes and the
    quadrature levels, as :func:`lethality.presented_area` and
    :func:`lethality.burst_kill_probability_presented` compute them. Returns the number of
    rows whose covariance is not positive semi-definite."""
    bad = 0
    for u in range(aim.shape[0]):
        norm = math.sqrt(aim[u, 0] ** 2 + aim[u, 1] ** 2 + aim[u, 2] ** 2)
        dx, dy, dz = aim[u, 0] / norm, aim[u, 1] / norm, aim[u, 2] / norm
        u1x, u1y, _, _, _ = _miss_plane(dx, dy, dz)
        vx, vy, vz = velocity[u, 0], velocity[u, 1], velocity[u, 2]
        e1 = u1x * vx + u1y * vy
        e2 = -dz * u1y * vx + dz * u1x * vy + (dx * u1y - dy * u1x) * vz
        e0 = dx * vx + dy * vy + dz * vz
        speed = math.sqrt(e0 * e0 + e1 * e1 + e2 * e2)
        inv = 1.0 / speed if speed > 0 else 1.0
        sin_a = math.hypot(e1, e2) * inv
        cos_a = abs(e0) * inv if speed > 0 else 1.0
        if sin_a < 1e-12:
            c, s = 1.0, 0.0
        else:
            c, s = e1 / (sin_a * speed), e2 / (sin_a * speed)
        hs = 0.5 * (length[u] * sin_a + 0.25 * np.pi * diameter[u] * cos_a)
        ht = 0.5 * diameter[u]
        h_s[u], h_t[u] = hs, ht
        xx, xy, yy = cov[u, 0, 0], 0.5 * (cov[u, 0, 1] + cov[u, 1, 0]), cov[u, 1, 1]
        ss = c * c * xx + 2.0 * c * s * xy + s * s * yy
        tt = s * s * xx - 2.0 * c * s * xy + c * c * yy
        st = c * s * (yy - xx) + (c * c - s * s) * xy
        scale = max(abs(ss) + abs(tt), 1e-300)
        if ss < -1e-12 * scale or tt < -1e-12 * scale or ss * tt - st * st < -1e-12 * scale**2:
            bad += 1
        c_ss[u], c_tt[u], c_st[u] = max(ss, 0.0), max(tt, 0.0), st
        inv_sd = 1.0 / sd[u]
        p0 = lt._interval_probability(hs, 0.0, inv_sd) * lt._interval_probability(ht, 0.0, inv_sd)
        rounds = n_rounds[u] * q[u] * min(max(p0, 0.0), 1.0)
        level = 0
        for x in saturation_levels:
            if rounds >= x:
                level += 1
        inner[u] = level
        sharp = 0
        for x in sharp_levels:
            if hs / sd[u] >= x:
                sharp += 1
        outer[u] = max(sharp, level)
    return bad


def candidate_bias_covariance(
    aim: NDArray[np.float64], range_m: NDArray[np.float64], sigma_fc_rad: float,
    P: NDArray[np.float64], rows: NDArray[np.int64], dt_s: NDArray[np.float64],
    drag_accel: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Miss-plane bias covariances (U, 2, 2): the track covariance ``P[rows]`` (J, 7, 7)
    carried ``dt_s`` (U,) by the first-order transition with drag accelerations
    ``drag_accel[rows]`` (J, 3), projected normal to the aims (U, 3), plus the isotropic
    fire-control error σ_fc × range."""
    out = np.empty((aim.shape[0], 2, 2))
    return _bias_kernel(np.ascontiguousarray(aim, dtype=float),
                        np.ascontiguousarray(range_m, dtype=float), float(sigma_fc_rad),
                        np.ascontiguousarray(P, dtype=float),
                        np.ascontiguousarray(rows, dtype=np.int64),
                        np.ascontiguousarray(dt_s, dtype=float),
                        np.ascontiguousarray(drag_accel, dtype=float), out)


def candidate_burst_pk(
    kill_model: str, n_rounds: int, sigma_dispersion_m: NDArray[np.float64],
    bias_cov_m2: NDArray[np.float64], aim: NDArray[np.float64],
    threat_velocity_enu: NDArray[np.float64], model_value: NDArray[np.float64],
    diameter_m: NDArray[np.float64], length_m: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Burst Pk (U,) of U candidate bursts under ``kill_model``: ``model_value`` is each
    threat's P(defeat | hit) (presented area) or lethal radius (lethal radius); ``diameter_m``
    and ``length_m`` its body (:func:`lethality.presented_length_m`)."""
    size = aim.shape[0]
    if kill_model == "lethal_radius":
        return lt.burst_kill_probability(np.full(size, int(n_rounds), np.int64), model_value,
                                         sigma_dispersion_m, bias_cov_m2=bias_cov_m2)
    if kill_model != "presented_area":
        raise ValueError(
            f"unknown kill model {kill_model!r}; allowed: {', '.join(lt.KILL_MODELS)}"
        )
    sd = np.ascontiguousarray(sigma_dispersion_m, dtype=float)
    if size and not np.all(sd > 0):
        raise ValueError("sigma_dispersion_m must be > 0")
    n = np.full(size, int(n_rounds), dtype=np.int64)
    q = np.ascontiguousarray(model_value, dtype=float)
    h_s, h_t, c_ss, c_st, c_tt = (np.empty(size) for _ in range(5))
    outer, inner = np.empty(size, np.int64), np.empty(size, np.int64)
    bad = _silhouette_kernel(
        np.ascontiguousarray(aim, dtype=float),
        np.ascontiguousarray(threat_velocity_enu, dtype=float),
        np.ascontiguousarray(diameter_m, dtype=float), np.ascontiguousarray(length_m, dtype=float),
        np.ascontiguousarray(bias_cov_m2, dtype=float), sd, n, q,
        np.asarray(lt._SHARP_LEVELS), np.asarray(lt._SATURATION_LEVELS),
        h_s, h_t, c_ss, c_st, c_tt, outer, inner,
    )
    if bad:
        raise ValueError("bias_cov_m2 must be positive semi-definite")
    out = np.empty(size)
    lt._presented_kernel(n, q, sd, h_s, h_t, c_ss, c_st, c_tt, outer, inner, lt._GH_X,
                         lt._GH_W, lt._GH_SIZES, lt._TAYLOR_EPS, out)
    return out
