"""``plan_site``: search gun and radar placements for the lowest leak rate (and collateral).

Why it exists: the analyst's question is where to put the guns so that the fewest rounds reach
the defended assets, not how one hand-edited site does. A plan is a sequence of small campaigns:

1. the search space is checked against the scenario before anything runs
   (:class:`~counterram.planning.space.SearchSpace`);
2. the original site is run first, ``runs_per_trial`` runs on the plan's seeds (the reference);
3. each trial asks the optimiser (:mod:`.optimiser`) for a candidate site and runs it as a
   campaign of ``runs_per_trial`` runs with **common random numbers**: run ``i`` of every trial
   (and of the reference) uses seed :func:`~counterram.campaign.execute.run_seed` (root, i), so
   every trial faces the same launch points, times and delivery errors and trials differ only by
   the site (the differences between sites are far less noisy than with fresh seeds);
4. finished runs are written as campaign parts (``trials/parts``, :mod:`counterram.campaign.store`)
   and the study to ``study.journal``; rerunning the same plan resumes both: finished trials are
   not run again, a trial killed mid-way runs only its missing runs;
5. the best site (for several objectives: the Pareto front, and of it the site best on the first
   objective) is written as ``best.yaml`` and confirmed against the original on **fresh seeds**
   (another root seed), ``confirm_runs`` runs each, with 95 % intervals
   (:mod:`.confirm`), because the best of many noisy trials is optimistic by selection;
6. ``summary.json``, ``trials.csv``, ``pareto.json`` and ``report.html`` (with its figures in
   ``figures/``) describe it all (:mod:`.report`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pyarrow.parquet as pq

from counterram.campaign.execute import (
    DaskExecutor,
    LocalExecutor,
    default_workers,
    plan_batches,
)
from counterram.campaign.store import CampaignStore, StoreMismatchError
from counterram.campaign.sweep import SweepError, SweepPoint, point_key
from counterram.planning.objectives import check_objectives, evaluate
from counterram.planning.optimiser import (
    open_study,
    params_to_values,
    suggest,
    values_to_params,
)
from counterram.planning.space import AreaConstraint, Dimension, PlanSpaceError, SearchSpace
from counterram.scenario import Scenario

__all__ = ["PlanInterruptedError", "PlanResult", "plan_site"]

MAX_INVALID_IN_A_ROW = 50
"""Candidates the scenario checks refuse in a row before the plan gives up."""


class PlanInterruptedError(RuntimeError):
    """The plan stopped before its budget was spent; finished runs and trials are kept."""


@dataclass
class PlanResult:
    """What a plan found: the folder ``out``, the ``summary`` (summary.json), the best trial's
    applied values, and how many simulation runs this call executed (``runs_executed``: the
    resumed part of a plan is not run again)."""

    out: Path
    summary: dict[str, Any]
    best_values: dict[str, Any]
    best_scenario: Scenario
    runs_executed: int = 0
    confirm_runs_executed: int = 0
    pareto: list[dict[str, Any]] = field(default_factory=list)


def _scenario_hash(scenario: Scenario) -> str:
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()[:16]


def _load_rows(store: CampaignStore) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for f in store.part_files():
        for r in pq.read_table(f).to_pylist():
            rows.setdefault(r["point_key"], []).append(r)
    return rows


def _runs_of(rows: Mapping[str, list[dict[str, Any]]], key: str, runs: int) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for r in rows.get(key, ()):
        if r["run"] < runs:
            seen.setdefault(int(r["run"]), r)
    return [seen[i] for i in sorted(seen)]


def _feasible(space: SearchSpace, values: Mapping[str, Any]) -> bool:
    """Whether the original site lies in the search space (every value in range, every
    constrained position inside its area)."""
    if not all(d.contains(values[d.path]) for d in space.dimensions):
        return False
    return all(bool(space.area(c.area).contains(values[f"{c.path}.east_m"],
                                                values[f"{c.path}.north_m"]))
               for c in space.constraints)


def plan_site(
    scenario: str | Path | Scenario,
    vary: Sequence[str | Dimension],
    out: str | Path,
    *,
    inside: Sequence[str | AreaConstraint] = (),
    objectives: Sequence[str] = ("leak_rate",),
    budget: int = 30,
    runs_per_trial: int = 8,
    root_seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    confirm_runs: int = 32,
    confirm_seed: int | None = None,
    report: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    stop_after_batches: int | None = None,
) -> PlanResult:
    """Search the site for the lowest ``objectives`` and confirm the best on fresh seeds.

    ``scenario`` a built-in name, a file or a Scenario; ``vary`` dimensions ``PATH=LO..HI`` /
    ``PATH=a,b,c`` (or :class:`Dimension`); ``inside`` position constraints ``PATH=AREA``;
    ``objectives`` from :data:`counterram.planning.objectives.OBJECTIVES`; ``budget`` trials in
    all (a rerun with a larger budget continues the study); ``runs_per_trial`` runs per trial on
    common seeds from ``root_seed`` (default the scenario's seed); ``confirm_runs`` runs of the
    best and the original sites on ``confirm_seed`` (default ``root_seed + 1``; 0: no
    confirmation). Executor as :func:`counterram.campaign.run_campaign`. ``progress(stage,
    done, total)`` reports trials (stage ``"trials"``) and confirmation runs (``"confirm"``).
    ``stop_after_batches`` stops after that many batches of trial runs and raises
    :class:`PlanInterruptedError` (finished runs are kept; for tests).

    Raises :class:`PlanSpaceError` (bad space or objectives) or :class:`StoreMismatchError`
    (``out`` holds another plan) before any run.
    """
    from counterram.scenario import load_scenario

    base = load_scenario(scenario, runnable=True) if isinstance(scenario, str | Path) else scenario
    problems = check_objectives(list(objectives))
    for name, value, least in (("budget", budget, 1), ("runs_per_trial", runs_per_trial, 1),
                               ("confirm_runs", confirm_runs, 0)):
        if value < least:
            problems.append(f"{name} must be at least {least}, got {value}")
    if problems:
        raise PlanSpaceError(problems)
    space = SearchSpace.build(base, vary, inside)
    seed = int(base.seed if root_seed is None else root_seed)
    fresh = seed + 1 if confirm_seed is None else int(confirm_seed)
    if seed < 0 or fresh < 0:
        raise PlanSpaceError([f"seeds must be non-negative integers, got {seed} and {fresh}"])
    if fresh == seed:
        raise PlanSpaceError([f"the confirmation seed {fresh} is the plan's own seed; the "
                              "confirmation must run on fresh seeds"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    objectives = list(objectives)
    _check_manifest(out, {
        "scenario": base.name, "scenario_sha256": _scenario_hash(base), "root_seed": seed,
        "runs_per_trial": runs_per_trial, "objectives": objectives, **space.describe(),
    }, budget)
    k = default_workers() if workers is None else max(1, int(workers))
    store = CampaignStore(out / "trials")
    rows = _load_rows(store)
    study = open_study(out, objectives, budget, seed)

    base_values = space.base_values()
    feasible = _feasible(space, base_values)
    ref_key = point_key(space.applied(base_values)) if feasible else "original"
    ref_point = SweepPoint(-1, {}, ref_key, base)
    if feasible and not study.trials:
        study.enqueue_trial(values_to_params(base_values, space))

    executed = 0
    batches_done = 0
    use_dask = dask_local or scheduler is not None
    executor: Any = DaskExecutor(scheduler, k) if use_dask else LocalExecutor(k)

    def complete() -> int:
        return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)

    def run_points(points: Sequence[SweepPoint], ex: Any) -> None:
        nonlocal executed, batches_done
        unique = list({p.key: p for p in points}.values())
        done = {(key, r["run"]) for key, rs in rows.items() for r in rs}
        batches = plan_batches(unique, runs_per_trial, seed, k, done)
        if not batches:
            return
        for batch, new in ex.map(batches):
            store.write_part(new)
            for r in new:
                rows.setdefault(r["point_key"], []).append(r)
            executed += len(batch.runs)
            batches_done += 1
            if stop_after_batches is not None and batches_done >= stop_after_batches:
                raise PlanInterruptedError(f"stopped after {batches_done} batch(es) of trial "
                                           "runs; rerun to resume")

    invalid = 0
    with executor as ex:
        run_points([ref_point], ex)
        while complete() < budget:
            if progress:
                progress("trials", complete(), budget)
            running = [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
            todo: list[tuple[int, dict[str, Any], SweepPoint]] = []
            for t in running:  # killed mid-way last time: run what is missing, then tell
                applied, sc = space.scenario(params_to_values(t.params, space))
                todo.append((t.number, applied, SweepPoint(t.number, {}, point_key(applied), sc)))
            want = min(k, budget - complete()) - len(todo)
            while want > 0:
                trial = study.ask()
                try:
                    applied, sc = space.scenario(suggest(trial, space))
                except SweepError as exc:
                    trial.set_user_attr("refused", list(exc.problems))
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    invalid += 1
                    if invalid >= MAX_INVALID_IN_A_ROW:
                        raise PlanSpaceError(
                            [f"{invalid} candidates in a row broke the scenario checks, e.g.:",
                             *exc.problems]) from None
                    continue
                invalid = 0
                trial.set_user_attr("applied", applied)
                todo.append((trial.number, applied,
                             SweepPoint(trial.number, {}, point_key(applied), sc)))
                want -= 1
            run_points([p for _, _, p in todo], ex)
            for number, _applied, point in todo:
                values = evaluate(objectives, _runs_of(rows, point.key, runs_per_trial))
                study.tell(number, values)
        if progress:
            progress("trials", complete(), budget)
    store.consolidate()
    return _finish(out, base, space, study, rows, ref_key, objectives, runs_per_trial, seed,
                   fresh, confirm_runs, k, scheduler, dask_local, report, progress, executed)


def _check_manifest(out: Path, manifest: dict[str, Any], budget: int) -> None:
    path = out / "plan.json"
    text = json.dumps({**manifest, "budget": budget}, indent=2, default=str) + "\n"
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreMismatchError(f"{path}: unreadable plan record: {exc}") from None
        old.pop("budget", None)
        fixed = json.loads(json.dumps(manifest, default=str))
        if old != fixed:
            diff = sorted(k for k in set(old) | set(fixed) if old.get(k) != fixed.get(k))
            raise StoreMismatchError(f"{out} holds a plan with other inputs ({', '.join(diff)} "
                                     "differ); use another --out folder or delete this one")
    path.write_text(text, encoding="utf-8")


def _trial_table(study: optuna.Study, objectives: Sequence[str],
                 space: SearchSpace) -> list[dict[str, Any]]:
    table = []
    for t in study.trials:
        if t.state != optuna.trial.TrialState.COMPLETE:
            continue
        table.append({"trial": t.number, **dict(zip(objectives, t.values, strict=True)),
                      "applied": t.user_attrs.get("applied")
                      or space.applied(params_to_values(t.params, space))})
    return table


def _pick_best(front: Sequence[dict[str, Any]], objectives: Sequence[str]) -> dict[str, Any]:
    return min(front, key=lambda r: (*[r[o] for o in objectives], r["trial"]))


def _finish(out: Path, base: Scenario, space: SearchSpace, study: optuna.Study,
            rows: Mapping[str, list[dict[str, Any]]], ref_key: str, objectives: Sequence[str],
            runs_per_trial: int, seed: int, fresh: int, confirm_runs: int, workers: int,
            scheduler: str | None, dask_local: bool, report: bool,
            progress: Callable[[str, int, int], None] | None, executed: int) -> PlanResult:
    from counterram.campaign.sweep import apply_values
    from counterram.planning.confirm import confirm_sites
    from counterram.scenario.dump import dump_scenario

    table = _trial_table(study, objectives, space)
    front_numbers = {t.number for t in study.best_trials}
    front = [r for r in table if r["trial"] in front_numbers]
    best = _pick_best(front or table, objectives)
    best_sc = apply_values(base, best["applied"])
    (out / "best.yaml").write_text(_header(base, best, objectives) + dump_scenario(best_sc),
                                   encoding="utf-8")
    if len(objectives) > 1:
        pareto_dir = out / "pareto"
        pareto_dir.mkdir(exist_ok=True)
        for r in front:
            sc = apply_values(base, r["applied"])
            (pareto_dir / f"trial-{r['trial']}.yaml").write_text(
                _header(base, r, objectives) + dump_scenario(sc), encoding="utf-8")
    (out / "pareto.json").write_text(json.dumps(front, indent=2, default=str) + "\n",
                                     encoding="utf-8")
    _write_csv(out / "trials.csv", table, objectives, space)
    reference = dict(zip(objectives, evaluate(objectives, _runs_of(rows, ref_key, runs_per_trial)),
                         strict=True))
    summary: dict[str, Any] = {
        "scenario": base.name, "root_seed": seed, "runs_per_trial": runs_per_trial,
        "objectives": list(objectives), "trials": len(table), **space.describe(),
        "original": {"values": space.base_values(), "objectives": reference},
        "best": best, "pareto_front": front,
    }
    confirm_executed = 0
    if confirm_runs > 0:
        confirmation, confirm_executed = confirm_sites(
            base, best_sc, best_key=point_key(best["applied"]), out=out / "confirm",
            runs=confirm_runs, root_seed=fresh, workers=workers, scheduler=scheduler,
            dask_local=dask_local, progress=progress)
        summary["confirmation"] = confirmation
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                      encoding="utf-8")
    if report:
        from counterram.planning.report import write_report

        write_report(out, base, best_sc, space, table, front, summary)
    return PlanResult(out, summary, best["applied"], best_sc, executed, confirm_executed, front)


def _header(base: Scenario, row: Mapping[str, Any], objectives: Sequence[str]) -> str:
    vals = ", ".join(f"{o} {row[o]:.4g}" for o in objectives)
    return (f"# {base.name} with the site of plan trial {row['trial']} ({vals} on the plan's "
            "seeds)\n")


def _write_csv(path: Path, table: Sequence[Mapping[str, Any]], objectives: Sequence[str],
               space: SearchSpace) -> None:
    paths = sorted({p for r in table for p in r["applied"]})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["trial", *objectives, *paths])
    for r in table:
        w.writerow([r["trial"], *[r[o] for o in objectives],
                    *[r["applied"].get(p, "") for p in paths]])
    path.write_text(buf.getvalue(), encoding="utf-8")
