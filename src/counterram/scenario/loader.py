"""Read a scenario file and report every problem with its file, line, field and allowed values.

pydantic says *which field* is wrong (a ``loc`` path such as ``('threats', 2, 'munition')``);
PyYAML's node tree says *where* each field is written. This module joins the two: it parses the
YAML once into nodes (keeping their line marks), builds the data from those nodes, validates the
data against :class:`~counterram.scenario.schema.Scenario`, runs the cross-field checks of
:mod:`counterram.scenario.checks`, and maps every finding back to a line of the file.

A scenario file is untrusted input, so the loader bounds what it will do before it builds
anything: files of at most :data:`MAX_FILE_BYTES`, nesting of at most :data:`MAX_DEPTH` levels,
and at most :data:`MAX_NODES` values once aliases are expanded (a "billion laughs" alias bomb
is a few lines that expand to 10⁹ values); a recursive alias, a NUL byte or an integer too long
to read is a problem of the file like any other, never a traceback. Validation is strict
(the document is validated as JSON): ``"300"`` is not a number and ``true`` is not 1 s.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from counterram.scenario.checks import Issue, check_scenario
from counterram.scenario.errors import Problem, ScenarioError
from counterram.scenario.geometry import POSITION_FORMS
from counterram.scenario.library import DEFAULT_SCENARIO, builtin_names, builtin_text
from counterram.scenario.schema import Scenario

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "load_scenario",
    "load_text",
    "validate_file",
    "validate_text",
]

YamlNode = yaml.Node

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Largest scenario file read (4 MiB; the built-in scenarios are a few kB, a 1,000-threat raid
file a few hundred kB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a scenario needs about 8)."""
MAX_NODES = 200_000
"""Most values (scalars, mappings, lists) in a file with its aliases expanded."""
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e12`` and ``1e-6`` as numbers as YAML 1.2 does (YAML
    1.1 wants a dot and a signed exponent, ``1.0e+12``, and reads the rest as text, which a
    strict number field would refuse)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def load_scenario(
    name_or_path: str | Path | None = None, *, catalogue: Any = None, runnable: bool = False
) -> Scenario:
    """Load a built-in scenario by name or a scenario file by path (default: the built-in
    ``baghdad-embassy``). Raises :class:`ScenarioError` listing every problem. ``runnable``
    also requires what a run needs (a sensor and a threat; a truth-only study needs neither
    sensors nor guns)."""
    text, source = _read(DEFAULT_SCENARIO if name_or_path is None else name_or_path)
    return load_text(text, source, catalogue=catalogue, runnable=runnable)


def load_text(
    text: str, source: str = "<string>", *, catalogue: Any = None, runnable: bool = False
) -> Scenario:
    """Load a scenario from YAML text; ``source`` names it in error messages (``runnable``:
    :func:`load_scenario`)."""
    scenario, problems = _check(text, source, catalogue, runnable)
    if problems or scenario is None:
        raise ScenarioError(problems)
    return scenario


def validate_file(
    path: str | Path, *, catalogue: Any = None, runnable: bool = True
) -> list[Problem]:
    """Every problem of a scenario file (or built-in name); an empty list means it is valid,
    and, with ``runnable`` (the default: what ``validate`` answers), that it can be run."""
    try:
        text, source = _read(path)
    except ScenarioError as exc:
        return list(exc.problems)
    return validate_text(text, source, catalogue=catalogue, runnable=runnable)


def validate_text(
    text: str, source: str = "<string>", *, catalogue: Any = None, runnable: bool = True
) -> list[Problem]:
    """Every problem of scenario YAML ``text``; an empty list means it is valid (and, with
    ``runnable``, can be run)."""
    return _check(text, source, catalogue, runnable)[1]


# --------------------------------------------------------------------------------------------
# Reading and parsing
# --------------------------------------------------------------------------------------------
def _read(name_or_path: str | Path) -> tuple[str, str]:
    path = Path(name_or_path)
    if _is_file(path):
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ScenarioError([_too_big(str(path), size)])
            return path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            problem = Problem(str(path), None, "", f"cannot read the file: {exc}")
            raise ScenarioError([problem]) from None
    name = str(name_or_path)
    if name in builtin_names():
        return builtin_text(name), f"builtin:{name}"
    raise ScenarioError([Problem(
        name, None, "", "no such file or built-in scenario", name,
        "a path to a YAML file or a built-in name: " + ", ".join(builtin_names()),
    )])


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a NUL byte or an over-long name
        return False


