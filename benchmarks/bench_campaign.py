"""Campaign throughput: simulated runs per minute with 1 and 2 local workers (and Dask).

Each row runs a fresh campaign of ``--runs`` replications of the scenario (default: the
built-in ``baghdad-embassy``, the default scenario) into a temporary folder and times it end to
end: planning, simulating, writing parts, consolidating runs.parquet and summary.json (the HTML
report is left out). ``--dask`` adds a row on a Dask LocalCluster with 2 workers, its start-up
included. Runs per minute scale with the worker count only as far as there are free cores.

    python benchmarks/bench_campaign.py [--scenario baghdad-embassy] [--runs 6] [--dask]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from counterram.campaign import run_campaign
from counterram.campaign.execute import default_workers
from counterram.scenario import load_scenario


def timed(scenario, runs: int, workers: int, dask: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_campaign(scenario, runs, Path(tmp) / "c", root_seed=1, workers=workers,
                     dask_local=dask, report=False)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baghdad-embassy")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--dask", action="store_true", help="also time a Dask LocalCluster")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    rows = [("process pool", 1, False), ("process pool", 2, False)]
    if args.dask:
        rows.append(("dask local", 2, True))
    print(f"scenario {args.scenario}: {scenario.total_rounds} rounds, {args.runs} runs per row, "
          f"{default_workers()} CPUs available")
    print(f"{'executor':<14}{'workers':>8}{'wall s':>9}{'runs/min':>10}{'speed-up':>10}")
    base = None
    for name, workers, dask in rows:
        wall = timed(scenario, args.runs, workers, dask)
        rate = 60.0 * args.runs / wall
        base = base or rate
        print(f"{name:<14}{workers:>8}{wall:>9.1f}{rate:>10.1f}{rate / base:>10.2f}")


if __name__ == "__main__":
    main()
