"""Burst scheduling: which gun fires at which threat *when*, for all guns and threats at once.

Why it exists: the static weapon–target assignment (:mod:`counterram.engagement.assignment`)
says how many bursts each gun should spend on each threat, but not when. Time is what decides
a C-RAM engagement: a gun is busy for a burst and its re-lay, a threat can be engaged only
inside its window, a burst's kill probability changes along the window (range, aspect), and a
second burst at the same threat is worth firing only once the first one's miss is known
(shoot-look-shoot). Planning counts first and times afterwards loses exactly the cases that
matter: a string of mortar bombs arriving a few seconds apart at the one gun that can reach
them, where every gun-second spent waiting for a better shot at one bomb is a shot lost at the
next.

The planner is the maximum-marginal-return greedy of the static problem (den Broeder, Ellison &
Emerling 1959) over *time-indexed* candidates: every usable (gun i, threat j, fire time t) with
its burst kill probability p. Starting from survival S_j = 1 it repeatedly takes the candidate
with the largest gain V_j · S_j · p that fits the plan so far, then sets S_j ← S_j (1 − p). It
does so in two passes: first bursts only (every threat a gun can reach is engaged before any
threat is engaged twice — the doctrine that every round endangering an asset is fired at, even
one presenting its nose and so a small target), then second and later bursts. The constraints:

* a gun fires one burst at a time: two bursts of gun i are at least ``cycle_s[i]`` apart
  (burst + re-lay);
* one burst at a threat at a time, by any gun: a later burst at threat j leaves no earlier than
  the earlier burst's ``spacing_s`` after it (burst + round flight + look), so that it is fired
  only after the earlier one's miss could be seen;
* a gun's magazine bounds its bursts (``capacity``);
* a further burst at a threat is planned only while it adds at least ``min_gain`` to its kill
  probability (S_j · p ≥ ``min_gain``): no ammunition for negligible odds once the threat has
  been fired at. A first burst needs only p > 0: every threat a gun can reach is engaged.

It stops when no candidate fits. The result is a timeline per gun; fire control orders the
bursts that are due now and lays each gun toward its next planned burst, and plans again at the
next step with fresher tracks (a planned later burst is conditional on the earlier ones missing).

The greedy's first choice for a threat is its best fire time, which is often the last moment of
its window (shortest range): planned alone, a queue of threats whose best times crowd together
loses some of them, and a plan that keeps waiting for a last-moment shot loses the threat when
the window's end moves. The plan is therefore made **work-conserving**: a gun that could fire
now but whose plan waits is given its most valuable burst now whenever the plan's expected
value Σ V_j (1 − S_j) with that burst first stays within ``slack`` (2 %) of the plan that waits.
Waiting wins only when it is worth more; re-planned every step, the gun works down its queue.

Cost: O(B · M) for B planned bursts and M candidates, compiled (numba): well under a
millisecond for thousands of candidates. Written here because no scheduling library models
conditional shoot-look-shoot spacing with multiplicative survival.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

__all__ = ["plan_bursts"]


@njit(cache=True)
def _slew_s(a0, e0, a1, e1, rate, center, full):
    """Slew time between two aims, azimuth inside the travel (as fire control measures it)."""
    two_pi = 2.0 * np.pi
    x0 = (a0 - center + np.pi) % two_pi - np.pi
    x1 = (a1 - center + np.pi) % two_pi - np.pi
    d = x1 - x0
    if full:
        d = (d + np.pi) % two_pi - np.pi
    return max(abs(d), abs(e1 - e0)) / rate


@njit(cache=True)
def _greedy(gun, threat, t, pk, values, cycle, spacing, capacity, min_gain, weight, az, el,
            relay, rate, center, full, covered0, forced):
    m = t.shape[0]
    n_threats = values.shape[0]
    surv = np.ones(n_threats)
    cap = capacity.copy()
    free = np.ones(m, dtype=np.bool_)
    for k in range(m):
        if cap[gun[k]] <= 0 or pk[k] <= 0.0:
            free[k] = False
    chosen = np.empty(m, dtype=np.int64)
    n = 0
    value = 0.0
    covered = covered0.copy()
    first_bursts = True  # phase 1: only threats without a burst; phase 2: all
    while True:
        best = -1
        best_gain = 0.0
        if n < forced.shape[0]:
            if free[forced[n]]:
                best = forced[n]
                best_gain = values[threat[best]] * surv[threat[best]] * pk[best] * weight[best]
            else:
                return chosen[:0], -1.0  # the forced bursts do not fit together
        else:
            for k in range(m):
                if free[k] and not (first_bursts and covered[threat[k]]):
                    g = surv[threat[k]] * pk[k]
                    if g < min_gain and not first_bursts:
                        continue
                    g *= values[threat[k]] * weight[k]
                    # ties: earlier fire time, then the lower index (deterministic)
                    if g > best_gain or (best >= 0 and g == best_gain and t[k] < t[best]):
                        best, best_gain = k, g
        if best < 0:
            if first_bursts:
                first_bursts = False
                continue
            break
        covered[threat[best]] = True
        chosen[n] = best
        n += 1
        value += best_gain
        i, j, tb = gun[best], threat[best], t[best]
        surv[j] *= 1.0 - pk[best]
        cap[i] -= 1
        for k in range(m):
            if not free[k]:
                continue
            if gun[k] == i:
                if cap[i] <= 0:
                    free[k] = False
                    continue
                # the gun fires one burst at a time and slews between their aims
                gap = cycle[i]
                if rate[i] > 0.0:
                    sl = _slew_s(az[best], el[best], az[k], el[k], rate[i], center[i], full[i])
                    if sl > relay[i]:
                        gap += sl - relay[i]
                if abs(t[k] - tb) < gap - 1e-9:
                    free[k] = False
                    continue
            if threat[k] == j:
                if t[k] <= tb:
                    if t[k] > tb - spacing[k] + 1e-9:
                        free[k] = False
                elif t[k] < tb + spacing[best] - 1e-9:
                    free[k] = False
    return chosen[:n], value


def plan_bursts(
    gun: ArrayLike,
    threat: ArrayLike,
    fire_time_s: ArrayLike,
    kill_probability: ArrayLike,
    values: ArrayLike,
    cycle_s: ArrayLike,
    spacing_s: ArrayLike,
    capacity: ArrayLike,
    *,
    min_gain: float = 0.0,
    horizon_s: float = math.inf,
    aims: tuple[ArrayLike, ArrayLike] | None = None,
    slew: tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike] | None = None,
    engaged: ArrayLike | None = None,
    due_s: float | None = None,
    slack: float = 0.02,
    tries: int = 3,
) -> NDArray[np.int64]:
    """Plan bursts over M time-indexed candidates (module docstring).

    Args:
        gun, threat: (M,) gun and threat index of each candidate.
        fire_time_s: (M,) its fire time (relative to now).
        kill_probability: (M,) the burst's kill probability if fired then.
        values: (J,) threat values V_j ≥ 0.
        cycle_s: (I,) each gun's time between bursts (burst + re-lay).
        spacing_s: (M,) how long after this burst the next one at the same threat may leave.
        capacity: (I,) bursts left in each gun's magazine.
        min_gain: smallest increase of a threat's kill probability worth a further burst (a
            first burst at a threat not yet ``engaged`` needs only a kill probability > 0).
        horizon_s: a burst planned t ahead is worth exp(−t / horizon_s) of its gain now: the
            further ahead, the likelier the plan changes before it comes (windows move, new
            threats arrive), so of two equal shots the nearer is taken.
        aims: (azimuth, elevation) (M,) of each candidate, radians; with ``slew`` two bursts of
            a gun are further apart by the slew between their aims beyond the re-lay time.
        slew: per gun (I,): (re-lay time s, slew rate rad/s, azimuth travel centre rad, full
            travel bool) — the re-lay time is the part of ``cycle_s`` that a slew overlaps.
        engaged: (J,) bool, threats already fired at before this plan: their bursts are
            second bursts (planned after every threat's first).
        due_s: with it, the plan is made work-conserving: a gun whose first planned burst is
            later than ``due_s`` but that could fire now (a candidate at or before ``due_s``)
            is given that burst (the best of its ``tries`` most valuable ones) whenever the
            plan's expected value, Σ V_j (1 − S_j), stays within ``slack`` of the unforced
            plan's: waiting is chosen only when it is worth more.

    Returns:
        The chosen candidates' indices, forced bursts first, then in the order the greedy chose
        them (best gain first).
    """
    g = np.ascontiguousarray(gun, dtype=np.int64)
    j = np.ascontiguousarray(threat, dtype=np.int64)
    t = np.ascontiguousarray(fire_time_s, dtype=float)
    p = np.ascontiguousarray(kill_probability, dtype=float)
    v = np.ascontiguousarray(values, dtype=float)
    cyc = np.ascontiguousarray(cycle_s, dtype=float)
    sp = np.ascontiguousarray(spacing_s, dtype=float)
    cap = np.ascontiguousarray(capacity, dtype=np.int64)
    m = t.shape[0]
    if not (g.shape == j.shape == p.shape == sp.shape == (m,)):
        raise ValueError("gun, threat, fire_time_s, kill_probability and spacing_s need one "
                         "entry per candidate")
    if m and (g.min() < 0 or g.max() >= cyc.shape[0] or cap.shape != cyc.shape
              or j.min() < 0 or j.max() >= v.shape[0]):
        raise ValueError("gun and threat indices must index cycle_s/capacity and values")
    if np.any((p < 0) | (p > 1)) or np.any(v < 0) or not np.all(np.isfinite(t)):
        raise ValueError("kill probabilities must lie in [0, 1], values be >= 0, times finite")
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    weight = np.exp(-np.maximum(t, 0.0) / horizon_s)
    n_guns = cyc.shape[0]
    if aims is not None and slew is not None:
        az = np.ascontiguousarray(aims[0], dtype=float)
        el = np.ascontiguousarray(aims[1], dtype=float)
        relay, rate, center = (np.ascontiguousarray(a, dtype=float) for a in slew[:3])
        full = np.ascontiguousarray(slew[3], dtype=np.bool_)
        if az.shape != (m,) or el.shape != (m,) or rate.shape != (n_guns,):
            raise ValueError("aims need one entry per candidate and slew one per gun")
    else:
        az = el = np.zeros(m)
        relay = rate = center = np.zeros(n_guns)
        full = np.zeros(n_guns, dtype=np.bool_)
    covered0 = (np.zeros(v.shape[0], dtype=np.bool_) if engaged is None
                else np.ascontiguousarray(engaged, dtype=np.bool_))
    args = (g, j, t, p, v, cyc, sp, cap, float(min_gain), weight, az, el, relay, rate, center,
            full, covered0)
    forced = np.zeros(0, dtype=np.int64)
    chosen, value = _greedy(*args, forced)
    if due_s is None:
        return chosen
    gain0 = v[j] * p * weight
    for i in range(cyc.shape[0]):
        mine = chosen[g[chosen] == i]
        if mine.size and t[mine].min() <= due_s:
            continue  # already firing now
        now = np.flatnonzero((g == i) & (t <= due_s) & ((p >= min_gain) | ~covered0[j]))
        if now.size == 0:
            continue
        best_plan, best_value = None, (1.0 - slack) * value
        for k in now[np.argsort(-gain0[now], kind="stable")][:tries].tolist():
            plan, val = _greedy(*args, np.append(forced, k))
            if val >= best_value:
                best_plan, best_value = plan, val
                forced_k = k
        if best_plan is not None:
            forced = np.append(forced, forced_k)
            chosen, value = best_plan, best_value
    return chosen
