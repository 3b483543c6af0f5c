"""Localized warning: a per-zone state machine fed with impact predictions every step.

Why it exists: people in a zone need one "INCOMING" when a round may land there, an update if the
picture changes, and an "ALL CLEAR" once the danger has passed (FACTS.md section 1), not a stream
of probabilities. :class:`Warner` turns the per-step predictions of all tracks into those typed
records.

Rules (per zone z, per track i, with p_iz the Gaussian mass of track i's predicted impact in z):

* **issue**: when some p_iz ≥ ``threshold`` and z is not warned → :class:`WarningIssued` with the
  probability and the earliest predicted impact time;
* **update**: while z is warned, a new track crossing the threshold, or a change of the zone's
  earliest predicted impact time by more than ``update_tolerance_s`` → :class:`WarningUpdated`.
  A track that has once crossed the threshold stays attached to the zone while its
  probability falls, unless it is released;
* **release**: a *confirmed* track whose p_iz stays below ``release_threshold`` for
  ``release_hold_s`` is detached from z: its prediction has left the zone. A zone left with no
  threat is cleared at once (:class:`AllClear` with ``released``); one with others left is
  updated. The hysteresis (issue at ``threshold``, release only a factor of ten below it and
  only after the hold) keeps a shelter order from flickering; a track that comes back above
  ``threshold`` warns again. Tentative tracks are never released: their early predictions are
  the least certain. ``release_threshold`` 0, the default, turns the rule off: releasing
  cuts needless shelter by four fifths but turns one long warning held over a raid into one
  alarm per round (docs/warning.md measures both), a choice for the site;
* **all clear**: when the time passes every attached threat's clearance time → :class:`AllClear`.
  A threat's clearance time is its last predicted impact time + ``impact_sigma_k`` σ_t +
  ``all_clear_margin_s``. If its track ends because the threat was neutralised, it is
  (end time + margin) instead. A track lost without being neutralised keeps its predicted
  clearance time: the round is still coming.

Default threshold 0.01: with calibrated predictions a round lands in a zone that was not warned
for it at most ~1 % of the time per zone, while only zones inside the prediction's 3σ region
(the χ²₂ 99 % contour lies at 3.03 σ) are warned. Missed warnings cost lives and false ones
cost trust. docs/warning.md gives the measured trade-off: 0.001 adds false warnings for no
warning time, and 0.05 loses ~0.3 s of warning. The default margin
is 10 s, which covers the impact-time uncertainty (σ_t ≈ 0.3 s) and the fall of fragments.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from counterram.prediction.impact import GroundPrediction
from counterram.warning.zones import WarningZones

__all__ = [
    "AllClear",
    "Warner",
    "WarnerSettings",
    "WarningIssued",
    "WarningRecord",
    "WarningUpdated",
]


@dataclass(frozen=True)
class WarningIssued:
    """A zone is warned: ``track_ids`` threaten it; earliest predicted impact at
    ``predicted_impact_time_s``; ``probability`` the largest impact probability among them."""

    time_s: float
    zone: str
    track_ids: tuple[Hashable, ...]
    probability: float
    predicted_impact_time_s: float


@dataclass(frozen=True)
class WarningUpdated:
    """A warned zone's threats or earliest predicted impact time changed."""

    time_s: float
    zone: str
    track_ids: tuple[Hashable, ...]
    probability: float
    predicted_impact_time_s: float


@dataclass(frozen=True)
class AllClear:
    """The zone's warning ends; ``issued_time_s`` is when it began; ``released``: it ends
    because every threat's prediction left the zone, not because they have passed."""

    time_s: float
    zone: str
    issued_time_s: float
    released: bool = False


WarningRecord = WarningIssued | WarningUpdated | AllClear


@dataclass(frozen=True)
class WarnerSettings:
    """Warning thresholds and timing (defaults justified in the module docstring)."""

    threshold: float = 0.01
    all_clear_margin_s: float = 10.0
    impact_sigma_k: float = 2.0
    update_tolerance_s: float = 1.0
    release_threshold: float = 0.0
    release_hold_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"WarnerSettings.threshold must be in (0, 1); got {self.threshold!r}")
        if not 0.0 <= self.release_threshold < self.threshold:
            raise ValueError(
                "WarnerSettings.release_threshold must be in [0, threshold) (0: never release); "
                f"got {self.release_threshold!r} with threshold {self.threshold!r}"
            )
        if not (np.isfinite(self.release_hold_s) and self.release_hold_s >= 0):
            raise ValueError(
                f"WarnerSettings.release_hold_s must be a finite number >= 0; "
                f"got {self.release_hold_s!r}"
            )
        if self.all_clear_margin_s < 0 or self.impact_sigma_k < 0 or self.update_tolerance_s < 0:
            raise ValueError(
                "WarnerSettings: all_clear_margin_s, impact_sigma_k and update_tolerance_s "
                "must be >= 0"
            )


@dataclass
class _Threat:
    probability: float
    impact_time_s: float
    clear_time_s: float
    below_since_s: float = np.inf  # since when a confirmed track is below the release level


@dataclass
class _Zone:
    issued_time_s: float
    threats: dict[Hashable, _Threat] = field(default_factory=dict)
    reported_ids: tuple[Hashable, ...] = ()
    reported_impact_s: float = np.inf


def _sorted_ids(ids: Iterable[Hashable]) -> tuple[Hashable, ...]:
    try:
        return tuple(sorted(ids))  # type: ignore[type-var]
    except TypeError:
        return tuple(sorted(ids, key=repr))


