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
* **settling**: a track's prediction attaches to a new zone only once it has settled — its
  1σ major axis is at most ``settle_sigma_m`` — or ``settle_max_s`` after the track's first
  prediction, or where p_iz ≥ ``settle_confident``. A track's first predictions, from three or
  four plots, are kilometres wide and shrink tenfold within a couple of looks; warning every
  zone they touch was most of the false warnings (docs/warning.md measures the rule, and
  ``settle_max_s`` bounds what it can cost in warning time). ``settle_max_s`` 0 turns it off;
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

Defaults, from the trade-off measured over 32 seeds of each built-in scenario
(docs/warning.md): threshold 0.05 with settling (100 m, at most 4 s). Against 0.01 without
settling, false warnings fall from 59 % to 12 % of zone warnings on ``baghdad-embassy``, 41 %
to 18 % on ``fob-mortar``, and needless shelter by a factor of 7 to 50 in person-seconds; every
round warned before is still warned, the median warning is still the whole time the round was
visible, and the 10th percentile of warning ÷ available time falls by 0.04 to 0.08. The
default margin is 10 s, which covers the impact-time uncertainty (σ_t ≈ 0.3 s) and the fall
of fragments.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

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

    threshold: float = 0.05
    all_clear_margin_s: float = 10.0
    impact_sigma_k: float = 2.0
    update_tolerance_s: float = 1.0
    release_threshold: float = 0.0
    release_hold_s: float = 2.0
    settle_sigma_m: float = 100.0
    settle_max_s: float = 4.0
    settle_confident: float = 0.9

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
        if not (np.isfinite(self.settle_sigma_m) and self.settle_sigma_m >= 0
                and np.isfinite(self.settle_max_s) and self.settle_max_s >= 0):
            raise ValueError(
                "WarnerSettings.settle_sigma_m and settle_max_s must be finite numbers >= 0 "
                f"(0: off); got {self.settle_sigma_m!r}, {self.settle_max_s!r}"
            )
        if not 0.0 < self.settle_confident <= 1.0:
            raise ValueError("WarnerSettings.settle_confident must be in (0, 1]; got "
                             f"{self.settle_confident!r}")
        if self.all_clear_margin_s < 0 or self.impact_sigma_k < 0 or self.update_tolerance_s < 0:
            raise ValueError(
                "WarnerSettings: all_clear_margin_s, impact_sigma_k and update_tolerance_s "
                "must be >= 0"
            )


def _sorted_ids(ids: Iterable[Hashable]) -> tuple[Hashable, ...]:
    try:
        return tuple(sorted(ids))  # type: ignore[type-var]
    except TypeError:
        return tuple(sorted(ids, key=repr))


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0)


