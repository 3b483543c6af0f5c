"""The ``truth`` command: build a scenario's truth (every round's launch, flight and impact) and
write it to a Parquet or JSON Lines file, with a summary of where the rounds land.

A thin layer over :func:`counterram.world.build_truth`; a bad scenario ends with every problem
printed to stderr (``FILE:LINE: FIELD: message``) and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from counterram.commands.out_folder import out_file_problem
from counterram.commands.scenario import EXIT_INVALID, _fail
from counterram.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario
from counterram.world import Truth, build_truth, write_truth

__all__ = ["summarize", "truth"]

_EXTENSIONS = (".parquet", ".pq", ".jsonl", ".ndjson")


def _bad_input(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=EXIT_INVALID)


def summarize(truth: Truth) -> dict[str, Any]:
    """Where the rounds land: counts per munition and per asset, zone and populated area."""
    in_asset = truth.impact_in_asset.any(axis=1)
    in_zone = truth.impact_in_zone.any(axis=1)
    in_pop = truth.impact_in_populated.any(axis=1)
    open_ground = truth.open_ground
    per_munition = {}
    for name in dict.fromkeys(truth.munition.tolist()):
        m = truth.munition == name
        per_munition[name] = {
            "rounds": int(m.sum()),
            "on_assets": int((m & in_asset).sum()),
            "in_warning_zones": int((m & in_zone).sum()),
            "in_populated_areas": int((m & in_pop).sum()),
            "open_ground": int((m & open_ground).sum()),
        }
    return {
        "scenario": truth.scenario,
        "seed": truth.seed,
        "rounds": len(truth),
        "first_launch_s": float(truth.launch_time_s.min()) if len(truth) else None,
        "last_impact_s": float(truth.impact_time_s.max()) if len(truth) else None,
        "per_munition": per_munition,
        "assets": dict(zip(truth.asset_names,
                           truth.impact_in_asset.sum(axis=0).tolist(), strict=True)),
        "warning_zones": dict(zip(truth.zone_names,
                                  truth.impact_in_zone.sum(axis=0).tolist(), strict=True)),
        "populated_areas": dict(zip(truth.populated_names,
                                    truth.impact_in_populated.sum(axis=0).tolist(), strict=True)),
        "open_ground": int(open_ground.sum()),
    }


def truth(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a scenario file.")
    ] = DEFAULT_SCENARIO,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Output file: .parquet (or .pq) or .jsonl (or .ndjson)."),
    ] = Path("truth.parquet"),
    seed: Annotated[
        int | None, typer.Option(help="Random seed (default: the scenario's own seed).")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")
    ] = False,
) -> None:
    """Fly every round of a scenario and write the truth: launches, trajectories, impacts."""
    problem = out_file_problem(out)
    if problem:
        _bad_input(problem)
    if out.suffix.lower() not in _EXTENSIONS:
        _bad_input(f"--out: unknown file type {out.suffix or '(none)'!r} for {str(out)!r} "
                   f"(allowed {', '.join(_EXTENSIONS)})")
    if seed is not None and seed < 0:
        _bad_input(f"--seed must be a non-negative integer, got {seed}")
    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        _fail(exc.problems)
    start = time.perf_counter()
    result = build_truth(sc, seed=seed)
    elapsed = time.perf_counter() - start
    try:
        write_truth(result, out)
    except OSError as exc:
        _bad_input(f"--out: cannot write {str(out)!r}: {exc.strerror or exc}")
    summary = summarize(result)
    summary["file"] = str(out)
    summary["build_time_s"] = round(elapsed, 3)
    if json_output:
        typer.echo(json.dumps(summary, indent=2))
        return
    _print_summary(summary)


def _print_summary(s: dict[str, Any]) -> None:
    console = Console()
    title = f"{s['scenario']} (seed {s['seed']}): {s['rounds']} rounds"
    table = Table(title=title)
    for col, justify in (("munition", "left"), ("rounds", "right"), ("on assets", "right"),
                         ("in warning zones", "right"), ("in populated areas", "right"),
                         ("open ground", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, c in s["per_munition"].items():
        table.add_row(name, str(c["rounds"]), str(c["on_assets"]), str(c["in_warning_zones"]),
                      str(c["in_populated_areas"]), str(c["open_ground"]))
    console.print(table)
    where = Table(title="Impacts by area (a round can lie in several)")
    where.add_column("area")
    where.add_column("kind")
    where.add_column("rounds", justify="right")
    for kind, key in (("asset", "assets"), ("warning zone", "warning_zones"),
                      ("populated", "populated_areas")):
        for name, count in s[key].items():
            where.add_row(name, kind, str(count))
    where.add_row("open ground", "none of the above", str(s["open_ground"]))
    console.print(where)
    span = ""
    if s["rounds"]:
        span = (f"; launches from {s['first_launch_s']:.1f} s, "
                f"last impact {s['last_impact_s']:.1f} s")
    console.print(f"wrote {s['file']} in {s['build_time_s']:.2f} s{span}", highlight=False)