class Warner:
    """Per-zone warning state machine (see the module docstring).

    Feed :meth:`update` with every step's predictions (any subset of tracks), :meth:`end_tracks`
    when tracks end, and :meth:`advance` to emit all-clears between predictions.
    """

    def __init__(self, zones: WarningZones, settings: WarnerSettings | None = None) -> None:
        self.zones = zones
        self.settings = settings if settings is not None else WarnerSettings()
        self._active: dict[str, _Zone] = {}
        self._time = -np.inf

    @property
    def warned_zones(self) -> tuple[str, ...]:
        """Names of the zones currently warned."""
        return tuple(z for z in self.zones.names if z in self._active)

    def _check_time(self, time_s: float) -> float:
        t = float(time_s)
        if not np.isfinite(t):
            raise ValueError(f"time_s must be finite; got {time_s!r}")
        if t < self._time:
            raise ValueError(f"time_s must not go backwards: {t} after {self._time}")
        self._time = t
        return t

    def update(
        self,
        time_s: float,
        track_ids: Sequence[Hashable],
        impact: GroundPrediction,
        probabilities: ArrayLike | None = None,
        confirmed: ArrayLike | None = None,
    ) -> list[WarningRecord]:
        """Process one step's impact predictions of tracks ``track_ids`` (N).

        ``probabilities`` (N, Z) may be given if already computed; else they come from the
        zones and the predictions. ``confirmed`` (N,): which tracks may be released (None:
        all).
        """
        t = self._check_time(time_s)
        n = len(track_ids)
        if len(impact) != n:
            raise ValueError(f"track_ids ({n}) and impact predictions ({len(impact)}) differ")
        s = self.settings
        p = (
            self.zones.probabilities(impact.mean_en, impact.cov_en)
            if probabilities is None
            else np.asarray(probabilities, dtype=float)
        )
        if p.shape != (n, len(self.zones)):
            raise ValueError(f"probabilities must be (N, Z) = ({n}, {len(self.zones)})")
        valid = np.isfinite(impact.time_s)
        releasable = (
            np.ones(n, dtype=bool) if confirmed is None
            else np.asarray(confirmed, dtype=bool).reshape(n)
        )
        clear = impact.time_s + s.impact_sigma_k * impact.time_sigma_s + s.all_clear_margin_s
        records: list[WarningRecord] = []
        for j, name in enumerate(self.zones.names):
            zone = self._active.get(name)
            hit = np.flatnonzero(valid & (p[:, j] >= s.threshold))
            if zone is None and hit.size == 0:
                continue
            if zone is None:
                zone = self._active[name] = _Zone(t)
            for i in hit:
                zone.threats[track_ids[i]] = _Threat(
                    float(p[i, j]), float(impact.time_s[i]), float(clear[i])
                )
            # refresh attached threats that fell below the threshold; release those that stay
            # below the release level
            for i in np.flatnonzero(valid & (p[:, j] < s.threshold)):
                th = zone.threats.get(track_ids[i])
                if th is None:
                    continue
                th.probability = float(p[i, j])
                th.impact_time_s = float(impact.time_s[i])
                th.clear_time_s = float(clear[i])
                if releasable[i] and p[i, j] < s.release_threshold:
                    th.below_since_s = min(th.below_since_s, t)
                    if t - th.below_since_s >= s.release_hold_s - 1e-9:
                        del zone.threats[track_ids[i]]
                else:
                    th.below_since_s = np.inf
            if not zone.threats:
                records.append(AllClear(t, name, zone.issued_time_s, released=True))
                del self._active[name]
                continue
            records.extend(self._report(t, name, zone))
        records.extend(self.advance(t))
        return records

    def _report(self, t: float, name: str, zone: _Zone) -> list[WarningRecord]:
        ids = _sorted_ids(zone.threats)
        upcoming = [th.impact_time_s for th in zone.threats.values() if th.impact_time_s >= t]
        earliest = (
            min(upcoming) if upcoming else max(th.impact_time_s for th in zone.threats.values())
        )
        prob = max(th.probability for th in zone.threats.values())
        if not zone.reported_ids:
            zone.reported_ids, zone.reported_impact_s = ids, earliest
            return [WarningIssued(t, name, ids, prob, earliest)]
        changed_ids = set(ids) != set(zone.reported_ids)  # joined, or released
        moved = abs(earliest - zone.reported_impact_s) > self.settings.update_tolerance_s
        if changed_ids or moved:
            zone.reported_ids, zone.reported_impact_s = ids, earliest
            return [WarningUpdated(t, name, ids, prob, earliest)]
        return []

    def end_tracks(
        self, time_s: float, track_ids: Iterable[Hashable], *, neutralised: bool = False
    ) -> list[WarningRecord]:
        """Tracks ended at ``time_s``. Neutralised threats clear after the margin; others keep
        their predicted clearance time (the round is still coming)."""
        t = self._check_time(time_s)
        if neutralised:
            ids = set(track_ids)
            for zone in self._active.values():
                for tid in ids & zone.threats.keys():
                    th = zone.threats[tid]
                    th.clear_time_s = min(th.clear_time_s, t + self.settings.all_clear_margin_s)
        return self.advance(t)

    def advance(self, time_s: float) -> list[WarningRecord]:
        """Emit the all-clears due by ``time_s``."""
        t = self._check_time(time_s)
        out: list[WarningRecord] = []
        for name in list(self.zones.names):
            zone = self._active.get(name)
            if zone is None:
                continue
            if all(th.clear_time_s <= t for th in zone.threats.values()):
                out.append(AllClear(t, name, zone.issued_time_s))
                del self._active[name]
        return out