def _too_big(source: str, size: int) -> Problem:
    return Problem(source, None, "", f"the file is too large ({size:,} bytes)",
                   allowed=f"at most {MAX_FILE_BYTES:,} bytes")


def _parse(text: str, source: str) -> tuple[YamlNode | None, Any, list[Problem]]:
    """YAML text → (root node, plain data, problems); one parse, nodes keep their lines."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        return None, None, [_too_big(source, size)]
    loader = None
    try:
        loader = _Loader(text)
        root = loader.get_single_node()
        if root is not None:
            bounds = _bounds(root, source)
            if bounds is not None:
                return None, None, [bounds]
            duplicates = _duplicate_keys(root, source)
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        context = exc.context or ""
        if context and exc.context_mark is not None and exc.context_mark is not mark:
            context += f" (line {exc.context_mark.line + 1})"
        what = ": ".join(str(p) for p in (context, exc.problem) if p)
        return None, None, [Problem(source, line, "", f"broken YAML: {what}")]
    except yaml.YAMLError as exc:
        what = " ".join(str(exc).split())
        return None, None, [Problem(source, None, "", f"broken YAML: {what}")]
    except RecursionError:
        return None, None, [Problem(source, None, "", "nesting too deep",
                                    allowed=f"at most {MAX_DEPTH} levels of mappings and lists")]
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. an integer of 5,000 digits
        what = " ".join(str(exc).split())[:200]
        return None, None, [Problem(source, None, "", f"unreadable value: {what}")]
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        return None, None, [Problem(source, 1, "", "the file is empty",
                                    allowed="a mapping with name, origin, duration_s, ...")]
    if not isinstance(root, yaml.MappingNode):
        return None, None, [Problem(source, _line(root), "", "the file is not a mapping of fields",
                                    data, "a mapping with name, origin, duration_s, ...")]
    return root, data, duplicates


def _children(node: YamlNode) -> list[YamlNode]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _bounds(root: YamlNode, source: str) -> Problem | None:
    """A problem when the node tree nests too deep, refers to itself, or expands (aliases
    followed) to more than :data:`MAX_NODES` values; without building anything. Iterative and
    memoised by node, so an alias bomb costs its size in the file, not its expansion."""
    expanded: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[YamlNode, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            expanded[key] = 1 + sum(expanded[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if depth[key] > MAX_DEPTH:
                return Problem(source, _line(node), "", "nesting too deep",
                               allowed=f"at most {MAX_DEPTH} levels of mappings and lists")
            if expanded[key] > MAX_NODES:
                return Problem(source, _line(node), "",
                               "the file expands to too many values (an alias bomb?)",
                               allowed=f"at most {MAX_NODES:,} values with aliases expanded")
            continue
        if key in expanded:
            continue
        if key in on_path:
            return Problem(source, _line(node), "", "an alias refers to itself",
                           allowed="anchors used only after their definition is complete")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in expanded)
        if len(on_path) > MAX_DEPTH:
            return Problem(source, _line(node), "", "nesting too deep",
                           allowed=f"at most {MAX_DEPTH} levels of mappings and lists")
    return None


def _duplicate_keys(root: YamlNode, source: str) -> list[Problem]:
    """YAML silently keeps the last of two equal keys; report them instead. Read before the
    merge keys (``<<: *anchor``) are applied: a key given next to a merge overrides the merged
    one, as YAML intends; each node is visited once (an alias is not a second copy)."""
    problems: list[Problem] = []
    visited: set[int] = set()
    stack: list[tuple[YamlNode, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    continue
                k = key.value if isinstance(key, yaml.ScalarNode) else None
                if k is not None and k in seen:
                    problems.append(Problem(source, _line(key), _dotted((*path, k)),
                                            "duplicate key (the later value would silently win)",
                                            allowed="each key once per mapping"))
                seen.add(k)
                stack.append((value, (*path, k)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
    return problems


def _check(
    text: str, source: str, catalogue: Any, runnable: bool = False
) -> tuple[Scenario | None, list[Problem]]:
    root, data, problems = _parse(text, source)
    if root is None:
        return None, problems
    try:
        # strict validation of the document as JSON: numbers are numbers (no "300" or true),
        # lists stand for tuples; non-JSON YAML scalars (dates) become text
        document = json.dumps(data, default=_json_scalar, ensure_ascii=False)
        scenario = Scenario.model_validate_json(document, strict=True)
    except ValidationError as exc:
        problems += [_from_pydantic(err, root, source) for err in exc.errors(include_url=False)]
        return None, _sorted(problems)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        what = " ".join(str(exc).split())[:200]
        return None, _sorted([*problems, Problem(source, None, "", f"unreadable value: {what}")])
    try:
        issues = check_scenario(scenario, catalogue, runnable=runnable)
    except ValueError as exc:  # the munition catalogue itself is unreadable
        problems.append(Problem(source, None, "threats", f"cannot check munitions: {exc}"))
        return scenario, problems
    problems += [_from_issue(issue, root, data, source) for issue in issues]
    return scenario, _sorted(problems)


def _json_scalar(value: Any) -> str:
    """A YAML scalar that JSON lacks: a date is its text (``name: 2024-01-01``); binary data
    and sets have no place in a scenario."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"a YAML {type(value).__name__} (!!binary, !!set, ...) has no place in a "
                    "scenario; write text, numbers, lists and mappings")


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


