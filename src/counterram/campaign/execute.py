"""Running a campaign: seeds per run, batches of runs per task, a process pool or Dask.

Why it exists: a campaign is N replications × the sweep grid of independent simulations; they
spread over local processes (:class:`concurrent.futures.ProcessPoolExecutor`) or a Dask cluster
(an existing scheduler, or a :class:`distributed.LocalCluster` on 127.0.0.1). Runs are grouped
into batches of ``ceil(N / (4 K))`` runs of one sweep point per task, so the per-task overhead
(pickling the scenario, scheduling) is paid once per batch while every worker still gets about
four tasks per point to balance the load. Workers only simulate and return rows; every file is
written by the coordinating process, so a remote Dask worker needs no access to the output
folder.

Seeds: run ``i`` of every sweep point uses
``SeedSequence(S, spawn_key=(i,)).generate_state(1)[0]`` (S the root seed), independent of the
worker count, the batching and the executor, and shared by all sweep points so that points are
compared on common random numbers (the same launch points, launch times and delivery errors for
run ``i`` wherever the swept field does not change the draws), which makes differences between
points much less noisy than independent seeds would.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from counterram.campaign.sweep import SweepPoint

__all__ = [
    "Batch",
    "DaskExecutor",
    "LocalExecutor",
    "plan_batches",
    "run_batch",
    "run_metrics",
    "run_seed",
]

_DROPPED = ("engine_latency_ms", "engine_latency_ms_by_stage", "rounds_landed_in_zones_unwarned",
            "engageable_not_engaged", "run_time_s")
"""Summary fields left out of runs.parquet: wall-clock timings (they differ from machine to
machine and would break run-for-run reproducibility) and per-round lists."""


def run_seed(root_seed: int, run: int) -> int:
    """The seed of run ``run`` of a campaign with root seed ``root_seed`` (see module doc)."""
    return int(np.random.SeedSequence(root_seed, spawn_key=(run,)).generate_state(1)[0])


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}_{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def run_metrics(scenario: Any, seed: int) -> dict[str, Any]:
    """Simulate one run and return its flattened summary (nested keys joined by ``_``), with
    ``rounds_on_assets`` (rounds whose impact point lies in a defended asset, killed or not) and
    ``end_time_s`` added and the timing fields left out."""
    from counterram.driver import RunDriver

    record = RunDriver().simulate(scenario, seed)  # no sinks: nothing written
    truth = record.simulation.truth
    on_assets = int(np.count_nonzero(truth.impact_in_asset.any(axis=1))) if len(truth) else 0
    summary = {**(record.summary or {}), "rounds_on_assets": on_assets}
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        if key not in _DROPPED:
            _flatten(key, value, flat)
    return flat


@dataclass(frozen=True)
class Batch:
    """One task: runs ``runs`` (with ``seeds``) of sweep point ``point``."""

    point: SweepPoint
    runs: tuple[int, ...]
    seeds: tuple[int, ...]
    sweep_values: dict[str, Any] = field(default_factory=dict)


def _column_value(value: Any) -> Any:
    """A sweep value as stored in runs.parquet: numbers as float, text as is, others as JSON."""
    import json

    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return json.dumps(value)


def plan_batches(
    points: Sequence[SweepPoint],
    runs: int,
    root_seed: int,
    workers: int,
    done: set[tuple[str, int]] = frozenset(),  # type: ignore[assignment]
) -> list[Batch]:
    """The batches still to run: for each point the runs 0..runs-1 not in ``done`` (pairs of
    point key and run), in chunks of ``ceil(runs / (4 workers))``."""
    size = max(1, math.ceil(runs / (4 * max(1, workers))))
    batches = []
    for p in points:
        todo = [i for i in range(runs) if (p.key, i) not in done]
        values = {k: _column_value(v) for k, v in p.values.items()}
        for j in range(0, len(todo), size):
            chunk = tuple(todo[j:j + size])
            batches.append(Batch(p, chunk, tuple(run_seed(root_seed, i) for i in chunk), values))
    return batches


def run_batch(
    scenario: Any, point: int, key: str, sweep_values: Mapping[str, Any],
    runs: Sequence[int], seeds: Sequence[int],
) -> list[dict[str, Any]]:
    """Simulate the runs of one batch → rows of runs.parquet (executed on a worker)."""
    rows = []
    for run, seed in zip(runs, seeds, strict=True):
        row: dict[str, Any] = {"point": point, "point_key": key, "run": run}
        row.update(sweep_values)
        metrics = run_metrics(scenario, seed)
        metrics["seed"] = seed
        row.update(metrics)
        rows.append(row)
    return rows


def _args(b: Batch) -> tuple[Any, ...]:
    return (b.point.scenario, b.point.index, b.point.key, b.sweep_values, b.runs, b.seeds)


Executor = Callable[[Sequence[Batch]], Iterator[tuple[Batch, list[dict[str, Any]]]]]


def _one_thread_per_worker() -> None:
    """Worker processes share the cores: numba's threaded kernels run on one thread each (the
    trajectory kernel's build is still faster than a serial one there), so that N workers do not
    start N thread pools over the same cores."""
    import numba

    numba.set_num_threads(1)


class LocalExecutor:
    """Batches on ``workers`` local processes (1: in this process, no pool)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            # workers start from a clean server process, not a fork of this one: a process that
            # has run a threaded numba kernel (OpenMP) cannot be forked safely
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("forkserver"),
                initializer=_one_thread_per_worker,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def map(self, batches: Sequence[Batch]) -> Iterator[tuple[Batch, list[dict[str, Any]]]]:
        """(batch, rows) as each batch finishes (any order)."""
        if self._pool is None:
            for b in batches:
                yield b, run_batch(*_args(b))
            return
        pending: dict[Future, Batch] = {self._pool.submit(run_batch, *_args(b)): b
                                        for b in batches}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    yield pending.pop(f), f.result()
        finally:
            for f in pending:
                f.cancel()


class DaskExecutor:
    """Batches on a Dask cluster: ``scheduler`` (``tcp://HOST:PORT``) of a running cluster, or
    a new :class:`distributed.LocalCluster` of ``workers`` single-threaded worker processes bound
    to 127.0.0.1 when ``scheduler`` is None."""

    def __init__(self, scheduler: str | None, workers: int) -> None:
        self.scheduler = scheduler
        self.workers = max(1, int(workers))
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            self._cluster = LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, env={"NUMBA_NUM_THREADS": "1"},
            )
            self._client = Client(self._cluster)
        else:
            self._client = Client(self.scheduler, timeout="20s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def map(self, batches: Sequence[Batch]) -> Iterator[tuple[Batch, list[dict[str, Any]]]]:
        from distributed import as_completed

        futures = {self._client.submit(run_batch, *_args(b), pure=False): b for b in batches}
        try:
            for f in as_completed(list(futures)):
                yield futures[f], f.result()
        finally:
            for f in futures:
                f.cancel()


def default_workers() -> int:
    """Worker processes by default: the CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
