"""Sensors and effectors as written in scenario files.

Radars are the sensor package's configuration models (:mod:`counterram.sensors.config`) and guns
the engagement package's (:mod:`counterram.engagement.config`), re-exported here: one model per
equipment type whose defaults are the type's preset, so a file states where a radar or gun stands
and only the values it overrides. ``SensorSpec`` and ``EffectorSpec`` are discriminated unions on
``type`` so that further kinds plug in as new variants without touching the rest of the schema.

Gun defaults follow public figures (/work/shared FACTS §4: M61A1, 75 rounds/s, 1,550-round
magazine, ~1,100 m/s muzzle velocity [unverified], ~1.5 mrad dispersion [weak], azimuth ±150°,
elevation −25°…+85° [weak]); treat them as tunable. docs/engagement.md lists them with sources.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from counterram.engagement.config import GunConfig, NoFireArea, NoFireCircle, NoFireSector
from counterram.sensors.config import FcrConfig, LcmrConfig, MaskPoint, RadarConfig, WlrConfig

__all__ = [
    "EffectorSpec",
    "FcrConfig",
    "GunConfig",
    "GunSpec",
    "LcmrConfig",
    "MaskPoint",
    "NoFireArea",
    "NoFireCircle",
    "NoFireSector",
    "RadarSpec",
    "SensorSpec",
    "WlrConfig",
]

GunSpec = GunConfig
"""A C-RAM gun firing self-destructing rounds; the model lives in
:mod:`counterram.engagement.config`."""

RadarSpec = RadarConfig
"""A radar: counter-mortar (``lcmr``), weapon locating (``wlr``) or fire control (``fcr``); the
models and their per-type presets live in :mod:`counterram.sensors.config`."""

SensorSpec = RadarConfig
"""Any sensor; a union on ``type`` (the radar types today)."""

EffectorSpec = Annotated[GunConfig, Field(discriminator="type")]
"""Any effector; a union on ``type`` (one variant today)."""
