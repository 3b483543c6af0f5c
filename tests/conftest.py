"""Shared test fixtures."""

from __future__ import annotations

import pytest

from counterram.scenario import Scenario, load_scenario
from counterram.sim import SimulationResult, simulate


def two_firings() -> Scenario:
    """Two firings from baghdad-embassy (a 3-rocket salvo and a 3-bomb mortar string), 200 s:
    a whole kill chain in a few seconds of simulation."""
    sc = load_scenario("baghdad-embassy")
    rockets = sc.threats[1].model_copy(update={"count": 1, "time_window_s": None,
                                               "start_time_s": 20.0})
    mortars = sc.threats[3].model_copy(update={"count": 1, "time_window_s": None,
                                               "start_time_s": 30.0})
    return sc.model_copy(update={"threats": (rockets, mortars), "duration_s": 200.0})


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    """:func:`two_firings`, once per session."""
    return two_firings()


@pytest.fixture(scope="session")
def small_run() -> SimulationResult:
    """:func:`two_firings` simulated with seed 1, once per session (its plot lines replay
    through the live engine)."""
    return simulate(two_firings(), seed=1)
