"""What a site plan minimises: one number per trial from the trial's runs (rows of runs.parquet).

Why it exists: the optimiser needs one value per objective and trial, computed the way the
campaign summary computes its figures, so that a plan's numbers and a campaign's agree:

* ``leak_rate``: the leak rate onto defended assets, Σ ``leakers_on_assets`` ÷ Σ
  ``rounds_on_assets`` over the trial's runs (rounds whose true impact point lies in a defended
  asset and that were not shot down, of all rounds whose impact point does), as
  :data:`counterram.campaign.aggregate.PROPORTIONS` pools it; 0 when no round fell on an asset;
* ``expected_casualties``: the mean over runs of the run's expected casualties (the defence's
  own collateral plus the leakers', summary.json's ``expected_casualties``); the mean, not the
  campaign's median, because a plan trades totals;
* ``rounds_fired``: the mean interceptor rounds fired per run (ammunition).

All are minimised. With common random numbers every trial sees the same rounds, so Σ
``rounds_on_assets`` is the same for every trial and the leak rate compares leaker counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["OBJECTIVES", "check_objectives", "evaluate"]


def _column(rows: Sequence[Mapping[str, Any]], name: str) -> np.ndarray:
    return np.array([np.nan if r.get(name) is None else float(r[name]) for r in rows])


def _leak_rate(rows: Sequence[Mapping[str, Any]]) -> float:
    n = float(np.nansum(_column(rows, "rounds_on_assets")))
    return float(np.nansum(_column(rows, "leakers_on_assets")) / n) if n > 0 else 0.0


def _mean(name: str) -> Callable[[Sequence[Mapping[str, Any]]], float]:
    def mean(rows: Sequence[Mapping[str, Any]]) -> float:
        col = _column(rows, name)
        col = col[np.isfinite(col)]
        return float(col.mean()) if col.size else 0.0

    return mean


OBJECTIVES: dict[str, Callable[[Sequence[Mapping[str, Any]]], float]] = {
    "leak_rate": _leak_rate,
    "expected_casualties": _mean("expected_casualties"),
    "rounds_fired": _mean("rounds_fired"),
}
"""Objective name → its value from a trial's rows (all minimised)."""


def check_objectives(names: Sequence[str]) -> list[str]:
    """Problems with the objective names (empty when they are fine)."""
    problems = [f"--objective {n!r}: unknown (allowed: {', '.join(OBJECTIVES)})"
                for n in names if n not in OBJECTIVES]
    if not names:
        problems.append(f"give at least one --objective ({', '.join(OBJECTIVES)})")
    if len(set(names)) != len(names):
        problems.append("--objective: an objective is given twice: " + ", ".join(names))
    return problems


def evaluate(names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[float]:
    """The objectives' values, in order, from one trial's rows."""
    return [OBJECTIVES[n](rows) for n in names]
