"""Predicted point of impact, with uncertainty, for N tracks at once (unscented transform).

Why it exists: a track is a mean state and a covariance at one time; the warning, the threat
evaluation and the engagement all need where and when the round will come down and how sure that
is. The map from a state to its ground crossing is nonlinear (drag, the crossing time depends on
the state), so the covariance is carried by the unscented transform (Julier & Uhlmann, Proc. IEEE
92(3), 2004): 2d + 1 sigma points per track are flown to the ground by the physics core's batched
integrator (:func:`counterram.physics.trajectory.fly`) — every sigma point of every track in one
call — and the ground points and times are recombined into a mean and a 3×3 covariance of
(east, north, time).

Track state (7,): [east, north, up, v_east, v_north, v_up, β] with β the natural log of the drag
scale relative to the assumed munition (the tracker's :class:`~counterram.tracking.motion.Ballistic`
convention); exp(β) goes into :meth:`Projectiles.from_munitions` as ``drag_scale``.

UT parameters (defaults α = 1, β_UT = 2, κ = 0, so λ = α²(d + κ) − d = 0):

* the sigma points sit at ±√d σ = ±2.65 σ along the covariance's square-root columns and every
  weight is positive (W₀ᵐ = 0, Wᵢ = 1/(2d), W₀ᶜ = 2). Positive weights make the covariance
  positive semi-definite by construction. Julier's κ = 3 − d (matching the Gaussian's fourth
  moments) is negative for d = 7 and can produce an indefinite covariance. A small α (the
  "scaled" UT's usual 1e-3) shrinks the points onto the mean, so the transform degenerates into
  a finite-difference linearisation with a huge negative centre weight;
* β_UT = 2 is the optimal value for a Gaussian prior (it adds the fourth-order term to the centre
  weight of the covariance);
* ±2.65 σ probes the nonlinearity over the range that matters for a 90 % ellipse (its radius is
  2.15 σ).

The calibration test (tests/test_prediction.py) checks that the stated-probability ellipses
contain the true impact point at their stated rate, over rounds of every catalogue threat.

Where the Gaussian description fails: a track that has not yet passed its apex and has a large
velocity covariance gives sigma points whose flight times differ by tens of seconds. Its
ground distribution is then curved (banana-shaped) along the range. A Gaussian with the UT's
moments still covers it but overstates the cross-range width of its tails. Rockets seen while the
motor still burns are outside this model unless their ``time_since_launch_s`` is given (the
integrator then applies the catalogue thrust for the rest of the burn).

Optional extra uncertainty: ``acceleration_psd_m2ps3`` adds a white random acceleration
(unmodelled forces such as gusts or an unknown wind) of spectral density q per horizontal axis.
Over the time to go T it spreads the horizontal position by q T³/3 (Bar-Shalom, Li &
Kirubarajan 2001, §6.2.2); that term is added to the ground covariance. The default is 0: the
scenario's wind is taken as known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import Munition
from counterram.physics.trajectory import Flight, Projectiles, fly
from counterram.physics.wind import CALM, Wind
from counterram.prediction.ellipse import ErrorEllipse, error_ellipse

__all__ = [
    "BURNT_OUT_S",
    "DEFAULT_UT",
    "STATE_DIM",
    "GroundPrediction",
    "SigmaFlights",
    "UTParameters",
    "as_track_arrays",
    "flight_impacts",
    "impact_points",
    "impact_sigma_flights",
    "munition_rows",
    "predict_impact",
    "recombine",
    "sigma_points",
    "state_flights",
]

STATE_DIM = 7
BURNT_OUT_S = 1e9
"""Time since launch meaning "motor burnt out" (the integrator applies no thrust)."""

_BETA_LIMIT = 3.0  # |β| clip: drag scale within [e⁻³, e³] ≈ [0.05, 20]; a sane track is far inside


@dataclass(frozen=True)
class UTParameters:
    """Scaled unscented transform parameters (see the module docstring for the defaults)."""

    alpha: float = 1.0
    beta: float = 2.0
    kappa: float = 0.0

    def __post_init__(self) -> None:
        if not self.alpha > 0:
            raise ValueError(f"UTParameters.alpha must be > 0; got {self.alpha!r}")

    def weights(self, d: int) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        """(mean weights, covariance weights, scale d + λ) for dimension d."""
        lam = self.alpha**2 * (d + self.kappa) - d
        scale = d + lam
        if not scale > 0:
            raise ValueError(f"UT parameters give d + λ = {scale} <= 0 for d = {d}")
        wm = np.full(2 * d + 1, 0.5 / scale)
        wc = wm.copy()
        wm[0] = lam / scale
        wc[0] = lam / scale + (1.0 - self.alpha**2 + self.beta)
        return wm, wc, scale


DEFAULT_UT = UTParameters()


@dataclass(frozen=True)
class GroundPrediction:
    """Predicted ground points of N tracks (impact or origin).

    ``mean_en`` (N, 2) and ``cov_en`` (N, 2, 2) in east/north metres; ``time_s`` (N,) the mean
    time at the ground and ``time_sigma_s`` its standard deviation; ``cov_ent`` (N, 3, 3) the
    joint (east, north, time) covariance; ``valid`` (N,) false where a sigma point did not reach
    the ground within the integration limit (the other fields are NaN there); ``coarse`` (N,)
    true where the estimate rests on a cruder model than the rest (origin of a rocket whose
    burnout could not be located); ``munition`` the assumed munition of each track.
    """

    mean_en: NDArray[np.float64]
    cov_en: NDArray[np.float64]
    time_s: NDArray[np.float64]
    time_sigma_s: NDArray[np.float64]
    cov_ent: NDArray[np.float64]
    valid: NDArray[np.bool_]
    coarse: NDArray[np.bool_]
    munition: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.mean_en.shape[0])

    def ellipse(self, probability: float = 0.9) -> ErrorEllipse:
        """Error ellipses at ``probability`` (χ²₂ quantile)."""
        return error_ellipse(self.cov_en, probability)

    @staticmethod
    def concatenate(preds: Sequence[GroundPrediction]) -> GroundPrediction:
        """The rows of several predictions, one after the other."""
        def cat(name: str) -> NDArray:
            return np.concatenate([getattr(g, name) for g in preds])

        return GroundPrediction(
            cat("mean_en"), cat("cov_en"), cat("time_s"), cat("time_sigma_s"), cat("cov_ent"),
            cat("valid"), cat("coarse"), tuple(m for g in preds for m in g.munition),
        )

    def take(self, index: ArrayLike) -> GroundPrediction:
        """Rows selected by an index array or boolean mask."""
        idx = np.arange(len(self))[index]
        return GroundPrediction(
            self.mean_en[idx],
            self.cov_en[idx],
            self.time_s[idx],
            self.time_sigma_s[idx],
            self.cov_ent[idx],
            self.valid[idx],
            self.coarse[idx],
            tuple(self.munition[i] for i in idx),
        )

    def inflated(self, factor: ArrayLike) -> GroundPrediction:
        """A copy with the ground covariance multiplied by ``factor`` (scalar or (N,)) —
        variance, not standard deviation."""
        f = np.broadcast_to(np.asarray(factor, dtype=float), (len(self),))
        cov_ent = self.cov_ent.copy()
        cov_ent[:, :2, :2] *= f[:, None, None]
        return GroundPrediction(
            self.mean_en,
            self.cov_en * f[:, None, None],
            self.time_s,
            self.time_sigma_s,
            cov_ent,
            self.valid,
            self.coarse,
            self.munition,
        )


def as_track_arrays(
    x: ArrayLike, P: ArrayLike, time_s: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Validate and broadcast track states (N, 7), covariances (N, 7, 7) and times (N,)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    P = np.asarray(P, dtype=float)
    if P.ndim == 2:
        P = P[None]
    n = x.shape[0]
    if x.shape != (n, STATE_DIM):
        raise ValueError(f"track state x must be (N, 7) [p, v, log drag scale]; got {x.shape}")
    if P.shape != (n, STATE_DIM, STATE_DIM):
        raise ValueError(f"track covariance P must be (N, 7, 7) with N = {n}; got {P.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(P))):
        raise ValueError("track state x and covariance P must be finite")
    t = np.broadcast_to(np.asarray(time_s, dtype=float), (n,)).copy()
    return x, 0.5 * (P + np.swapaxes(P, 1, 2)), t


def munition_rows(munition: Munition | Sequence[Munition], n: int) -> list[Munition]:
    """One munition per track: a single munition is repeated."""
    if isinstance(munition, Munition):
        return [munition] * n
    rows = list(munition)
    if len(rows) != n:
        raise ValueError(f"munition: give one Munition or one per track ({n}); got {len(rows)}")
    return rows


def sigma_points(
    x: NDArray[np.float64], P: NDArray[np.float64], ut: UTParameters = DEFAULT_UT
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Sigma points (N, 2d+1, d) of Gaussians (N, d)/(N, d, d) and the UT weights.

    The square root is a Cholesky factor; a covariance that is only semi-definite (a state
    component known exactly) gets a 1e-9-relative diagonal jitter first.
    """
    n, d = x.shape
    wm, wc, scale = ut.weights(d)
    try:
        L = np.linalg.cholesky(scale * P)
    except np.linalg.LinAlgError:
        jitter = 1e-9 * np.maximum(np.einsum("nii->n", P) / d, 1e-12)
        L = np.linalg.cholesky(scale * (P + jitter[:, None, None] * np.eye(d)))
    cols = np.swapaxes(L, 1, 2)  # (N, d, d): row j is column j of L
    X = np.empty((n, 2 * d + 1, d))
    X[:, 0] = x
    X[:, 1 : d + 1] = x[:, None, :] + cols
    X[:, d + 1 :] = x[:, None, :] - cols
    return X, wm, wc


