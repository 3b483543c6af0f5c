"""Collateral risk of an engagement: expected casualties on the ground from what falls.

Why it exists: an intercept does not make a threat vanish. Its debris, the gun's rounds that fail
to self-destruct and the fragments of those that do all come down on the defended area and its
neighbours. Decision support must weigh that risk, and the public method for it is the expected
casualty count of FAA 14 CFR 420 Appendix C:

    E_c = Σ_pieces Σ_areas P(piece lands in area k) × (A_c / A_k) × N_k
        = Σ_pieces Σ_areas P_ik × ρ_k × A_c,i

with ρ_k = N_k / A_k the population density and A_c the piece's *effective casualty area*. The
acceptance level used by the FAA is E_c ≤ 1e-4 per launch.

Effective casualty area (a model, the basic form of range-safety practice, e.g. RCC 321): a
person is a disc of area A_p (0.36 m², FACTS.md section 5 [weak]) and a falling piece of
presented area A_f hurts whoever it touches, so A_c = (√A_p + √A_f)². Pieces whose impact kinetic
energy is below a threshold (default 15 J ≈ 11 ft·lbf, the commonly quoted hazardous-debris
threshold [weak]) are given A_c = 0.

Impact points are described either as Gaussian ellipses (mean, 2×2 covariance; the probability
mass inside a polygon is computed exactly with Owen's T function, below) or as weighted samples
(Monte Carlo, counted with shapely's vectorised point-in-polygon). Populated areas are shapely
polygons with a density in people per km² (holes allowed; overlapping areas add up), plus an
optional uniform background density.

Gaussian mass in a polygon: whiten the coordinates (x → L⁻¹(x − μ)), so the density is the
standard normal and the polygon is still a polygon. The polygon is the signed sum of the triangles
(0, v_k, v_k+1) fanning from the mean, and the standard normal's mass in such a triangle is
(1/2π) ∫ (1 − exp(−r(θ)²/2)) dθ over the angles the edge subtends, r(θ) = d / cos ψ the distance
to the edge line (d its distance from the mean, ψ the angle from the perpendicular). With
x = tan ψ the second term is Owen's T function: (1/2π) ∫ exp(−d²/(2cos²ψ)) dψ = T(d, tan ψ), so
each edge contributes (ψ_b − ψ_a)/2π − [T(d, s_b/d) − T(d, s_a/d)], s the endpoints' positions
along the edge from the foot of the perpendicular — exact to scipy's ``owens_t`` accuracy
(~1e-15), with no quadrature. Neither scipy nor shapely integrate a Gaussian over a polygon,
hence this code; the compiled form, many ellipses against many polygons in one call, is
:mod:`counterram.engagement.polygon_mass`.

The falling-debris footprints below are *models* with parameters, not data: see
:class:`DebrisModel`. The dud round's impact point comes from the physics core (``fly``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon

from counterram.engagement.polygon_mass import edges_of, gaussian_masses
from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import Munition
from counterram.physics.drag import MACH_MAX, DragTables
from counterram.physics.trajectory import Projectiles, fly, launch_state, propagate
from counterram.physics.wind import CALM, Wind

__all__ = [
    "CASUALTY_ENERGY_THRESHOLD_J",
    "PERSON_AREA_M2",
    "CasualtyEstimate",
    "DebrisModel",
    "FallingDebris",
    "PopulatedArea",
    "SampledImpacts",
    "casualty_area_m2",
    "debris_footprint",
    "dud_round_impacts",
    "expected_casualties",
    "gaussian_polygon_probabilities",
    "gaussian_polygon_probability",
    "self_destruct_fragments",
]

PERSON_AREA_M2 = 0.36
"""Projected area of a standing person, m² (FACTS.md section 5 [weak])."""

CASUALTY_ENERGY_THRESHOLD_J = 15.0
"""Impact kinetic energy below which a falling piece is not counted as hazardous (11 ft·lbf,
commonly quoted for range-safety debris; [weak])."""


# ------------------------------------------------------------------------------------------
# Geometry: Gaussian mass inside polygons
# ------------------------------------------------------------------------------------------


def gaussian_polygon_probability(
    mean_en: ArrayLike, cov_en: ArrayLike, polygon: Polygon | MultiPolygon
) -> NDArray[np.float64]:
    """Probability mass of N Gaussians (means (N, 2), covariances (N, 2, 2)) inside a polygon.

    Covariances must be positive definite (a degenerate ellipse is better given as samples).
    """
    return gaussian_polygon_probabilities(mean_en, cov_en, [polygon])[:, 0]


def gaussian_polygon_probabilities(
    mean_en: ArrayLike, cov_en: ArrayLike, polygons: Sequence[Polygon | MultiPolygon]
) -> NDArray[np.float64]:
    """Probability mass (N, P) of N Gaussians (means (N, 2), positive-definite covariances
    (N, 2, 2)) inside each of P polygons, in one compiled call."""
    mu = np.atleast_2d(np.asarray(mean_en, dtype=float))
    cov = np.asarray(cov_en, dtype=float)
    if cov.ndim == 2:
        cov = cov[None]
    n = mu.shape[0]
    if mu.shape != (n, 2) or cov.shape != (n, 2, 2):
        raise ValueError(
            f"mean_en must be (N, 2) and cov_en (N, 2, 2); got {mu.shape}, {cov.shape}"
        )
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    det = cov[:, 0, 0] * cov[:, 1, 1] - cov[:, 0, 1] ** 2
    if not np.all(np.isfinite(cov)) or np.any(cov[:, 0, 0] <= 0) or np.any(det <= 0):
        raise ValueError("cov_en must hold finite, positive-definite 2x2 covariances")
    for polygon in polygons:
        if not isinstance(polygon, (Polygon, MultiPolygon)):
            raise ValueError(
                f"polygon must be a shapely Polygon or MultiPolygon; got {polygon!r}"
            )
    return gaussian_masses(mu, cov, edges_of(polygons))


# ------------------------------------------------------------------------------------------
# Populated areas and falling pieces
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulatedArea:
    """A populated polygon (EN metres) with a density in people per km²."""

    polygon: Polygon | MultiPolygon
    density_per_km2: float
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.polygon, (Polygon, MultiPolygon)) or self.polygon.is_empty:
            raise ValueError(f"populated area {self.name!r}: polygon must be a non-empty polygon")
        if not self.polygon.is_valid:
            raise ValueError(f"populated area {self.name!r}: polygon is not valid (self-crossing?)")
        if not (np.isfinite(self.density_per_km2) and self.density_per_km2 >= 0):
            raise ValueError(
                f"populated area {self.name!r}: density_per_km2 must be >= 0; "
                f"got {self.density_per_km2!r}"
            )

    @property
    def density_per_m2(self) -> float:
        """People per m²."""
        return self.density_per_km2 * 1e-6


@dataclass(frozen=True)
class FallingDebris:
    """Groups of falling pieces, each group with a Gaussian impact ellipse (M groups).

    ``count`` is the expected number of pieces in the group (may be fractional, e.g. rounds ×
    dud rate); ``casualty_area_m2`` is per piece; ``impact_speed_mps`` and ``piece_mass_kg`` are
    kept for reporting.
    """

    mean_en: NDArray[np.float64]  # (M, 2)
    cov_en: NDArray[np.float64]  # (M, 2, 2)
    count: NDArray[np.float64]  # (M,)
    casualty_area_m2: NDArray[np.float64]  # (M,)
    piece_mass_kg: NDArray[np.float64]  # (M,)
    impact_speed_mps: NDArray[np.float64]  # (M,)

    def __len__(self) -> int:
        return int(self.count.shape[0])

    @staticmethod
    def concatenate(parts: Sequence[FallingDebris]) -> FallingDebris:
        """All groups of several footprints in one."""
        return FallingDebris(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _DEBRIS_FIELDS)
        )


_DEBRIS_FIELDS = (
    "mean_en", "cov_en", "count", "casualty_area_m2", "piece_mass_kg", "impact_speed_mps"
)


@dataclass(frozen=True)
class SampledImpacts:
    """Impact points as samples (S, 2), each standing for ``weight`` expected pieces."""

    points_en: NDArray[np.float64]
    weight: NDArray[np.float64]  # (S,) expected pieces each sample stands for
    casualty_area_m2: NDArray[np.float64]  # (S,)


@dataclass(frozen=True)
class CasualtyEstimate:
    """Expected casualties: ``total``, per populated area (K,), and per debris group or sample."""

    total: float
    by_area: NDArray[np.float64]
    background: float
    by_piece: NDArray[np.float64]


def casualty_area_m2(
    fragment_area_m2: ArrayLike,
    *,
    impact_energy_j: ArrayLike | None = None,
    person_area_m2: float = PERSON_AREA_M2,
    energy_threshold_j: float = CASUALTY_ENERGY_THRESHOLD_J,
) -> NDArray[np.float64]:
    """Effective casualty area (√A_p + √A_f)², zero below the kinetic-energy threshold."""
    af = np.asarray(fragment_area_m2, dtype=float)
    if np.any(af < 0) or not np.all(np.isfinite(af)):
        raise ValueError("fragment_area_m2 must be finite and >= 0")
    if person_area_m2 < 0:
        raise ValueError("person_area_m2 must be >= 0")
    ac = (np.sqrt(person_area_m2) + np.sqrt(af)) ** 2
    if impact_energy_j is not None:
        ac = np.where(np.asarray(impact_energy_j, dtype=float) >= energy_threshold_j, ac, 0.0)
    return ac


def expected_casualties(
    debris: FallingDebris | SampledImpacts,
    areas: Sequence[PopulatedArea] = (),
    *,
    background_density_per_km2: float = 0.0,
) -> CasualtyEstimate:
    """Expected casualties E_c (FAA 14 CFR 420 App. C) of falling pieces over populated areas."""
    if background_density_per_km2 < 0:
        raise ValueError("background_density_per_km2 must be >= 0")
    bg = background_density_per_km2 * 1e-6
    k = len(areas)
    if isinstance(debris, SampledImpacts):
        pts = np.atleast_2d(np.asarray(debris.points_en, dtype=float))
        w = np.broadcast_to(np.asarray(debris.weight, dtype=float), (pts.shape[0],))
        ac = np.broadcast_to(np.asarray(debris.casualty_area_m2, dtype=float), (pts.shape[0],))
        per = w * ac
        inside = np.stack(
            [shapely.contains_xy(a.polygon, pts[:, 0], pts[:, 1]) for a in areas], axis=1
        ) if k else np.zeros((pts.shape[0], 0), dtype=bool)
        prob = inside.astype(float)  # (S, K)
    elif isinstance(debris, FallingDebris):
        per = debris.count * debris.casualty_area_m2
        prob = gaussian_polygon_probabilities(
            debris.mean_en, debris.cov_en, [a.polygon for a in areas]
        ) if k else np.zeros((len(debris), 0))
    else:
        raise ValueError("debris must be FallingDebris or SampledImpacts")
    dens = np.array([a.density_per_m2 for a in areas], dtype=float)
    contrib = prob * dens[None, :] * per[:, None]  # (pieces, K)
    by_area = contrib.sum(axis=0)
    background = float(np.sum(per) * bg)
    by_piece = contrib.sum(axis=1) + per * bg
    return CasualtyEstimate(float(by_area.sum() + background), by_area, background, by_piece)


# ------------------------------------------------------------------------------------------
# Footprint models
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DebrisModel:
    """Parameterised footprint of a body breaking up in the air (a model, not data).

    The body's ``mass × mass_fraction`` becomes ``n_pieces`` equal compact pieces: cubes of the
    material density, tumbling, so their mean presented area is a convex body's surface / 4 =
    1.5 side², with a constant drag coefficient ``cd``. The pieces start with the body's velocity
    and are flown to the ground by the physics core (``fly``: ISA density, wind, gravity; a
    constant-Cd drag table). Break-up ejects them isotropically at ``ejection_speed_mps``, i.e.
    σ_v = speed/√3 per axis; the impact ellipse comes from four extra pieces ejected at ±σ_v east
    and north (sigma points, which keep the strongly sub-linear effect of drag on large ejection
    speeds): cov = Σ_k d_k d_kᵀ with d_k half the difference of the ± impact points. Vertical
    ejection is neglected. The break point's own uncertainty can be added as a covariance.
    """

    n_pieces: int = 30
    mass_fraction: float = 0.7
    material_density_kgpm3: float = 7850.0
    cd: float = 1.0
    ejection_speed_mps: float = 50.0

    def __post_init__(self) -> None:
        if self.n_pieces < 1:
            raise ValueError("n_pieces must be >= 1")
        if not 0 < self.mass_fraction <= 1:
            raise ValueError("mass_fraction must be in (0, 1]")
        if self.material_density_kgpm3 <= 0 or self.cd <= 0 or self.ejection_speed_mps < 0:
            raise ValueError("material_density_kgpm3 and cd must be > 0, ejection_speed_mps >= 0")


THREAT_DEBRIS = DebrisModel()
"""Default debris model of an intercepted threat: 70 % of the mass as 30 steel pieces, 50 m/s."""

ROUND_FRAGMENTS = DebrisModel(
    n_pieces=20, mass_fraction=0.8, material_density_kgpm3=7850.0, cd=1.0,
    ejection_speed_mps=300.0,
)
"""Default fragments of one self-destructed 20 mm round: 20 small steel pieces at 300 m/s."""


def debris_footprint(
    break_state: ArrayLike,
    mass_kg: ArrayLike,
    model: DebrisModel = THREAT_DEBRIS,
    *,
    count_scale: ArrayLike = 1.0,
    break_cov_en: ArrayLike | None = None,
    ground_height_m: float = 0.0,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    person_area_m2: float = PERSON_AREA_M2,
    energy_threshold_j: float = CASUALTY_ENERGY_THRESHOLD_J,
) -> FallingDebris:
    """Ground footprint of N bodies breaking up at states (N, 6) (one group of pieces each).

    ``count_scale`` multiplies the expected number of pieces (e.g. the probability that the
    break-up happens at all); ``break_cov_en`` (N, 2, 2) adds the break point's uncertainty.
    """
    x = np.atleast_2d(np.asarray(break_state, dtype=float))
    n = x.shape[0]
    if x.shape != (n, 6) or not np.all(np.isfinite(x)):
        raise ValueError(f"break_state must be finite with shape (N, 6); got {x.shape}")
    mass = np.broadcast_to(np.asarray(mass_kg, dtype=float), (n,))
    if np.any(mass <= 0):
        raise ValueError("mass_kg must be > 0")
    m_piece = mass * model.mass_fraction / model.n_pieces
    side = np.cbrt(m_piece / model.material_density_kgpm3)
    area = 1.5 * side**2
    sv = model.ejection_speed_mps / np.sqrt(3.0)
    kicks = np.array([[0, 0], [sv, 0], [-sv, 0], [0, sv], [0, -sv]], dtype=float)  # (5, 2)
    start = np.repeat(x, 5, axis=0)
    start[:, 3:5] += np.tile(kicks, (n, 1))
    airborne = start[:, 2] > ground_height_m
    start[~airborne, 2] = ground_height_m + 1e-3  # already down: drop from (just above) the ground
    bodies = _fragments(np.repeat(m_piece, 5), np.repeat(area, 5), model.cd)
    flight = fly(
        start, bodies, atmosphere=atmosphere, wind=wind, ground_height_m=ground_height_m,
        max_time_s=1000.0, rtol=DEBRIS_RTOL,
    )
    imp = flight.impact_state.reshape(n, 5, 6)
    if not np.all(np.isfinite(imp)):
        raise ValueError("a debris piece did not reach the ground within 1000 s")
    mean = imp[:, 0, 0:2].copy()
    d_east = 0.5 * (imp[:, 1, 0:2] - imp[:, 2, 0:2])
    d_north = 0.5 * (imp[:, 3, 0:2] - imp[:, 4, 0:2])
    cov = d_east[:, :, None] * d_east[:, None, :] + d_north[:, :, None] * d_north[:, None, :]
    cov = cov + 1e-6 * np.eye(2)  # keep the ellipse proper when there is no ejection spread
    if break_cov_en is not None:
        cov = cov + np.broadcast_to(np.asarray(break_cov_en, dtype=float), (n, 2, 2))
    v_imp = np.linalg.norm(imp[:, 0, 3:6], axis=1)
    energy = 0.5 * m_piece * v_imp**2
    ac = casualty_area_m2(
        area, impact_energy_j=energy, person_area_m2=person_area_m2,
        energy_threshold_j=energy_threshold_j,
    )
    count = np.broadcast_to(np.asarray(count_scale, dtype=float), (n,)) * model.n_pieces
    return FallingDebris(mean, cov, count.copy(), ac, m_piece, v_imp)


DEBRIS_RTOL = 1e-8
"""Tolerance of the debris and fragment flights: their impact points match the integrator's
millimetre default (1e-10) to within a millimetre (measured over 60 burst aims of the 20 mm
round), at half the cost. Falling pieces matter to metres."""

DUD_RTOL = 1e-9
"""Tolerance of the dud-round flights. Their ellipse comes from a finite difference of impact
points 1e-4 rad apart, which magnifies integration error: at 1e-9 the ellipse's semi-axes
(1–15 m) move by at most 5 cm from the 1e-10 default (23 cm at 1e-8)."""


def _fragments(
    mass_kg: NDArray[np.float64], area_m2: NDArray[np.float64], cd: float
) -> Projectiles:
    """Unpowered bodies with a constant drag coefficient, for the physics core's integrator."""
    key = float(cd)
    if key not in _FRAGMENT_DRAG:
        _FRAGMENT_DRAG[key] = DragTables.from_tables([((0.0, MACH_MAX), (key, key))], ["fragment"])
    n = mass_kg.shape[0]
    return Projectiles(
        mass_kg=mass_kg.astype(float), burnout_mass_kg=mass_kg.astype(float),
        area_m2=area_m2.astype(float), burn_time_s=np.zeros(n), thrust_n=np.zeros(n),
        drag_index=np.zeros(n, dtype=np.intp), drag_scale=np.ones(n), drag=_FRAGMENT_DRAG[key],
    )


