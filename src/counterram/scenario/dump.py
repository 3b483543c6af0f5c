"""Write a scenario back to YAML, so that load → dump → load gives an equal model.

Used to print built-in scenarios, to save scenarios built or edited in Python, and to record the
exact scenario a run used next to its results. Fields at their default values are left out so the
output reads like a hand-written file.
"""

from __future__ import annotations

import yaml

from counterram.scenario.schema import Scenario

__all__ = ["dump_scenario"]


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text (fields in schema order, defaults omitted)."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
