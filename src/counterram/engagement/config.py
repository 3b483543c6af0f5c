"""Gun configuration: the model a scenario file writes, and the resolved gun fire control uses.

A scenario names a gun's ``type: gun``, where it stands and only the values it overrides; every
other value is the default below. The defaults follow the public figures of FACTS.md section 4
(land-based Phalanx / LPWS: M61A1, 75 rounds/s, 1,550-round magazine, ~1,100 m/s muzzle velocity,
~1.5 mrad dispersion, slew ~115°/s, reaction 0.3 s, azimuth ±150°, elevation −25°…+85°), most of
them marked weak or unverified there; the rest (burst length, fire-control error, engagement
range and altitude, re-lay time) are model choices. docs/engagement.md tabulates every default with
its source and confidence mark.

The model is pydantic (frozen, unknown keys rejected, finite numbers only, defaults validated too)
so the scenario loader reports a bad value as ``FILE:LINE: effectors.N.FIELD: ...``. Angles are in
degrees and angular errors in milliradians, as people write them; :class:`Gun` converts once to
SI units and the site frame (position, no-fire polygons) and carries the ammunition from the
munition catalogue with its self-destruct time and dud rate (overridable per gun).

The position and area fields reuse the scenario's point models. The scenario package imports this
module (its ``equipment`` module re-exports :class:`GunConfig`), so the point models are imported
at the end of this module and the models completed there; either package can be imported first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from shapely.geometry import Polygon

from counterram.engagement.intercept import GunLimits

if TYPE_CHECKING:  # imported for real at the end of the module (see the docstring)
    from counterram.physics.catalogue import Munition
    from counterram.scenario.geometry import Position

__all__ = [
    "DEFAULT_AMMUNITION",
    "Gun",
    "GunConfig",
    "NoFireArea",
    "NoFireCircle",
    "NoFireSector",
    "guns_from_scenario",
    "in_no_fire_sector",
]

DEFAULT_AMMUNITION = "20mm-sd"


class _Strict(BaseModel):
    # The scenario models' settings (scenario.geometry.StrictModel), with defaults validated so
    # that the order checks (min < max) also see default values.
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True,
        str_max_length=200,
    )


class NoFireSector(_Strict):
    """Azimuths (clockwise from ``from_azimuth_deg`` to ``to_azimuth_deg``) the gun must not fire
    into at or below ``max_elevation_deg`` (90 = at any elevation; e.g. 20 = never low over a
    hospital, but high shots that burst far above it are allowed)."""

    from_azimuth_deg: float = Field(ge=0.0, lt=360.0, description="Sector start, compass deg")
    to_azimuth_deg: float = Field(ge=0.0, lt=360.0, description="Sector end (clockwise), deg")
    max_elevation_deg: float = Field(
        default=90.0, ge=-90.0, le=90.0, description="Highest forbidden elevation, deg"
    )


class NoFireCircle(_Strict):
    """A disc on the ground."""

    center: Position
    radius_m: float = Field(gt=0.0, description="Radius, m")


class NoFireArea(_Strict):
    """A ground polygon or circle the line of fire must not cross (a hospital, an approach lane):
    its ground track, from the gun to ``no_fire_overshoot_m`` beyond the intercept point, may not
    touch the area."""

    name: str = Field(default="", description="Label used in hold reasons")
    polygon: tuple[Position, ...] | None = Field(
        default=None, min_length=3, description="Ring of three or more positions (not closed)"
    )
    circle: NoFireCircle | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> NoFireArea:
        from counterram.scenario.geometry import require_one

        require_one(self, ("polygon", "circle"))
        return self


def _order_error(name: str, low_name: str, low: float, unit: str) -> PydanticCustomError:
    return PydanticCustomError(
        "order", f"{name} must exceed {low_name} ({low:g} {unit})",
        {"allowed": f"{low_name} < {name}"},
    )


class GunConfig(_Strict):
    """A C-RAM gun firing self-destructing rounds (defaults: FACTS.md section 4, see the module
    docstring and docs/engagement.md for sources and confidence)."""

    name: str = Field(min_length=1)
    type: Literal["gun"] = Field(description="gun: a 20 mm C-RAM gun")
    position: Position
    # -- ammunition -------------------------------------------------------------------------
    ammunition: str = Field(
        default=DEFAULT_AMMUNITION, description="Interceptor round (catalogue name or alias)"
    )
    self_destruct_s: float | None = Field(
        default=None, gt=0.0, le=60.0,
        description="Round self-destruct time, s (null: the catalogue's value)",
    )
    dud_rate: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Share of rounds whose self-destruct fails (null: the catalogue's value)",
    )
    muzzle_velocity_mps: float | None = Field(
        default=None, gt=0.0, le=3000.0,
        description="Muzzle velocity, m/s (null: the ammunition's catalogue value, 1,100 m/s)",
    )
    # -- fire ---------------------------------------------------------------------------------
    magazine: int = Field(default=1550, gt=0, le=100_000, description="Rounds loaded")
    rate_of_fire_rps: float = Field(default=75.0, gt=0.0, le=200.0, description="Rounds per second")
    burst_rounds: int = Field(default=50, ge=1, le=2000, description="Rounds per burst")
    dispersion_mrad: float = Field(
        default=1.5, gt=0.0, le=50.0, description="Per-round dispersion, per-axis 1σ, mrad"
    )
    fire_control_sigma_mrad: float = Field(
        default=0.5, ge=0.0, le=50.0,
        description="Aim error shared by a burst (fire-control solution), per-axis 1σ, mrad",
    )
    kill_model: Literal["presented_area", "lethal_radius"] = Field(
        default="presented_area",
        description=(
            "How a round kills: presented_area (it strikes the threat's silhouette and the hit "
            "defeats it with the catalogue's defeat_given_hit) or lethal_radius (it passes "
            "within the catalogue's lethal_radius_m); see counterram.engagement.lethality"
        ),
    )
    # -- engagement envelope ------------------------------------------------------------------
    min_range_m: float = Field(default=200.0, ge=0.0, description="Shortest slant range, m")
    max_range_m: float = Field(default=2000.0, gt=0.0, description="Longest slant range, m")
    min_altitude_m: float = Field(
        default=50.0, ge=0.0, description="Lowest intercept height above the ground, m"
    )
    heading_deg: float = Field(
        default=0.0, ge=0.0, lt=360.0, description="Centre of azimuth travel, compass deg"
    )
    azimuth_limit_deg: float = Field(
        default=150.0, gt=0.0, le=180.0, description="Travel either side of heading_deg, deg"
    )
    elevation_min_deg: float = Field(default=-25.0, ge=-90.0, le=90.0)
    elevation_max_deg: float = Field(default=85.0, ge=-90.0, le=90.0)
    slew_rate_dps: float = Field(default=115.0, gt=0.0, le=1000.0, description="Slew rate, deg/s")
    reaction_time_s: float = Field(
        default=0.3, ge=0.0, le=60.0, description="Order to first round, s"
    )
    retarget_s: float = Field(
        default=0.5, ge=0.0, le=60.0, description="Re-lay and re-acquire time between bursts, s"
    )
    # -- restrictions -------------------------------------------------------------------------
    no_fire_sectors: tuple[NoFireSector, ...] = ()
    no_fire_areas: tuple[NoFireArea, ...] = ()
    no_fire_overshoot_m: float = Field(
        default=500.0, ge=0.0, le=10_000.0,
        description="How far beyond the intercept the line of fire is kept out of no-fire areas, m",
    )
    withhold_if_collateral_exceeds_benefit: bool = Field(
        default=False,
        description="Hold fire when an engagement's expected casualties exceed those it averts",
    )

    @field_validator("burst_rounds")
    @classmethod
    def _burst_fits_magazine(cls, value: int, info: ValidationInfo) -> int:
        # a field validator (magazine is declared first) so that the error names burst_rounds
        magazine = info.data.get("magazine")
        if magazine is not None and value > magazine:
            raise PydanticCustomError(
                "burst_exceeds_magazine",
                f"burst_rounds ({value}) exceeds the magazine ({magazine} rounds): no burst "
                "could be fired",
                {"allowed": f"burst_rounds ≤ magazine ({magazine})"},
            )
        return value

    @field_validator("max_range_m")
    @classmethod
    def _ranges_ordered(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min_range_m")
        if low is not None and low >= value:
            raise _order_error("max_range_m", "min_range_m", low, "m")
        return value

    @field_validator("elevation_max_deg")
    @classmethod
    def _elevations_ordered(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("elevation_min_deg")
        if low is not None and low >= value:
            raise _order_error("elevation_max_deg", "elevation_min_deg", low, "deg")
        return value

    @property
    def burst_s(self) -> float:
        """Duration of one burst, s."""
        return self.burst_rounds / self.rate_of_fire_rps


def in_no_fire_sector(
    sectors_rad: NDArray[np.float64], azimuth_rad: ArrayLike, elevation_rad: ArrayLike
) -> NDArray[np.bool_]:
    """Whether each aim (azimuth, elevation) falls in one of the sectors (S, 3) =
    (start, end clockwise, highest forbidden elevation), all in radians."""
    az = np.asarray(azimuth_rad, dtype=float) % (2.0 * np.pi)
    el = np.asarray(elevation_rad, dtype=float)
    out = np.zeros(np.broadcast_shapes(az.shape, el.shape), dtype=bool)
    for start, end, max_el in np.asarray(sectors_rad, dtype=float).reshape(-1, 3):
        width = (end - start) % (2.0 * np.pi)
        inside = ((az - start) % (2.0 * np.pi)) <= width
        out |= inside & (el <= max_el)
    return out


@dataclass(frozen=True)
class Gun:
    """A gun in the site frame, in SI units, with its ammunition resolved from the catalogue.

    ``limits`` carries everything :func:`~counterram.engagement.intercept.engagement_window`
    checks (position, ranges, height, travel, slew, reaction, no-fire areas, self-destruct time);
    the no-fire sectors, which may stop at an elevation, are kept apart in
    ``no_fire_sectors_rad`` (S, 3) and checked by :func:`in_no_fire_sector`.
    """

    config: GunConfig
    position_enu: NDArray[np.float64]
    limits: GunLimits
    no_fire_sectors_rad: NDArray[np.float64]
    no_fire_area_names: tuple[str, ...]
    interceptor: Munition
    muzzle_speed_mps: float

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def rounds_per_burst(self) -> int:
        return self.config.burst_rounds

    @property
    def burst_s(self) -> float:
        return self.config.burst_s

    @property
    def dispersion_rad(self) -> float:
        return self.config.dispersion_mrad * 1e-3

    @property
    def fire_control_sigma_rad(self) -> float:
        return self.config.fire_control_sigma_mrad * 1e-3

    @property
    def self_destruct_s(self) -> float:
        return float(self.interceptor.self_destruct_s)  # type: ignore[arg-type]

    @property
    def dud_rate(self) -> float:
        return float(self.interceptor.dud_rate or 0.0)

    @classmethod
    def from_config(
        cls,
        config: GunConfig,
        *,
        site: Any | None = None,
        position_enu: ArrayLike | None = None,
        catalogue: Any | None = None,
    ) -> Gun:
        """Resolve a config: positions through ``site`` (a :class:`counterram.geo.Site`; needed
        only for geodetic positions), or ``position_enu`` given directly (3,)."""
        from counterram.physics.catalogue import load_catalogue
        from counterram.scenario.geometry import EnuPoint
        from counterram.scenario.site_frame import area_to_site, point_to_site

        cat = catalogue if catalogue is not None else load_catalogue()
        munition = cat.get(config.ammunition)
        if munition.kind != "interceptor":
            raise ValueError(
                f"gun {config.name!r}: ammunition {munition.name!r} is a {munition.kind}, "
                "not an interceptor round"
            )
        update: dict[str, float] = {}
        if config.self_destruct_s is not None:
            update["self_destruct_s"] = config.self_destruct_s
        if config.dud_rate is not None:
            update["dud_rate"] = config.dud_rate
        if update:
            munition = munition.model_copy(update=update)
        if munition.self_destruct_s is None:
            raise ValueError(
                f"gun {config.name!r}: ammunition {munition.name!r} has no self_destruct_s; "
                "give self_destruct_s in the gun's entry"
            )

        def need_site() -> Any:
            if site is None:
                raise ValueError(
                    f"gun {config.name!r}: geodetic positions need the scenario site to resolve"
                )
            return site

        if position_enu is not None:
            pos = np.asarray(position_enu, dtype=float).reshape(3)
        elif isinstance(config.position, EnuPoint):
            pos = np.array([config.position.east_m, config.position.north_m, config.position.up_m])
        else:
            pos = point_to_site(need_site(), config.position)
        areas: list[Polygon] = []
        for area in config.no_fire_areas:
            if area.polygon is not None:
                geo = any(not isinstance(pt, EnuPoint) for pt in area.polygon)
            else:
                geo = area.circle is not None and not isinstance(area.circle.center, EnuPoint)
            areas.append(area_to_site(need_site() if geo else None, area).polygon)  # type: ignore[arg-type]
        speed = config.muzzle_velocity_mps or next(iter(munition.charges.values()))
        limits = GunLimits(
            position_enu=(float(pos[0]), float(pos[1]), float(pos[2])),
            min_range_m=config.min_range_m,
            max_range_m=config.max_range_m,
            min_altitude_m=config.min_altitude_m,
            azimuth_center_rad=math.radians(config.heading_deg),
            azimuth_half_width_rad=math.radians(config.azimuth_limit_deg),
            elevation_min_rad=math.radians(config.elevation_min_deg),
            elevation_max_rad=math.radians(config.elevation_max_deg),
            no_fire_sectors_rad=(),
            no_fire_areas=tuple(areas),
            overshoot_m=config.no_fire_overshoot_m,
            slew_rate_radps=math.radians(config.slew_rate_dps),
            reaction_time_s=config.reaction_time_s,
            max_round_tof_s=munition.self_destruct_s,
        )
        sectors = np.array(
            [
                [math.radians(s.from_azimuth_deg), math.radians(s.to_azimuth_deg),
                 math.radians(s.max_elevation_deg)]
                for s in config.no_fire_sectors
            ],
            dtype=float,
        ).reshape(-1, 3)
        names = tuple(a.name or f"no-fire area {k}" for k, a in enumerate(config.no_fire_areas))
        return cls(config, pos, limits, sectors, names, munition, float(speed))


def guns_from_scenario(resolved: Any, catalogue: Any | None = None) -> tuple[Gun, ...]:
    """The guns of a :class:`~counterram.scenario.resolved.ResolvedScenario`."""
    return tuple(
        Gun.from_config(e.spec, site=resolved.site, position_enu=e.position_m, catalogue=catalogue)
        for e in resolved.effectors
    )


# The point models live in the scenario package, which imports this module: import them now that
# the models above exist, then complete the models (see the module docstring).
from counterram.physics.catalogue import Munition  # noqa: E402
from counterram.scenario.geometry import Position  # noqa: E402

for _model in (NoFireCircle, NoFireArea, GunConfig):
    _model.model_rebuild(_types_namespace={"Position": Position, "NoFireCircle": NoFireCircle})
