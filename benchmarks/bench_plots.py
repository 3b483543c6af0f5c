"""Plot generation throughput: the 40-round grad-salvo scenario seen by three radars.

Radars: the scenario's weapon-locating radar (electronic, 0.5 s), its counter-mortar radar
(rotating, 2 s) and one fire-control radar cued at every round in flight (0.1 s looks). Each is
simulated alone over the whole 300 s scenario, then all three together; the truth (built once,
not timed) is the world's. Prints plots/s and scans/s (best of ``REPEATS``), and for reference the
cost of the truth look-ups alone (``Truth.states_at`` at the same instants).

    python benchmarks/bench_plots.py
"""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.table import Table

from counterram.scenario import load_scenario
from counterram.sensors.radar import merge_scans, radars_from_scenario, simulate_plots
from counterram.world import build_truth

REPEATS = 3


def _best(fn, repeats: int = REPEATS) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    scenario = load_scenario("grad-salvo")
    truth = build_truth(scenario)
    radars = {r.name: r for r in radars_from_scenario(scenario)}
    chosen = [radars["wlr-1"], radars["lcmr-1"], radars["fcr-east"]]
    end_s = scenario.duration_s
    table = Table(title=f"grad-salvo: {len(truth)} rounds, {end_s:g} s simulated")
    for col in ("radars", "scans", "plots", "wall s", "scans/s", "plots/s", "sim/real"):
        table.add_column(col, justify="right" if col != "radars" else "left")
    cases = [([r], r.name) for r in chosen] + [(chosen, "all three")]
    for radar_list, label in cases:
        seconds, scans = _best(
            lambda rl=radar_list: simulate_plots(
                truth, rl, seed=scenario.seed, end_s=end_s, truth_cues=True
            )
        )
        plots, _ = merge_scans(scans)  # type: ignore[arg-type]
        n_scans = len(scans)  # type: ignore[arg-type]
        table.add_row(label, str(n_scans), str(len(plots)), f"{seconds:.3f}",
                      f"{n_scans / seconds:,.0f}", f"{len(plots) / seconds:,.0f}",
                      f"{end_s / seconds:,.0f}×")
    # Peer in the same run: only the truth look-ups an e-scan radar needs (one per scan).
    instants = np.arange(0.0, end_s, 0.5)
    seconds, _ = _best(lambda: [truth.states_at(float(t)) for t in instants])
    table.add_row("Truth.states_at only", str(instants.size), "—", f"{seconds:.3f}",
                  f"{instants.size / seconds:,.0f}", "—", f"{end_s / seconds:,.0f}×")
    Console().print(table)


if __name__ == "__main__":
    main()
