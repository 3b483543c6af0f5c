"""The ``run`` command: simulate a scenario with the engine in the loop and write the run's record.

A thin layer over :func:`counterram.sim.simulate` and :func:`counterram.summary.compute_summary`.
The output folder gets ``events.jsonl`` (written and flushed step by step), ``plots.jsonl`` (the
plots the engine received, replayable with ``counterram engine``), ``truth.parquet``,
``summary.json`` and, when the report module is installed, ``report.html``. A bad scenario ends
with every problem printed (``FILE:LINE: FIELD: message``) and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from counterram.commands.scenario import EXIT_INVALID, _fail
from counterram.events import Event
from counterram.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario
from counterram.sinks.jsonl import EventLogWriter

__all__ = ["run", "run_to_folder"]


def _bad_input(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=EXIT_INVALID)


def run_to_folder(
    scenario: Any,
    out: Path,
    *,
    seed: int | None = None,
    progress: Any | None = None,
    report: bool = True,
) -> dict[str, Any]:
    """Simulate ``scenario`` and write the run's files into ``out``; returns the summary.

    ``progress(time_s, expected_end_s)`` is called after each step.
    """
    from counterram.sim import simulate
    from counterram.summary import compute_summary

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    plots_fp: IO[str] = open(out / "plots.jsonl", "w", encoding="utf-8")  # noqa: SIM115
    received = [0]
    with EventLogWriter(out / "events.jsonl") as log, plots_fp:

        def on_start(header: str) -> None:
            plots_fp.write(header + "\n")

        def on_step(_t: float, events: list[Event], lines: list[str]) -> None:
            log.write(events)
            received[0] += len(lines)
            if lines:
                plots_fp.write("\n".join(lines) + "\n")
                plots_fp.flush()

        result = simulate(
            scenario, seed, progress, on_step=on_step, on_start=on_start, record_plots=False
        )
    result.truth.write(out / "truth.parquet")
    latency = {k: v.__dict__ for k, v in result.engine.latency.items()}
    summary = compute_summary(
        result.events, result.truth, result.scenario, seed=result.seed,
        detections=result.detections, latency=latency,
        extra={
            "end_time_s": result.end_time_s,
            "step_s": result.step_s,
            "plots_received": received[0],
            "run_time_s": round(time.perf_counter() - started, 2),
        },
    )
    if report:
        try:
            from counterram.sinks.report import write_report
        except ImportError:  # the report module is optional
            write_report = None  # type: ignore[assignment]
        if write_report is not None:
            write_report(out, result.scenario, result.truth, result.events, summary)
    summary["run_time_s"] = round(time.perf_counter() - started, 2)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def run(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a scenario file.")
    ] = DEFAULT_SCENARIO,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's own seed).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the run's files (created).")
    ] = Path("counterram-run"),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary table.")
    ] = False,
) -> None:
    """Simulate a scenario end to end (radars, engine, guns) and write events, plots, truth,
    summary and report."""
    if seed is not None and seed < 0:
        _bad_input(f"--seed must be a non-negative integer, got {seed}")
    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        _fail(exc.problems)
    if out.exists() and not out.is_dir():
        _bad_input(f"--out: {str(out)!r} exists and is not a folder")
    try:
        if quiet:
            summary = run_to_folder(sc, out, seed=seed)
        else:
            with Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.completed:.0f}/{task.total:.0f} s simulated"),
                TimeElapsedColumn(), transient=True,
            ) as bar:
                task = bar.add_task(f"{sc.name}", total=sc.duration_s)

                def progress(t: float, end: float) -> None:
                    bar.update(task, completed=t, total=max(end, t))

                summary = run_to_folder(sc, out, seed=seed, progress=progress)
    except OSError as exc:
        _bad_input(f"--out: cannot write into {str(out)!r}: {exc.strerror or exc}")
    if not quiet:
        print_summary(summary, out)


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
