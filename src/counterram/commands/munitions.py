"""The ``munitions`` command: list the munition catalogue as a table or as JSON.

A few lines over :func:`counterram.physics.catalogue.load_catalogue`; an invalid user catalogue
ends with the problem (file and field) on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from counterram.physics.catalogue import CatalogueError, Munition, load_catalogue

__all__ = ["munition_record", "munitions"]

#: Exit code when the catalogue file is invalid.
EXIT_INVALID = 2

_SCALARS = (
    "mass_kg",
    "burnout_mass_kg",
    "diameter_m",
    "length_m",
    "burn_time_s",
    "thrust_n",
    "launch_tube_m",
    "max_range_m",
    "min_range_m",
    "elevation_min_deg",
    "elevation_max_deg",
    "range_pe_m",
    "deflection_pe_m",
    "rcs_m2",
    "lethal_radius_m",
    "self_destruct_s",
    "dud_rate",
)


def munition_record(munition: Munition) -> dict[str, Any]:
    """A munition as a JSON-ready dict: values in SI units, drag table, charges and sources."""
    record: dict[str, Any] = {
        "name": munition.name,
        "kind": munition.kind,
        "aliases": list(munition.aliases),
        "description": munition.description,
        "area_m2": munition.area_m2,
        "mach": list(munition.mach),
        "cd": list(munition.cd),
        "charges": dict(munition.charges),
        "top_charge": munition.top_charge,
        "charge_max_range_m": dict(munition.charge_max_range_m),
    }
    for field in _SCALARS:
        record[field] = getattr(munition, field)
    record["sources"] = {
        key: p.model_dump(exclude_none=True) for key, p in munition.sources.items()
    }
    return record


def _charges_text(munition: Munition) -> str:
    v = munition.charges
    if len(v) == 1:
        ((name, speed),) = v.items()
        return f"{name} {speed:.0f}"
    return f"{len(v)}: {min(v.values()):.0f}-{max(v.values()):.0f}"


def _marks_text(munition: Munition) -> str:
    return " ".join(f"{mark[0].upper()}{n}" for mark, n in munition.confidence_summary().items())


def munitions(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the catalogue as a JSON list.")
    ] = False,
    catalogue: Annotated[
        Path | None,
        typer.Option(
            "--catalogue",
            help="A munition catalogue YAML file to read instead of the packaged one.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """List the munition catalogue: threats and the interceptor round, with confidence marks."""
    try:
        cat = load_catalogue(catalogue)
    except CatalogueError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(Text(str(exc), style="red"))
        raise typer.Exit(code=EXIT_INVALID) from None
    if json_output:
        typer.echo(json.dumps([munition_record(m) for m in cat], indent=2))
        return
    table = Table(
        title=f"Munition catalogue ({cat.source})",
        caption="charges: count and muzzle (rockets: rail-exit) velocities in m/s; "
        "values marked P published, W weak, U unverified, D derived, C calibrated",
    )
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("mass kg", justify="right")
    table.add_column("cal. mm", justify="right")
    table.add_column("charges m/s", no_wrap=True)
    table.add_column("max range km", justify="right")
    table.add_column("marks")
    for m in cat:
        table.add_row(
            m.name,
            m.kind,
            f"{m.mass_kg:g}",
            f"{m.diameter_m * 1000:g}",
            _charges_text(m),
            f"{m.max_range_m / 1000:.2f}",
            _marks_text(m),
        )
    Console().print(table)