def recombine(
    Y: NDArray[np.float64], wm: NDArray[np.float64], wc: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted mean (N, k) and covariance (N, k, k) of transformed sigma points (N, S, k)."""
    mean = np.einsum("s,nsk->nk", wm, Y)
    dev = Y - mean[:, None, :]
    cov = np.einsum("s,nsi,nsj->nij", wc, dev, dev)
    return mean, 0.5 * (cov + np.swapaxes(cov, 1, 2))


def _bodies(rows: list[Munition], beta: NDArray[np.float64]) -> Projectiles:
    scale = np.exp(np.clip(beta, -_BETA_LIMIT, _BETA_LIMIT))
    return Projectiles.from_munitions(rows, drag_scale=scale)


def _ground_prediction(
    Y: NDArray[np.float64],
    wm: NDArray[np.float64],
    wc: NDArray[np.float64],
    coarse: NDArray[np.bool_],
    names: tuple[str, ...],
) -> GroundPrediction:
    """Recombine (N, S, 3) ground sigma points (east, north, time)."""
    valid = np.all(np.isfinite(Y), axis=(1, 2))
    Ys = np.where(valid[:, None, None], Y, 0.0)
    mean, cov = recombine(Ys, wm, wc)
    mean[~valid] = np.nan
    cov[~valid] = np.nan
    return GroundPrediction(
        mean[:, :2],
        cov[:, :2, :2].copy(),
        mean[:, 2].copy(),
        np.sqrt(np.maximum(cov[:, 2, 2], 0.0)),
        cov,
        valid,
        coarse,
        names,
    )


def predict_impact(
    x: ArrayLike,
    P: ArrayLike,
    time_s: ArrayLike,
    munition: Munition | Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    time_since_launch_s: ArrayLike = BURNT_OUT_S,
    ut: UTParameters = DEFAULT_UT,
    max_time_s: float = 400.0,
    acceleration_psd_m2ps3: float = 0.0,
    rtol: float | None = None,
) -> GroundPrediction:
    """Predicted point and time of impact of N tracks (states (N, 7), covariances (N, 7, 7) at
    ``time_s``), flying every sigma point forward to ``ground_height_m`` in one batched call.

    ``munition``: the assumed munition (one, or one per track). The flights use the physics
    core's adaptive integrator at ``rtol`` (None: its default, millimetre-level impact points;
    1e-8 moves an impact point by centimetres), far below any track error.
    """
    if acceleration_psd_m2ps3 < 0:
        raise ValueError("acceleration_psd_m2ps3 must be >= 0")
    sf = impact_sigma_flights(
        x, P, time_s, munition, atmosphere=atmosphere, wind=wind,
        ground_height_m=ground_height_m, time_since_launch_s=time_since_launch_s, ut=ut,
        max_time_s=max_time_s, rtol=rtol,
    )
    out = sf.prediction()
    if acceleration_psd_m2ps3 > 0:
        to_go = np.maximum(out.time_s - sf.time_s, 0.0)
        extra = acceleration_psd_m2ps3 * to_go**3 / 3.0
        i2 = np.arange(2)
        out.cov_en[:, i2, i2] += extra[:, None]
        out.cov_ent[:, i2, i2] += extra[:, None]
    return out


@dataclass(frozen=True)
class SigmaFlights:
    """The unscented transform of N tracks to the ground, before recombination.

    ``x`` (N, 7), ``P`` (N, 7, 7), ``time_s`` (N,): the tracks; ``X`` (N, S, 7) their sigma
    points, ``Y`` (N, S, 3) where each landed (east, north, time; NaN where it did not), ``wm`` and
    ``wc`` the UT weights, ``coarse`` (N,) and ``munition`` as in :class:`GroundPrediction`.
    Kept so that :mod:`counterram.prediction.incremental` can linearise the map from state to
    ground point without flying again.
    """

    x: NDArray[np.float64]
    P: NDArray[np.float64]
    time_s: NDArray[np.float64]
    X: NDArray[np.float64]
    Y: NDArray[np.float64]
    wm: NDArray[np.float64]
    wc: NDArray[np.float64]
    coarse: NDArray[np.bool_]
    munition: tuple[str, ...]

    def prediction(self) -> GroundPrediction:
        """The recombined ground prediction."""
        return _ground_prediction(self.Y, self.wm, self.wc, self.coarse, self.munition)


def impact_sigma_flights(
    x: ArrayLike,
    P: ArrayLike,
    time_s: ArrayLike,
    munition: Munition | Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    time_since_launch_s: ArrayLike = BURNT_OUT_S,
    ut: UTParameters = DEFAULT_UT,
    max_time_s: float = 400.0,
    rtol: float | None = None,
) -> SigmaFlights:
    """The sigma points of N tracks flown forward to the ground (:func:`predict_impact`)."""
    x, P, t = as_track_arrays(x, P, time_s)
    n = x.shape[0]
    rows = munition_rows(munition, n)
    X, wm, wc = sigma_points(x, P, ut)
    s = X.shape[1]
    tsl = np.broadcast_to(np.asarray(time_since_launch_s, dtype=float), (n,))
    Y = impact_points(
        X.reshape(n * s, STATE_DIM), np.repeat(t, s), [m for m in rows for _ in range(s)],
        atmosphere=atmosphere, wind=wind, ground_height_m=ground_height_m,
        time_since_launch_s=np.repeat(tsl, s), max_time_s=max_time_s, rtol=rtol,
    )
    return SigmaFlights(
        x, P, t, X, Y.reshape(n, s, 3), wm, wc, np.zeros(n, dtype=bool),
        tuple(m.name for m in rows),
    )


def impact_points(
    x: NDArray[np.float64],
    time_s: NDArray[np.float64],
    rows: Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    time_since_launch_s: ArrayLike = BURNT_OUT_S,
    max_time_s: float = 400.0,
    rtol: float | None = None,
) -> NDArray[np.float64]:
    """Where states (M, 7) at ``time_s`` (M,) come down: (M, 3) east, north and time of impact
    (NaN where a state does not reach the ground within ``max_time_s``), in one batched flight."""
    return flight_impacts(state_flights(
        x, time_s, rows, atmosphere=atmosphere, wind=wind, ground_height_m=ground_height_m,
        time_since_launch_s=time_since_launch_s, max_time_s=max_time_s, rtol=rtol,
    ))


def state_flights(
    x: NDArray[np.float64],
    time_s: NDArray[np.float64],
    rows: Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    time_since_launch_s: ArrayLike = BURNT_OUT_S,
    max_time_s: float = 400.0,
    rtol: float | None = None,
    sample_dt_s: float | None = None,
    sample_from_s: ArrayLike = 0.0,
    sample_span_s: float | None = None,
) -> Flight:
    """States (M, 7) at ``time_s`` (M,) (β the log drag scale relative to each row's munition)
    flown to the ground in one batch, optionally sampled (:func:`~counterram.physics.trajectory.
    fly`'s ``sample_*`` arguments): the flight behind :func:`impact_points`, for callers that
    also keep the path."""
    return fly(
        x[:, :6],
        _bodies(list(rows), x[:, 6]),
        atmosphere=atmosphere,
        wind=wind,
        t0_s=time_s,
        time_since_launch_s=time_since_launch_s,
        ground_height_m=ground_height_m,
        max_time_s=max_time_s,
        rtol=rtol,
        sample_dt_s=sample_dt_s,
        sample_from_s=sample_from_s,
        sample_span_s=sample_span_s,
    )


def flight_impacts(flight: Flight) -> NDArray[np.float64]:
    """(M, 3) east, north and time of impact of a flight's bodies (NaN where none)."""
    return np.concatenate([flight.impact_state[:, :2], flight.impact_time_s[:, None]], axis=1)
