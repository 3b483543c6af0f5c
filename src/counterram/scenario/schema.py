"""The scenario file format: pydantic models that say what a valid file contains.

One YAML file describes a site (origin, weather), what is defended (assets, warning zones,
population), what defends it (sensors, effectors) and what is fired at it (threats). The models
check everything that can be checked field by field; checks that need several fields, the
munition catalogue or geometry (ranges, duplicate names, polygon validity, time windows) live in
:mod:`counterram.scenario.checks` and run after these pass. The JSON Schema of :class:`Scenario`
documents the format for editors and other tools.
"""

from __future__ import annotations

import datetime
import itertools
import math
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from counterram.scenario.equipment import EffectorSpec, SensorSpec
from counterram.scenario.geometry import Area, Circle, Position, StrictModel, require_one

__all__ = [
    "ASSET_KINDS",
    "EPOCH_FORMS",
    "MAX_DESCRIPTION_CHARS",
    "AtmosphereSpec",
    "DefendedAsset",
    "Origin",
    "PopulatedArea",
    "Scenario",
    "ThreatSpec",
    "WarningDistricts",
    "WarningZone",
    "WindLayer",
    "WindSpec",
    "epoch_seconds",
    "normalise_epoch",
]

AssetKind = Literal[
    "embassy", "housing", "hospital", "airfield", "base", "school", "market", "government",
    "utility", "other",
]
ASSET_KINDS: tuple[str, ...] = AssetKind.__args__  # type: ignore[attr-defined]


class Origin(StrictModel):
    """The centre of the site frame."""

    latitude_deg: float = Field(ge=-90.0, le=90.0)
    longitude_deg: float = Field(ge=-180.0, le=180.0)
    altitude_m: float = Field(default=0.0, ge=-500.0, le=9000.0,
                              description="Ground altitude above mean sea level, m")


MAX_WIND_MPS = 100.0


class ConstantWind(StrictModel):
    """The same wind at every height (components: the direction the air moves towards)."""

    east_mps: float = Field(ge=-100.0, le=100.0, description="Wind towards the east, m/s")
    north_mps: float = Field(ge=-100.0, le=100.0, description="Wind towards the north, m/s")

    @model_validator(mode="after")
    def _speed(self) -> ConstantWind:
        _check_speed(self.east_mps, self.north_mps)
        return self


class WindLayer(StrictModel):
    """Wind at one height; the profile is linear between layers and held beyond the ends."""

    height_m: float = Field(ge=0.0, le=30000.0, description="Height above the origin, m")
    east_mps: float = Field(ge=-100.0, le=100.0)
    north_mps: float = Field(ge=-100.0, le=100.0)

    @model_validator(mode="after")
    def _speed(self) -> WindLayer:
        _check_speed(self.east_mps, self.north_mps)
        return self


def _check_speed(east: float, north: float) -> None:
    speed = math.hypot(east, north)
    if speed > MAX_WIND_MPS:
        raise PydanticCustomError(
            "wind_speed", "wind speed {speed} m/s is too high",
            {"speed": f"{speed:.0f}", "allowed": f"speed ≤ {MAX_WIND_MPS:g} m/s"},
        )