_FRAGMENT_DRAG: dict[float, DragTables] = {}


def _aim_states(
    gun_enu: ArrayLike, azimuth_rad: ArrayLike, elevation_rad: ArrayLike, speed_mps: float
) -> NDArray[np.float64]:
    az = np.atleast_1d(np.asarray(azimuth_rad, dtype=float))
    el = np.atleast_1d(np.asarray(elevation_rad, dtype=float))
    g = np.broadcast_to(np.asarray(gun_enu, dtype=float), (az.size, 3))
    return launch_state(g, az, el, speed_mps)


def dud_round_impacts(
    gun_enu: ArrayLike,
    azimuth_rad: ArrayLike,
    elevation_rad: ArrayLike,
    interceptor: Munition,
    *,
    n_rounds: ArrayLike = 1.0,
    dispersion_rad: float = 1.5e-3,
    muzzle_speed_mps: float | None = None,
    ground_height_m: float = 0.0,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    person_area_m2: float = PERSON_AREA_M2,
) -> FallingDebris:
    """Impact ellipses of rounds that fail to self-destruct, for N burst aims.

    Each aim's nominal round is flown to the ground with ``fly``; the ellipse is the angular
    dispersion mapped through the finite-difference Jacobian of the impact point with respect to
    the two aim angles. The expected count is ``n_rounds × dud_rate``; rounds that hit the
    threat are not subtracted (conservative). A dud arrives with hundreds of J, so the energy
    threshold never removes it; its casualty area uses the round's length × diameter.
    """
    if interceptor.dud_rate is None:
        raise ValueError(f"munition {interceptor.name!r} has no dud_rate (not an interceptor?)")
    speed = muzzle_speed_mps if muzzle_speed_mps is not None else next(
        iter(interceptor.charges.values())
    )
    x0 = _aim_states(gun_enu, azimuth_rad, elevation_rad, speed)
    n = x0.shape[0]
    az, el = np.arctan2(x0[:, 3], x0[:, 4]), np.arcsin(np.clip(x0[:, 5] / speed, -1, 1))
    h = 1e-4
    cos_el = np.maximum(np.cos(el), 1e-3)
    states = np.concatenate(
        [x0, launch_state(x0[:, 0:3], az + h / cos_el, el, speed),
         launch_state(x0[:, 0:3], az, el + h, speed)]
    )
    flight = fly(
        states, Projectiles.repeat(interceptor, 3 * n), atmosphere=atmosphere, wind=wind,
        ground_height_m=ground_height_m, max_time_s=200.0, rtol=DUD_RTOL,
    )
    imp = flight.impact_state
    if not np.all(np.isfinite(imp[:n])):
        raise ValueError("a dud round did not reach the ground within 200 s")
    jac = np.stack([(imp[n : 2 * n, 0:2] - imp[:n, 0:2]) / h,
                    (imp[2 * n :, 0:2] - imp[:n, 0:2]) / h], axis=2)  # (n, 2, 2)
    cov = dispersion_rad**2 * jac @ np.swapaxes(jac, 1, 2) + 1e-6 * np.eye(2)
    length = interceptor.length_m if getattr(interceptor, "length_m", None) else (
        5.0 * interceptor.diameter_m
    )
    area = np.full(n, interceptor.diameter_m * length)
    speed_imp = np.linalg.norm(imp[:n, 3:6], axis=1)
    ac = casualty_area_m2(area, person_area_m2=person_area_m2)
    count = np.broadcast_to(np.asarray(n_rounds, dtype=float), (n,)) * interceptor.dud_rate
    return FallingDebris(
        imp[:n, 0:2].copy(), cov, count.copy(), ac, np.full(n, interceptor.mass_kg), speed_imp
    )


