"""Site planning: search gun and radar placements for the lowest leak rate and collateral.

Why it exists: "where do I put two guns so that the fewest rounds reach the embassy and the
fewest people are hurt by our own fire?" is answered by searching, not by hand-editing a
scenario per guess. :func:`plan_site` varies scenario fields named by dotted path (as campaign
sweeps do, :mod:`.space`), keeps positions inside a named area, runs each candidate as a small
campaign on common random numbers (:mod:`.plan`) chosen by an Optuna study (:mod:`.optimiser`),
and confirms the best site against the original on fresh seeds (:mod:`.confirm`), with a report
(:mod:`.report`). docs/planning.md describes it.

Typical use::

    from counterram.planning import plan_site
    result = plan_site("baghdad-embassy", ["effectors.0.heading_deg=0..360"], "plan",
                       inside=["effectors.0.position=embassy-compound"], budget=30,
                       runs_per_trial=6, workers=2)
    print(result.summary["confirmation"]["leak_rate_intervals_apart"])
"""

from __future__ import annotations

from counterram.planning.objectives import OBJECTIVES
from counterram.planning.plan import PlanInterruptedError, PlanResult, plan_site
from counterram.planning.space import (
    AreaConstraint,
    Dimension,
    PlanSpaceError,
    SearchSpace,
    parse_inside,
    parse_vary,
)

__all__ = [
    "OBJECTIVES",
    "AreaConstraint",
    "Dimension",
    "PlanInterruptedError",
    "PlanResult",
    "PlanSpaceError",
    "SearchSpace",
    "parse_inside",
    "parse_vary",
    "plan_site",
]
