"""Two-point track initiation for indirect fire: a pool of unassociated plots, kinematic pairing
gates, and the starting state with its consistent covariance.

A plot that no track takes is converted to an ENU position with covariance
(:func:`~counterram.tracking.measurement.spherical_to_enu`) and waits in a :class:`PlotPool` for
``max_dt_s``. A later unassociated plot pairs with a pooled one when the pair is a possible piece
of an indirect-fire flight:

* time difference in [``min_dt_s``, ``max_dt_s``] (plots of one instant give no velocity);
* mean speed within [``speed_min_mps``, ``speed_max_mps``] widened by three sigmas of the speed
  estimate's noise along the line of motion (rounds fly at about 40–1,000 m/s);
* both plots above the ground by no more than three sigmas below it.

Pairs are scored by their likelihood under a broad zero-mean velocity prior,
Δp ~ N(0, C₁ + C₂ + (σ_v Δt)² I), as the negative log-likelihood d² + ln det. By default
(``max_pairs_per_plot = 1``) each plot joins at most one pair, chosen by the one-to-one
assignment of least total cost (:func:`~counterram.tracking.association.gnn`). That is what a
salvo needs: in a parallel sheaf (rounds equally spaced on a line, flying alike) the "diagonal"
pairing (round a at one look with round b at the next) is a consistent ballistic track for as
long as there are rounds down the line, so M-of-N cannot reject it; the least-total-displacement
assignment pairs each round with itself. With ``max_pairs_per_plot = k > 1`` each new plot keeps
its k cheapest pairs instead and M-of-N prunes the surplus.

Starting state from plots (t₁, p₁, C₁) and (t₂, p₂, C₂), Δt = t₂ − t₁, under gravity g and an
unknown drag acceleration of per-axis sigma σ_a::

    p = p₂,   v = (p₂ − p₁)/Δt + [0, 0, −g Δt/2]   (the velocity at t₂)
    P_pp = C₂,   P_pv = C₂/Δt,   P_vv = (C₁ + C₂)/Δt² + (σ_a Δt/2)² I

(p₂ − p₁ = v₂ Δt − a Δt²/2 for constant acceleration a, so v₂ = (p₂ − p₁)/Δt + a Δt/2 with
a = [0, 0, −g] + drag.) The covariance is exact for the linear map from the two plots.

The pairing gates and costs are one compiled pass over the (pooled, new) pairs
(:func:`_pair_costs`, numba): a plot group of a rotating radar is one to a few plots against a
pool of tens, where numpy's thirty-odd vectorised calls cost ~0.1 ms of overhead per group and
the arithmetic a few microseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from counterram.tracking.association import gnn
from counterram.tracking.motion import STANDARD_GRAVITY_MPS2


@dataclass
class PlotPool:
    """Unassociated plots waiting for a partner: time (K,), sensor-table row (K,), ENU position
    (K, 3), its covariance (K, 3, 3) and the plot's sequence number in the tracker (K,)."""

    time_s: np.ndarray
    sensor_row: np.ndarray
    p: np.ndarray
    C: np.ndarray
    uid: np.ndarray

    @classmethod
    def empty(cls) -> PlotPool:
        return cls(
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, 3)),
            np.zeros((0, 3, 3)),
            np.zeros(0, dtype=np.int64),
        )

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def add(
        self,
        time_s: np.ndarray,
        sensor_row: np.ndarray,
        p: np.ndarray,
        C: np.ndarray,
        uid: np.ndarray,
    ) -> None:
        self.time_s = np.concatenate([self.time_s, time_s])
        self.sensor_row = np.concatenate([self.sensor_row, sensor_row])
        self.p = np.concatenate([self.p, p])
        self.C = np.concatenate([self.C, C])
        self.uid = np.concatenate([self.uid, uid])

    def keep(self, mask: np.ndarray) -> None:
        self.time_s = self.time_s[mask]
        self.sensor_row = self.sensor_row[mask]
        self.p = self.p[mask]
        self.C = self.C[mask]
        self.uid = self.uid[mask]


@dataclass(frozen=True)
class PairingGates:
    """Kinematic gates of a plot pair (see the module docstring)."""

    min_dt_s: float = 0.1
    max_dt_s: float = 3.0
    speed_min_mps: float = 40.0
    speed_max_mps: float = 1000.0
    max_pairs_per_plot: int = 1
    prior_speed_sigma_mps: float = 250.0


@dataclass(frozen=True)
class PlotPairs:
    """Gated pairs: pool row ``i`` (P,), new-plot row ``j`` (P,), and the pairing cost (P,)."""

    i: np.ndarray
    j: np.ndarray
    cost: np.ndarray


def _velocity(p1: np.ndarray, p2: np.ndarray, dt: np.ndarray, g: float) -> np.ndarray:
    v = (p2 - p1) / dt[:, None]
    v[:, 2] -= 0.5 * g * dt
    return v


