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
  capacity or no gain is left. It is optimal when the guns are identical (p_ij = p_j), and a few
  per cent off otherwise (:func:`assignment_gap` measures it). A burst changes only its threat's
  column of the gain matrix, so the compiled loop keeps each column's best gain and gun and
  recomputes just that column (and, when a gun runs dry, the columns it led): O(I + J) per burst
  instead of a pass over the I × J matrix.
* :func:`improve_assignment` — local search after the greedy (``improve=True``), in O(I·J)
  memory. Scoring every single-burst move and every two-gun swap at once needs I·J² and I²·J²
  tables (one I²·J² float array is 3.2 GB at 100 guns × 200 threats, the peak about twice
  that). They are not needed: a move's change of F is a
  removal term of (i, j) plus an insertion term of (i, k), and a swap's is a term of (i, i2, j)
  plus one of (i, i2, k), so the best one follows from the best and second-best term per gun or
  gun pair. The search goes further than moves and swaps, because those alone leave mean gaps
  of up to ~2 % on small random instances (benchmarks/bench_assignment.py):

  - *gun best response*: one gun's whole allocation re-optimised with the others fixed. F is
    then separable and convex in that gun's counts, so a one-gun greedy is exact; it contains
    every single-burst move.
  - *gun-pair re-optimisation*: two guns' allocations re-optimised jointly, exactly, by dynamic
    programming over (bursts used by one gun, by the other) along a short list of candidate
    threats (their current targets and each gun's c_i + c_i' best others: an optimum needs no
    other threat). It contains every two-gun swap. Pairs with more than ``PAIR_STATES`` DP states
    get the best two-burst exchange instead. Two screens skip most pairs without losing an
    improving step at convergence: candidate sets that do not meet (nothing to trade while both
    guns are at their best responses), and a sub-additivity bound on the possible gain.
  - *kicks*: empty one gun, forbid it its targets, let the others re-route, lift the ban,
    search again; keep the result only if F fell. This reaches re-assignments that cycle over
    three or more guns, which no one- or two-gun step can. One round kicks every gun once.

  Each gun keeps a short cached ranking of its best threats (rebuilt only when a change can
  alter it), and a gun or pair is re-examined only when something it depends on changed, so a
  sweep costs far less than its I²/2 pairs suggest. Working arrays: a handful of I × J arrays
  (survival without each gun, counts, limits, the kept solution, ranking membership) plus
  O(I·c) and O(c · ``PAIR_STATES``) ones; nothing I × J × J. Every step must lower F by more
  than 1e-12 relative, so the result is never worse than the start (the greedy).
* :func:`exact_assignment` — exhaustive enumeration of every feasible allocation, for small
  instances. Exact and dependency-free; vectorised: the survival products of all allocations
  are built gun by gun as an outer product over allocation tables.
* :func:`milp_assignment` — exact optimum of a pattern MILP solved by HiGHS
  (:func:`scipy.optimize.milp`): one binary per threat and allocation pattern (bursts from each
  gun), with the pattern's exact cost V_j Π_i q_ij^{a_i}, so the linear objective is the true F
  at every integer point; not a bound. Its size grows like Π_i (m_ij + 1) per threat instead of
  over the whole assignment, so it reaches well past enumeration (e.g. 8 guns × 15 threats × 2
  bursts in ~2 s), which is what the gap measurements need.

The compiled kernels (numba, cached on disk) allocate nothing: all working memory is made by
numpy in the Python wrappers, where it is visible to ``tracemalloc``.

scipy's ``linear_sum_assignment`` solves the one-to-one linear assignment problem, not this
non-linear, many-to-one objective, hence the hand-written solvers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = [
    "Assignment",
    "GapReport",
    "assignment_gap",
    "exact_assignment",
    "expected_surviving_value",
    "greedy_assignment",
    "gun_capacity",
    "improve_assignment",
    "milp_assignment",
]

#: Refuse exhaustive enumeration above this many allocations (memory ~ count × n_threats × 8 B).
MAX_ENUMERATION = 4_000_000

#: Refuse the pattern MILP above this many pattern columns (binaries).
MAX_MILP_COLUMNS = 200_000

#: A local-search step must lower F by more than this fraction of F (round-off guard).
_REL_TOL = 1e-12

#: Gun pairs are re-optimised jointly (DP) when (c_i + 1)(c_i' + 1) is at most this; larger
#: pairs get the two-burst exchange. The DP costs ~ 3 (c_i + c_i') · states² per pair.
PAIR_STATES = 36

#: Rounds of gun-clearing kicks after the first local optimum (0: plain local search).
KICK_ROUNDS = 1


