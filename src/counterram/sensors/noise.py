"""What a radar measures of a target: its true spherical coordinates relative to the radar, and
the Gaussian errors added to them.

Kept apart from the scan logic so that the tracker's measurement function
(:mod:`counterram.tracking.measurement`) and the radar model can be checked against the same
definitions: range, azimuth as a compass bearing (clockwise from north, ``atan2(east, north)``,
in [0, 2π)), elevation above the radar's horizontal, and radial velocity positive when opening.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TWO_PI", "noisy", "spherical"]

TWO_PI = 2.0 * np.pi


def spherical(
    relative_position: np.ndarray, relative_velocity: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Range (m), azimuth (rad, [0, 2π)), elevation (rad) and radial velocity (m/s) of targets
    at ``relative_position`` (N, 3) ENU from the radar, moving at ``relative_velocity`` (N, 3)."""
    e, n, u = relative_position[:, 0], relative_position[:, 1], relative_position[:, 2]
    ground = np.hypot(e, n)
    rng_m = np.hypot(ground, u)
    az = np.mod(np.arctan2(e, n), TWO_PI)
    el = np.arctan2(u, ground)
    with np.errstate(divide="ignore", invalid="ignore"):
        rv = np.einsum("ij,ij->i", relative_position, relative_velocity) / rng_m
    return rng_m, az, el, rv


def noisy(
    range_m: np.ndarray,
    azimuth_rad: np.ndarray,
    elevation_rad: np.ndarray,
    radial_velocity_mps: np.ndarray,
    sigma: tuple[float, float, float, float | None],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four quantities with independent zero-mean Gaussian errors of standard deviations
    ``sigma`` = (range m, azimuth rad, elevation rad, radial velocity m/s or ``None``).

    Draws one (N, 3) or (N, 4) block of standard normals. Azimuth is wrapped to [0, 2π);
    radial velocity is NaN when its sigma is ``None`` (not measured). Range is not clipped: with
    σ of metres and ranges of kilometres a negative range does not occur in practice.
    """
    n = range_m.shape[0]
    measures_rv = sigma[3] is not None
    z = rng.standard_normal((n, 4 if measures_rv else 3))
    r = range_m + sigma[0] * z[:, 0]
    az = np.mod(azimuth_rad + sigma[1] * z[:, 1], TWO_PI)
    el = elevation_rad + sigma[2] * z[:, 2]
    rv = radial_velocity_mps + sigma[3] * z[:, 3] if measures_rv else np.full(n, np.nan)  # type: ignore[operator]
    return r, az, el, rv
