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
"""

from __future__ import annotations

from dataclasses import dataclass

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
    ``gates.max_pairs_per_plot`` per new plot (the cheapest), vectorised over all pairs."""
    none = PlotPairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(pool) == 0 or time_s.size == 0:
        return none
    dt_all = time_s[None, :] - pool.time_s[:, None]
    i, j = np.nonzero((dt_all >= gates.min_dt_s) & (dt_all <= gates.max_dt_s))
    if i.size == 0:
        return none
    dt = dt_all[i, j]
    p1, p2 = pool.p[i], p[j]
    C12 = pool.C[i] + C[j]
    v = _velocity(p1, p2, dt, g)
    speed = np.linalg.norm(v, axis=1)
    u = v / np.maximum(speed, 1e-9)[:, None]
    speed_sigma = np.sqrt(np.einsum("ni,nij,nj->n", u, C12, u)) / dt
    slack = 3.0 * speed_sigma
    ok = (speed >= gates.speed_min_mps - slack) & (speed <= gates.speed_max_mps + slack)
    z_floor = ground_height_m - 3.0 * np.sqrt(np.maximum(C[j, 2, 2], pool.C[i, 2, 2]))
    ok &= (p1[:, 2] >= z_floor) & (p2[:, 2] >= z_floor)
    i, j, dt, C12 = i[ok], j[ok], dt[ok], C12[ok]
    if i.size == 0:
        return none
    dp = p[j] - pool.p[i]
    S = C12 + ((gates.prior_speed_sigma_mps * dt) ** 2)[:, None, None] * np.eye(3)
    d2 = np.einsum("ni,ni->n", dp, np.linalg.solve(S, dp[..., None])[..., 0])
    cost = d2 + np.linalg.slogdet(S)[1]
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
