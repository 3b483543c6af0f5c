"""The munition catalogue: physical data of every threat and of the interceptor round, with sources.

Why it exists: every physical number the simulation uses for a munition (mass, calibre, drag curve,
charges, motor, ranges, delivery errors, radar cross-section, lethal radius, probability that a
hit defeats it, self-destruct time) lives in one data file, ``counterram/data/munitions.yaml``,
where each value carries its public source and a confidence mark (``published``, ``weak``,
``unverified``, ``derived``, ``calibrated``). Unverified values are declared as such, and a
scenario can override any of them with :meth:`Munition.with_overrides`.

Two layers of models:

* the *file* models (:class:`SourcedFloat`, :class:`DragTable`, :class:`MunitionEntry`) mirror the
  YAML, so that a validation error points at the exact place in the file
  (``munitions[2] (81mm-mortar).mass_kg.value``);
* :class:`Munition` is the flat, frozen record the physics uses (``mass_kg`` is a float), with
  every value's provenance kept in :attr:`Munition.sources`.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

__all__ = [
    "CONFIDENCE_MARKS",
    "Catalogue",
    "CatalogueError",
    "ChargeEntry",
    "Confidence",
    "DragTable",
    "Munition",
    "MunitionEntry",
    "Provenance",
    "SourcedFloat",
    "UnknownChargeError",
    "UnknownMunitionError",
    "load_catalogue",
]

Confidence = Literal["published", "weak", "unverified", "derived", "calibrated"]
CONFIDENCE_MARKS: tuple[str, ...] = ("published", "weak", "unverified", "derived", "calibrated")
Kind = Literal["rocket", "mortar", "artillery", "interceptor"]

#: The drag table must cover at least this Mach number (threats and the interceptor both fly
#: supersonic; the interceptor leaves the muzzle above Mach 3).
MIN_TABLE_MACH = 3.0

PositiveFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class CatalogueError(ValueError):
    """A catalogue file could not be read or is invalid; the message names the file and field."""


class UnknownMunitionError(ValueError):
    """A munition name (or alias) that is not in the catalogue."""


class UnknownChargeError(ValueError):
    """A charge name that the munition does not have."""


# --------------------------------------------------------------------------------------------
# File models: mirror the YAML so that error locations are paths in the file.
# --------------------------------------------------------------------------------------------
class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Provenance(_Frozen):
    """Where a value comes from and how far to trust it."""

    source: Annotated[str, Field(min_length=3)]
    confidence: Confidence
    note: str | None = None


class SourcedFloat(Provenance):
    """A physical value with its provenance."""

    value: Annotated[float, Field(allow_inf_nan=False)]

    @property
    def provenance(self) -> Provenance:
        return Provenance(source=self.source, confidence=self.confidence, note=self.note)


class ChargeEntry(SourcedFloat):
    """A charge's muzzle (or rail-exit) velocity, with the published range it reaches if known."""

    max_range_m: SourcedFloat | None = None


class DragTable(Provenance):
    """Drag coefficient against Mach number, referred to the calibre area pi d^2 / 4."""

    mach: tuple[NonNegativeFloat, ...]
    cd: tuple[PositiveFloat, ...]

    @model_validator(mode="after")
    def _check_table(self) -> DragTable:
        if len(self.mach) != len(self.cd):
            raise ValueError(
                f"mach and cd must have the same length (got {len(self.mach)} and {len(self.cd)})"
            )
        if len(self.mach) < 4:
            raise ValueError(f"the table needs at least 4 points (got {len(self.mach)})")
        if self.mach[0] != 0.0:
            raise ValueError(f"mach must start at 0 (got {self.mach[0]})")
        if any(b <= a for a, b in zip(self.mach, self.mach[1:], strict=False)):
            raise ValueError("mach must be strictly increasing")
        if self.mach[-1] < MIN_TABLE_MACH:
            raise ValueError(f"mach must reach at least {MIN_TABLE_MACH} (got {self.mach[-1]})")
        return self


