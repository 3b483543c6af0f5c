"""Track table and track life cycle: tentative → confirmed → deleted, with stable ids.

The tracker holds every live track as one row of a struct of arrays (:class:`TrackTable`) so that
prediction, gating and update run on all tracks at once; rows are appended when tracks start and
compacted away when they are deleted. Ids come from a counter that only grows, so an id is never
reused, even after the track it named is gone.

Life-cycle rules (Blackman & Popoli, *Design and Analysis of Modern Tracking Systems*, 1999,
§6.3, "M-of-N" confirmation and miss-count deletion), with detection opportunities ("looks")
counted in time: a tentative track expects a plot every ``revisit_s`` of the faster sensor of its
two starting plots, so look k falls at ``first_s + (k − 1) revisit_s``; a confirmed track counts
its misses in looks of the slowest sensor that has updated it:

* tentative → confirmed when it has ``M`` updates (the two starting plots count) no later than
  its N-th look;
* tentative → deleted ("not_confirmed") once more than N looks have passed without M updates;
* confirmed → deleted ("missed") after ``max_misses`` consecutive looks without an update,
  ("coasted") after ``max_coast_s`` without one whatever the revisit, ("diverged") when its
  predicted position sigma exceeds a bound, and ("impact") when it is predicted more than three
  sigmas below the ground.

Competing hypotheses: in a salvo, one plot may start several tentative tracks. When tentative
tracks confirm, they are taken best first (lowest mean normalised innovation squared); one that
shares a plot with a track already taken is deleted ("conflict"), as is every tentative track
sharing a plot with a newly confirmed one; a newly confirmed track whose state is statistically
the same as an older confirmed track's is deleted ("duplicate").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numba as nb
import numpy as np


class TrackStatus(IntEnum):
    """Status code of a track (stored as int8 in the table)."""

    TENTATIVE = 0
    CONFIRMED = 1
    DELETED = 2


DELETION_REASONS = (
    "not_confirmed",
    "missed",
    "coasted",
    "diverged",
    "impact",
    "duplicate",
    "conflict",
)
"""Why a track was deleted; every reason has a counter in the tracker's output."""


def _empty(dim: int, uid_slots: int) -> dict[str, np.ndarray]:
    return {
        "track_id": np.zeros(0, dtype=np.int64),
        "status": np.zeros(0, dtype=np.int8),
        "time_s": np.zeros(0),
        "x": np.zeros((0, dim)),
        "P": np.zeros((0, dim, dim)),
        "first_s": np.zeros(0),
        "last_hit_s": np.zeros(0),
        "confirmed_s": np.zeros(0),
        "hits": np.zeros(0, dtype=np.int64),
        "revisit_s": np.zeros(0),
        "miss_interval_s": np.zeros(0),
        "sensor_mask": np.zeros(0, dtype=np.int64),
        "nis_sum": np.zeros(0),
        "plot_uids": np.zeros((0, uid_slots), dtype=np.int64),
        "confirm_extra": np.zeros(0, dtype=np.int64),
    }


