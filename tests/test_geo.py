"""Geodetic ⇄ site-frame conversions (counterram.geo)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from counterram.geo import Site, bearing_deg, ground_range_m, offset_enu

SITE = Site(33.30, 44.39, 34.0)

# WGS84 constants, written out here so the tests check pymap3d's use against the textbook.
A_M = 6_378_137.0
F = 1.0 / 298.257223563
E2 = F * (2.0 - F)


def _disc_points(rng: np.random.Generator, n: int, radius_m: float) -> tuple[np.ndarray, ...]:
    r = radius_m * np.sqrt(rng.random(n))
    az = rng.uniform(0.0, 2.0 * np.pi, n)
    return r * np.sin(az), r * np.cos(az)


def test_enu_round_trip_under_a_millimetre_at_30_km() -> None:
    rng = np.random.default_rng(1)
    e, n = _disc_points(rng, 2000, 30_000.0)
    e[:100], n[:100] = offset_enu(rng.uniform(0, 360, 100), 30_000.0)  # the rim itself
    u = rng.uniform(-100.0, 5000.0, e.size)
    lat, lon, alt = SITE.to_geodetic(e, n, u)
    e2, n2, u2 = SITE.to_enu(lat, lon, alt)
    err = np.sqrt((e2 - e) ** 2 + (n2 - n) ** 2 + (u2 - u) ** 2)
    assert err.max() < 1e-3


def test_geodetic_round_trip_under_a_millimetre() -> None:
    rng = np.random.default_rng(2)
    e, n = _disc_points(rng, 2000, 30_000.0)
    lat, lon, _ = SITE.to_geodetic(e, n, 0.0)
    alt = rng.uniform(0.0, 3000.0, e.size)
    e1, n1, u1 = SITE.to_enu(lat, lon, alt)
    lat2, lon2, alt2 = SITE.to_geodetic(e1, n1, u1)
    # Angles → metres with the Earth's radius (6.4e6 m): 1e-3 m ≈ 1.6e-10 rad.
    dn = np.radians(lat2 - lat) * 6.4e6
    de = np.radians(lon2 - lon) * 6.4e6 * np.cos(np.radians(lat))
    assert np.abs(dn).max() < 1e-3
    assert np.abs(de).max() < 1e-3
    assert np.abs(alt2 - alt).max() < 1e-3


def test_site_frame_round_trip_and_flat_ground() -> None:
    rng = np.random.default_rng(3)
    e, n = _disc_points(rng, 2000, 30_000.0)
    z = rng.uniform(0.0, 5000.0, e.size)
    lat, lon, alt = SITE.from_site(e, n, z)
    np.testing.assert_allclose(alt, SITE.alt_m + z, atol=1e-6)
    e2, n2, z2 = SITE.to_site(lat, lon, alt)
    err = np.sqrt((e2 - e) ** 2 + (n2 - n) ** 2 + (z2 - z) ** 2)
    assert err.max() < 1e-3
    # Without an altitude, points are on the flat ground of the site frame.
    _, _, zg = SITE.to_site(lat, lon)
    assert np.all(zg == 0.0)


def test_small_north_step_matches_meridian_radius() -> None:
    # A 0.001° step north at altitude h spans (M + h)·Δφ metres, with
    # M = a(1-e²)/(1-e² sin²φ)^1.5 the meridian radius of curvature (taken at the midpoint
    # latitude, exact to second order); the ENU north offset is that arc's chord projection,
    # shorter by arc³/(6 M²) ≈ 5e-9 m. Together the formula is good to far below 0.1 mm.
    dlat = 0.001
    phi = math.radians(SITE.lat_deg + dlat / 2)
    m = A_M * (1 - E2) / (1 - E2 * math.sin(phi) ** 2) ** 1.5
    e, n, _ = SITE.to_enu(SITE.lat_deg + dlat, SITE.lon_deg, SITE.alt_m)
    assert float(n) == pytest.approx((m + SITE.alt_m) * math.radians(dlat), abs=1e-4)
    assert abs(float(e)) < 1e-3


def test_ground_drops_below_the_tangent_plane() -> None:
    # A ground point at distance d sits d²/(2R) below the tangent plane; R lies between the
    # meridian (6.36e6 m) and prime-vertical (6.385e6 m) radii at 33° N, a 0.4 % spread, so the
    # drop at 30 km (≈ 70.6 m) must match d²/(2·6.37e6) within 1 %.
    e, n = offset_enu(np.arange(0, 360, 30), 30_000.0)
    lat, lon, _ = SITE.to_geodetic(e, n, 0.0)
    _, _, u = SITE.to_enu(lat, lon, SITE.alt_m)
    expected = -(30_000.0**2) / (2 * 6.37e6)
    np.testing.assert_allclose(u, expected, rtol=0.01)


def test_bearings_ranges_and_offsets() -> None:
    np.testing.assert_allclose(bearing_deg([0, 1, 0, -1], [1, 0, -1, 0]), [0, 90, 180, 270])
    assert ground_range_m(3.0, 4.0) == pytest.approx(5.0)
    rng = np.random.default_rng(4)
    b = rng.uniform(0, 360, 100)
    r = rng.uniform(0, 1e4, 100)
    e, n = offset_enu(b, r)
    np.testing.assert_allclose(ground_range_m(e, n), r, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(np.mod(bearing_deg(e, n) - b + 180, 360) - 180, 0, atol=1e-9)


def test_site_rejects_bad_coordinates() -> None:
    with pytest.raises(ValueError, match="lat_deg"):
        Site(91.0, 0.0)
    with pytest.raises(ValueError, match="lon_deg"):
        Site(0.0, 181.0)


def test_compiled_enu_to_geodetic_agrees_with_pymap3d() -> None:
    """The engine's own ENU → geodetic kernel against pymap3d over 40 km and 12 km of height:
    both are exact methods, so they agree to round-off (1e-12 degree is 0.1 µm)."""
    import pymap3d

    rng = np.random.default_rng(5)
    e, n = _disc_points(rng, 5000, 40_000.0)
    u = rng.uniform(-500.0, 12_000.0, e.size)
    lat, lon, alt = SITE.to_geodetic(e, n, u)
    ref = pymap3d.enu2geodetic(e, n, u, SITE.lat_deg, SITE.lon_deg, SITE.alt_m, deg=True)
    assert np.abs(lat - ref[0]).max() < 1e-12
    assert np.abs(lon - ref[1]).max() < 1e-12
    assert np.abs(alt - ref[2]).max() < 1e-6
    south = Site(-54.8, -68.3, 10.0)  # another hemisphere and the other side of Greenwich
    lat, lon, _ = south.to_geodetic(e[:50], n[:50], u[:50])
    ref = pymap3d.enu2geodetic(e[:50], n[:50], u[:50], -54.8, -68.3, 10.0, deg=True)
    assert np.abs(lat - ref[0]).max() < 1e-12 and np.abs(lon - ref[1]).max() < 1e-12
    scalar = SITE.to_geodetic(0.0, 0.0, 0.0)
    assert scalar[0].shape == () and float(scalar[0]) == pytest.approx(SITE.lat_deg, abs=1e-12)