# --------------------------------------------------------------------------------------------
# Locating a field path in the YAML node tree
# --------------------------------------------------------------------------------------------
def _line(node: YamlNode) -> int:
    return node.start_mark.line + 1


def _locate(root: YamlNode, loc: tuple) -> tuple[int, tuple]:
    """(line, path) of a pydantic ``loc`` in the node tree.

    Union tags inside ``loc`` (``'geo'``, ``'lcmr'``, ...) are not keys of the file and are
    skipped; a key missing from the file (a required field) is located at its mapping.
    """
    node, line, path = root, _line(root), []
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            found = next(((k, v) for k, v in node.value if k.value == key), None)
            if found is None:
                if last:
                    path.append(key)
                continue  # a union tag
            path.append(key)
            line, node = _line(found[0]), found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if not 0 <= key < len(node.value):
                path.append(key)
                break
            path.append(key)
            node = node.value[key]
            line = _line(node)
        elif isinstance(key, str) and not last:
            continue
        else:
            path.append(key)
            break
    return line, tuple(path)


def _data_at(data: Any, path: tuple, default: Any) -> Any:
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


# --------------------------------------------------------------------------------------------
# Turning pydantic errors into problems
# --------------------------------------------------------------------------------------------
_TYPE_WORDS = {
    "float": "a number", "int": "a whole number", "string": "text", "bool": "true or false",
}


def _from_pydantic(err: dict, root: YamlNode, source: str) -> Problem:
    loc, kind, ctx = tuple(err["loc"]), err["type"], err.get("ctx") or {}
    line, path = _locate(root, loc)
    value: Any = err.get("input")
    message = err["msg"].removeprefix("Value error, ")
    allowed = str(ctx.get("allowed", ""))
    has_value = True
    if kind == "missing":
        message, has_value = "required field is missing", False
        allowed = _describe_field(loc)
    elif kind == "extra_forbidden":
        fields = _field_names(loc[:-1])
        message = "unknown field"
        if fields:
            close = difflib.get_close_matches(str(loc[-1]), fields, n=1, cutoff=0.6)
            if close:
                message += f"; did you mean {close[0]!r}?"
            allowed = "fields " + ", ".join(fields)
        has_value = False
    elif kind == "literal_error":
        message, allowed = "not an allowed value", "one of " + str(ctx.get("expected", ""))
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        field = str(ctx.get("discriminator", "type")).strip("'")
        line, path = _locate(root, (*loc, field))
        value = value.get(field) if isinstance(value, dict) else value
        has_value = kind == "union_tag_invalid"
        message = "unknown type" if has_value else f"the {field!r} field is missing"
        allowed = "one of " + str(ctx.get("expected_tags") or _expected_tags(loc, field))
    elif kind == "position":
        message, allowed = "not a position", POSITION_FORMS
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        message = "out of range"
        allowed = _describe_field(loc) or message
    elif kind.endswith(("_parsing", "_type", "_from_float")) and kind.split("_")[0] in _TYPE_WORDS:
        message = f"expected {_TYPE_WORDS[kind.split('_')[0]]}"
        allowed = _describe_field(loc)
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "expected a mapping of fields"
        fields = _field_names(loc)
        allowed = "fields " + ", ".join(fields) if fields else ""
    elif kind in ("tuple_type", "list_type"):
        message = "expected a list"
    elif kind == "finite_number":
        message = "not a finite number"
        allowed = _describe_field(loc) or "a finite number"
    elif kind == "string_too_long":
        message = "too long"
        allowed = f"at most {ctx.get('max_length')} characters"
    if isinstance(value, dict | list) and kind not in ("union_tag_invalid",):
        has_value = has_value and len(str(value)) < 80
    if has_value:
        return Problem(source, line, _dotted(path), message, value, allowed)
    return Problem(source, line, _dotted(path), message, allowed=allowed)


