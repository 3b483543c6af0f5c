"""The warning trade-off: false alarms and needless shelter against warning time, per setting.

Runs a scenario over many seeds for each combination of the warner's issue threshold, release
threshold and release hold (``WarnerSettings``), and prints, per setting, over all seeds:

* zone warnings issued, and the false ones (no true round landed in the zone while it was
  warned), with their share;
* needless shelter, zone-seconds (the summed length of the false warnings) and person-seconds
  (each false warning's length × the people in its zone, from the scenario's populated areas);
* the false share's 95 % Wilson interval over the warnings;
* rounds landing in a warning zone and those warned before impact;
* warning ÷ available time (median, p10) of the rounds warned: available = impact − the round's
  first detection by any radar; a zone already under warning when the round was first seen
  counts from that detection, so a round never borrows another's warning.

    python benchmarks/warning_tradeoff.py [--scenario baghdad-embassy] [--seeds 32]
        [--threshold 0.01 0.05] [--release 0 0.001] [--hold 2]
        [--settle-sigma 200] [--settle-max 0 1 2] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np


def one_run(scenario: str, seed: int, threshold: float, release: float, hold: float,
            settle_sigma: float = 0.0, settle_max: float = 0.0) -> dict:
    """One seeded run with the given warner settings; its warning figures."""
    import numba

    numba.set_num_threads(1)
    from counterram.engine import EngineConfig
    from counterram.events import AllClear, WarningIssued
    from counterram.metrics.warning import zone_populations
    from counterram.scenario import load_scenario
    from counterram.scenario.resolved import resolve
    from counterram.sensors.roster import SensorRoster
    from counterram.sim import simulate
    from counterram.warning.warner import WarnerSettings
    from counterram.warning.zones import WarningZones

    sc = load_scenario(scenario)
    step = SensorRoster.from_scenario(resolve(sc)).default_step_s
    cfg = EngineConfig(step_s=step, warner=WarnerSettings(
        threshold=threshold, release_threshold=release, release_hold_s=hold,
        settle_sigma_m=settle_sigma, settle_max_s=settle_max))
    res = simulate(sc, seed=seed, config=cfg)
    truth = res.truth
    first = res.first_detection_s()
    intervals: dict[str, list[list[float]]] = {}
    for e in res.events:
        if isinstance(e, WarningIssued) and not e.update:
            intervals.setdefault(e.zone, []).append([e.time_s, math.inf])
        elif isinstance(e, AllClear) and intervals.get(e.zone):
            intervals[e.zone][-1][1] = e.time_s
    landed = ~np.isfinite(res.kill_time_s)
    end = res.end_time_s
    in_zone, warned, ratios = 0, 0, []
    true_intervals: set[tuple[str, int]] = set()
    for r in range(len(truth)):
        zones = truth.impact_zones[r]
        if not landed[r] or not zones:
            continue
        in_zone += 1
        t_imp = float(truth.impact_time_s[r])
        best = None
        for z in zones:
            for k, (issued, cleared) in enumerate(intervals.get(z, [])):
                if issued <= t_imp <= cleared + 1e-9:
                    true_intervals.add((z, k))
                    best = issued if best is None else min(best, issued)
        if best is None:
            continue
        warned += 1
        start = max(best, first[r]) if np.isfinite(first[r]) else best
        available = t_imp - first[r]
        if np.isfinite(available) and available > 0:
            ratios.append((t_imp - start) / available)
    issued = sum(len(v) for v in intervals.values())
    false = [(z, k) for z, v in intervals.items() for k in range(len(v))
             if (z, k) not in true_intervals]
    shelter = sum(min(intervals[z][k][1], end) - intervals[z][k][0] for z, k in false)
    world = resolve(sc)
    zones = WarningZones.from_scenario(world)
    people = zone_populations(zones, world.populated)
    person_s = sum(people[zones.position(z)] * (min(intervals[z][k][1], end) - intervals[z][k][0])
                   for z, k in false)
    return {"issued": issued, "false": len(false), "shelter_zone_s": shelter,
            "shelter_person_s": person_s,
            "in_zone": in_zone, "warned": warned, "ratios": ratios}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return None
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(mid - half, 4), round(mid + half, 4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="baghdad-embassy")
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--first-seed", type=int, default=2026)
    ap.add_argument("--threshold", type=float, nargs="+", default=[0.01])
    ap.add_argument("--release", type=float, nargs="+", default=[0.0, 0.001])
    ap.add_argument("--hold", type=float, nargs="+", default=[2.0])
    ap.add_argument("--settle-sigma", type=float, nargs="+", default=[0.0],
                    help="WarnerSettings.settle_sigma_m values (m)")
    ap.add_argument("--settle-max", type=float, nargs="+", default=[0.0],
                    help="WarnerSettings.settle_max_s values (s; 0: no settling)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    settings = [s for s in itertools.product(a.threshold, a.release, a.hold, a.settle_sigma,
                                             a.settle_max) if s[1] < s[0]]
    jobs = [(a.scenario, a.first_seed + k, *s) for s in settings for k in range(a.seeds)]
    with ProcessPoolExecutor(a.workers) as pool:
        runs = list(pool.map(one_run, *zip(*jobs, strict=True)))
    rows = []
    for i, (thr, rel, hold, sig, smax) in enumerate(settings):
        rs = runs[i * a.seeds:(i + 1) * a.seeds]
        ratios = [x for r in rs for x in r["ratios"]]
        issued = sum(r["issued"] for r in rs)
        false = sum(r["false"] for r in rs)
        rows.append({
            "threshold": thr, "release_threshold": rel, "release_hold_s": hold,
            "settle_sigma_m": sig, "settle_max_s": smax,
            "seeds": a.seeds, "warnings": issued, "false_warnings": false,
            "false_share": false / issued if issued else None,
            "false_share_ci95": wilson(false, issued),
            "needless_shelter_zone_s": round(sum(r["shelter_zone_s"] for r in rs), 1),
            "needless_shelter_person_s": round(sum(r["shelter_person_s"] for r in rs)),
            "rounds_in_zones": sum(r["in_zone"] for r in rs),
            "rounds_warned": sum(r["warned"] for r in rs),
            "warning_over_available_median": float(np.median(ratios)) if ratios else None,
            "warning_over_available_p10": float(np.percentile(ratios, 10)) if ratios else None,
        })
    if a.json:
        print(json.dumps({"scenario": a.scenario, "rows": rows}, indent=1))
        return
    print(f"{a.scenario}, {a.seeds} seeds from {a.first_seed}")
    print(f"{'issue':>7}{'release':>9}{'hold s':>7}{'settle':>11}{'warnings':>10}"
          f"{'false':>7}{'share':>7}"
          f"{'95 % CI':>14}{'shelter zone-s':>16}{'person-s':>12}{'in zone':>9}{'warned':>8}"
          f"{'w/a p50':>9}{'w/a p10':>9}")
    for r in rows:
        settle = (f"{r['settle_sigma_m']:g}m/{r['settle_max_s']:g}s" if r['settle_max_s']
                  else "off")
        print(f"{r['threshold']:>7g}{r['release_threshold']:>9g}{r['release_hold_s']:>7g}"
              f"{settle:>11}"
              f"{r['warnings']:>10}{r['false_warnings']:>7}{r['false_share']:>7.0%}"
              f"{_ci(r['false_share_ci95']):>14}"
              f"{r['needless_shelter_zone_s']:>16.0f}{r['needless_shelter_person_s']:>12.3g}"
              f"{r['rounds_in_zones']:>9}"
              f"{r['rounds_warned']:>8}{r['warning_over_available_median']:>9.3f}"
              f"{r['warning_over_available_p10']:>9.3f}")


def _ci(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"{ci[0]:.0%}-{ci[1]:.0%}"


if __name__ == "__main__":
    main()
