"""Aiming: the elevation, azimuth and charge that land a round on a ground point.

A launch crew (and the scenario generator) aims at a point; the defender's fire control needs the
same machinery for its own rounds. Range as a function of elevation rises to a maximum and falls
again, so a reachable range has a low-angle and a high-angle solution. Both are found from a
range table (one batched flight over a grid of elevations, cached per munition, charge and
atmosphere), then refined by flying the actual rounds — wind, terrain height and all — and
correcting azimuth by the cross-range miss and elevation by the range miss over the table's slope
until every round lands within a centimetre-level tolerance. All rounds are refined together, so
aiming a raid costs a handful of batched flights, not a root-finder per round.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import Munition
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.physics.wind import CALM, Wind


@dataclass(frozen=True)
class RangeTable:
    """Range and time of flight against elevation for one munition and charge, calm air."""

    elevation_rad: np.ndarray
    range_m: np.ndarray
    time_of_flight_s: np.ndarray

    @property
    def best(self) -> int:
        """Index of the maximum range in the table."""
        return int(np.argmax(self.range_m))

    def elevation_for(self, ground_range_m: np.ndarray, high_angle: np.ndarray) -> np.ndarray:
        """Elevations that reach ``ground_range_m`` on the chosen branch (NaN when unreachable)."""
        i = self.best
        r = np.asarray(ground_range_m, dtype=float)
        low = np.interp(r, self.range_m[: i + 1], self.elevation_rad[: i + 1], right=np.nan)
        # the high branch has decreasing range: reverse it for np.interp
        hr = self.range_m[i:][::-1]
        he = self.elevation_rad[i:][::-1]
        high = np.interp(r, hr, he, left=np.nan, right=np.nan)
        high = np.where(r < hr[0], he[0], high)
        low = np.where(r < self.range_m[0], self.elevation_rad[0], low)
        return np.where(high_angle, high, low)

    def slope(self, elevation_rad: np.ndarray) -> np.ndarray:
        """dRange/dElevation (m/rad) interpolated from the table."""
        d = np.gradient(self.range_m, self.elevation_rad)
        return np.interp(elevation_rad, self.elevation_rad, d)


def _key(m: Munition) -> tuple:
    return (
        m.name,
        m.mass_kg,
        m.burnout_mass_kg,
        m.diameter_m,
        m.burn_time_s,
        m.thrust_n,
        tuple(m.mach),
        tuple(m.cd),
        tuple(m.charges.items()),
        m.elevation_min_deg,
        m.elevation_max_deg,
    )


_MUNITIONS: dict[tuple, Munition] = {}


def range_table(
    munition: Munition, charge: str | None = None, atmosphere: Atmosphere = STANDARD
) -> RangeTable:
    """The calm-air range table of a munition and charge over its elevation limits (cached)."""
    key = _key(munition)
    _MUNITIONS[key] = munition
    return _range_table(key, charge, atmosphere)


@lru_cache(maxsize=256)
def _range_table(key: tuple, charge: str | None, atmosphere: Atmosphere) -> RangeTable:
    m = _MUNITIONS[key]
    v = m.charge_velocity(charge)
    lo, hi = np.radians(m.elevation_min_deg), np.radians(m.elevation_max_deg)
    lo = max(lo, np.radians(1.0))
    el = np.linspace(lo, hi, 97)
    flight = fly(
        launch_state(np.zeros((el.size, 3)), 0.0, el, v),
        Projectiles.repeat(m, el.size),
        atmosphere=atmosphere,
    )
    return RangeTable(el, flight.range_m, flight.time_of_flight_s)


def max_range(
    munition: Munition,
    charge: str | None = None,
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    azimuth_rad: float = 0.0,
) -> tuple[float, float]:
    """(maximum ground range in m, elevation in rad achieving it) within the elevation limits.

    The table's best point is refined by a parabola through its neighbours (range is smooth and
    quadratic near its maximum), then flown once more to report the range actually reached.
    """
    table = range_table(munition, charge, atmosphere)
    i = table.best
    el = table.elevation_rad
    if 0 < i < el.size - 1:
        y0, y1, y2 = table.range_m[i - 1 : i + 2]
        step = el[1] - el[0]
        denom = y0 - 2 * y1 + y2
        best = el[i] + (0.5 * step * (y0 - y2) / denom if denom != 0 else 0.0)
    else:
        best = el[i]
    v = munition.charge_velocity(charge)
    candidates = np.array([best, el[i]])
    flight = fly(
        launch_state(np.zeros((2, 3)), azimuth_rad, candidates, v),
        Projectiles.repeat(munition, 2),
        atmosphere=atmosphere,
        wind=wind,
    )
    j = int(np.nanargmax(flight.range_m))
    return float(flight.range_m[j]), float(candidates[j])


def solve_elevation(
    munition: Munition,
    ground_range_m: ArrayLike,
    *,
    charge: str | None = None,
    high_angle: bool | None = None,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
) -> np.ndarray:
    """Elevation(s) in rad that land at ``ground_range_m`` from a launcher at the origin, firing
    north (NaN where out of reach)."""
    r = np.atleast_1d(np.asarray(ground_range_m, dtype=float))
    target = np.zeros((r.size, 3))
    target[:, 1] = r
    sol = aim(
        munition,
        np.zeros((r.size, 3)),
        target,
        charge=charge,
        high_angle=high_angle,
        atmosphere=atmosphere,
        wind=wind,
    )
    return np.where(sol.feasible, sol.elevation_rad, np.nan)


@dataclass(frozen=True)
class AimSolution:
    """How to fire N rounds so that they land on their targets (row per round)."""

    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    charge: tuple[str, ...]
    muzzle_velocity_mps: np.ndarray
    impact_enu: np.ndarray
    time_of_flight_s: np.ndarray
    miss_m: np.ndarray
    feasible: np.ndarray


def default_high_angle(munition: Munition) -> bool:
    """Mortars fire high angle (above 45°); guns, howitzers and rockets low angle."""
    return munition.kind == "mortar"


def choose_charges(
    munition: Munition,
    ground_range_m: np.ndarray,
    atmosphere: Atmosphere = STANDARD,
    margin: float = 0.97,
) -> tuple[str, ...]:
    """The lowest charge whose calm maximum range covers each range with a margin (the top
    charge when none does)."""
    names = sorted(munition.charges, key=munition.charges.__getitem__)
    reach = np.array([range_table(munition, c, atmosphere).range_m.max() for c in names])
    r = np.asarray(ground_range_m, dtype=float)
    idx = np.searchsorted(reach * margin, r)  # first charge with reach*margin >= r
    idx = np.minimum(idx, len(names) - 1)
    return tuple(names[i] for i in idx)


def aim(
    munition: Munition,
    launch_enu: ArrayLike,
    target_enu: ArrayLike,
    *,
    charge: str | None = None,
    high_angle: bool | None = None,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    tolerance_m: float = 0.05,
    max_iterations: int = 12,
) -> AimSolution:
    """Fire solutions for N rounds of one munition from ``launch_enu`` to ``target_enu`` (N, 3).

    ``charge`` None picks the lowest charge that reaches (mortars and guns); ``high_angle`` None
    uses the munition's usual branch. The target's height is the ground height at impact.
    Rounds out of reach get ``feasible`` False and the maximum-range elevation.
    """
    launch = np.atleast_2d(np.asarray(launch_enu, dtype=float))
    target = np.atleast_2d(np.asarray(target_enu, dtype=float))
    launch, target = np.broadcast_arrays(launch, target)
    n = launch.shape[0]
    if not (np.all(np.isfinite(launch)) and np.all(np.isfinite(target))):
        raise ValueError("launch and target positions must be finite")
    high = default_high_angle(munition) if high_angle is None else bool(high_angle)
    delta = target[:, :2] - launch[:, :2]
    rng = np.hypot(delta[:, 0], delta[:, 1])
    bearing = np.arctan2(delta[:, 0], delta[:, 1])
    charges = (
        (munition.charge_velocity(charge) and (str(charge),) * n)
        if charge is not None
        else choose_charges(munition, rng, atmosphere)
    )
    speed = np.array([munition.charges[c] for c in charges])
    elevation = np.empty(n)
    slope_tables: dict[str, RangeTable] = {}
    for c in set(charges):
        rows = np.array([k for k in range(n) if charges[k] == c])
        table = range_table(munition, c, atmosphere)
        slope_tables[c] = table
        elevation[rows] = table.elevation_for(rng[rows], np.full(rows.size, high))
    feasible = np.isfinite(elevation)
    for c in set(charges):
        rows = np.array([k for k in range(n) if charges[k] == c and not feasible[k]], dtype=int)
        if rows.size:
            elevation[rows] = slope_tables[c].elevation_rad[slope_tables[c].best]
    azimuth = bearing.copy()
    bodies = Projectiles.repeat(munition, n)
    el_lo = np.radians(munition.elevation_min_deg)
    el_hi = np.radians(munition.elevation_max_deg)
    along = np.stack([np.sin(bearing), np.cos(bearing)], axis=1)
    cross = np.stack([np.cos(bearing), -np.sin(bearing)], axis=1)
    flight = None
    miss = np.full(n, np.inf)
    for _ in range(max_iterations):
        flight = fly(
            launch_state(launch, azimuth, elevation, speed),
            bodies,
            atmosphere=atmosphere,
            wind=wind,
            ground_height_m=target[:, 2],
        )
        err = flight.impact_state[:, :2] - target[:, :2]
        miss = np.hypot(err[:, 0], err[:, 1])
        todo = feasible & ~(miss < tolerance_m)
        if not np.any(todo):
            break
        e_along = np.einsum("ij,ij->i", err, along)
        e_cross = np.einsum("ij,ij->i", err, cross)
        reached = np.maximum(flight.range_m, 1.0)
        azimuth = np.where(todo, azimuth - e_cross / reached, azimuth)
        slope = np.array(
            [slope_tables[c].slope(e) for c, e in zip(charges, elevation, strict=True)]
        )
        slope = np.where(np.abs(slope) < 50.0, np.sign(slope + 1e-12) * 50.0, slope)
        step = np.clip(-e_along / slope, -np.radians(3.0), np.radians(3.0))
        elevation = np.where(todo, np.clip(elevation + step, el_lo, el_hi), elevation)
    assert flight is not None
    feasible = feasible & (miss < max(1.0, tolerance_m))
    return AimSolution(
        azimuth_rad=np.mod(azimuth, 2 * np.pi),
        elevation_rad=elevation,
        charge=tuple(charges),
        muzzle_velocity_mps=speed,
        impact_enu=np.column_stack([flight.impact_state[:, :2], target[:, 2]]),
        time_of_flight_s=flight.time_of_flight_s,
        miss_m=miss,
        feasible=feasible,
    )
