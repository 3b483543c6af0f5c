"""Visibility: when each round is first and last detected, by each radar and by any radar.

The first detection of a round bounds the warning a site can give: nothing can be predicted
before a radar has seen the round, so ``impact − first detection`` is the most warning time the
sensors allow (less the reporting latency and the tracker's confirmation time). This module
tabulates that from simulated plots and their truth labels; the ``plots`` command prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from counterram.sensors.plots import PlotBatch, PlotTruth

__all__ = ["Visibility", "visibility"]


@dataclass(frozen=True)
class Visibility:
    """Per round (R) and sensor (S): first and last detection time (measurement time, NaN if
    never) and number of plots; per round the first detection by any sensor."""

    round_id: np.ndarray  # (R,)
    munition: tuple[str, ...]  # (R,) ("" where unknown)
    launch_time_s: np.ndarray  # (R,)
    impact_time_s: np.ndarray  # (R,)
    sensor_id: np.ndarray  # (S,)
    sensor_name: tuple[str, ...]  # (S,)
    first_s: np.ndarray  # (R, S)
    last_s: np.ndarray  # (R, S)
    count: np.ndarray  # (R, S)
    first_report_s: np.ndarray  # (R, S) earliest report time of a plot of the round

    @property
    def first_any_s(self) -> np.ndarray:
        """Earliest detection of each round by any sensor (NaN if never detected)."""
        if self.first_s.shape[1] == 0:
            return np.full(self.round_id.shape, np.nan)
        with np.errstate(all="ignore"):
            out = np.fmin.reduce(self.first_s, axis=1)
        return out

    @property
    def first_any_sensor(self) -> list[str]:
        """Name of the sensor that saw each round first ("" if none)."""
        names = []
        for row in self.first_s:
            if row.size == 0 or np.all(np.isnan(row)):
                names.append("")
            else:
                names.append(self.sensor_name[int(np.nanargmin(row))])
        return names

    @property
    def detected(self) -> np.ndarray:
        return np.isfinite(self.first_any_s)

    @property
    def after_launch_s(self) -> np.ndarray:
        """First detection by any sensor, seconds after launch."""
        return self.first_any_s - self.launch_time_s

    @property
    def before_impact_s(self) -> np.ndarray:
        """Impact time minus first detection: the most warning the sensors allow."""
        return self.impact_time_s - self.first_any_s

    def rows(self) -> list[dict[str, Any]]:
        """One dict per round (for tables and JSON)."""
        out = []
        first_sensor = self.first_any_sensor
        for i in range(self.round_id.size):
            row: dict[str, Any] = {
                "round_id": int(self.round_id[i]),
                "munition": self.munition[i],
                "launch_s": float(self.launch_time_s[i]),
                "impact_s": float(self.impact_time_s[i]),
                "first_detection_s": _f(self.first_any_s[i]),
                "first_sensor": first_sensor[i] or None,
                "after_launch_s": _f(self.after_launch_s[i]),
                "before_impact_s": _f(self.before_impact_s[i]),
                "sensors": {
                    name: {
                        "first_s": _f(self.first_s[i, j]),
                        "last_s": _f(self.last_s[i, j]),
                        "plots": int(self.count[i, j]),
                    }
                    for j, name in enumerate(self.sensor_name)
                },
            }
            out.append(row)
        return out


def _index(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each of ``values`` in ``keys`` and whether it is there."""
    values = np.asarray(values)
    if keys.size == 0:
        return np.zeros(values.shape, dtype=np.int64), np.zeros(values.shape, dtype=bool)
    order = np.argsort(keys)
    pos = np.clip(np.searchsorted(keys[order], values), 0, keys.size - 1)
    return order[pos], keys[order][pos] == values


def _f(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def visibility(
    truth: Any,
    plots: PlotBatch,
    labels: PlotTruth,
    sensors: Sequence[Any],
) -> Visibility:
    """Tabulate the detections of every round of ``truth`` (``round_id``, ``launch_time_s``,
    ``impact_time_s``, optional ``munition``) in ``plots`` with truth ``labels``, for the
    ``sensors`` (objects with ``sensor_id`` and ``name``: radars or ``SensorInfo``)."""
    rid = np.asarray(truth.round_id, dtype=np.int64)
    names_of = getattr(truth, "munition", None)
    munition = tuple(str(m) for m in names_of) if names_of is not None else ("",) * rid.size
    sid = np.array([s.sensor_id for s in sensors], dtype=np.int64)
    names = tuple(s.name for s in sensors)
    shape = (rid.size, sid.size)
    first = np.full(shape, np.nan)
    last = np.full(shape, np.nan)
    first_report = np.full(shape, np.nan)
    count = np.zeros(shape, dtype=np.int64)
    r_idx, is_round = _index(rid, labels.round_id)
    s_idx, known = _index(sid, plots.sensor_id)
    keep = is_round & known
    r_idx, s_idx = r_idx[keep], s_idx[keep]
    t = plots.time_s[keep]
    rep = plots.report_time_s[keep]  # type: ignore[index]
    np.add.at(count, (r_idx, s_idx), 1)
    np.fmin.at(first, (r_idx, s_idx), t)
    np.fmax.at(last, (r_idx, s_idx), t)
    np.fmin.at(first_report, (r_idx, s_idx), rep)
    return Visibility(
        rid,
        munition,
        np.asarray(truth.launch_time_s, dtype=float),
        np.asarray(truth.impact_time_s, dtype=float),
        sid,
        names,
        first,
        last,
        count,
        first_report,
    )
