"""Campaign aggregates with confidence intervals: Wilson for proportions, bootstrap for medians.

Why it exists: a campaign's answer is "leak rate 4 % (2–8 %)", not a bare 4 %. Proportions (leak
rate, intercept success, warned-in-time share) pool the counts of every run of a sweep point and
get a Wilson score interval, which, unlike the normal approximation, stays inside [0, 1] and
keeps close to its nominal coverage for small counts and rates near 0 or 1 (Brown, Cai and
DasGupta, "Interval Estimation for a Binomial Proportion", Statistical Science 16, 2001). The
Wilson formula is three lines, so it is written here instead of pulling in statsmodels. Pooling
treats rounds as independent trials; rounds of one run share a salvo and a radar picture, so the
interval is somewhat optimistic when runs differ a lot (the per-run spread is in runs.parquet).

Medians of per-run values (warning time, CEPs, casualties) get a percentile bootstrap interval
over runs, drawn from a Generator seeded by the caller so the summary is reproducible.

The engagement figures of :mod:`counterram.metrics.opportunity` pool the same way: the share of
asset-bound rounds some gun could engage (``engageable_share``, site geometry and tracking), the
share of those fire control engaged (``engaged_share_of_engageable``: its misses are the
defects), and the two success ratios as Iron Dome reports them (rounds killed ÷ rounds engaged,
intercepts ÷ bursts), each with its Wilson interval. Rounds per kill is a ratio of sums, not a
proportion: its interval is a percentile bootstrap over runs (resampling runs keeps the bursts and
kills of one run together). The pooled counts behind them are in ``engagement_counts``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = [
    "ENGAGEMENT_COUNTS",
    "MEDIAN_METRICS",
    "PROPORTIONS",
    "RATIOS",
    "aggregate_point",
    "bootstrap_median",
    "bootstrap_ratio",
    "wilson_interval",
]

PROPORTIONS: dict[str, tuple[str, str]] = {
    "leak_rate": ("leakers_on_assets", "rounds_on_assets"),
    "intercept_success": ("intercepts", "engagements"),
    "warned_in_time_share": ("rounds_warned_in_time", "rounds_in_zones"),
    "detected_share": ("rounds_detected", "rounds_launched"),
    "killed_share": ("rounds_killed", "rounds_launched"),
    "engageable_share": ("asset_rounds_engageable", "asset_rounds"),
    "engaged_share_of_engageable": ("asset_rounds_engageable_engaged", "asset_rounds_engageable"),
    "success_ratio_engaged": ("rounds_killed", "rounds_engaged"),
    "success_ratio_bursts": ("intercepts", "engagements"),
}
"""Pooled proportion name → (numerator column, denominator column) of runs.parquet."""

MEDIAN_METRICS = (
    "warning_time_s_median", "poi_cep_m", "poo_cep_m", "expected_casualties", "rounds_fired",
    "false_warnings", "false_tracks", "needless_shelter_person_s",
)
"""Per-run columns whose median over runs is reported with a bootstrap interval."""

RATIOS: dict[str, tuple[str, str]] = {
    "rounds_per_kill": ("rounds_fired", "intercepts"),
}
"""Pooled ratio name → (numerator column, denominator column): Σ numerator ÷ Σ denominator over
runs, with a bootstrap interval over runs."""

ENGAGEMENT_COUNTS = (
    "asset_rounds", "asset_rounds_engageable", "asset_rounds_engaged",
    "asset_rounds_engageable_engaged", "asset_rounds_killed", "asset_rounds_not_tracked",
    "rounds_engaged", "bursts_at_killed_rounds", "bursts_at_nothing", "engagements", "intercepts",
    "rounds_fired",
)
"""Columns pooled (summed) over runs into ``engagement_counts``."""

_REASON_PREFIX = "asset_rounds_not_engageable_"


def wilson_interval(
    successes: int, trials: int, confidence: float = 0.95
) -> tuple[float | None, float | None, float | None]:
    """(estimate, low, high) of a binomial proportion with the Wilson score interval;
    (None, None, None) when ``trials`` is 0."""
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 ≤ successes ≤ trials, got {successes} of {trials}")
    if trials == 0:
        return None, None, None
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denom
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denom
    # at k = 0 (k = n) the bound is exactly 0 (1); avoid a rounding residue of ±1e-17
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return p, low, high


def bootstrap_median(
    values: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
) -> tuple[float | None, float | None, float | None]:
    """(median, low, high): the sample median and its percentile-bootstrap interval from
    ``n_boot`` resamples drawn with ``rng``; NaN values are dropped; all None when empty."""
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return None, None, None
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    medians = np.median(a[idx], axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(medians, [alpha, 1.0 - alpha])
    return float(np.median(a)), float(lo), float(hi)


def bootstrap_ratio(
    numerator: Sequence[float] | np.ndarray,
    denominator: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
) -> tuple[float | None, float | None, float | None]:
    """(ratio, low, high): Σ numerator ÷ Σ denominator over the runs with both values, and its
    percentile-bootstrap interval from ``n_boot`` resamples of runs drawn with ``rng``
    (resamples whose denominator sums to 0 are left out); all None when the denominator sums
    to 0."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    ok = np.isfinite(num) & np.isfinite(den)
    num, den = num[ok], den[ok]
    if den.size == 0 or not den.sum() > 0:
        return None, None, None
    idx = rng.integers(0, den.size, size=(n_boot, den.size))
    d = den[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = num[idx].sum(axis=1) / d
    ratios = ratios[d > 0]
    if ratios.size == 0:
        return float(num.sum() / den.sum()), None, None
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(ratios, [alpha, 1.0 - alpha])
    return float(num.sum() / den.sum()), float(lo), float(hi)


def _column(rows: Sequence[Mapping[str, Any]], name: str) -> np.ndarray:
    return np.array([np.nan if r.get(name) is None else float(r[name]) for r in rows])


def aggregate_point(
    rows: Sequence[Mapping[str, Any]],
    rng: np.random.Generator,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
) -> dict[str, Any]:
    """The aggregates of one sweep point's runs (rows of runs.parquet): every proportion of
    :data:`PROPORTIONS` pooled with its Wilson interval, every :data:`MEDIAN_METRICS` median
    with its bootstrap interval, every :data:`RATIOS` ratio of sums with its bootstrap interval,
    and the pooled counts (``engagement_counts``: :data:`ENGAGEMENT_COUNTS`, the defects and the
    not-engageable rounds by reason)."""
    out: dict[str, Any] = {"runs": len(rows)}
    for name, (num, den) in PROPORTIONS.items():
        k = int(np.nansum(_column(rows, num)))
        n = int(np.nansum(_column(rows, den)))
        p, lo, hi = wilson_interval(min(k, n), n, confidence)
        out[name] = {"estimate": p, "low": lo, "high": hi, "successes": k, "trials": n}
    for name in MEDIAN_METRICS:
        col = _column(rows, name)
        m, lo, hi = bootstrap_median(col, rng, n_boot=n_boot, confidence=confidence)
        out[name] = {"median": m, "low": lo, "high": hi,
                     "runs_with_value": int(np.isfinite(col).sum())}
    for name, (num, den) in RATIOS.items():
        a, b = _column(rows, num), _column(rows, den)
        r, lo, hi = bootstrap_ratio(a, b, rng, n_boot=n_boot, confidence=confidence)
        out[name] = {"estimate": r, "low": lo, "high": hi, "numerator": float(np.nansum(a)),
                     "denominator": float(np.nansum(b))}
    counts: dict[str, Any] = {name: int(np.nansum(_column(rows, name)))
                              for name in ENGAGEMENT_COUNTS}
    counts["engageable_not_engaged"] = (counts["asset_rounds_engageable"]
                                        - counts["asset_rounds_engageable_engaged"])
    reasons = sorted({k for r in rows for k in r if k.startswith(_REASON_PREFIX)})
    counts["not_engageable"] = {k[len(_REASON_PREFIX):]: int(np.nansum(_column(rows, k)))
                                for k in reasons}
    out["engagement_counts"] = counts
    return out
