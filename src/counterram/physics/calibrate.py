"""Calibration of the catalogue's unpublished launch parameters against published ranges.

Why it exists: mortar charge velocities and rocket motor thrusts are not in public sources, but
maximum (and minimum) ranges are. This module solves, with the project's own point-mass model
(:func:`counterram.physics.trajectory.fly`, :func:`counterram.physics.aiming.max_range`; drag on,
ISA, calm air), for the value that makes the model reproduce the published figure, using
:func:`scipy.optimize.brentq` on the range error. The rules, applied per munition:

* a charge with a published maximum range (``charge_max_range_m``, or the top charge with the
  munition's ``max_range_m``): its muzzle velocity is solved so the model maximum range matches;
* a mortar's lowest charge: solved so that a shot at ``elevation_max_deg`` lands at
  ``min_range_m``;
* the charges in between: velocities spaced geometrically between their solved neighbours;
* a rocket: the thrust (constant over ``burn_time_s``) is solved so the maximum range matches,
  with the rail-exit speed that thrust gives over ``launch_tube_m`` (``v = sqrt(2 L T / m)``);
* the interceptor: nothing is calibrated; its reach (the distance flown at ``self_destruct_s``
  when fired at 45 deg) is derived and reported.

``python -m counterram.physics.calibrate`` prints the check table (munition, charge, published
range, model range, error %); ``--solve`` runs the calibration and prints the solved values, and
``--write FILE`` also writes them into that catalogue file in place.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import Catalogue, CatalogueError, Munition, load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state, propagate
from counterram.physics.wind import CALM, Wind

__all__ = [
    "CalibrationRow",
    "calibrate_munition",
    "check_table",
    "interceptor_reach_m",
    "model_max_range",
    "rail_exit_speed",
    "range_at_elevation",
    "solve_muzzle_velocity",
    "solve_thrust",
    "with_charge_velocity",
    "with_thrust",
]


def with_charge_velocity(munition: Munition, charge: str, velocity_mps: float) -> Munition:
    """A copy of ``munition`` whose ``charge`` leaves at ``velocity_mps`` (others unchanged)."""
    return munition.model_copy(update={"charges": {**munition.charges, charge: velocity_mps}})


def rail_exit_speed(munition: Munition, thrust_n: float) -> float:
    """Speed at the end of the launch tube under constant thrust: ``sqrt(2 L T / m)``.

    Gravity and tube friction are neglected (the thrust is ~30 g for the rockets in the
    catalogue, so gravity changes the result by under 2 %).
    """
    tube = munition.launch_tube_m or 0.0
    return math.sqrt(2.0 * tube * thrust_n / munition.mass_kg)


def with_thrust(munition: Munition, thrust_n: float) -> Munition:
    """A copy of a rocket with ``thrust_n`` and the matching rail-exit speed."""
    charge = munition.top_charge
    speed = rail_exit_speed(munition, thrust_n)
    if speed <= 0.0:
        speed = munition.charges[charge]
    return munition.model_copy(update={"thrust_n": thrust_n, "charges": {charge: speed}})


def model_max_range(
    munition: Munition,
    charge: str | None = None,
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
) -> float:
    """Maximum ground range of the model (drag, given atmosphere and wind), in metres."""
    from counterram.physics import aiming  # imported here: the aiming layer sits above this one

    range_m, _ = aiming.max_range(munition, charge, atmosphere=atmosphere, wind=wind)
    return float(range_m)


def range_at_elevation(
    munition: Munition,
    charge: str | None,
    elevation_deg: float,
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
) -> float:
    """Ground range of one shot fired due north at ``elevation_deg`` from the origin."""
    state = launch_state(
        np.zeros((1, 3)), 0.0, math.radians(elevation_deg), munition.charge_velocity(charge)
    )
    flight = fly(state, Projectiles.from_munitions([munition]), atmosphere=atmosphere, wind=wind)
    return float(flight.range_m[0])


def _solve(f, lo: float, hi: float, what: str) -> float:
    """Root of an increasing ``f`` in [lo, hi], widening ``hi`` until the sign changes."""
    f_lo = f(lo)
    if f_lo > 0:
        raise ValueError(f"{what}: already too far at the lower bound {lo:g}")
    for _ in range(12):
        if f(hi) >= 0:
            return float(brentq(f, lo, hi, rtol=1e-6, xtol=1e-9 + 1e-6 * hi))
        lo, hi = hi, hi * 2.0
    raise ValueError(f"{what}: no solution below {hi:g}")


def solve_muzzle_velocity(
    munition: Munition,
    target_range_m: float,
    charge: str | None = None,
    *,
    elevation_deg: float | None = None,
    atmosphere: Atmosphere = STANDARD,
) -> float:
    """Muzzle velocity of ``charge`` that makes the model reach ``target_range_m``.

    With ``elevation_deg`` None the target is the maximum range over the munition's elevation
    limits, otherwise the range of a shot at that elevation.
    """
    charge = charge or munition.top_charge

    def error(v: float) -> float:
        m = with_charge_velocity(munition, charge, v)
        if elevation_deg is None:
            r = model_max_range(m, charge, atmosphere=atmosphere)
        else:
            r = range_at_elevation(m, charge, elevation_deg, atmosphere=atmosphere)
        return r / target_range_m - 1.0

    # Vacuum at 45 deg gives R = v^2 / g: the velocity for the target range is above that.
    v_vacuum = math.sqrt(target_range_m * 9.80665)
    return _solve(error, 0.5 * v_vacuum, 2.0 * v_vacuum, f"{munition.name} charge {charge}")


def solve_thrust(
    munition: Munition, target_range_m: float | None = None, *, atmosphere: Atmosphere = STANDARD
) -> float:
    """Rocket thrust (N) that makes the model maximum range equal ``target_range_m``.

    The rail-exit speed follows the thrust (:func:`rail_exit_speed`). The default target is
    ``max_range_m``.
    """
    if munition.kind != "rocket":
        raise ValueError(f"{munition.name} is a {munition.kind}, not a rocket")
    target = target_range_m or munition.max_range_m

    def error(thrust: float) -> float:
        return model_max_range(with_thrust(munition, thrust), atmosphere=atmosphere) / target - 1.0

    # Ideal velocity gain for thrust T over burn time tb: T tb ln(m0/m1) / (m0 - m1), started
    # from the thrust giving the vacuum 45-deg speed for the target.
    propellant = munition.mass_kg - (munition.burnout_mass_kg or munition.mass_kg)
    log_ratio = math.log(munition.mass_kg / (munition.burnout_mass_kg or munition.mass_kg))
    v_needed = math.sqrt(target * 9.80665)
    guess = v_needed * propellant / (munition.burn_time_s * max(log_ratio, 1e-6))
    return _solve(error, 0.3 * guess, 1.5 * guess, f"{munition.name} thrust")


def interceptor_reach_m(
    munition: Munition, elevation_deg: float = 45.0, *, atmosphere: Atmosphere = STANDARD
) -> float:
    """Distance from the muzzle at ``self_destruct_s`` for a round fired at ``elevation_deg``."""
    if munition.self_destruct_s is None:
        raise ValueError(f"{munition.name} has no self-destruct time")
    state = launch_state(
        np.zeros((1, 3)), 0.0, math.radians(elevation_deg), munition.charge_velocity()
    )
    end = propagate(
        state,
        Projectiles.from_munitions([munition]),
        munition.self_destruct_s,
        atmosphere=atmosphere,
    )
    return float(np.linalg.norm(end[0, 0:3]))


def calibrate_munition(
    munition: Munition, *, atmosphere: Atmosphere = STANDARD
) -> dict[str, float]:
    """The calibrated (and derived) values of one munition, keyed like :attr:`Munition.sources`
    (``"charges.4"``, ``"thrust_n"``, ``"charges.launch"``, ``"max_range_m"``)."""
    if munition.kind == "interceptor":
        return {"max_range_m": interceptor_reach_m(munition, atmosphere=atmosphere)}
    if munition.kind == "rocket":
        thrust = solve_thrust(munition, atmosphere=atmosphere)
        return {
            "thrust_n": thrust,
            f"charges.{munition.top_charge}": rail_exit_speed(munition, thrust),
        }

    names = list(munition.charge_names)
    top = munition.top_charge
    targets = dict(munition.charge_max_range_m)
    targets.setdefault(top, munition.max_range_m)
    solved: dict[str, float] = {}
    for name, target in targets.items():
        solved[name] = solve_muzzle_velocity(munition, target, name, atmosphere=atmosphere)
    lowest = names[0]
    if munition.kind == "mortar" and lowest not in solved and munition.min_range_m > 0:
        solved[lowest] = solve_muzzle_velocity(
            munition,
            munition.min_range_m,
            lowest,
            elevation_deg=munition.elevation_max_deg,
            atmosphere=atmosphere,
        )
    # Geometric spacing for the charges in between two solved ones.
    anchors = [i for i, n in enumerate(names) if n in solved]
    for a, b in itertools.pairwise(anchors):
        va, vb = solved[names[a]], solved[names[b]]
        for i in range(a + 1, b):
            solved[names[i]] = va * (vb / va) ** ((i - a) / (b - a))
    return {f"charges.{name}": solved[name] for name in names if name in solved}


def apply(munition: Munition, values: dict[str, float]) -> Munition:
    """A copy of ``munition`` with values from :func:`calibrate_munition` set."""
    charges = dict(munition.charges)
    update: dict[str, object] = {}
    for key, value in values.items():
        if key.startswith("charges."):
            charges[key.removeprefix("charges.")] = value
        else:
            update[key] = value
    update["charges"] = charges
    return munition.model_copy(update=update)


@dataclass(frozen=True)
class CalibrationRow:
    """One line of the check table."""

    munition: str
    charge: str
    published_range_m: float
    model_range_m: float
    what: str  # "max" (maximum range) or "min@<elev>" (range at the top elevation)

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.model_range_m / self.published_range_m - 1.0)


def check_table(
    catalogue: Catalogue | None = None, *, atmosphere: Atmosphere = STANDARD
) -> list[CalibrationRow]:
    """Published ranges against the model's, for every charge that has a published range."""
    catalogue = catalogue or load_catalogue()
    rows: list[CalibrationRow] = []
    for m in catalogue:
        if m.kind == "interceptor":
            continue
        targets = dict(m.charge_max_range_m)
        targets.setdefault(m.top_charge, m.max_range_m)
        for charge in m.charge_names:
            if charge in targets:
                model = model_max_range(m, charge, atmosphere=atmosphere)
                rows.append(CalibrationRow(m.name, charge, targets[charge], model, "max"))
        if m.kind == "mortar" and m.min_range_m > 0:
            lowest = m.charge_names[0]
            model = range_at_elevation(m, lowest, m.elevation_max_deg, atmosphere=atmosphere)
            rows.append(
                CalibrationRow(
                    m.name, lowest, m.min_range_m, model, f"min@{m.elevation_max_deg:g}deg"
                )
            )
    return rows


