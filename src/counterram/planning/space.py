"""The search space of a site plan: which scenario fields vary, over what, and where guns may stand.

Why it exists: a plan runs for half an hour; a typo in ``--vary effectors.2.heading_deg=0..360``
(there are two guns) or a range the schema refuses must be caught before the first run, with a
message naming the path and what exists there. The fields are the dotted paths of campaign
sweeps (:mod:`counterram.campaign.sweep`): every candidate is applied to a plain-data copy of
the scenario and re-validated by the scenario schema and its cross-field checks
(:func:`~counterram.campaign.sweep.apply_values`), so a trial can never run an invalid site.

Three things sweeps do not need and a planner does:

* ranges: ``PATH=LO..HI`` is a continuous range (integers when both ends are integers),
  ``PATH=a,b,c`` a set of choices;
* bearings wrap: a field whose name ends in ``heading_deg`` or ``azimuth_deg`` is a compass
  bearing, taken modulo 360, so ``effectors.0.heading_deg=0..360`` is the whole circle;
* positions stay inside a named area: ``--inside effectors.0.position=embassy-compound`` keeps
  that gun inside the defended asset, warning zone or populated area of that name. Its
  ``east_m``/``north_m`` vary over the area's bounding box (unless ``--vary`` gives them ranges)
  and a candidate outside the area is moved to the nearest point 1 m inside it, so every trial
  evaluates a site that can be built. A radar ``attached_to`` a gun that moves goes with it (it
  is on the gun's mount).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from shapely import Point
from shapely.ops import nearest_points

from counterram.campaign.sweep import SweepError, SweepPathError, _split, apply_values
from counterram.scenario import Scenario

__all__ = [
    "AreaConstraint",
    "Dimension",
    "PlanSpaceError",
    "SearchSpace",
    "parse_inside",
    "parse_vary",
]

INSIDE_MARGIN_M = 1.0
"""A candidate outside its area is moved to the nearest point this far inside it, m."""

_BEARING_SUFFIXES = ("heading_deg", "azimuth_deg")


class PlanSpaceError(SweepError):
    """A search space that cannot run; ``problems`` lists every reason, one line each."""


@dataclass(frozen=True)
class Dimension:
    """One varied field: its dotted ``path`` and either a range ``low..high`` (``integer``
    when both ends are integers) or the ``choices`` it may take."""

    path: str
    low: float | None = None
    high: float | None = None
    integer: bool = False
    choices: tuple[Any, ...] | None = None

    @property
    def bearing(self) -> bool:
        """A compass bearing (taken modulo 360)."""
        return self.path.rsplit(".", 1)[-1].endswith(_BEARING_SUFFIXES)

    def describe(self) -> dict[str, Any]:
        """Plain data for the plan's record (plan.json)."""
        if self.choices is not None:
            return {"path": self.path, "choices": list(self.choices)}
        return {"path": self.path, "low": self.low, "high": self.high, "integer": self.integer}

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this dimension may take."""
        if self.choices is not None:
            return any(_same(value, c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        assert self.low is not None and self.high is not None
        if self.bearing and self.high - self.low >= 360.0:
            return True
        v = float(value)
        if self.bearing:
            v = self.low + (v - self.low) % 360.0
        return self.low <= v <= self.high


@dataclass(frozen=True)
class AreaConstraint:
    """A position (dotted ``path`` of an ``east_m``/``north_m`` point) kept inside ``area``."""

    path: str
    area: str


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _number(token: str) -> int | float | None:
    try:
        value = yaml.safe_load(token)
    except yaml.YAMLError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return value


def parse_vary(text: str) -> Dimension:
    """``PATH=LO..HI`` or ``PATH=a,b,c`` → a :class:`Dimension`; :class:`PlanSpaceError` on bad
    syntax (the path itself is checked against the scenario by :meth:`SearchSpace.build`)."""
    path, sep, rest = text.partition("=")
    path, rest = path.strip(), rest.strip()
    if not sep or not path or not rest:
        raise PlanSpaceError([f"--vary {text!r}: expected PATH=LO..HI or PATH=a,b,c "
                              "(e.g. effectors.0.heading_deg=0..360)"])
    if ".." in rest and "," not in rest:
        lo_text, _, hi_text = rest.partition("..")
        lo, hi = _number(lo_text.strip()), _number(hi_text.strip())
        if lo is None or hi is None:
            raise PlanSpaceError([f"--vary {path}: range {rest!r} needs two finite numbers, "
                                  "LO..HI"])
        if not lo < hi:
            raise PlanSpaceError([f"--vary {path}: range {rest!r} is empty; LO must be below "
                                  "HI"])
        integer = isinstance(lo, int) and isinstance(hi, int)
        return Dimension(path, float(lo), float(hi), integer=integer)
    tokens = _split(rest)
    if len(tokens) < 2 or any(not t for t in tokens):
        raise PlanSpaceError([f"--vary {path}: {rest!r} is neither a range LO..HI nor at "
                              "least two choices a,b"])
    try:
        choices = tuple(yaml.safe_load(t) for t in tokens)
    except yaml.YAMLError as exc:
        raise PlanSpaceError([f"--vary {path}: cannot read {rest!r}: {exc}"]) from None
    if len({json.dumps(c, sort_keys=True, default=str) for c in choices}) != len(choices):
        raise PlanSpaceError([f"--vary {path}: a choice is repeated in {rest!r}"])
    return Dimension(path, choices=choices)


def parse_inside(text: str) -> AreaConstraint:
    """``PATH=AREA`` → an :class:`AreaConstraint`; :class:`PlanSpaceError` on bad syntax."""
    path, sep, area = text.partition("=")
    path, area = path.strip(), area.strip()
    if not sep or not path or not area:
        raise PlanSpaceError([f"--inside {text!r}: expected PATH=AREA "
                              "(e.g. effectors.0.position=embassy-compound)"])
    return AreaConstraint(path, area)


def _relabel(problems: Sequence[str]) -> list[str]:
    return [p.replace("--sweep ", "--vary ", 1) for p in problems]


def _node(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _areas(scenario: Scenario) -> dict[str, Any]:
    """Named areas of the scenario in the site frame: assets, warning zones, populated areas
    (the first of a name wins)."""
    from counterram.scenario.resolved import resolve

    world = resolve(scenario)
    named: dict[str, Any] = {}
    for group in (world.assets, world.zones, world.populated):
        for item in group:
            named.setdefault(item.name, item.area)
    return named


class SearchSpace:
    """Validated dimensions and position constraints over a base scenario; turns a candidate
    (values by path) into the values actually applied and the re-validated scenario."""

    def __init__(self, base: Scenario, dimensions: Sequence[Dimension],
                 constraints: Sequence[AreaConstraint], areas: Mapping[str, Any]) -> None:
        self.base = base
        self.dimensions = tuple(dimensions)
        self.constraints = tuple(constraints)
        self._areas = dict(areas)
        self._inner = {c.area: self._areas[c.area].polygon.buffer(-INSIDE_MARGIN_M)
                       for c in self.constraints}

    # ---- construction and checks
    @classmethod
    def build(cls, base: Scenario, vary: Sequence[Dimension | str],
              inside: Sequence[AreaConstraint | str] = ()) -> SearchSpace:
        """Parse and check everything against ``base``; every problem is collected into one
        :class:`PlanSpaceError` (nothing has run)."""
        problems: list[str] = []
        dims: list[Dimension] = []
        cons: list[AreaConstraint] = []
        for item in vary:
            try:
                dims.append(parse_vary(item) if isinstance(item, str) else item)
            except PlanSpaceError as exc:
                problems += exc.problems
        for item in inside:
            try:
                cons.append(parse_inside(item) if isinstance(item, str) else item)
            except PlanSpaceError as exc:
                problems += exc.problems
        data = base.model_dump(mode="json")
        for d in dims:
            problems += cls._check_dimension(base, data, d)
        areas = _areas(base)
        for c in cons:
            problems += cls._check_constraint(base, data, c, areas)
        paths = [d.path for d in dims]
        repeated = sorted({p for p in paths if paths.count(p) > 1})
        if repeated:
            problems.append("--vary: a path is given twice: " + ", ".join(repeated))
        if problems:
            raise PlanSpaceError(problems)
        have = set(paths)
        for c in cons:
            box = areas[c.area].polygon.bounds
            for axis, lo, hi in (("east_m", box[0], box[2]), ("north_m", box[1], box[3])):
                if f"{c.path}.{axis}" not in have:
                    dims.append(Dimension(f"{c.path}.{axis}", round(lo, 1), round(hi, 1)))
        if not dims:
            raise PlanSpaceError(["nothing to vary: give at least one --vary PATH=RANGE or "
                                  "--inside PATH=AREA"])
        return cls(base, dims, cons, areas)

    @staticmethod
    def _check_dimension(base: Scenario, data: dict[str, Any], d: Dimension) -> list[str]:
        probes = list(d.choices) if d.choices is not None else [d.low, d.high]
        if d.choices is None and d.integer:
            probes = [int(v) for v in probes]  # type: ignore[arg-type]
        try:
            apply_values(base, {d.path: probes[0]})
        except SweepPathError as exc:
            return _relabel(exc.problems)  # a bad path: one message is enough
        except SweepError:
            pass
        current = _node(data, d.path)
        if d.choices is None and (isinstance(current, bool) or not isinstance(
                current, int | float)):
            shown = json.dumps(current, default=str)
            what = (f"a mapping (keys: {', '.join(current)})" if isinstance(current, dict)
                    else f"the value {shown}")
            return [f"--vary {d.path}: is {what}; a range LO..HI needs a number field "
                    "(give choices a,b,c for others)"]
        problems: list[str] = []
        for value in probes:
            if d.bearing and isinstance(value, int | float):
                value = value % 360.0
            try:
                apply_values(base, {d.path: value})
            except SweepError as exc:
                problems += [p for p in _relabel(exc.problems) if p not in problems]
        return problems

    @staticmethod
    def _check_constraint(base: Scenario, data: dict[str, Any], c: AreaConstraint,
                          areas: Mapping[str, Any]) -> list[str]:
        problems: list[str] = []
        try:
            apply_values(base, {f"{c.path}.east_m": 0.0})
        except SweepPathError as exc:
            msg = _relabel(exc.problems)[0].replace("--vary ", "--inside ", 1).replace(
                f"{c.path}.east_m:", f"{c.path}:", 1)
            try:
                node = _node(data, c.path)
            except (KeyError, IndexError, ValueError, TypeError):
                node = None
            if isinstance(node, dict) and "latitude_deg" in node:
                msg = (f"--inside {c.path}: a position in latitude/longitude; give it as "
                       "east_m/north_m in the scenario to plan it")
            problems.append(msg)
        except SweepError:
            pass
        if c.area not in areas:
            names = ", ".join(areas) or "none are defined"
            problems.append(f"--inside {c.path}: no area named {c.area!r} (defended assets, "
                            f"warning zones and populated areas: {names})")
        return problems

    # ---- candidates
    def describe(self) -> dict[str, Any]:
        """Plain data for the plan's record."""
        return {"vary": [d.describe() for d in self.dimensions],
                "inside": [{"path": c.path, "area": c.area} for c in self.constraints]}

    def base_values(self) -> dict[str, Any]:
        """The base scenario's value of every dimension."""
        data = self.base.model_dump(mode="json")
        return {d.path: _node(data, d.path) for d in self.dimensions}

    def value_in_base(self, path: str) -> Any:
        """The base scenario's value at ``path``."""
        return _node(self.base.model_dump(mode="json"), path)

    def area(self, name: str) -> Any:
        """The named area (site frame) of a constraint."""
        return self._areas[name]

    def applied(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The field values a candidate sets: bearings wrapped, constrained positions moved
        inside their areas, attached radars moved with their guns (values by path)."""
        out: dict[str, Any] = {}
        for d in self.dimensions:
            v = values[d.path]
            if d.bearing and isinstance(v, int | float):
                v = round(float(v) % 360.0, 6) % 360.0
            out[d.path] = v
        for c in self.constraints:
            e, n = float(out[f"{c.path}.east_m"]), float(out[f"{c.path}.north_m"])
            inner = self._inner[c.area]
            if not inner.is_empty and not inner.contains(Point(e, n)):
                p = nearest_points(inner, Point(e, n))[0]
                e, n = p.x, p.y
            out[f"{c.path}.east_m"], out[f"{c.path}.north_m"] = round(e, 2), round(n, 2)
        out.update(self._attached_moves(out))
        return out

    def _attached_moves(self, values: Mapping[str, Any]) -> dict[str, Any]:
        data = self.base.model_dump(mode="json")
        moves: dict[str, Any] = {}
        for i, gun in enumerate(data.get("effectors") or ()):
            pos = gun.get("position") or {}
            if "east_m" not in pos:
                continue
            de = float(values.get(f"effectors.{i}.position.east_m", pos["east_m"])) - pos["east_m"]
            dn = float(values.get(f"effectors.{i}.position.north_m", pos["north_m"])) \
                - pos["north_m"]
            if de == 0.0 and dn == 0.0:
                continue
            for j, sensor in enumerate(data.get("sensors") or ()):
                spos = sensor.get("position") or {}
                if sensor.get("attached_to") == gun.get("name") and "east_m" in spos:
                    moves[f"sensors.{j}.position.east_m"] = round(spos["east_m"] + de, 2)
                    moves[f"sensors.{j}.position.north_m"] = round(spos["north_m"] + dn, 2)
        return moves

    def scenario(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], Scenario]:
        """(applied values, the re-validated scenario) of a candidate; :class:`SweepError`
        when the combination breaks a cross-field check."""
        applied = self.applied(values)
        return applied, apply_values(self.base, applied)
