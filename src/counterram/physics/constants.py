"""Physical constants and the project's single Earth model.

Every module takes gravity from here, so the flat-earth assumption lives in exactly one place.
The flat, non-rotating Earth with constant gravity is adequate inside ~30 km of the site; its
errors (curvature drop, Coriolis, gravity variation) are quantified in docs/physics.md.
"""

from __future__ import annotations

STANDARD_GRAVITY_MPS2 = 9.80665
"""Constant gravitational acceleration of the flat-earth model (ISO 80000-3 standard gravity)."""

EARTH_RADIUS_M = 6_356_766.0
"""Earth radius used by the ISA to convert geometric to geopotential height (ICAO Doc 7488)."""

AIR_GAS_CONSTANT_JPKGK = 287.05287
"""Specific gas constant of dry air, J/(kg·K) (ICAO Doc 7488, ISO 2533)."""

AIR_GAMMA = 1.4
"""Ratio of specific heats of dry air."""
