"""Radar plots: what a sensor reports and what the engine receives.

A plot batch is a struct of arrays (one row per plot) so that thousands of plots cross the
sensor → engine boundary without per-object Python overhead. The true round id of a simulated plot
is kept in a separate :class:`PlotTruth` so that nothing the engine sees can leak truth.

``time_s`` is when the radar measured a plot; ``report_time_s`` is when the plot reaches the
engine (measurement time plus the radar's reporting latency). The engine must not use a plot
before its report time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FALSE_ALARM_ID = -1
"""Truth id of a plot that no round caused."""

UNLABELLED_ID = -2
"""Truth id of a plot whose cause is not known (a plot read from a feed without truth labels)."""


@dataclass(frozen=True)
class SensorInfo:
    """What the engine knows about a sensor: where it stands and how noisy it is.

    Sigmas are one-standard-deviation Gaussian measurement errors. ``sigma_radial_velocity_mps``
    is ``None`` for a sensor that does not measure Doppler.
    """

    sensor_id: int
    name: str
    position_enu: tuple[float, float, float]
    sigma_range_m: float
    sigma_azimuth_rad: float
    sigma_elevation_rad: float
    sigma_radial_velocity_mps: float | None = None


@dataclass(frozen=True)
class PlotBatch:
    """Plots of one or more scans, ordered by ``time_s``.

    ``radial_velocity_mps`` holds NaN where the sensor does not measure it. Azimuth is a compass
    bearing (clockwise from north) in [0, 2π); elevation is above the sensor's horizontal.
    """

    time_s: np.ndarray
    sensor_id: np.ndarray
    range_m: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    radial_velocity_mps: np.ndarray
    snr_db: np.ndarray
    report_time_s: np.ndarray | None = None
    """When each plot reaches the engine; ``None`` given = ``time_s`` (no latency)."""

    def __post_init__(self) -> None:
        if self.report_time_s is None:
            object.__setattr__(self, "report_time_s", self.time_s)

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @classmethod
    def empty(cls) -> PlotBatch:
        """A batch with no plots (a scan that saw nothing)."""
        z = np.zeros(0)
        return cls(z, np.zeros(0, dtype=np.int32), z, z, z, z, z)

    def take(self, index: np.ndarray) -> PlotBatch:
        """The plots selected by an index or boolean mask, in that order."""
        return PlotBatch(
            self.time_s[index],
            self.sensor_id[index],
            self.range_m[index],
            self.azimuth_rad[index],
            self.elevation_rad[index],
            self.radial_velocity_mps[index],
            self.snr_db[index],
            self.report_time_s[index],  # type: ignore[index]
        )

    @classmethod
    def concatenate(cls, batches: list[PlotBatch]) -> PlotBatch:
        """Join batches and sort the result by time (stable, so equal times keep their order)."""
        if not batches:
            return cls.empty()
        joined = cls(
            *(np.concatenate([getattr(b, f) for b in batches]) for f in _FIELDS)
        )
        return joined.take(np.argsort(joined.time_s, kind="stable"))


_FIELDS = (
    "time_s",
    "sensor_id",
    "range_m",
    "azimuth_rad",
    "elevation_rad",
    "radial_velocity_mps",
    "snr_db",
    "report_time_s",
)


@dataclass(frozen=True)
class PlotTruth:
    """Simulation-only labels of a :class:`PlotBatch`, row for row: the round that caused each plot
    (``FALSE_ALARM_ID`` for false alarms). Never passed to the engine.

    ``state`` (N, 6), when kept, is the round's true ENU state at the plot's measurement time
    (NaN rows for false alarms): what measurement errors are computed against.
    """

    round_id: np.ndarray
    state: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.round_id.shape[0])

    @classmethod
    def empty(cls) -> PlotTruth:
        return cls(np.zeros(0, dtype=np.int64), np.zeros((0, 6)))

    def take(self, index: np.ndarray) -> PlotTruth:
        return PlotTruth(self.round_id[index], None if self.state is None else self.state[index])


def concatenate_labelled(
    pairs: list[tuple[PlotBatch, PlotTruth]], *, by: str = "time_s"
) -> tuple[PlotBatch, PlotTruth]:
    """Join (plots, truth) pairs and sort both, row for row, by ``by`` (``time_s`` or
    ``report_time_s``; stable, so equal times keep their order)."""
    if not pairs:
        return PlotBatch.empty(), PlotTruth.empty()
    plots = PlotBatch(
        *(np.concatenate([getattr(p, f) for p, _ in pairs]) for f in _FIELDS)
    )
    states = [t.state for _, t in pairs]
    truth = PlotTruth(
        np.concatenate([t.round_id for _, t in pairs]),
        None if any(s is None for s in states) else np.concatenate(states),  # type: ignore[arg-type]
    )
    order = np.argsort(getattr(plots, by), kind="stable")
    return plots.take(order), truth.take(order)
