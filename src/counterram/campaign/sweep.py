"""Parameter sweeps over scenario fields named by dotted path, checked before any run starts.

Why it exists: a campaign may take hours; a typo in ``--sweep effectors.0.dispersion_mrad=1,2``
or a value the scenario schema refuses must be caught in the first second, not after the first
batch. Each value is applied to a plain-data copy of the scenario and the copy is re-validated
with the scenario schema and its cross-field checks (the same two passes a scenario file goes
through), for every value on its own and for every combination of the sweep grid.

Paths are the field paths of the scenario file: mapping keys and list indices separated by dots
(``sensors.1.max_range_m``, ``atmosphere.wind.constant.east_mps``). Values are read as YAML
scalars (``4`` → int, ``2.5`` → float, ``true`` → bool, ``null`` → None, anything else → text);
a YAML flow list such as ``[0, 60]`` is one value (commas inside brackets do not split).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from counterram.scenario import Scenario, check_scenario

__all__ = [
    "SweepAxis",
    "SweepError",
    "SweepPathError",
    "SweepPoint",
    "apply_values",
    "build_points",
    "parse_sweep",
]


class SweepError(ValueError):
    """A sweep that cannot run; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class SweepPathError(SweepError):
    """A sweep path that does not exist in the scenario."""


@dataclass(frozen=True)
class SweepAxis:
    """One swept field: its dotted ``path`` and the ``values`` it takes, in the order given."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SweepPoint:
    """One point of the sweep grid: its ``index`` (grid order), the swept ``values`` by path,
    a stable ``key`` (hash of the values, used to resume) and the validated ``scenario``."""

    index: int
    values: dict[str, Any]
    key: str
    scenario: Scenario


def _split(text: str) -> list[str]:
    """Split on commas that are not inside brackets or braces."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_sweep(text: str) -> SweepAxis:
    """``PATH=v1,v2,...`` → a :class:`SweepAxis`; raises :class:`SweepError` on bad syntax."""
    path, sep, rest = text.partition("=")
    path = path.strip()
    if not sep or not path or not rest.strip():
        raise SweepError([f"--sweep {text!r}: expected PATH=v1,v2,... "
                          "(e.g. effectors.0.dispersion_mrad=1,2,4)"])
    values = []
    for token in _split(rest):
        if not token:
            raise SweepError([f"--sweep {path}: empty value in {rest!r}"])
        try:
            values.append(yaml.safe_load(token))
        except yaml.YAMLError as exc:
            raise SweepError([f"--sweep {path}: cannot read value {token!r}: {exc}"]) from None
    if len(set(map(_canonical, values))) != len(values):
        raise SweepError([f"--sweep {path}: a value is repeated in {rest!r}"])
    return SweepAxis(path, tuple(values))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _describe(node: Any) -> str:
    if isinstance(node, dict):
        return "keys: " + ", ".join(node) if node else "an empty mapping"
    if isinstance(node, list):
        return f"a list of {len(node)} item(s), indices 0..{len(node) - 1}" if node else (
            "an empty list")
    return f"the value {_canonical(node)}"


def _set(data: dict[str, Any], path: str, value: Any, *, _full: str | None = None) -> None:
    """Set ``path`` in the plain-data tree ``data``; :class:`SweepError` names the last valid
    level and what exists there when the path does not. A ``*`` segment stands for every item
    of a list (``effectors.*.dispersion_mrad``: every gun at once)."""
    full = path if _full is None else _full
    parts = path.split(".")
    node: Any = data
    walked: list[str] = []
    for i, part in enumerate(parts):
        if part == "*" and isinstance(node, list):
            if not node:
                raise SweepPathError([f"--sweep {full}: {'.'.join(walked)} is an empty list"])
            rest = ".".join(parts[i + 1:])
            for k in range(len(node)):
                if rest:
                    _set({"item": node[k]}, "item." + rest, value, _full=full)
                else:
                    node[k] = value
            return
        last = i == len(parts) - 1
        where = ".".join(walked) or "(scenario)"
        if isinstance(node, dict):
            if part not in node:
                raise SweepPathError([f"--sweep {full}: {where} has no field {part!r} "
                                  f"({_describe(node)})"])
            if last:
                node[part] = value
                return
            node = node[part]
        elif isinstance(node, list):
            try:
                index = int(part)
            except ValueError:
                index = None
            if index is None or not 0 <= index < len(node):
                raise SweepPathError([f"--sweep {full}: {where} has no item {part!r} "
                                  f"({_describe(node)})"])
            if last:
                node[index] = value
                return
            node = node[index]
        else:
            raise SweepPathError([f"--sweep {full}: {where} is {_describe(node)}, it has no field "
                              f"{part!r}"])
        walked.append(part)


def apply_values(base: Scenario, values: dict[str, Any]) -> Scenario:
    """``base`` with each dotted path set to its value, re-validated by the scenario schema and
    cross-field checks; :class:`SweepError` names the path, the value and what is wrong."""
    data = base.model_dump(mode="json")
    for path, value in values.items():
        _set(data, path, value)
    label = ", ".join(f"{p}={_canonical(v)}" for p, v in values.items())
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise SweepError([
            f"--sweep {label}: {'.'.join(map(str, e['loc'])) or '(scenario)'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]) from None
    issues = check_scenario(scenario)
    if issues:
        raise SweepError([
            f"--sweep {label}: {'.'.join(map(str, i.loc))}: {i.message}"
            + (f" (allowed {i.allowed})" if i.allowed else "")
            for i in issues
        ])
    return scenario


def point_key(values: dict[str, Any]) -> str:
    """Stable 12-hex-digit key of a sweep point (independent of the order paths were given)."""
    text = json.dumps(sorted(values.items()), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def build_points(base: Scenario, axes: Sequence[SweepAxis]) -> list[SweepPoint]:
    """Every point of the grid (the product of the axes, first axis slowest), each validated.

    Every value is first tried on its own (so each bad value is reported once, naming its path),
    then every combination; all problems are collected into one :class:`SweepError`.
    """
    paths = [a.path for a in axes]
    if len(set(paths)) != len(paths):
        raise SweepError(["--sweep: a path is swept twice: " + ", ".join(paths)])
    problems: list[str] = []
    for axis in axes:
        for value in axis.values:
            try:
                apply_values(base, {axis.path: value})
            except SweepPathError as exc:
                problems += list(exc.problems)
                break  # a bad path: one message is enough
            except SweepError as exc:
                problems += [p for p in exc.problems if p not in problems]
    if problems:
        raise SweepError(problems)
    points = []
    for index, combo in enumerate(itertools.product(*(a.values for a in axes))):
        values = dict(zip(paths, combo, strict=True))
        try:
            scenario = apply_values(base, values) if values else base
        except SweepError as exc:
            problems += list(exc.problems)
            continue
        points.append(SweepPoint(index, values, point_key(values), scenario))
    if problems:
        raise SweepError(problems)
    return points
