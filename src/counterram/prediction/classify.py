"""Threat classification from track kinematics: class (mortar / rocket / artillery) and munition.

Why it exists: the impact and origin predictions need a munition's drag curve, mass and motor; the
warning and the engagement want to know what is coming. The radar gives only kinematics, so each
catalogue threat is tested as a hypothesis against the track. Each test asks whether the track's
state could be a point on a trajectory of that munition, launched the way the munition is launched.

For each candidate munition m and each track (all pairs in one batched backward flight):

1. **Drag.** The track's log drag scale β is relative to a reference munition (the one the
   tracker's :class:`~counterram.tracking.motion.Ballistic` model used). The physical quantity
   behind it is the drag acceleration, ``exp(β) · ½ (A/m)_ref Cd_ref(M)``. Written in m's terms
   it becomes ``β_m = β + ln(A/m · Cd)_ref(M) − ln(A/m · Cd)_m(M)`` at the track's current Mach
   number M. A munition of the catalogue should have β_m ≈ 0; the score is Gaussian with
   variance ``σ_prior² + P_ββ`` (σ_prior = 0.15 by default: the catalogue's Cd tables are
   unverified, and lot-to-lot and temperature effects change drag by ~10 %).
2. **Launch.** The state is flown back to the ground with m's drag (and, for rockets, through the
   boost with m's motor: :func:`counterram.prediction.origin.fly_back`).
   * Mortars and shells: the speed at the ground must match one of m's charges. The score is
     Gaussian in the relative difference to the nearest charge, with σ = 5 %.
   * Rockets: where the back-flown path passes m's burnout height, its speed must match m's
     burnout speed (from the motor model, at that flight-path angle). The score is Gaussian in the
     relative difference, with σ = 6 %. If no burnout point is found, the score is −12.5 (a 5 σ
     miss). The speed at the launcher itself is not used. After the reversed boost it depends
     on where the burnout was placed: a 20 m shift of that point moves it by ~100 m/s.
   * The launch elevation must lie within m's limits. Outside them the score is Gaussian in the
     excess, with σ = 3°.

The log-likelihoods add up, the candidates get a uniform prior, and the posterior is their
softmax. The class is the kind with the largest summed posterior, and the munition is the best
candidate in that class. Drag alone cannot separate everything: the 107 mm rocket after burnout
and the 81 mm bomb have ballistic coefficients within 1 % of each other in this catalogue. The
launch test separates them, because a rocket's back-flown path passes far above a mortar's
charge speeds. The confusion matrix is measured in docs/warning.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import Catalogue, Munition, load_catalogue
from counterram.physics.drag import tables_for
from counterram.physics.wind import CALM, Wind
from counterram.prediction.impact import as_track_arrays
from counterram.prediction.origin import fly_back

__all__ = [
    "KINDS",
    "Classification",
    "ClassifierSettings",
    "classify",
    "log_drag_scale_for",
    "rebase_drag_scale",
    "threat_candidates",
]

KINDS: tuple[str, ...] = ("mortar", "rocket", "artillery")


@dataclass(frozen=True)
class ClassifierSettings:
    """Tolerances of the hypothesis tests (see the module docstring)."""

    drag_prior_sigma: float = 0.15
    charge_speed_rel_sigma: float = 0.05
    burnout_speed_rel_sigma: float = 0.06
    elevation_sigma_deg: float = 3.0
    no_burnout_log_likelihood: float = -12.5


@dataclass(frozen=True)
class Classification:
    """Result for N tracks over M candidate munitions.

    ``log_likelihood`` and ``probability`` (N, M); ``log_drag_scale`` (N, M) the track's β
    rewritten for each candidate; ``munition`` and ``kind`` (N,) the decisions;
    ``kind_probability`` (N, 3) over :data:`KINDS`; ``launch_speed_mps`` and
    ``launch_elevation_deg`` (N, M) of each hypothesis' back-flown launch.
    """

    candidates: tuple[str, ...]
    candidate_kinds: tuple[str, ...]
    log_likelihood: NDArray[np.float64]
    probability: NDArray[np.float64]
    log_drag_scale: NDArray[np.float64]
    launch_speed_mps: NDArray[np.float64]
    launch_elevation_deg: NDArray[np.float64]
    kind_probability: NDArray[np.float64]
    best: NDArray[np.intp]
    munition: tuple[str, ...]
    kind: tuple[str, ...]

    def best_log_drag_scale(self) -> NDArray[np.float64]:
        """β of each track rewritten for its chosen munition (N,)."""
        return self.log_drag_scale[np.arange(self.best.size), self.best]


def threat_candidates(catalogue: Catalogue | None = None) -> list[Munition]:
    """Every catalogue munition that is a threat (not an interceptor)."""
    cat = catalogue if catalogue is not None else load_catalogue()
    return [m for m in cat if m.kind in KINDS]


def _drag_factor(
    munitions: Sequence[Munition], x: NDArray[np.float64], atmosphere: Atmosphere, wind: Wind
) -> NDArray[np.float64]:
    """ln(½ (A/m) Cd(M)) of each munition at each state's Mach number, (N, M); burnout mass."""
    tables = tables_for(munitions)
    w = x[:, 3:6] - np.asarray(wind.at(x[:, 2]), dtype=float).reshape(-1, 3)
    mach = np.linalg.norm(w, axis=1) / np.asarray(atmosphere.speed_of_sound(x[:, 2]), dtype=float)
    out = np.empty((x.shape[0], len(munitions)))
    for j, m in enumerate(munitions):
        cd = tables.cd(np.full(x.shape[0], j, dtype=np.intp), mach)
        out[:, j] = np.log(0.5 * m.area_m2 / m.burnout_mass_kg * cd)
    return out


