"""Scenario files: the format (pydantic schema), a loader whose errors name file, line and field,
the built-in scenarios, and the site-frame view the simulation reads.

Typical use::

    from counterram.scenario import load_scenario
    scenario = load_scenario("baghdad-embassy")      # or a path to a YAML file
    world = resolve(scenario)                        # every position in site-frame metres
"""

from counterram.scenario.checks import Issue, check_scenario
from counterram.scenario.dump import dump_scenario
from counterram.scenario.equipment import EffectorSpec, GunSpec, NoFireSector, RadarSpec, SensorSpec
from counterram.scenario.errors import Problem, ScenarioError
from counterram.scenario.geometry import Area, Circle, EnuPoint, GeoPoint, Position
from counterram.scenario.library import DEFAULT_SCENARIO, builtin_names, builtin_text
from counterram.scenario.loader import load_scenario, load_text, validate_file, validate_text
from counterram.scenario.resolved import (
    ResolvedArea,
    ResolvedAsset,
    ResolvedEffector,
    ResolvedPopulation,
    ResolvedScenario,
    ResolvedSensor,
    ResolvedThreat,
    ResolvedZone,
    resolve,
)
from counterram.scenario.schema import (
    ASSET_KINDS,
    AtmosphereSpec,
    DefendedAsset,
    Origin,
    PopulatedArea,
    Scenario,
    ThreatSpec,
    WarningZone,
    WindLayer,
    WindSpec,
)

__all__ = [
    "ASSET_KINDS",
    "DEFAULT_SCENARIO",
    "Area",
    "AtmosphereSpec",
    "Circle",
    "DefendedAsset",
    "EffectorSpec",
    "EnuPoint",
    "GeoPoint",
    "GunSpec",
    "Issue",
    "NoFireSector",
    "Origin",
    "PopulatedArea",
    "Position",
    "Problem",
    "RadarSpec",
    "ResolvedArea",
    "ResolvedAsset",
    "ResolvedEffector",
    "ResolvedPopulation",
    "ResolvedScenario",
    "ResolvedSensor",
    "ResolvedThreat",
    "ResolvedZone",
    "Scenario",
    "ScenarioError",
    "SensorSpec",
    "ThreatSpec",
    "WarningZone",
    "WindLayer",
    "WindSpec",
    "builtin_names",
    "builtin_text",
    "check_scenario",
    "dump_scenario",
    "load_scenario",
    "load_text",
    "resolve",
    "validate_file",
    "validate_text",
]
