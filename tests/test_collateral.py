"""Tests of the expected-casualty model (FAA 14 CFR 420 App. C form) and debris footprints."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from scipy.integrate import solve_ivp
from scipy.special import owens_t
from scipy.stats import norm
from shapely import affinity
from shapely.geometry import Point, Polygon, box
from shapely.geometry.polygon import orient

from counterram.engagement.collateral import (
    PERSON_AREA_M2,
    DebrisModel,
    FallingDebris,
    PopulatedArea,
    SampledImpacts,
    casualty_area_m2,
    debris_footprint,
    dud_round_impacts,
    expected_casualties,
    gaussian_polygon_probability,
    self_destruct_fragments,
)
from counterram.engagement.polygon_mass import PolygonEdges, gaussian_masses
from counterram.physics.atmosphere import Atmosphere
from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.physics.wind import Wind

ROUND = load_catalogue().get("20mm-sd")


def _debris(means, covs, count=1.0, area=1.0) -> FallingDebris:
    m = np.atleast_2d(np.asarray(means, dtype=float))
    n = m.shape[0]
    c = np.broadcast_to(np.asarray(covs, dtype=float), (n, 2, 2)).copy()
    return FallingDebris(m, c, np.full(n, count), np.full(n, area), np.ones(n), np.ones(n))


def test_uniform_density_everywhere_gives_n_density_area() -> None:
    # 25 pieces of casualty area 0.8 m² over 2,000 people/km²: E_c = 25 × 2e-3 × 0.8 = 0.04
    rng = np.random.default_rng(0)
    d = _debris(rng.normal(0, 500, (5, 2)), np.diag([900.0, 400.0]), count=5.0, area=0.8)
    est = expected_casualties(d, background_density_per_km2=2000.0)
    assert est.total == pytest.approx(25 * 2000e-6 * 0.8, rel=1e-12)
    # the same density as one polygon that holds every ellipse (> 40 σ margins): same answer
    world = PopulatedArea(box(-1e5, -1e5, 1e5, 1e5), 2000.0, "everywhere")
    est2 = expected_casualties(d, [world])
    assert est2.total == pytest.approx(25 * 2000e-6 * 0.8, rel=1e-12)
    np.testing.assert_allclose(est2.by_piece.sum(), est2.total)


def test_ellipse_half_inside_polygon_gives_half() -> None:
    cov = np.array([[300.0, 120.0], [120.0, 200.0]])  # rotated ellipse; symmetric about its mean
    d = _debris([[50.0, -20.0]], cov, count=3.0, area=0.5)
    half_plane = PopulatedArea(box(50.0, -1e4, 1e4, 1e4), 1000.0)
    est = expected_casualties(d, [half_plane])
    assert est.total == pytest.approx(0.5 * 3.0 * 0.5 * 1e-3, rel=1e-12)


def test_gaussian_polygon_probability_matches_closed_form_rectangles() -> None:
    # axis-aligned ellipses in a rectangle: product of normal CDF differences
    means = np.array([[10.0, 5.0], [0.0, 0.0], [100.0, 0.0], [-20.0, -10.0], [0.001, 39.99]])
    cov = np.diag([400.0, 100.0])
    p = gaussian_polygon_probability(means, np.broadcast_to(cov, (5, 2, 2)),
                                     box(-20, -10, 30, 40))
    ref = (norm.cdf((30 - means[:, 0]) / 20) - norm.cdf((-20 - means[:, 0]) / 20)) * (
        norm.cdf((40 - means[:, 1]) / 10) - norm.cdf((-10 - means[:, 1]) / 10)
    )
    np.testing.assert_allclose(p, ref, atol=1e-13)
    # rotating the rectangle and the ellipse together changes nothing
    ang = 37.0
    rect = affinity.rotate(box(-20, -10, 30, 40), ang, origin=(0, 0))
    c, s = np.cos(np.radians(ang)), np.sin(np.radians(ang))
    rot = np.array([[c, -s], [s, c]])
    cov_rot = np.broadcast_to(rot @ cov @ rot.T, (5, 2, 2))
    p_rot = gaussian_polygon_probability(means @ rot.T, cov_rot, rect)
    np.testing.assert_allclose(p_rot, ref, atol=1e-12)


def test_gaussian_polygon_probability_nonconvex_with_hole_vs_monte_carlo() -> None:
    poly = Polygon([(0, 0), (40, -10), (30, 30), (10, 5), (-20, 25)],
                   [[(5, 0), (15, 0), (15, 3), (5, 3)]])
    mean, cov = np.array([5.0, -3.0]), np.array([[300.0, 120.0], [120.0, 200.0]])
    p = gaussian_polygon_probability(mean, cov, poly)[0]
    rng = np.random.default_rng(1)
    n = 400_000
    s = rng.multivariate_normal(mean, cov, n)
    mc = shapely.contains_xy(poly, s[:, 0], s[:, 1]).mean()
    # binomial standard deviation sqrt(p(1-p)/n) ≈ 7e-4; 4.5 of them
    assert abs(p - mc) < 4.5 * np.sqrt(p * (1 - p) / n)
    # the hole is excluded: the polygon without it holds more
    assert gaussian_polygon_probability(mean, cov, Polygon(poly.exterior))[0] > p


def test_sampled_impacts_count_points_inside() -> None:
    pts = np.array([[0.0, 0.0], [5.0, 5.0], [50.0, 50.0], [-5.0, 2.0]])
    area = PopulatedArea(box(-10, -10, 10, 10), 500.0, "block")
    samples = SampledImpacts(pts, np.full(4, 0.25), np.full(4, 2.0))
    est = expected_casualties(samples, [area], background_density_per_km2=100.0)
    # 3 of 4 inside: 3 × 0.25 × 2 × 5e-4, plus everything × 1e-4 background
    assert est.by_area[0] == pytest.approx(3 * 0.25 * 2.0 * 5e-4)
    assert est.background == pytest.approx(4 * 0.25 * 2.0 * 1e-4)


def test_casualty_area_formula_and_energy_threshold() -> None:
    assert casualty_area_m2(0.0) == pytest.approx(PERSON_AREA_M2)
    assert casualty_area_m2(0.36) == pytest.approx(1.44)  # (0.6 + 0.6)²
    out = casualty_area_m2([0.01, 0.01], impact_energy_j=[10.0, 20.0])
    assert out[0] == 0.0 and out[1] == pytest.approx(0.49)


def _reference_fall(state, mass, area, cd, wind_east=0.0):
    """Independent point-mass fall (scipy solve_ivp, ISA density, constant east wind)."""
    atm = Atmosphere()

    def rhs(_t, y):
        v_rel = y[3:6] - np.array([wind_east, 0.0, 0.0])
        k = 0.5 * atm.density(y[2]) * cd * area / mass
        acc = -k * np.linalg.norm(v_rel) * v_rel - np.array([0.0, 0.0, 9.80665])
        return np.concatenate([y[3:6], acc])

    def ground(_t, y):
        return y[2]

    ground.terminal = True
    sol = solve_ivp(rhs, (0, 500), state, events=ground, rtol=1e-10, atol=1e-8)
    return sol.y_events[0][0]


def test_debris_footprint_fall_physics() -> None:
    model = DebrisModel(n_pieces=10, mass_fraction=1.0, ejection_speed_mps=0.0)
    side = (0.5 / 7850.0) ** (1 / 3)
    area = 1.5 * side**2  # tumbling cube: mean presented area = surface / 4
    # dropped from rest in calm air: lands below the break point
    state = np.array([[100.0, 200.0, 1200.0, 0.0, 0.0, 0.0]])
    d = debris_footprint(state, 5.0, model)
    np.testing.assert_allclose(d.mean_en[0], [100.0, 200.0], atol=1e-9)
    assert d.count[0] == 10.0 and d.piece_mass_kg[0] == pytest.approx(0.5)
    ref = _reference_fall(state[0], 0.5, area, 1.0)
    # RK4 at 0.05 s vs an adaptive 1e-10 integrator: agreement far below 1e-3 relative
    assert d.impact_speed_mps[0] == pytest.approx(np.linalg.norm(ref[3:6]), rel=1e-3)
    # moving piece in a wind: footprint where the independent integration lands it (< 1 m)
    moving = np.array([100.0, 200.0, 1200.0, 120.0, 0.0, -80.0])
    windy = debris_footprint(moving[None], 5.0, model, wind=Wind.constant(10.0, 0.0))
    ref = _reference_fall(moving, 0.5, area, 1.0, wind_east=10.0)
    np.testing.assert_allclose(windy.mean_en[0], ref[0:2], atol=1.0)
    # ejection spreads the pieces, symmetric in east and north without wind or motion
    spread = debris_footprint(state, 5.0, DebrisModel(n_pieces=10, ejection_speed_mps=60.0))
    sd = np.sqrt(np.diag(spread.cov_en[0]))
    assert sd[0] > 20.0 and sd[0] == pytest.approx(sd[1], rel=1e-6)


def test_dud_round_lands_where_fly_says() -> None:
    az, el = np.radians([40.0, 200.0]), np.radians([35.0, 20.0])
    d = dud_round_impacts([0.0, 0.0, 0.0], az, el, ROUND, n_rounds=[50, 100])
    x0 = launch_state(np.zeros((2, 3)), az, el, ROUND.charges["standard"])
    ref = fly(x0, Projectiles.repeat(ROUND, 2), dt_s=0.005).impact_state[:, 0:2]
    np.testing.assert_allclose(d.mean_en, ref, atol=0.05)  # RK4 at two step sizes: < 5 cm
    np.testing.assert_allclose(d.count, np.array([50, 100]) * ROUND.dud_rate)
    # 1.5 mrad at several km: metres-scale ellipse, positive definite
    eig = np.linalg.eigvalsh(d.cov_en)
    assert np.all(eig > 0) and np.all(np.sqrt(eig[:, 1]) < 100.0)
    assert np.all(d.casualty_area_m2 > PERSON_AREA_M2)


def test_self_destruct_fragments_low_casualty_area() -> None:
    az, el = np.radians([40.0]), np.radians([35.0])
    f = self_destruct_fragments([0.0, 0.0, 0.0], az, el, ROUND, n_rounds=100)
    assert f.count[0] == pytest.approx(100 * (1 - ROUND.dud_rate) * 20)
    # a 4 g fragment at its terminal speed (~30 m/s) carries ~2 J: below the 15 J threshold
    assert np.all(f.casualty_area_m2 == 0.0)
    loud = self_destruct_fragments([0.0, 0.0, 0.0], az, el, ROUND, n_rounds=100,
                                   energy_threshold_j=0.0)
    assert np.all(loud.casualty_area_m2 > PERSON_AREA_M2)
    area = PopulatedArea(box(-5000, -5000, 5000, 5000), 1000.0)
    assert expected_casualties(f, [area]).total == 0.0
    assert expected_casualties(loud, [area]).total > 0.0


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="density_per_km2"):
        PopulatedArea(box(0, 0, 1, 1), -3.0)
    with pytest.raises(ValueError, match="cov_en"):
        gaussian_polygon_probability([[0.0, 0.0]], [[[1.0, 0.0], [0.0, 0.0]]], box(0, 0, 1, 1))
    with pytest.raises(ValueError, match="n_pieces"):
        DebrisModel(n_pieces=0)
    with pytest.raises(ValueError, match="polygon"):
        gaussian_polygon_probability([[0.0, 0.0]], np.eye(2)[None], "box")


def test_gaussian_masses_many_polygons_in_one_call_match_closed_form() -> None:
    # axis-aligned ellipses against several rectangles at once (one far away, one whose corner
    # is the mean): each entry the product of normal CDF differences
    boxes = [(-20, -10, 30, 40), (0, 0, 5, 5), (5000, 5000, 5100, 5100), (-3, 1, 60, 2)]
    means = np.array([[10.0, 5.0], [0.0, 0.0], [100.0, 0.0], [-20.0, -10.0], [0.001, 39.99]])
    sig = np.array([[20.0, 10.0], [3.0, 1.0], [50.0, 50.0], [1.0, 1.0], [7.0, 2.0]])
    cov = np.zeros((5, 2, 2))
    cov[:, 0, 0], cov[:, 1, 1] = sig[:, 0] ** 2, sig[:, 1] ** 2
    p = gaussian_masses(means, cov, PolygonEdges.of([box(*b) for b in boxes]))
    ref = np.stack([
        (norm.cdf((x1 - means[:, 0]) / sig[:, 0]) - norm.cdf((x0 - means[:, 0]) / sig[:, 0]))
        * (norm.cdf((y1 - means[:, 1]) / sig[:, 1]) - norm.cdf((y0 - means[:, 1]) / sig[:, 1]))
        for x0, y0, x1, y1 in boxes
    ], axis=1)
    assert p.shape == (5, 4)
    np.testing.assert_allclose(p, ref, atol=1e-13)
    assert np.all(p[:, 2] == 0.0)  # beyond the 8.5-sigma screen


def _edge_by_edge_owens_t(mean: np.ndarray, cov: np.ndarray, polygon: Polygon) -> float:
    """The Owen's T sum of the module docstring, one scipy call per edge end (no quadrature)."""
    l = np.linalg.cholesky(cov)
    ring = np.asarray(orient(polygon).exterior.coords)
    w = np.linalg.solve(l, (ring - mean).T).T
    total = 0.0
    for a, b in itertools.pairwise(w):
        e = (b - a) / np.linalg.norm(b - a)
        foot = a - (a @ e) * e
        d = np.linalg.norm(foot)
        t = np.array([-foot[1], foot[0]]) / d
        sa, sb = a @ t, b @ t
        total += (np.arctan2(sb, d) - np.arctan2(sa, d)) / (2 * np.pi) - (
            owens_t(d, sb / d) - owens_t(d, sa / d))
    return total


def test_gaussian_masses_of_many_sided_polygons_match_owens_t_edge_by_edge() -> None:
    # a circle drawn as a 128-gon: its short edges are integrated by quadrature, the square's
    # long ones by Owen's T; both must agree with scipy's T edge by edge
    circle = Point(0.0, 0.0).buffer(50.0, quad_segs=32)
    square = box(-30.0, 20.0, 40.0, 90.0)
    rng = np.random.default_rng(4)
    means = rng.uniform(-120.0, 120.0, (40, 2))
    a = rng.normal(size=(40, 2, 2)) * rng.uniform(0.5, 60.0, (40, 1, 1))
    covs = a @ np.swapaxes(a, 1, 2) + 0.25 * np.eye(2)
    got = gaussian_masses(means, covs, PolygonEdges.of([circle, square]))
    ref = np.array([[_edge_by_edge_owens_t(m, c, p) for p in (circle, square)]
                    for m, c in zip(means, covs, strict=True)])
    ref = np.clip(np.where(got == 0.0, 0.0, ref), 0.0, 1.0)  # beyond the screen: exactly 0
    np.testing.assert_allclose(got, ref, atol=1e-13)
    assert (got[:, 0] > 1e-3).sum() >= 10  # the cases reach into the circle
