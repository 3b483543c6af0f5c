"""Track ↔ round matching: which true round each confirmed track followed.

Why it exists: every figure that scores the engine against the truth — the summary, the
report, the engagement opportunity — first has to say which round a track was. One matcher,
used by all of them, so that a report and its summary.json never disagree about it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from counterram.events import EngagementOutcome, Event, TrackEvent
from counterram.world import Truth

__all__ = ["MATCH_GATE_M", "first_seen", "kill_times", "match_tracks"]

MATCH_GATE_M = 300.0
"""A track position votes for the nearest round within this distance (m). Radar track errors
are tens of metres (docs/tracking.md) while rounds of one salvo fly hundreds of metres apart,
so 300 m takes every honest track and no neighbour's."""


def match_tracks(
    truth: Truth,
    tracks: Iterable[TrackEvent],
    kill_time_s: np.ndarray | None = None,
    gate_m: float = MATCH_GATE_M,
) -> dict[int, int]:
    """Confirmed track id → round id: the round nearest to most of the track's reported
    positions (within ``gate_m``, among the rounds airborne and not killed at each report)."""
    by_time: dict[float, list[TrackEvent]] = defaultdict(list)
    confirmed: set[int] = set()
    for e in tracks:
        if e.status == "confirmed":
            confirmed.add(e.track_id)
            by_time[e.time_s].append(e)
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    for t in sorted(by_time):
        ids, states = truth.states_at(t)
        if kill_time_s is not None:
            alive = ~(kill_time_s[ids] <= t)
            ids, states = ids[alive], states[alive]
        if ids.size == 0:
            continue
        group = by_time[t]
        pos = np.array([e.position_enu for e in group], dtype=float)
        d = np.linalg.norm(pos[:, None, :] - states[None, :, :3], axis=2)
        best = np.argmin(d, axis=1)
        for e, j, dist in zip(group, best, d[np.arange(len(group)), best], strict=True):
            if dist <= gate_m:
                votes[e.track_id][int(ids[j])] += 1
    out = {}
    for tid in confirmed:
        if votes[tid]:
            out[tid] = min(votes[tid].items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return out


def kill_times(events: Sequence[Event], n: int) -> np.ndarray:
    """(n,) earliest kill time of each round from the killing outcomes (NaN: not killed)."""
    out = np.full(n, np.inf)
    for e in events:
        if isinstance(e, EngagementOutcome) and e.killed and 0 <= e.round_id < n:
            out[e.round_id] = min(out[e.round_id], float(e.time_s))
    out[~np.isfinite(out)] = np.nan
    return out


def first_seen(tracks: Iterable[TrackEvent]) -> dict[int, float]:
    """Track id → the time of its first event that is not a deletion."""
    first: dict[int, float] = {}
    for e in tracks:
        if e.status != "deleted":
            first.setdefault(e.track_id, float(e.time_s))
    return first
