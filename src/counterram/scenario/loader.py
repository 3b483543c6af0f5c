"""Read a scenario file and report every problem with its file, line, field and allowed values.

pydantic says *which field* is wrong (a ``loc`` path such as ``('threats', 2, 'munition')``);
PyYAML's node tree says *where* each field is written. This module joins the two: it parses the
YAML once into nodes (keeping their line marks), builds the data from those nodes, validates the
data against :class:`~counterram.scenario.schema.Scenario`, runs the cross-field checks of
:mod:`counterram.scenario.checks`, and maps every finding back to a line of the file.
"""

from __future__ import annotations

import difflib
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
    "load_scenario",
    "load_text",
    "validate_file",
    "validate_text",
]

YamlNode = yaml.Node


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def load_scenario(name_or_path: str | Path | None = None, *, catalogue: Any = None) -> Scenario:
    """Load a built-in scenario by name or a scenario file by path (default: the built-in
    ``baghdad-embassy``). Raises :class:`ScenarioError` listing every problem."""
    text, source = _read(DEFAULT_SCENARIO if name_or_path is None else name_or_path)
    return load_text(text, source, catalogue=catalogue)


def load_text(text: str, source: str = "<string>", *, catalogue: Any = None) -> Scenario:
    """Load a scenario from YAML text; ``source`` names it in error messages."""
    scenario, problems = _check(text, source, catalogue)
    if problems or scenario is None:
        raise ScenarioError(problems)
    return scenario


def validate_file(path: str | Path, *, catalogue: Any = None) -> list[Problem]:
    """Every problem of a scenario file (or built-in name); an empty list means it is valid."""
    try:
        text, source = _read(path)
    except ScenarioError as exc:
        return list(exc.problems)
    return validate_text(text, source, catalogue=catalogue)


def validate_text(text: str, source: str = "<string>", *, catalogue: Any = None) -> list[Problem]:
    """Every problem of scenario YAML ``text``; an empty list means it is valid."""
    return _check(text, source, catalogue)[1]


# --------------------------------------------------------------------------------------------
# Reading and parsing
# --------------------------------------------------------------------------------------------
def _read(name_or_path: str | Path) -> tuple[str, str]:
    path = Path(name_or_path)
    if path.is_file():
        try:
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


def _parse(text: str, source: str) -> tuple[YamlNode | None, Any, list[Problem]]:
    """YAML text → (root node, plain data, problems); one parse, nodes keep their lines."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
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
        return None, None, [Problem(source, None, "", f"broken YAML: {exc}")]
    finally:
        loader.dispose()
    if root is None:
        return None, None, [Problem(source, 1, "", "the file is empty",
                                    allowed="a mapping with name, origin, duration_s, ...")]
    if not isinstance(root, yaml.MappingNode):
        return None, None, [Problem(source, _line(root), "", "the file is not a mapping of fields",
                                    data, "a mapping with name, origin, duration_s, ...")]
    return root, data, _duplicate_keys(root, source, ())


def _duplicate_keys(node: YamlNode, source: str, path: tuple) -> list[Problem]:
    """YAML silently keeps the last of two equal keys; report them instead."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            k = key.value
            if k in seen:
                problems.append(Problem(source, _line(key), _dotted((*path, k)),
                                        "duplicate key (the later value would silently win)",
                                        allowed="each key once per mapping"))
            seen.add(k)
            problems += _duplicate_keys(value, source, (*path, k))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, source, (*path, i))
    return problems


def _check(text: str, source: str, catalogue: Any) -> tuple[Scenario | None, list[Problem]]:
    root, data, problems = _parse(text, source)
    if root is None:
        return None, problems
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems += [_from_pydantic(err, root, source) for err in exc.errors(include_url=False)]
        return None, _sorted(problems)
    try:
        issues = check_scenario(scenario, catalogue)
    except ValueError as exc:  # the munition catalogue itself is unreadable
        problems.append(Problem(source, None, "threats", f"cannot check munitions: {exc}"))
        return scenario, problems
    problems += [_from_issue(issue, root, data, source) for issue in issues]
    return scenario, _sorted(problems)


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
