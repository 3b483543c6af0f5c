"""Radar plots: what a sensor reports and what the engine receives.

A plot batch is a struct of arrays (one row per plot) so that thousands of plots cross the
sensor → engine boundary without per-object Python overhead. The true round id of a simulated plot
is kept in a separate :class:`PlotTruth` so that nothing the engine sees can leak truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FALSE_ALARM_ID = -1
"""Truth id of a plot that no round caused."""


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
)


@dataclass(frozen=True)
class PlotTruth:
    """Simulation-only labels of a :class:`PlotBatch`, row for row: the round that caused each plot
    (``FALSE_ALARM_ID`` for false alarms). Never passed to the engine."""

    round_id: np.ndarray
