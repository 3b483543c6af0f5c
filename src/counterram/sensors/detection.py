"""Detection: signal-to-noise ratio from the radar range equation, Swerling-1 detection per look,
and the radar cross-section of each round.

One radar sees many rounds per scan, so everything here works on arrays of targets. The model is
the textbook one (Skolnik, *Introduction to Radar Systems*, §2.7 and §2.8; Richards, *Fundamentals
of Radar Signal Processing*, §6.3):

* mean SNR ∝ σ / R⁴ (radar range equation, all radar constants folded into one calibration):
  ``SNR = SNR_ref · (σ / σ_ref) · (R_ref / R)⁴`` with ``SNR_ref`` the mean SNR that gives
  Pd = 0.9 at the configured Pfa, so Pd(R_ref, σ_ref) = 0.9 exactly;
* Swerling 1 (echo power exponentially distributed, independent from look to look), one look,
  square-law detection against a threshold set for the per-cell false-alarm probability Pfa:
  ``Pd = Pfa ** (1 / (1 + SNR))``.

Rather than drawing a Bernoulli variable with that probability, a look draws the detector's
normalised output itself: with threshold ``τ = -ln Pfa`` (noise power 1), the output of a
Swerling-1 target is exponential with mean ``1 + SNR``, so the look detects when it exceeds ``τ``
(probability ``exp(-τ / (1 + SNR)) = Pd``) and the same draw gives the reported SNR (output − 1).
A false alarm is noise alone above the threshold: ``τ + Exp(1)`` by the memorylessness of the
exponential, i.e. an SNR just above the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "DEFAULT_RCS_M2",
    "RcsTable",
    "false_alarm_snr_db",
    "look_swerling1",
    "mean_snr",
    "swerling1_pd",
    "threshold",
]

DEFAULT_RCS_M2 = 0.01
"""RCS assumed for a round whose munition is not known (a mortar bomb, FACTS §3 [unverified])."""


def threshold(pfa: float) -> float:
    """Detection threshold on the normalised square-law output (noise power 1): ``-ln Pfa``."""
    return -float(np.log(pfa))


def mean_snr(
    range_m: ArrayLike,
    rcs_m2: ArrayLike,
    *,
    reference_snr: float,
    reference_range_m: float,
    reference_rcs_m2: float,
) -> np.ndarray:
    """Mean (linear) SNR of targets of RCS ``rcs_m2`` at ``range_m`` (radar range equation)."""
    r = np.asarray(range_m, dtype=float)
    return reference_snr * (np.asarray(rcs_m2, dtype=float) / reference_rcs_m2) * (
        reference_range_m / r
    ) ** 4


def swerling1_pd(snr: ArrayLike, pfa: float) -> np.ndarray:
    """Probability of detection of a Swerling-1 target of mean SNR ``snr`` in one look."""
    return np.power(pfa, 1.0 / (1.0 + np.asarray(snr, dtype=float)))


def look_swerling1(
    snr: np.ndarray, pfa: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One look at each target: (detected (N,) bool, measured SNR in dB (N,)).

    Draws the detector output ``(1 + SNR) · Exp(1)`` per target (one draw each, in order).
    """
    output = (1.0 + snr) * rng.standard_exponential(snr.shape[0])
    detected = output > threshold(pfa)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr_db = 10.0 * np.log10(np.maximum(output - 1.0, 1e-12))
    return detected, snr_db


def false_alarm_snr_db(n: int, pfa: float, rng: np.random.Generator) -> np.ndarray:
    """Reported SNR (dB) of ``n`` false alarms: noise above the threshold, ``τ + Exp(1) - 1``."""
    return 10.0 * np.log10(threshold(pfa) + rng.standard_exponential(n) - 1.0)


@dataclass(frozen=True)
class RcsTable:
    """Radar cross-section by round id; ids not in the table get ``default_m2``."""

    round_id: np.ndarray
    rcs_m2: np.ndarray
    default_m2: float = DEFAULT_RCS_M2

    def __post_init__(self) -> None:
        ids = np.asarray(self.round_id, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        object.__setattr__(self, "round_id", ids[order])
        object.__setattr__(self, "rcs_m2", np.asarray(self.rcs_m2, dtype=float)[order])

    def lookup(self, round_id: ArrayLike) -> np.ndarray:
        """RCS (m²) of each id in ``round_id``."""
        ids = np.asarray(round_id, dtype=np.int64)
        if self.round_id.size == 0:
            return np.full(ids.shape, self.default_m2)
        pos = np.clip(np.searchsorted(self.round_id, ids), 0, self.round_id.size - 1)
        found = self.round_id[pos] == ids
        return np.where(found, self.rcs_m2[pos], self.default_m2)

    @classmethod
    def from_truth(cls, truth: Any, default_m2: float = DEFAULT_RCS_M2) -> RcsTable:
        """From a truth object: its ``rcs_m2`` per round if it has one, else the catalogue RCS
        of each round's ``munition`` name; rounds are identified by ``round_id``."""
        ids = np.asarray(getattr(truth, "round_id", np.zeros(0)), dtype=np.int64)
        rcs = getattr(truth, "rcs_m2", None)
        if rcs is None:
            names = getattr(truth, "munition", None)
            if names is None:
                return cls(ids, np.full(ids.shape, default_m2), default_m2)
            from counterram.physics.catalogue import load_catalogue

            catalogue = load_catalogue()
            cache: dict[str, float] = {}
            values = []
            for name in names:
                if name not in cache:
                    cache[name] = float(catalogue.get(name).rcs_m2)
                values.append(cache[name])
            rcs = np.array(values, dtype=float)
        return cls(ids, np.asarray(rcs, dtype=float), default_m2)