class MunitionEntry(_Frozen):
    """One munition as written in the catalogue file."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9.\-]*$")]
    kind: Kind
    aliases: tuple[str, ...] = ()
    description: str = ""
    mass_kg: SourcedFloat
    burnout_mass_kg: SourcedFloat | None = None
    diameter_m: SourcedFloat
    length_m: SourcedFloat | None = None
    drag: DragTable
    charges: Annotated[dict[str, ChargeEntry], Field(min_length=1)]
    burn_time_s: SourcedFloat | None = None
    thrust_n: SourcedFloat | None = None
    launch_tube_m: SourcedFloat | None = None
    max_range_m: SourcedFloat
    min_range_m: SourcedFloat | None = None
    elevation_min_deg: SourcedFloat
    elevation_max_deg: SourcedFloat
    range_pe_m: SourcedFloat
    deflection_pe_m: SourcedFloat
    rcs_m2: SourcedFloat
    lethal_radius_m: SourcedFloat | None = None
    defeat_given_hit: SourcedFloat | None = None
    self_destruct_s: SourcedFloat | None = None
    dud_rate: SourcedFloat | None = None

    def to_munition(self) -> Munition:
        """Flatten into the record the physics uses, keeping every value's provenance."""
        values: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "aliases": self.aliases,
            "description": self.description,
            "mach": self.drag.mach,
            "cd": self.drag.cd,
            "charges": {k: v.value for k, v in self.charges.items()},
            "charge_max_range_m": {
                k: v.max_range_m.value for k, v in self.charges.items() if v.max_range_m
            },
        }
        sources: dict[str, Provenance] = {
            "drag": Provenance(
                source=self.drag.source, confidence=self.drag.confidence, note=self.drag.note
            )
        }
        for key, charge in self.charges.items():
            sources[f"charges.{key}"] = charge.provenance
            if charge.max_range_m is not None:
                sources[f"charges.{key}.max_range_m"] = charge.max_range_m.provenance
        for field in _SOURCED_SCALARS:
            sourced = getattr(self, field)
            if sourced is not None:
                values[field] = sourced.value
                sources[field] = sourced.provenance
        values["sources"] = sources
        return Munition(**values)


