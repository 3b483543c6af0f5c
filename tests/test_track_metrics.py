"""Tests of the multi-target tracking metrics: OSPA, GOSPA and truth-to-track scoring."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from counterram.metrics.tracks import TrackLog, evaluate_tracks, gospa, ospa


def test_ospa_hand_computed_and_limits() -> None:
    X = np.array([[0.0, 0.0, 0.0]])
    Y = np.array([[3.0, 0.0, 0.0], [100.0, 0.0, 0.0]])
    # best pairing 0↔3 m, one unpaired estimate at the cut-off: (3 + 10) / 2
    assert ospa(X, Y, c=10.0, p=1) == pytest.approx(6.5)
    # order 2: sqrt((9 + 100) / 2)
    assert ospa(X, Y, c=10.0, p=2) == pytest.approx(np.sqrt(109 / 2))
    assert ospa(X, X, c=10.0) == 0.0
    assert ospa(X, np.zeros((0, 3)), c=10.0) == 10.0
    assert ospa(np.zeros((0, 3)), np.zeros((0, 3)), c=10.0) == 0.0
    with pytest.raises(ValueError, match="c > 0"):
        ospa(X, Y, c=0.0)


def test_gospa_decomposition() -> None:
    X = np.array([[0.0, 0.0, 0.0], [50.0, 0.0, 0.0]])  # two truths
    Y = np.array([[3.0, 0.0, 0.0], [500.0, 0.0, 0.0], [900.0, 0.0, 0.0]])  # one good estimate
    g = gospa(X, Y, c=10.0, p=1)
    # localisation 3, one missed truth (c/2 = 5) and two false estimates (2 × 5)
    assert (g.localisation, g.missed, g.false, g.n_assigned) == (3.0, 5.0, 10.0, 1)
    assert g.distance == pytest.approx(18.0)
    # a pair farther than c is counted as a miss plus a false estimate, never assigned
    far = gospa(X[:1], np.array([[20.0, 0.0, 0.0]]), c=10.0, p=2)
    assert far.n_assigned == 0
    assert far.distance == pytest.approx(np.sqrt(100.0))


def test_ospa_is_a_metric_on_random_sets() -> None:
    """Symmetry and the triangle inequality (Schuhmacher et al. 2008, Prop. 1) on 200 random
    triples of point sets of 0–5 points."""
    rng = np.random.default_rng(0)

    def rand_set() -> np.ndarray:
        return rng.uniform(0, 40, (rng.integers(0, 6), 3))

    for _ in range(200):
        A, B, C = rand_set(), rand_set(), rand_set()
        assert ospa(A, B, 25.0, 2) == pytest.approx(ospa(B, A, 25.0, 2))
        assert ospa(A, C, 25.0, 2) <= ospa(A, B, 25.0, 2) + ospa(B, C, 25.0, 2) + 1e-9


class _Truth:
    """Two rounds flying east at 100 m/s, 400 m apart in north, in flight for t ∈ [0, 10]."""

    def states_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        if not 0.0 <= t <= 10.0:
            return np.zeros(0, np.int64), np.zeros((0, 6))
        s = np.array([[100.0 * t, 0.0, 500.0, 100.0, 0.0, 0.0], [100.0 * t, 400, 500, 100, 0, 0]])
        return np.array([7, 8]), s


@dataclass
class _Out:
    """The fields of a TrackerOutput that TrackLog.record reads."""

    time_s: float
    track_id: np.ndarray
    confirmed: np.ndarray
    x: np.ndarray
    state_time_s: np.ndarray

    def __len__(self) -> int:
        return self.track_id.size


def _log(rows: list[tuple[float, list[int], list[bool], list[list[float]]]]) -> TrackLog:
    """A log as TrackLog.record would fill it (states already at the step time)."""
    log = TrackLog()
    for t, ids, conf, x in rows:
        log.record(
            _Out(
                t,
                np.asarray(ids),
                np.asarray(conf, bool),
                np.asarray(x, float),
                np.full(len(ids), t),
            )
        )
    return log


def test_evaluate_tracks_scores_breaks_swaps_spurious_and_rmse() -> None:
    truth = _Truth()
    rows = []
    for t in np.arange(0.0, 10.5, 1.0):
        a = [100.0 * t + 3.0, 0.0, 500.0, 100.0, 0.0, 0.0]  # 3 m, 0 m/s error on round 7
        b = [100.0 * t, 400.0 - 4.0, 500.0, 100.0, 2.0, 0.0]  # 4 m, 2 m/s on round 8
        far = [5000.0, 5000.0, 500.0, 0.0, 0.0, 0.0]  # follows nothing
        if t < 5:
            rows.append((t, [1, 2, 9], [t >= 2, True, True], [a, b, far]))
        else:  # track 1 lost; track 3 takes round 7; track 2 keeps round 8
            rows.append((t, [3, 2, 9], [True, True, True], [a, b, far]))
    m = evaluate_tracks(_log(rows), truth, gate_m=100.0, first_detection_s={7: 0.0, 8: 0.0})
    assert m.round_id.tolist() == [7, 8]
    assert m.confirmed.tolist() == [True, True]
    assert m.time_to_confirm_s.tolist() == [2.0, 0.0]
    assert m.breaks.tolist() == [1, 0]
    assert m.position_rmse_m == pytest.approx([3.0, 4.0])
    assert m.velocity_rmse_mps == pytest.approx([0.0, 2.0])
    assert m.spurious_track_ids.tolist() == [9]
    assert m.swapped_track_ids.size == 0
    # OSPA (c = 250, p = 1) at t = 5: 3 confirmed tracks, 2 truths: (3 + 4 + 250) / 3
    k = int(np.flatnonzero(m.step_time_s == 5.0)[0])
    assert m.ospa_m[k] == pytest.approx((3 + 4 + 250) / 3)
    assert m.gospa_m[k] == pytest.approx(3 + 4 + 125)


def test_evaluate_tracks_detects_a_swap() -> None:
    """Track 1 follows round 7, then jumps to round 8 while track 2 jumps the other way."""
    truth = _Truth()
    rows = []
    for t in np.arange(0.0, 10.5, 1.0):
        on7 = [100.0 * t, 0.0, 500.0, 100.0, 0.0, 0.0]
        on8 = [100.0 * t, 400.0, 500.0, 100.0, 0.0, 0.0]
        rows.append((t, [1, 2], [True, True], [on7, on8] if t < 5 else [on8, on7]))
    m = evaluate_tracks(_log(rows), truth, gate_m=100.0)
    assert m.swapped_track_ids.tolist() == [1, 2]
    assert m.breaks.tolist() == [1, 1]
