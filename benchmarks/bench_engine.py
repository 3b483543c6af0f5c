"""Engine per-step latency with N rounds in the air: a salvo of rockets or of mortar bombs.

``--kind rocket``: the built-in ``grad-salvo`` scenario (an LCMR-like and a WLR-like search
radar with their default clutter, two guns with cued fire-control radars) changed to fire N
rounds 0.2 s apart (closer for N > 100: the salvo lasts at most 20 s), so that all N are in flight
together for most of their ~60 s flight.
``--kind mortar``: the built-in ``fob-mortar`` site with one 120 mm mortar position 4.3 km south
firing N bombs as close (~45 s flights). The simulator runs the scenario once and records the
plots the engine received, as a plot file (docs/plots.md); a fresh engine then replays that file
in steps of ``--step`` (default 0.5 s, the step the latency budget is set for, whatever the
scenario's own simulation step; ``--repeat R`` replays it R times through fresh engines and pools
the steps, for a p99 less at the mercy of one slow step), and each step's wall-clock time is
measured (per stage, from
``Engine.last_latency_s``). The table gives p50/p99 over the steps with at least 90 % of the
rounds confirmed, and over all steps; the tracker alone on the same batches is the baseline.

``--districts K`` adds K × K warning districts (Voronoi cells, :mod:`counterram.scenario.districts`)
tiling 30 km × 30 km around the site to the scenario's own zones, as explicit polygons, so that
the warn stage works at city scale (``--districts 55``: 3,025 zones) on input that another
checkout reads too.

``--before SRC`` replays the same plot file, in the same run, through the engine of another
checkout (``SRC/src`` on the path, in a subprocess): before/after figures on identical input.
``--json`` prints one JSON object instead of the table: ``rounds``, ``kind``, ``steps_measured``,
``p50_ms``, ``p99_ms``, ``max_ms`` and ``by_stage`` (``{stage: {"p50_ms": …, "p99_ms": …}}``)
over the steps with ≥ 90 % of the rounds confirmed (with ``--before``, the other checkout's
object under ``"before"``).

    python benchmarks/bench_engine.py [--rounds 100] [--kind rocket|mortar] [--json]
                                      [--step 0.5] [--repeat 1] [--districts K]
                                      [--before PATH_TO_OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from counterram.engine import STAGES, Engine
from counterram.scenario import dump_scenario, load_scenario
from counterram.sensors.plotio import PlotReader
from counterram.tracking.tracker import Tracker


def _interval(rounds: int) -> float:
    """0.2 s between rounds, shortened for large N so that the salvo lasts at most 20 s (all N
    in the air together for most of their flight)."""
    return min(0.2, 20.0 / max(rounds, 1))


def salvo(rounds: int, kind: str = "rocket"):
    """The benchmark scenario: a salvo of N rounds (module docstring)."""
    if kind == "rocket":
        sc = load_scenario("grad-salvo")
        threat = sc.threats[0].model_copy(update={"rounds": rounds,
                                                  "salvo_interval_s": _interval(rounds)})
    else:
        sc = load_scenario("fob-mortar")
        base = next(t for t in sc.threats if t.munition == "120mm-mortar")
        threat = base.model_copy(update={"count": 1, "rounds": rounds,
                                         "salvo_interval_s": _interval(rounds),
                                         "time_window_s": (0.0, 1.0)})
    return sc.model_copy(update={"threats": (threat,), "duration_s": 200.0})


def with_districts(scenario, per_side: int, extent_m: float = 30_000.0):
    """The scenario with ``per_side``² generated districts added as explicit polygon zones."""
    from counterram.scenario import EnuPoint, WarningZone
    from counterram.scenario.districts import district_names, district_polygons

    polygons = district_polygons((0.0, 0.0), extent_m, per_side, "voronoi", seed=7)
    zones = tuple(
        WarningZone(name=name, polygon=tuple(EnuPoint(east_m=round(x, 2), north_m=round(y, 2))
                                             for x, y in list(poly.exterior.coords)[:-1]))
        for name, poly in zip(district_names("district", per_side), polygons, strict=True)
    )
    return scenario.model_copy(update={"warning_zones": scenario.warning_zones + zones})


def record(scenario, path: Path) -> tuple[float, float]:
    """Simulate and write the engine's plots to ``path``; (simulation wall s, step s)."""
    from counterram.sim import simulate

    t0 = time.perf_counter()
    res = simulate(scenario)
    sim_s = time.perf_counter() - t0
    path.write_text("\n".join([res.plots_header, *res.plot_lines]) + "\n")
    return sim_s, res.step_s


