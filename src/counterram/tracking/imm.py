"""Interacting multiple model (IMM) filter, batched over N tracks, for rockets that may still burn.

A rocket seen during its motor burn accelerates at hundreds of m/s² along its velocity; a
ballistic model then lags and its covariance is far too small (the track's NEES explodes and gates
reject the next plots). The IMM (Blom & Bar-Shalom, IEEE TAC 33(8), 1988; Bar-Shalom, Li &
Kirubarajan 2001, §11.6) runs one filter per motion mode — here "boost" (ballistic plus a thrust
acceleration along the air-relative velocity and a larger process noise) and "ballistic" — mixes
their estimates through a Markov chain of mode switches at every step, and weighs them by their
measurement likelihoods. After burnout the boost mode's likelihood collapses and the track becomes
ballistic within a few plots.

Shapes: mode-conditioned states ``x`` (N, M, d), covariances ``P`` (N, M, d, d), mode
probabilities ``mu`` (N, M). The loop over the M modes (2 or 3) is explicit; every mode's step is
batched over all N tracks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from counterram.tracking.filters import Filter
from counterram.tracking.measurement import SensorRows


class IMMState(NamedTuple):
    """Mode-conditioned means (N, M, d), covariances (N, M, d, d) and probabilities (N, M)."""

    x: np.ndarray
    P: np.ndarray
    mu: np.ndarray

    def combined(self) -> tuple[np.ndarray, np.ndarray]:
        """Moment-matched single Gaussian (x (N, d), P (N, d, d)) of the mode mixture."""
        return _mix(self.x, self.P, self.mu)


def _mix(x: np.ndarray, P: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ_i w_i N(x_i, P_i) → (mean, covariance), over axis 1 of x (N, M, d)."""
    mean = np.einsum("nm,nmi->ni", w, x)
    dx = x - mean[:, None, :]
    cov = np.einsum("nm,nmij->nij", w, P) + np.einsum("nm,nmi,nmj->nij", w, dx, dx)
    return mean, 0.5 * (cov + np.swapaxes(cov, -1, -2))


@dataclass(frozen=True)
class InteractingMultipleModel:
    """IMM over ``filters`` (one per mode, same state dimension).

    ``switch_rate_per_s`` (M, M): off-diagonal rates of leaving mode i for mode j; the per-step
    Markov matrix is Π(dt) = I + Λ dt clipped to a probability (first order, adequate for dt much
    shorter than the mean mode durations).
    """

    filters: Sequence[Filter]
    switch_rate_per_s: np.ndarray

    def __post_init__(self) -> None:
        M = len(self.filters)
        rate = np.asarray(self.switch_rate_per_s, dtype=float)
        if M < 2 or rate.shape != (M, M):
            raise ValueError(f"IMM: need >= 2 filters and a ({M}, {M}) switch_rate_per_s")
        if np.any(rate - np.diag(np.diag(rate)) < 0):
            raise ValueError("IMM: switch_rate_per_s off-diagonal rates must be >= 0")
        object.__setattr__(self, "switch_rate_per_s", rate)

    def initial(self, x: np.ndarray, P: np.ndarray, mu: Sequence[float]) -> IMMState:
        """Every mode starts from the same (x, P); ``mu`` (M,) initial mode probabilities."""
        M = len(self.filters)
        mu_arr = np.asarray(mu, dtype=float)
        if mu_arr.shape != (M,) or np.any(mu_arr < 0) or not np.isclose(mu_arr.sum(), 1.0):
            raise ValueError(f"IMM: mu must be {M} probabilities summing to 1")
        n = x.shape[0]
        return IMMState(
            np.repeat(x[:, None], M, axis=1),
            np.repeat(P[:, None], M, axis=1),
            np.tile(mu_arr, (n, 1)),
        )

    def transition_matrix(self, dt: float) -> np.ndarray:
        """Π(dt): Π_ij = P(mode j at k+1 | mode i at k)."""
        off = self.switch_rate_per_s * abs(dt)
        np.fill_diagonal(off, 0.0)
        off = np.minimum(off, 1.0)
        leave = off.sum(axis=1)
        scale = np.where(leave > 1.0, 1.0 / np.maximum(leave, 1e-300), 1.0)
        Pi = off * scale[:, None]
        return Pi + np.diag(1.0 - Pi.sum(axis=1))

    def predict(self, state: IMMState, dt: float) -> IMMState:
        """Mixing (interaction) then mode-matched prediction."""
        x, P, mu = state
        Pi = self.transition_matrix(dt)
        c = mu @ Pi  # (N, M): predicted mode probabilities
        w = mu[:, :, None] * Pi[None] / np.maximum(c[:, None, :], 1e-300)  # μ_{i|j} (N, i, j)
        xs, Ps = [], []
        for j, filt in enumerate(self.filters):
            x0, P0 = _mix(x, P, w[:, :, j])
            xj, Pj = filt.predict(x0, P0, dt)
            xs.append(xj)
            Ps.append(Pj)
        return IMMState(np.stack(xs, 1), np.stack(Ps, 1), c)

    def update(
        self, state: IMMState, z: np.ndarray, sensors: SensorRows
    ) -> tuple[IMMState, np.ndarray]:
        """Mode-matched updates and mode probabilities μ_j ∝ Λ_j c_j; returns the new state and
        the mixture's log-likelihood per track (N,)."""
        x, P, c = state
        xs, Ps, loglik = [], [], []
        for j, filt in enumerate(self.filters):
            res = filt.update(x[:, j], P[:, j], z, sensors)
            xs.append(res.x)
            Ps.append(res.P)
            _, logdet = np.linalg.slogdet(2.0 * np.pi * res.S)
            loglik.append(-0.5 * (res.nis + logdet))
        L = np.stack(loglik, 1)  # (N, M)
        top = L.max(axis=1, keepdims=True)
        weights = c * np.exp(L - top)
        total = weights.sum(axis=1, keepdims=True)
        mu = weights / total
        return IMMState(np.stack(xs, 1), np.stack(Ps, 1), mu), (np.log(total) + top)[:, 0]
