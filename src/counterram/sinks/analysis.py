"""What a run's report derives from its events and truth, per round: detection, warning,
engagement and outcome (:class:`RunAnalysis`, :func:`analyse_run`).

Kept apart from the report's rendering (:mod:`counterram.sinks.report`) and figures
(:mod:`counterram.sinks.figures`), which both read it. Tracks are matched to rounds by the
one matcher every figure uses (:mod:`counterram.metrics.matching`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from counterram.events import (
    EVENT_TYPES,
    AllClear,
    EngagementOrdered,
    EngagementOutcome,
    Event,
    ImpactPredicted,
    OriginEstimated,
    PlotRejected,
    TrackEvent,
    WarningIssued,
    event_from_dict,
)
from counterram.metrics.matching import MATCH_GATE_M, first_seen, kill_times, match_tracks
from counterram.scenario.resolved import ResolvedScenario
from counterram.scenario.schema import Scenario
from counterram.world.truth import Truth

__all__ = ["RunAnalysis", "WarningInterval", "analyse_run", "as_events", "truth_positions"]


@dataclass(frozen=True)
class WarningInterval:
    """A zone under warning from ``issued_s`` to ``cleared_s`` (``inf`` if never cleared)."""

    zone: str
    issued_s: float
    cleared_s: float


@dataclass(frozen=True, eq=False)
class RunAnalysis:
    """What the report derives from a run, per round (arrays of shape (R,)) and overall.

    ``end_time_s`` is the impact time, or the kill time of an intercepted round; ``warned_s`` the
    issue time of the earliest warning covering a zone the round falls in at ``end_time_s``, and
    ``warning_time_s`` = ``end_time_s − warned_s`` (NaN: not warned); ``available_s`` =
    ``end_time_s − first_detection_s``. Times are NaN where the thing did not happen.
    """

    n_rounds: int
    track_round: dict[int, int]            # confirmed track id → round id (matched ones)
    tracks_seen: int
    tracks_confirmed: int
    first_detection_s: np.ndarray          # (R,)
    kill_time_s: np.ndarray                # (R,) NaN unless intercepted
    kill_enu: np.ndarray                   # (R, 3) true position at the kill
    killed_by: tuple[str, ...]             # (R,) gun name or ""
    end_time_s: np.ndarray                 # (R,)
    in_zone: np.ndarray                    # (R,) bool: truth impact inside any warning zone
    warned_s: np.ndarray                   # (R,)
    warning_time_s: np.ndarray             # (R,)
    available_s: np.ndarray                # (R,)
    engaged_s: np.ndarray                  # (R,) first fire time at the round
    engaged_by: tuple[tuple[str, ...], ...]  # (R,) guns that fired at it
    impact_predictions: tuple[ImpactPredicted, ...]   # last per track
    origin_estimates: tuple[OriginEstimated, ...]     # last per track
    engagements: tuple[EngagementOrdered, ...]
    outcomes: tuple[EngagementOutcome, ...]
    warnings: tuple[WarningInterval, ...]
    event_counts: dict[str, int] = field(default_factory=dict)
    rejected_plots: dict[str, int] = field(default_factory=dict)

    @property
    def intercepted(self) -> np.ndarray:
        """(R,) True for rounds killed by a gun."""
        return np.isfinite(self.kill_time_s)

    @property
    def unmatched_tracks(self) -> int:
        """Confirmed tracks that matched no true round (false tracks, or off the gate)."""
        return self.tracks_confirmed - len(self.track_round)


def as_events(events: Iterable[Event | Mapping[str, Any]]) -> list[Event]:
    out: list[Event] = []
    for e in events:
        if isinstance(e, Event):
            out.append(e)
        elif isinstance(e, Mapping):
            out.append(event_from_dict(dict(e)))
        else:
            raise TypeError(f"events: expected Event objects or dicts, got {type(e).__name__}")
    # Stable sort: the log's order breaks ties between events of the same instant.
    return sorted(out, key=lambda e: (_num(e.time_s, math.inf)))


def _num(value: Any, default: float = math.nan) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return default
    return f if math.isfinite(f) else default


def truth_positions(truth: Truth, rounds: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """True positions (N, 3) of ``rounds`` (N,) at ``times_s`` (N,); NaN outside a flight.

    Linear between stored samples (``sample_dt_s`` = h apart, the last interval ending at the
    impact): the error is at most h²/8 · |acceleration|, 0.3 mm at 1 g and 0.16 m through a
    rocket's 500 m/s² boost at h = 0.05 s, far below any gate this module uses. Without samples
    (truth built with ``sample_dt_s=None``) every position is NaN.
    """
    rounds = np.asarray(rounds, dtype=np.int64)
    t = np.asarray(times_s, dtype=float)
    out = np.full((rounds.size, 3), np.nan)
    if truth.samples.shape[1] == 0 or truth.sample_dt_s <= 0 or rounds.size == 0:
        return out
    h = truth.sample_dt_s
    tau = t - truth.launch_time_s[rounds]
    tof = truth.time_of_flight_s[rounds]
    ok = np.isfinite(tau) & (tau >= 0.0) & (tau <= tof)
    r, tau, tof = rounds[ok], tau[ok], tof[ok]
    count = truth.sample_count[r]
    k = np.clip(np.floor(tau / h).astype(np.int64), 0, np.maximum(count - 1, 0))
    p0 = truth.samples[r, k, :3]
    last = k + 1 >= count
    nxt = np.minimum(k + 1, truth.samples.shape[1] - 1)
    p1 = np.where(last[:, None], truth.impact_enu[r], truth.samples[r, nxt, :3])
    t1 = np.where(last, tof, (k + 1) * h)
    span = t1 - k * h
    s = np.where(span > 0, (tau - k * h) / np.where(span > 0, span, 1.0), 0.0)
    out[ok] = p0 + np.clip(s, 0.0, 1.0)[:, None] * (p1 - p0)
    return out


def _warning_intervals(events: Sequence[Event]) -> list[WarningInterval]:
    """Zone warnings from first issue to all clear; updates of an active warning don't reopen."""
    open_: dict[str, float] = {}
    out: list[WarningInterval] = []
    for e in events:
        if isinstance(e, WarningIssued):
            open_.setdefault(e.zone, _num(e.time_s))
        elif isinstance(e, AllClear) and e.zone in open_:
            out.append(WarningInterval(e.zone, open_.pop(e.zone), _num(e.time_s)))
    out.extend(WarningInterval(z, t, math.inf) for z, t in open_.items())
    return sorted(out, key=lambda w: (w.issued_s, w.zone))