@dataclass
class TrackTable:
    """Live tracks as arrays, one row per track.

    ``time_s`` is the time of each row's state (its last update: the state is a posterior, not a
    prediction); ``first_s`` the time of its first plot, ``last_hit_s`` the latest plot time
    assigned to it, ``confirmed_s`` when it was confirmed (NaN while tentative), ``hits`` the
    number of plots used, ``revisit_s`` the look interval of the M-of-N clock (the faster of the
    two starting plots' sensors), ``miss_interval_s`` the look interval of the miss count (the
    slowest sensor that has updated the track: a track a fast sensor stops seeing is kept while a
    slower one still may), ``sensor_mask`` a bit per sensor-table row that has updated it,
    ``nis_sum`` the sum of its updates' normalised innovations squared, and ``plot_uids`` the
    tracker's sequence numbers of its first ``uid_slots`` plots (−1 where unused), which tell
    competing tentative tracks that share a plot, and ``confirm_extra`` the plots and looks a
    tentative track needs beyond M-of-N (a track that would confirm among close neighbours,
    where a track stitched from several rounds is possible, waits for more evidence).

    The columns are views of the first rows of buffers with room to grow (doubling), so that
    starting a track costs its own rows, not a copy of the whole table; the views change at
    every :meth:`add` and :meth:`keep` (read them from the table, do not keep them across).
    """

    dim: int
    uid_slots: int = 6
    track_id: np.ndarray = field(init=False)
    status: np.ndarray = field(init=False)
    time_s: np.ndarray = field(init=False)
    x: np.ndarray = field(init=False)
    P: np.ndarray = field(init=False)
    first_s: np.ndarray = field(init=False)
    last_hit_s: np.ndarray = field(init=False)
    confirmed_s: np.ndarray = field(init=False)
    hits: np.ndarray = field(init=False)
    revisit_s: np.ndarray = field(init=False)
    miss_interval_s: np.ndarray = field(init=False)
    sensor_mask: np.ndarray = field(init=False)
    nis_sum: np.ndarray = field(init=False)
    plot_uids: np.ndarray = field(init=False)
    confirm_extra: np.ndarray = field(init=False)
    next_id: int = 1
    _store: dict[str, np.ndarray] = field(init=False, repr=False)
    _n: int = field(init=False, default=0, repr=False)

    def __post_init__(self) -> None:
        self._store = {
            name: np.zeros((16, *value.shape[1:]), dtype=value.dtype)
            for name, value in _empty(self.dim, self.uid_slots).items()
        }
        self._n = 0
        self._views()

    def _views(self) -> None:
        for name, buffer in self._store.items():
            setattr(self, name, buffer[: self._n])

    def __len__(self) -> int:
        return self._n

    def add(
        self,
        x: np.ndarray,
        P: np.ndarray,
        time_s: np.ndarray,
        first_s: np.ndarray,
        revisit_s: np.ndarray,
        miss_interval_s: np.ndarray,
        sensor_mask: np.ndarray,
        plot_uids: np.ndarray,
        hits: int = 2,
    ) -> np.ndarray:
        """Append tentative tracks started from plots ``plot_uids`` (n, ≤ uid_slots); returns
        their new ids (never reused)."""
        n = x.shape[0]
        uids = np.full((n, self.uid_slots), -1, dtype=np.int64)
        uids[:, : plot_uids.shape[1]] = plot_uids
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        new = {
            "track_id": ids,
            "status": np.full(n, TrackStatus.TENTATIVE, dtype=np.int8),
            "time_s": np.asarray(time_s, dtype=float),
            "x": x,
            "P": P,
            "first_s": np.asarray(first_s, dtype=float),
            "last_hit_s": np.asarray(time_s, dtype=float),
            "confirmed_s": np.full(n, np.nan),
            "hits": np.full(n, hits, dtype=np.int64),
            "revisit_s": np.asarray(revisit_s, dtype=float),
            "miss_interval_s": np.asarray(miss_interval_s, dtype=float),
            "sensor_mask": np.asarray(sensor_mask, dtype=np.int64),
            "nis_sum": np.zeros(n),
            "plot_uids": uids,
            "confirm_extra": np.zeros(n, dtype=np.int64),
        }
        end = self._n + n
        if end > self._store["track_id"].shape[0]:
            size = max(2 * self._store["track_id"].shape[0], end)
            for name, buffer in self._store.items():
                grown = np.zeros((size, *buffer.shape[1:]), dtype=buffer.dtype)
                grown[: self._n] = buffer[: self._n]
                self._store[name] = grown
        for name, buffer in self._store.items():
            buffer[self._n : end] = new[name]
        self._n = end
        self._views()
        return ids

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is True (compaction after deletions)."""
        rows = np.flatnonzero(mask)
        for buffer in self._store.values():
            buffer[: rows.size] = buffer[rows]
        self._n = int(rows.size)
        self._views()


_REASON_NAMES = np.array(("", *DELETION_REASONS), dtype=object)
"""Reason text by code: 0 keeps the track, k deletes it for ``DELETION_REASONS[k − 1]``."""


NOT_CONFIRMED, MISSED, COASTED, DIVERGED, IMPACT = (
    DELETION_REASONS.index(r) + 1
    for r in ("not_confirmed", "missed", "coasted", "diverged", "impact")
)
TENTATIVE, CONFIRMED = int(TrackStatus.TENTATIVE), int(TrackStatus.CONFIRMED)


def reason_code(name: str) -> int:
    """Integer code of a deletion reason (0 for none), as used by :func:`lifecycle_codes`."""
    return 0 if name == "" else DELETION_REASONS.index(name) + 1


def reason_names(code: np.ndarray) -> np.ndarray:
    """Reason text (object array, ``""`` for none) of integer reason codes."""
    return _REASON_NAMES[code]


@nb.njit(cache=True, error_model="numpy")
def _code(
    status, first_s, revisit_s, hits, last_hit_s, miss_interval_s, now, confirm_hits,
    confirm_looks, max_misses, max_coast_s, position_sigma_m, height_m, height_sigma_m,
    max_position_sigma_m, ground_height_m, extra,
):
    """(confirm, reason code) of one track under the rules of :func:`lifecycle_codes`, with
    ``extra`` more plots and looks for its confirmation (M + extra of N + extra)."""
    tentative = status == TENTATIVE
    # look k of a track is at first_s + (k − 1) revisit_s; half a revisit of slack for jitter
    in_time = (now - first_s) / revisit_s + 1.0 <= confirm_looks + extra + 0.5
    confirm = tentative and hits >= confirm_hits + extra and in_time
    since_hit = now - last_hit_s
    missed = (status == CONFIRMED or confirm) and since_hit > (max_misses + 0.5) * miss_interval_s
    # later rules take precedence: the last that applies names the reason
    code = 0
    if height_m + 3.0 * height_sigma_m < ground_height_m:
        code = IMPACT
    if position_sigma_m > max_position_sigma_m:
        code = DIVERGED
    if since_hit > max_coast_s:
        code = COASTED
    if missed:
        code = MISSED
    if tentative and not confirm and not in_time:
        code = NOT_CONFIRMED
    return confirm and code == 0, code


@nb.njit(cache=True, error_model="numpy")
def _codes(
    status, first_s, revisit_s, hits, last_hit_s, miss_interval_s, now_s, confirm_hits,
    confirm_looks, max_misses, max_coast_s, position_sigma_m, height_m, height_sigma_m,
    max_position_sigma_m, ground_height_m, confirm_extra, confirm_out, code_out,
):
    """:func:`_code` of every row (compiled: the tracker judges its tracks after every plot
    group)."""
    for i in range(status.shape[0]):
        confirm_out[i], code_out[i] = _code(
            status[i], first_s[i], revisit_s[i], hits[i], last_hit_s[i], miss_interval_s[i],
            now_s[i], confirm_hits, confirm_looks, max_misses, max_coast_s,
            position_sigma_m[i], height_m[i], height_sigma_m[i], max_position_sigma_m,
            ground_height_m, confirm_extra[i],
        )


@nb.njit(cache=True, error_model="numpy")
def codes_after_group(
    status, first_s, revisit_s, hits, last_hit_s, miss_interval_s, now, confirm_hits,
    confirm_looks, max_misses, max_coast_s, rows, position_sigma_m, height_m, height_sigma_m,
    max_position_sigma_m, ground_height_m, confirm_extra, confirm_out, code_out,
):
    """The life cycle at time ``now`` after a plot group: the table's ``rows`` (the tracks near
    the group, with their spread, height and height sigma at ``now``) are judged on every rule;
    the others on time alone (no height, no spread) and never confirmed (a confirmation comes
    with a plot). Returns whether any row confirms or is deleted."""
    n = status.shape[0]
    judged = np.zeros(n, dtype=np.bool_)
    sig = np.zeros(n)
    h = np.full(n, np.nan)
    hs = np.zeros(n)
    for k in range(rows.shape[0]):
        r = rows[k]
        judged[r] = True
        sig[r] = position_sigma_m[k]
        h[r] = height_m[k]
        hs[r] = height_sigma_m[k]
    change = False
    for i in range(n):
        c, code = _code(
            status[i], first_s[i], revisit_s[i], hits[i], last_hit_s[i], miss_interval_s[i],
            now, confirm_hits, confirm_looks, max_misses, max_coast_s, sig[i], h[i], hs[i],
            max_position_sigma_m, ground_height_m, confirm_extra[i],
        )
        confirm_out[i] = c and judged[i]
        code_out[i] = code
        change = change or confirm_out[i] or code != 0
    return change


def lifecycle_codes(
    table: TrackTable,
    now_s: float | np.ndarray,
    *,
    confirm_hits: int,
    confirm_looks: int,
    max_misses: int,
    max_coast_s: float,
    position_sigma_m: np.ndarray,
    height_m: np.ndarray,
    height_sigma_m: np.ndarray,
    max_position_sigma_m: float,
    ground_height_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`lifecycle_decisions` with integer reason codes (:func:`reason_code`) instead of
    text; ``now_s`` may also be one time per row."""
    n = len(table)
    confirm = np.empty(n, dtype=np.bool_)
    code = np.empty(n, dtype=np.int8)

    def rows(a: float | np.ndarray) -> np.ndarray:
        if isinstance(a, np.ndarray) and a.shape == (n,) and a.dtype == np.float64:
            return np.ascontiguousarray(a)
        return np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=float), (n,)))

    now = np.full(n, now_s) if isinstance(now_s, float | int) else rows(now_s)
    _codes(
        table.status, table.first_s, table.revisit_s, table.hits, table.last_hit_s,
        table.miss_interval_s, now, int(confirm_hits), float(confirm_looks), float(max_misses),
        float(max_coast_s), rows(position_sigma_m), rows(height_m), rows(height_sigma_m),
        float(max_position_sigma_m), float(ground_height_m), table.confirm_extra, confirm, code,
    )
    return confirm, code


def lifecycle_decisions(
    table: TrackTable,
    now_s: float,
    *,
    confirm_hits: int,
    confirm_looks: int,
    max_misses: int,
    max_coast_s: float,
    position_sigma_m: np.ndarray,
    height_m: np.ndarray,
    height_sigma_m: np.ndarray,
    max_position_sigma_m: float,
    ground_height_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows to confirm (N,) bool, and the deletion reason per row (N,) object (``""`` for
    none), at time ``now_s``. ``position_sigma_m``, ``height_m`` and ``height_sigma_m`` describe
    each track predicted to ``now_s``."""
    confirm, code = lifecycle_codes(
        table,
        now_s,
        confirm_hits=confirm_hits,
        confirm_looks=confirm_looks,
        max_misses=max_misses,
        max_coast_s=max_coast_s,
        position_sigma_m=position_sigma_m,
        height_m=height_m,
        height_sigma_m=height_sigma_m,
        max_position_sigma_m=max_position_sigma_m,
        ground_height_m=ground_height_m,
    )
    return confirm, reason_names(code)