_NUMBER = r"-?[0-9][0-9_]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"


def write_values(text: str, munition_name: str, values: dict[str, float]) -> str:
    """Replace ``value:`` numbers of one munition's fields in catalogue YAML ``text``.

    Works on the text (comments and layout are kept); a field is found as ``key: {value: N`` or
    ``key:`` followed by ``value: N`` on the next line, inside the munition's block.
    """
    start = re.search(rf"^  - name: {re.escape(munition_name)}\s*$", text, re.MULTILINE)
    if start is None:
        raise ValueError(f"munition {munition_name!r} not found in the catalogue text")
    nxt = re.search(r"^  - name: ", text[start.end() :], re.MULTILINE)
    end = start.end() + nxt.start() if nxt else len(text)
    block = text[start.start() : end]
    for key, value in values.items():
        field = key.split(".")[-1]
        pattern = re.compile(
            rf"^(\s+\"?{re.escape(field)}\"?:\s*(?:\{{\s*value:\s*|\n\s+value:\s*))({_NUMBER})",
            re.MULTILINE,
        )
        block, count = pattern.subn(lambda m, v=value: m.group(1) + _fmt(v), block, count=1)
        if count != 1:
            raise ValueError(f"{munition_name}: field {key!r} not found in the catalogue text")
    return text[: start.start()] + block + text[end:]