@numba.njit(cache=True)
def _pair_costs(
    pool_t: np.ndarray, pool_p: np.ndarray, pool_C: np.ndarray, t: np.ndarray, p: np.ndarray,
    C: np.ndarray, min_dt: float, max_dt: float, speed_min: float, speed_max: float,
    prior_sigma: float, ground_height: float, g: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool row, new row and cost of every pair through the gates (module docstring), in
    row-major (pool, new) order. The cost's 3 × 3 solve and log-determinant by Cholesky."""
    K, M = pool_t.shape[0], t.shape[0]
    out_i = np.empty(K * M, np.int64)
    out_j = np.empty(K * M, np.int64)
    out_c = np.empty(K * M)
    n = 0
    S = np.empty((3, 3))
    v = np.empty(3)
    dp = np.empty(3)
    for i in range(K):
        for j in range(M):
            dt = t[j] - pool_t[i]
            if dt < min_dt or dt > max_dt:
                continue
            for a in range(3):
                dp[a] = p[j, a] - pool_p[i, a]
                v[a] = dp[a] / dt
            v[2] -= 0.5 * g * dt
            speed = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
            inv = 1.0 / max(speed, 1e-9)
            q = 0.0
            for a in range(3):
                for b in range(3):
                    S[a, b] = pool_C[i, a, b] + C[j, a, b]
                    q += v[a] * inv * S[a, b] * v[b] * inv
            slack = 3.0 * math.sqrt(q) / dt
            if speed < speed_min - slack or speed > speed_max + slack:
                continue
            z_floor = ground_height - 3.0 * math.sqrt(max(C[j, 2, 2], pool_C[i, 2, 2]))
            if pool_p[i, 2] < z_floor or p[j, 2] < z_floor:
                continue
            w = (prior_sigma * dt) ** 2
            for a in range(3):
                S[a, a] += w
            # Cholesky S = L Lᵀ (in place, lower), then d² = |L⁻¹ dp|², ln det S = 2 Σ ln L_aa
            l00 = math.sqrt(S[0, 0])
            l10 = S[1, 0] / l00
            l20 = S[2, 0] / l00
            l11 = math.sqrt(S[1, 1] - l10 * l10)
            l21 = (S[2, 1] - l20 * l10) / l11
            l22 = math.sqrt(S[2, 2] - l20 * l20 - l21 * l21)
            y0 = dp[0] / l00
            y1 = (dp[1] - l10 * y0) / l11
            y2 = (dp[2] - l20 * y0 - l21 * y1) / l22
            out_i[n], out_j[n] = i, j
            out_c[n] = y0 * y0 + y1 * y1 + y2 * y2 + 2.0 * (
                math.log(l00) + math.log(l11) + math.log(l22)
            )
            n += 1
    return out_i[:n], out_j[:n], out_c[:n]


def pair_plots(
    pool: PlotPool,
    time_s: np.ndarray,
    p: np.ndarray,
    C: np.ndarray,
    gates: PairingGates,
    *,
    ground_height_m: float = 0.0,
    g: float = STANDARD_GRAVITY_MPS2,
) -> PlotPairs:
    """Every (pooled, new) plot pair that passes the kinematic gates, at most
    ``gates.max_pairs_per_plot`` per new plot (the cheapest)."""
    none = PlotPairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(pool) == 0 or time_s.size == 0:
        return none
    i, j, cost = _pair_costs(
        np.ascontiguousarray(pool.time_s, dtype=np.float64),
        np.ascontiguousarray(pool.p, dtype=np.float64),
        np.ascontiguousarray(pool.C, dtype=np.float64),
        np.ascontiguousarray(time_s, dtype=np.float64),
        np.ascontiguousarray(p, dtype=np.float64),
        np.ascontiguousarray(C, dtype=np.float64),
        float(gates.min_dt_s), float(gates.max_dt_s), float(gates.speed_min_mps),
        float(gates.speed_max_mps), float(gates.prior_speed_sigma_mps), float(ground_height_m),
        float(g),
    )
    if i.size == 0:
        return none
    if gates.max_pairs_per_plot == 1:
        # One-to-one: the assignment of pooled to new plots with the least total cost.
        K, M = len(pool), time_s.size
        dense = np.full((K, M), np.inf)
        dense[i, j] = cost
        r, k = gnn(dense, np.isfinite(dense))
        return PlotPairs(r, k, dense[r, k])
    # Several pairs per new plot: the cheapest ones, ranked within each j.
    order = np.lexsort((cost, j))
    j_sorted = j[order]
    start = np.searchsorted(j_sorted, j_sorted, side="left")
    rank = np.arange(order.size) - start
    keep = order[rank < gates.max_pairs_per_plot]
    return PlotPairs(i[keep], j[keep], cost[keep])


def two_point_state(
    t1: np.ndarray,
    p1: np.ndarray,
    C1: np.ndarray,
    t2: np.ndarray,
    p2: np.ndarray,
    C2: np.ndarray,
    *,
    accel_sigma_mps2: float,
    dim: int = 7,
    log_drag_scale_sigma: float = 0.5,
    g: float = STANDARD_GRAVITY_MPS2,
) -> tuple[np.ndarray, np.ndarray]:
    """State (N, dim) at t₂ and its covariance from two plots (see the module docstring); for
    ``dim == 7`` the log drag scale starts at 0 with ``log_drag_scale_sigma``."""
    if dim not in (6, 7):
        raise ValueError(f"two_point_state: dim must be 6 or 7, got {dim}")
    dt = np.asarray(t2 - t1, dtype=float)
    if np.any(dt <= 0):
        raise ValueError("two_point_state: t2 must be later than t1 for every pair")
    n = dt.shape[0]
    x = np.zeros((n, dim))
    x[:, :3] = p2
    x[:, 3:6] = _velocity(p1, p2, dt, g)
    P = np.zeros((n, dim, dim))
    inv = (1.0 / dt)[:, None, None]
    P[:, :3, :3] = C2
    P[:, :3, 3:6] = C2 * inv
    P[:, 3:6, :3] = C2 * inv
    P[:, 3:6, 3:6] = (C1 + C2) * inv**2 + ((accel_sigma_mps2 * dt / 2.0) ** 2)[
        :, None, None
    ] * np.eye(3)
    if dim == 7:
        P[:, 6, 6] = log_drag_scale_sigma**2
    return x, P