@dataclass(frozen=True)
class Assignment:
    """A solution: bursts ``counts`` (I, J), each threat's ``survival`` (J,), the objective.

    ``order`` lists the (gun, threat) bursts in the order the greedy chose them (best first);
    for the exact solvers, and after a local search that changed the greedy's answer, it is the
    counts unrolled gun by gun.
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


@nb.njit(cache=True)
def _greedy_column(p, v, m, cap, counts, surv, col_best, col_arg, j):
    """Best gain p_ij V_j S_j over the guns that can still fire at threat j (lowest i on ties)."""
    best = -1.0
    arg = -1
    vs = v[j] * surv[j]
    for i in range(p.shape[0]):
        if cap[i] > 0 and counts[i, j] < m[i, j]:
            g = p[i, j] * vs
            if g > best:
                best = g
                arg = i
    col_best[j] = best
    col_arg[j] = arg


@nb.njit(cache=True)
def _greedy_kernel(p, v, m, cap, counts, surv, col_best, col_arg, order):
    """MMR greedy in place; returns the number of bursts written to ``order`` (n, 2).

    Only the chosen threat's column changes after a burst (its survival drops), so only that
    column's best gain is recomputed; when a gun runs dry, only the columns whose best gun it was.
    Each step is then O(I + J) instead of a scan of the whole I × J gain matrix.
    """
    n_threats = p.shape[1]
    for j in range(n_threats):
        surv[j] = 1.0
        _greedy_column(p, v, m, cap, counts, surv, col_best, col_arg, j)
    n = 0
    for _ in range(order.shape[0]):
        bj = -1
        bval = 0.0
        bflat = 0
        for j in range(n_threats):
            g = col_best[j]
            if g > bval:
                bval = g
                bj = j
                bflat = col_arg[j] * n_threats + j
            elif g == bval and bj >= 0 and col_arg[j] * n_threats + j < bflat:
                bj = j
                bflat = col_arg[j] * n_threats + j
        if bj < 0:
            break
        i = col_arg[bj]
        counts[i, bj] += 1
        cap[i] -= 1
        surv[bj] *= 1.0 - p[i, bj]
        order[n, 0] = i
        order[n, 1] = bj
        n += 1
        _greedy_column(p, v, m, cap, counts, surv, col_best, col_arg, bj)
        if cap[i] == 0:
            for j in range(n_threats):
                if col_arg[j] == i:
                    _greedy_column(p, v, m, cap, counts, surv, col_best, col_arg, j)
    return n


def greedy_assignment(
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
    improve: bool = False,
    max_passes: int = 1000,
    kick_rounds: int = KICK_ROUNDS,
) -> Assignment:
    """Maximum-marginal-return greedy (den Broeder et al. 1959).

    Args:
        kill_prob: p_ij, burst kill probability of gun i against threat j (I, J).
        values: V_j ≥ 0 (J,).
        capacity: bursts each gun can still fire, c_i (I,) or a scalar.
        max_per_pair: optional per-pair burst limits m_ij (I, J).
        improve: follow the greedy with :func:`improve_assignment` (local search).
        max_passes: sweep limit of each local search (only with ``improve=True``).
        kick_rounds: rounds of kicks after the first local optimum (only with
            ``improve=True``; 0 for the plain local search).

    Ties are broken by the lowest flat index (gun-major), so the result is deterministic.
    """
    p, v, c, m = _validate(kill_prob, values, capacity, max_per_pair)
    n_guns, n_threats = p.shape
    p, v, m = np.ascontiguousarray(p), np.ascontiguousarray(v), np.ascontiguousarray(m)
    counts = np.zeros((n_guns, n_threats), dtype=np.int64)
    surv = np.ones(n_threats)
    cap = c.copy()
    n_max = int(min(int(cap.sum()), int(m.sum())))
    order_arr = np.zeros((n_max, 2), dtype=np.int64)
    col_best = np.empty(n_threats)
    col_arg = np.empty(n_threats, dtype=np.int64)
    n = _greedy_kernel(p, v, m, cap, counts, surv, col_best, col_arg, order_arr)
    order = tuple((int(i), int(j)) for i, j in order_arr[:n])
    result = Assignment(counts, surv, float(np.dot(v, surv)), order)
    if improve:
        result = _improve(result, p, v, c, m, max_passes, kick_rounds)
    return result


@nb.njit(cache=True)
def _powi(q, n):
    """q**n for a small burst count n, by multiplication (exact 1 for n = 0, also when q = 0)."""
    r = 1.0
    for _ in range(n):
        r *= q
    return r


@nb.njit(cache=True)
def _insert(val, j, top_v, top_j, n, k_max):
    """Insert (val, j) into the descending list top_v[:n] kept at most k_max long; new length.

    Equal values keep their arrival order (lowest threat first), so ties break deterministically.
    """
    if n == k_max and val <= top_v[n - 1]:
        return n
    t = n if n < k_max else k_max - 1
    while t > 0 and top_v[t - 1] < val:
        top_v[t] = top_v[t - 1]
        top_j[t] = top_j[t - 1]
        t -= 1
    top_v[t] = val
    top_j[t] = j
    return n + 1 if n < k_max else n


@nb.njit(cache=True)
def _rebuild_top(g, p, v, limit, surv, top_j, top_g, top_n, in_top, stale):
    """Gun g's L best threats by first-burst gain V_j S_j p_gj (the ranking the searches use)."""
    for t in range(top_n[g]):
        in_top[g, top_j[g, t]] = 0
    n = 0
    width = top_j.shape[1]
    for j in range(p.shape[1]):
        if limit[g, j] > 0:
            h = v[j] * surv[j] * p[g, j]
            if h > 0.0:
                n = _insert(h, j, top_g[g], top_j[g], n, width)
    for t in range(n):
        in_top[g, top_j[g, t]] = 1
    top_n[g] = n
    stale[g] = 0


