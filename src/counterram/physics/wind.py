"""Horizontal wind: a constant vector or a profile of layers by height.

Drag acts on the velocity relative to the air, so wind moves impact points and (through the
thrust-along-air-velocity model of a rocket's weathercocking) turns rockets into the wind.
Between layer heights the wind is linear; below the lowest and above the highest layer it is
held constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Wind:
    """Wind as a function of height above the site (m) → ENU vector (m/s), vertical component 0."""

    heights_m: tuple[float, ...] = (0.0,)
    east_mps: tuple[float, ...] = (0.0,)
    north_mps: tuple[float, ...] = (0.0,)

    def __post_init__(self) -> None:
        n = len(self.heights_m)
        if n == 0 or len(self.east_mps) != n or len(self.north_mps) != n:
            raise ValueError("wind layers need equally many heights, east and north values (≥ 1)")
        values = np.array([self.heights_m, self.east_mps, self.north_mps], dtype=float)
        if not np.all(np.isfinite(values)):
            raise ValueError("wind heights and components must be finite numbers")
        if np.any(np.diff(values[0]) <= 0):
            raise ValueError("wind layer heights must be strictly increasing")
        if np.any(np.hypot(values[1], values[2]) > 100.0):
            raise ValueError("wind speed must be at most 100 m/s")

    @classmethod
    def constant(cls, east_mps: float, north_mps: float) -> Wind:
        """The same wind at every height."""
        return cls((0.0,), (float(east_mps),), (float(north_mps),))

    @classmethod
    def layers(cls, heights_m: ArrayLike, east_mps: ArrayLike, north_mps: ArrayLike) -> Wind:
        """A profile: wind given at increasing heights, linear in between."""
        return cls(
            tuple(float(v) for v in np.atleast_1d(heights_m)),
            tuple(float(v) for v in np.atleast_1d(east_mps)),
            tuple(float(v) for v in np.atleast_1d(north_mps)),
        )

    @property
    def is_constant(self) -> bool:
        """True when the wind does not change with height."""
        return len(self.heights_m) == 1 or (
            len(set(self.east_mps)) == 1 and len(set(self.north_mps)) == 1
        )

    @property
    def is_calm(self) -> bool:
        """True when there is no wind at any height."""
        return not any(self.east_mps) and not any(self.north_mps)

    def components(self, height_m: np.ndarray) -> tuple[np.ndarray | float, np.ndarray | float]:
        """(east, north) wind at the heights; scalars when the wind is constant (fast path)."""
        if self.is_constant:
            return self.east_mps[0], self.north_mps[0]
        h = np.asarray(height_m, dtype=float)
        return (
            np.interp(h, self.heights_m, self.east_mps),
            np.interp(h, self.heights_m, self.north_mps),
        )

    def at(self, height_m: ArrayLike) -> np.ndarray:
        """Wind vectors, shape (..., 3), at heights above the site."""
        h = np.asarray(height_m, dtype=float)
        e, n = self.components(h)
        out = np.zeros((*h.shape, 3))
        out[..., 0] = e
        out[..., 1] = n
        return out


CALM = Wind()
"""No wind."""
