"""Engine per-step latency with N rounds in the air: a salvo of rockets or of mortar bombs.

``--kind rocket``: the built-in ``grad-salvo`` scenario (an LCMR-like and a WLR-like search
radar with their default clutter, two guns with cued fire-control radars) changed to fire N
rounds 0.2 s apart, so that all N are in flight together for most of their ~60 s flight.
``--kind mortar``: the built-in ``fob-mortar`` site with one 120 mm mortar position 4.3 km south
firing N bombs 0.2 s apart (~45 s flights). The simulator runs the scenario once and records the
plot batches the engine received at each step; a fresh engine then replays them, and each step's
wall-clock time is measured (per stage, from ``Engine.last_latency_s``). The table gives p50/p99
over the steps with at least 90 % of the rounds confirmed, and over all steps; the tracker alone
on the same batches is the baseline. ``--json`` prints one JSON object instead: ``rounds``,
``kind``, ``steps_measured``, ``p50_ms``, ``p99_ms``, ``max_ms`` and ``by_stage``
(``{stage: {"p50_ms": …, "p99_ms": …}}``) over the steps with ≥ 90 % of the rounds confirmed.

    python benchmarks/bench_engine.py [--rounds 100] [--kind rocket|mortar] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from counterram.engine import STAGES, Engine
from counterram.scenario import load_scenario
from counterram.sim import simulate
from counterram.tracking.tracker import Tracker


def salvo(rounds: int, kind: str = "rocket"):
    """The benchmark scenario: N rounds 0.2 s apart (module docstring)."""
    if kind == "rocket":
        sc = load_scenario("grad-salvo")
        threat = sc.threats[0].model_copy(update={"rounds": rounds, "salvo_interval_s": 0.2})
    else:
        sc = load_scenario("fob-mortar")
        base = next(t for t in sc.threats if t.munition == "120mm-mortar")
        threat = base.model_copy(update={"count": 1, "rounds": rounds, "salvo_interval_s": 0.2,
                                         "time_window_s": (0.0, 1.0)})
    return sc.model_copy(update={"threats": (threat,), "duration_s": 200.0})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--kind", choices=("rocket", "mortar"), default="rocket")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    scenario = salvo(args.rounds, args.kind)
    t0 = time.perf_counter()
    res = simulate(scenario)
    sim_s = time.perf_counter() - t0
    step = res.step_s
    report = res.plots.report_time_s
    steps = []
    for k in range(1, round(res.end_time_s / step) + 1):
        now = k * step
        sel = np.flatnonzero((report > now - step) & (report <= now))
        steps.append((now, res.plots.take(sel)))

    engine = Engine.from_scenario(scenario)
    per_step = {s: [] for s in STAGES}
    confirmed = []
    for now, batch in steps:
        engine.step(now, batch)
        for s in STAGES:
            per_step[s].append(engine.last_latency_s[s] * 1e3)
        confirmed.append(len(engine.confirmed_track_ids))
    confirmed = np.array(confirmed)
    busy = confirmed >= 0.9 * args.rounds
    if args.json:
        def pct(a: np.ndarray, q: float) -> float | None:
            return round(float(np.percentile(a, q)), 3) if a.size else None

        total = np.array(per_step["total"])[busy]
        print(json.dumps({
            "rounds": args.rounds,
            "kind": args.kind,
            "steps_measured": int(busy.sum()),
            "p50_ms": pct(total, 50),
            "p99_ms": pct(total, 99),
            "max_ms": round(float(total.max()), 3) if total.size else None,
            "by_stage": {
                s: {"p50_ms": pct(np.array(per_step[s])[busy], 50),
                    "p99_ms": pct(np.array(per_step[s])[busy], 99)}
                for s in STAGES if s != "total"
            },
            "simulation_wall_s": round(sim_s, 2),
        }))
        return

    tracker = Tracker(engine.sensors, engine.config.tracker, atmosphere=engine.atmosphere,
                      wind=engine.wind)
    tracker_ms = []
    for now, batch in steps:
        a = time.perf_counter()
        tracker.step(now, batch)
        tracker_ms.append((time.perf_counter() - a) * 1e3)
    tracker_ms = np.array(tracker_ms)

    print(f"{args.rounds}-round salvo: {len(steps)} steps of {step} s, {len(res.plots)} plots, "
          f"max {confirmed.max()} confirmed tracks at once, {busy.sum()} steps with >= "
          f"{0.9 * args.rounds:.0f}; simulation {sim_s:.1f} s wall")
    print(f"{'stage':<28}{'busy p50 ms':>12}{'busy p99 ms':>12}{'all p50 ms':>12}"
          f"{'all p99 ms':>12}")

    def row(name: str, a: np.ndarray) -> None:
        b = a[busy] if busy.any() else np.array([np.nan])
        print(f"{name:<28}{np.percentile(b, 50):>12.2f}{np.percentile(b, 99):>12.2f}"
              f"{np.percentile(a, 50):>12.2f}{np.percentile(a, 99):>12.2f}")

    for s in STAGES:
        row(f"engine: {s}", np.array(per_step[s]))
    row("baseline: tracker alone", tracker_ms)


if __name__ == "__main__":
    main()