@nb.njit(cache=True)
def _column_changed(j, p, q, v, x, limit, surv, without, scratch, top_g, top_n, in_top, stale,
                    touched):
    """Recompute column j (S_j and W_ij = survival without gun i, for every i) after a change.

    Prefix and suffix products: no division, so certain kills (q = 0) need no special case and
    no round-off accumulates over many updates. A gun's cached ranking becomes stale when j is
    in it or when j's new gain would enter it; such a gun, and any gun firing at j, is marked
    touched (its best response and its pairs must be looked at again).
    """
    n_guns = q.shape[0]
    acc = 1.0
    for i in range(n_guns):
        scratch[i] = acc
        acc *= _powi(q[i, j], x[i, j])
    surv[j] = acc
    acc = 1.0
    for i in range(n_guns - 1, -1, -1):
        without[i, j] = scratch[i] * acc
        acc *= _powi(q[i, j], x[i, j])
    width = top_g.shape[1]
    for g in range(n_guns):
        if x[g, j] > 0:
            touched[1, g] = 1
        if stale[g]:
            touched[1, g] = 1
            continue
        if in_top[g, j]:
            stale[g] = 1
            touched[1, g] = 1
        elif limit[g, j] > 0:
            h = v[j] * surv[j] * p[g, j]
            if h > 0.0 and (top_n[g] < width or h > top_g[g, width - 1]):
                stale[g] = 1
                touched[1, g] = 1


@nb.njit(cache=True)
def _refresh_support(x, i, support, n_support):
    k = 0
    for j in range(x.shape[1]):
        if x[i, j] > 0:
            support[i, k] = j
            k += 1
    n_support[i] = k


@nb.njit(cache=True)
def _objective(v, surv):
    f = 0.0
    for j in range(v.shape[0]):
        f += v[j] * surv[j]
    return f


@nb.njit(cache=True)
def _best_response(i, p, q, v, limit, c, x, surv, without, support, n_support, top_j, top_n,
                   cand, alloc, gain):
    """Gun i's optimal allocation with the other guns fixed; returns (ΔF, candidates).

    With the others fixed, F = Σ_j V_j W_ij q_ij^{y_j} + const is separable and convex in gun
    i's counts y, so the marginal-return greedy over gun i's bursts alone is optimal for it. It
    never needs a threat outside gun i's current targets and its c_i best other threats by
    first-burst gain: any target outside them can be swapped for an unused one inside them at
    no loss. The new allocation of ``cand[:n]`` is left in ``alloc[:n]``.
    """
    n = 0
    for t in range(n_support[i]):
        cand[n] = support[i, t]
        n += 1
    taken = 0
    for t in range(top_n[i]):
        if taken == c[i]:
            break
        j = top_j[i, t]
        if x[i, j] == 0:
            cand[n] = j
            n += 1
            taken += 1
    for t in range(n):
        j = cand[t]
        alloc[t] = 0
        gain[t] = v[j] * without[i, j] * p[i, j] if limit[i, j] > 0 else -1.0
    for _ in range(c[i]):
        best = 0.0
        bt = -1
        for t in range(n):
            if gain[t] > best:
                best = gain[t]
                bt = t
        if bt < 0:
            break
        j = cand[bt]
        alloc[bt] += 1
        gain[bt] = gain[bt] * q[i, j] if alloc[bt] < limit[i, j] else -1.0
    delta = 0.0
    for t in range(n):
        j = cand[t]
        if alloc[t] != x[i, j]:
            delta += v[j] * without[i, j] * (_powi(q[i, j], alloc[t]) - _powi(q[i, j], x[i, j]))
    return delta, n


@nb.njit(cache=True)
def _best_swap(i, i2, q, v, limit, x, surv, without, support, n_support):
    """Best exchange between guns i and i2: i shifts a burst j → k while i2 shifts k → j.

    Δ(j, k) = a_j + b_k for j ≠ k, with a_j = V_j (S⁻_ij q_i2j − S_j) (column j loses a burst
    of i and gains one of i2; S⁻ is the survival with that one burst removed) and
    b_k = V_k (S⁻_i2k q_ik − S_k). The best pair then follows from the best and second-best b
    over gun i2's targets: O(c_i + c_i2) work, no J × J table. Returns (Δ, j, k); Δ = +inf when
    no exchange is feasible.
    """
    b1 = np.inf
    b2 = np.inf
    k1 = -1
    k2 = -1
    for t in range(n_support[i2]):
        k = support[i2, t]
        if x[i, k] >= limit[i, k]:
            continue
        s_minus = without[i2, k] * _powi(q[i2, k], x[i2, k] - 1)
        b = v[k] * (s_minus * q[i, k] - surv[k])
        if b < b1:
            b2 = b1
            k2 = k1
            b1 = b
            k1 = k
        elif b < b2:
            b2 = b
            k2 = k
    best = np.inf
    bj = -1
    bk = -1
    for t in range(n_support[i]):
        j = support[i, t]
        if x[i2, j] >= limit[i2, j]:
            continue
        kk = k1 if j != k1 else k2
        if kk < 0:
            continue
        s_minus = without[i, j] * _powi(q[i, j], x[i, j] - 1)
        d = v[j] * (s_minus * q[i2, j] - surv[j]) + (b1 if j != k1 else b2)
        if d < best:
            best = d
            bj = j
            bk = kk
    return best, bj, bk


