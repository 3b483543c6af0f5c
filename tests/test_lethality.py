"""Tests of the burst kill probability (shared bias + per-round dispersion) and its sampler:
the lethal-radius model, the presented-area model and :func:`burst_pk` that selects them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import roots_legendre

from counterram.engagement.lethality import (
    FALLBACK_LENGTH_CALIBRES,
    KILL_MODELS,
    PresentedArea,
    bias_covariance,
    burst_kill_probability,
    burst_kill_probability_naive,
    burst_kill_probability_presented,
    burst_pk,
    hit_probability,
    miss_plane_axes,
    presented_area,
    presented_length_m,
    rectangle_hit_probability,
    sample_burst,
)
from counterram.physics.catalogue import load_catalogue

CAT = load_catalogue()

# Binomial tolerance: with N bursts the Monte Carlo estimate has standard deviation
# sqrt(P(1-P)/N); 4.5 of those bounds a false failure at ~7e-6 per comparison.
Z = 4.5
N_BURSTS = 20_000

CASES = [
    # n rounds, lethal radius, dispersion σ_d, bias σ_b  (metres)
    (20, 0.8, 2.4, 2.0),  # 1.6 km at 1.5 mrad against a 107 mm rocket, bias ~ dispersion
    (10, 0.5, 0.3, 3.0),  # bias-dominated: shared error ruins the burst
    (50, 0.6, 4.0, 0.5),  # dispersion-dominated: close to independent rounds
    (5, 1.0, 0.5, 0.8),
    (1, 0.7, 1.0, 1.0),
]


@pytest.mark.parametrize(("case", "seed"), [(c, i) for i, c in enumerate(CASES)])
def test_analytic_matches_monte_carlo(case, seed) -> None:
    n, radius, sd, sb = case
    p = float(burst_kill_probability(n, radius, sd, sb))
    rng = np.random.default_rng(100 + seed)
    mc = sample_burst(rng, n, sd, sb, size=N_BURSTS).killed(radius).mean()
    tol = Z * np.sqrt(max(p * (1 - p), 1e-4) / N_BURSTS)
    assert abs(mc - p) < tol, (p, mc, tol)


def test_anisotropic_bias_matches_monte_carlo() -> None:
    cov = np.array([[4.0, 1.2], [1.2, 0.6]])  # elongated, correlated miss-plane bias
    p = float(burst_kill_probability(15, 0.8, 1.0, bias_cov_m2=cov))
    rng = np.random.default_rng(7)
    mc = sample_burst(rng, 15, 1.0, bias_cov_m2=cov, size=N_BURSTS).killed(0.8).mean()
    assert abs(mc - p) < Z * np.sqrt(p * (1 - p) / N_BURSTS)
    # a degenerate (1-D) bias is handled too
    flat = np.diag([4.0, 0.0])
    p1 = float(burst_kill_probability(15, 0.8, 1.0, bias_cov_m2=flat))
    mc1 = sample_burst(np.random.default_rng(8), 15, 1.0, bias_cov_m2=flat,
                       size=N_BURSTS).killed(0.8).mean()
    assert abs(mc1 - p1) < Z * np.sqrt(p1 * (1 - p1) / N_BURSTS)


def test_isotropic_covariance_equals_sigma_form() -> None:
    a = burst_kill_probability(12, 0.9, 1.3, 1.7)
    b = burst_kill_probability(12, 0.9, 1.3, bias_cov_m2=1.7**2 * np.eye(2))
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_shared_bias_lowers_kill_probability_against_naive() -> None:
    n = np.array([2, 5, 10, 20, 40])
    pk = burst_kill_probability(n, 0.8, 2.0, 2.0)
    naive = burst_kill_probability_naive(n, 0.8, 2.0, 2.0)
    # Jensen: E[1-(1-p)^n] < 1-(1-E p)^n for n > 1 when p(b) varies; the gap grows with n
    # (0.05 absolute at 20 rounds here, far above the quadrature error ~1e-10)
    assert np.all(pk < naive - 1e-6)
    assert np.all(np.diff(naive - pk) > 0)
    assert naive[3] - pk[3] > 0.04
    # one round: the two agree exactly (the per-round hit probability is the same)
    np.testing.assert_allclose(
        burst_kill_probability(1, 0.8, 2.0, 2.0), burst_kill_probability_naive(1, 0.8, 2.0, 2.0),
        rtol=1e-10,
    )


def test_zero_bias_limit_recovers_independent_rounds() -> None:
    n, radius, sd = 20, 0.8, 2.4
    p = 1.0 - np.exp(-(radius**2) / (2 * sd**2))  # Rayleigh disc probability
    expected = 1.0 - (1.0 - p) ** n
    np.testing.assert_allclose(burst_kill_probability(n, radius, sd, 0.0), expected, rtol=1e-12)
    # a tiny bias moves P_kill by O(σ_b²): 1e-6 m gives ~1e-13
    np.testing.assert_allclose(burst_kill_probability(n, radius, sd, 1e-6), expected, rtol=1e-9)
    np.testing.assert_allclose(burst_kill_probability_naive(n, radius, sd, 0.0), expected,
                               rtol=1e-12)


def test_zero_dispersion_limit_is_bias_disc_probability() -> None:
    # with no dispersion every round lands on the bias: the burst kills iff |b| < R, for any n
    for n in (1, 7, 40):
        np.testing.assert_allclose(
            burst_kill_probability(n, 1.0, 0.0, 2.0), 1.0 - np.exp(-1.0 / 8.0), rtol=1e-10
        )


def test_quadrature_is_normalised_and_monotone() -> None:
    # a huge lethal radius kills for sure; Pk rises with n and R, falls with σ_b
    np.testing.assert_allclose(burst_kill_probability(1, 1e3, 1.0, 2.0), 1.0, atol=1e-12)
    np.testing.assert_allclose(burst_kill_probability(3, 1.0, 1.0, 0.0, bias_cov_m2=None),
                               burst_kill_probability(3, 1.0, 1.0), rtol=0)
    pk_n = burst_kill_probability(np.arange(1, 60), 0.8, 2.0, 2.0)
    assert np.all(np.diff(pk_n) > 0)
    pk_sb = burst_kill_probability(20, 0.8, 2.0, np.linspace(0.1, 20.0, 40))
    assert np.all(np.diff(pk_sb) < 0)


def test_broadcasting_shapes() -> None:
    out = burst_kill_probability(np.array([1, 5, 20]), 1.0, np.array([[1.0], [2.0]]), 0.5)
    assert out.shape == (2, 3)
    cov = np.broadcast_to(np.eye(2), (4, 2, 2))
    assert burst_kill_probability(10, 1.0, 1.0, bias_cov_m2=cov).shape == (4,)


def test_hit_probability_centred_is_rayleigh() -> None:
    r, s = 0.8, 1.7
    np.testing.assert_allclose(hit_probability(0.0, r, s), 1 - np.exp(-(r**2) / (2 * s**2)),
                               rtol=1e-12)
    # offset far beyond the radius: essentially zero; exactly on target with no dispersion: 1
    assert hit_probability(20.0, 0.8, 1.0) < 1e-30
    assert hit_probability(0.3, 0.8, 0.0) == 1.0 and hit_probability(0.9, 0.8, 0.0) == 0.0


def test_sampler_shapes_determinism_and_first_hit() -> None:
    a = sample_burst(np.random.default_rng(3), 12, 1.5, 1.0, size=(4, 5))
    b = sample_burst(np.random.default_rng(3), 12, 1.5, 1.0, size=(4, 5))
    assert a.miss_m.shape == (4, 5, 12, 2) and a.bias_m.shape == (4, 5, 2)
    np.testing.assert_array_equal(a.miss_m, b.miss_m)
    first = a.first_hit(1.0)
    killed = a.killed(1.0)
    np.testing.assert_array_equal(first >= 0, killed)
    idx = np.argwhere(killed)
    for i, j in idx:
        k = first[i, j]
        assert a.miss_distance_m[i, j, k] < 1.0 and np.all(a.miss_distance_m[i, j, :k] >= 1.0)
    # per-parameter batching: σ_d per engagement
    c = sample_burst(np.random.default_rng(4), 3, np.array([0.5, 1.0, 2.0]), 0.0)
    assert c.miss_m.shape == (3, 3, 2)


def test_bias_covariance_projects_onto_the_miss_plane() -> None:
    # firing due north: the miss plane is spanned by east and up
    cov3 = np.diag([4.0, 9.0, 16.0])[None]
    out = bias_covariance(np.array([[0.0, 1.0, 0.0]]), 1000.0, 1e-3, cov3)
    np.testing.assert_allclose(out[0], np.diag([4.0 + 1.0, 16.0 + 1.0]), atol=1e-12)
    # a vertical shot is handled (east as the first axis)
    up = bias_covariance(np.array([[0.0, 0.0, 1.0]]), 500.0, 2e-3)
    np.testing.assert_allclose(up[0], np.eye(2) * 1.0, atol=1e-12)


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="sigma_dispersion_m"):
        burst_kill_probability(10, 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="n_rounds"):
        sample_burst(np.random.default_rng(0), -2, 1.0)
    with pytest.raises(ValueError, match="bias_cov_m2"):
        burst_kill_probability(10, 1.0, 1.0, bias_cov_m2=np.eye(3))
    with pytest.raises(ValueError, match="either"):
        burst_kill_probability(10, 1.0, 1.0, 1.0, bias_cov_m2=np.eye(2))


# ------------------------------------------------------------------------ presented area
def _aim(az_deg: float, el_deg: float) -> np.ndarray:
    az, el = math.radians(az_deg), math.radians(el_deg)
    return np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])


def _broadside_velocity(aim: np.ndarray, speed: float = 200.0) -> np.ndarray:
    return speed * miss_plane_axes(aim)[1]  # along u2: perpendicular to the line of fire


def test_presented_area_geometry() -> None:
    m = CAT.get("81mm-mortar")
    d, length = m.diameter_m, presented_length_m(m)
    assert m.length_m is None and length == pytest.approx(FALLBACK_LENGTH_CALIBRES * d)
    assert presented_length_m(CAT.get("122mm")) == CAT.get("122mm").length_m
    aim = _aim(30.0, 40.0)
    rows = presented_area(
        np.tile(aim, (4, 1)),
        [-150.0 * aim, _broadside_velocity(aim), 120.0 * aim, np.zeros(3)],
        d, length,
    )
    # nose-on (or tail-on): the disc's area; broadside: L x d along the projected body axis
    np.testing.assert_allclose(rows.area_m2[[0, 2, 3]], math.pi * d**2 / 4, rtol=1e-12)
    assert rows.area_m2[1] == pytest.approx(length * d, rel=1e-12)
    assert rows.area_m2[1] > 4.0 * rows.area_m2[0]
    np.testing.assert_allclose(rows.aspect_rad, [0.0, math.pi / 2, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(rows.axis_m[1], [0.0, 1.0], atol=1e-12)  # u2 in miss-plane axes
    np.testing.assert_allclose(rows.half_width_m, d / 2)
    # oblique: L sinθ + (π/4) d |cosθ|, long side along the body axis's projection
    v = 200.0 * (math.cos(0.5) * aim + math.sin(0.5) * miss_plane_axes(aim)[0])
    one = presented_area(aim, v, d, length)
    assert 2 * one.half_length_m[0] == pytest.approx(
        length * math.sin(0.5) + math.pi / 4 * d * math.cos(0.5), rel=1e-12)
    np.testing.assert_allclose(one.axis_m[0], [1.0, 0.0], atol=1e-12)
    # membership in the rectangle's axes
    inside = one.contains(np.array([[[0.9 * one.half_length_m[0], 0.0],
                                     [0.0, 0.9 * d / 2], [0.0, 1.1 * d / 2]]]))
    np.testing.assert_array_equal(inside, [[True, True, False]])


def test_rectangle_hit_probability() -> None:
    from scipy.special import ndtr

    # centred: (2Φ(h_s/σ) − 1)(2Φ(h_t/σ) − 1); small rectangle ≈ area / (2π σ²)
    p = rectangle_hit_probability(0.0, 0.0, 0.3, 0.05, 1.0)
    assert p == pytest.approx((2 * ndtr(0.3) - 1) * (2 * ndtr(0.05) - 1), rel=1e-12)
    assert rectangle_hit_probability(0.0, 0.0, 0.01, 0.01, 2.0) == pytest.approx(
        4e-4 / (2 * math.pi * 4.0), rel=1e-4)
    assert rectangle_hit_probability(30.0, 0.0, 0.3, 0.05, 1.0) < 1e-100
    with pytest.raises(ValueError, match="sigma_dispersion_m"):
        rectangle_hit_probability(0.0, 0.0, 0.3, 0.05, 0.0)


# Monte Carlo cases: (name, aim, velocity, munition, rounds, σ_d, bias covariance in the miss
# plane). Each exercises a branch: nose-on (small square-ish target), broadside, a correlated
# anisotropic bias at an oblique aspect, a bias ten times the dispersion against a long broadside
# rocket (the 32-node rule), a degenerate (1-D) bias, few rounds with a bias ~ dispersion.
_A = _aim(40.0, 35.0)
MC_CASES = [
    ("nose-on", _A, -180.0 * _A, "81mm-mortar", 100, 0.3, 0.04 * np.eye(2)),
    ("broadside", _A, _broadside_velocity(_A), "107mm-rocket", 50, 0.5, 0.25 * np.eye(2)),
    ("anisotropic", _A, 200.0 * (0.6 * _A + 0.8 * miss_plane_axes(_A)[0]), "120mm-mortar", 80,
     0.4, np.array([[1.0, 0.6], [0.6, 0.5]])),
    ("large-bias", _A, _broadside_velocity(_A), "122mm-9m22u", 200, 0.3, 9.0 * np.eye(2)),
    ("degenerate", _A, _broadside_velocity(_A), "60mm-mortar", 120, 0.25,
     np.array([[0.3, 0.0], [0.0, 0.0]])),
    ("few-rounds", _A, -150.0 * _A + _broadside_velocity(_A, 100.0), "155mm-he", 5, 0.2,
     np.array([[0.05, -0.02], [-0.02, 0.03]])),
]


def _mc_presented(case, seed: int, bursts: int = N_BURSTS) -> float:
    """Round-by-round sampling as in the outcome model: shared bias + dispersion, hit when the
    miss point is in the rectangle, each hit defeats with probability defeat_given_hit."""
    _, aim, vel, name, n, sd, cov = case
    m = CAT.get(name)
    rng = np.random.default_rng(seed)
    sample = sample_burst(rng, n, sd, bias_cov_m2=cov, size=bursts)
    area = presented_area(aim, vel, m.diameter_m, presented_length_m(m))
    hit = area.contains(sample.miss_m[None])[0]  # (bursts, n)
    defeat = rng.random(hit.shape) < m.defeat_given_hit
    return float(np.any(hit & defeat, axis=1).mean())


def _analytic(case, **kw) -> float:
    _, aim, vel, name, n, sd, cov = case
    if kw:
        m = CAT.get(name)
        area = presented_area(aim, vel, m.diameter_m, presented_length_m(m))
        return float(burst_kill_probability_presented(n, sd, cov[None], area, m.defeat_given_hit,
                                                      **kw)[0])
    return float(burst_pk("presented_area", n, [sd], cov[None], aim[None], vel[None],
                          [CAT.get(name)])[0])


@pytest.mark.parametrize("k", range(len(MC_CASES)), ids=[c[0] for c in MC_CASES])
def test_presented_area_matches_monte_carlo(k: int) -> None:
    case = MC_CASES[k]
    p = _analytic(case)
    mc = _mc_presented(case, seed=200 + k)
    tol = 4.0 * math.sqrt(max(p * (1 - p), 1e-4) / N_BURSTS)
    print(f"{case[0]}: analytic {p:.4f} MC {mc:.4f} ± {tol / 4:.4f}")
    assert 0.01 < p < 0.9  # a meaningful comparison
    assert abs(mc - p) < tol, (p, mc, tol)


def _brute_force(case, panels: int = 160, order: int = 6) -> float:
    """E_b[1 − (1 − q p(b))^n] by composite Gauss–Legendre over ±8.5 σ in the bias's principal
    axes: an independent check of the Gauss–Hermite rule."""
    _, aim, vel, name, n, sd, cov = case
    m = CAT.get(name)
    area = presented_area(aim, vel, m.diameter_m, presented_length_m(m))
    lam, vec = np.linalg.eigh(cov)
    x, w = roots_legendre(order)
    edges = np.linspace(-8.5, 8.5, panels + 1)
    half = 0.5 * np.diff(edges)
    z = ((edges[:-1] + half)[:, None] + half[:, None] * x).ravel()
    wz = (half[:, None] * w).ravel() * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    major = math.sqrt(lam[1]) * vec[:, 1]
    if lam[0] <= 1e-15 * lam[1]:  # a 1-D bias: along its major axis only
        b, weight = z[:, None] * major, wz
    else:
        z1, z2 = np.meshgrid(z, z, indexing="ij")
        minor = math.sqrt(lam[0]) * vec[:, 0]
        b = (z1[..., None] * minor + z2[..., None] * major).reshape(-1, 2)
        weight = np.outer(wz, wz).ravel()
    st = area.along_across(b[None])[0]
    p = rectangle_hit_probability(st[:, 0], st[:, 1], area.half_length_m[0],
                                  area.half_width_m[0], sd)
    f = -np.expm1(n * np.log1p(-m.defeat_given_hit * p))
    return float(np.sum(f * weight))


@pytest.mark.parametrize("k", range(len(MC_CASES)), ids=[c[0] for c in MC_CASES])
def test_presented_area_quadrature_against_fine_rules(k: int) -> None:
    case = MC_CASES[k]
    p = _analytic(case)
    assert p == pytest.approx(_analytic(case, nodes=64), abs=3e-4)
    assert p == pytest.approx(_brute_force(case), abs=3e-4)
    assert _analytic(case, nodes=64) == pytest.approx(_brute_force(case), abs=1e-5)


def test_presented_area_random_rows_against_a_fine_rule() -> None:
    # realistic rows: 0.2-2 km at 1-5 mrad, every threat, random aspects, track errors and
    # fire-control errors; default (adaptive) rule vs a 64 x 64 rule
    rng = np.random.default_rng(11)
    n_rows = 400
    names = [m.name for m in CAT if m.kind != "interceptor"]
    munitions = [CAT.get(names[i]) for i in rng.integers(len(names), size=n_rows)]
    aim = rng.normal(size=(n_rows, 3))
    aim[:, 2] = np.abs(aim[:, 2]) + 0.2
    aim /= np.linalg.norm(aim, axis=1, keepdims=True)
    vel = rng.normal(size=(n_rows, 3)) * 150.0
    range_m = rng.uniform(200.0, 2000.0, n_rows)
    track = rng.uniform(0.3, 5.0, (n_rows, 3))
    rot = np.linalg.qr(rng.normal(size=(n_rows, 3, 3)))[0]
    pos_cov = rot @ (track[:, :, None] ** 2 * np.eye(3)) @ np.swapaxes(rot, 1, 2)
    cov = bias_covariance(aim, range_m, rng.uniform(0, 1e-3, n_rows), pos_cov)
    sd = range_m * rng.uniform(1e-3, 5e-3, n_rows)
    n = rng.choice([20, 50, 100, 200], n_rows)
    p = burst_pk("presented_area", n, sd, cov, aim, vel, munitions)
    area = presented_area(aim, vel, [m.diameter_m for m in munitions],
                          [presented_length_m(m) for m in munitions])
    q = [m.defeat_given_hit for m in munitions]
    fine = burst_kill_probability_presented(n, sd, cov, area, q, nodes=64)
    assert np.abs(p - fine).max() < 3e-4
    assert np.all((p >= 0) & (p <= 1))


def test_presented_area_monotone_and_limits() -> None:
    aim = _aim(10.0, 30.0)
    vel = _broadside_velocity(aim)
    m = CAT.get("81mm-mortar")
    cov = 0.5 * np.eye(2)

    def pk(n, sd=0.6, c=cov, v=vel, q=None):
        area = presented_area(aim, v, m.diameter_m, presented_length_m(m))
        return burst_kill_probability_presented(n, sd, np.broadcast_to(c, (np.size(n), 2, 2)),
                                                area, m.defeat_given_hit if q is None else q)

    n = np.arange(0, 400, 7)
    by_n = np.array([pk(k)[0] for k in n])
    assert by_n[0] == 0.0 and np.all(np.diff(by_n) > 0)
    by_bias = np.array([pk(50, c=s2 * np.eye(2))[0] for s2 in np.linspace(0.01, 25.0, 30)])
    assert np.all(np.diff(by_bias) < 0)
    # broadside presents more area than nose-on: a higher Pk, all else equal
    assert pk(50)[0] > 3.0 * pk(50, v=-200.0 * aim)[0]
    # no defeat on a hit: no kill; one round, no bias: P(hit) × q exactly
    assert pk(50, q=0.0)[0] == 0.0
    area = presented_area(aim, vel, m.diameter_m, presented_length_m(m))
    one = burst_kill_probability_presented(1, 0.6, np.zeros((1, 2, 2)), area, 0.7)[0]
    p_hit = rectangle_hit_probability(0.0, 0.0, area.half_length_m[0], area.half_width_m[0], 0.6)
    assert one == pytest.approx(0.7 * p_hit, rel=1e-9)
    # no bias: independent rounds, 1 − (1 − q p)^n exactly
    many = burst_kill_probability_presented(60, 0.6, np.zeros((1, 2, 2)), area, 0.7)[0]
    assert many == pytest.approx(1 - (1 - 0.7 * p_hit) ** 60, rel=1e-9)
    # the linear regime: E_b[n q p(b)] = n q P(b + e in the rectangle), b + e ~ N(0, (σ_b²+σ_d²) I)
    tiny = burst_kill_probability_presented(1, 0.6, np.eye(2)[None] * 0.64, area, 1.0)[0]
    assert tiny == pytest.approx(
        rectangle_hit_probability(0.0, 0.0, area.half_length_m[0], area.half_width_m[0], 1.0),
        rel=1e-6)


def test_burst_pk_lethal_radius_branch_is_the_existing_model() -> None:
    rng = np.random.default_rng(5)
    names = ["60mm", "81mm", "120mm", "107mm", "grad", "155mm"]
    munitions = [CAT.get(names[i]) for i in rng.integers(len(names), size=12)]
    aim = np.tile(_aim(0.0, 45.0), (12, 1))
    cov = bias_covariance(aim, 1500.0, 0.5e-3, np.eye(3)[None] * 9.0)
    sd = rng.uniform(0.5, 3.0, 12)
    got = burst_pk("lethal_radius", 50, sd, cov, aim, rng.normal(size=(12, 3)), munitions)
    want = burst_kill_probability(50, [m.lethal_radius_m for m in munitions], sd, bias_cov_m2=cov)
    np.testing.assert_array_equal(got, want)
    assert set(KILL_MODELS) == {"presented_area", "lethal_radius"}


def test_typical_engagement_presented_area_vs_lethal_radius() -> None:
    # 81 mm bomb at 1.5 km, 50 rounds, 1.5 mrad dispersion, 0.5 mrad fire-control error and a
    # 3 m (per axis) track error; broadside and coming down at the gun (aspect 30°)
    m = CAT.get("81mm-mortar")
    aim = _aim(0.0, 30.0)
    cov = bias_covariance(aim[None], 1500.0, 0.5e-3, np.eye(3)[None] * 9.0)
    sd = [1500.0 * 1.5e-3]
    dive = math.radians(60.0)
    incoming = 200.0 * np.array([0.0, -math.cos(dive), -math.sin(dive)])
    lethal = burst_pk("lethal_radius", 50, sd, cov, aim[None], incoming[None], [m])[0]
    ratios = []
    for vel in (_broadside_velocity(aim), incoming):
        area_pk = burst_pk("presented_area", 50, sd, cov, aim[None], vel[None], [m])[0]
        ratios.append(lethal / area_pk)
        # linear regime: ≈ n q A / (2π (σ_d² + σ_b²)) for an isotropic bias
        area = presented_area(aim, vel, m.diameter_m, presented_length_m(m)).area_m2[0]
        linear = 50 * m.defeat_given_hit * area / (2 * math.pi * (sd[0] ** 2 + cov[0, 0, 0]))
        assert area_pk == pytest.approx(linear, rel=0.02)
    print(f"lethal radius Pk {lethal:.3f}; factor over presented area: broadside "
          f"{ratios[0]:.0f}x, incoming {ratios[1]:.0f}x")
    assert 0.3 < lethal < 0.5 and 20.0 < ratios[0] < ratios[1] < 60.0


def test_burst_pk_input_errors() -> None:
    m = CAT.get("81mm")
    aim = _aim(0.0, 45.0)[None]
    args = ([1.0], np.eye(2)[None], aim, [[0.0, 0.0, -100.0]], [m])
    with pytest.raises(ValueError, match="allowed: presented_area, lethal_radius"):
        burst_pk("fragments", 10, *args)
    with pytest.raises(ValueError, match="n_rounds"):
        burst_pk("presented_area", 2.5, *args)
    with pytest.raises(ValueError, match="n_rounds"):
        burst_pk("presented_area", -1, *args)
    with pytest.raises(ValueError, match="defeat_given_hit"):
        burst_pk("presented_area", 10, [1.0], np.eye(2)[None], aim, [[0.0, 0.0, -100.0]],
                 [CAT.get("20mm-sd")])
    with pytest.raises(ValueError, match="one entry per row"):
        burst_pk("presented_area", 10, [1.0, 1.0], np.eye(2)[None], np.tile(aim, (2, 1)),
                 np.zeros((2, 3)), [m, m, m])
    with pytest.raises(ValueError, match="positive semi-definite"):
        burst_pk("presented_area", 10, [1.0], -np.eye(2)[None], aim, [[0.0, 0.0, -100.0]], [m])
    with pytest.raises(ValueError, match="sigma_dispersion_m"):
        burst_pk("presented_area", 10, [0.0], np.eye(2)[None], aim, [[0.0, 0.0, -100.0]], [m])
    area = PresentedArea(np.array([0.1]), np.array([0.04]), np.array([[1.0, 0.0]]), np.zeros(1))
    with pytest.raises(ValueError, match="defeat_given_hit"):
        burst_kill_probability_presented(10, 1.0, np.eye(2)[None], area, 1.5)
    # a single munition is broadcast to every row
    two = burst_pk("presented_area", 10, [1.0, 2.0], np.eye(2)[None], np.tile(aim, (2, 1)),
                   np.zeros((2, 3)), m)
    assert two.shape == (2,) and two[0] > two[1] > 0
