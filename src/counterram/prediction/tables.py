"""Per-track tables: the latest value of each track as rows of named arrays.

Why it exists: the engine keeps, for every live track, its latest ground prediction and the
linearisation of its latest full flight, and each step reads them for all its tracks. Kept as
one small object per track, a step stacks a hundred one-row objects (a millisecond of numpy calls
per stage at 100 tracks); kept as arrays indexed by a row per track, it is one fancy index. Rows
of ended tracks are reused; the arrays double when full.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from counterram.prediction.impact import GroundPrediction

__all__ = ["GroundPredictionTable", "PathTable", "TrackRows"]


class TrackRows:
    """Rows of named arrays, one row per track id.

    ``fields`` maps a name to (trailing shape, dtype); the table also keeps one string per row
    (``label``, e.g. the assumed munition) and the time each row was written (``written_s``).
    """

    def __init__(
        self, fields: Mapping[str, tuple[tuple[int, ...], type]], capacity: int = 64
    ) -> None:
        if capacity < 1:
            raise ValueError("TrackRows: capacity must be >= 1")
        self.arrays = {
            name: np.zeros((capacity, *shape), dtype=dtype) for name, (shape, dtype) in
            fields.items()
        }
        self.written_s = np.zeros(capacity)
        self.label = [""] * capacity
        self._row: dict[int, int] = {}
        self._free = list(range(capacity - 1, -1, -1))

    def __len__(self) -> int:
        return len(self._row)

    def _grow(self) -> None:
        cap = self.written_s.size
        for name, a in self.arrays.items():
            self.arrays[name] = np.concatenate([a, np.zeros_like(a)])
        self.written_s = np.concatenate([self.written_s, np.zeros(cap)])
        self.label.extend([""] * cap)
        self._free.extend(range(2 * cap - 1, cap - 1, -1))

    def rows(self, track_ids: ArrayLike) -> NDArray[np.int64]:
        """Row of each track id, −1 where the table holds none."""
        get = self._row.get
        return np.array([get(int(t), -1) for t in np.ravel(track_ids)], dtype=np.int64)

    def put(
        self, track_ids: ArrayLike, values: Mapping[str, ArrayLike], labels: tuple[str, ...],
        written_s: float,
    ) -> NDArray[np.int64]:
        """Write (replace) the rows of ``track_ids``; returns their rows."""
        ids = [int(t) for t in np.ravel(track_ids)]
        if len(labels) != len(ids):
            raise ValueError("TrackRows.put: one label per track id")
        rows = []
        for tid in ids:
            r = self._row.get(tid)
            if r is None:
                if not self._free:
                    self._grow()
                r = self._row[tid] = self._free.pop()
            rows.append(r)
        idx = np.array(rows, dtype=np.int64)
        for name, a in self.arrays.items():
            a[idx] = values[name]
        self.written_s[idx] = written_s
        for r, name in zip(rows, labels, strict=True):
            self.label[r] = name
        return idx

    def labels(self, rows: ArrayLike) -> tuple[str, ...]:
        """The labels at table rows."""
        return tuple(self.label[i] for i in np.asarray(rows, dtype=np.int64).tolist())

    def drop(self, track_ids: ArrayLike) -> None:
        """Forget ``track_ids`` (ended tracks); their rows are reused."""
        for t in np.ravel(track_ids):
            r = self._row.pop(int(t), None)
            if r is not None:
                self._free.append(r)


_PREDICTION_FIELDS = {
    "mean_en": ((2,), float), "cov_en": ((2, 2), float), "time_s": ((), float),
    "time_sigma_s": ((), float), "cov_ent": ((3, 3), float), "valid": ((), bool),
    "coarse": ((), bool),
}


class GroundPredictionTable:
    """The latest :class:`~counterram.prediction.impact.GroundPrediction` of each track."""

    def __init__(self, capacity: int = 64) -> None:
        self.rows = TrackRows(_PREDICTION_FIELDS, capacity)

    def put(self, track_ids: ArrayLike, g: GroundPrediction, written_s: float) -> None:
        """Store the predictions of ``track_ids`` (one row of ``g`` each)."""
        self.rows.put(track_ids, {n: getattr(g, n) for n in _PREDICTION_FIELDS}, g.munition,
                      written_s)

    def get(self, track_ids: ArrayLike) -> tuple[GroundPrediction, NDArray[np.bool_]]:
        """(The predictions of ``track_ids``, which of them the table holds); rows it does not
        hold are invalid (NaN)."""
        r = self.rows.rows(track_ids)
        have = r >= 0
        a = self.rows.arrays
        idx = np.where(have, r, 0)
        vals = {n: a[n][idx].copy() for n in _PREDICTION_FIELDS}
        for n in ("mean_en", "cov_en", "time_s", "time_sigma_s", "cov_ent"):
            vals[n][~have] = np.nan
        vals["valid"] &= have
        names = tuple(m if h else "" for m, h in zip(self.rows.labels(idx), have, strict=True))
        return GroundPrediction(**vals, munition=names), have

    def drop(self, track_ids: ArrayLike) -> None:
        """Forget ended tracks."""
        self.rows.drop(track_ids)


class PathTable:
    """Each track's predicted path on a time grid, as the prediction stage flew it.

    A row holds ``k = ⌊span_s / dt_s⌋ + 1`` states every ``dt_s`` from ``start_s``, flown from
    the track's state at ``state_s`` (NaN once down). Fire control needs the same path from the
    same state on the same grid; reading it here spares a second flight of every track.
    """

    def __init__(self, dt_s: float, span_s: float, capacity: int = 64) -> None:
        if not (dt_s > 0 and span_s >= 0):
            raise ValueError("PathTable: dt_s must be > 0 and span_s >= 0")
        self.dt_s = float(dt_s)
        self.k = int(np.floor(span_s / dt_s + 1e-9)) + 1
        self.span_s = (self.k - 1) * self.dt_s
        self.rows = TrackRows({"samples": ((self.k, 6), float), "start_s": ((), float),
                               "state_s": ((), float)}, capacity)

    def put(self, track_ids: ArrayLike, start_s: float, state_s: ArrayLike,
            samples: NDArray[np.float64]) -> None:
        """Store paths (N, k, 6) sampled from ``start_s``, flown from states at ``state_s``."""
        ids = np.ravel(track_ids)
        n = ids.size
        if samples.shape != (n, self.k, 6):
            raise ValueError(f"PathTable.put: samples must be ({n}, {self.k}, 6); "
                             f"got {samples.shape}")
        self.rows.put(ids, {"samples": samples, "start_s": np.full(n, float(start_s)),
                            "state_s": np.asarray(state_s, dtype=float)}, ("",) * n, start_s)

    def get(
        self, track_ids: ArrayLike, now_s: float, state_s: ArrayLike, k: int
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """(Paths (N, k, 6) from ``now_s`` on the grid, which rows are there): a row is there when
        its path was flown from the same state time, ``now_s`` lies on its grid and the path
        reaches ``k`` samples past it; the others are NaN."""
        r = self.rows.rows(track_ids)
        a = self.rows.arrays
        idx = np.where(r >= 0, r, 0)
        lag = (float(now_s) - a["start_s"][idx]) / self.dt_s
        m = np.round(lag).astype(np.int64)
        have = ((r >= 0) & (a["state_s"][idx] == np.asarray(state_s, dtype=float))
                & (np.abs(lag - m) < 1e-6) & (m >= 0) & (m + k <= self.k))
        out = np.full((idx.size, k, 6), np.nan)
        if have.any():
            h = np.flatnonzero(have)
            out[h] = a["samples"][idx[h, None], m[h, None] + np.arange(k)[None, :]]
        return out, have

    def drop(self, track_ids: ArrayLike) -> None:
        """Forget ended tracks."""
        self.rows.drop(track_ids)