@nb.njit(cache=True)
def _pair_candidates(i, i2, p, q, v, limit, c, x, surv, without, support, n_support, top_j,
                     top_g, top_n, mark, own, stamp, cand, base, sel_v, sel_j):
    """Threats the joint re-optimisation of guns i and i2 must consider; returns (n, overlap).

    ``cand[:n]`` gets both guns' current targets and, for each gun g, T_g: its K = c_i + c_i2
    best threats by first-burst gain V_j W_j p_gj, W_j the survival without both guns (= S_j off
    their targets, so the cached ranking serves). ``base[:n]`` gets V_j W_j. ``overlap`` is
    False when (targets ∪ T) of one gun and of the other are disjoint: then, if both guns are
    at their best responses, no joint change can lower F and the DP can be skipped.
    """
    n_guns = p.shape[0]
    n = 0
    for g, bit in ((i, 1), (i2, 2)):
        for t in range(n_support[g]):
            j = support[g, t]
            if mark[j] != stamp:
                mark[j] = stamp
                own[j] = 0
                cand[n] = j
                if x[i, j] > 0 and x[i2, j] > 0:
                    w = v[j]
                    for h in range(n_guns):
                        if h != i and h != i2:
                            w *= _powi(q[h, j], x[h, j])
                else:
                    w = v[j] * without[g, j]
                base[n] = w
                n += 1
            own[j] |= bit
    n_targets = n
    k_max = c[i] + c[i2]
    for g, bit in ((i, 1), (i2, 2)):
        k = 0
        for t in range(n_targets):
            j = cand[t]
            if limit[g, j] > 0 and p[g, j] > 0.0:
                k = _insert(base[t] * p[g, j], j, sel_v, sel_j, k, k_max)
        taken = 0
        for t in range(top_n[g]):
            if taken == k_max:
                break
            j = top_j[g, t]
            if x[i, j] == 0 and x[i2, j] == 0:
                k = _insert(top_g[g, t], j, sel_v, sel_j, k, k_max)
                taken += 1
        for t in range(k):
            j = sel_j[t]
            if mark[j] != stamp:
                mark[j] = stamp
                own[j] = 0
                cand[n] = j
                base[n] = v[j] * surv[j]
                n += 1
            own[j] |= bit
    overlap = False
    for t in range(n):
        if own[cand[t]] == 3:
            overlap = True
            break
    return n, overlap


@nb.njit(cache=True)
def _pair_bound(i, i2, p, q, limit, c, x, cand, base, n, alloc, gain):
    """Upper bound on what re-optimising guns i and i2 jointly can gain (ΔF ≥ −bound).

    Kill probabilities combine sub-additively, 1 − q^y q'^z ≤ (1 − q^y) + (1 − q'^z), so the
    pair can remove at most what each gun alone could remove from the survival W (both guns
    taken out): R_i* + R_i2*, each a single-gun greedy over the candidates. The bound minus
    what the pair removes now caps the gain; when it is below the tolerance the DP is skipped.
    """
    removed = 0.0
    for t in range(n):
        j = cand[t]
        removed += base[t] * (1.0 - _powi(q[i, j], x[i, j]) * _powi(q[i2, j], x[i2, j]))
    bound = -removed
    for g in (i, i2):
        for t in range(n):
            j = cand[t]
            alloc[t] = 0
            gain[t] = base[t] * p[g, j] if limit[g, j] > 0 else -1.0
        for _ in range(c[g]):
            best = 0.0
            bt = -1
            for t in range(n):
                if gain[t] > best:
                    best = gain[t]
                    bt = t
            if bt < 0:
                break
            bound += best
            alloc[bt] += 1
            gain[bt] = gain[bt] * q[g, cand[bt]] if alloc[bt] < limit[g, cand[bt]] else -1.0
    return bound


@nb.njit(cache=True)
def _pair_response(i, i2, q, limit, c, x, cand, base, n, dp, dp_next, back):
    """Jointly optimal allocations of guns i and i2 with all other guns fixed; returns ΔF.

    With the others fixed the pair's problem is a two-capacity knapsack over threats with cost
    V_j W_j q_ij^y q_i2j^z, solved exactly by dynamic programming over the states (bursts used
    by i, bursts used by i2) along the candidate threats (see :func:`_pair_candidates`; an
    optimum needs no other threat, since a target outside a gun's top K can be replaced by an
    unused one inside it at no loss). The chosen (y, z) code of ``cand[t]`` is left in
    ``back[t, 0]`` for the caller to apply.
    """
    c1 = c[i]
    c2 = c[i2]
    width = c2 + 1
    n_states = (c1 + 1) * width
    current = 0.0
    for t in range(n):
        j = cand[t]
        current += base[t] * _powi(q[i, j], x[i, j]) * _powi(q[i2, j], x[i2, j])
    for s in range(n_states):
        dp[s] = np.inf
    dp[0] = 0.0
    for t in range(n):
        j = cand[t]
        for s in range(n_states):
            dp_next[s] = np.inf
        y_max = min(limit[i, j], c1)
        z_max = min(limit[i2, j], c2)
        for s in range(n_states):
            here = dp[s]
            if here == np.inf:
                continue
            a = s // width
            b = s - a * width
            qy = base[t]
            for y in range(min(y_max, c1 - a) + 1):
                val = qy
                for z in range(min(z_max, c2 - b) + 1):
                    s2 = (a + y) * width + b + z
                    tot = here + val
                    if tot < dp_next[s2]:
                        dp_next[s2] = tot
                        back[t, s2] = y * width + z
                    val *= q[i2, j]
                qy *= q[i, j]
        for s in range(n_states):
            dp[s] = dp_next[s]
    best = np.inf
    best_s = 0
    for s in range(n_states):
        if dp[s] < best:
            best = dp[s]
            best_s = s
    s = best_s
    for t in range(n - 1, -1, -1):
        code = back[t, s]
        back[t, 0] = code
        y = code // width
        s -= y * width + (code - y * width)
    return best - current


