"""Monte Carlo campaigns: many seeded runs of a scenario over a parameter sweep, with intervals.

Why it exists: one run of a scenario is one draw of launch points, delivery errors, radar noise
and burst outcomes; a statement such as "the leak rate drops from 9 % to 4 % when the gun's
dispersion halves" needs hundreds of runs per setting, run in parallel, resumable after a crash,
and summarised with confidence intervals. :func:`run_campaign` does that: validate the sweep
(:mod:`.sweep`), plan and execute batches (:mod:`.execute`), write them safely (:mod:`.store`),
aggregate (:mod:`.aggregate`) and draw a report (:mod:`.report`).

Typical use::

    from counterram.campaign import parse_sweep, run_campaign
    run_campaign("fob-mortar", runs=200, root_seed=1, out="camp",
                 sweeps=[parse_sweep("effectors.0.dispersion_mrad=1,2,4")], workers=4)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from counterram.campaign.aggregate import aggregate_point, bootstrap_median, wilson_interval
from counterram.campaign.execute import (
    DaskExecutor,
    LocalExecutor,
    default_workers,
    plan_batches,
    run_seed,
)
from counterram.campaign.store import CampaignStore, StoreMismatchError
from counterram.campaign.sweep import (
    SweepAxis,
    SweepError,
    SweepPoint,
    build_points,
    parse_sweep,
)

__all__ = [
    "CampaignInterruptedError",
    "CampaignResult",
    "StoreMismatchError",
    "SweepAxis",
    "SweepError",
    "SweepPoint",
    "bootstrap_median",
    "build_points",
    "parse_sweep",
    "run_campaign",
    "run_seed",
    "wilson_interval",
]

AGGREGATE_SEED = 20240601
"""Seed of the bootstrap resampling in summary.json (fixed: the summary is reproducible)."""


class CampaignInterruptedError(RuntimeError):
    """The campaign stopped before every run finished; the finished batches are kept."""


class CampaignResult(dict):
    """summary.json of a campaign (a dict), with ``out`` the folder."""

    out: Path


def _scenario_hash(scenario: Any) -> str:
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()[:16]


def run_campaign(
    scenario: Any,
    runs: int,
    out: str | Path,
    *,
    root_seed: int | None = None,
    sweeps: Sequence[SweepAxis] = (),
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    progress: Callable[[int, int], None] | None = None,
    stop_after_batches: int | None = None,
    report: bool = True,
) -> CampaignResult:
    """Run ``runs`` replications of ``scenario`` (a name, path or Scenario) at every point of
    the ``sweeps`` grid into folder ``out``; returns the campaign summary (summary.json).

    ``root_seed`` None uses the scenario's seed. Executor: local processes (``workers``,
    default the CPUs available), Dask at ``scheduler`` or a local Dask cluster (``dask_local``).
    Runs already in ``out`` (same inputs) are skipped. ``progress(done, total)`` is called as
    runs finish. ``stop_after_batches`` stops after that many batches and raises
    :class:`CampaignInterruptedError` (the finished ones are kept; for tests and dry runs).
    Raises :class:`SweepError` (bad sweep) or :class:`StoreMismatchError` before any run.
    """
    from counterram.scenario import load_scenario

    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    seed = int(scenario.seed if root_seed is None else root_seed)
    if seed < 0:
        raise ValueError(f"root seed must be a non-negative integer, got {seed}")
    k = default_workers() if workers is None else max(1, int(workers))
    points = build_points(scenario, sweeps)
    store = CampaignStore(Path(out))
    paths = [a.path for a in sweeps]
    store.check_manifest({
        "scenario": scenario.name, "scenario_sha256": _scenario_hash(scenario),
        "root_seed": seed, "sweep": {a.path: list(a.values) for a in sweeps}, "runs": runs,
    })
    batches = plan_batches(points, runs, seed, k, store.done())
    total = sum(len(b.runs) for b in batches)
    if dask_local or scheduler is not None:
        executor: Any = DaskExecutor(scheduler, k)
    else:
        executor = LocalExecutor(min(k, max(1, len(batches))))
    finished = 0
    done_runs = 0
    if progress:
        progress(0, total)
    if batches:
        with executor as ex:
            for batch, rows in ex.map(batches):
                store.write_part(rows)
                finished += 1
                done_runs += len(batch.runs)
                if progress:
                    progress(done_runs, total)
                if stop_after_batches is not None and finished >= stop_after_batches \
                        and done_runs < total:
                    raise CampaignInterruptedError(
                        f"stopped after {finished} batch(es), {done_runs} of {total} runs")
    # only the runs asked for (an earlier, larger campaign may have written more)
    rows = store.consolidate(runs).to_pylist()
    summary = _summarise(scenario.name, seed, runs, points, paths, rows)
    store.write_json("summary.json", summary)
    if report:
        from counterram.campaign.report import render_report

        store.write_text("report.html", render_report(rows, summary, paths))
    result = CampaignResult(summary)
    result.out = Path(out)
    return result


def _summarise(
    name: str, seed: int, runs: int, points: Sequence[SweepPoint], paths: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    rng = np.random.Generator(np.random.PCG64(AGGREGATE_SEED))
    out_points = []
    for p in points:
        mine = [r for r in rows if r["point_key"] == p.key]
        agg = aggregate_point(mine, rng)
        out_points.append({"point": p.index, "point_key": p.key, "sweep": dict(p.values), **agg})
    return {"scenario": name, "root_seed": seed, "runs_per_point": runs, "sweep_paths": list(paths),
            "confidence": 0.95, "points": out_points}
