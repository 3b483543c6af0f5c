"""The engine's one picture of its tracks: the tracker's rows and, row for row, what the engine
keeps of each track between steps.

Why a struct of arrays: every stage asks the same questions of all tracks at once (which are due
a prediction, a re-classification, an origin flight, a state report; which are confirmed), so
the answers are array expressions over aligned columns, not a loop over per-track objects. The
tracker owns the state (ids, status, state and covariance, their times, update counts: its
:class:`~counterram.tracking.tracker.TrackerOutput`, a snapshot per step); this picture adds the
engine's columns (:data:`COLUMNS`) in the same row order and carries them over when the tracker's
rows change. The tracks that left the tracker in this step stay readable for the step (their
last rows and columns) for the events and warnings that close them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from counterram.tracking.tracker import TrackerOutput, TrackStatus

__all__ = ["COLUMNS", "TrackPicture"]

COLUMNS: dict[str, tuple[type, object]] = {
    "reported_s": (float, -math.inf),
    "predicted_s": (float, -math.inf),
    "predicted_state_s": (float, -math.inf),
    "classified_s": (float, -math.inf),
    "origin_s": (float, -math.inf),
    "munition": (object, ""),
    "threat_class": (object, ""),
    "same_class": (np.int64, 0),
    "origin_trace_m2": (float, math.inf),
    "origin_settled": (bool, False),
    "beta_offset": (float, 0.0),
    "intercept_s": (float, -math.inf),
}
"""The engine's column per track: (dtype, value of a new track).

``reported_s``, ``predicted_s``, ``classified_s``, ``origin_s``: when the engine last reported
the track's state, predicted its impact, classified it, flew its origin; ``predicted_state_s``:
the state time of that prediction (a new prediction waits for a new plot); ``munition``,
``threat_class``, ``same_class``: its class and for how many classifications in a row;
``origin_trace_m2``, ``origin_settled``: the reported origin's covariance trace, and whether a
later flight can still improve it; ``beta_offset``: the drag scale the class adds to the
tracker's generic one; ``intercept_s``: the latest intercept time of a burst fired at it."""


def _empty_columns(n: int) -> dict[str, np.ndarray]:
    return {name: np.full(n, default, dtype=dtype) for name, (dtype, default) in COLUMNS.items()}


def _rows_of(ids: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Row of each of ``ids`` in ``among`` (distinct ids), −1 where absent."""
    if among.size == 0 or ids.size == 0:
        return np.full(ids.shape, -1, dtype=np.int64)
    order = np.argsort(among, kind="stable")
    pos = np.minimum(np.searchsorted(among, ids, sorter=order), among.size - 1)
    found = among[order[pos]] == ids
    return np.where(found, order[pos], -1).astype(np.int64)


@dataclass
class _Rows:
    """One side of the picture: tracker rows and the engine's columns, aligned."""

    out: TrackerOutput
    columns: dict[str, np.ndarray]


class TrackPicture:
    """The tracks of the latest step, the tracker's rows with the engine's columns (module
    docstring). ``col(name)`` is a column, aligned with :attr:`rows`; write to it in place."""

    def __init__(self) -> None:
        self._now: _Rows | None = None
        self._gone: _Rows | None = None
        """The tracks that left the tracker in the latest step, as the step before saw them."""

    # ------------------------------------------------------------------ the tracker's rows
    @property
    def rows(self) -> TrackerOutput | None:
        """The tracker's output of the latest step (None before the first)."""
        return None if self._now is None else self._now.out

    def __len__(self) -> int:
        return 0 if self._now is None else len(self._now.out)

    @property
    def track_id(self) -> np.ndarray:
        return np.zeros(0, np.int64) if self._now is None else self._now.out.track_id

    @property
    def confirmed(self) -> np.ndarray:
        """(N,) True for the confirmed tracks."""
        if self._now is None:
            return np.zeros(0, dtype=bool)
        return self._now.out.status == TrackStatus.CONFIRMED

    def col(self, name: str) -> np.ndarray:
        """The engine's column ``name`` (:data:`COLUMNS`), aligned with :attr:`rows`."""
        if self._now is None:
            return _empty_columns(0)[name]
        return self._now.columns[name]

    # ------------------------------------------------------------------ one step
    def advance(self, out: TrackerOutput) -> None:
        """Take the tracker's rows of a new step: the columns follow their tracks by id (a new
        track starts with :data:`COLUMNS`' values); the tracks no longer there are kept as
        :meth:`departed` rows until the next step."""
        new = _empty_columns(len(out))
        if self._now is None:
            self._now, self._gone = _Rows(out, new), None
            return
        old = self._now
        at = _rows_of(out.track_id, old.out.track_id)
        kept = np.flatnonzero(at >= 0)
        for name, column in new.items():
            column[kept] = old.columns[name][at[kept]]
        still = np.zeros(len(old.out), dtype=bool)
        still[at[kept]] = True
        gone = np.flatnonzero(~still)
        self._gone = (
            _Rows(_take(old.out, gone), {k: v[gone] for k, v in old.columns.items()})
            if gone.size else None
        )
        self._now = _Rows(out, new)

    def find(self, track_id: int) -> tuple[TrackerOutput, dict[str, np.ndarray], int] | None:
        """(rows, columns, row) of a track of this step, or of one that left in it; None for a
        track the picture never held."""
        for side in (self._now, self._gone):
            if side is None:
                continue
            hit = np.flatnonzero(side.out.track_id == track_id)
            if hit.size:
                return side.out, side.columns, int(hit[0])
        return None

    def rows_of(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Row of each track of ``ids`` in :attr:`rows`, −1 for one not there."""
        return _rows_of(np.asarray(ids, dtype=np.int64), self.track_id)

    def unconfirmed_ids(self) -> set[int]:
        """Ids of the tracks of this step, or of those that left in it, not confirmed (as the
        tracker last reported them)."""
        out: set[int] = set()
        for side in (self._now, self._gone):
            if side is not None:
                tentative = side.out.status != TrackStatus.CONFIRMED
                out.update(side.out.track_id[tentative].tolist())
        return out

    def departed(self) -> np.ndarray:
        """Ids of the tracks that left the tracker in the latest step."""
        return np.zeros(0, np.int64) if self._gone is None else self._gone.out.track_id


def _take(out: TrackerOutput, rows: np.ndarray) -> TrackerOutput:
    """The rows ``rows`` of a tracker output (the per-row fields; events and counters kept)."""
    return TrackerOutput(
        time_s=out.time_s,
        track_id=out.track_id[rows],
        status=out.status[rows],
        state_time_s=out.state_time_s[rows],
        x=out.x[rows],
        P=out.P[rows],
        n_updates=out.n_updates[rows],
        first_s=out.first_s[rows],
        confirmed_s=out.confirmed_s[rows],
        munition_hint=tuple(out.munition_hint[i] for i in rows.tolist()),
        plot_track_id=out.plot_track_id,
        events=out.events,
        counters=out.counters,
        sensor_mask=None if out.sensor_mask is None else out.sensor_mask[rows],
    )