def log_drag_scale_for(
    x: ArrayLike,
    reference: Munition,
    candidates: Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
) -> NDArray[np.float64]:
    """The tracks' β (relative to ``reference``) rewritten for each candidate, (N, M)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    f = _drag_factor([reference, *candidates], x, atmosphere, wind)
    return x[:, 6:7] + f[:, :1] - f[:, 1:]


def rebase_drag_scale(
    x: ArrayLike,
    reference: Munition,
    target: Munition | Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
) -> NDArray[np.float64]:
    """Track states (N, 7) with β rewritten from ``reference`` to ``target`` (one or per track),
    so that the prediction can fly them with the target's drag curve."""
    x = np.array(np.atleast_2d(np.asarray(x, dtype=float)))
    targets = [target] * x.shape[0] if isinstance(target, Munition) else list(target)
    f_ref = _drag_factor([reference], x, atmosphere, wind)[:, 0]
    for m in {t.name: t for t in targets}.values():
        sel = np.array([t.name == m.name for t in targets])
        x[sel, 6] += f_ref[sel] - _drag_factor([m], x[sel], atmosphere, wind)[:, 0]
    return x


def classify(
    x: ArrayLike,
    P: ArrayLike,
    time_s: ArrayLike,
    reference: Munition,
    *,
    candidates: Sequence[Munition] | None = None,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    settings: ClassifierSettings = ClassifierSettings(),
    rtol: float | None = None,
) -> Classification:
    """Class and most likely munition of N tracks (states (N, 7) with β relative to
    ``reference``, covariances (N, 7, 7), times (N,)); see the module docstring.

    ``rtol``: the backward flights' tolerance (None: the integrator's backward default). The
    likelihoods compare launch speeds to charge tables within a few per cent and launch times
    to tenths of a second, so the engine flies them as loosely as its origins."""
    x, P, t = as_track_arrays(x, P, time_s)
    cands = list(candidates) if candidates is not None else threat_candidates()
    if not cands:
        raise ValueError("classify: candidates must hold at least one munition")
    bad = [m.name for m in cands if m.kind not in KINDS]
    if bad:
        raise ValueError(f"classify: candidates must be threats of kind {KINDS}; got {bad}")
    n, k = x.shape[0], len(cands)
    s = settings
    beta = log_drag_scale_for(x, reference, cands, atmosphere=atmosphere, wind=wind)
    var = s.drag_prior_sigma**2 + P[:, 6, 6]
    ll = -0.5 * beta**2 / var[:, None] - 0.5 * np.log(2 * np.pi * var)[:, None]

    rows = [m for _ in range(n) for m in cands]
    back = fly_back(
        np.repeat(x[:, :6], k, axis=0),
        rows,
        np.exp(np.clip(beta.reshape(-1), -3.0, 3.0)),
        np.repeat(t, k),
        atmosphere=atmosphere,
        wind=wind,
        ground_height_m=ground_height_m,
        rtol=rtol,
    )
    v0 = back.launch_speed_mps.reshape(n, k)
    el0 = np.degrees(back.launch_elevation_rad.reshape(n, k))
    t0 = back.origin_time_s.reshape(n, k)
    boosted = back.boosted.reshape(n, k)
    v_bo = back.burnout_speed_mps.reshape(n, k)
    v_bo_expected = back.expected_burnout_speed_mps.reshape(n, k)
    el_table = np.degrees(back.burnout_launch_elevation_rad.reshape(n, k))
    for j, m in enumerate(cands):
        if m.burn_time_s > 0 and m.thrust_n > 0:
            rel = (v_bo[:, j] / v_bo_expected[:, j] - 1.0) / s.burnout_speed_rel_sigma
            launch = np.where(boosted[:, j], -0.5 * rel**2, s.no_burnout_log_likelihood)
            # elevation from the burnout flight-path angle (motor table), not from the reversed
            # boost, whose end direction turns wildly as the speed runs down
            el0[:, j] = np.where(boosted[:, j], el_table[:, j], el0[:, j])
        else:
            speeds = np.array(list(m.charges.values()), dtype=float)
            rel = (v0[:, j, None] - speeds[None, :]) / (s.charge_speed_rel_sigma * speeds[None, :])
            launch = np.max(-0.5 * rel**2, axis=1)
        lo, hi = m.elevation_min_deg, m.elevation_max_deg
        excess = np.maximum(lo - el0[:, j], 0.0) + np.maximum(el0[:, j] - hi, 0.0)
        excess = np.where(np.isfinite(excess), excess, 5.0 + 2.0 * s.elevation_sigma_deg)
        launch = launch - 0.5 * (excess / s.elevation_sigma_deg) ** 2
        ll[:, j] += np.where(np.isfinite(launch) & np.isfinite(t0[:, j]), launch, -50.0)
    ll = np.where(np.isfinite(ll), ll, -1e6)
    post = np.exp(ll - ll.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    kinds = tuple(m.kind for m in cands)
    kind_p = np.stack(
        [post[:, [j for j, kd in enumerate(kinds) if kd == kind]].sum(axis=1) for kind in KINDS],
        axis=1,
    )
    kind_idx = np.argmax(kind_p, axis=1)
    masked = np.where(np.array(kinds)[None, :] == np.array(KINDS)[kind_idx][:, None], post, -1.0)
    best = np.argmax(masked, axis=1)
    return Classification(
        tuple(m.name for m in cands),
        kinds,
        ll,
        post,
        beta,
        v0,
        el0,
        kind_p,
        best,
        tuple(cands[b].name for b in best),
        tuple(KINDS[i] for i in kind_idx),
    )
