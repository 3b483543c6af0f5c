"""Tests of the time-indexed burst planner (engagement/schedule.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from counterram.engagement.schedule import plan_bursts


def _grid(windows: list[tuple[float, float]], step: float = 0.25, pk_max: float = 0.3):
    """Candidates of one gun: each threat usable over its window, Pk rising linearly to
    ``pk_max`` at the window's end (the range closes)."""
    gun, threat, t, pk = [], [], [], []
    for j, (a, b) in enumerate(windows):
        times = np.arange(a, b + 1e-9, step)
        gun += [0] * times.size
        threat += [j] * times.size
        t += times.tolist()
        pk += (pk_max * (0.2 + 0.8 * (times - a) / max(b - a, 1e-9))).tolist()
    return np.array(gun), np.array(threat), np.array(t), np.array(pk)


def _check_constraints(chosen, gun, threat, t, cycle, spacing, capacity):
    for a, b in itertools.combinations(chosen.tolist(), 2):
        if gun[a] == gun[b]:
            assert abs(t[a] - t[b]) >= cycle[gun[a]] - 1e-9
        if threat[a] == threat[b]:
            first, second = (a, b) if t[a] <= t[b] else (b, a)
            assert t[second] >= t[first] + spacing[first] - 1e-9
    assert np.all(np.bincount(gun[chosen], minlength=len(capacity)) <= capacity)


def test_constraints_capacity_and_min_gain_hold_on_random_instances() -> None:
    rng = np.random.default_rng(12)
    for _ in range(40):
        n_guns, n_threats, m = rng.integers(1, 4), rng.integers(1, 8), rng.integers(1, 200)
        gun = rng.integers(0, n_guns, m)
        threat = rng.integers(0, n_threats, m)
        t = rng.uniform(0.0, 20.0, m)
        pk = rng.uniform(0.0, 0.6, m)
        values = rng.uniform(0.5, 5.0, n_threats)
        cycle = rng.uniform(0.5, 2.0, n_guns)
        spacing = rng.uniform(1.0, 5.0, m)
        capacity = rng.integers(0, 5, n_guns)
        chosen = plan_bursts(gun, threat, t, pk, values, cycle, spacing, capacity,
                             min_gain=0.05)
        _check_constraints(chosen, gun, threat, t, cycle, spacing, capacity)
        # every further burst at a threat added at least min_gain to its kill probability (in
        # the order chosen); a first burst needs only p > 0; every threat with a usable
        # candidate that fits nothing chosen was engaged
        surv = np.ones(n_threats)
        for c in chosen:
            assert pk[c] > 0
            if surv[threat[c]] < 1.0:
                assert surv[threat[c]] * pk[c] >= 0.05 - 1e-12
            surv[threat[c]] *= 1.0 - pk[c]


def test_best_shot_first_then_look_then_shoot_earlier() -> None:
    # one threat, one gun: the best fire time is taken, then an earlier burst whose miss is
    # seen in time to fire the best one
    gun, threat, t, pk = _grid([(0.0, 10.0)], step=0.5)
    spacing = np.full(t.size, 4.0)
    chosen = plan_bursts(gun, threat, t, pk, np.ones(1), np.array([1.2]), spacing, np.array([9]))
    times = sorted(t[chosen].tolist())
    assert times[-1] == pytest.approx(10.0)
    assert len(times) >= 2 and all(b - a >= 4.0 - 1e-9 for a, b in itertools.pairwise(times))


def test_bad_planner_input() -> None:
    with pytest.raises(ValueError, match="one entry per candidate"):
        plan_bursts([0], [0, 0], [1.0], [0.5], [1.0], [1.0], [1.0], [1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plan_bursts([0], [0], [1.0], [1.5], [1.0], [1.0], [1.0], [1])
    assert plan_bursts([], [], [], [], [1.0], [1.0], [], [1]).size == 0


def _rolling(windows: list[tuple[float, float]], due_s: float | None, horizon_s: float,
             step: float = 0.25):
    """One gun working a queue step by step as fire control does: plan, fire what is due,
    re-plan at the next step. Every burst is assumed to miss (the threat stays), but a threat
    counts as served once it has had a burst. Returns the served threats."""
    gun, threat, t, pk = _grid(windows)
    cycle = 50 / 75 + 0.5
    spacing = np.full(t.size, 50 / 75 + 2.0 + 1.0)
    served: set[int] = set()
    free_at, last_burst = 0.0, {}
    for now in np.arange(0.0, max(b for _, b in windows) + step, step):
        usable = (t >= max(now, free_at) - 1e-9) & np.array(
            [now >= last_burst.get(j, -np.inf) for j in threat.tolist()])
        idx = np.flatnonzero(usable)
        if idx.size == 0:
            continue
        chosen = plan_bursts(gun[idx], threat[idx], t[idx] - now, pk[idx], np.ones(6),
                             np.array([cycle]), spacing[idx], np.array([31]), due_s=due_s,
                             horizon_s=horizon_s)
        if chosen.size == 0:
            continue
        first = idx[chosen[np.argmin(t[idx][chosen])]]
        if t[first] - now <= step / 2:
            served.add(int(threat[first]))
            free_at = t[first] + cycle
            last_burst[int(threat[first])] = t[first] + spacing[first]
    return served


def test_a_gun_works_down_a_queue_instead_of_waiting_for_each_best_shot() -> None:
    # six bombs 1 s apart, each engageable for 3 s with its best shot at the end: waiting for
    # each best shot (1 s apart) with a burst + re-lay of 1.17 s loses bombs; six bursts fit
    windows = [(1.0 * k, 1.0 * k + 3.0) for k in range(6)]
    assert len(_rolling(windows, due_s=None, horizon_s=np.inf)) < 6
    assert _rolling(windows, due_s=0.125, horizon_s=5.0) == set(range(6))