def self_destruct_fragments(
    gun_enu: ArrayLike,
    azimuth_rad: ArrayLike,
    elevation_rad: ArrayLike,
    interceptor: Munition,
    *,
    n_rounds: ArrayLike = 1.0,
    model: DebrisModel = ROUND_FRAGMENTS,
    muzzle_speed_mps: float | None = None,
    ground_height_m: float = 0.0,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    person_area_m2: float = PERSON_AREA_M2,
    energy_threshold_j: float = CASUALTY_ENERGY_THRESHOLD_J,
) -> FallingDebris:
    """Fragments of rounds that self-destruct on time, for N burst aims.

    The burst point is the round's state at ``self_destruct_s`` (``propagate`` in 50 ms RK4
    steps: within 0.3 mm and 0.03 mm/s of a 0.5 ms-step reference for the 20 mm round's 4 s
    at 1,100 m/s, at any aim); the fragments
    follow :func:`debris_footprint` with ``model``. Expected count: ``n_rounds × (1 − dud_rate)
    × model.n_pieces``. Small fragments falling at their terminal speed mostly carry less than the
    energy threshold and then get no casualty area. Bursts below the ground height are dropped
    (count 0).
    """
    if interceptor.self_destruct_s is None:
        raise ValueError(f"munition {interceptor.name!r} has no self_destruct_s")
    speed = muzzle_speed_mps if muzzle_speed_mps is not None else next(
        iter(interceptor.charges.values())
    )
    x0 = _aim_states(gun_enu, azimuth_rad, elevation_rad, speed)
    n = x0.shape[0]
    burst = propagate(
        x0, Projectiles.repeat(interceptor, n), interceptor.self_destruct_s,
        atmosphere=atmosphere, wind=wind, time_since_launch_s=0.0, max_step_s=0.05,
    )
    airborne = burst[:, 2] > ground_height_m
    dud = interceptor.dud_rate or 0.0
    scale = np.broadcast_to(np.asarray(n_rounds, dtype=float), (n,)) * (1.0 - dud) * airborne
    return debris_footprint(
        burst, interceptor.mass_kg, model, count_scale=scale, ground_height_m=ground_height_m,
        atmosphere=atmosphere, wind=wind, person_area_m2=person_area_m2,
        energy_threshold_j=energy_threshold_j,
    )
