"""Radar configuration: one validated model per radar type, each with its type's preset values.

A scenario file names a radar's ``type`` (``lcmr``, ``wlr`` or ``fcr``) and where it stands; every
other value comes from the type's preset (the defaults of its model below) unless the file
overrides it. The presets, their sources and confidence marks are tabulated in docs/sensors.md.
The models are pydantic (frozen, unknown keys rejected, finite numbers only) so that the scenario
loader reports a bad value as ``FILE:LINE: sensors.N.FIELD: ...``; the three are a discriminated
union on ``type`` (:data:`RadarConfig`).

Units follow the file conventions: degrees for angles a person writes (sectors, elevations,
masks), milliradians for angular noise, SI for everything else. :mod:`counterram.sensors.radar`
converts to radians once.

The position field reuses the scenario's point models. The scenario package imports this module
(its ``equipment`` module re-exports these models), so the point models are imported at the end
of this module and the models completed there; either package can be imported first.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, Tag, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:  # imported for real at the end of the module (see the docstring)
    from counterram.scenario.geometry import Position

__all__ = [
    "RADAR_TYPES",
    "FcrConfig",
    "LcmrConfig",
    "MaskPoint",
    "RadarBias",
    "RadarConfig",
    "WlrConfig",
    "preset",
    "reference_snr",
]

RADAR_TYPES = ("lcmr", "wlr", "fcr")
ScanMode = Literal["rotating", "electronic"]


class _Strict(BaseModel):
    # The scenario models' settings (scenario.geometry.StrictModel), and defaults validated too
    # so that the order checks (min < max) also see preset values.
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True,
        str_max_length=200,
    )


def reference_snr(pfa: float, pd: float = 0.9) -> float:
    """Mean SNR (linear) at which a Swerling-1 target is detected with probability ``pd``.

    Swerling 1, one look, square-law detector: ``Pd = Pfa ** (1 / (1 + SNR))``, hence
    ``SNR = ln(Pfa) / ln(Pd) - 1``.
    """
    return math.log(pfa) / math.log(pd) - 1.0


class RadarBias(_Strict):
    """A fault: from ``from_s`` on, every plot of the radar is off by these amounts (a
    misaligned antenna, a wrong north reference, a range-gate offset), while the engine still
    believes its nominal noise."""

    from_s: float = Field(default=0.0, ge=0.0, description="When the bias starts, s")
    range_m: float = Field(default=0.0, ge=-1000.0, le=1000.0, description="Range offset, m")
    azimuth_mrad: float = Field(default=0.0, ge=-200.0, le=200.0,
                                description="Azimuth offset, mrad (clockwise positive)")
    elevation_mrad: float = Field(default=0.0, ge=-200.0, le=200.0,
                                  description="Elevation offset, mrad")


class MaskPoint(_Strict):
    """One point of an elevation mask: below ``elevation_deg`` at ``azimuth_deg`` the radar sees
    nothing (terrain, buildings). Linear in azimuth between points, wrapping at 360°."""

    azimuth_deg: float = Field(ge=0.0, lt=360.0, description="Compass bearing, deg")
    elevation_deg: float = Field(ge=-10.0, le=90.0, description="Lowest visible elevation, deg")


class _RadarBase(_Strict):
    """Fields common to every radar type; the defaults are overridden per type."""

    name: str = Field(min_length=1)
    type: str = Field(description="Radar type: lcmr, wlr or fcr")
    position: Position
    attached_to: str | None = Field(
        default=None, description="Name of the effector this radar serves"
    )
    # -- coverage ---------------------------------------------------------------------------
    sector_center_deg: float = Field(
        default=0.0, ge=0.0, lt=360.0, description="Centre of the azimuth sector, compass deg"
    )
    sector_width_deg: float = Field(
        default=360.0, gt=0.0, le=360.0, description="Width of the azimuth sector, deg (360 = all)"
    )
    min_elevation_deg: float = Field(
        default=0.5, ge=-10.0, le=90.0, description="Lowest elevation seen, deg"
    )
    max_elevation_deg: float = Field(
        default=90.0, ge=-10.0, le=90.0, description="Highest elevation seen, deg"
    )
    elevation_mask: tuple[MaskPoint, ...] = Field(
        default=(), description="Lowest elevation by azimuth (terrain, buildings); "
        "the higher of this and min_elevation_deg applies"
    )
    min_range_m: float = Field(default=200.0, ge=0.0, description="Blind range, m")
    max_range_m: float = Field(default=10_000.0, gt=0.0, description="Instrumented range, m")
    # -- scan -------------------------------------------------------------------------------
    scan: ScanMode = Field(
        default="rotating",
        description="rotating: a beam turning clockwise, one look per turn; electronic: the "
        "whole coverage looked at every revisit_s",
    )
    revisit_s: float = Field(
        default=2.0, gt=0.0, le=60.0, description="Rotation period or electronic revisit time, s"
    )
    scan_start_deg: float = Field(
        default=0.0, ge=0.0, lt=360.0, description="Beam azimuth at time 0 (rotating), deg"
    )
    # -- detection --------------------------------------------------------------------------
    reference_range_m: float = Field(
        default=7_000.0, gt=0.0, description="Range at which Pd = 0.9 for reference_rcs_m2, m"
    )
    reference_rcs_m2: float = Field(default=0.01, gt=0.0, description="Reference RCS, m²")
    pfa: float = Field(
        default=1e-6, gt=0.0, le=1e-2, description="False-alarm probability per resolution cell"
    )
    false_alarms_per_scan: float = Field(
        default=0.5, ge=0.0, le=1000.0, description="Mean false plots per scan (Poisson)"
    )
    # -- measurement ------------------------------------------------------------------------
    range_sigma_m: float = Field(default=15.0, gt=0.0, description="Range noise, 1σ, m")
    azimuth_sigma_mrad: float = Field(default=5.0, gt=0.0, description="Azimuth noise, 1σ, mrad")
    elevation_sigma_mrad: float = Field(
        default=5.0, gt=0.0, description="Elevation noise, 1σ, mrad"
    )
    radial_velocity_sigma_mps: float | None = Field(
        default=None, gt=0.0, description="Radial velocity noise, 1σ, m/s (null: not measured)"
    )
    latency_s: float = Field(
        default=0.5, ge=0.0, le=60.0, description="Delay from measurement to report, s"
    )
    outages: tuple[tuple[float, float], ...] = Field(
        default=(), description="Time windows [t0, t1] (s) in which the radar reports nothing"
    )
    bias: RadarBias | None = Field(
        default=None, description="A measurement bias from a given time on (a fault)"
    )

    @field_validator("outages")
    @classmethod
    def _outages_ordered(
        cls, windows: tuple[tuple[float, float], ...]
    ) -> tuple[tuple[float, float], ...]:
        for t0, t1 in windows:
            if not 0.0 <= t0 <= t1:
                raise PydanticCustomError(
                    "order",
                    "outage window is inverted or negative",
                    {"allowed": "[t0, t1] with 0 ≤ t0 ≤ t1"},
                )
        return windows

    @field_validator("elevation_mask")
    @classmethod
    def _mask_azimuths_distinct(cls, mask: tuple[MaskPoint, ...]) -> tuple[MaskPoint, ...]:
        azimuths = [p.azimuth_deg for p in mask]
        if len(set(azimuths)) != len(azimuths):
            raise PydanticCustomError(
                "distinct", "repeated azimuth in the elevation mask",
                {"allowed": "one point per azimuth"},
            )
        return mask

    @field_validator("max_range_m")
    @classmethod
    def _ranges_ordered(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min_range_m")
        if low is not None and low >= value:
            raise PydanticCustomError(
                "order", f"max_range_m must exceed min_range_m ({low:g} m)",
                {"allowed": "min_range_m < max_range_m"},
            )
        return value

    @field_validator("max_elevation_deg")
    @classmethod
    def _elevations_ordered(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min_elevation_deg")
        if low is not None and low >= value:
            raise PydanticCustomError(
                "order", f"max_elevation_deg must exceed min_elevation_deg ({low:g}°)",
                {"allowed": "min_elevation_deg < max_elevation_deg"},
            )
        return value

    @property
    def measures_radial_velocity(self) -> bool:
        return self.radial_velocity_sigma_mps is not None

    @property
    def reference_snr(self) -> float:
        """Mean SNR (linear) of the reference target at the reference range."""
        return reference_snr(self.pfa)


class LcmrConfig(_RadarBase):
    """A lightweight counter-mortar radar (AN/TPQ-48/49/50-like): 360°, rotating, ~7-10 km."""

    type: Literal["lcmr"] = Field(description="lcmr: 360° rotating counter-mortar radar")


class WlrConfig(_RadarBase):
    """A weapon-locating radar (AN/TPQ-53-like): electronically scanned, long range; 360° by
    default, ``sector_width_deg: 90`` for its sector mode."""

    type: Literal["wlr"] = Field(description="wlr: electronically scanned weapon-locating radar")
    min_range_m: float = Field(default=500.0, ge=0.0, description="Blind range, m")
    max_range_m: float = Field(default=60_000.0, gt=0.0, description="Instrumented range, m")
    scan: ScanMode = "electronic"
    revisit_s: float = Field(default=0.5, gt=0.0, le=60.0, description="Revisit time, s")
    reference_range_m: float = Field(
        default=18_000.0, gt=0.0, description="Range at which Pd = 0.9 for reference_rcs_m2, m"
    )
    false_alarms_per_scan: float = Field(
        default=2.0, ge=0.0, le=1000.0, description="Mean false plots per scan (Poisson)"
    )
    range_sigma_m: float = Field(default=10.0, gt=0.0, description="Range noise, 1σ, m")
    azimuth_sigma_mrad: float = Field(default=2.5, gt=0.0, description="Azimuth noise, 1σ, mrad")
    elevation_sigma_mrad: float = Field(
        default=2.5, gt=0.0, description="Elevation noise, 1σ, mrad"
    )
    radial_velocity_sigma_mps: float | None = Field(
        default=2.0, gt=0.0, description="Radial velocity noise, 1σ, m/s (null: not measured)"
    )
    latency_s: float = Field(
        default=1.0, ge=0.0, le=60.0, description="Delay from measurement to report, s"
    )


class FcrConfig(_RadarBase):
    """A gun's fire-control radar (Phalanx-like, Ku-band): short range, precise, fast revisit,
    and blind until cued. Each look points a pencil beam at every current cue (a track position
    the engine wants refined); a round inside the beam and the range gate may be detected."""

    type: Literal["fcr"] = Field(description="fcr: a gun's cued fire-control radar")
    attached_to: str = Field(min_length=1, description="Name of the gun this radar serves")
    min_elevation_deg: float = Field(
        default=0.0, ge=-10.0, le=90.0, description="Lowest elevation seen, deg"
    )
    min_range_m: float = Field(default=50.0, ge=0.0, description="Blind range, m")
    max_range_m: float = Field(default=5_000.0, gt=0.0, description="Instrumented range, m")
    scan: ScanMode = "electronic"
    revisit_s: float = Field(default=0.1, gt=0.0, le=60.0, description="Look interval, s")
    reference_range_m: float = Field(
        default=3_000.0, gt=0.0, description="Range at which Pd = 0.9 for reference_rcs_m2, m"
    )
    false_alarms_per_scan: float = Field(
        default=0.01, ge=0.0, le=1000.0, description="Mean false plots per cued look (Poisson)"
    )
    range_sigma_m: float = Field(default=1.0, gt=0.0, description="Range noise, 1σ, m")
    azimuth_sigma_mrad: float = Field(default=0.5, gt=0.0, description="Azimuth noise, 1σ, mrad")
    elevation_sigma_mrad: float = Field(
        default=0.5, gt=0.0, description="Elevation noise, 1σ, mrad"
    )
    radial_velocity_sigma_mps: float | None = Field(
        default=0.3, gt=0.0, description="Radial velocity noise, 1σ, m/s (null: not measured)"
    )
    latency_s: float = Field(
        default=0.05, ge=0.0, le=60.0, description="Delay from measurement to report, s"
    )
    beamwidth_deg: float = Field(
        default=2.0, gt=0.0, le=20.0, description="Full width of the cued beam, deg"
    )
    range_gate_m: float = Field(
        default=200.0, gt=0.0, description="Half-width of the range gate around a cue, m"
    )
    cue_hold_s: float = Field(
        default=0.5, gt=0.0, le=60.0, description="How long a cue stays valid, s"
    )


RadarConfig = Annotated[
    Union[  # noqa: UP007  (the tags need the Union form)
        Annotated[LcmrConfig, Tag("lcmr")],
        Annotated[WlrConfig, Tag("wlr")],
        Annotated[FcrConfig, Tag("fcr")],
    ],
    Field(discriminator="type"),
]
"""Any radar: a union of the three types, told apart by ``type``."""

_MODELS: dict[str, type[_RadarBase]] = {"lcmr": LcmrConfig, "wlr": WlrConfig, "fcr": FcrConfig}


def preset(radar_type: str) -> dict[str, object]:
    """The preset values of a radar type (its defaults), keyed by field name."""
    try:
        model = _MODELS[radar_type]
    except KeyError:
        raise ValueError(
            f"unknown radar type {radar_type!r}; allowed one of {', '.join(RADAR_TYPES)}"
        ) from None
    return {
        name: field.default
        for name, field in model.model_fields.items()
        if not field.is_required()
    }


# The point models live in the scenario package, which imports this module: import them now that
# the models above exist, then complete the models (see the module docstring).
from counterram.scenario.geometry import Position  # noqa: E402

for _model in (LcmrConfig, WlrConfig, FcrConfig):
    _model.model_rebuild(_types_namespace={"Position": Position})
