"""The simulator: truth events, kills leaving the world, plots recorded, the end of a run."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import two_firings
from counterram.events import (
    EngagementOrdered,
    EngagementOutcome,
    RoundImpacted,
    RoundLaunched,
)
from counterram.sensors.plotio import read_plots
from counterram.sim import SimulationResult, simulate


def small_scenario():
    """The shared two-firing scenario (conftest): at seed 4 the guns engage and kill some
    rounds, a fast run with every kind of event."""
    return two_firings()


SEED = 4


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return simulate(small_scenario(), seed=SEED)


def test_every_round_launches_once_and_ends_once(result: SimulationResult) -> None:
    n = len(result.truth)
    launches = [e for e in result.events if isinstance(e, RoundLaunched)]
    impacts = [e for e in result.events if isinstance(e, RoundImpacted)]
    kills = [e for e in result.events if isinstance(e, EngagementOutcome) and e.killed]
    assert sorted(e.round_id for e in launches) == list(range(n))
    ended = sorted([e.round_id for e in impacts] + [e.round_id for e in kills])
    assert ended == list(range(n))  # each round impacts or is killed, never both
    for e in impacts:
        assert e.time_s == pytest.approx(result.truth.impact_time_s[e.round_id])
    # the run stops after the last all-clear: within the duration, after the last impact
    assert result.end_time_s <= result.scenario.scenario.duration_s
    assert result.end_time_s > max(e.time_s for e in impacts + kills)


def test_killed_rounds_leave_the_world(result: SimulationResult) -> None:
    killed = np.flatnonzero(np.isfinite(result.kill_time_s))
    assert killed.size > 0, "seed 4 of the small scenario has intercepts"
    labels = result.plot_labels.round_id
    for r in killed:
        t_kill = result.kill_time_s[r]
        seen = result.plots.time_s[labels == r]
        assert seen.size > 0
        assert np.all(seen < t_kill), "no plot of a killed round measured after its kill"
        assert t_kill < result.truth.impact_time_s[r]


def test_outcomes_follow_orders(result: SimulationResult) -> None:
    orders = [e for e in result.events if isinstance(e, EngagementOrdered)]
    outcomes = [e for e in result.events if isinstance(e, EngagementOutcome)]
    assert len(outcomes) == len(orders)  # every burst ordered before the end is resolved
    for o in orders:
        assert o.fire_time_s >= o.time_s
        assert o.intercept_time_s > o.fire_time_s
        assert o.rounds > 0 and 0.0 < o.predicted_pk <= 1.0
    for out in outcomes:
        assert out.truth
    by_track = {o.track_id for o in orders}
    assert {o.track_id for o in outcomes} <= by_track


def test_log_is_time_ordered_per_step(result: SimulationResult) -> None:
    times = np.array([e.time_s for e in result.events])
    # truth events carry their own time inside the step; nothing is ever a step late
    assert np.all(np.diff(times) >= -result.step_s)


def test_recorded_plot_lines_are_the_plots_the_engine_received(
    result: SimulationResult,
) -> None:
    lines = [result.plots_header, *result.plot_lines]
    plots, labels, reader = read_plots(lines)
    assert reader.total_rejected == 0
    assert len(plots) == len(result.plots) == result.engine.plots_accepted
    # per-round detection counts agree with the labels of the recorded plots
    counts = np.bincount(labels.round_id[labels.round_id >= 0], minlength=len(result.truth))
    np.testing.assert_array_equal(counts, result.detections)


def test_bad_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        simulate(small_scenario(), seed=-1)


def test_first_detection_is_each_rounds_earliest_plot(result: SimulationResult) -> None:
    first = result.first_detection_s()
    ids = result.plot_labels.round_id
    for r in range(len(result.truth)):
        times = result.plots.time_s[ids == r]
        if times.size:
            assert first[r] == times.min()
            assert first[r] < result.truth.impact_time_s[r]
        else:
            assert np.isnan(first[r])
