"""The simulated world: a scenario's raids expanded into launches, aimed, flown and recorded as
the truth that sensors observe and that tracking, warning and engagement are scored against.

Typical use::

    from counterram.scenario import load_scenario
    from counterram.world import build_truth, read_truth, write_truth

    truth = build_truth(load_scenario("baghdad-embassy"))
    ids, states = truth.states_at(120.0)        # rounds airborne at t = 120 s, (M, 6)
    write_truth(truth, "truth.parquet")         # or .jsonl
"""

from counterram.world.build import build_truth
from counterram.world.launches import (
    PE_PER_SIGMA,
    TRUTH_STREAM,
    LaunchPlan,
    delivery_pe,
    draw_delivery_errors,
    plan_launches,
    truth_seed_sequence,
)
from counterram.world.storage import TRUTH_COLUMNS, read_truth, truth_table, write_truth
from counterram.world.truth import Truth

__all__ = [
    "PE_PER_SIGMA",
    "TRUTH_COLUMNS",
    "TRUTH_STREAM",
    "LaunchPlan",
    "Truth",
    "build_truth",
    "delivery_pe",
    "draw_delivery_errors",
    "plan_launches",
    "read_truth",
    "truth_seed_sequence",
    "truth_table",
    "write_truth",
]
