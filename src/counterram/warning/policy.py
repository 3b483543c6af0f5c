"""Early-warning policy: which track predictions may drive a warning, and with what covariance.

Why it exists: a tracker confirms a track only after a few updates, to keep clutter out; waiting
for confirmation costs seconds that a short flight (a mortar bomb at 1–2 km flies 15–30 s) cannot
spare. The policy lets tentative tracks warn as well, but only when their predicted time to
impact is short (below ``tentative_max_time_to_impact_s``), and with their ground covariance
inflated by ``tentative_inflation`` (a variance factor). Their young covariance is the least
trustworthy, and a wider ellipse warns the neighbouring zones too rather than the wrong one
alone. Confirmed tracks always count.

The trade-off (seconds of warning gained against extra false warnings from clutter-born
tentative tracks) is measured in docs/warning.md with
:func:`counterram.metrics.warning.policy_study`. The measured direction: earlier warnings, more
false ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from counterram.prediction.impact import GroundPrediction

__all__ = ["CONFIRMED_ONLY", "EarlyWarningPolicy"]


@dataclass(frozen=True)
class EarlyWarningPolicy:
    """Which tracks warn. ``tentative_max_time_to_impact_s = 0`` means confirmed tracks only."""

    tentative_max_time_to_impact_s: float = 30.0
    tentative_inflation: float = 4.0

    def __post_init__(self) -> None:
        if self.tentative_max_time_to_impact_s < 0:
            raise ValueError("tentative_max_time_to_impact_s must be >= 0")
        if not self.tentative_inflation >= 1.0:
            raise ValueError(
                f"tentative_inflation must be >= 1 (a variance factor); got "
                f"{self.tentative_inflation!r}"
            )

    @property
    def uses_tentative(self) -> bool:
        return self.tentative_max_time_to_impact_s > 0

    def select(
        self, time_s: ArrayLike, impact: GroundPrediction, confirmed: ArrayLike
    ) -> tuple[NDArray[np.bool_], GroundPrediction]:
        """(mask of the tracks that may warn (N,), predictions with tentative rows inflated).

        ``time_s``: the current time (scalar or per track); ``confirmed`` (N,) or a scalar.
        """
        conf = np.broadcast_to(np.asarray(confirmed, dtype=bool), (len(impact),))
        to_go = impact.time_s - np.asarray(time_s, dtype=float)
        early = (
            ~conf
            & np.isfinite(to_go)
            & (to_go <= self.tentative_max_time_to_impact_s)
            & self.uses_tentative
        )
        factor = np.where(early, self.tentative_inflation, 1.0)
        return conf | early, impact.inflated(factor)


CONFIRMED_ONLY = EarlyWarningPolicy(tentative_max_time_to_impact_s=0.0)
"""The baseline policy: only confirmed tracks warn."""