@nb.njit(cache=True)
def _local_search(p, q, v, limit, c, x, surv, without, scratch, support, n_support, top_j,
                  top_g, top_n, in_top, stale, touched, mark, own, cand, base, alloc, gain, sel_v,
                  sel_j, dp, dp_next, back, stamp, pair_states, dp_gun, max_passes,
                  rel_tol):
    """Sweeps of gun best responses and gun-pair re-optimisations until none lowers F.

    Pairs with more than ``pair_states`` DP states ((c_i + 1)(c_i2 + 1)) get the two-burst
    exchange instead, and so do, when ``dp_gun`` ≥ 0, all pairs without gun ``dp_gun`` (the
    cheaper search that follows a kick). Every step applied lowers F by more than
    ``rel_tol`` · F. A gun, or a pair, is looked at only if one of its guns was touched (see
    :func:`_column_changed`) in this sweep or the previous one: otherwise nothing it depends on
    changed since it was last found unable to improve. A sweep without any step ends the
    search; in it every gun is at its best response, which makes the skips of
    :func:`_pair_candidates` exact, so the result is a local optimum of both neighbourhoods.
    Returns the mark stamp in use.
    """
    n_guns = p.shape[0]
    for _ in range(max_passes):
        improved = False
        f = _objective(v, surv)  # F only falls during a sweep: a slightly looser tolerance
        for i in range(n_guns):
            if not (touched[0, i] or touched[1, i]):
                continue
            if stale[i]:
                _rebuild_top(i, p, v, limit, surv, top_j, top_g, top_n, in_top, stale)
            delta, n = _best_response(i, p, q, v, limit, c, x, surv, without, support,
                                      n_support, top_j, top_n, cand, alloc, gain)
            if delta < -rel_tol * f:
                for t in range(n):
                    j = cand[t]
                    if alloc[t] != x[i, j]:
                        x[i, j] = alloc[t]
                        _column_changed(j, p, q, v, x, limit, surv, without, scratch, top_g,
                                        top_n, in_top, stale, touched)
                _refresh_support(x, i, support, n_support)
                touched[1, i] = 1
                improved = True
        for i in range(n_guns):
            for i2 in range(i + 1, n_guns):
                if not (touched[0, i] or touched[1, i] or touched[0, i2] or touched[1, i2]):
                    continue
                if (c[i] + 1) * (c[i2] + 1) <= pair_states and (
                    dp_gun < 0 or i == dp_gun or i2 == dp_gun
                ):
                    if stale[i]:
                        _rebuild_top(i, p, v, limit, surv, top_j, top_g, top_n, in_top, stale)
                    if stale[i2]:
                        _rebuild_top(i2, p, v, limit, surv, top_j, top_g, top_n, in_top, stale)
                    stamp += 1
                    n, overlap = _pair_candidates(i, i2, p, q, v, limit, c, x, surv, without,
                                                  support, n_support, top_j, top_g, top_n, mark,
                                                  own, stamp, cand, base, sel_v, sel_j)
                    if not overlap or _pair_bound(i, i2, p, q, limit, c, x, cand, base, n, alloc,
                                                  gain) <= rel_tol * f:
                        continue
                    d = _pair_response(i, i2, q, limit, c, x, cand, base, n, dp, dp_next, back)
                    if d < -rel_tol * f:
                        width = c[i2] + 1
                        for t in range(n):
                            j = cand[t]
                            y = back[t, 0] // width
                            z = back[t, 0] - y * width
                            if x[i, j] != y or x[i2, j] != z:
                                x[i, j] = y
                                x[i2, j] = z
                                _column_changed(j, p, q, v, x, limit, surv, without, scratch,
                                                top_g, top_n, in_top, stale, touched)
                        _refresh_support(x, i, support, n_support)
                        _refresh_support(x, i2, support, n_support)
                        touched[1, i] = 1
                        touched[1, i2] = 1
                        improved = True
                    continue
                d, j, k = _best_swap(i, i2, q, v, limit, x, surv, without, support, n_support)
                if d < -rel_tol * f and j >= 0 and k >= 0:
                    x[i, j] -= 1
                    x[i, k] += 1
                    x[i2, k] -= 1
                    x[i2, j] += 1
                    _column_changed(j, p, q, v, x, limit, surv, without, scratch, top_g, top_n,
                                    in_top, stale, touched)
                    _column_changed(k, p, q, v, x, limit, surv, without, scratch, top_g, top_n,
                                    in_top, stale, touched)
                    _refresh_support(x, i, support, n_support)
                    _refresh_support(x, i2, support, n_support)
                    touched[1, i] = 1
                    touched[1, i2] = 1
                    improved = True
        for i in range(n_guns):
            touched[0, i] = touched[1, i]
            touched[1, i] = 0
        if not improved:
            break
    return stamp


