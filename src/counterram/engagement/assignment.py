"""Weapon–target assignment: which gun fires how many bursts at which threat.

Why it exists: with several guns and several threats in the air, the fire-control problem is the
static weapon–target assignment (WTA) problem — minimise the expected surviving value

    F(x) = Σ_j V_j Π_i (1 - p_ij)^{x_ij}

over non-negative integer burst counts x_ij, with each gun's capacity Σ_j x_ij ≤ c_i (bursts it
can fire inside its engagement window, bounded by its magazine) and optional per-pair limits
x_ij ≤ m_ij (bursts gun i can fire at threat j inside that pair's window). V_j is the threat's
value (expected damage if it lands), p_ij the burst kill probability of gun i against threat j
(0 where the pair is infeasible). The problem is NP-complete in general.

Solvers:

* :func:`greedy_assignment` — maximum-marginal-return greedy (den Broeder, Ellison & Emerling,
  Operations Research 7(2), 1959): repeatedly give one burst to the (gun, threat) pair with the
  largest reduction of F, V_j S_j p_ij (S_j the threat's current survival probability), until no
  capacity or no gain is left. It is optimal when the guns are identical (p_ij = p_j), and close
  to optimal otherwise (:func:`assignment_gap` measures it). Cost O(C · I · J) for C bursts,
  vectorised over the I × J gain matrix at each step.
* :func:`improve_assignment` — optional local search after the greedy (``improve=True``): apply
  the best single-burst *move* (gun i shifts a burst from threat j to k) or *swap* (guns i and i'
  exchange one burst between threats j and k) while one lowers F. All I·J² moves and I²·J² swaps
  are scored at once from leave-one-out survival products, so a pass costs a few array operations.
* :func:`exact_assignment` — exhaustive enumeration of every feasible allocation, for small
  instances and for measuring the greedy's gap. Enumeration needs no dependency and is exact;
  a MIP solver (OR-Tools) would scale further but adds a heavy dependency for a reference
  solver. The enumeration is vectorised: the survival products of all allocations are built gun
  by gun as an outer product over allocation tables.

scipy's ``linear_sum_assignment`` solves the one-to-one linear assignment problem, not this
non-linear, many-to-one objective, hence the hand-written solvers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Assignment",
    "GapReport",
    "assignment_gap",
    "exact_assignment",
    "expected_surviving_value",
    "greedy_assignment",
    "gun_capacity",
    "improve_assignment",
]

#: Refuse exhaustive enumeration above this many allocations (memory ~ count × n_threats × 8 B).
MAX_ENUMERATION = 4_000_000


@dataclass(frozen=True)
class Assignment:
    """A solution: bursts ``counts`` (I, J), each threat's ``survival`` (J,), the objective.

    ``order`` lists the (gun, threat) bursts in the order the greedy chose them (best first);
    for the exact solver it is the counts unrolled gun by gun.
    """

    counts: NDArray[np.int64]
    survival: NDArray[np.float64]
    expected_surviving_value: float
    order: tuple[tuple[int, int], ...]

    @property
    def kill_probability(self) -> NDArray[np.float64]:
        """Probability that each threat is killed by the bursts assigned to it (J,)."""
        return 1.0 - self.survival


def _validate(
    kill_prob: ArrayLike, values: ArrayLike, capacity: ArrayLike, max_per_pair: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    p = np.asarray(kill_prob, dtype=float)
    if p.ndim != 2:
        raise ValueError(f"kill_prob must be a (n_guns, n_threats) matrix; got shape {p.shape}")
    n_guns, n_threats = p.shape
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("kill_prob must hold probabilities in [0, 1]")
    v = np.asarray(values, dtype=float)
    if v.shape != (n_threats,) or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"values must be {n_threats} finite non-negative numbers; got {v}")
    c = np.broadcast_to(np.asarray(capacity), (n_guns,))
    if np.any(c < 0) or np.any(c != np.round(c)):
        raise ValueError(f"capacity must be non-negative integers, one per gun; got {c}")
    c = c.astype(np.int64)
    if max_per_pair is None:
        m = np.broadcast_to(c[:, None], p.shape).astype(np.int64)
    else:
        m = np.broadcast_to(np.asarray(max_per_pair), p.shape)
        if np.any(m < 0) or np.any(m != np.round(m)):
            raise ValueError(
                "max_per_pair must be non-negative integers of shape (n_guns, n_threats)"
            )
        m = np.minimum(m.astype(np.int64), c[:, None])
    return p, v, c, m


def expected_surviving_value(
    counts: ArrayLike, kill_prob: ArrayLike, values: ArrayLike
) -> float:
    """F(x) = Σ_j V_j Π_i (1 - p_ij)^{x_ij} for burst counts x (I, J)."""
    x = np.asarray(counts)
    p = np.asarray(kill_prob, dtype=float)
    surv = np.prod((1.0 - p) ** x, axis=0)
    return float(np.dot(np.asarray(values, dtype=float), surv))


def greedy_assignment(
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
    improve: bool = False,
) -> Assignment:
    """Maximum-marginal-return greedy (den Broeder et al. 1959).

    Args:
        kill_prob: p_ij, burst kill probability of gun i against threat j (I, J).
        values: V_j ≥ 0 (J,).
        capacity: bursts each gun can still fire, c_i (I,) or a scalar.
        max_per_pair: optional per-pair burst limits m_ij (I, J).
        improve: follow the greedy with :func:`improve_assignment` (move/swap local search).

    Ties are broken by the lowest flat index (gun-major), so the result is deterministic.
    """
    p, v, c, m = _validate(kill_prob, values, capacity, max_per_pair)
    n_guns, n_threats = p.shape
    counts = np.zeros((n_guns, n_threats), dtype=np.int64)
    surv = np.ones(n_threats)
    cap = c.copy()
    order: list[tuple[int, int]] = []
    gain = p * (v * surv)[None, :]
    gain[(m == 0) | (cap[:, None] == 0)] = -1.0
    for _ in range(int(cap.sum())):
        k = int(np.argmax(gain))
        i, j = divmod(k, n_threats)
        if gain[i, j] <= 0.0:
            break
        counts[i, j] += 1
        cap[i] -= 1
        surv[j] *= 1.0 - p[i, j]
        order.append((i, j))
        gain[:, j] = p[:, j] * v[j] * surv[j]
        gain[counts >= m] = -1.0
        if cap[i] == 0:
            gain[i, :] = -1.0
        gain[cap == 0, :] = -1.0
    result = Assignment(counts, surv, float(np.dot(v, surv)), tuple(order))
    if improve:
        result = improve_assignment(result, p, v, c, max_per_pair=m)
    return result


def _survival_parts(
    q: NDArray[np.float64], x: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Survival S_j and leave-one-out survival S_minus[i, j] (one burst of gun i removed).

    Certain kills (q = 0) are counted apart so that no division by zero occurs.
    """
    zero = q <= 0.0
    n_zero = np.sum(np.where(zero, x, 0), axis=0)  # (J,)
    prod_pos = np.prod(np.where(zero, 1.0, q) ** x, axis=0)  # (J,)
    surv = np.where(n_zero == 0, prod_pos, 0.0)
    minus_pos = prod_pos[None, :] / np.where(zero, 1.0, q)
    s_minus = np.where(n_zero[None, :] - zero.astype(np.int64) == 0, minus_pos, 0.0)
    return surv, s_minus


