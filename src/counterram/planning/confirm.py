"""The confirmation of a planned site: the best site against the original on fresh seeds.

Why it exists: the best of many trials, each judged on a few runs, is optimistic by selection
(the winner's curse); its plan value is not an estimate of how it does. The confirmation runs
the original and the best site as two ordinary campaigns (:func:`counterram.campaign.run_campaign`)
on a root seed the plan never used, with the campaign's 95 % intervals (Wilson for the leak
rate), and says whether the two leak-rate intervals are apart. Both campaigns share their seeds
(common random numbers again), so the paired difference per run is also given, with a
percentile-bootstrap interval over runs: a sharper test than two separate intervals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from counterram.campaign import run_campaign
from counterram.scenario import Scenario

__all__ = ["PAIRED_BOOT_SEED", "confirm_sites", "paired_leak_difference"]

PAIRED_BOOT_SEED = 20240602
"""Seed of the paired bootstrap (fixed: the summary is reproducible)."""


def paired_leak_difference(original: list[dict[str, Any]], best: list[dict[str, Any]],
                           n_boot: int = 4000) -> dict[str, Any]:
    """Best minus original leak rate over runs paired by seed: the estimate Σ(leakers_best −
    leakers_original) ÷ Σ rounds_on_assets and its 95 % percentile-bootstrap interval over runs."""
    by_seed = {r["seed"]: r for r in original}
    pairs = [(by_seed[r["seed"]], r) for r in best if r["seed"] in by_seed]
    d = np.array([float(b["leakers_on_assets"]) - float(o["leakers_on_assets"]) for o, b in pairs])
    n = np.array([float(o["rounds_on_assets"]) for o, _ in pairs])
    if not pairs or n.sum() <= 0:
        return {"estimate": None, "low": None, "high": None, "runs": len(pairs)}
    rng = np.random.Generator(np.random.PCG64(PAIRED_BOOT_SEED))
    idx = rng.integers(0, len(pairs), size=(n_boot, len(pairs)))
    den = n[idx].sum(axis=1)
    ok = den > 0
    boot = d[idx].sum(axis=1)[ok] / den[ok]
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"estimate": float(d.sum() / n.sum()), "low": float(lo), "high": float(hi),
            "runs": len(pairs)}


def confirm_sites(
    original: Scenario, best: Scenario, *, best_key: str, out: Path, runs: int, root_seed: int,
    workers: int, scheduler: str | None = None, dask_local: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, Any], int]:
    """Run both sites ``runs`` times on ``root_seed`` into ``out/original`` and
    ``out/best-<key>`` (resumable campaigns); returns (the comparison, runs executed now)."""
    executed = 0
    results: dict[str, Any] = {}
    rows: dict[str, list[dict[str, Any]]] = {}
    for label, sc, folder in (("original", original, out / "original"),
                              ("best", best, out / f"best-{best_key}")):
        totals: list[int] = []

        def tick(done: int, total: int, label: str = label, totals: list[int] = totals) -> None:
            if not totals:
                totals.append(total)
            if progress:
                progress(f"confirm {label}", done, total)

        summary = run_campaign(sc, runs, folder, root_seed=root_seed, workers=workers,
                               scheduler=scheduler, dask_local=dask_local, progress=tick,
                               report=False)
        executed += totals[0] if totals else 0
        point = summary["points"][0]
        results[label] = {"folder": str(folder), "leak_rate": point["leak_rate"],
                          "expected_casualties": point["expected_casualties"],
                          "intercept_success": point["intercept_success"],
                          "engageable_share": point["engageable_share"]}
        rows[label] = pq.read_table(folder / "runs.parquet").to_pylist()
    o, b = results["original"]["leak_rate"], results["best"]["leak_rate"]
    apart = None
    if o["estimate"] is not None and b["estimate"] is not None:
        apart = bool(b["high"] < o["low"] or o["high"] < b["low"])
    lower = apart and b["estimate"] < o["estimate"]
    return ({"root_seed": root_seed, "runs": runs, "confidence": 0.95, **results,
             "leak_rate_intervals_apart": apart, "best_lower_apart": bool(lower),
             "paired_leak_difference": paired_leak_difference(rows["original"], rows["best"])},
            executed)
