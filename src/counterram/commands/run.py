"""The ``run`` command: simulate a scenario with the engine in the loop and write the run's record.

A thin layer over the run driver (:class:`counterram.driver.RunDriver`) with the run folder's
sinks (:mod:`counterram.sinks.files`). The output folder gets ``events.jsonl`` (written and
flushed step by step), ``plots.jsonl`` (the plots the engine received, replayable with
``counterram engine``), ``truth.parquet``, ``summary.json`` and, when the report module is
installed, ``report.html``. ``--tak URL`` also sends the run to a TAK server or client as
Cursor on Target (:mod:`counterram.commands.tak`, docs/cot.md). A bad scenario ends
with every problem printed (``FILE:LINE: FIELD: message``) and exit code 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from counterram.commands.out_folder import out_folder_problem
from counterram.commands.scenario import EXIT_INVALID, _fail
from counterram.commands.tak import TakOption, cot_sink, print_tak
from counterram.driver import RunDriver
from counterram.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario
from counterram.sinks import Sink, make_sinks, sink_names

__all__ = ["run", "run_to_folder"]


def _bad_input(message: str) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=EXIT_INVALID)


def run_to_folder(
    scenario: Any,
    out: Path,
    *,
    seed: int | None = None,
    progress: Any | None = None,
    report: bool = True,
    sinks: Sequence[str] = (),
    extra_sinks: Sequence[Sink] = (),
) -> dict[str, Any]:
    """Simulate ``scenario`` and write the run's files into ``out``; returns the summary.

    ``progress(time_s, expected_end_s)`` is called after each step. ``sinks`` names further
    registered sinks (:mod:`counterram.sinks`) to feed, ``extra_sinks`` are sinks already made
    (a CoT feed); both are closed before the summary is written, so they can add to it.
    """
    names = ["events", "plots", *(["report"] if report else []), *sinks]
    made = [*make_sinks(names), *extra_sinks, *make_sinks(["summary"])]
    record = RunDriver(made, out).simulate(scenario, seed, progress)
    assert record.summary is not None
    return record.summary


def run(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a scenario file.")
    ] = DEFAULT_SCENARIO,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's own seed).")
    ] = None,
    out_text: Annotated[
        str, typer.Option("--out", "-o", help="Folder for the run's files (created).")
    ] = "counterram-run",
    sink: Annotated[
        list[str] | None, typer.Option("--sink", help="A further registered sink to feed "
                                       "(repeatable).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary table.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into --out even if it already holds files "
                           "(a previous run's files are replaced).")
    ] = False,
    tak: TakOption = None,
) -> None:
    """Simulate a scenario end to end (radars, engine, guns) and write events, plots, truth,
    summary and report."""
    if seed is not None and seed < 0:
        _bad_input(f"--seed must be a non-negative integer, got {seed}")
    try:
        sc = load_scenario(scenario, runnable=True)
    except ScenarioError as exc:
        _fail(exc.problems)
    problem = out_folder_problem(out_text, force=force)
    if problem:
        _bad_input(problem)
    out = Path(out_text)
    unknown = [name for name in sink or [] if name not in sink_names()]
    if unknown:
        _bad_input(f"--sink: unknown sink {unknown[0]!r}; known sinks: {', '.join(sink_names())}")
    feed = cot_sink(tak, _bad_input)
    extra = [feed] if feed is not None else []
    try:
        if quiet:
            summary = run_to_folder(sc, out, seed=seed, sinks=sink or (), extra_sinks=extra)
        else:
            with Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.completed:.0f}/{task.total:.0f} s simulated"),
                TimeElapsedColumn(), transient=True,
            ) as bar:
                task = bar.add_task(f"{sc.name}", total=sc.duration_s)

                def progress(t: float, end: float) -> None:
                    bar.update(task, completed=t, total=max(end, t))

                summary = run_to_folder(sc, out, seed=seed, progress=progress,
                                        sinks=sink or (), extra_sinks=extra)
    except OSError as exc:
        _bad_input(f"--out: cannot write into {str(out)!r}: {exc.strerror or exc}")
    except ValueError as exc:  # a registered sink that cannot be made (--sink cot unset)
        _bad_input(f"--sink: {exc}")
    if not quiet:
        print_summary(summary, out)
        print_tak(feed)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value)


_ROWS = (
    ("rounds launched", "rounds_launched"),
    ("rounds detected", "rounds_detected"),
    ("tracks confirmed", "tracks_confirmed"),
    ("false tracks", "false_tracks"),
    ("warnings issued", "warnings_issued"),
    ("rounds landing in warning zones", "rounds_in_zones"),
    ("… warned before impact", "rounds_warned_in_time"),
    ("warning time, s", "warning_time_s"),
    ("false warnings", "false_warnings"),
    ("engagements (bursts)", "engagements"),
    ("intercepts", "intercepts"),
    ("leakers on assets", "leakers_on_assets"),
    ("interceptor rounds fired", "rounds_fired"),
    ("impact prediction CEP, m (10 s before impact)", "poi_cep_m"),
    ("origin CEP, m", "poo_cep_m"),
    ("expected casualties", "expected_casualties"),
    ("engine latency per step, ms", "engine_latency_ms"),
)


def print_summary(summary: dict[str, Any], out: Path) -> None:
    """The summary as a rich table, and where the files are."""
    console = Console()
    table = Table(title=f"{summary['scenario']} (seed {summary['seed']})")
    table.add_column("")
    table.add_column("value", justify="right")
    for label, key in _ROWS:
        table.add_row(label, _fmt(summary.get(key)))
    console.print(table)
    files = ", ".join(p.name for p in sorted(out.iterdir()) if p.is_file())
    console.print(
        f"simulated {summary.get('end_time_s', 0):.0f} s in {summary.get('run_time_s', 0):.1f} s; "
        f"wrote {out}/: {files}",
        highlight=False,
    )
