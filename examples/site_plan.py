"""Plan the two guns of ``baghdad-embassy`` from Python: positions inside the compound, headings.

``plan_site`` is what ``counterram plan`` runs: each trial is a small campaign on common seeds,
chosen by an Optuna study that resumes from ``OUT/study.journal``; the best site is written to
``OUT/best.yaml`` and confirmed against the original on fresh seeds with 95 % intervals.

Usage: ``python examples/site_plan.py [--budget 30] [--runs-per-trial 6] [--confirm-runs 40]
[--workers 2] [--out plan-baghdad]``. The defaults take about 20 minutes on two cores; try
``--budget 4 --runs-per-trial 1 --confirm-runs 2`` for a first look (a minute or two).
"""

from __future__ import annotations

import argparse

from counterram.planning import plan_site


def _interval(a: dict) -> str:
    return f"{a['estimate']:.3f} [{a['low']:.3f}, {a['high']:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--runs-per-trial", type=int, default=6)
    parser.add_argument("--confirm-runs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="plan-baghdad")
    args = parser.parse_args()
    result = plan_site(
        "baghdad-embassy",
        ["effectors.0.heading_deg=0..360", "effectors.1.heading_deg=0..360"],
        args.out,
        inside=["effectors.0.position=embassy", "effectors.1.position=embassy"],
        objectives=["leak_rate"],
        budget=args.budget,
        runs_per_trial=args.runs_per_trial,
        confirm_runs=args.confirm_runs,
        workers=args.workers,
    )
    s = result.summary
    print(f"best of {s['trials']} trials: trial {s['best']['trial']}, leak rate "
          f"{s['best']['leak_rate']:.3f} (original {s['original']['objectives']['leak_rate']:.3f}"
          " on the same seeds)")
    for path, value in result.best_values.items():
        print(f"  {path} = {value}")
    c = s.get("confirmation")
    if c:
        print(f"confirmation, {c['runs']} runs per site on fresh seeds (95 % Wilson):")
        print(f"  original {_interval(c['original']['leak_rate'])}")
        print(f"  best     {_interval(c['best']['leak_rate'])}")
        print("  intervals apart, best lower" if c["best_lower_apart"] else
              "  intervals overlap")
    print(f"wrote {result.out}/best.yaml and {result.out}/report.html")


if __name__ == "__main__":
    main()
