"""Global nearest neighbour (GNN) association of tracks and plots.

Given the squared Mahalanobis distances d² of every track–plot pair and the χ² gate
(:func:`counterram.tracking.filters.gate`), GNN picks the one-to-one assignment with the least
total cost, where each track may also stay unassigned at a ``miss_cost`` (Blackman & Popoli,
*Design and Analysis of Modern Tracking Systems*, 1999, §6.4; the "auction"/assignment form with
dummy "missed detection" columns). The problem is solved by
:func:`scipy.optimize.linear_sum_assignment` (a Jonker–Volgenant variant) on the augmented
matrix [C | diag(miss_cost)], restricted to the tracks and plots with at least one gated
partner.

The miss option matters when targets are close: without it the solver maximises the number of
assigned pairs first, so when one round's plot is missing its track takes the neighbour's plot,
that track the next neighbour's, and so on down a salvo (every track shifted by one round). With
a miss cost equal to the gate threshold, a track skips a look rather than take a plot that fits
another track much better.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

_OUTSIDE = 1e12


def gnn(
    cost: np.ndarray, inside: np.ndarray, miss_cost: float | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (tracks) and columns (plots) of the GNN assignment over gated pairs.

    ``cost`` (N, M) is the pair cost (for instance d²), ``inside`` (N, M) the gate, and
    ``miss_cost`` (scalar or (N,)) what leaving a track without a plot costs; ``None`` means no
    miss option (as many gated pairs as possible, then the least cost). Returns two index arrays
    of equal length, every pair inside the gate.
    """
    cost = np.asarray(cost, dtype=float)
    inside = np.asarray(inside, dtype=bool)
    if cost.shape != inside.shape or cost.ndim != 2:
        raise ValueError(
            f"gnn: cost and inside must both be (N, M), got {cost.shape} and {inside.shape}"
        )
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    if rows.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sub_inside = inside[np.ix_(rows, cols)]
    sub = np.where(sub_inside, cost[np.ix_(rows, cols)], _OUTSIDE)
    if miss_cost is not None:
        miss = np.broadcast_to(np.asarray(miss_cost, dtype=float), (inside.shape[0],))[rows]
        dummy = np.full((rows.size, rows.size), _OUTSIDE)
        np.fill_diagonal(dummy, miss)
        sub = np.hstack([sub, dummy])
    r, c = linear_sum_assignment(sub)
    ok = c < cols.size
    r, c = r[ok], c[ok]
    ok = sub_inside[r, c]
    return rows[r[ok]], cols[c[ok]]
