"""The ``campaign`` command: many seeded runs of a scenario over a parameter sweep.

A thin layer over :func:`counterram.campaign.run_campaign`: parse and check the options and
the sweep (before any run), show a progress bar, and turn every foreseeable failure (bad
scenario, bad sweep, a folder holding another campaign, an unreachable Dask scheduler, Ctrl-C)
into a one-paragraph message and exit code 2 (130 for Ctrl-C), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from counterram.commands.scenario import EXIT_INVALID, _fail
from counterram.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario

__all__ = ["campaign"]


def _bad_input(message: str, code: int = EXIT_INVALID) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=code)


def campaign(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a scenario file.")
    ] = DEFAULT_SCENARIO,
    runs: Annotated[int, typer.Option("--runs", "-n", help="Replications per sweep point.")] = 20,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's own seed).")
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
    sweep: Annotated[
        list[str] | None,
        typer.Option(help="PATH=v1,v2,... a scenario field to sweep (repeatable), e.g. "
                          "effectors.0.dispersion_mrad=1,2,4; * for every list item, "
                          "e.g. effectors.*.burst_rounds=25,100."),
    ] = None,
    out_text: Annotated[
        str, typer.Option("--out", "-o", help="Folder for the campaign's files (created; "
                          "rerunning into it resumes the campaign).")
    ] = "counterram-campaign",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Monte Carlo campaign: N seeded runs per sweep point, in parallel and resumable; writes
    runs.parquet, summary.json (95 % intervals) and report.html."""
    from counterram.campaign import (
        CampaignInterruptedError,
        StoreMismatchError,
        SweepError,
        parse_sweep,
        run_campaign,
    )

    if runs < 1:
        _bad_input(f"--runs must be at least 1, got {runs}")
    if seed is not None and seed < 0:
        _bad_input(f"--seed must be a non-negative integer, got {seed}")
    if workers is not None and workers < 1:
        _bad_input(f"--workers must be at least 1, got {workers}")
    if scheduler is not None and dask_local:
        _bad_input("--scheduler and --dask-local exclude each other; give one")
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        _bad_input(f"--scheduler must look like tcp://HOST:PORT, got {scheduler!r}")
    if scheduler is not None or dask_local:
        try:
            import distributed  # noqa: F401
        except ImportError:
            _bad_input("Dask is not installed: pip install 'dask[distributed]'")
    if not out_text.strip() or "\x00" in out_text:
        _bad_input("--out: an empty path or one with a NUL byte; name the campaign's folder "
                   "(rerunning into it resumes the campaign)")
    out = Path(out_text)
    if out.exists() and not out.is_dir():
        _bad_input(f"--out: {str(out)!r} exists and is not a folder")
    try:
        sc = load_scenario(scenario, runnable=True)
    except ScenarioError as exc:
        _fail(exc.problems)
    try:
        axes = [parse_sweep(s) for s in sweep or ()]
        from counterram.campaign import build_points

        build_points(sc, axes)  # every problem before anything is written
    except SweepError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            "[bold red]error:[/] bad sweep, nothing was run:\n  " + "\n  ".join(exc.problems))
        raise typer.Exit(code=EXIT_INVALID) from None

    try:
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("runs"), TimeElapsedColumn(), TimeRemainingColumn(),
            disable=quiet, transient=True,
        ) as bar:
            task = bar.add_task(sc.name, total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = run_campaign(
                sc, runs, out, root_seed=seed, sweeps=axes, workers=workers,
                scheduler=scheduler, dask_local=dask_local, progress=progress,
            )
    except KeyboardInterrupt:
        _bad_input(f"interrupted; finished runs are kept in {out}/parts, rerun the same "
                   "command to resume", code=130)
    except (StoreMismatchError, CampaignInterruptedError) as exc:
        _bad_input(str(exc))
    except OSError as exc:
        what = f"cannot reach the Dask scheduler {scheduler}" if scheduler else "file error"
        _bad_input(f"{what}: {exc.strerror or exc}")
    except TimeoutError as exc:
        _bad_input(f"cannot reach the Dask scheduler {scheduler}: {exc}")
    except Exception as exc:  # a failed run: say what and keep the finished parts
        _bad_input(f"campaign stopped: {type(exc).__name__}: {exc}; finished runs are kept in "
                   f"{out}/parts, rerun the same command to resume")
    if not quiet:
        _print(summary, out)


def _cell(a: dict) -> str:
    if a.get("estimate", a.get("median")) is None:
        return "—"
    v = a.get("estimate", a.get("median"))
    return f"{v:.3g} [{a['low']:.3g}, {a['high']:.3g}]"


def _print(summary: dict, out: Path) -> None:
    table = Table(title=f"{summary['scenario']}: {summary['runs_per_point']} runs per point "
                        f"(95 % intervals)")
    for p in summary["sweep_paths"]:
        table.add_column(p)
    for name in ("leak rate", "intercept success", "warned in time", "warning time s (median)"):
        table.add_column(name, justify="right")
    for pt in summary["points"]:
        table.add_row(*[str(pt["sweep"][p]) for p in summary["sweep_paths"]],
                      _cell(pt["leak_rate"]), _cell(pt["intercept_success"]),
                      _cell(pt["warned_in_time_share"]), _cell(pt["warning_time_s_median"]))
    console = Console()
    console.print(table)
    console.print(f"wrote {out}/: runs.parquet, summary.json, report.html", highlight=False)
