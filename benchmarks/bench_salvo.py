"""The tracker on a parallel sheaf: a 40-round salvo from one launcher, every round aimed at one
point, scored by which round each confirmed track's plots came from.

Rounds fired 0.5 s apart from one launcher at one aim point fly the same path, staggered in
time: equally spaced on a line and flying alike, the configuration where a "diagonal" track
(round a at one look, round b at the next, round c at the one after) is a consistent ballistic
track (docs/tracking.md, "Parallel sheaf"). The built-in ``grad-salvo`` scenario (122 mm
rockets from 16.5–18.5 km, a weapon-locating radar and an LCMR) is flown with its aim area
replaced by its centre, for each seed; the search radars' plots go to the tracker in order of
report time, one chunk a second, as in the engine.

Scores per run, from the plots' truth labels: the rounds with at least 4 plots (the ones a
3-of-4 tracker can confirm), the confirmed tracks, each credited to the round that gave most
of its plots, the rounds with exactly one credited track, and the false confirmed tracks —
those whose plots are less than half from any one round (a track stitched from several
rounds, or from clutter).

Plain script: ``python benchmarks/bench_salvo.py [--seeds S] [--config default name=value,…]
[--json]``; ``--config`` compares ``TrackerConfig`` settings in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter, defaultdict
from dataclasses import replace

import numpy as np

from counterram.scenario import load_scenario
from counterram.scenario.resolved import resolve
from counterram.sensors.plots import PlotBatch
from counterram.sensors.radar import radars_from_scenario, simulate_plots
from counterram.tracking.tracker import Tracker, TrackerConfig
from counterram.world import build_truth


def sheaf_plots(seed: int) -> tuple[object, list, PlotBatch, np.ndarray]:
    """(resolved world, search radars, plots in report-time order, truth label per plot) of
    ``grad-salvo`` aimed at one point, flown with ``seed``."""
    base = load_scenario("grad-salvo")
    threat = base.threats[0]
    area = threat.aim_area
    centre = np.mean([[p.east_m, p.north_m] for p in area.polygon], axis=0)
    point = type(area.polygon[0])(east_m=float(centre[0]), north_m=float(centre[1]))
    threat = threat.model_copy(update={"aim_area": None, "aim_point": point})
    scenario = base.model_copy(update={"seed": seed, "threats": [threat]})
    world = resolve(scenario)
    truth = build_truth(scenario)
    radars = [r for r in radars_from_scenario(scenario) if not r.cued]
    scans = simulate_plots(truth, radars, seed=seed, end_s=scenario.duration_s)
    plots = PlotBatch.concatenate([s.plots for s in scans])
    labels = np.concatenate([s.truth.round_id for s in scans])
    order = np.lexsort((plots.time_s, plots.report_time_s))
    return world, radars, plots.take(order), labels[order]


def score(seed: int, config: TrackerConfig, data: tuple) -> dict:
    """Track one run's plots and score its confirmed tracks against the plots' rounds."""
    world, radars, plots, labels = data
    config = replace(
        config, sensor_revisit_s={r.sensor_id: r.config.revisit_s for r in radars}
    )
    tracker = Tracker([r.info for r in radars], config, atmosphere=world.atmosphere(),
                      wind=world.wind())
    confirmed: set[int] = set()
    used: dict[int, list[int]] = defaultdict(list)
    edges = np.arange(0.0, float(plots.report_time_s.max()) + 2.0, 1.0)
    cuts = np.searchsorted(plots.report_time_s, edges[1:], side="left")
    start = 0
    t0 = time.perf_counter()
    for end_s, cut in zip(edges[1:], cuts, strict=True):
        part = np.arange(start, cut)
        start = cut
        out = tracker.process(plots.take(part), now=float(end_s))
        confirmed |= {e.track_id for e in out.events if e.kind == "confirmed"}
        for tid, lab in zip(out.plot_track_id, labels[part], strict=True):
            if tid >= 0:
                used[int(tid)].append(int(lab))
    seconds = time.perf_counter() - t0
    rounds, counts = np.unique(labels[labels >= 0], return_counts=True)
    eligible = set(rounds[counts >= 4].tolist())
    credited: Counter[int] = Counter()
    false = 0
    for tid in confirmed:
        (lab, n), = Counter(used[tid]).most_common(1)
        if lab < 0 or n < 0.5 * len(used[tid]):
            false += 1
        else:
            credited[lab] += 1
    return {
        "seed": seed,
        "rounds": len(eligible),
        "confirmed_tracks": len(confirmed),
        "rounds_with_one_track": sum(1 for r in eligible if credited[r] == 1),
        "rounds_without_track": sum(1 for r in eligible if credited[r] == 0),
        "rounds_with_several": sum(1 for r in eligible if credited[r] > 1),
        "false_tracks": false,
        "tracker_s": seconds,
    }


def _config(text: str) -> TrackerConfig:
    """A ``TrackerConfig`` from ``default`` or ``name=value,name=value`` (numbers)."""
    if text == "default":
        return TrackerConfig()
    fields = set(TrackerConfig.__dataclass_fields__)
    changes = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        if name not in fields or not value:
            raise SystemExit(f"--config: {item!r} is not name=value with name one of the "
                             f"TrackerConfig fields ({', '.join(sorted(fields))})")
        changes[name] = type(getattr(TrackerConfig(), name))(float(value))
    return replace(TrackerConfig(), **changes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--config", nargs="+", default=["default"],
                    help="TrackerConfig variants to compare: 'default' or 'name=value,...'")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    variants = [(text, _config(text)) for text in args.config]
    runs: dict[str, list[dict]] = {label: [] for label, _ in variants}
    for seed in range(args.seeds):
        data = sheaf_plots(seed)
        for label, config in variants:
            runs[label].append(score(seed, config, data))
    rows = []
    for label, _ in variants:
        r = runs[label]
        rows.append({
            "config": label, "seeds": args.seeds,
            **{k: sum(x[k] for x in r) for k in (
                "rounds", "confirmed_tracks", "rounds_with_one_track", "rounds_without_track",
                "rounds_with_several", "false_tracks")},
            "tracks_per_run": [x["confirmed_tracks"] for x in r],
            "tracker_s": float(np.median([x["tracker_s"] for x in r])),
            "runs": r,
        })
    if args.json:
        print(json.dumps({"machine": platform.platform(), "rows": rows}, indent=1))
        return
    width = max(len(r["config"]) for r in rows)
    print(f"{'config':<{width}} {'seeds':>5} {'rounds':>6} {'tracks':>6} {'one':>5} "
          f"{'none':>5} {'>1':>5} {'false':>5} {'per run':>9} {'s/run':>6}")
    for r in rows:
        span = f"{min(r['tracks_per_run'])}–{max(r['tracks_per_run'])}"
        print(f"{r['config']:<{width}} {r['seeds']:>5} {r['rounds']:>6} "
              f"{r['confirmed_tracks']:>6} {r['rounds_with_one_track']:>5} "
              f"{r['rounds_without_track']:>5} {r['rounds_with_several']:>5} "
              f"{r['false_tracks']:>5} {span:>9} {r['tracker_s']:>6.2f}")


if __name__ == "__main__":
    main()