class Warner:
    """Per-zone warning state machine (see the module docstring).

    Feed :meth:`update` with every step's predictions (any subset of tracks), :meth:`end_tracks`
    when tracks end, and :meth:`advance` to emit all-clears between predictions.

    The state is a table of attachments (zone, track, probability, predicted impact and
    clearance times, time below the release level) held as numpy arrays and updated with
    whole-array operations: a city has thousands of zones and a salvo hundreds of
    attachments, and a step must cost the same whether one zone or three thousand exist.
    Python objects are made only for the records a step emits.
    """

    def __init__(self, zones: WarningZones, settings: WarnerSettings | None = None) -> None:
        self.zones = zones
        self.settings = settings if settings is not None else WarnerSettings()
        nz = len(zones)
        self._issued = np.full(nz, np.nan)  # issue time of each warned zone; NaN: not warned
        self._reported_impact = np.full(nz, np.inf)
        self._reported_ids: dict[int, tuple[Hashable, ...]] = {}
        self._keys: dict[Hashable, int] = {}  # track id → internal key
        self._ids: list[Hashable] = []  # internal key → track id
        self._first_s: list[float] = []  # internal key → time of its first prediction
        # the attachment table, one row per (zone, track)
        self._az = _EMPTY_I  # zone column
        self._ak = _EMPTY_I  # track key
        self._ap = _EMPTY_F  # last probability
        self._aimp = _EMPTY_F  # predicted impact time
        self._aclr = _EMPTY_F  # clearance time
        self._abelow = _EMPTY_F  # since when below the release level (inf: not)
        self._mean = np.zeros((0, 2))  # latest predicted impact of each track key
        self._cov = np.zeros((0, 2, 2))
        self._time = -np.inf

    @property
    def warned_zones(self) -> tuple[str, ...]:
        """Names of the zones currently warned."""
        return tuple(self.zones.names[j] for j in np.flatnonzero(~np.isnan(self._issued)))

    def _check_time(self, time_s: float) -> float:
        t = float(time_s)
        if not np.isfinite(t):
            raise ValueError(f"time_s must be finite; got {time_s!r}")
        if t < self._time:
            raise ValueError(f"time_s must not go backwards: {t} after {self._time}")
        self._time = t
        return t

    def _key_array(self, track_ids: Sequence[Hashable]) -> np.ndarray:
        out = np.empty(len(track_ids), dtype=np.int64)
        for i, tid in enumerate(track_ids):
            k = self._keys.get(tid)
            if k is None:
                k = self._keys[tid] = len(self._ids)
                self._ids.append(tid)
                self._first_s.append(self._time)
            out[i] = k
        return out

    def _keep(self, keep: np.ndarray) -> None:
        """Drop the attachments where ``keep`` is False."""
        self._az, self._ak = self._az[keep], self._ak[keep]
        self._ap, self._aimp = self._ap[keep], self._aimp[keep]
        self._aclr, self._abelow = self._aclr[keep], self._abelow[keep]

    def _remember(self, keys: np.ndarray, impact: GroundPrediction, rows: np.ndarray) -> None:
        """Keep each track's latest prediction: a probability the warner has not needed yet
        (left NaN in the table) is computed from it when a record needs it."""
        need = int(keys.max()) + 1 if keys.size else 0
        if need > self._mean.shape[0]:
            grow = max(need, 2 * self._mean.shape[0], 16)
            mean, cov = np.zeros((grow, 2)), np.tile(np.eye(2), (grow, 1, 1))
            mean[: self._mean.shape[0]] = self._mean
            cov[: self._cov.shape[0]] = self._cov
            self._mean, self._cov = mean, cov
        self._mean[keys[rows]] = impact.mean_en[rows]
        self._cov[keys[rows]] = impact.cov_en[rows]

    def _settled(self, t: float, keys: np.ndarray, cov: np.ndarray,
                 p: np.ndarray) -> np.ndarray:
        """Which new (track, zone) pairs may warn now: the track's prediction has settled
        (1σ major axis ≤ ``settle_sigma_m``), or its first prediction is ``settle_max_s``
        old, or the zone's probability is at least ``settle_confident``."""
        s = self.settings
        half_sum = 0.5 * (cov[:, 0, 0] + cov[:, 1, 1])
        half_diff = 0.5 * (cov[:, 0, 0] - cov[:, 1, 1])
        major = np.sqrt(np.maximum(half_sum + np.hypot(half_diff, cov[:, 0, 1]), 0.0))
        age = t - np.asarray(self._first_s)[keys] if keys.size else _EMPTY_F
        return ((major <= s.settle_sigma_m) | (age >= s.settle_max_s - 1e-9)
                | (p >= s.settle_confident))

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
        zones and the predictions, weighed only where a decision or a record needs them.
        ``confirmed`` (N,): which tracks may be released (None: all).
        """
        t = self._check_time(time_s)
        n = len(track_ids)
        if len(impact) != n:
            raise ValueError(f"track_ids ({n}) and impact predictions ({len(impact)}) differ")
        s = self.settings
        nz = len(self.zones)
        keys = self._key_array(track_ids)
        span = np.int64(len(self._ids))
        row_of = np.full(int(span), -1, dtype=np.int64)
        row_of[keys] = np.arange(n)
        valid = np.isfinite(impact.time_s)
        lazy = probabilities is None
        if lazy:
            # the pairs that can reach the issue threshold, exactly; the rest is below it
            rows, cols, p = self.zones.pair_probabilities(impact.mean_en, impact.cov_en,
                                                          floor=s.threshold)
            self._remember(keys, impact, np.flatnonzero(valid))
        else:
            dense = np.asarray(probabilities, dtype=float)
            if dense.shape != (n, nz):
                raise ValueError(f"probabilities must be (N, Z) = ({n}, {nz})")
            rows, cols = np.nonzero(dense > 0.0)
            p = dense[rows, cols]
        releasable = (
            np.ones(n, dtype=bool) if confirmed is None
            else np.asarray(confirmed, dtype=bool).reshape(n)
        )
        clear = impact.time_s + s.impact_sigma_k * impact.time_sigma_s + s.all_clear_margin_s
        was_warned = ~np.isnan(self._issued)

        # 1. pairs over the issue threshold attach (or refresh) their track to the zone
        hit = valid[rows] & (p >= s.threshold)
        h_rows, h_cols, h_p = rows[hit], cols[hit], p[hit]
        h_code = h_cols * span + keys[h_rows]
        a_code = self._az * span + self._ak
        order = np.argsort(a_code, kind="stable")
        pos = np.searchsorted(a_code[order], h_code)
        found = pos < a_code.size
        found[found] = a_code[order][pos[found]] == h_code[found]
        at = order[pos[found]]
        self._ap[at] = h_p[found]
        self._aimp[at] = impact.time_s[h_rows[found]]
        self._aclr[at] = clear[h_rows[found]]
        self._abelow[at] = np.inf
        new = ~found
        if s.settle_max_s > 0:
            new &= self._settled(t, keys[h_rows], impact.cov_en[h_rows], h_p)
        added = h_cols[new]
        n_old = a_code.size
        self._az = np.concatenate([self._az, added])
        self._ak = np.concatenate([self._ak, keys[h_rows[new]]])
        self._ap = np.concatenate([self._ap, h_p[new]])
        self._aimp = np.concatenate([self._aimp, impact.time_s[h_rows[new]]])
        self._aclr = np.concatenate([self._aclr, clear[h_rows[new]]])
        self._abelow = np.concatenate([self._abelow, np.full(int(new.sum()), np.inf)])

        # 2. older attachments of this step's tracks that fell below the threshold: refreshed,
        # and released once a confirmed track stays below the release level for the hold
        a_row = row_of[self._ak[:n_old]]
        fresh_hit = np.zeros(n_old, dtype=bool)
        fresh_hit[at] = True
        low = (a_row >= 0) & ~fresh_hit
        low[low] = valid[a_row[low]]
        idx = np.flatnonzero(low)
        removed = _EMPTY_I
        if idx.size:
            r = a_row[idx]
            pair_code = cols * span + keys[rows]
            by_code = np.argsort(pair_code, kind="stable")
            sorted_code = pair_code[by_code]
            code = self._az[idx] * span + self._ak[idx]
            w = np.searchsorted(sorted_code, code)
            known = w < sorted_code.size
            known[known] = sorted_code[w[known]] == code[known]
            # a pair not weighed is below the threshold: its value is needed only to release
            # it (if it may be below the release level) or for a record (filled in then)
            p_now = np.full(idx.size, np.nan if lazy else 0.0)
            p_now[known] = p[by_code[w[known]]]
            below = np.zeros(idx.size, dtype=bool)
            if s.release_threshold > 0:
                ask = np.flatnonzero(np.isnan(p_now) & releasable[r])
                if ask.size:
                    pairs = np.column_stack([r[ask], self._az[idx[ask]]])
                    bound = self.zones.mass_bounds(impact.mean_en, impact.cov_en, pairs)
                    exact = bound >= s.release_threshold
                    p_now[ask[exact]] = self.zones.pair_masses(
                        impact.mean_en, impact.cov_en, pairs[exact])
                    below[ask[~exact]] = True
                below |= releasable[r] & (p_now < s.release_threshold)
            self._ap[idx] = p_now
            self._aimp[idx] = impact.time_s[r]
            self._aclr[idx] = clear[r]
            self._abelow[idx] = np.where(below, np.minimum(self._abelow[idx], t), np.inf)
            gone = below & (t - self._abelow[idx] >= s.release_hold_s - 1e-9)
            if gone.any():
                removed = self._az[idx[gone]]
                keep = np.ones(self._az.size, dtype=bool)
                keep[idx[gone]] = False
                self._keep(keep)

        # 3. per zone: warned now, its threats, earliest upcoming impact, largest probability
        count = np.bincount(self._az, minlength=nz)
        changed = np.zeros(nz, dtype=bool)
        changed[added] = True
        changed[removed] = True
        records: list[tuple[int, WarningRecord]] = []
        for j in np.flatnonzero(was_warned & (count == 0)).tolist():
            records.append((j, AllClear(t, self.zones.names[j], float(self._issued[j]),
                                        released=True)))
            self._issued[j] = np.nan
            self._reported_ids.pop(j, None)
            self._reported_impact[j] = np.inf
        warned = np.flatnonzero(count > 0)
        if warned.size:
            upcoming = np.where(self._aimp >= t, self._aimp, np.inf)
            earliest = np.full(nz, np.inf)
            np.minimum.at(earliest, self._az, upcoming)
            latest = np.full(nz, -np.inf)
            np.maximum.at(latest, self._az, self._aimp)
            earliest = np.where(np.isfinite(earliest), earliest, latest)
            fresh_zone = np.isnan(self._issued[warned])
            moved = np.abs(earliest[warned] - self._reported_impact[warned]) \
                > s.update_tolerance_s
            report = warned[fresh_zone | changed[warned] | moved]
            if report.size:
                records.extend(self._records(t, report, count, earliest))
        records.sort(key=lambda item: item[0])
        out = [r for _, r in records]
        out.extend(self.advance(t))
        return out

    def _records(
        self, t: float, report: np.ndarray, count: np.ndarray, earliest: np.ndarray
    ) -> list[tuple[int, WarningRecord]]:
        """Issued or updated records of the zones ``report`` (warned zones that may have
        changed); the probabilities they show are computed here where still unknown."""
        by_zone = np.argsort(self._az, kind="stable")
        starts = np.searchsorted(self._az[by_zone], report)
        members = [by_zone[a:a + int(count[j])] for j, a in zip(report, starts, strict=True)]
        rows = np.concatenate(members)
        unknown = rows[np.isnan(self._ap[rows])]
        if unknown.size:
            self._ap[unknown] = self.zones.pair_masses(
                self._mean, self._cov, np.column_stack([self._ak[unknown], self._az[unknown]]))
        out: list[tuple[int, WarningRecord]] = []
        for j, mine in zip(report.tolist(), members, strict=True):
            ids = _sorted_ids(self._ids[k] for k in self._ak[mine].tolist())
            name = self.zones.names[j]
            e, pr = float(earliest[j]), float(self._ap[mine].max())
            if np.isnan(self._issued[j]):
                self._issued[j] = t
                self._reported_ids[j], self._reported_impact[j] = ids, e
                out.append((j, WarningIssued(t, name, ids, pr, e)))
            elif (set(ids) != set(self._reported_ids[j])
                  or abs(e - self._reported_impact[j]) > self.settings.update_tolerance_s):
                self._reported_ids[j], self._reported_impact[j] = ids, e
                out.append((j, WarningUpdated(t, name, ids, pr, e)))
        return out

    def end_tracks(
        self, time_s: float, track_ids: Iterable[Hashable], *, neutralised: bool = False
    ) -> list[WarningRecord]:
        """Tracks ended at ``time_s``. Neutralised threats clear after the margin; others keep
        their predicted clearance time (the round is still coming)."""
        t = self._check_time(time_s)
        if neutralised and self._ak.size:
            keys = [self._keys[tid] for tid in track_ids if tid in self._keys]
            if keys:
                mine = np.isin(self._ak, keys)
                self._aclr[mine] = np.minimum(self._aclr[mine],
                                              t + self.settings.all_clear_margin_s)
        return self.advance(t)

    def advance(self, time_s: float) -> list[WarningRecord]:
        """Emit the all-clears due by ``time_s``."""
        t = self._check_time(time_s)
        if not self._az.size:
            return []
        nz = len(self.zones)
        last_clear = np.full(nz, -np.inf)
        np.maximum.at(last_clear, self._az, self._aclr)
        done = np.flatnonzero(~np.isnan(self._issued) & (last_clear <= t))
        if not done.size:
            return []
        out: list[WarningRecord] = []
        for j in done.tolist():
            out.append(AllClear(t, self.zones.names[j], float(self._issued[j])))
            self._issued[j] = np.nan
            self._reported_ids.pop(j, None)
            self._reported_impact[j] = np.inf
        self._keep(~np.isin(self._az, done))
        return out
