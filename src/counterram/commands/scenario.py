"""The ``scenarios`` and ``scenario ...`` commands: list, show, validate and describe scenarios.

Each command is a few lines over :mod:`counterram.scenario`; a bad file ends with every problem
printed to stderr (``FILE:LINE: FIELD: message``) and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from counterram.scenario import (
    Scenario,
    ScenarioError,
    builtin_names,
    builtin_text,
    dump_scenario,
    load_scenario,
    validate_file,
)

__all__ = ["scenario_app", "scenarios", "schema", "show", "validate"]

#: Exit code of a command given an invalid scenario.
EXIT_INVALID = 2

scenario_app = typer.Typer(
    name="scenario",
    help="Built-in scenarios and the scenario file format.",
    no_args_is_help=True,
)


def _err_console() -> Console:
    # Created per call so that redirected streams (tests, pipes) are honoured; soft wrapping keeps
    # one problem per line whatever the terminal width.
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(problems: object) -> None:
    console = _err_console()
    for problem in problems:  # type: ignore[attr-defined]
        console.print(Text(str(problem), style="red"))
    raise typer.Exit(code=EXIT_INVALID)


def scenarios() -> None:
    """List the built-in scenarios."""
    table = Table(title="Built-in scenarios")
    table.add_column("name", style="bold")
    table.add_column("description")
    table.add_column("rounds", justify="right")
    table.add_column("duration", justify="right")
    for name in builtin_names():
        sc = load_scenario(name)
        table.add_row(name, _first_sentence(sc.description), str(sc.total_rounds),
                      f"{sc.duration_s:g} s")
    Console().print(table)


@scenario_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A built-in scenario name or a scenario file.")],
) -> None:
    """Print a scenario as YAML (a built-in as shipped, a file as loaded and normalised)."""
    if name in builtin_names():
        typer.echo(builtin_text(name), nl=False)
        return
    try:
        scenario = load_scenario(name)
    except ScenarioError as exc:
        _fail(exc.problems)
    typer.echo(dump_scenario(scenario), nl=False)


@scenario_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    typer.echo(json.dumps(Scenario.model_json_schema(), indent=2, ensure_ascii=False))


@scenario_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario file (or built-in name) to check.")],
) -> None:
    """Check a scenario file and print every problem (exit 0 when valid, 2 when not)."""
    problems = validate_file(file, runnable=True)
    if problems:
        _fail(problems)
    scenario = load_scenario(file, runnable=True)
    typer.echo(f"{file}: valid ({scenario.name}: {scenario.total_rounds} rounds, "
               f"{len(scenario.sensors)} sensors, {len(scenario.effectors)} effectors)")


scenario_app.command("list")(scenarios)


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]