def replay(scenario, path: Path, rounds: int, step: float, repeat: int = 1) -> dict:
    """Replay a plot file through a fresh engine (``repeat`` times, each a fresh engine, the
    steps pooled); per-step latencies and confirmed counts."""
    if repeat > 1:
        runs = [replay(scenario, path, rounds, step) for _ in range(repeat)]
        pooled = {k: [] for k in ("confirmed", "tracker_ms")}
        per_step = {s: [] for s in STAGES}
        for r in runs:
            for s in STAGES:
                per_step[s] += r["per_step"][s]
            pooled["confirmed"] += r["confirmed"]
            pooled["tracker_ms"] += r["tracker_ms"]
        return {"per_step": per_step, **pooled, "plots": runs[0]["plots"], "rounds": rounds}
    engine = Engine.from_scenario(scenario)
    lines = path.read_text().splitlines()[1:]
    plots = PlotReader(lines, engine.sensors).read_all()[0]
    report = plots.report_time_s
    end = float(report.max()) + 10.0 if len(plots) else 0.0
    steps = []
    for k in range(1, round(end / step) + 1):
        now = k * step
        sel = np.flatnonzero((report > now - step) & (report <= now))
        steps.append((now, plots.take(sel)))
    per_step: dict[str, list[float]] = {s: [] for s in STAGES}
    confirmed = []
    for now, batch in steps:
        engine.step(now, batch)
        for s in STAGES:
            per_step[s].append(engine.last_latency_s[s] * 1e3)
        confirmed.append(len(engine.confirmed_track_ids))
    tracker = Tracker(engine.sensors, engine.config.tracker, atmosphere=engine.atmosphere,
                      wind=engine.wind)
    tracker_ms = []
    for now, batch in steps:
        a = time.perf_counter()
        tracker.step(now, batch)
        tracker_ms.append((time.perf_counter() - a) * 1e3)
    return {"per_step": per_step, "confirmed": confirmed, "tracker_ms": tracker_ms,
            "plots": len(plots), "rounds": rounds}


def summary(r: dict, kind: str) -> dict:
    """The JSON object of one replay (module docstring)."""
    busy = np.array(r["confirmed"]) >= 0.9 * r["rounds"]

    def pct(a: np.ndarray, q: float) -> float | None:
        return round(float(np.percentile(a, q)), 3) if a.size else None

    total = np.array(r["per_step"]["total"])[busy]
    return {
        "rounds": r["rounds"],
        "kind": kind,
        "steps_measured": int(busy.sum()),
        "p50_ms": pct(total, 50),
        "p99_ms": pct(total, 99),
        "max_ms": round(float(total.max()), 3) if total.size else None,
        "by_stage": {
            s: {"p50_ms": pct(np.array(r["per_step"][s])[busy], 50),
                "p99_ms": pct(np.array(r["per_step"][s])[busy], 99)}
            for s in STAGES if s != "total"
        },
        "tracker_alone": {"p50_ms": pct(np.array(r["tracker_ms"])[busy], 50),
                          "p99_ms": pct(np.array(r["tracker_ms"])[busy], 99)},
    }


def table(obj: dict, title: str) -> None:
    print(f"{title}: {obj['rounds']} {obj['kind']}s, {obj['steps_measured']} steps with >= 90 % "
          "confirmed")
    print(f"{'stage':<24}{'p50 ms':>10}{'p99 ms':>10}")
    for s, v in obj["by_stage"].items():
        print(f"{'engine: ' + s:<24}{v['p50_ms']:>10.2f}{v['p99_ms']:>10.2f}")
    print(f"{'engine: total':<24}{obj['p50_ms']:>10.2f}{obj['p99_ms']:>10.2f}")
    t = obj["tracker_alone"]
    print(f"{'baseline: tracker alone':<24}{t['p50_ms']:>10.2f}{t['p99_ms']:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--kind", choices=("rocket", "mortar"), default="rocket")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--before", type=Path, help="another checkout to replay the same plots")
    parser.add_argument("--replay", type=Path, help=argparse.SUPPRESS)  # used by --before
    parser.add_argument("--scenario-file", type=Path, help=argparse.SUPPRESS)  # used by --before
    parser.add_argument("--districts", type=int, default=0,
                        help="add K x K warning districts tiling 30 km x 30 km (55: 3,025 zones)")
    parser.add_argument("--step", type=float, default=0.5,
                        help="engine step of the replay, s (the budget's step; default 0.5)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="replays of the same plots through fresh engines, steps pooled")
    args = parser.parse_args()
    if args.scenario_file is not None:
        scenario = load_scenario(str(args.scenario_file))
    else:
        scenario = salvo(args.rounds, args.kind)
        if args.districts:
            scenario = with_districts(scenario, args.districts)
    if args.replay is not None:  # the other checkout's side of --before
        print(json.dumps(summary(replay(scenario, args.replay, args.rounds, args.step,
                                        args.repeat), args.kind)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        plots = Path(tmp) / "plots.jsonl"
        sim_s, _ = record(scenario, plots)
        scenario_file = Path(tmp) / "scenario.yaml"
        scenario_file.write_text(dump_scenario(scenario))
        step = args.step
        after = summary(replay(scenario, plots, args.rounds, step, args.repeat), args.kind)
        after["step_s"] = step
        after["repeat"] = args.repeat
        after["simulation_wall_s"] = round(sim_s, 2)
        after["zones"] = len(scenario.warning_zones)
        if args.before is not None:
            env = {**os.environ, "PYTHONPATH": str(args.before.resolve() / "src")}
            out = subprocess.run(
                [sys.executable, __file__, "--rounds", str(args.rounds), "--kind", args.kind,
                 "--replay", str(plots), "--step", str(step),
                 "--scenario-file", str(scenario_file)]
                + (["--repeat", str(args.repeat)] if args.repeat > 1 else []),
                env=env, capture_output=True, text=True, check=True, cwd=args.before,
            )
            after["before"] = json.loads(out.stdout.strip().splitlines()[-1])
    if args.json:
        print(json.dumps(after))
        return
    table(after, "this checkout")
    if "before" in after:
        table(after["before"], f"before ({args.before})")


if __name__ == "__main__":
    main()
