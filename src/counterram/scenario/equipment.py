"""Sensors and effectors as written in scenario files.

Radars are the sensor package's configuration models (:mod:`counterram.sensors.config`),
re-exported here: one model per radar type whose defaults are the type's preset, so a file states
where a radar stands and only the values it overrides. ``SensorSpec`` and ``EffectorSpec`` are
discriminated unions on ``type`` so that further kinds plug in as new variants without touching
the rest of the schema.

Gun defaults follow public figures (/work/shared FACTS §4: M61A1, 75 rounds/s, 1,550-round
magazine, ~1,100 m/s muzzle velocity [unverified], ~1.5 mrad dispersion [weak], azimuth ±150°,
elevation −25°…+85° [weak]); treat them as tunable.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from counterram.scenario.geometry import Position, StrictModel
from counterram.sensors.config import FcrConfig, LcmrConfig, MaskPoint, RadarConfig, WlrConfig

__all__ = [
    "EffectorSpec",
    "FcrConfig",
    "GunSpec",
    "LcmrConfig",
    "MaskPoint",
    "NoFireSector",
    "RadarSpec",
    "SensorSpec",
    "WlrConfig",
]


class NoFireSector(StrictModel):
    """Azimuths (clockwise from ``from_azimuth_deg`` to ``to_azimuth_deg``) the gun must not fire
    into below ``max_elevation_deg`` (e.g. low over a hospital)."""

    from_azimuth_deg: float = Field(ge=0.0, lt=360.0)
    to_azimuth_deg: float = Field(ge=0.0, lt=360.0)
    max_elevation_deg: float = Field(default=90.0, ge=-90.0, le=90.0)


class GunSpec(StrictModel):
    """A C-RAM gun firing self-destructing rounds."""

    name: str = Field(min_length=1)
    type: Literal["gun"]
    position: Position
    ammunition: str = Field(default="20mm-sd", description="Interceptor round (catalogue name)")
    magazine: int = Field(default=1550, gt=0, description="Rounds loaded")
    rate_of_fire_rps: float = Field(default=75.0, gt=0.0, description="Rounds per second")
    muzzle_velocity_mps: float = Field(default=1100.0, gt=0.0)
    dispersion_mrad: float = Field(default=1.5, gt=0.0, description="Per-axis 1-sigma")
    max_range_m: float = Field(default=2000.0, gt=0.0, description="Longest engagement range")
    heading_deg: float = Field(default=0.0, ge=0.0, lt=360.0,
                               description="Centre of azimuth travel, compass deg")
    azimuth_limit_deg: float = Field(default=150.0, gt=0.0, le=180.0,
                                     description="Travel either side of heading_deg")
    elevation_min_deg: float = Field(default=-25.0, ge=-90.0, le=90.0)
    elevation_max_deg: float = Field(default=85.0, ge=-90.0, le=90.0)
    no_fire_sectors: tuple[NoFireSector, ...] = ()

    @model_validator(mode="after")
    def _elevations_ordered(self) -> GunSpec:
        if self.elevation_min_deg >= self.elevation_max_deg:
            raise PydanticCustomError(
                "order",
                "elevation_min_deg must be below elevation_max_deg",
                {"allowed": "elevation_min_deg < elevation_max_deg"},
            )
        return self


RadarSpec = RadarConfig
"""A radar: counter-mortar (``lcmr``), weapon locating (``wlr``) or fire control (``fcr``); the
models and their per-type presets live in :mod:`counterram.sensors.config`."""

SensorSpec = RadarConfig
"""Any sensor; a union on ``type`` (the radar types today)."""

EffectorSpec = Annotated[GunSpec, Field(discriminator="type")]
"""Any effector; a union on ``type`` (one variant today)."""