def improve_assignment(
    assignment: Assignment,
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
    max_passes: int = 1000,
) -> Assignment:
    """Best-improvement local search over single-burst moves and two-gun swaps.

    Each pass scores every move (gun i: one burst j → k) and every swap (gun i: j → k together
    with gun i': k → j) and applies the best one that lowers F by more than 1e-12 relative; it
    stops at a local optimum (or after ``max_passes``). The result is never worse than the input.
    """
    p, v, _, m = _validate(kill_prob, values, capacity, max_per_pair)
    x = np.asarray(assignment.counts, dtype=np.int64).copy()
    if x.shape != p.shape:
        raise ValueError(f"assignment.counts has shape {x.shape}, expected {p.shape}")
    q = 1.0 - p
    n_guns, n_threats = p.shape
    order = list(assignment.order)
    diff_jk = ~np.eye(n_threats, dtype=bool)
    diff_ii = ~np.eye(n_guns, dtype=bool)
    for _ in range(max_passes):
        surv, s_minus = _survival_parts(q, x)
        f = float(v @ surv)
        has = x >= 1  # (I, J)
        room = x < m  # (I, J)
        # moves: gun i, burst j -> k; Δ = V_j (S⁻_ij - S_j) - V_k S_k p_ik
        d_move = (v * (s_minus - surv))[:, :, None] - (v * surv)[None, None, :] * p[:, None, :]
        ok_move = has[:, :, None] & room[:, None, :] & diff_jk[None, :, :]
        d_move = np.where(ok_move, d_move, np.inf)
        # swaps: gun i j -> k, gun i2 k -> j; axes (i, i2, j, k)
        new_j = s_minus[:, None, :, None] * q[None, :, :, None]  # S⁻_ij q_i2j
        new_k = s_minus[None, :, None, :] * q[:, None, None, :]  # S⁻_i2k q_ik
        d_swap = v[None, None, :, None] * (new_j - surv[None, None, :, None]) + v[
            None, None, None, :
        ] * (new_k - surv[None, None, None, :])
        ok_swap = (
            has[:, None, :, None]
            & has[None, :, None, :]
            & room[:, None, None, :]
            & room[None, :, :, None]
            & diff_ii[:, :, None, None]
            & diff_jk[None, None, :, :]
        )
        d_swap = np.where(ok_swap, d_swap, np.inf)
        best_move = float(d_move.min()) if d_move.size else np.inf
        best_swap = float(d_swap.min()) if d_swap.size else np.inf
        threshold = -1e-12 * max(f, 1e-300)
        if min(best_move, best_swap) >= threshold:
            break
        if best_move <= best_swap:
            i, j, k = np.unravel_index(int(np.argmin(d_move)), d_move.shape)
            x[i, j] -= 1
            x[i, k] += 1
        else:
            i, i2, j, k = np.unravel_index(int(np.argmin(d_swap)), d_swap.shape)
            x[i, j] -= 1
            x[i, k] += 1
            x[i2, k] -= 1
            x[i2, j] += 1
        order = []
    surv, _ = _survival_parts(q, x)
    if not order:
        order = [
            (i, j) for i in range(n_guns) for j in range(n_threats) for _ in range(x[i, j])
        ]
    return Assignment(x, surv, float(v @ surv), tuple(order))


