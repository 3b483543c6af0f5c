"""Burst kill probability of a gun burst against one threat, analytic and sampled.

Why it exists: the gun fires bursts of n rounds. Every round of a burst shares one aim error (the
*bias*: fire-control solution error plus track error propagated to the intercept point), and each
round adds its own ballistic *dispersion*. A burst kills when at least one round passes within the
threat's lethal radius R. Because the bias is shared, the rounds are not independent: the naive
``1 - (1 - p)^n`` overstates the kill probability whenever the bias is comparable to the dispersion
(Przemieniecki, *Mathematical Methods in Defense Analyses*; Driels, *Weaponeering*). This module
computes the correct expectation over the bias, batched over N engagements, and provides the
round-by-round sampler that the simulator's outcome model uses.

Model (all in the *miss plane*, the plane through the target normal to the round's path):

* bias ``b`` ~ N(0, Σ_b), Σ_b a 2×2 covariance (isotropic σ_bias² I as the common case);
* round k lands at ``b + e_k``, ``e_k`` ~ N(0, σ_d² I) independent, σ_d = range × dispersion_rad;
* per-round hit probability given the bias (offset-circle probability, non-central χ² with 2 dof):
  ``p(b) = P(|b + e| < R) = F_ncχ²(R²/σ_d²; 2, |b|²/σ_d²)`` — a function of ρ = |b| only;
* ``P_kill = E_b[1 - (1 - p(|b|))^n]``.

Since the integrand depends on the bias only through ρ = |b|, the expectation is a 1-D integral
against the density of |b|: the Rayleigh density for an isotropic bias, the Hoyt density (closed
form with a modified Bessel function I0) for an anisotropic one. It is evaluated by composite
Gauss–Legendre quadrature with panels broken at the scales where the integrand changes (R ± 8σ_d
and multiples of the bias standard deviations), 24 nodes a panel: within 1e-9 of a 96-node rule
over 3,000 random parameter sets from σ_bias ≪ σ_d to σ_bias ≫ R. scipy has the pieces
(``scipy.special.chndtr``, ``i0e``, ``roots_legendre``) but no burst kill probability, hence
this module.

The naive formula, for comparison (documented exactly): treat the n rounds as independent, each
with the total error N(0, (σ_d² + σ_b²) I), so each hits with the Rayleigh disc probability
``p0 = 1 - exp(-R² / (2 (σ_d² + σ_b²)))`` and ``P_naive = 1 - (1 - p0)^n``. For an isotropic bias
``p0 = E_b[p(b)]`` exactly, so by Jensen's inequality (``p ↦ 1 - (1 - p)^n`` is concave)
``P_kill ≤ P_naive`` always, with equality for n = 1 or σ_b = 0.

Range changes during a burst (≈0.3 s at 75 rds/s) and bias drift within a burst are neglected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import chndtr, i0e, roots_legendre

__all__ = [
    "BurstSample",
    "bias_covariance",
    "burst_kill_probability",
    "burst_kill_probability_naive",
    "hit_probability",
    "sample_burst",
]

_GL_NODES = 24
_GL_X, _GL_W = roots_legendre(_GL_NODES)
_DISP_WIDTH = 8.0  # panels reach R ± 8 σ_d: beyond, a round's hit probability is < 1e-14 (ncχ²)
_BIAS_TAIL = 10.0  # |b| beyond 10 σ_max carries < exp(-50) of the bias mass


def _as_float(name: str, value: ArrayLike, *, allow_zero: bool = True) -> NDArray[np.float64]:
    a = np.asarray(value, dtype=float)
    bad = ~np.isfinite(a) | ((a < 0) if allow_zero else (a <= 0))
    if np.any(bad):
        allowed = "finite and >= 0" if allow_zero else "finite and > 0"
        raise ValueError(f"{name} must be {allowed}; got {a[bad].ravel()[:3]}")
    return a


def hit_probability(
    offset_m: ArrayLike, lethal_radius_m: ArrayLike, sigma_dispersion_m: ArrayLike
) -> NDArray[np.float64]:
    """Probability that one round with aim offset ``offset_m`` (= |b|) passes within the radius.

    Offset-circle probability: ``|b + e|²/σ_d²`` is non-central χ² with 2 degrees of freedom and
    non-centrality ``|b|²/σ_d²``. With σ_d = 0 the round lands exactly at the offset (indicator).
    Arrays broadcast.
    """
    rho = _as_float("offset_m", offset_m)
    radius = _as_float("lethal_radius_m", lethal_radius_m)
    sd = _as_float("sigma_dispersion_m", sigma_dispersion_m)
    rho, radius, sd = np.broadcast_arrays(rho, radius, sd)
    shape = rho.shape
    out = np.atleast_1d((rho < radius).astype(float))
    rho, radius, sd = np.atleast_1d(rho, radius, sd)
    pos = sd > 0
    if np.any(pos):
        s2 = sd[pos] ** 2
        out[pos] = chndtr(radius[pos] ** 2 / s2, 2.0, rho[pos] ** 2 / s2)
    return np.clip(out, 0.0, 1.0).reshape(shape)


def _bias_eigen(
    sigma_bias_m: ArrayLike | None, bias_cov_m2: ArrayLike | None, shape: tuple[int, ...]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(λ_min, λ_max) of the bias covariance, broadcast to ``shape``."""
    if bias_cov_m2 is not None:
        if sigma_bias_m is not None:
            raise ValueError("give either sigma_bias_m or bias_cov_m2, not both")
        cov = np.asarray(bias_cov_m2, dtype=float)
        if cov.shape[-2:] != (2, 2) or not np.all(np.isfinite(cov)):
            raise ValueError(f"bias_cov_m2 must be finite with shape (..., 2, 2); got {cov.shape}")
        sym = 0.5 * (cov + np.swapaxes(cov, -1, -2))
        lam = np.linalg.eigvalsh(sym)
        if np.any(lam < -1e-12 * np.maximum(1.0, np.abs(lam).max())):
            raise ValueError("bias_cov_m2 must be positive semi-definite")
        lam = np.clip(lam, 0.0, None)
        return (np.broadcast_to(lam[..., 0], shape), np.broadcast_to(lam[..., 1], shape))
    s = _as_float("sigma_bias_m", 0.0 if sigma_bias_m is None else sigma_bias_m)
    v = np.broadcast_to(s**2, shape)
    return v, v


