"""Plot-to-warning latency of the wall-clock engine on a live feed: a 100-round salvo at 1×.

Two processes on 127.0.0.1, as in the field: ``counterram plots SCENARIO --send
udp://127.0.0.1:PORT --speed 1`` sends the salvo's plots (the ``grad-salvo`` site firing N
rockets 0.2 s apart, ``benchmarks/bench_engine.py``'s scenario) as ASTERIX CAT 048 at their
report times, and ``counterram engine --realtime`` steps on the wall clock and writes every
warning with its ``latency_ms``: from the receive time of the plot that caused it to the
moment its step returned it (docs/running.md). Each ``--step`` value is one run, in the same
invocation (the engine's step: the default 0.5 s, the scenario's revisit, and shorter ones,
which cut the wait for the next step). The table gives, per run, the warnings timed, the
latency p50/p99, its processing part (from the later of the plot's arrival and the step's
start to the step's return: what is left once the wait for the step is taken out), the steps
skipped for falling behind, and the plots accepted / late.

``--json`` prints one JSON object: ``rounds``, ``format``, ``runs`` (one object per step with
the figures of the table), ``load`` (the 1-minute load average before and after).

    python benchmarks/bench_live_latency.py [--rounds 100] [--step 0.5 --step 0.1]
                                            [--format asterix|jsonl] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import salvo
from counterram.scenario import dump_scenario

COUNTERRAM = (sys.executable, "-m", "counterram.cli")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _row(stdout: str, name: str) -> str:
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[0] == name:
            return cells[1]
    return ""


def run_once(scenario: Path, folder: Path, step: float, fmt: str, seed: int) -> dict:
    """One sender + wall-clock engine run; the figures of the table."""
    port = _free_port()
    scheme = "asterix+udp" if fmt == "asterix" else "udp"
    out = folder / f"engine-{step:g}"
    engine = subprocess.Popen(
        [*COUNTERRAM, "engine", "--scenario", str(scenario), "--plots",
         f"{scheme}://127.0.0.1:{port}", "--out", str(out), "--realtime", "--step-s", str(step),
         "--max-idle-s", "5", "--wait-first-s", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert engine.stderr is not None
        while not engine.stderr.readline().startswith("listening on"):
            if engine.poll() is not None:
                raise SystemExit(f"engine failed: {engine.stderr.read()}")
        sender = subprocess.run(
            [*COUNTERRAM, "plots", str(scenario), "--seed", str(seed), "--send",
             f"udp://127.0.0.1:{port}", "--format", fmt, "--speed", "1"],
            capture_output=True, text=True, check=True)
        stdout, _ = engine.communicate(timeout=900)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    lat = np.array([e["latency_ms"] for e in events
                    if e["kind"] == "warning" and e.get("latency_ms") is not None])
    first = np.array([e["latency_ms"] for e in events if e["kind"] == "warning"
                      and not e["update"] and e.get("latency_ms") is not None])
    return {
        "step_s": step,
        "warnings_timed": int(lat.size),
        "p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
        "p99_ms": float(np.percentile(lat, 99)) if lat.size else None,
        "first_warnings_max_ms": float(first.max()) if first.size else None,
        "processing_p50_ms": float(_row(stdout, "processing p50 ms") or "nan"),
        "processing_p99_ms": float(_row(stdout, "processing p99 ms") or "nan"),
        "steps_skipped": int(_row(stdout, "steps skipped (behind)") or 0),
        "plots_accepted": int(_row(stdout, "plots accepted") or 0),
        "plots_late": int(_row(stdout, "late") or 0),
        "sender": sender.stdout.strip().splitlines()[-1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--step", type=float, action="append", help="engine step(s), s")
    ap.add_argument("--format", choices=("asterix", "jsonl"), default="asterix")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    steps = args.step or [0.5, 0.1]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = folder / "salvo.yaml"
        scenario.write_text(dump_scenario(salvo(args.rounds)), encoding="utf-8")
        runs = []
        for step in steps:
            start = time.monotonic()
            runs.append(run_once(scenario, folder, step, args.format, args.seed))
            runs[-1]["wall_s"] = round(time.monotonic() - start, 1)
    report = {"rounds": args.rounds, "format": args.format, "runs": runs,
              "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.rounds}-round salvo at 1x, {args.format} over UDP, wall-clock engine "
          f"(load {report['load'][0]} -> {report['load'][1]})")
    print(f"{'step s':>7} {'warnings':>8} {'p50 ms':>8} {'p99 ms':>8} {'proc p50':>9} "
          f"{'proc p99':>9} {'skipped':>8} {'accepted':>9} {'late':>5}")
    for r in runs:
        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"
        print(f"{r['step_s']:>7g} {r['warnings_timed']:>8} {f(r['p50_ms']):>8} "
              f"{f(r['p99_ms']):>8} {f(r['processing_p50_ms']):>9} "
              f"{f(r['processing_p99_ms']):>9} {r['steps_skipped']:>8} "
              f"{r['plots_accepted']:>9} {r['plots_late']:>5}")
    for r in runs:
        print(f"  step {r['step_s']:g}: {r['sender']}")


if __name__ == "__main__":
    main()
