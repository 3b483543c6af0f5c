"""The plan's optimiser: an Optuna study in a journal file, driven by ask-and-tell.

Why it exists: the search is a noisy, expensive black box over a few mixed parameters
(positions, bearings, choices), a few dozen evaluations at most. Optuna's tree-structured Parzen
estimator (TPE) is built for exactly that budget and handles continuous, integer and categorical
parameters together; for several objectives its NSGA-II sampler keeps a Pareto front. Ask and
tell keeps the simulation out of Optuna: the planner asks for a few trials, runs their
campaigns on the campaign executor (process pool or Dask) and tells the values back, so Optuna
never needs to pickle a simulation or own a worker.

The study lives in ``study.journal`` (Optuna's append-only journal file storage, safe against a
kill between writes); reopening it resumes the study: finished trials stay finished, a trial
that was running when the plan was killed is picked up again with its parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna

from counterram.campaign.execute import run_seed
from counterram.planning.space import SearchSpace

__all__ = ["STUDY_FILE", "open_study", "params_to_values", "suggest", "values_to_params"]

STUDY_FILE = "study.journal"
STUDY_NAME = "counterram-plan"


def _sampler(objectives: int, budget: int, seed: int) -> optuna.samplers.BaseSampler:
    """TPE for one objective (random start for ``min(10, budget // 3)`` trials, a constant
    liar for trials in flight together); NSGA-II for several, with a population of about a
    quarter of the budget (at least 4, at most 50) so a small budget still sees generations."""
    if objectives == 1:
        startup = max(2, min(10, budget // 3))
        return optuna.samplers.TPESampler(n_startup_trials=startup, seed=seed,
                                          multivariate=True, constant_liar=True)
    return optuna.samplers.NSGAIISampler(population_size=max(4, min(50, budget // 4)), seed=seed)


def open_study(out: Path, objectives: Sequence[str], budget: int, root_seed: int) -> optuna.Study:
    """The plan's study in ``out/study.journal`` (created or resumed). The sampler's seed is
    drawn from the root seed and the trials already in the journal, so a plan and its resumed
    continuation are both reproducible."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(out / STUDY_FILE)))
    existing = 0
    for summary in optuna.get_all_study_summaries(storage):
        if summary.study_name == STUDY_NAME:
            existing = summary.n_trials
    seed = run_seed(root_seed, 1_000_000 + existing) % (2**31)
    return optuna.create_study(
        storage=storage, study_name=STUDY_NAME, load_if_exists=True,
        directions=["minimize"] * len(objectives),
        sampler=_sampler(len(objectives), budget, seed),
    )


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """The trial's candidate (values by path) drawn from the space's dimensions."""
    values: dict[str, Any] = {}
    for d in space.dimensions:
        if d.choices is not None:
            # Optuna's categorical choices must be plain scalars: index into the choices
            index = trial.suggest_categorical(d.path, list(range(len(d.choices))))
            values[d.path] = d.choices[int(index)]
        elif d.integer:
            values[d.path] = trial.suggest_int(d.path, int(d.low), int(d.high))  # type: ignore[arg-type]
        else:
            values[d.path] = trial.suggest_float(d.path, float(d.low), float(d.high))  # type: ignore[arg-type]
    return values


def params_to_values(params: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """A finished or resumed trial's Optuna parameters → its candidate (values by path)."""
    values: dict[str, Any] = {}
    for d in space.dimensions:
        v = params[d.path]
        values[d.path] = d.choices[int(v)] if d.choices is not None else v
    return values


def values_to_params(values: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """A candidate → Optuna parameters (to enqueue the original site as a trial)."""
    params: dict[str, Any] = {}
    for d in space.dimensions:
        v = values[d.path]
        if d.choices is not None:
            params[d.path] = next(i for i, c in enumerate(d.choices)
                                  if d.contains(v) and c == v)
        elif d.integer:
            params[d.path] = round(float(v))
        else:
            params[d.path] = float(v)
    return params