def _broadcast_shape(*arrays: ArrayLike, cov: ArrayLike | None = None) -> tuple[int, ...]:
    shapes = [np.shape(a) for a in arrays]
    if cov is not None:
        shapes.append(np.shape(cov)[:-2])
    return np.broadcast_shapes(*shapes)


def _kill_given_offset(
    rho: NDArray[np.float64], radius: NDArray[np.float64], sd: NDArray[np.float64],
    n: NDArray[np.float64],
) -> NDArray[np.float64]:
    p = hit_probability(rho, radius, sd)
    # 1 - (1 - p)^n computed as -expm1(n log1p(-p)) to keep precision when p is tiny
    with np.errstate(divide="ignore"):
        return -np.expm1(n * np.log1p(-np.minimum(p, 1.0)))


def burst_kill_probability(
    n_rounds: ArrayLike,
    lethal_radius_m: ArrayLike,
    sigma_dispersion_m: ArrayLike,
    sigma_bias_m: ArrayLike | None = None,
    *,
    bias_cov_m2: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Kill probability of a burst whose rounds share one Gaussian aim bias (batched).

    Args:
        n_rounds: rounds in the burst (≥ 0; may be an array).
        lethal_radius_m: radius within which a round kills the threat.
        sigma_dispersion_m: per-round dispersion per axis in the miss plane (range × mrad).
        sigma_bias_m: isotropic bias standard deviation per axis (default 0).
        bias_cov_m2: instead of ``sigma_bias_m``, a full (..., 2, 2) miss-plane bias covariance
            (zero mean).

    Returns:
        P_kill with the broadcast shape of the inputs.
    """
    n = _as_float("n_rounds", n_rounds)
    radius = _as_float("lethal_radius_m", lethal_radius_m)
    sd = _as_float("sigma_dispersion_m", sigma_dispersion_m)
    sb = None if sigma_bias_m is None else _as_float("sigma_bias_m", sigma_bias_m)
    shape = _broadcast_shape(n, radius, sd, *([] if sb is None else [sb]), cov=bias_cov_m2)
    lam_min, lam_max = _bias_eigen(sb, bias_cov_m2, shape)
    n, radius, sd = (np.broadcast_to(a, shape).ravel() for a in (n, radius, sd))
    lam_min, lam_max = lam_min.ravel(), lam_max.ravel()
    out = np.empty(n.shape)

    no_bias = lam_max <= 0
    out[no_bias] = _kill_given_offset(
        np.zeros(np.count_nonzero(no_bias)), radius[no_bias], sd[no_bias], n[no_bias]
    )
    k = ~no_bias
    if np.any(k):
        out[k] = _integrate_over_bias(n[k], radius[k], sd[k], lam_min[k], lam_max[k])
    return np.clip(out, 0.0, 1.0).reshape(shape)


def _integrate_over_bias(
    n: NDArray[np.float64], radius: NDArray[np.float64], sd: NDArray[np.float64],
    lam_min: NDArray[np.float64], lam_max: NDArray[np.float64],
) -> NDArray[np.float64]:
    """∫ f(ρ) g(ρ) dρ with f the burst kill given |b| = ρ and g the Rayleigh/Hoyt density."""
    s_min, s_max = np.sqrt(lam_min), np.sqrt(lam_max)
    rho_max = np.minimum(radius + _DISP_WIDTH * sd, _BIAS_TAIL * s_max)
    brk = np.stack(
        [
            np.zeros_like(radius),
            radius - _DISP_WIDTH * sd,
            radius - sd,
            radius,
            radius + sd,
            radius + _DISP_WIDTH * sd,
            0.5 * s_min,
            3.0 * s_min,
            s_max,
            3.0 * s_max,
            rho_max,
        ],
        axis=1,
    )
    brk = np.sort(np.clip(brk, 0.0, rho_max[:, None]), axis=1)  # (N, P+1)
    lo, hi = brk[:, :-1], brk[:, 1:]  # (N, P)
    half = 0.5 * (hi - lo)
    rho = (lo + half)[..., None] + half[..., None] * _GL_X  # (N, P, m)
    w = half[..., None] * _GL_W

    col = (slice(None), None, None)
    f = _kill_given_offset(rho, radius[col], sd[col], n[col])
    g = _offset_density(rho, lam_min[col], lam_max[col])
    return np.sum(f * g * w, axis=(1, 2))


def _offset_density(
    rho: NDArray[np.float64], lam_min: NDArray[np.float64], lam_max: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Density of |b| for b ~ N(0, diag(λ_min, λ_max)): Hoyt; Rayleigh when λ_min = λ_max.

    Integrating the 2-D Gaussian over the circle of radius ρ gives
    ρ/√(λ1λ2) · exp(-ρ²(a+b)/4) · I0(ρ²(a-b)/4) with a = 1/λ_min, b = 1/λ_max; written with the
    exponentially scaled i0e so that it never overflows. A degenerate bias (λ_min = 0) is a 1-D
    Gaussian along one axis: density 2 φ(ρ; σ_max).
    """
    lam_max = np.broadcast_to(lam_max, rho.shape)
    lam_min = np.broadcast_to(lam_min, rho.shape)
    out = np.empty(rho.shape)
    flat = lam_min <= 1e-18 * lam_max
    if np.any(flat):
        s = np.sqrt(lam_max[flat])
        out[flat] = 2.0 * np.exp(-0.5 * (rho[flat] / s) ** 2) / (s * np.sqrt(2.0 * np.pi))
    k = ~flat
    if np.any(k):
        r2 = rho[k] ** 2
        a, b = 1.0 / lam_min[k], 1.0 / lam_max[k]
        x = 0.25 * r2 * (a - b)
        out[k] = rho[k] / np.sqrt(lam_min[k] * lam_max[k]) * i0e(x) * np.exp(-0.5 * r2 * b)
    return out


def burst_kill_probability_naive(
    n_rounds: ArrayLike,
    lethal_radius_m: ArrayLike,
    sigma_dispersion_m: ArrayLike,
    sigma_bias_m: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """The naive independent-rounds formula ``1 - (1 - p0)^n``, p0 = 1 - exp(-R²/2(σ_d²+σ_b²)).

    Kept for comparison and for quick look-ups; it overstates the kill probability whenever the
    shared bias is not negligible (see the module docstring).
    """
    n = _as_float("n_rounds", n_rounds)
    radius = _as_float("lethal_radius_m", lethal_radius_m)
    s2 = _as_float("sigma_dispersion_m", sigma_dispersion_m) ** 2 + _as_float(
        "sigma_bias_m", sigma_bias_m
    ) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(s2 > 0, -np.expm1(-0.5 * radius**2 / np.where(s2 > 0, s2, 1.0)), 1.0)
        p0 = np.where(radius > 0, p0, 0.0)
        return -np.expm1(n * np.log1p(-p0))


@dataclass(frozen=True)
class BurstSample:
    """Sampled miss vectors of bursts: ``bias_m`` (..., 2), ``miss_m`` (..., n_rounds, 2)."""

    bias_m: NDArray[np.float64]
    miss_m: NDArray[np.float64]

    @property
    def miss_distance_m(self) -> NDArray[np.float64]:
        """Per-round miss distance |b + e_k| (..., n_rounds)."""
        return np.hypot(self.miss_m[..., 0], self.miss_m[..., 1])

    def killed(self, lethal_radius_m: ArrayLike) -> NDArray[np.bool_]:
        """Whether any round of each burst passed within the lethal radius (...)."""
        r = np.asarray(lethal_radius_m, dtype=float)[..., None]
        return np.any(self.miss_distance_m < r, axis=-1)

    def first_hit(self, lethal_radius_m: ArrayLike) -> NDArray[np.int64]:
        """Index of the first round within the lethal radius, -1 where none (...)."""
        r = np.asarray(lethal_radius_m, dtype=float)[..., None]
        inside = self.miss_distance_m < r
        return np.where(inside.any(axis=-1), inside.argmax(axis=-1), -1)


def sample_burst(
    rng: np.random.Generator,
    n_rounds: int,
    sigma_dispersion_m: ArrayLike,
    sigma_bias_m: ArrayLike | None = None,
    *,
    bias_cov_m2: ArrayLike | None = None,
    size: int | tuple[int, ...] | None = None,
) -> BurstSample:
    """Sample bursts round by round: one shared bias per burst plus per-round dispersion.

    The batch shape is the broadcast of ``size`` (leading) and the parameters' shapes; the result
    holds the bias (batch, 2) and every round's miss vector (batch, n_rounds, 2) in the miss plane.
    """
    if not isinstance(n_rounds, (int, np.integer)) or n_rounds < 0:
        raise ValueError(f"n_rounds must be a non-negative integer; got {n_rounds!r}")
    sd = _as_float("sigma_dispersion_m", sigma_dispersion_m)
    lead = () if size is None else ((size,) if isinstance(size, (int, np.integer)) else size)
    if bias_cov_m2 is not None:
        if sigma_bias_m is not None:
            raise ValueError("give either sigma_bias_m or bias_cov_m2, not both")
        cov = np.asarray(bias_cov_m2, dtype=float)
        if cov.shape[-2:] != (2, 2):
            raise ValueError(f"bias_cov_m2 must have shape (..., 2, 2); got {cov.shape}")
        batch = np.broadcast_shapes(tuple(lead), sd.shape, cov.shape[:-2])
        # Cholesky of a PSD 2x2 in closed form (works for singular covariances too)
        c = np.broadcast_to(cov, (*batch, 2, 2))
        l11 = np.sqrt(np.clip(c[..., 0, 0], 0, None))
        l21 = np.where(l11 > 0, c[..., 1, 0] / np.where(l11 > 0, l11, 1.0), 0.0)
        l22 = np.sqrt(np.clip(c[..., 1, 1] - l21**2, 0, None))
        z = rng.standard_normal((*batch, 2))
        bias = np.stack([l11 * z[..., 0], l21 * z[..., 0] + l22 * z[..., 1]], axis=-1)
    else:
        sb = _as_float("sigma_bias_m", 0.0 if sigma_bias_m is None else sigma_bias_m)
        batch = np.broadcast_shapes(tuple(lead), sd.shape, sb.shape)
        bias = rng.standard_normal((*batch, 2)) * np.broadcast_to(sb, batch)[..., None]
    e = rng.standard_normal((*batch, n_rounds, 2)) * np.broadcast_to(sd, batch)[..., None, None]
    return BurstSample(bias_m=bias, miss_m=bias[..., None, :] + e)


def bias_covariance(
    line_of_fire: ArrayLike,
    range_m: ArrayLike,
    fire_control_sigma_rad: ArrayLike = 0.0,
    position_cov_m2: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Miss-plane bias covariance (N, 2, 2) at the intercept point.

    Sums the fire-control angular error (isotropic, σ_fc × range per axis) and the track's
    predicted position covariance at the intercept time (N, 3, 3) projected onto the plane normal
    to the line of fire. The miss-plane axes are (horizontal-right, up-ish) perpendicular to the
    line of fire: u1 = unit(ẑ × d) (or east when firing vertically), u2 = d × u1.
    """
    d = np.asarray(line_of_fire, dtype=float)
    if d.shape[-1] != 3:
        raise ValueError(f"line_of_fire must have shape (N, 3); got {d.shape}")
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    up = np.zeros_like(d)
    up[..., 2] = 1.0
    u1 = np.cross(up, d)
    n1 = np.linalg.norm(u1, axis=-1, keepdims=True)
    east = np.zeros_like(d)
    east[..., 0] = 1.0
    u1 = np.where(n1 > 1e-9, u1 / np.where(n1 > 1e-9, n1, 1.0), east)
    u2 = np.cross(d, u1)
    basis = np.stack([u1, u2], axis=-2)  # (N, 2, 3)
    rng_m = _as_float("range_m", range_m)
    s_fc = _as_float("fire_control_sigma_rad", fire_control_sigma_rad) * rng_m
    cov = (np.asarray(s_fc) ** 2)[..., None, None] * np.eye(2)
    if position_cov_m2 is not None:
        p = np.asarray(position_cov_m2, dtype=float)
        cov = cov + basis @ p @ np.swapaxes(basis, -1, -2)
    return np.broadcast_to(cov, (*basis.shape[:-2], 2, 2)).copy()
