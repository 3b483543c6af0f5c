"""Tests of the burst kill probability (shared bias + per-round dispersion) and its sampler."""

from __future__ import annotations

import numpy as np
import pytest

from counterram.engagement.lethality import (
    bias_covariance,
    burst_kill_probability,
    burst_kill_probability_naive,
    hit_probability,
    sample_burst,
)

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
