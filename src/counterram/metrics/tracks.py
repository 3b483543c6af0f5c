"""Multi-target tracking metrics: truth-to-track assignment, per-round outcomes, OSPA and GOSPA.

What a C-RAM analyst asks of a tracker: did every round get a confirmed track, how long after its
first detection, did its track break (several ids over one flight), did a track jump from one
round to another (a swap), how many confirmed tracks matched no round at all (spurious), and how
accurate were the matched tracks. The set distances summarise all of it per time step:

* OSPA (Schuhmacher, Vo & Vo, "A consistent metric for performance evaluation of multi-object
  filters", IEEE TSP 56(8), 2008): with cut-off c and order p, for m ≤ n objects,
  d = ((min_π Σᵢ min(dᵢπ(ᵢ), c)ᵖ + cᵖ (n − m)) / n)^(1/p); normalised by n.
* GOSPA with α = 2 (Rahmathullah, García-Fernández & Svensson, "Generalized optimal sub-pattern
  assignment metric", FUSION 2017, eq. 3):
  d = (min_γ Σ_(i,j)∈γ d_ijᵖ + cᵖ/2 (|X| + |Y| − 2|γ|))^(1/p) over assignments γ of pairs
  closer than c; unnormalised, it splits into localisation, missed and false parts.

Both optimal assignments come from :func:`scipy.optimize.linear_sum_assignment` on the cut-off
cost min(d, c)ᵖ (a pair at or beyond c costs exactly what leaving both unassigned costs in GOSPA).

Tracks are assigned to truth at every logged time step by the same solver on the position
distance, pairs farther than ``gate_m`` excluded; a track's round is then read off per step. The
log holds the tracks predicted to each step's time (:class:`TrackLog`), and the truth is any
object with ``states_at(time_s) -> (round_ids, states (M, 6))`` (the world's ``Truth``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment


class TruthSource(Protocol):
    def states_at(self, time_s: float) -> tuple[np.ndarray, np.ndarray]: ...


def _distances(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    Y = np.asarray(Y, dtype=float).reshape(len(Y), -1)
    return np.linalg.norm(X[:, None, :] - Y[None, :, :], axis=-1)


def ospa(X: np.ndarray, Y: np.ndarray, c: float, p: float = 1.0) -> float:
    """OSPA distance between point sets ``X`` (m, d) and ``Y`` (n, d) (Schuhmacher et al. 2008)."""
    if c <= 0 or p < 1:
        raise ValueError(f"ospa: need c > 0 and p >= 1, got c={c}, p={p}")
    m, n = len(X), len(Y)
    if m == 0 and n == 0:
        return 0.0
    if m == 0 or n == 0:
        return float(c)
    cost = np.minimum(_distances(X, Y), c) ** p
    r, k = linear_sum_assignment(cost)
    big = max(m, n)
    return float(((cost[r, k].sum() + c**p * (big - min(m, n))) / big) ** (1.0 / p))


class GOSPA(NamedTuple):
    """GOSPA distance (α = 2) and its parts, each raised to the power p before summing:
    ``distance``ᵖ = ``localisation`` + ``missed`` + ``false``."""

    distance: float
    localisation: float
    missed: float
    false: float
    n_assigned: int


def gospa(X: np.ndarray, Y: np.ndarray, c: float, p: float = 1.0) -> GOSPA:
    """GOSPA (α = 2) between truth ``X`` (m, d) and estimates ``Y`` (n, d)
    (Rahmathullah et al. 2017): missed truths and false estimates cost cᵖ/2 each."""
    if c <= 0 or p < 1:
        raise ValueError(f"gospa: need c > 0 and p >= 1, got c={c}, p={p}")
    m, n = len(X), len(Y)
    loc, k = 0.0, 0
    if m and n:
        d = _distances(X, Y)
        r, j = linear_sum_assignment(np.minimum(d, c) ** p)
        close = d[r, j] < c
        k = int(np.count_nonzero(close))
        loc = float(np.sum(d[r, j][close] ** p))
    missed = c**p / 2.0 * (m - k)
    false = c**p / 2.0 * (n - k)
    return GOSPA(float((loc + missed + false) ** (1.0 / p)), loc, missed, false, k)


@dataclass
class TrackLog:
    """Tracks over time, one row per (step, track): step time, id, confirmed flag and the
    6-state predicted to the step time. Fill it with :meth:`record` after each tracker call."""

    time_s: list[np.ndarray] = field(default_factory=list)
    track_id: list[np.ndarray] = field(default_factory=list)
    confirmed: list[np.ndarray] = field(default_factory=list)
    x: list[np.ndarray] = field(default_factory=list)

    def record(self, output: Any, motion: Any | None = None) -> None:
        """Log a tracker output; with ``motion`` (the tracker's model) the states are predicted
        from their own times to ``output.time_s``, otherwise logged as they are."""
        n = len(output)
        if n == 0:
            return
        x = output.x
        if motion is not None:
            x = motion.transition(x, output.time_s - output.state_time_s)
        self.time_s.append(np.full(n, output.time_s))
        self.track_id.append(np.asarray(output.track_id))
        self.confirmed.append(np.asarray(output.confirmed, dtype=bool))
        self.x.append(np.asarray(x)[:, :6])

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(time_s, track_id, confirmed, x (R, 6)) concatenated."""
        if not self.time_s:
            return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros((0, 6))
        return (
            np.concatenate(self.time_s),
            np.concatenate(self.track_id),
            np.concatenate(self.confirmed),
            np.concatenate(self.x),
        )


@dataclass(frozen=True)
class TrackMetrics:
    """Outcome of :func:`evaluate_tracks`.

    Per round (arrays aligned with ``round_id``): ``confirmed`` (some confirmed track followed it),
    ``time_to_confirm_s`` (first step a confirmed track followed it, minus its first detection
    time, or its first logged time in flight when detections are not given; NaN if never),
    ``n_tracks`` (distinct confirmed track ids that followed it), ``breaks`` (n_tracks − 1, at
    least 0), ``position_rmse_m`` / ``velocity_rmse_mps`` over the steps a confirmed track
    followed it. Per track: ``spurious_track_ids`` (confirmed tracks that never followed a round)
    and ``swapped_track_ids`` (confirmed tracks that followed more than one round). Per step:
    ``ospa_m`` and ``gospa_m`` on confirmed tracks' positions against the rounds in flight.
    """

    round_id: np.ndarray
    confirmed: np.ndarray
    time_to_confirm_s: np.ndarray
    n_tracks: np.ndarray
    breaks: np.ndarray
    position_rmse_m: np.ndarray
    velocity_rmse_mps: np.ndarray
    spurious_track_ids: np.ndarray
    swapped_track_ids: np.ndarray
    step_time_s: np.ndarray
    ospa_m: np.ndarray
    gospa_m: np.ndarray

    def confirmation_rate(self, eligible: np.ndarray | None = None) -> float:
        """Fraction of (``eligible``) rounds with a confirmed track."""
        mask = np.ones(self.round_id.size, bool) if eligible is None else eligible
        return float(np.mean(self.confirmed[mask])) if np.any(mask) else float("nan")


def evaluate_tracks(
    log: TrackLog,
    truth: TruthSource,
    *,
    gate_m: float = 250.0,
    cutoff_m: float = 250.0,
    order: float = 1.0,
    first_detection_s: Mapping[int, float] | None = None,
) -> TrackMetrics:
    """Assign logged tracks to truth step by step and score rounds, tracks and steps.

    ``gate_m``: a track further than this from a round is never assigned to it. ``cutoff_m`` and
    ``order``: OSPA/GOSPA c and p. ``first_detection_s``: round id → time of its first plot.
    """
    if gate_m <= 0:
        raise ValueError(f"evaluate_tracks: gate_m must be > 0, got {gate_m}")
    time_s, track_id, confirmed, x = log.arrays()
    steps = np.unique(time_s)
    assigned = np.full(time_s.size, -1, dtype=np.int64)
    truth_x = np.full((time_s.size, 6), np.nan)
    ospa_m = np.zeros(steps.size)
    gospa_m = np.zeros(steps.size)
    seen_rounds: dict[int, float] = {}
    bounds = np.searchsorted(time_s, steps, side="left") if _sorted(time_s) else None
    for s, t in enumerate(steps):  # one assignment problem per step (sequential by nature)
        if bounds is not None:
            rows = np.arange(bounds[s], bounds[s + 1] if s + 1 < steps.size else time_s.size)
        else:
            rows = np.flatnonzero(time_s == t)
        ids, states = truth.states_at(float(t))
        ids = np.asarray(ids, dtype=np.int64)
        states = np.asarray(states, dtype=float).reshape(-1, 6)
        for rid in ids.tolist():
            seen_rounds.setdefault(int(rid), float(t))
        conf_rows = rows[confirmed[rows]]
        ospa_m[s] = ospa(states[:, :3], x[conf_rows, :3], cutoff_m, order)
        gospa_m[s] = gospa(states[:, :3], x[conf_rows, :3], cutoff_m, order).distance
        if rows.size == 0 or ids.size == 0:
            continue
        d = _distances(x[rows, :3], states[:, :3])
        inside = d <= gate_m
        r, k = linear_sum_assignment(np.where(inside, d, 1e9))
        ok = inside[r, k]
        assigned[rows[r[ok]]] = ids[k[ok]]
        truth_x[rows[r[ok]]] = states[k[ok]]
    round_ids = np.array(sorted(seen_rounds), dtype=np.int64)
    n = round_ids.size
    conf_ok = confirmed & (assigned >= 0)
    got = np.zeros(n, bool)
    ttc = np.full(n, np.nan)
    n_tracks = np.zeros(n, np.int64)
    pos_rmse = np.full(n, np.nan)
    vel_rmse = np.full(n, np.nan)
    for a, rid in enumerate(round_ids.tolist()):  # per round summary over its rows
        rows = np.flatnonzero(conf_ok & (assigned == rid))
        if rows.size == 0:
            continue
        got[a] = True
        start = (first_detection_s or {}).get(rid, seen_rounds[rid])
        ttc[a] = float(time_s[rows].min() - start)
        n_tracks[a] = np.unique(track_id[rows]).size
        err = x[rows] - truth_x[rows]
        pos_rmse[a] = float(np.sqrt(np.mean(np.sum(err[:, :3] ** 2, axis=1))))
        vel_rmse[a] = float(np.sqrt(np.mean(np.sum(err[:, 3:] ** 2, axis=1))))
    conf_ids = np.unique(track_id[confirmed])
    matched = np.unique(track_id[conf_ok])
    spurious = np.setdiff1d(conf_ids, matched)
    pairs = np.unique(np.column_stack([track_id[conf_ok], assigned[conf_ok]]), axis=0)
    tid, counts = np.unique(pairs[:, 0], return_counts=True) if pairs.size else (pairs, pairs)
    swapped = tid[counts > 1] if pairs.size else np.zeros(0, np.int64)
    return TrackMetrics(
        round_ids,
        got,
        ttc,
        n_tracks,
        np.maximum(n_tracks - 1, 0),
        pos_rmse,
        vel_rmse,
        spurious,
        swapped,
        steps,
        ospa_m,
        gospa_m,
    )


def _sorted(a: np.ndarray) -> bool:
    return bool(a.size < 2 or np.all(np.diff(a) >= 0))