def _fmt(value: float) -> str:
    """Four significant figures beyond the units digit for small numbers, whole for large."""
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"


def _print_check(rows: Sequence[CalibrationRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Catalogue calibration check (drag, ISA, calm)")
    for col in ("munition", "charge", "target", "published m", "model m", "error %"):
        table.add_column(col, justify="right" if col not in ("munition", "charge") else "left")
    for r in rows:
        table.add_row(
            r.munition,
            r.charge,
            r.what,
            f"{r.published_range_m:,.0f}",
            f"{r.model_range_m:,.0f}",
            f"{r.error_pct:+.2f}",
        )
    Console().print(table)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: print the check table; optionally solve and write the values."""
    parser = argparse.ArgumentParser(
        prog="python -m counterram.physics.calibrate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--catalogue", type=Path, help="catalogue file (default: packaged)")
    parser.add_argument("--solve", action="store_true", help="solve and print calibrated values")
    parser.add_argument(
        "--write", type=Path, help="solve, then write the values into this catalogue file"
    )
    args = parser.parse_args(argv)
    try:
        catalogue = load_catalogue(args.catalogue)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.solve or args.write:
        text = args.write.read_text(encoding="utf-8") if args.write else None
        updated = []
        for m in catalogue:
            values = calibrate_munition(m)
            print(m.name + ": " + ", ".join(f"{k} = {_fmt(v)}" for k, v in values.items()))
            if text is not None:
                text = write_values(text, m.name, values)
            updated.append(apply(m, values))
        catalogue = Catalogue(tuple(updated), source=catalogue.source)
        if args.write and text is not None:
            args.write.write_text(text, encoding="utf-8")
            print(f"wrote {args.write}")
    _print_check(check_table(catalogue))
    return 0


if __name__ == "__main__":
    sys.exit(main())
