"""The ``trajectory`` command: one round's flight from the catalogue, the integrator and aiming.

Answers an analyst's everyday question — how far, how long and how high does this munition fly
at this elevation, in this wind — and doubles as a smoke test of the physics core.
"""

from __future__ import annotations

import json
import math
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from counterram.physics.atmosphere import Atmosphere
from counterram.physics.catalogue import UnknownChargeError, UnknownMunitionError, load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.physics.wind import Wind

EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """Print a one-line error to stderr and exit with code 2 (bad input)."""
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=EXIT_BAD_INPUT)


def parse_wind(text: str | None) -> Wind:
    """``"E,N"`` in m/s → a constant wind; a clear error for anything else."""
    if text is None:
        return Wind()
    parts = text.split(",")
    try:
        east, north = (float(p) for p in parts)
    except ValueError:
        fail(f"--wind must be two numbers 'EAST,NORTH' in m/s (e.g. --wind 5,-3), got {text!r}")
    if not (math.isfinite(east) and math.isfinite(north)) or math.hypot(east, north) > 100:
        fail(f"--wind must be finite with a speed of at most 100 m/s, got {text!r}")
    return Wind.constant(east, north)


def trajectory(
    munition: Annotated[
        str, typer.Argument(help="Catalogue name or alias, e.g. 107mm, 81mm-mortar")
    ],
    elevation: Annotated[
        float, typer.Option("--elevation", "-e", help="Launch elevation, degrees")
    ],
    charge: Annotated[
        str | None, typer.Option(help="Charge name (default: the top charge)")
    ] = None,
    azimuth: Annotated[float, typer.Option(help="Launch azimuth, degrees from north")] = 0.0,
    wind: Annotated[str | None, typer.Option(help="Constant wind 'EAST,NORTH' in m/s")] = None,
    site_altitude: Annotated[float, typer.Option(help="Launch site altitude, m above MSL")] = 0.0,
    temperature_offset: Annotated[float, typer.Option(help="ISA temperature offset, K")] = 0.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table")
    ] = False,
) -> None:
    """Fly one round: range, time of flight, apex, impact speed and angle."""
    try:
        m = load_catalogue().get(munition)
    except UnknownMunitionError as exc:
        fail(f"MUNITION: {exc}")
    try:
        speed = m.charge_velocity(charge)
    except UnknownChargeError as exc:
        fail(f"--charge: {exc}")
    lo, hi = m.elevation_min_deg, m.elevation_max_deg
    if not math.isfinite(elevation) or not lo <= elevation <= hi:
        fail(
            f"--elevation must be within {m.name}'s limits {lo:g}..{hi:g} degrees, got {elevation}"
        )
    if not math.isfinite(azimuth):
        fail(f"--azimuth must be a finite number of degrees, got {azimuth}")
    air = parse_wind(wind)
    try:
        atmosphere = Atmosphere(site_altitude, temperature_offset)
    except ValueError as exc:
        fail(
            str(exc)
            .replace("site_altitude_m", "--site-altitude")
            .replace("temperature_offset_k", "--temperature-offset")
        )
    state = launch_state(np.zeros((1, 3)), math.radians(azimuth), math.radians(elevation), speed)
    flight = fly(state, Projectiles.repeat(m, 1), atmosphere=atmosphere, wind=air)
    result = {
        "munition": m.name,
        "charge": charge if charge is not None else m.top_charge,
        "muzzle_velocity_mps": speed,
        "elevation_deg": elevation,
        "azimuth_deg": azimuth,
        "range_m": float(flight.range_m[0]),
        "time_of_flight_s": float(flight.time_of_flight_s[0]),
        "apex_m": float(flight.apex_m[0]),
        "impact_speed_mps": float(flight.impact_speed_mps[0]),
        "impact_angle_deg": float(flight.impact_angle_deg[0]),
        "impact_east_m": float(flight.impact_state[0, 0]),
        "impact_north_m": float(flight.impact_state[0, 1]),
    }
    if json_output:
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"{m.name} at {elevation:g}°, charge {result['charge']}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows = [
        ("muzzle velocity", f"{speed:.1f} m/s"),
        ("range", f"{result['range_m']:.0f} m"),
        ("time of flight", f"{result['time_of_flight_s']:.2f} s"),
        ("apex", f"{result['apex_m']:.0f} m"),
        ("impact speed", f"{result['impact_speed_mps']:.1f} m/s"),
        ("impact angle", f"{result['impact_angle_deg']:.1f}° below horizontal"),
        (
            "impact point (E, N)",
            f"{result['impact_east_m']:.0f} m, {result['impact_north_m']:.0f} m",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)