class WindSpec(StrictModel):
    """Constant wind or a layered profile (exactly one)."""

    constant: ConstantWind | None = None
    layers: tuple[WindLayer, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> WindSpec:
        require_one(self, ("constant", "layers"))
        return self

    @field_validator("layers")
    @classmethod
    def _increasing(cls, layers: tuple[WindLayer, ...] | None) -> tuple[WindLayer, ...] | None:
        if layers is not None:
            heights = [layer.height_m for layer in layers]
            if any(b <= a for a, b in itertools.pairwise(heights)):
                raise PydanticCustomError(
                    "order", "layer heights are not strictly increasing",
                    {"allowed": "height_m strictly increasing from one layer to the next"},
                )
        return layers


class AtmosphereSpec(StrictModel):
    """ISA atmosphere shifted by a temperature offset, and the wind."""

    temperature_offset_k: float = Field(default=0.0, ge=-60.0, le=60.0,
                                        description="Offset from ISA temperature, K")
    wind: WindSpec | None = Field(default=None, description="Omitted = calm")


class DefendedAsset(Area):
    """Something worth protecting: a polygon or a circle with a kind and a relative value."""

    name: str = Field(min_length=1)
    kind: AssetKind
    value: float = Field(gt=0.0, description="Relative value (> 0) for threat evaluation")


class WarningZone(StrictModel):
    """An area that is warned as a whole: its own polygon or circle, or a defended asset's
    outline (``asset``), optionally grown by ``buffer_m``."""

    name: str = Field(min_length=1)
    polygon: tuple[Position, ...] | None = Field(default=None, min_length=3)
    circle: Circle | None = None
    asset: str | None = Field(default=None, description="Name of a defended asset")
    buffer_m: float = Field(default=0.0, ge=0.0, le=10_000.0,
                            description="Grow the area by this much, m")

    @model_validator(mode="after")
    def _one_shape(self) -> WarningZone:
        require_one(self, ("polygon", "circle", "asset"))
        return self


class WarningDistricts(StrictModel):
    """A city's warning districts, generated: a square of side ``extent_m`` around ``center``
    cut into ``cells_per_side``² districts named ``{prefix}-0001`` … (row by row from the
    south-west), as equal squares (``grid``) or as Voronoi cells of jittered grid points
    (``voronoi``; :mod:`counterram.scenario.districts`)."""

    prefix: str = Field(default="district", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$",
                        description="Name prefix of the generated zones")
    center: Position | None = Field(default=None, description="Omitted = the site origin")
    extent_m: float = Field(gt=0.0, le=200_000.0, description="Side of the tiled square, m")
    cells_per_side: int = Field(ge=1, le=200, description="Districts along each side")
    layout: Literal["grid", "voronoi"] = "voronoi"
    jitter: float = Field(default=0.35, ge=0.0, le=0.5,
                          description="voronoi: largest shift of a seed point, in cells")
    seed: int = Field(default=0, ge=0, lt=2**32, description="voronoi: seed of the shifts")

    @property
    def count(self) -> int:
        """How many districts the tiling makes."""
        return self.cells_per_side * self.cells_per_side


class PopulatedArea(Area):
    """People on the ground, for collateral-risk estimates."""

    name: str = Field(min_length=1)
    density_per_km2: float = Field(gt=0.0, le=200_000.0, description="People per square km")


class ThreatSpec(StrictModel):
    """A firing unit: ``count`` independent firings of ``rounds`` rounds each.

    Each firing takes its launch point from ``position`` or uniformly from ``launch_area``, its
    first launch time from ``start_time_s`` or uniformly from ``time_window_s``; its rounds leave
    ``salvo_interval_s`` apart, each aimed at ``aim_point`` or at a point drawn from
    ``aim_area``, then scattered by the delivery errors (catalogue values unless overridden).
    """

    name: str = Field(min_length=1)
    munition: str = Field(min_length=1, description="Catalogue name or alias")
    charge: str | None = Field(default=None, description="Propellant charge (mortars)")
    count: int = Field(default=1, ge=1, le=1000, description="Independent firings")
    rounds: int = Field(default=1, ge=1, le=1000, description="Rounds per firing")
    salvo_interval_s: float = Field(default=0.0, ge=0.0, le=600.0,
                                    description="Time between rounds of one firing, s")
    position: Position | None = Field(default=None, description="Launcher position")
    launch_area: Area | None = Field(default=None, description="Launch points drawn uniformly")
    aim_point: Position | None = None
    aim_area: Area | None = Field(default=None, description="Aim points drawn uniformly")
    range_pe_m: float | None = Field(default=None, gt=0.0,
                                     description="Range probable error, m (overrides catalogue)")
    deflection_pe_m: float | None = Field(
        default=None, gt=0.0, description="Deflection probable error, m (overrides catalogue)"
    )
    start_time_s: float | None = Field(default=None, ge=0.0)
    time_window_s: tuple[float, float] | None = Field(
        default=None, description="[t0, t1]: first launch drawn uniformly in this window, s"
    )
    high_angle: bool | None = Field(default=None,
                                    description="Force high (true) or low (false) angle fire")

    @model_validator(mode="after")
    def _one_each(self) -> ThreatSpec:
        require_one(self, ("position", "launch_area"))
        require_one(self, ("aim_point", "aim_area"))
        require_one(self, ("start_time_s", "time_window_s"))
        return self

    @field_validator("charge", mode="before")
    @classmethod
    def _charge_as_text(cls, charge: object) -> object:
        # Charges are named like "4" in the catalogue; accept ``charge: 4`` as well as "4".
        return str(charge) if isinstance(charge, int) and not isinstance(charge, bool) else charge

    @field_validator("time_window_s")
    @classmethod
    def _window_ordered(cls, w: tuple[float, float] | None) -> tuple[float, float] | None:
        if w is not None and not 0.0 <= w[0] <= w[1]:
            raise PydanticCustomError(
                "order", "time window is inverted or negative", {"allowed": "[t0, t1], 0 ≤ t0 ≤ t1"}
            )
        return w

    @property
    def total_rounds(self) -> int:
        return self.count * self.rounds


MAX_DESCRIPTION_CHARS = 10_000
"""Longest scenario description (a few paragraphs; the built-in ones are under 1,000)."""


class Scenario(StrictModel):
    """A complete scenario file."""

    version: Literal[1] = Field(default=1, description="File format version")
    name: str = Field(min_length=1)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    seed: int = Field(default=0, ge=0, lt=2**128,
                      description="Root seed of every random draw (below 2¹²⁸)")
    epoch: str | None = Field(
        default=None,
        description="UTC time of scenario time 0 (ISO 8601 with its zone, e.g. "
                    "2024-05-01T12:00:00Z); omitted = the wall clock when a run starts "
                    "(Cursor on Target times, docs/cot.md)",
    )
    origin: Origin
    duration_s: float = Field(gt=0.0, le=86_400.0, description="Simulated time span, s")
    atmosphere: AtmosphereSpec = AtmosphereSpec()
    defended_assets: tuple[DefendedAsset, ...] = ()
    warning_zones: tuple[WarningZone, ...] = ()
    warning_districts: WarningDistricts | None = Field(
        default=None, description="Generated warning zones tiling a city, after warning_zones")
    populated_areas: tuple[PopulatedArea, ...] = ()
    sensors: tuple[SensorSpec, ...] = ()
    effectors: tuple[EffectorSpec, ...] = ()
    threats: tuple[ThreatSpec, ...] = ()

    @field_validator("epoch")
    @classmethod
    def _epoch_utc(cls, epoch: str | None) -> str | None:
        return None if epoch is None else normalise_epoch(epoch)

    @property
    def total_rounds(self) -> int:
        """Rounds fired over the whole scenario."""
        return sum(t.total_rounds for t in self.threats)


EPOCH_FORMS = ("an ISO 8601 time with its zone, e.g. 2024-05-01T12:00:00Z or "
               "2024-05-01T15:00:00+03:00")


def normalise_epoch(text: str) -> str:
    """An ISO 8601 time with a zone (``Z`` or ``±HH:MM``) as UTC text ``YYYY-MM-DDTHH:MM:SS[.f]Z``;
    a time without a zone is refused (which zone would it be?), and so is one before 1970."""
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise PydanticCustomError("epoch", "not an ISO 8601 time", {"allowed": EPOCH_FORMS}) \
            from None
    if len(text.strip()) <= 10:
        raise PydanticCustomError("epoch", "a date without a time of day",
                                  {"allowed": EPOCH_FORMS})
    if when.tzinfo is None or when.utcoffset() is None:
        raise PydanticCustomError("epoch", "the time has no zone (add Z for UTC)",
                                  {"allowed": EPOCH_FORMS})
    when = when.astimezone(datetime.UTC)
    if when.year < 1970:
        raise PydanticCustomError("epoch", "before 1970", {"allowed": EPOCH_FORMS})
    text = when.replace(tzinfo=None).isoformat()
    return text + "Z"


def epoch_seconds(epoch: str) -> float:
    """Seconds since 1970 (UTC) of a normalised epoch (:func:`normalise_epoch`)."""
    when = datetime.datetime.fromisoformat(epoch.removesuffix("Z")).replace(tzinfo=datetime.UTC)
    return when.timestamp()
