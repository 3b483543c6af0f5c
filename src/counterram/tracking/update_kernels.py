"""Compiled (numba) gating and EKF update of N tracks against radar plots.

Why compiled: the tracker handles one plot group (one sensor, one time stamp) at a time, and a
rotating radar stamps every plot at its own beam-crossing time, so a scan is dozens of groups of
one or two plots. The vectorised numpy forms of the gate (measurement, Jacobian, innovation
covariance, its inverse, the quadratic forms) and of the Joseph-form update cost some forty array
operations each, ~0.15 ms of dispatch per group whatever its size: under a 100-round salvo that
fixed cost was most of the tracker's time. Here the same arithmetic runs as loops over rows with
scalar maths inside (m ≤ 4 measurement components, d = 6 or 7 states), one compiled call each,
and the tracker's whole per-group path is two calls: :func:`screen_predict_gate` (which tracks
can match, their prediction to the group's time, the gate and, where nothing is contested, the
assignment) and :func:`update_and_judge` (the EKF update written into the track table, then the
life cycle).

The measurement model is that of :mod:`counterram.tracking.measurement` (range, compass azimuth,
elevation, radial velocity; a missing radial velocity masked out of the update by a zero H row,
zero innovation and unit R entry). Innovation covariances are factorised by Cholesky (they are
symmetric positive definite), not inverted; results agree with the numpy forms to round-off.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from counterram.tracking.kernels import (
    AIR_D_SOUND,
    AIR_D_WIND,
    AIR_SOUND,
    AIR_WIND,
    DRAG_CD,
    DRAG_D_CD,
    MODE_COVARIANCE,
    _cell,
    _hermite,
    acceleration,
    propagate,
)
from counterram.tracking.lifecycle import codes_after_group

_TWO_PI = 2.0 * math.pi


@nb.njit(cache=True, error_model="numpy")
def _wrap(a):
    return math.pi - ((math.pi - a) % _TWO_PI)


@nb.njit(cache=True, error_model="numpy")
def _measure(x, s, m, zp, H):
    """h(x) into zp[:m] and ∂h/∂x into H[:m, :d] (H zeroed first)."""
    de, dn, du = x[0] - s[0], x[1] - s[1], x[2] - s[2]
    rho2 = de * de + dn * dn
    rho = math.sqrt(rho2)
    r2 = rho2 + du * du
    r = math.sqrt(r2)
    for a in range(H.shape[0]):
        for c in range(H.shape[1]):
            H[a, c] = 0.0
    zp[0] = r
    zp[1] = math.atan2(de, dn)
    zp[2] = math.atan2(du, rho)
    H[0, 0], H[0, 1], H[0, 2] = de / r, dn / r, du / r
    H[1, 0], H[1, 1] = dn / rho2, -de / rho2
    H[2, 0] = -de * du / (rho * r2)
    H[2, 1] = -dn * du / (rho * r2)
    H[2, 2] = rho / r2
    if m == 4:
        vx, vy, vz = x[3], x[4], x[5]
        rdot = (de * vx + dn * vy + du * vz) / r
        zp[3] = rdot
        H[3, 0] = (vx - rdot / r * de) / r
        H[3, 1] = (vy - rdot / r * dn) / r
        H[3, 2] = (vz - rdot / r * du) / r
        H[3, 3], H[3, 4], H[3, 5] = de / r, dn / r, du / r


@nb.njit(cache=True, error_model="numpy")
def _cholesky(S, m, L):
    """Lower Cholesky factor of S[:m, :m] into L (NaN where S is not positive definite)."""
    for i in range(m):
        for j in range(i + 1):
            acc = S[i, j]
            for k in range(j):
                acc -= L[i, k] * L[j, k]
            if i == j:
                L[i, i] = math.sqrt(acc) if acc > 0.0 else math.nan
            else:
                L[i, j] = acc / L[j, j]


@nb.njit(cache=True, error_model="numpy")
def _solve(L, m, b):
    """b ← S⁻¹ b in place, with S = L Lᵀ (forward then back substitution)."""
    for i in range(m):
        acc = b[i]
        for k in range(i):
            acc -= L[i, k] * b[k]
        b[i] = acc / L[i, i]
    for i in range(m - 1, -1, -1):
        acc = b[i]
        for k in range(i + 1, m):
            acc -= L[k, i] * b[k]
        b[i] = acc / L[i, i]


@nb.njit(cache=True, error_model="numpy")
def gate_distances(x, P, z, s, sigma, m, doppler, d2):
    """Squared Mahalanobis distances d2 (N, M) of N predicted tracks (x (N, d), P (N, d, d)) to
    M plots z (M, ≥ m) of one sensor at ``s`` (3,) with sigmas ``sigma`` (4,).

    ``m``: 4 when some plot carries radial velocity, else 3; ``doppler`` (M,) which plots do. A
    plot without it is gated on range and angles (the leading 3 × 3 block), as the masked
    fourth component of the full form is exactly decoupled. Worked in units of the sensor sigmas
    (S = H P Hᵀ / σ² + I), which keeps S well conditioned.
    """
    n, d = x.shape
    zp = np.empty(4)
    H = np.empty((4, d))
    HP = np.empty((4, d))
    S = np.empty((4, 4))
    L4 = np.empty((4, 4))
    L3 = np.empty((4, 4))
    y = np.empty(4)
    for i in range(n):
        _measure(x[i], s, m, zp, H)
        for a in range(m):
            for c in range(d):
                H[a, c] /= sigma[a]
        for a in range(m):
            for c in range(d):
                acc = 0.0
                for k in range(d):
                    acc += H[a, k] * P[i, k, c]
                HP[a, c] = acc
        for a in range(m):
            for b in range(a + 1):
                acc = 0.0
                for k in range(d):
                    acc += HP[a, k] * H[b, k]
                S[a, b] = acc
                S[b, a] = acc
            S[a, a] += 1.0
        _cholesky(S, 3, L3)
        if m == 4:
            _cholesky(S, 4, L4)
        for j in range(z.shape[0]):
            mj = 4 if (m == 4 and doppler[j]) else 3
            for a in range(mj):
                y[a] = z[j, a] - zp[a]
            y[1] = _wrap(y[1])
            for a in range(mj):
                y[a] /= sigma[a]
            if mj == 4:
                _solve_lower(L4, 4, y)
            else:
                _solve_lower(L3, 3, y)
            acc = 0.0
            for a in range(mj):
                acc += y[a] * y[a]
            d2[i, j] = acc


@nb.njit(cache=True, error_model="numpy")
def _solve_lower(L, m, b):
    """b ← L⁻¹ b in place (forward substitution): |L⁻¹ y|² = yᵀ S⁻¹ y."""
    for i in range(m):
        acc = b[i]
        for k in range(i):
            acc -= L[i, k] * b[k]
        b[i] = acc / L[i, i]


@nb.njit(cache=True, error_model="numpy")
def ekf_update(x, P, z, s, sigma, x_out, P_out, y_out, S_out, nis_out):
    """Joseph-form EKF update of N rows: state x (N, d), covariance P (N, d, d), plot z (N, m)
    (m = 3 or 4; NaN radial velocity: not measured) from the sensor at s (N, 3) with sigmas
    (N, 4). Writes the posterior, the innovation y (N, m), its covariance S (N, m, m) and the
    normalised innovation squared yᵀ S⁻¹ y (N,)."""
    n, d = x.shape
    m = z.shape[1]
    zp = np.empty(4)
    H = np.empty((4, d))
    R = np.zeros(4)
    PHt = np.empty((d, 4))
    S = np.empty((4, 4))
    L = np.empty((4, 4))
    K = np.empty((d, 4))
    col = np.empty(4)
    A = np.empty((d, d))
    AP = np.empty((d, d))
    for i in range(n):
        _measure(x[i], s[i], m, zp, H)
        for a in range(m):
            R[a] = sigma[i, a] * sigma[i, a]
        y = y_out[i]
        for a in range(m):
            y[a] = z[i, a] - zp[a]
        y[1] = _wrap(y[1])
        if m == 4 and not (math.isfinite(z[i, 3]) and math.isfinite(sigma[i, 3])):
            y[3] = 0.0
            for c in range(d):
                H[3, c] = 0.0
            R[3] = 1.0
        for c in range(d):
            for a in range(m):
                acc = 0.0
                for k in range(d):
                    acc += P[i, c, k] * H[a, k]
                PHt[c, a] = acc
        for a in range(m):
            for b in range(a + 1):
                acc = 0.0
                for k in range(d):
                    acc += H[a, k] * PHt[k, b]
                S[a, b] = acc
                S[b, a] = acc
            S[a, a] += R[a]
        # symmetric by construction (the numpy form symmetrises H P Hᵀ + R)
        for a in range(m):
            for b in range(m):
                S_out[i, a, b] = S[a, b]
        _cholesky(S, m, L)
        # K = P Hᵀ S⁻¹: each row of P Hᵀ solved against S
        for c in range(d):
            for a in range(m):
                col[a] = PHt[c, a]
            _solve(L, m, col)
            for a in range(m):
                K[c, a] = col[a]
        for a in range(m):
            col[a] = y[a]
        _solve(L, m, col)
        acc = 0.0
        for a in range(m):
            acc += y[a] * col[a]
        nis_out[i] = acc
        for c in range(d):
            acc = x[i, c]
            for a in range(m):
                acc += K[c, a] * y[a]
            x_out[i, c] = acc
        # P⁺ = (I − K H) P (I − K H)ᵀ + K R Kᵀ
        for r in range(d):
            for c in range(d):
                acc = 1.0 if r == c else 0.0
                for a in range(m):
                    acc -= K[r, a] * H[a, c]
                A[r, c] = acc
        for r in range(d):
            for c in range(d):
                acc = 0.0
                for k in range(d):
                    acc += A[r, k] * P[i, k, c]
                AP[r, c] = acc
        for r in range(d):
            for c in range(r + 1):
                acc = 0.0
                for k in range(d):
                    acc += AP[r, k] * A[c, k]
                for a in range(m):
                    acc += K[r, a] * R[a] * K[c, a]
                P_out[i, r, c] = acc
                P_out[i, c, r] = acc


@nb.njit(cache=True, error_model="numpy")
def near_tracks(x, P, dt, a, q, p_plot, sig_plot, root, out, q_extra=None, beta_extra=None):
    """Which of N tracks can pass the gate of at least one of M plots: a cheap, conservative
    screen so that only those are predicted, gated and updated. out (N,) True where
    |p + v dt + a dt²/2 − p_plot| ≤ root (σ_track + σ_plot) + 50 m + |a| dt², with
    σ_track = √tr P_pp + |dt| √tr P_vv + √(q |dt|³); non-finite rows are kept. With the
    per-row inflation of :func:`prior_inflation` (``q_extra``, ``beta_extra`` (N,)), σ_track
    also holds √(q_extra |dt|³) and the drag scale's part, |a_drag| dt²/2 √(P_ββ + beta_extra).

    Why it is conservative: a pair passes the χ² gate γ = root² only if the position
    innovation e (ENU) satisfies eᵀ (P_pos + C)⁻¹ e ≤ γ (the position part of the gated
    distance, C the plot's converted covariance, σ_plot = √tr C), hence
    |e| ≤ √γ (√tr P_pos + √tr C). The track's predicted position and the root of its predicted
    position variance are bounded without the filter: p + v dt + a dt²/2 with its own
    acceleration a, and σ_track (Minkowski), with a margin of 50 m + |a| dt² for the change of
    the acceleration over dt and the linearised conversion.
    """
    n = x.shape[0]
    for i in range(n):
        t = dt[i]
        finite = math.isfinite(t)
        for c in range(x.shape[1]):
            finite = finite and math.isfinite(x[i, c])
        if not finite:
            out[i] = True
            continue
        half = 0.5 * t * t
        px = x[i, 0] + x[i, 3] * t + a[i, 0] * half
        py = x[i, 1] + x[i, 4] * t + a[i, 1] * half
        pz = x[i, 2] + x[i, 5] * t + a[i, 2] * half
        at = abs(t)
        sig = (math.sqrt(P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2])
               + at * math.sqrt(P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5])
               + math.sqrt(q * at * at * at))
        if q_extra is not None:
            drag_a = math.sqrt(a[i, 0] ** 2 + a[i, 1] ** 2 + (a[i, 2] + 9.80665) ** 2)
            sig += math.sqrt(q_extra[i] * at * at * at)
            if x.shape[1] == 7:
                sig += drag_a * 0.5 * t * t * math.sqrt(P[i, 6, 6] + beta_extra[i])
        margin = 50.0 + math.sqrt(a[i, 0] ** 2 + a[i, 1] ** 2 + a[i, 2] ** 2) * t * t
        hit = False
        for j in range(p_plot.shape[0]):
            ex, ey, ez = px - p_plot[j, 0], py - p_plot[j, 1], pz - p_plot[j, 2]
            if math.sqrt(ex * ex + ey * ey + ez * ez) <= root * (sig + sig_plot[j]) + margin:
                hit = True
                break
        out[i] = hit


@nb.njit(cache=True, error_model="numpy")
def log_drag_change(x, a, dt, air, z0, dz, drag, mach_step):
    """ln Cd(M + Ṁ dt) − ln Cd(M) of the reference drag curve along a track's prediction over
    ``dt``: M the Mach number of the air-relative velocity of state ``x``, Ṁ = ŵ·a / c from its
    acceleration ``a`` (3,) (the change of the speed of sound over one look is neglected).

    Why: the drag scale β a track estimates is the ratio of the round's drag to the reference
    curve's, and it stays constant only where the round's Cd(M) has the reference's shape. How
    much the ratio can move over an interval is bounded by how much the reference itself moves
    (a round whose Cd is flat across Mach 1 sees the fitted scale move by the reference's whole
    transonic change); this is that change, the scale of the drag-shape process noise."""
    i, t, out = _cell(x[2], z0, dz, air.shape[0])
    c_s = _hermite(air, i, t, dz, out, AIR_SOUND, AIR_D_SOUND)[0]
    wx = x[3] - _hermite(air, i, t, dz, out, AIR_WIND, AIR_D_WIND)[0]
    wy = x[4] - _hermite(air, i, t, dz, out, AIR_WIND + 1, AIR_D_WIND + 1)[0]
    wz = x[5] - _hermite(air, i, t, dz, out, AIR_WIND + 2, AIR_D_WIND + 2)[0]
    speed = math.sqrt(wx * wx + wy * wy + wz * wz)
    if not (speed > 0.0 and c_s > 0.0):
        return 0.0
    mach = speed / c_s
    mach_rate = (wx * a[0] + wy * a[1] + wz * a[2]) / (speed * c_s)
    j, tm, outm = _cell(mach, 0.0, mach_step, drag.shape[0])
    cd0 = _hermite(drag, j, tm, mach_step, outm, DRAG_CD, DRAG_D_CD)[0]
    j, tm, outm = _cell(max(mach + mach_rate * dt, 0.0), 0.0, mach_step, drag.shape[0])
    cd1 = _hermite(drag, j, tm, mach_step, outm, DRAG_CD, DRAG_D_CD)[0]
    if not (cd0 > 0.0 and cd1 > 0.0):
        return 0.0
    return math.log(cd1 / cd0)


@nb.njit(cache=True, error_model="numpy")
def prior_inflation(
    x, a, dt, status, last_hit, miss_interval, t, confirmed_code, shape_sigma, reacquire_q,
    reacquire_beta_var, air, z0, dz, drag, mach_step, q_out, beta_out,
):
    """Per-track additions to the process noise of a prediction over ``dt`` (N,), the two
    answers to a round that is no catalogue munition:

    * the drag-shape noise, always: a variance (``shape_sigma`` × :func:`log_drag_change`)² on
      the log drag scale β, added before the prediction so that it reaches the predicted
      position and velocity (zero where the reference curve is flat, large across Mach 1);
    * re-acquisition, for a confirmed track that has missed at least one look (more than 1.5
      look intervals since its last plot): ``reacquire_q`` (m²/s³) of white acceleration on top
      of the model's and ``reacquire_beta_var`` on β, so that its gate widens to where its
      round's plots went instead of the track being deleted and a new one started beside it.

    Writes the white-acceleration density q_out (N,) and the β variance beta_out (N,)."""
    n, d = x.shape
    for i in range(n):
        b = 0.0
        if d == 7 and shape_sigma > 0.0:
            b = shape_sigma * log_drag_change(x[i], a[i], dt[i], air, z0, dz, drag, mach_step)
            b = b * b if math.isfinite(b) else 0.0
        qe = 0.0
        if status[i] == confirmed_code and t - last_hit[i] > 1.5 * miss_interval[i]:
            qe = reacquire_q
            if d == 7:
                b += reacquire_beta_var
        q_out[i] = qe
        beta_out[i] = b


@nb.njit(cache=True, error_model="numpy")
def add_white_acceleration(P, dt, q):
    """P (N, d, d) += discretised white acceleration of density q (N,) over dt (N,) on [p, v]
    (the model's own Q, added the same way after the prediction)."""
    for i in range(P.shape[0]):
        if q[i] == 0.0:
            continue
        ad = abs(dt[i])
        for c in range(3):
            P[i, c, c] += q[i] * ad**3 / 3.0
            P[i, c, c + 3] += q[i] * dt[i] ** 2 / 2.0
            P[i, c + 3, c] += q[i] * dt[i] ** 2 / 2.0
            P[i, c + 3, c + 3] += q[i] * ad


@nb.njit(cache=True, error_model="numpy")
def _uncontested(d2, rows, free, limit, pairs_r, pairs_c, count):
    """The gated pairs of ``rows`` (tracks) × free plots when each track gates at most one free
    plot and each plot at most one of these tracks (then the GNN assignment is every gated pair:
    each costs at most the miss cost, the largest limit); appends them after ``count`` and marks
    their plots taken. Returns the new count, or −1 when something is contested."""
    m = d2.shape[1]
    per_plot = np.zeros(m, dtype=np.int64)
    start = count
    for i in rows:
        hit = -1
        for j in range(m):
            if free[j] and d2[i, j] <= limit[j]:
                if hit >= 0:
                    return -1
                hit = j
                per_plot[j] += 1
                if per_plot[j] > 1:
                    return -1
        if hit >= 0:
            pairs_r[count] = i
            pairs_c[count] = hit
            count += 1
    for k in range(start, count):
        free[pairs_c[k]] = False
    return count


@nb.njit(cache=True, error_model="numpy")
def screen_predict_gate(
    x, P, time_s, status, t, p_plot, sig_plot, root, q_screen,
    max_step, aom, thrust, g, air, z0, dz, drag, mach_step, q, q_beta,
    z, s, sigma, m, doppler, gate_limit, tentative_limit, confirmed_code,
    last_hit, miss_interval, shape_sigma, reacquire_q, reacquire_beta_var,
):
    """One plot group against the track table, up to the assignment.

    Screens the tracks that can gate a plot (:func:`near_tracks`), predicts those to ``t`` with
    covariance (:func:`counterram.tracking.kernels.propagate`), gates them against the group's
    plots (:func:`gate_distances`) and assigns: confirmed tracks first on the χ² limits
    ``gate_limit`` (M,), tentative ones on the plots left with ``tentative_limit`` (M,).
    Returns (near rows (K,), predicted x (K, d), P (K, d, d), d² (K, M), assigned near-row index
    and plot index per pair, contested). Where a class of tracks contests a plot (or a track
    gates two), ``contested`` is True and the pairs are not set: the caller solves the
    assignment (:func:`~counterram.tracking.association.gnn`) from d².
    """
    n, d = x.shape
    dt = np.empty(n)
    for i in range(n):
        dt[i] = t - time_s[i]
    a = np.empty((n, 3))
    acceleration(x, aom, thrust, g, air, z0, dz, drag, mach_step, False, a, np.zeros((0, 3, d)))
    q_extra = np.empty(n)
    beta_extra = np.empty(n)
    prior_inflation(x, a, dt, status, last_hit, miss_interval, t, confirmed_code, shape_sigma,
                    reacquire_q, reacquire_beta_var, air, z0, dz, drag, mach_step, q_extra,
                    beta_extra)
    near = np.empty(n, dtype=np.bool_)
    near_tracks(x, P, dt, a, q_screen, p_plot, sig_plot, root, near, q_extra, beta_extra)
    idx = np.flatnonzero(near)
    k = idx.size
    xn = np.empty((k, d))
    Pn = np.empty((k, d, d))
    dtn = np.empty(k)
    qn = np.empty(k)
    aom_n = aom if aom.shape[0] == 1 else np.empty(k)
    for j in range(k):
        r = idx[j]
        for a_ in range(d):
            xn[j, a_] = x[r, a_]
            for b_ in range(d):
                Pn[j, a_, b_] = P[r, a_, b_]
        if d == 7:
            Pn[j, 6, 6] += beta_extra[r]
        dtn[j] = dt[r]
        qn[j] = q_extra[r]
        if aom.shape[0] != 1:
            aom_n[j] = aom[r]
    xp = np.empty((k, d))
    Pp = np.empty((k, d, d))
    F = np.empty((k, d, d))
    mz = z.shape[0]
    d2 = np.empty((k, mz))
    pairs_r = np.empty(min(k, mz), dtype=np.int64)
    pairs_c = np.empty(min(k, mz), dtype=np.int64)
    if k == 0:
        return idx, xp, Pp, d2, pairs_r, pairs_c, False
    propagate(xn, dtn, max_step, aom_n, thrust, g, air, z0, dz, drag, mach_step, MODE_COVARIANCE,
              Pn, q, q_beta, xp, F, Pp)
    add_white_acceleration(Pp, dtn, qn)
    gate_distances(xp, Pp, z, s, sigma, m, doppler, d2)
    free = np.ones(mz, dtype=np.bool_)
    confirmed = np.empty(k, dtype=np.bool_)
    for j in range(k):
        confirmed[j] = status[idx[j]] == confirmed_code
    count = _uncontested(d2, np.flatnonzero(confirmed), free, gate_limit, pairs_r, pairs_c, 0)
    if count >= 0:
        count = _uncontested(d2, np.flatnonzero(~confirmed), free, tentative_limit,
                             pairs_r, pairs_c, count)
    if count < 0:
        return idx, xp, Pp, d2, pairs_r[:0], pairs_c[:0], True
    return idx, xp, Pp, d2, pairs_r[:count], pairs_c[:count], False


@nb.njit(cache=True, error_model="numpy")
def apply_updates(
    xp, Pp, ni, z, s, sigma, rows, t, revisit, sensor_bit, uids,
    x_tab, P_tab, time_tab, hits, nis_sum, last_hit, miss_interval, sensor_mask, plot_uids,
):
    """EKF-update the predicted tracks ``ni`` (rows of xp/Pp) with plots z (K, 4) of one sensor
    (s, sigma), write the posteriors into xp/Pp and into the track table at ``rows`` with their
    bookkeeping: state time ``t``, one more hit, the NIS summed, the last hit time, the miss
    interval widened to this sensor's ``revisit``, its ``sensor_bit`` set and the plot's
    sequence number ``uids`` (K,) in the row's first free ``plot_uids`` slot (dropped when
    full)."""
    k = ni.size
    d = xp.shape[1]
    xs = np.empty((k, d))
    Ps = np.empty((k, d, d))
    sk = np.empty((k, 3))
    sg = np.empty((k, 4))
    for j in range(k):
        i = ni[j]
        for a in range(d):
            xs[j, a] = xp[i, a]
            for b in range(d):
                Ps[j, a, b] = Pp[i, a, b]
        for a in range(3):
            sk[j, a] = s[a]
        for a in range(4):
            sg[j, a] = sigma[a]
    x_post = np.empty((k, d))
    P_post = np.empty((k, d, d))
    y = np.empty((k, z.shape[1]))
    S = np.empty((k, z.shape[1], z.shape[1]))
    nis = np.empty(k)
    ekf_update(xs, Ps, z, sk, sg, x_post, P_post, y, S, nis)
    for j in range(k):
        i = ni[j]
        r = rows[j]
        for a in range(d):
            xp[i, a] = x_post[j, a]
            x_tab[r, a] = x_post[j, a]
            for b in range(d):
                Pp[i, a, b] = P_post[j, a, b]
                P_tab[r, a, b] = P_post[j, a, b]
        time_tab[r] = t
        hits[r] += 1
        nis_sum[r] += nis[j]
        last_hit[r] = max(last_hit[r], t)
        miss_interval[r] = max(miss_interval[r], revisit)
        sensor_mask[r] |= sensor_bit
        for slot in range(plot_uids.shape[1]):
            if plot_uids[r, slot] < 0:
                plot_uids[r, slot] = uids[j]
                break


@nb.njit(cache=True, error_model="numpy")
def position_sigma(P, out):
    """√ of the largest eigenvalue of each track's 3 × 3 position covariance P[:, :3, :3], in
    closed form (the trigonometric solution of the characteristic cubic of a symmetric matrix):
    the life cycle's divergence test, after every plot group."""
    for i in range(P.shape[0]):
        a00, a11, a22 = P[i, 0, 0], P[i, 1, 1], P[i, 2, 2]
        a01, a02, a12 = P[i, 0, 1], P[i, 0, 2], P[i, 1, 2]
        p1 = a01 * a01 + a02 * a02 + a12 * a12
        q = (a00 + a11 + a22) / 3.0
        p2 = (a00 - q) ** 2 + (a11 - q) ** 2 + (a22 - q) ** 2 + 2.0 * p1
        if p2 <= 0.0:
            top = max(a00, a11, a22)
        else:
            p = math.sqrt(p2 / 6.0)
            b00, b11, b22 = (a00 - q) / p, (a11 - q) / p, (a22 - q) / p
            b01, b02, b12 = a01 / p, a02 / p, a12 / p
            det = (b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02)
                   + b02 * (b01 * b12 - b11 * b02))
            r = min(1.0, max(-1.0, 0.5 * det))
            top = q + 2.0 * p * math.cos(math.acos(r) / 3.0)
        out[i] = math.sqrt(top) if top > 0.0 else 0.0


@nb.njit(cache=True, error_model="numpy")
def update_and_judge(
    xp, Pp, near, ni, z, s, sigma, t, revisit, sensor_bit, uids,
    x_tab, P_tab, time_tab, hits, nis_sum, last_hit, miss_interval, sensor_mask, plot_uids,
    status, first_s, revisit_s, confirm_hits, confirm_looks, max_misses, max_coast_s,
    max_position_sigma_m, ground_height_m, confirm_extra, confirm_out, code_out,
):
    """The rest of a plot group after its assignment, in one call: :func:`apply_updates` of
    the assigned near tracks ``ni`` (rows of xp/Pp, table rows ``near[ni]``), then the life
    cycle at ``t`` (:func:`~counterram.tracking.lifecycle.codes_after_group`, the near tracks
    judged on their state at ``t``). Returns whether any track confirms or is deleted."""
    if ni.size:
        rows = np.empty(ni.size, dtype=np.int64)
        for j in range(ni.size):
            rows[j] = near[ni[j]]
        apply_updates(xp, Pp, ni, z, s, sigma, rows, t, revisit, sensor_bit, uids, x_tab, P_tab,
                      time_tab, hits, nis_sum, last_hit, miss_interval, sensor_mask, plot_uids)
    k = near.size
    sig = np.empty(k)
    position_sigma(Pp, sig)
    height = np.empty(k)
    height_sigma = np.empty(k)
    for j in range(k):
        height[j] = xp[j, 2]
        height_sigma[j] = math.sqrt(Pp[j, 2, 2])
    return codes_after_group(status, first_s, revisit_s, hits, last_hit, miss_interval, t,
                             confirm_hits, confirm_looks, max_misses, max_coast_s, near, sig,
                             height, height_sigma, max_position_sigma_m, ground_height_m,
                             confirm_extra, confirm_out, code_out)
