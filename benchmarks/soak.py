"""Soak: one simulated hour (or more) of repeated raids through the live engine, as fast as it
runs, watching resident memory and per-step latency (the result is in docs/hardening.md).

Why it exists: a live engine runs for days; a table that grows with every track, a memo never
pruned or a latency that creeps up with the number of tracks ever seen would not show in a
200 s scenario. This replays the two-firing raid of tests/conftest.py (a 3-rocket salvo and a
3-bomb mortar string, with clutter) over and over, each copy shifted in time, through the
driver's live loop (the same code as ``counterram engine``), and samples the process's RSS
and the engine's step latency every simulated minute.

    python benchmarks/soak.py                  # one simulated hour
    python benchmarks/soak.py --hours 4 --json soak.json
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import two_firings
from counterram.driver import run_live
from counterram.engine import Engine
from counterram.events import Event
from counterram.sim import simulate


def rss_mb() -> float:
    """Resident memory now (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def repeated(header: str, lines: list[str], period_s: float, copies: int) -> Iterator[str]:
    """The raid's plot lines ``copies`` times, copy k shifted by k·period_s."""
    yield header
    records = [json.loads(x) for x in lines]
    for k in range(copies):
        shift = k * period_s
        for r in records:
            out = dict(r)
            out["t"] = round(r["t"] + shift, 6)
            if "report_t" in r:
                out["report_t"] = round(r["report_t"] + shift, 6)
            yield json.dumps(out, separators=(",", ":"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="write the per-raid samples here")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    run = simulate(two_firings(), seed=1)
    # raid after raid with no gap: the next copy starts 5 s after the last plot of this one
    period = float(np.ceil(max(json.loads(x)["t"] for x in run.plot_lines))) + 5.0
    copies = int(np.ceil(args.hours * 3600.0 / period))
    engine = Engine.from_scenario(two_firings())
    samples: list[dict] = []
    window: list[float] = []
    state = {"copy": 0, "events": 0}
    start = time.perf_counter()

    def sample(now: float) -> None:
        a = np.asarray(window)
        samples.append({"raid": state["copy"], "sim_s": round(now, 1),
                        "rss_mb": round(rss_mb(), 1),
                        "p50_ms": round(float(np.percentile(a, 50)), 3),
                        "p99_ms": round(float(np.percentile(a, 99)), 2),
                        "max_ms": round(float(a.max()), 2), "steps": int(a.size),
                        "events": state["events"], "wall_s": round(time.perf_counter() - start, 1)})
        window.clear()

    def on_events(now: float, events: list[Event]) -> None:
        if now >= (state["copy"] + 1) * period and window:
            sample(now)
            state["copy"] += 1
        window.append(engine.last_latency_s["total"] * 1e3)
        state["events"] += len(events)

    result = run_live(engine, repeated(run.plots_header, run.plot_lines, period, copies),
                      on_events)
    if window:
        sample(result.last_step_s)
    wall = time.perf_counter() - start
    warm = [s for s in samples if s["sim_s"] >= 600.0 and s["steps"] >= 0.9 * period / 0.5]
    rss = [s["rss_mb"] for s in warm]
    p50 = np.array([s["p50_ms"] for s in warm])
    p99 = np.array([s["p99_ms"] for s in warm])
    slope = float(np.polyfit(np.arange(p99.size), p99, 1)[0]) if p99.size > 2 else float("nan")
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "simulated_s": result.last_step_s, "wall_s": round(wall, 1), "steps": result.steps,
        "plots": result.plots_accepted, "rejected": result.total_rejected,
        "gaps_jumped": result.gaps_jumped, "raids": copies, "raid_period_s": period,
        "warm_raids": len(warm),
        "rss_mb_after_warm_up": rss[0] if rss else None, "rss_mb_end": rss[-1] if rss else None,
        "rss_growth_after_warm_up": round(max(rss) / rss[0] - 1.0, 4) if rss else None,
        "p50_ms_first_last_warm_raid": [float(p50[0]), float(p50[-1])] if p50.size else None,
        "p99_ms_first_last_warm_raid": [float(p99[0]), float(p99[-1])] if p99.size else None,
        "p99_ms_median_over_raids": round(float(np.median(p99)), 2) if p99.size else None,
        "p99_ms_slope_per_raid": round(slope, 4),
        "engine_tracks_remembered_at_end": len(engine.confirmed_track_ids),
    }
    print(json.dumps(summary, indent=1))
    for s in samples[:: max(1, len(samples) // 12)]:
        print(json.dumps(s))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "samples": samples}, indent=1))


if __name__ == "__main__":
    main()
