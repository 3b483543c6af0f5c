"""The ``plan`` command: search gun placements for the lowest leak rate (and collateral).

A thin layer over :func:`counterram.planning.plan_site`: check the options, the search space
and the objectives before any run, show progress, and turn every foreseeable failure (bad
scenario, bad ``--vary`` or ``--inside``, a folder holding another plan, an unreachable Dask
scheduler, Ctrl-C) into a one-paragraph message and exit code 2 (130 for Ctrl-C), never a
traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from counterram.commands.campaign import _bad_input
from counterram.commands.scenario import EXIT_INVALID, _fail
from counterram.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario

__all__ = ["plan"]


def plan(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a scenario file.")
    ] = DEFAULT_SCENARIO,
    vary: Annotated[
        list[str] | None,
        typer.Option(help="PATH=LO..HI or PATH=a,b,c: a scenario field to vary (repeatable), "
                          "e.g. effectors.1.heading_deg=0..360; bearings wrap modulo 360."),
    ] = None,
    inside: Annotated[
        list[str] | None,
        typer.Option(help="PATH=AREA: keep a position inside the defended asset, warning zone "
                          "or populated area AREA (repeatable), e.g. "
                          "effectors.0.position=embassy-compound; its east_m/north_m vary "
                          "over the area unless --vary gives them."),
    ] = None,
    objective: Annotated[
        list[str] | None,
        typer.Option(help="What to minimise (repeatable): leak_rate, expected_casualties, "
                          "rounds_fired. Several: a Pareto front."),
    ] = None,
    budget: Annotated[int, typer.Option(help="Trials in all (a rerun with more continues).")] = 30,
    runs_per_trial: Annotated[
        int, typer.Option("--runs-per-trial", "-r", help="Runs per trial, on common seeds.")
    ] = 8,
    confirm_runs: Annotated[
        int, typer.Option(help="Runs of the best and the original site on fresh seeds (0: none).")
    ] = 32,
    seed: Annotated[
        int | None, typer.Option(help="Root seed of the trials (default: the scenario's).")
    ] = None,
    confirm_seed: Annotated[
        int | None, typer.Option(help="Root seed of the confirmation (default: seed + 1).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-j", help="Worker processes (default: CPUs).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler of a running cluster, tcp://HOST:PORT.")
    ] = None,
    dask_local: Annotated[
        bool, typer.Option("--dask-local", help="Run on a local Dask cluster (127.0.0.1).")
    ] = False,
    out_text: Annotated[
        str, typer.Option("--out", "-o", help="Folder for the plan's files (created; rerunning "
                          "into it resumes the plan).")
    ] = "counterram-plan",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
) -> None:
    """Site planning: search the varied fields for the lowest objectives (Optuna), each trial a
    small campaign on common seeds, resumable; writes best.yaml, the Pareto front, a
    confirmation on fresh seeds and report.html."""
    from counterram.campaign import StoreMismatchError
    from counterram.planning import PlanInterruptedError, PlanSpaceError, SearchSpace, plan_site
    from counterram.planning.objectives import check_objectives

    for name, value, least in (("--budget", budget, 1), ("--runs-per-trial", runs_per_trial, 1),
                               ("--confirm-runs", confirm_runs, 0)):
        if value < least:
            _bad_input(f"{name} must be at least {least}, got {value}")
    for name, value in (("--seed", seed), ("--confirm-seed", confirm_seed)):
        if value is not None and value < 0:
            _bad_input(f"{name} must be a non-negative integer, got {value}")
    if workers is not None and workers < 1:
        _bad_input(f"--workers must be at least 1, got {workers}")
    if scheduler is not None and dask_local:
        _bad_input("--scheduler and --dask-local exclude each other; give one")
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        _bad_input(f"--scheduler must look like tcp://HOST:PORT, got {scheduler!r}")
    if not out_text.strip() or "\x00" in out_text:
        _bad_input("--out: an empty path or one with a NUL byte; name the plan's folder")
    out = Path(out_text)
    if out.exists() and not out.is_dir():
        _bad_input(f"--out: {str(out)!r} exists and is not a folder")
    try:
        sc = load_scenario(scenario, runnable=True)
    except ScenarioError as exc:
        _fail(exc.problems)
    objectives = list(objective or ["leak_rate"])
    problems = check_objectives(objectives)
    try:
        SearchSpace.build(sc, vary or [], inside or [])  # every problem before anything runs
    except PlanSpaceError as exc:
        problems += list(exc.problems)
    if problems:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            "[bold red]error:[/] bad plan, nothing was run:\n  " + "\n  ".join(problems))
        raise typer.Exit(code=EXIT_INVALID)

    console = Console(stderr=True, highlight=False)

    def progress(stage: str, done: int, total: int) -> None:
        if not quiet:
            console.print(f"{stage}: {done}/{total}")

    try:
        result = plan_site(
            sc, vary or [], out, inside=inside or [], objectives=objectives, budget=budget,
            runs_per_trial=runs_per_trial, root_seed=seed, workers=workers,
            scheduler=scheduler, dask_local=dask_local, confirm_runs=confirm_runs,
            confirm_seed=confirm_seed, progress=progress,
        )
    except KeyboardInterrupt:
        _bad_input(f"interrupted; finished runs and trials are kept in {out}, rerun the same "
                   "command to resume", code=130)
    except (StoreMismatchError, PlanInterruptedError, PlanSpaceError) as exc:
        _bad_input(str(exc))
    except OSError as exc:
        what = f"cannot reach the Dask scheduler {scheduler}" if scheduler else "file error"
        _bad_input(f"{what}: {exc.strerror or exc}")
    except TimeoutError as exc:
        _bad_input(f"cannot reach the Dask scheduler {scheduler}: {exc}")
    except Exception as exc:  # a failed run: say what and keep what finished
        _bad_input(f"plan stopped: {type(exc).__name__}: {exc}; finished runs are kept in "
                   f"{out}, rerun the same command to resume")
    if not quiet:
        _print(result.summary, out)


def _cell(a: dict | None) -> str:
    if not a or a.get("estimate", a.get("median")) is None:
        return "—"
    v = a.get("estimate", a.get("median"))
    return f"{v:.3g} [{a['low']:.3g}, {a['high']:.3g}]"


def _print(summary: dict, out: Path) -> None:
    console = Console()
    best = summary["best"]
    table = Table(title=f"{summary['scenario']}: best of {summary['trials']} trials "
                        f"(trial {best['trial']}, plan seeds)")
    table.add_column("objective")
    table.add_column("original", justify="right")
    table.add_column("best", justify="right")
    for o in summary["objectives"]:
        table.add_row(o, f"{summary['original']['objectives'][o]:.4g}", f"{best[o]:.4g}")
    console.print(table)
    c = summary.get("confirmation")
    if c:
        conf = Table(title=f"confirmation: {c['runs']} runs per site on fresh seeds "
                           f"(root seed {c['root_seed']}, 95 % intervals)")
        conf.add_column("site")
        conf.add_column("leak rate onto assets", justify="right")
        conf.add_column("expected casualties (median)", justify="right")
        for label in ("original", "best"):
            conf.add_row(label, _cell(c[label]["leak_rate"]),
                         _cell(c[label]["expected_casualties"]))
        console.print(conf)
        console.print("intervals apart, best lower" if c["best_lower_apart"] else
                      "intervals overlap: not shown better on fresh seeds")
    console.print(f"wrote {out}/: best.yaml, summary.json, trials.csv, pareto.json, "
                  "report.html, figures/", highlight=False)