@nb.njit(cache=True)
def _search(p, q, v, limit, c, x, surv, without, scratch, support, n_support, top_j, top_g,
            top_n, in_top, stale, touched, mark, own, cand, base, alloc, gain, sel_v, sel_j, dp,
            dp_next, back, kept, freed, pair_states, max_passes, kick_rounds,
            rel_tol):
    """Local search, then rounds of gun-clearing kicks, each followed by the local search again.

    A kick empties one gun and forbids it its current targets, lets the search re-route the
    other guns around that, then lifts the ban and searches again; the outcome is kept only if
    F dropped by more than ``rel_tol`` · F, otherwise the previous solution is restored. This
    escapes local optima that need a cyclic re-assignment over three or more guns, which no
    one- or two-gun step reaches. To keep a kick cheap, its searches run the pair DP only on
    pairs with the kicked gun (two-burst exchanges elsewhere); if any kick was kept, a full
    search follows. Rounds stop after ``kick_rounds`` or one without a gain. ``x`` holds the
    result.
    """
    n_guns, n_threats = p.shape
    for j in range(n_threats):
        _column_changed(j, p, q, v, x, limit, surv, without, scratch, top_g, top_n, in_top,
                        stale, touched)
        mark[j] = -1
    for i in range(n_guns):
        stale[i] = 1
        touched[0, i] = 1
        touched[1, i] = 1
        _refresh_support(x, i, support, n_support)
    stamp = _local_search(p, q, v, limit, c, x, surv, without, scratch, support, n_support,
                          top_j, top_g, top_n, in_top, stale, touched, mark, own, cand, base,
                          alloc, gain, sel_v, sel_j, dp, dp_next, back, 0, pair_states, -1,
                          max_passes, rel_tol)
    for i in range(n_guns):
        for j in range(n_threats):
            kept[i, j] = x[i, j]
    kicked = False
    for _ in range(kick_rounds):
        gained = False
        for i in range(n_guns):
            n_freed = n_support[i]
            if n_freed == 0:
                continue
            f0 = _objective(v, surv)
            for t in range(n_freed):
                j = support[i, t]
                freed[t, 0] = j
                freed[t, 1] = limit[i, j]
            for t in range(n_freed):
                j = freed[t, 0]
                x[i, j] = 0
                limit[i, j] = 0
                _column_changed(j, p, q, v, x, limit, surv, without, scratch, top_g, top_n,
                                in_top, stale, touched)
            _refresh_support(x, i, support, n_support)
            stale[i] = 1
            touched[1, i] = 1
            stamp = _local_search(p, q, v, limit, c, x, surv, without, scratch, support,
                                  n_support, top_j, top_g, top_n, in_top, stale, touched, mark,
                                  own, cand, base, alloc, gain, sel_v, sel_j, dp, dp_next, back,
                                  stamp, pair_states, i, max_passes, rel_tol)
            for t in range(n_freed):
                limit[i, freed[t, 0]] = freed[t, 1]
            stale[i] = 1
            touched[1, i] = 1
            stamp = _local_search(p, q, v, limit, c, x, surv, without, scratch, support,
                                  n_support, top_j, top_g, top_n, in_top, stale, touched, mark,
                                  own, cand, base, alloc, gain, sel_v, sel_j, dp, dp_next, back,
                                  stamp, pair_states, i, max_passes, rel_tol)
            if _objective(v, surv) < f0 - rel_tol * f0:
                gained = True
                kicked = True
                for g in range(n_guns):
                    for j in range(n_threats):
                        kept[g, j] = x[g, j]
                continue
            # back to the kept local optimum: every gun and pair was already checked there
            for j in range(n_threats):
                differs = False
                for g in range(n_guns):
                    if x[g, j] != kept[g, j]:
                        x[g, j] = kept[g, j]
                        differs = True
                if differs:
                    _column_changed(j, p, q, v, x, limit, surv, without, scratch, top_g, top_n,
                                    in_top, stale, touched)
            for g in range(n_guns):
                _refresh_support(x, g, support, n_support)
                touched[0, g] = 0
                touched[1, g] = 0
        if not gained:
            break
    if kicked:  # kept kicks were searched with fewer DP pairs: finish with the full search
        for i in range(n_guns):
            touched[0, i] = 1
            touched[1, i] = 1
        _local_search(p, q, v, limit, c, x, surv, without, scratch, support, n_support, top_j,
                      top_g, top_n, in_top, stale, touched, mark, own, cand, base, alloc, gain,
                      sel_v, sel_j, dp, dp_next, back, stamp, pair_states, -1, max_passes,
                      rel_tol)


def _improve(
    start: Assignment,
    p: NDArray[np.float64],
    v: NDArray[np.float64],
    c: NDArray[np.int64],
    m: NDArray[np.int64],
    max_passes: int,
    kick_rounds: int,
    pair_states: int = PAIR_STATES,
) -> Assignment:
    """Run :func:`_search` from ``start``; every work array is allocated here, O(I·J) in all."""
    n_guns, n_threats = p.shape
    if n_guns == 0 or n_threats == 0:
        return start
    f_start = expected_surviving_value(start.counts, p, v)
    x = np.array(start.counts, dtype=np.int64, order="C")
    c_max = max(1, int(c.max()))
    n_small = max(1, min(n_threats, 6 * c_max))  # candidate threats of one pair, at most
    n_top = max(1, min(n_threats, 4 * c_max))  # length of each gun's cached ranking
    n_targets = max(1, min(n_threats, c_max))  # distinct targets of one gun, at most
    n_states = max(1, pair_states)
    # (I, J) arrays
    p = np.ascontiguousarray(p)
    q = np.ascontiguousarray(1.0 - p)
    limit = np.array(m, dtype=np.int64, order="C")  # per-pair limits; kicks change them
    without = np.empty((n_guns, n_threats))  # W_ij: survival of j without gun i's bursts
    in_top = np.zeros((n_guns, n_threats), dtype=np.uint8)  # j in gun i's cached ranking
    kept = np.zeros((n_guns, n_threats), dtype=np.int64)  # best solution during kicks
    # per gun
    support = np.zeros((n_guns, n_targets), dtype=np.int64)  # gun i's targets
    n_support = np.zeros(n_guns, dtype=np.int64)
    top_j = np.zeros((n_guns, n_top), dtype=np.int64)  # cached ranking: threats, gains, length
    top_g = np.zeros((n_guns, n_top))
    top_n = np.zeros(n_guns, dtype=np.int64)
    stale = np.ones(n_guns, dtype=np.uint8)  # ranking must be rebuilt
    touched = np.ones((2, n_guns), dtype=np.uint8)  # changed in the previous / this sweep
    scratch = np.empty(n_guns)
    # per threat
    surv = np.empty(n_threats)
    mark = np.empty(n_threats, dtype=np.int64)  # candidate-set membership stamp
    own = np.zeros(n_threats, dtype=np.int64)  # which gun of the pair a candidate belongs to
    # small
    cand = np.zeros(n_small, dtype=np.int64)
    base = np.empty(n_small)
    alloc = np.zeros(n_small, dtype=np.int64)
    gain = np.empty(n_small)
    sel_v = np.empty(n_small)
    sel_j = np.zeros(n_small, dtype=np.int64)
    dp = np.empty(n_states)
    dp_next = np.empty(n_states)
    back = np.zeros((n_small, n_states), dtype=np.int64)
    freed = np.zeros((n_targets, 2), dtype=np.int64)
    _search(p, q, np.ascontiguousarray(v), limit, c, x, surv, without, scratch, support,
            n_support, top_j, top_g, top_n, in_top, stale, touched, mark, own, cand, base, alloc,
            gain, sel_v, sel_j, dp, dp_next, back, kept, freed, pair_states, max_passes,
            kick_rounds, _REL_TOL)
    f = float(v @ surv)  # surv: S_j of x, from the kernel's prefix/suffix products
    # compared with both the reported and the recomputed start objective, so that round-off
    # between the two ways of computing F can never make the result look worse than the start
    if f >= min(f_start, start.expected_surviving_value) or np.array_equal(x, start.counts):
        return start
    order = tuple(
        (i, j) for i in range(n_guns) for j in np.flatnonzero(x[i]).tolist()
        for _ in range(int(x[i, j]))
    )
    return Assignment(x, surv, f, order)