def _from_issue(issue: Issue, root: YamlNode, data: Any, source: str) -> Problem:
    line, path = _locate(root, issue.loc)
    if issue.has_value:
        # Show the value as written in the file when it can be found there.
        value = _data_at(data, path, issue.value) if path == issue.loc else issue.value
        return Problem(source, line, _dotted(path), issue.message, value, issue.allowed)
    return Problem(source, line, _dotted(path), issue.message, allowed=issue.allowed)


# --------------------------------------------------------------------------------------------
# Walking the schema's types along a loc path (for "unknown field" and "allowed" texts)
# --------------------------------------------------------------------------------------------
def _strip(tp: Any) -> Any:
    """Remove Annotated wrappers and Optional."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _tag(tp: Any) -> Any:
    if get_origin(tp) is Annotated:
        for meta in get_args(tp)[1:]:
            if hasattr(meta, "tag"):
                return meta.tag
    return None


def _walk_types(loc: tuple) -> tuple[Any, FieldInfo | None]:
    """The type (and model field, if the last step was one) reached by ``loc`` from Scenario."""
    tp: Any = Scenario
    info: FieldInfo | None = None
    for key in loc:
        tp = _strip(tp)
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            chosen = next((a for a in get_args(tp) if _tag(a) == key), None)
            if chosen is None:
                return None, None
            tp, info = chosen, None
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            if key in tp.model_fields:
                info = tp.model_fields[key]
                tp = info.annotation
            elif not isinstance(key, str):
                return None, None
            # else: a tag of a one-variant union; stay on this model
        elif origin is tuple and isinstance(key, int):
            args = get_args(tp)
            tp = args[0] if len(args) == 2 and args[1] is Ellipsis else (
                args[key] if key < len(args) else None)
            info = None
        else:
            return None, None
    return tp, info


def _expected_tags(loc: tuple, field: str) -> str:
    """The values a discriminator ``field`` accepts at ``loc`` (from the variants' Literals)."""
    tp = _strip(_walk_types(loc)[0])
    variants = get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,)
    tags: list[str] = []
    for variant in variants:
        variant = _strip(variant)
        is_model = isinstance(variant, type) and issubclass(variant, BaseModel)
        if is_model and field in variant.model_fields:
            tags += [repr(a) for a in get_args(_strip(variant.model_fields[field].annotation))]
    return ", ".join(tags)


def _field_names(loc: tuple) -> list[str]:
    tp, _ = _walk_types(loc)
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _describe_field(loc: tuple) -> str:
    """What a field accepts: its bounds and type, e.g. ``a number, -90 ≤ value ≤ 90``."""
    tp, info = _walk_types(loc)
    if info is None:
        return ""
    parts: list[str] = []
    base = _strip(tp)
    if base in (float, int, str, bool):
        parts.append(_TYPE_WORDS[{float: "float", int: "int", str: "string", bool: "bool"}[base]])
    elif get_origin(base) is typing.Literal:
        parts.append("one of " + ", ".join(repr(a) for a in get_args(base)))
    elif isinstance(base, type) and issubclass(base, BaseModel):
        parts.append("a mapping with fields " + ", ".join(base.model_fields))
    elif get_origin(base) is tuple:
        parts.append("a list")
    elif _tag(get_args(base)[0] if get_args(base) else None) in ("geo", "enu"):
        parts.append(POSITION_FORMS)
    lower = upper = ""
    for meta in info.metadata:  # annotated_types Gt/Ge/Lt/Le carry one attribute each
        if getattr(meta, "gt", None) is not None:
            lower = f"{meta.gt:g} < "
        elif getattr(meta, "ge", None) is not None:
            lower = f"{meta.ge:g} ≤ "
        elif getattr(meta, "lt", None) is not None:
            upper = f" < {meta.lt:g}"
        elif getattr(meta, "le", None) is not None:
            upper = f" ≤ {meta.le:g}"
    if lower or upper:
        parts.append(f"{lower}value{upper}")
    return ", ".join(parts)
