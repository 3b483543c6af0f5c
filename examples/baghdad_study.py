"""Many-seed study of the default scenario: warning, location and engagement results.

Runs ``baghdad-embassy`` for a range of seeds (each seed redraws launch times, launch points,
delivery errors, radar noise and burst outcomes) and prints the tables quoted in docs/warning.md
and docs/engagement.md:

* warning: for every round that landed in a warning zone, whether it was warned before impact,
  the warning time (impact − the zone's warning, or − the round's first detection if the zone was
  already under warning from an earlier round), the physically available time (impact − first
  radar detection) and their ratio; false warnings; rounds with too few detections;
* location: point-of-origin error (CEP in m and as % of range) of the last origin estimate of
  each matched track;
* engagement: engaged share, success ratio (intercepts ÷ engagements), leak rate onto defended
  assets, rounds fired per kill, expected casualties — and their sweep over gun dispersion.

Usage: ``python examples/baghdad_study.py [--seeds 20] [--sweep-seeds 8] [--workers 2]``.
It uses only the public API: ``simulate``, ``compute_summary``, ``match_tracks``.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from counterram.events import AllClear, OriginEstimated, TrackEvent, WarningIssued
from counterram.prediction.ellipse import circular_error_probable
from counterram.scenario import load_scenario
from counterram.sim import simulate
from counterram.summary import compute_summary, match_tracks

SCENARIO = "baghdad-embassy"


def _with_dispersion(mrad: float):
    scenario = load_scenario(SCENARIO)
    guns = [g.model_copy(update={"dispersion_mrad": mrad}) for g in scenario.effectors]
    return scenario.model_copy(update={"effectors": guns})


def run_one(args: tuple[int, float | None]) -> dict:
    """One simulated run → the per-round and per-run numbers the tables need."""
    seed, dispersion = args
    scenario = load_scenario(SCENARIO) if dispersion is None else _with_dispersion(dispersion)
    result = simulate(scenario, seed=seed)
    truth, events = result.truth, result.events
    summary = compute_summary(
        events,
        truth,
        result.scenario,
        seed=seed,
        detections=result.detections,
        latency=result.engine.latency,
    )
    # first detection of each round by any radar
    first_det = result.first_detection_s()
    # warning intervals per zone
    intervals: dict[str, list[list[float]]] = {}
    for e in events:
        if isinstance(e, WarningIssued) and not e.update:
            intervals.setdefault(e.zone, []).append([e.time_s, np.inf])
        elif isinstance(e, AllClear) and intervals.get(e.zone):
            intervals[e.zone][-1][1] = e.time_s
    rounds = []
    landed = ~np.isfinite(result.kill_time_s)
    for r in range(len(truth)):
        zones = truth.impact_zones[r]
        if not landed[r] or not zones:
            continue
        t_imp = float(truth.impact_time_s[r])
        best = None
        for z in zones:
            for issued, cleared in intervals.get(z, []):
                if issued <= t_imp <= cleared + 1e-9:
                    best = issued if best is None else min(best, issued)
        available = t_imp - first_det[r]
        # a zone already under warning when this round was first seen counts from that moment:
        # a round's warning time is never more than the time it was visible
        start = best if best is None or not np.isfinite(first_det[r]) else max(best, first_det[r])
        rounds.append(
            {
                "detections": int(result.detections[r]),
                "warned": best is not None,
                "warning_s": None if best is None else t_imp - start,
                "available_s": float(available) if np.isfinite(available) else None,
            }
        )
    # origin errors of matched tracks (last estimate of each track)
    tracks = [e for e in events if isinstance(e, TrackEvent)]
    match = match_tracks(truth, tracks, result.kill_time_s)
    last_origin = {}
    for e in events:
        if isinstance(e, OriginEstimated):
            last_origin[e.track_id] = e
    origin = []
    for tid, e in last_origin.items():
        if tid in match:
            r = match[tid]
            true_en = truth.launch_enu[r, :2]
            err = np.asarray(e.origin_en) - true_en
            rng = float(np.hypot(*(truth.impact_enu[r, :2] - true_en)))
            origin.append((float(err[0]), float(err[1]), rng))
    return {
        "seed": seed,
        "dispersion": dispersion,
        "summary": summary,
        "rounds": rounds,
        "origin": origin,
        "wall_s": result.wall_time_s,
    }


def warning_table(runs: list[dict]) -> None:
    rounds = [r for run in runs for r in run["rounds"]]
    seen = [r for r in rounds if r["detections"] >= 4]
    warned = [r for r in seen if r["warned"] and r["warning_s"] > 0]
    ratios = [r["warning_s"] / r["available_s"] for r in warned if r["available_s"]]
    few = [r for r in rounds if r["detections"] < 4]
    false = sum(run["summary"]["false_warnings"] for run in runs)
    issued = sum(run["summary"]["warnings_issued"] for run in runs)
    times = [r["warning_s"] for r in warned]
    print(f"runs: {len(runs)}, rounds landing in warning zones: {len(rounds)}")
    print(f"  with >= 4 detections: {len(seen)}, warned before impact: {len(warned)}")
    print(
        f"  warning time s: median {np.median(times):.1f}, p10 {np.percentile(times, 10):.1f},"
        f" min {np.min(times):.1f}"
    )
    print(
        f"  warning / available time: median {np.median(ratios):.2f},"
        f" p10 {np.percentile(ratios, 10):.2f}, min {np.min(ratios):.2f}"
    )
    print(
        f"  rounds with < 4 detections: {len(few)}, of them warned: "
        f"{sum(1 for r in few if r['warned'])}"
    )
    print(f"  warnings issued: {issued}, false warnings: {false} ({false / max(issued, 1):.0%})")


def origin_table(runs: list[dict]) -> None:
    rows = np.array([o for run in runs for o in run["origin"]])
    if rows.size == 0:
        print("no origin estimates")
        return
    cep = circular_error_probable(rows[:, :2])
    pct = np.median(100 * np.hypot(rows[:, 0], rows[:, 1]) / rows[:, 2])
    print(
        f"point of origin: {len(rows)} tracks, CEP {cep:.0f} m, median error {pct:.2f} % of "
        f"range (LCMR anchor ~100 m at ~7 km = 1.4 %)"
    )


def engagement_table(runs: list[dict], label: str) -> None:
    s = [run["summary"] for run in runs]
    launched = sum(x["rounds_launched"] for x in s)
    engagements = sum(x["engagements"] for x in s)
    intercepts = sum(x["intercepts"] for x in s)
    fired = sum(x["rounds_fired"] for x in s)
    leak = sum(x["leakers_on_assets"] for x in s)
    on_assets = sum(sum(1 for r in run["rounds"] if r is not None) for run in runs)
    killed = sum(x.get("rounds_killed", 0) for x in s)
    casualties = np.mean([x["expected_casualties"] for x in s])
    defence = np.mean([x["expected_casualties_breakdown"]["defence"] for x in s])
    per_kill = fired / intercepts if intercepts else float("nan")
    print(
        f"{label:>14} | launched {launched:4d} | engagements {engagements:4d} | intercepts "
        f"{intercepts:4d} ({intercepts / max(engagements, 1):.0%} of engagements, "
        f"{killed / max(launched, 1):.0%} of rounds) | leakers on assets {leak:4d} | "
        f"rounds/kill {per_kill:6.0f} | E[casualties]/run {casualties:6.2f} "
        f"(defence {defence:.3f})"
    )
    _ = on_assets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--sweep-seeds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-sweep", action="store_true", help="skip the dispersion sweep")
    args = parser.parse_args()
    jobs = [(seed, None) for seed in range(args.seeds)]
    sweep = [(seed, d) for d in (1.0, 2.0, 3.0, 4.0, 5.0) for seed in range(args.sweep_seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        runs = list(pool.map(run_one, jobs))
        print(f"mean run time {np.mean([r['wall_s'] for r in runs]):.1f} s")
        warning_table(runs)
        origin_table(runs)
        print("engagement (default dispersion):")
        engagement_table(runs, "default")
        if args.no_sweep:
            return
        swept = list(pool.map(run_one, sweep))
    print("dispersion sweep:")
    for d in (1.0, 2.0, 3.0, 4.0, 5.0):
        engagement_table([r for r in swept if r["dispersion"] == d], f"{d:.0f} mrad")


if __name__ == "__main__":
    main()