def improve_assignment(
    assignment: Assignment,
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
    max_passes: int = 1000,
    kick_rounds: int = KICK_ROUNDS,
) -> Assignment:
    """Local search from ``assignment``: gun and gun-pair re-optimisation, then kicks.

    A sweep re-optimises each gun's whole allocation with the others fixed (this contains every
    single-burst move), then each pair of guns jointly (this contains every two-gun swap; pairs
    with more than ``PAIR_STATES`` DP states get the best two-burst exchange). Steps are applied
    as found when they lower F by more than 1e-12 relative; a search stops after a sweep without
    one (a local optimum of these neighbourhoods) or after ``max_passes`` sweeps. Then
    ``kick_rounds`` rounds of kicks (see the module docstring). Memory is O(I·J). The result is
    never worse than the input.

    Raises ValueError when ``assignment.counts`` is not a feasible allocation.
    """
    p, v, c, m = _validate(kill_prob, values, capacity, max_per_pair)
    x = np.asarray(assignment.counts, dtype=np.int64)
    if x.shape != p.shape:
        raise ValueError(f"assignment.counts has shape {x.shape}, expected {p.shape}")
    if np.any(x < 0) or np.any(x > m) or np.any(x.sum(axis=1) > c):
        raise ValueError("assignment.counts violates the capacities or per-pair limits")
    return _improve(assignment, p, v, c, m, max_passes, kick_rounds)


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
    if n_threats == 0:  # nothing to shoot at: the empty assignment is the only one
        return Assignment(np.zeros((n_guns, 0), dtype=np.int64), np.ones(0), 0.0, ())
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


def _pattern_limits(
    q_j: NDArray[np.float64], limits: NDArray[np.int64], value: float
) -> NDArray[np.int64]:
    """Per-gun burst limits for one threat's patterns, dominated bursts removed.

    Dropping a burst never raises F and only frees capacity, so leaving out these cannot change
    the optimum: bursts of guns with p = 0, any burst at a threat of no value, and more than one
    burst of a gun that kills for certain (q = 0).
    """
    if value <= 0:
        return np.zeros_like(limits)
    lim = np.where(q_j < 1.0, limits, 0)
    return np.where(q_j <= 0.0, np.minimum(lim, 1), lim)


def _threat_patterns(
    q_j: NDArray[np.float64], limits: NDArray[np.int64], value: float
) -> NDArray[np.int64]:
    """Allocation patterns (K, I) for one threat; a certain kill (q = 0) appears only alone."""
    lim = _pattern_limits(q_j, limits, value)
    certain = q_j <= 0.0
    rows = np.zeros((1, 0), dtype=np.int64)
    for li in lim:
        rows = np.column_stack(
            [np.repeat(rows, int(li) + 1, axis=0), np.tile(np.arange(int(li) + 1), rows.shape[0])]
        ).astype(np.int64)
    if np.any(certain & (lim > 0)):
        has_kill = (rows[:, certain] > 0).any(axis=1)
        rows = rows[~has_kill | (rows.sum(axis=1) == 1)]
    return rows