def _count_allocations(capacity: int, limits: NDArray[np.int64]) -> int:
    """Number of vectors with 0 ≤ a_j ≤ limits_j and Σ a_j ≤ capacity (polynomial DP)."""
    ways = np.zeros(capacity + 1, dtype=float)
    ways[0] = 1.0
    for lim in limits:
        nxt = np.zeros_like(ways)
        for a in range(min(int(lim), capacity) + 1):
            nxt[a:] += ways[: capacity + 1 - a]
        ways = nxt
    return int(ways.sum())


def _allocations(capacity: int, limits: NDArray[np.int64]) -> NDArray[np.int64]:
    """Every vector a with 0 ≤ a_j ≤ limits_j and Σ a_j ≤ capacity, as rows (K, J)."""
    rows = np.zeros((1, 0), dtype=np.int64)
    for lim in limits:
        used = rows.sum(axis=1)
        parts = [
            np.column_stack([rows[used + a <= capacity], np.full(np.sum(used + a <= capacity), a)])
            for a in range(int(lim) + 1)
        ]
        rows = np.concatenate(parts).astype(np.int64)
    return rows


def exact_assignment(
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
    max_enumeration: int = MAX_ENUMERATION,
) -> Assignment:
    """Optimal assignment by exhaustive enumeration (small instances only).

    Raises ValueError when the number of allocations exceeds ``max_enumeration``. Since
    (1 - p) ≤ 1, allocations that leave capacity unused are never better than filling it, but
    they are enumerated anyway so that per-pair limits and p = 0 pairs are handled uniformly.
    """
    p, v, c, m = _validate(kill_prob, values, capacity, max_per_pair)
    n_guns, n_threats = p.shape
    total = int(np.prod([float(_count_allocations(int(c[i]), m[i])) for i in range(n_guns)]))
    if total > max_enumeration:
        raise ValueError(
            f"exact_assignment would enumerate {total} allocations (> max_enumeration="
            f"{max_enumeration}); use greedy_assignment for instances this large"
        )
    tables = [_allocations(int(c[i]), m[i]) for i in range(n_guns)]
    q = 1.0 - p
    surv = np.ones((1, n_threats))
    index = np.zeros((1, 0), dtype=np.int64)
    for i, table in enumerate(tables):
        factor = q[i][None, :] ** table  # (K_i, J); 0**0 = 1
        surv = (surv[:, None, :] * factor[None, :, :]).reshape(-1, n_threats)
        k_prev, k_i = index.shape[0], table.shape[0]
        index = np.concatenate(
            [np.repeat(index, k_i, axis=0), np.tile(np.arange(k_i), k_prev)[:, None]], axis=1
        )
    objective = surv @ v
    best = int(np.argmin(objective))
    counts = np.stack([tables[i][index[best, i]] for i in range(n_guns)]) if n_guns else (
        np.zeros((0, n_threats), dtype=np.int64)
    )
    order = tuple(
        (i, j) for i in range(n_guns) for j in range(n_threats) for _ in range(counts[i, j])
    )
    return Assignment(counts, surv[best].copy(), float(objective[best]), order)


