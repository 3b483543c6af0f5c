"""Positions and areas as written in scenario files.

A position is either geodetic (``{latitude_deg, longitude_deg[, altitude_m]}``) or given directly
in the site frame (``{east_m, north_m[, up_m]}``), so a file can use map coordinates, offsets from
the origin, or both. An area is a polygon (three or more positions) or a circle (centre and
radius). These models only describe what the file says; :mod:`counterram.scenario.resolved` turns
them into site-frame numpy arrays and shapely polygons through :mod:`counterram.geo`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_NAME_CHARS",
    "POSITION_FORMS",
    "Area",
    "Circle",
    "EnuPoint",
    "GeoPoint",
    "Position",
    "StrictModel",
    "require_one",
]


MAX_NAME_CHARS = 200
"""Longest text field of a scenario other than its description (names, munitions, charges):
a name is echoed in every message about its item, so a megabyte of it is refused."""


class StrictModel(BaseModel):
    """Base of every scenario model: immutable, unknown keys rejected, finite numbers only,
    text fields at most :data:`MAX_NAME_CHARS` long."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              str_max_length=MAX_NAME_CHARS)


class GeoPoint(StrictModel):
    """A position in WGS84 degrees; without ``altitude_m`` it is on the (flat) ground."""

    latitude_deg: float = Field(ge=-90.0, le=90.0, description="WGS84 latitude, degrees north")
    longitude_deg: float = Field(ge=-180.0, le=180.0, description="WGS84 longitude, degrees east")
    altitude_m: float | None = Field(
        default=None,
        description="Altitude above mean sea level, m; omitted = on the ground at the origin's "
        "altitude",
    )


class EnuPoint(StrictModel):
    """A position in the site frame: metres east and north of the origin, height above it."""

    east_m: float = Field(description="Metres east of the origin")
    north_m: float = Field(description="Metres north of the origin")
    up_m: float = Field(default=0.0, description="Height above the origin's altitude, m")


POSITION_FORMS = (
    "{latitude_deg, longitude_deg[, altitude_m]} or {east_m, north_m[, up_m]}"
)


def _position_tag(value: Any) -> str | None:
    if isinstance(value, GeoPoint):
        return "geo"
    if isinstance(value, EnuPoint):
        return "enu"
    if isinstance(value, dict):
        if "latitude_deg" in value or "longitude_deg" in value:
            return "geo"
        if "east_m" in value or "north_m" in value:
            return "enu"
    return None


Position = Annotated[
    Annotated[GeoPoint, Tag("geo")] | Annotated[EnuPoint, Tag("enu")],
    Discriminator(
        _position_tag,
        custom_error_type="position",
        custom_error_message="not a position",
    ),
]
"""A geodetic or a site-frame position, told apart by its keys."""


class Circle(StrictModel):
    """A disc on the ground."""

    center: Position
    radius_m: float = Field(gt=0.0, description="Radius, m")


class Area(StrictModel):
    """A polygon or a circle (exactly one of the two)."""

    polygon: tuple[Position, ...] | None = Field(
        default=None, min_length=3, description="Ring of three or more positions (not closed)"
    )
    circle: Circle | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Area:
        require_one(self, ("polygon", "circle"))
        return self


def require_one(model: BaseModel, names: tuple[str, ...]) -> None:
    """Raise a clear validation error unless exactly one of ``names`` is set on ``model``."""
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        allowed = "exactly one of " + ", ".join(names)
        msg = "none of " + ", ".join(names) + " given" if not given else (
            " and ".join(given) + " are exclusive"
        )
        raise PydanticCustomError("one_of", msg, {"allowed": allowed})
