"""ICAO / ISA standard atmosphere (ISO 2533, ICAO Doc 7488) up to 47 km geopotential height.

Drag scales with air density and the drag coefficient depends on Mach number, so every trajectory
needs density and speed of sound as functions of height. The closed-form layer equations are
evaluated here; because the integrator calls them millions of times, :meth:`Atmosphere.table`
also tabulates density and speed of sound on a dense uniform height grid, looked up by index
arithmetic (no search), with an interpolation error below 1e-7 relative.

A temperature offset shifts temperature at every height while pressure keeps its standard
profile (the usual "ISA + ΔT" convention of ballistic and performance tables); density follows
from the gas law.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from counterram.physics.constants import (
    AIR_GAMMA,
    AIR_GAS_CONSTANT_JPKGK,
    EARTH_RADIUS_M,
    STANDARD_GRAVITY_MPS2,
)

# ISA layer bases: geopotential height (m), temperature (K), lapse rate (K/m).
_BASE_H = np.array([0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0])
_BASE_T = np.array([288.15, 216.65, 216.65, 228.65, 270.65])
_LAPSE = np.array([-0.0065, 0.0, 0.001, 0.0028, 0.0])
_P0 = 101_325.0


def _base_pressures() -> np.ndarray:
    p = [_P0]
    for i in range(len(_BASE_H) - 1):
        dh = _BASE_H[i + 1] - _BASE_H[i]
        p.append(_layer_pressure(p[-1], _BASE_T[i], _LAPSE[i], dh))
    return np.array(p)


def _layer_pressure(pb: float | np.ndarray, tb, lapse, dh):
    k = STANDARD_GRAVITY_MPS2 / AIR_GAS_CONSTANT_JPKGK
    if np.ndim(lapse) == 0:
        if lapse == 0.0:
            return pb * np.exp(-k * dh / tb)
        return pb * ((tb + lapse * dh) / tb) ** (-k / lapse)
    safe = np.where(lapse == 0.0, 1.0, lapse)
    power = pb * ((tb + lapse * dh) / tb) ** (-k / safe)
    iso = pb * np.exp(-k * dh / tb)
    return np.where(lapse == 0.0, iso, power)


_BASE_P = _base_pressures()

MAX_ALTITUDE_M = 47_000.0
MIN_ALTITUDE_M = -2_000.0


@dataclass(frozen=True)
class AtmosphereState:
    """Air properties at a set of heights (arrays of one shape)."""

    temperature_k: np.ndarray
    pressure_pa: np.ndarray
    density_kgpm3: np.ndarray
    speed_of_sound_mps: np.ndarray


@dataclass(frozen=True)
class AtmosphereTable:
    """Density and speed of sound on a uniform height grid for fast lookup by the integrator."""

    height0_m: float
    step_m: float
    density: np.ndarray
    speed_of_sound: np.ndarray

    @property
    def stacked(self) -> np.ndarray:
        """(2, n) array of density and speed of sound, the layout the compiled kernels read."""
        return np.ascontiguousarray(np.stack([self.density, self.speed_of_sound]))

    def lookup(self, height_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(density, speed of sound) at heights above the site, linear between grid nodes."""
        x = (height_m - self.height0_m) * (1.0 / self.step_m)
        np.clip(x, 0.0, self.density.shape[0] - 1.000001, out=x)
        i = x.astype(np.intp)
        w = x - i
        d0 = self.density[i]
        a0 = self.speed_of_sound[i]
        rho = d0 + w * (self.density[i + 1] - d0)
        a = a0 + w * (self.speed_of_sound[i + 1] - a0)
        return rho, a


@dataclass(frozen=True)
class Atmosphere:
    """The standard atmosphere seen from a site.

    Heights passed to the methods are metres above the site frame's origin, whose altitude above
    mean sea level is ``site_altitude_m``.
    """

    site_altitude_m: float = 0.0
    temperature_offset_k: float = 0.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.site_altitude_m) or not (
            MIN_ALTITUDE_M <= self.site_altitude_m <= 10_000.0
        ):
            raise ValueError(
                f"site_altitude_m must be within [{MIN_ALTITUDE_M:g}, 10000] m, "
                f"got {self.site_altitude_m!r}"
            )
        if not np.isfinite(self.temperature_offset_k) or abs(self.temperature_offset_k) > 60.0:
            raise ValueError(
                "temperature_offset_k must be within [-60, 60] K, "
                f"got {self.temperature_offset_k!r}"
            )

    def at(self, height_m: ArrayLike) -> AtmosphereState:
        """Temperature, pressure, density and speed of sound at heights above the site."""
        h_geometric = np.clip(
            np.asarray(height_m, dtype=float) + self.site_altitude_m, MIN_ALTITUDE_M, MAX_ALTITUDE_M
        )
        h = EARTH_RADIUS_M * h_geometric / (EARTH_RADIUS_M + h_geometric)  # geopotential
        layer = np.clip(np.searchsorted(_BASE_H, h, side="right") - 1, 0, len(_BASE_H) - 1)
        dh = h - _BASE_H[layer]
        tb = _BASE_T[layer]
        lapse = _LAPSE[layer]
        t_std = tb + lapse * dh
        p = _layer_pressure(_BASE_P[layer], tb, lapse, dh)
        t = t_std + self.temperature_offset_k
        rho = p / (AIR_GAS_CONSTANT_JPKGK * t)
        a = np.sqrt(AIR_GAMMA * AIR_GAS_CONSTANT_JPKGK * t)
        return AtmosphereState(t, p, rho, a)

    def density(self, height_m: ArrayLike) -> np.ndarray:
        """Air density (kg/m³) at heights above the site."""
        return self.at(height_m).density_kgpm3

    def speed_of_sound(self, height_m: ArrayLike) -> np.ndarray:
        """Speed of sound (m/s) at heights above the site."""
        return self.at(height_m).speed_of_sound_mps

    @cached_property
    def table(self) -> AtmosphereTable:
        """Dense lookup table from 2 km below the site to the top of the model (5 m steps)."""
        step = 5.0
        h0 = MIN_ALTITUDE_M - self.site_altitude_m
        n = int((MAX_ALTITUDE_M - MIN_ALTITUDE_M) / step) + 1
        heights = h0 + step * np.arange(n)
        state = self.at(heights)
        return AtmosphereTable(h0, step, state.density_kgpm3, state.speed_of_sound_mps)


STANDARD = Atmosphere()
"""The ISA at sea level with no temperature offset."""