@dataclass(frozen=True)
class GapReport:
    """Greedy vs exact objective on one instance; ``gap`` = (F_greedy - F_opt) / F_opt ≥ 0."""

    greedy: float
    exact: float
    gap: float


def assignment_gap(
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
) -> GapReport:
    """Relative optimality gap of the greedy on one instance (0 when both objectives are 0)."""
    g = greedy_assignment(kill_prob, values, capacity, max_per_pair=max_per_pair)
    e = exact_assignment(kill_prob, values, capacity, max_per_pair=max_per_pair)
    fg, fe = g.expected_surviving_value, e.expected_surviving_value
    gap = (fg - fe) / fe if fe > 0 else (0.0 if fg <= 1e-15 else float("inf"))
    return GapReport(fg, fe, gap)


def gun_capacity(
    window_s: ArrayLike,
    burst_s: ArrayLike,
    retarget_s: ArrayLike,
    magazine_rounds: ArrayLike,
    rounds_per_burst: ArrayLike,
) -> NDArray[np.int64]:
    """Bursts a gun can fire: min(bursts fitting in the window, bursts left in the magazine).

    The first burst needs ``burst_s``; every further one ``burst_s + retarget_s`` (re-lay and
    re-acquire). A window shorter than one burst gives 0.
    """
    w = np.asarray(window_s, dtype=float)
    b = np.asarray(burst_s, dtype=float)
    r = np.asarray(retarget_s, dtype=float)
    if np.any(b <= 0) or np.any(r < 0):
        raise ValueError("burst_s must be > 0 and retarget_s >= 0")
    n_rounds = np.asarray(rounds_per_burst)
    if np.any(n_rounds <= 0):
        raise ValueError("rounds_per_burst must be > 0")
    in_window = np.where(w >= b, np.floor((w - b) / (b + r) + 1e-9) + 1, 0).astype(np.int64)
    in_magazine = np.floor_divide(np.asarray(magazine_rounds), n_rounds).astype(np.int64)
    return np.maximum(np.minimum(in_window, in_magazine), 0)