# --------------------------------------------------------------------------------------------
# The flat record used by the physics.
# --------------------------------------------------------------------------------------------
class Munition(_Frozen):
    """A munition's physical data in SI units, flat and frozen.

    ``charges`` maps a charge name to the muzzle velocity (for rockets: the speed at rail or tube
    exit), in the order written in the file (lowest charge first); ``charge_max_range_m`` holds the
    published maximum range of the charges for which one is known (the top charge's is
    ``max_range_m``). Delivery probable errors are given at maximum range and scale with range.
    """

    name: str
    kind: Kind
    aliases: tuple[str, ...] = ()
    description: str = ""
    mass_kg: PositiveFloat
    burnout_mass_kg: PositiveFloat | None = None
    diameter_m: PositiveFloat
    length_m: PositiveFloat | None = None
    mach: tuple[float, ...]
    cd: tuple[float, ...]
    charges: Annotated[dict[str, PositiveFloat], Field(min_length=1)]
    charge_max_range_m: dict[str, PositiveFloat] = Field(default_factory=dict)
    burn_time_s: NonNegativeFloat = 0.0
    thrust_n: NonNegativeFloat = 0.0
    launch_tube_m: NonNegativeFloat | None = None
    max_range_m: PositiveFloat
    min_range_m: NonNegativeFloat = 0.0
    elevation_min_deg: Annotated[float, Field(ge=-90.0, le=90.0)]
    elevation_max_deg: Annotated[float, Field(ge=-90.0, le=90.0)]
    range_pe_m: NonNegativeFloat
    deflection_pe_m: NonNegativeFloat
    rcs_m2: PositiveFloat
    lethal_radius_m: PositiveFloat | None = None
    defeat_given_hit: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    self_destruct_s: PositiveFloat | None = None
    dud_rate: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    sources: Mapping[str, Provenance] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _default_burnout_mass(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("burnout_mass_kg") is None:
            # only a valid mass is copied, so that a bad one is reported once, as mass_kg
            try:
                mass = float(data.get("mass_kg"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                mass = math.nan
            if mass > 0:
                data = {**data, "burnout_mass_kg": mass}
        return data

    @model_validator(mode="after")
    def _check_consistency(self) -> Munition:
        problems: list[str] = []
        if len(self.mach) != len(self.cd):
            problems.append("mach and cd must have the same length")
        if any(b <= a for a, b in zip(self.mach, self.mach[1:], strict=False)):
            problems.append("mach must be strictly increasing")
        if any(c <= 0.0 for c in self.cd):
            problems.append("cd must be positive")
        if self.burnout_mass_kg is None or self.burnout_mass_kg > self.mass_kg:
            problems.append(
                f"burnout_mass_kg ({self.burnout_mass_kg}) exceeds mass_kg ({self.mass_kg})"
            )
        if self.elevation_min_deg >= self.elevation_max_deg:
            problems.append("elevation_min_deg must be below elevation_max_deg")
        if not set(self.charge_max_range_m) <= set(self.charges):
            problems.append("charge_max_range_m names a charge that is not in charges")
        if self.min_range_m >= self.max_range_m:
            problems.append("min_range_m must be below max_range_m")
        if self.kind == "rocket":
            if self.burn_time_s <= 0.0 or self.thrust_n <= 0.0:
                problems.append("a rocket needs burn_time_s > 0 and thrust_n > 0")
            if len(self.charges) != 1:
                problems.append("a rocket has exactly one charge (its rail-exit speed)")
        elif self.burn_time_s != 0.0 or self.thrust_n != 0.0:
            problems.append(f"a {self.kind} has no motor: burn_time_s and thrust_n must be 0")
        if self.kind == "interceptor":
            if self.self_destruct_s is None or self.dud_rate is None:
                problems.append("an interceptor needs self_destruct_s and dud_rate")
        else:
            if self.self_destruct_s is not None or self.dud_rate is not None:
                problems.append("only an interceptor has self_destruct_s and dud_rate")
            if self.lethal_radius_m is None:
                problems.append("a threat needs lethal_radius_m")
            if self.defeat_given_hit is None:
                problems.append("a threat needs defeat_given_hit")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---------------------------------------------------------------- derived quantities
    @property
    def area_m2(self) -> float:
        """Reference (calibre) area pi d^2 / 4, to which ``cd`` is referred."""
        return math.pi * self.diameter_m**2 / 4.0

    @property
    def charge_names(self) -> tuple[str, ...]:
        """Charge names in file order (lowest first)."""
        return tuple(self.charges)

    @property
    def top_charge(self) -> str:
        """The charge with the highest muzzle velocity."""
        return max(self.charges, key=self.charges.__getitem__)

    def charge_velocity(self, charge: str | int | None = None) -> float:
        """Muzzle (or rail-exit) velocity of ``charge`` in m/s; ``None`` means the top charge."""
        if charge is None:
            return self.charges[self.top_charge]
        key = str(charge)
        if key not in self.charges:
            raise UnknownChargeError(
                f"{self.name} has no charge {key!r}; allowed charges: "
                + ", ".join(self.charge_names)
            )
        return self.charges[key]

    # ---------------------------------------------------------------- provenance
    def provenance(self, field: str) -> Provenance:
        """Source and confidence of one value: ``"mass_kg"``, ``"charges.4"``, ``"drag"`` (also
        reached as ``"mach"`` or ``"cd"``). :attr:`sources` holds them all."""
        if field in ("mach", "cd"):
            field = "drag"
        if field not in self.sources:
            raise KeyError(
                f"{self.name}: no provenance for {field!r}; known: " + ", ".join(self.sources)
            )
        return self.sources[field]

    def confidence_summary(self) -> dict[str, int]:
        """How many values carry each confidence mark, in the order of :data:`CONFIDENCE_MARKS`."""
        counts = Counter(p.confidence for p in self.sources.values())
        return {mark: counts[mark] for mark in CONFIDENCE_MARKS if counts[mark]}

    def with_overrides(self, source: str = "override", **values: Any) -> Munition:
        """A validated copy with some values replaced (e.g. from a scenario file).

        Replaced values are marked ``unverified`` with ``source`` as their citation. ``charges``
        may be given as a partial mapping; it is merged into the existing charges.
        """
        unknown = sorted(set(values) - set(type(self).model_fields) - {"sources"})
        if unknown:
            raise ValueError(
                f"{self.name}: cannot override unknown field(s) {', '.join(unknown)}; allowed: "
                + ", ".join(f for f in type(self).model_fields if f != "sources")
            )
        data = self.model_dump()
        sources = dict(self.sources)
        mark = Provenance(source=source, confidence="unverified")
        for key, value in values.items():
            if key == "charges":
                data["charges"] = {**self.charges, **{str(k): v for k, v in value.items()}}
                for charge in value:
                    sources[f"charges.{charge}"] = mark
            else:
                data[key] = value
                sources["drag" if key in ("mach", "cd") else key] = mark
        data["sources"] = sources
        return Munition.model_validate(data)


# Every single-valued, sourced field of an entry (the order of the file's columns).
_SOURCED_SCALARS: tuple[str, ...] = (
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
    "defeat_given_hit",
    "self_destruct_s",
    "dud_rate",
)


class CatalogueFile(_Frozen):
    """The catalogue file as written."""

    version: Literal[1] = 1
    munitions: Annotated[tuple[MunitionEntry, ...], Field(min_length=1)]


# --------------------------------------------------------------------------------------------
# The catalogue.
# --------------------------------------------------------------------------------------------
class Catalogue:
    """The munitions of one catalogue file, looked up by name or alias (case-insensitive)."""

    def __init__(self, munitions: tuple[Munition, ...], source: str = "<memory>") -> None:
        self._munitions = tuple(munitions)
        self.source = source
        self._lookup: dict[str, Munition] = {}
        for munition in self._munitions:
            for key in (munition.name, *munition.aliases):
                folded = key.casefold()
                if folded in self._lookup:
                    other = self._lookup[folded].name
                    raise CatalogueError(
                        f"{source}: name or alias {key!r} of {munition.name} is already used by "
                        f"{other}"
                    )
                self._lookup[folded] = munition

    def names(self) -> list[str]:
        """Canonical munition names, in file order."""
        return [m.name for m in self._munitions]

    def aliases(self) -> dict[str, str]:
        """Alias -> canonical name."""
        return {a: m.name for m in self._munitions for a in m.aliases}

    def get(self, name: str) -> Munition:
        """The munition called ``name`` (a canonical name or an alias, any case)."""
        found = self._lookup.get(str(name).strip().casefold())
        if found is not None:
            return found
        raise UnknownMunitionError(self._unknown_message(str(name)))

    def _unknown_message(self, name: str) -> str:
        keys = list(self._lookup)
        close = difflib.get_close_matches(name.strip().casefold(), keys, n=3, cutoff=0.5)
        suggestions: list[str] = []
        for key in close:
            canonical = self._lookup[key].name
            if canonical not in suggestions:
                suggestions.append(canonical)
        message = f"unknown munition {name!r}"
        if suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
        allowed = ", ".join(
            m.name + (f" ({', '.join(m.aliases)})" if m.aliases else "") for m in self._munitions
        )
        return message + f" Allowed munitions (aliases in brackets): {allowed}"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().casefold() in self._lookup

    def __iter__(self) -> Iterator[Munition]:
        return iter(self._munitions)

    def __len__(self) -> int:
        return len(self._munitions)

    def __getitem__(self, name: str) -> Munition:
        return self.get(name)

    def __repr__(self) -> str:
        return f"Catalogue({self.source!r}, {self.names()})"


def _format_location(loc: tuple[int | str, ...], raw: Any) -> str:
    """``('munitions', 2, 'mass_kg', 'value')`` -> ``munitions[2] (81mm-mortar).mass_kg.value``."""
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int):
            label = f"[{item}]"
            if i == 1 and loc[0] == "munitions":
                with contextlib.suppress(KeyError, IndexError, TypeError):
                    label += f" ({raw['munitions'][item]['name']})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "<top level>"


def parse_catalogue(text: str, source: str) -> Catalogue:
    """Validate catalogue YAML ``text``; errors name ``source`` and the field path."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{source}: not valid YAML: {exc}") from None
    if isinstance(raw, dict):
        # Top-level keys starting with "x-" hold shared blocks for YAML anchors.
        raw = {k: v for k, v in raw.items() if not str(k).startswith("x-")}
    try:
        parsed = CatalogueFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            where = _format_location(tuple(err["loc"]), raw)
            got = err.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            lines.append(f"  {where}: {err['msg']}{shown}")
        raise CatalogueError(
            f"{source}: invalid munition catalogue ({len(lines)} error(s)):\n" + "\n".join(lines)
        ) from None
    munitions = []
    for index, entry in enumerate(parsed.munitions):
        try:
            munitions.append(entry.to_munition())
        except ValidationError as exc:
            where = f"munitions[{index}] ({entry.name})"
            lines = []
            for err in exc.errors(include_url=False):
                path = _file_path_of(tuple(err["loc"]))
                got = err.get("input")
                shown = "" if not path or isinstance(got, dict | list) else f" (got {got!r})"
                message = err["msg"].removeprefix("Value error, ")
                lines.append(f"  {where}{'.' + path if path else ''}: {message}{shown}")
            raise CatalogueError(
                f"{source}: invalid munition catalogue ({len(lines)} error(s)):\n"
                + "\n".join(lines)
            ) from None
    return Catalogue(tuple(munitions), source=source)


def _file_path_of(loc: tuple[int | str, ...]) -> str:
    """Where a field of the flat :class:`Munition` is written in the file (``mass_kg.value``)."""
    if not loc:
        return ""
    field, rest = str(loc[0]), [str(x) for x in loc[1:]]
    if field in _SOURCED_SCALARS:
        return f"{field}.value"
    if field == "charges" and rest:
        return f"charges.{rest[0]}.value"
    if field == "charge_max_range_m" and rest:
        return f"charges.{rest[0]}.max_range_m.value"
    if field in ("mach", "cd"):
        return ".".join(["drag", field, *rest])
    return ".".join([field, *rest])


@functools.cache
def _packaged_catalogue() -> Catalogue:
    resource = resources.files("counterram").joinpath("data", "munitions.yaml")
    return parse_catalogue(resource.read_text(encoding="utf-8"), "counterram/data/munitions.yaml")


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load a munition catalogue; ``None`` loads (once, then cached) the packaged one."""
    if path is None:
        return _packaged_catalogue()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read the catalogue file: {exc.strerror}") from None
    return parse_catalogue(text, str(path))