def milp_assignment(
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
    max_columns: int = MAX_MILP_COLUMNS,
    time_limit: float | None = None,
) -> Assignment:
    """Optimal assignment by a pattern MILP solved with HiGHS (:func:`scipy.optimize.milp`).

    Exact, not a bound: one binary y_ja per threat j and allocation pattern a (a_i bursts from
    gun i, 0 ≤ a_i ≤ m_ij), with the exact cost V_j Π_i q_ij^{a_i} as its coefficient;
    Σ_a y_ja = 1 for each threat and Σ_j Σ_a a_i y_ja ≤ c_i for each gun. The objective is then
    linear in y, so the integer optimum is the WTA optimum; q = 0 enters only as 0^a, never as a
    logarithm. HiGHS runs with relative gap 0 and the costs scaled so that its absolute gap
    tolerance (1e-6) is normally ~1e-10 of the objective: the optimum is exact up to HiGHS's
    tolerances. The returned F is recomputed from the counts.

    The number of patterns grows like Π_i (m_ij + 1) per threat, so this reaches further than
    enumerating whole assignments (which multiplies over threats too) but is still for small and
    mid-size instances: ValueError above ``max_columns`` patterns, RuntimeError when HiGHS stops
    without a proven optimum (``time_limit`` seconds).
    """
    p, v, c, m = _validate(kill_prob, values, capacity, max_per_pair)
    n_guns, n_threats = p.shape
    if n_guns == 0 or n_threats == 0:
        return Assignment(np.zeros(p.shape, dtype=np.int64), np.ones(n_threats), float(v.sum()), ())
    q = 1.0 - p
    limits = np.minimum(m, c[:, None])
    sizes = [
        float(np.prod(_pattern_limits(q[:, j], limits[:, j], float(v[j])) + 1.0))
        for j in range(n_threats)
    ]
    if sum(sizes) > max_columns:
        raise ValueError(
            f"milp_assignment would build {sum(sizes):.0f} pattern columns (> max_columns="
            f"{max_columns}); use greedy_assignment(..., improve=True) for instances this large"
        )
    patterns = [_threat_patterns(q[:, j], limits[:, j], float(v[j])) for j in range(n_threats)]
    cost = np.concatenate(
        [v[j] * np.prod(q[:, j][None, :] ** patterns[j], axis=1) for j in range(n_threats)]
    )
    n_cols = cost.size
    threat_of = np.repeat(np.arange(n_threats), [len(a) for a in patterns])
    stacked = np.concatenate(patterns, axis=0)  # (n_cols, I)
    one_each = sparse.csc_array(
        (np.ones(n_cols), (threat_of, np.arange(n_cols))), shape=(n_threats, n_cols)
    )
    cols, guns = np.nonzero(stacked)
    per_gun = sparse.csc_array(
        (stacked[cols, guns].astype(float), (guns, cols)), shape=(n_guns, n_cols)
    )
    # scale: the greedy is within a small factor of the optimum, so F_opt · scale ≈ 1e4, unless
    # that would push the largest cost past 1e9
    upper = greedy_assignment(p, v, c, max_per_pair=m).expected_surviving_value
    largest = float(cost.max()) if n_cols else 0.0
    scale = min(1e4 / upper, 1e9 / largest) if upper > 0 else 1.0
    # presolve off: on these set-partitioning rows HiGHS's presolve and probing take ~50x longer
    # than the root LP, which is usually integral already
    options: dict[str, float | bool] = {"mip_rel_gap": 0.0, "presolve": False, "disp": False}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(
        cost * scale,
        integrality=np.ones(n_cols),
        bounds=Bounds(0.0, 1.0),
        constraints=[
            LinearConstraint(one_each, 1.0, 1.0),
            LinearConstraint(per_gun, -np.inf, c.astype(float)),
        ],
        options=options,
    )
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"milp_assignment: HiGHS found no proven optimum ({res.message})")
    counts = np.zeros((n_guns, n_threats), dtype=np.int64)
    start = 0
    for j, table in enumerate(patterns):
        pick = int(np.argmax(res.x[start : start + len(table)]))
        counts[:, j] = table[pick]
        start += len(table)
    surv = np.prod(q**counts, axis=0)
    order = tuple(
        (i, j) for i in range(n_guns) for j in range(n_threats) for _ in range(counts[i, j])
    )
    return Assignment(counts, surv, float(v @ surv), order)


@dataclass(frozen=True)
class GapReport:
    """Heuristic vs exact objective on one instance; ``gap`` = (F_greedy - F_opt) / F_opt ≥ 0.

    ``greedy`` is the objective of the greedy, or of greedy + local search when the report was
    made with ``improve=True``; ``solver`` names the exact solver used.
    """

    greedy: float
    exact: float
    gap: float
    solver: str = "enumerate"


def _exact_solver(
    p: NDArray[np.float64], c: NDArray[np.int64], m: NDArray[np.int64], max_enumeration: int
) -> str:
    """Enumeration while it is small (it needs no MILP), the pattern MILP beyond."""
    total = float(np.prod([float(_count_allocations(int(c[i]), m[i])) for i in range(len(c))]))
    return "enumerate" if total <= max_enumeration else "milp"


def assignment_gap(
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
    improve: bool = False,
    exact: str = "auto",
) -> GapReport:
    """Relative optimality gap of the greedy (or greedy + local search) on one instance.

    ``exact`` is ``"enumerate"`` (:func:`exact_assignment`), ``"milp"``
    (:func:`milp_assignment`) or ``"auto"`` (enumeration up to ``MAX_ENUMERATION``
    allocations, the MILP beyond). The gap is 0 when both objectives are 0.
    """
    if exact not in ("auto", "enumerate", "milp"):
        raise ValueError(f"exact must be 'auto', 'enumerate' or 'milp'; got {exact!r}")
    p, v, c, m = _validate(kill_prob, values, capacity, max_per_pair)
    solver = _exact_solver(p, c, m, MAX_ENUMERATION) if exact == "auto" else exact
    g = greedy_assignment(p, v, c, max_per_pair=m, improve=improve)
    solve = exact_assignment if solver == "enumerate" else milp_assignment
    e = solve(p, v, c, max_per_pair=m)
    fg, fe = g.expected_surviving_value, e.expected_surviving_value
    gap = (fg - fe) / fe if fe > 0 else (0.0 if fg <= 1e-15 else float("inf"))
    return GapReport(fg, fe, gap, solver)


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
