"""What the engine knows of a scenario's sensors, without the radar simulation.

The engine runs on plots, live or simulated; it must not depend on how a radar is simulated
(:mod:`counterram.sensors.radar`: scans, detection, noise, clutter). What it needs of the sensors
is here: each sensor's :class:`~counterram.sensors.plots.SensorInfo` (id, position, noise) from
the scenario, its revisit (the tracker's look clock), the simulation step a set of sensors
implies, and the :class:`Cues` the engine gives a fire-control radar. Sensor ids are 1, 2, ...
in the scenario's file order, as the radar simulation numbers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from counterram.scenario.resolved import resolve
from counterram.sensors.config import FcrConfig, RadarConfig
from counterram.sensors.plots import SensorInfo

__all__ = ["Cues", "SensorRoster", "sensor_info"]


def sensor_info(config: RadarConfig, sensor_id: int, position_enu: ArrayLike) -> SensorInfo:
    """A radar's :class:`SensorInfo`: its id, position and 1σ errors (mrad → rad)."""
    p = np.asarray(position_enu, dtype=float)
    return SensorInfo(
        int(sensor_id), config.name, (float(p[0]), float(p[1]), float(p[2])),
        config.range_sigma_m, config.azimuth_sigma_mrad * 1e-3,
        config.elevation_sigma_mrad * 1e-3, config.radial_velocity_sigma_mps,
    )


@dataclass(frozen=True)
class SensorRoster:
    """A scenario's sensors as the engine sees them: ``infos`` in id order, ``revisit_s`` by
    sensor id and ``cued`` (the fire-control radars, which look only where cued)."""

    infos: tuple[SensorInfo, ...]
    revisit_s: dict[int, float]
    cued: frozenset[int]

    @classmethod
    def from_scenario(cls, scenario: Any) -> SensorRoster:
        """The sensors of a :class:`~counterram.scenario.Scenario` or its resolved form."""
        world = resolve(scenario)
        infos, revisit, cued = [], {}, set()
        for index, s in enumerate(world.sensors):
            sid = index + 1
            infos.append(sensor_info(s.spec, sid, s.position_m))
            revisit[sid] = float(s.spec.revisit_s)
            if isinstance(s.spec, FcrConfig):
                cued.add(sid)
        return cls(tuple(infos), revisit, frozenset(cued))

    @property
    def default_step_s(self) -> float:
        """The simulation step of these sensors: the fastest search radar's revisit, at most
        1 s and at least 0.1 s (0.5 s when there is no search radar)."""
        search = [r for sid, r in self.revisit_s.items() if sid not in self.cued]
        if not search:
            return 0.5
        return float(min(max(min(search), 0.1), 1.0))


@dataclass(frozen=True)
class Cues:
    """Positions a fire-control radar is asked to look at: ``time_s`` (C,) when each cue was
    given and ``position_enu`` (C, 3) where to look (ENU, m)."""

    time_s: np.ndarray
    position_enu: np.ndarray

    def __post_init__(self) -> None:
        t = np.atleast_1d(np.asarray(self.time_s, dtype=float))
        p = np.asarray(self.position_enu, dtype=float).reshape(-1, 3)
        if t.shape[0] != p.shape[0]:
            raise ValueError(f"Cues: {t.shape[0]} times for {p.shape[0]} positions")
        object.__setattr__(self, "time_s", t)
        object.__setattr__(self, "position_enu", p)

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @classmethod
    def at(cls, time_s: float, position_enu: ArrayLike) -> Cues:
        """Cues all given at one time."""
        p = np.asarray(position_enu, dtype=float).reshape(-1, 3)
        return cls(np.full(p.shape[0], float(time_s)), p)

    def active(self, now_s: float, hold_s: float) -> np.ndarray:
        """Positions (K, 3) of the cues given in ``(now_s - hold_s, now_s]``."""
        keep = (self.time_s <= now_s) & (self.time_s > now_s - hold_s)
        return self.position_enu[keep]