def analyse_run(
    scenario: Scenario | ResolvedScenario,
    truth: Truth,
    events: Iterable[Event | Mapping[str, Any]],
    *,
    match_gate_m: float = MATCH_GATE_M,
) -> RunAnalysis:
    """Per-round story of a run: detection, warning, engagement and outcome (see
    :class:`RunAnalysis`). ``events`` may be Event objects or their dicts (as read from a log)."""
    del scenario  # the zones a round falls in come with the truth
    if not (isinstance(match_gate_m, int | float) and match_gate_m > 0):
        raise ValueError(
            f"match_gate_m must be a positive distance in metres, got {match_gate_m!r}"
        )
    evs = as_events(events)
    n = len(truth)
    tracks = [e for e in evs if isinstance(e, TrackEvent)]
    track_round = match_tracks(truth, tracks, kill_times(evs, n), gate_m=float(match_gate_m))
    track_first = first_seen(tracks)

    first_det = np.full(n, np.nan)
    for track, r in track_round.items():
        first_det[r] = np.fmin(first_det[r], track_first.get(track, math.nan))

    outcomes = tuple(e for e in evs if isinstance(e, EngagementOutcome))
    orders = tuple(e for e in evs if isinstance(e, EngagementOrdered))

    def round_of(round_id: int, track_id: int) -> int:
        if 0 <= round_id < n:
            return int(round_id)
        return track_round.get(int(track_id), -1)

    kill_t = np.full(n, np.nan)
    killer = [""] * n
    for o in outcomes:
        r = round_of(o.round_id, o.track_id)
        t_kill = _num(o.time_s)
        if r >= 0 and not truth.launch_time_s[r] <= t_kill <= truth.impact_time_s[r]:
            continue  # a kill outside the round's flight is not a kill of this round
        if o.killed and r >= 0 and not t_kill >= kill_t[r]:
            kill_t[r], killer[r] = t_kill, o.gun  # the first kill (kill_t NaN compares False)
    kill_enu = np.full((n, 3), np.nan)
    hit = np.flatnonzero(np.isfinite(kill_t))
    kill_enu[hit] = truth_positions(truth, hit, kill_t[hit])

    engaged = np.full(n, np.nan)
    guns: list[list[str]] = [[] for _ in range(n)]
    for e in orders:
        r = track_round.get(int(e.track_id), -1)
        if r < 0:
            continue
        engaged[r] = np.fmin(engaged[r], _num(e.fire_time_s, _num(e.time_s)))
        if e.gun not in guns[r]:
            guns[r].append(e.gun)
    for o in outcomes:  # an outcome names its round even when the track was not matched
        r = round_of(o.round_id, o.track_id)
        if r >= 0 and o.gun and o.gun not in guns[r]:
            guns[r].append(o.gun)
            if not np.isfinite(engaged[r]):
                engaged[r] = _num(o.time_s)

    end = np.fmin(kill_t, truth.impact_time_s)  # NaN kill time: the impact
    intervals = _warning_intervals(evs)
    zones = truth.impact_zones
    warned = np.full(n, np.nan)
    for r in range(n):
        cover = [
            w.issued_s for w in intervals
            if w.zone in zones[r] and w.issued_s <= end[r] <= w.cleared_s
        ]
        if cover:
            warned[r] = min(cover)
    in_zone = (
        truth.impact_in_zone.any(axis=1) if truth.impact_in_zone.size else np.zeros(n, dtype=bool)
    )

    last_pred: dict[int, ImpactPredicted] = {}
    last_origin: dict[int, OriginEstimated] = {}
    for e in evs:
        if isinstance(e, ImpactPredicted):
            last_pred[e.track_id] = e
        elif isinstance(e, OriginEstimated):
            last_origin[e.track_id] = e

    counts = Counter(e.kind for e in evs)
    order = [k for k in EVENT_TYPES if k in counts] + sorted(set(counts) - set(EVENT_TYPES))
    rejected: Counter[str] = Counter()
    for e in evs:
        if isinstance(e, PlotRejected):
            rejected[e.reason or "(no reason)"] += int(e.count)

    return RunAnalysis(
        n_rounds=n,
        track_round=track_round,
        tracks_seen=len({e.track_id for e in tracks}),
        tracks_confirmed=len({e.track_id for e in tracks if e.status == "confirmed"}),
        first_detection_s=first_det,
        kill_time_s=kill_t,
        kill_enu=kill_enu,
        killed_by=tuple(killer),
        end_time_s=end,
        in_zone=in_zone,
        warned_s=warned,
        warning_time_s=end - warned,
        available_s=end - first_det,
        engaged_s=engaged,
        engaged_by=tuple(tuple(g) for g in guns),
        impact_predictions=tuple(last_pred[k] for k in sorted(last_pred)),
        origin_estimates=tuple(last_origin[k] for k in sorted(last_origin)),
        engagements=orders,
        outcomes=outcomes,
        warnings=tuple(intervals),
        event_counts={k: counts[k] for k in order},
        rejected_plots=dict(sorted(rejected.items())),
    )
