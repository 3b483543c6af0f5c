"""Incremental ground prediction: between two full unscented flights of a track, only its mean
state is flown; the covariance of its impact (or origin) is carried by the sensitivity of the
last full flight.

Why it exists: flying 15 sigma points of every track to the ground at every step is the engine's
largest cost. The unscented transform (UT) already holds what a linearisation needs: its sigma
points X (at ±√d σ) and where they came down Y give the statistical linear regression of the
ground point (east, north, time) on the state, J = P_yx P₀⁻¹, the part of the ground covariance no
linear map explains, R = P_yy − J P₀ Jᵀ (the nonlinearity, positive semi-definite by
construction), and the UT's bias b = ȳ₀ − g(x₀) (its mean less the flight of the mean state,
the central sigma point). A later estimate x₁, P₁ of the same track at time t₁ is then predicted
by one flight, of its mean, and

    ȳ₁ = g(x₁) + b,   P_yy,1 = J F P₁ Fᵀ Jᵀ + R,

with F the transition matrix of the tracker's motion model from t₁ back to the linearisation time
t₀ (a state on the same trajectory has the same ground point, so ∂g/∂x₁ = J F).

Why the mean is still flown rather than moved by J too: a track's mean moves fast. Measured on a
100-rocket salvo (docs/warning.md), one 0.5 s update moves it by a Mahalanobis distance² of 2
(median) under P₀, and a mean moved by J strays from the full flight by 0.2 σ after 0.5 s and
0.7 σ after 1–2 s (p95); the covariance, on the other hand, stays within ±10 % for seconds.

The caller flies the full UT again (:meth:`IncrementalPredictor.predict`) when the
linearisation is older than ``max_age_s``, when the covariance carried back to t₀ has left the
band [``min_variance_ratio``, ``max_variance_ratio``] of P₀ (mean variance ratio
tr(P₀⁻¹ F P₁ Fᵀ)/d: R was measured at P₀ and J fitted over its span), when the assumed munition
changed, or when a sigma point did not reach the ground.

Written here rather than taken from a library: the filtering libraries of the field (Stone Soup,
FilterPy) linearise dynamics and measurement models, not a map from a state to its ground
crossing, and the quantities needed (the UT's sigma points and ground points) are this package's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from counterram.prediction.impact import GroundPrediction, SigmaFlights
from counterram.prediction.tables import TrackRows

__all__ = [
    "IncrementalPredictor",
    "Linearisation",
    "LinearisationTable",
    "ReflightPolicy",
    "carry",
    "linearise",
]


@dataclass(frozen=True)
class Linearisation:
    """N ground predictions linearised about the states they were flown from.

    ``time_s`` (N,): the states' time t₀; ``P_inv`` (N, 7, 7): P₀⁻¹; ``bias`` (N, 3): the UT
    mean less the ground point of the mean state (east, north, time); ``jacobian`` (N, 3, 7): J;
    ``residual`` (N, 3, 3): R; ``valid`` (N,): every sigma point reached the ground; ``coarse``
    and ``munition`` as in :class:`~counterram.prediction.impact.GroundPrediction`.
    """

    time_s: NDArray[np.float64]
    P_inv: NDArray[np.float64]
    bias: NDArray[np.float64]
    jacobian: NDArray[np.float64]
    residual: NDArray[np.float64]
    valid: NDArray[np.bool_]
    coarse: NDArray[np.bool_]
    munition: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def take(self, index: ArrayLike) -> Linearisation:
        """Rows selected by an index array or boolean mask."""
        idx = np.arange(len(self))[index]
        return Linearisation(
            self.time_s[idx], self.P_inv[idx], self.bias[idx], self.jacobian[idx],
            self.residual[idx], self.valid[idx], self.coarse[idx],
            tuple(self.munition[i] for i in idx.tolist()),
        )


def linearise(flights: SigmaFlights) -> Linearisation:
    """The linearisation of a set of sigma-point flights (module docstring)."""
    X, Y, wm, wc = flights.X, flights.Y, flights.wm, flights.wc
    valid = np.all(np.isfinite(Y), axis=(1, 2))
    Ys = np.where(valid[:, None, None], Y, 0.0)
    mean = np.einsum("s,nsk->nk", wm, Ys)
    dy = Ys - mean[:, None, :]
    dx = X - flights.x[:, None, :]
    P_yy = np.einsum("s,nsi,nsj->nij", wc, dy, dy)
    P_yx = np.einsum("s,nsi,nsj->nij", wc, dy, dx)
    P_inv = _inverse(flights.P)
    J = P_yx @ P_inv
    R = _psd(P_yy - J @ np.swapaxes(P_yx, 1, 2))
    bias = mean - Ys[:, 0]  # the central sigma point is the mean state
    bias[~valid] = np.nan
    return Linearisation(
        flights.time_s.copy(), P_inv, bias, J, R, valid, flights.coarse.copy(), flights.munition
    )


def carry(lin: Linearisation, centre: ArrayLike, P: ArrayLike) -> GroundPrediction:
    """The ground prediction of states whose own flights came down at ``centre`` (N, 3: east,
    north, time) and whose covariances, carried back to the linearisation times, are ``P``
    (N, 7, 7): g(x) + b and J P Jᵀ + R (module docstring)."""
    P = np.asarray(P, dtype=float)
    J = lin.jacobian
    mean = np.asarray(centre, dtype=float) + lin.bias
    cov = J @ P @ np.swapaxes(J, 1, 2) + lin.residual
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    valid = lin.valid & np.all(np.isfinite(mean), axis=1) & np.all(np.isfinite(cov), axis=(1, 2))
    mean[~valid] = np.nan
    cov[~valid] = np.nan
    return GroundPrediction(
        mean[:, :2].copy(),
        cov[:, :2, :2].copy(),
        mean[:, 2].copy(),
        np.sqrt(np.maximum(cov[:, 2, 2], 0.0)),
        cov,
        valid,
        lin.coarse.copy(),
        lin.munition,
    )


@dataclass(frozen=True)
class ReflightPolicy:
    """When :class:`IncrementalPredictor` flies a track's full unscented transform again
    (module docstring); ``max_age_s`` 0 flies it at every prediction.

    ``max_full_per_step`` (0: no limit) bounds the work of one call under a salvo: a track
    without a usable linearisation is always flown, and when more linearisations are due than
    the budget leaves, the oldest are flown and the rest carried one step more (counted in
    :attr:`IncrementalPredictor.over_budget`).
    """

    max_age_s: float = 2.0
    min_variance_ratio: float = 0.5
    max_variance_ratio: float = 2.0
    max_full_per_step: int = 16

    def __post_init__(self) -> None:
        if not (np.isfinite(self.max_age_s) and self.max_age_s >= 0):
            raise ValueError(f"ReflightPolicy.max_age_s must be finite and >= 0; got "
                             f"{self.max_age_s!r}")
        if self.max_full_per_step < 0:
            raise ValueError("ReflightPolicy.max_full_per_step must be >= 0")
        if not 0 < self.min_variance_ratio <= 1 <= self.max_variance_ratio:
            raise ValueError("ReflightPolicy: need 0 < min_variance_ratio <= 1 <= "
                             "max_variance_ratio")


CarryBack = Callable[[NDArray[np.float64], NDArray[np.float64]],
                     tuple[NDArray[np.float64], NDArray[np.float64]]]
"""(states (N, d), time steps (N,)) → (states, transition matrices (N, d, d)): a motion model's
``transition_jacobian``."""


class IncrementalPredictor:
    """Ground predictions of tracks over time, flying the full unscented transform only when its
    linearisation no longer holds (module docstring).

    ``fly_sigma(rows) -> SigmaFlights`` flies the full UT of the selected rows of a
    :meth:`predict` call; ``fly_centre(rows) -> (k, 3)`` the ground points (east, north, time;
    NaN where none) of their mean states; ``carry_back`` is the motion model's
    ``transition_jacobian``. :attr:`full_flights` and :attr:`centre_flights` count the tracks
    flown each way, :attr:`over_budget` the due re-flights deferred by the step budget.
    """

    def __init__(self, policy: ReflightPolicy, carry_back: CarryBack) -> None:
        self.policy = policy
        self.carry_back = carry_back
        self.table = LinearisationTable()
        self.full_flights = 0
        self.centre_flights = 0
        self.over_budget = 0

    def predict(
        self,
        now: float,
        track_ids: ArrayLike,
        x: NDArray[np.float64],
        P: NDArray[np.float64],
        time_s: NDArray[np.float64],
        munition: tuple[str, ...],
        fly_sigma: Callable[[NDArray[np.int64]], SigmaFlights],
        fly_centre: Callable[[NDArray[np.int64]], NDArray[np.float64]],
    ) -> GroundPrediction:
        """Predictions of N tracks (states (N, d), covariances, times and assumed munitions)."""
        ids = np.asarray(track_ids, dtype=np.int64)
        n = ids.size
        pol = self.policy
        rows = self.table.rows(ids)
        cand = np.flatnonzero(rows >= 0)
        lin = self.table.get(rows[cand])
        P_back = np.zeros((0, *P.shape[1:]))
        if cand.size:
            usable = lin.valid & np.array(
                [a == munition[k] for a, k in zip(lin.munition, cand, strict=True)], dtype=bool
            )
            cand, lin = cand[usable], lin.take(usable)
        if cand.size:
            _, F = self.carry_back(x[cand], lin.time_s - time_s[cand])
            P_back = F @ P[cand] @ np.swapaxes(F, 1, 2)
            ratio = np.einsum("nij,nji->n", lin.P_inv, P_back) / P.shape[1]
            age = now - self.table.made_s(rows[cand])
            stale = ((age >= pol.max_age_s - 1e-9) | (ratio < pol.min_variance_ratio)
                     | (ratio > pol.max_variance_ratio))
            budget = pol.max_full_per_step - (n - cand.size)
            if pol.max_full_per_step <= 0 or budget >= int(stale.sum()):
                refly = stale
            else:  # over budget: the oldest linearisations are flown, the others carried
                refly = np.zeros(cand.size, dtype=bool)
                if budget > 0:
                    order = np.flatnonzero(stale)[np.argsort(-age[stale], kind="stable")]
                    refly[order[:budget]] = True
                self.over_budget += int(stale.sum() - refly.sum())
            cand, lin, P_back = cand[~refly], lin.take(~refly), P_back[~refly]
        full = np.setdiff1d(np.arange(n), cand)
        parts: list[tuple[NDArray[np.int64], GroundPrediction]] = []
        if cand.size:  # carried first: the table rows of flown tracks are rewritten below
            parts.append((cand, carry(lin, fly_centre(cand), P_back)))
            self.centre_flights += int(cand.size)
        if full.size:
            flights = fly_sigma(full)
            self.table.put(ids[full], linearise(flights), now)
            parts.append((full, flights.prediction()))
            self.full_flights += int(full.size)
        if len(parts) == 1:
            return parts[0][1]
        order = np.concatenate([idx for idx, _ in parts])
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.arange(n)
        return GroundPrediction.concatenate([g for _, g in parts]).take(inverse)

    def drop(self, track_ids: ArrayLike) -> None:
        """Forget ended tracks."""
        self.table.drop(track_ids)


class LinearisationTable:
    """The latest linearisation of each track (a :class:`~counterram.prediction.tables.TrackRows`
    with the assumed munition as its label and the time of the flight as its write time)."""

    def __init__(self, state_dim: int = 7, capacity: int = 64) -> None:
        d = state_dim
        self._rows = TrackRows({
            "time_s": ((), float), "P_inv": ((d, d), float), "bias": ((3,), float),
            "jacobian": ((3, d), float), "residual": ((3, 3), float), "valid": ((), bool),
            "coarse": ((), bool),
        }, capacity)

    def rows(self, track_ids: ArrayLike) -> NDArray[np.int64]:
        """Row of each track id, −1 where the table holds none."""
        return self._rows.rows(track_ids)

    def put(self, track_ids: ArrayLike, lin: Linearisation, made_s: float) -> None:
        """Store (replace) the linearisations of ``track_ids``, made at time ``made_s``."""
        if np.size(track_ids) != len(lin):
            raise ValueError("LinearisationTable.put: one linearisation row per track id")
        values = {name: getattr(lin, name) for name in self._rows.arrays}
        self._rows.put(track_ids, values, lin.munition, made_s)

    def get(self, rows: ArrayLike) -> Linearisation:
        """The linearisations at table rows (from :meth:`rows`, all ≥ 0)."""
        idx = np.asarray(rows, dtype=np.int64)
        a = self._rows.arrays
        return Linearisation(**{name: a[name][idx] for name in a},
                             munition=self._rows.labels(idx))

    def made_s(self, rows: ArrayLike) -> NDArray[np.float64]:
        """When the linearisations at table rows were made."""
        return self._rows.written_s[np.asarray(rows, dtype=np.int64)]

    def drop(self, track_ids: ArrayLike) -> None:
        """Forget the linearisations of ``track_ids`` (ended tracks)."""
        self._rows.drop(track_ids)


def _inverse(P: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse of symmetric positive-definite matrices, tolerating a near-singular one (a tiny
    diagonal jitter, as :func:`~counterram.prediction.impact.sigma_points` does)."""
    try:
        return np.linalg.inv(P)
    except np.linalg.LinAlgError:
        d = P.shape[-1]
        jitter = 1e-9 * np.maximum(np.einsum("nii->n", P) / d, 1e-12)
        return np.linalg.inv(P + jitter[:, None, None] * np.eye(d))


def _psd(R: NDArray[np.float64]) -> NDArray[np.float64]:
    """Symmetrised matrices with negative eigenvalues (round-off) set to zero."""
    w, V = np.linalg.eigh(0.5 * (R + np.swapaxes(R, 1, 2)))
    return (V * np.maximum(w, 0.0)[:, None, :]) @ np.swapaxes(V, 1, 2)
