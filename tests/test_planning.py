"""Site planning (counterram.planning, ``counterram plan``): the optimum of a site whose answer is
known by construction, resume without repeating runs, search spaces refused before any run, and
outputs the scenario loader accepts."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from shapely import Point
from typer.testing import CliRunner

from counterram.cli import app
from counterram.planning import (
    Dimension,
    PlanInterruptedError,
    PlanSpaceError,
    SearchSpace,
    parse_vary,
    plan_site,
)
from counterram.planning.confirm import paired_leak_difference
from counterram.scenario import Scenario, load_scenario
from counterram.scenario.dump import dump_scenario

GUN_E, GUN_N = 620.0, -120.0
AZIMUTH_LIMIT_DEG = 90.0


def one_gun_one_axis(heading_deg: float) -> Scenario:
    """One gun at the embassy, travel ±90° about its heading, and one string of four 81 mm
    bombs from the south-west aimed at it (tight delivery errors): the gun can engage the bombs
    only when its heading lies within 90° of their bearing, so the best heading faces them.
    A burst of 200 rounds with the lethal-radius kill model makes an engaged bomb a near-certain
    kill, so one run per trial tells the sides apart."""
    sc = load_scenario("baghdad-embassy")
    bombs = sc.threats[3].model_copy(update={
        "count": 1, "rounds": 4, "time_window_s": None, "start_time_s": 10.0,
        "range_pe_m": 30.0, "deflection_pe_m": 15.0})
    here = sc.effectors[1].position.model_copy(update={"east_m": GUN_E, "north_m": GUN_N})
    gun = sc.effectors[1].model_copy(update={
        "name": "gun", "position": here, "heading_deg": heading_deg,
        "azimuth_limit_deg": AZIMUTH_LIMIT_DEG, "burst_rounds": 200, "rate_of_fire_rps": 150.0,
        "kill_model": "lethal_radius"})
    fcr = sc.sensors[3].model_copy(update={"name": "fcr", "attached_to": "gun",
                                           "position": here})
    data = sc.model_copy(update={
        "threats": (bombs,), "effectors": (gun,), "sensors": (sc.sensors[0], fcr),
        "duration_s": 120.0, "defended_assets": sc.defended_assets[:1],
        "warning_zones": sc.warning_zones[:1]}).model_dump()
    return Scenario.model_validate(data)


def threat_bearing_deg() -> float:
    """Compass bearing from the gun to the centre of the bombs' launch area."""
    e, n = -2000.0 - GUN_E, -3500.0 - GUN_N
    return math.degrees(math.atan2(e, n)) % 360.0


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.fixture(scope="module")
def heading_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A plan of the gun's heading, started facing away from the threat: 8 trials of 1 run."""
    away = (threat_bearing_deg() + 180.0) % 360.0
    out = tmp_path_factory.mktemp("plan")
    result = plan_site(one_gun_one_axis(away), ["effectors.0.heading_deg=0..360"], out,
                       budget=8, runs_per_trial=1, workers=1, confirm_runs=0, report=True)
    return out, result


def test_planner_turns_the_gun_to_face_the_only_threat_axis(heading_plan) -> None:
    _out, result = heading_plan
    best = result.best_values["effectors.0.heading_deg"]
    # the gun reaches the bombs only with them inside its travel: within the azimuth limit
    assert _angle(best, threat_bearing_deg()) <= AZIMUTH_LIMIT_DEG
    # facing away every bomb lands (no gun can turn to them); the best site kills them
    assert result.summary["original"]["objectives"]["leak_rate"] == 1.0
    assert result.summary["best"]["leak_rate"] <= 0.25  # at most one of the four bombs lands
    assert result.summary["trials"] == 8
    # 8 trials and the original site, one run each, nothing run twice
    assert result.runs_executed == 9


def test_best_yaml_and_front_are_files_the_loader_accepts(heading_plan) -> None:
    out, result = heading_plan
    best = load_scenario(out / "best.yaml", runnable=True)
    assert best.effectors[0].heading_deg == pytest.approx(
        result.best_values["effectors.0.heading_deg"])
    runner = CliRunner()
    r = runner.invoke(app, ["validate", str(out / "best.yaml")])
    assert r.exit_code == 0, r.output
    front = json.loads((out / "pareto.json").read_text())  # one objective: the best trial(s)
    assert result.summary["best"]["trial"] in [row["trial"] for row in front]
    assert (out / "report.html").stat().st_size > 10_000
    assert (out / "figures" / "site.png").exists()
    lines = (out / "trials.csv").read_text().splitlines()
    assert len(lines) == 1 + 8


def test_killed_plan_resumes_without_repeating_runs(tmp_path: Path) -> None:
    sc = one_gun_one_axis(0.0)
    space = ["effectors.0.heading_deg=0.0..360.0"]  # floats: no two trials share a site
    kw = {"runs_per_trial": 2, "workers": 1, "confirm_runs": 0, "report": False}
    # the original's 2 runs (1 batch each) and trial 1's first run, then a "kill" mid-trial
    with pytest.raises(PlanInterruptedError):
        plan_site(sc, space, tmp_path, budget=3, stop_after_batches=3, **kw)
    first = plan_site(sc, space, tmp_path, budget=3, **kw)
    # the original site lies in the space: it is trial 0 and its runs are the reference's;
    # 2 more trials × 2 runs = 6 runs in all, 3 of them before the kill
    assert first.runs_executed == 6 - 3
    assert first.summary["trials"] == 3
    # a larger budget continues the study: only the new trials run
    more = plan_site(sc, space, tmp_path, budget=5, **kw)
    assert more.runs_executed == 2 * 2
    assert more.summary["trials"] == 5
    again = plan_site(sc, space, tmp_path, budget=5, **kw)
    assert again.runs_executed == 0
    assert again.summary["best"] == more.summary["best"]
    rows = pq.read_table(tmp_path / "trials" / "runs.parquet")
    assert rows.num_rows == 2 + 4 * 2  # every run once


def test_a_folder_holding_another_plan_is_refused(tmp_path: Path) -> None:
    sc = one_gun_one_axis(0.0)
    kw = {"runs_per_trial": 1, "workers": 1, "confirm_runs": 0, "report": False, "budget": 1}
    plan_site(sc, ["effectors.0.heading_deg=0..360"], tmp_path, **kw)
    from counterram.campaign import StoreMismatchError

    with pytest.raises(StoreMismatchError, match="vary"):
        plan_site(sc, ["effectors.0.heading_deg=0..180"], tmp_path, **kw)


@pytest.mark.parametrize(("vary", "expected"), [
    ("effectors.3.heading_deg=0..360", "effectors has no item '3' (a list of 2 item(s)"),
    ("effectors.0.headng_deg=0..360", "effectors.0 has no field 'headng_deg' (keys: name"),
    ("effectors.0.position=0..10", "is a mapping (keys: east_m, north_m, up_m)"),
    ("effectors.0.heading_deg=10..5", "range '10..5' is empty"),
    ("effectors.0.heading_deg=a..b", "needs two finite numbers"),
    ("effectors.0.burst_rounds=0..50", "burst_rounds: Input should be greater than or equal to 1"),
    ("effectors.0.heading_deg=90", "neither a range LO..HI nor at least two choices"),
])
def test_bad_vary_is_refused_before_any_run(tmp_path: Path, vary: str, expected: str) -> None:
    out = tmp_path / "plan"
    r = CliRunner().invoke(app, ["plan", "baghdad-embassy", "--vary", vary, "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert "nothing was run" in r.output and expected in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


def test_bad_inside_and_objective_are_refused_naming_what_exists(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    r = CliRunner().invoke(app, [
        "plan", "baghdad-embassy", "--inside", "effectors.0.position=compound",
        "--inside", "effectors.0.place=embassy", "--objective", "leaks", "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert "no area named 'compound'" in r.output and "embassy-compound" in r.output
    assert "effectors.0 has no field 'place'" in r.output
    assert "--objective 'leaks': unknown (allowed: leak_rate" in r.output
    assert not out.exists()


def test_inside_keeps_positions_in_the_area_and_moves_the_attached_radar() -> None:
    sc = load_scenario("baghdad-embassy")
    space = SearchSpace.build(sc, ["effectors.1.heading_deg=0..360"],
                              ["effectors.1.position=embassy"])
    paths = [d.path for d in space.dimensions]
    assert "effectors.1.position.east_m" in paths and "effectors.1.position.north_m" in paths
    applied, trial = space.scenario({"effectors.1.heading_deg": 370.0,
                                     "effectors.1.position.east_m": 5000.0,
                                     "effectors.1.position.north_m": 0.0})
    assert applied["effectors.1.heading_deg"] == pytest.approx(10.0)  # bearings wrap
    area = space.area("embassy")
    e, n = trial.effectors[1].position.east_m, trial.effectors[1].position.north_m
    assert bool(area.contains(e, n))
    assert area.polygon.exterior.distance(Point(e, n)) == pytest.approx(
        1.0, abs=1e-3)  # the nearest point 1 m inside the compound
    fcr = next(s for s in trial.sensors if s.attached_to == "gun-south")
    assert (fcr.position.east_m, fcr.position.north_m) == (e, n)


def test_combinations_the_checks_refuse_are_not_run(tmp_path: Path) -> None:
    with pytest.raises(PlanSpaceError, match="budget must be at least 1"):
        plan_site(one_gun_one_axis(0.0), ["effectors.0.heading_deg=0..360"], tmp_path,
                  budget=0)
    with pytest.raises(PlanSpaceError, match="fresh seeds"):
        plan_site(one_gun_one_axis(0.0), ["effectors.0.heading_deg=0..360"], tmp_path,
                  root_seed=3, confirm_seed=3)


def test_cli_plan_writes_best_yaml_and_a_confirmation(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(dump_scenario(one_gun_one_axis(0.0)), encoding="utf-8")
    out = tmp_path / "plan"
    args = ["plan", str(scenario), "--vary", "effectors.0.heading_deg=200,30",
            "--budget", "2", "-r", "1", "--confirm-runs", "2", "-j", "1", "--out", str(out), "-q"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    c = summary["confirmation"]
    assert c["runs"] == 2 and c["root_seed"] != summary["root_seed"]
    for label in ("original", "best"):
        lr = c[label]["leak_rate"]
        assert 0.0 <= lr["low"] <= lr["estimate"] <= lr["high"] <= 1.0
    load_scenario(out / "best.yaml", runnable=True)


def test_two_objectives_give_a_pareto_front_of_loadable_sites(tmp_path: Path) -> None:
    # facing the bombs kills them at the cost of interceptor rounds; facing away fires nothing
    # and lets every bomb land: the two objectives conflict, so the front holds both kinds
    result = plan_site(one_gun_one_axis(0.0), ["effectors.0.heading_deg=0,90,180,270"], tmp_path,
                       objectives=["leak_rate", "rounds_fired"], budget=6, runs_per_trial=1,
                       workers=1, confirm_runs=0)
    front = result.pareto
    assert front
    with (tmp_path / "trials.csv").open() as f:
        trials = [(float(r["leak_rate"]), float(r["rounds_fired"])) for r in csv.DictReader(f)]
    assert len(trials) == 6
    for a in front:  # no trial dominates a member of the front
        mine = (a["leak_rate"], a["rounds_fired"])
        assert not any(b[0] <= mine[0] and b[1] <= mine[1] and b != mine for b in trials)
    # and every trial that no other dominates is on the front
    undominated = {t for t in trials
                   if not any(b[0] <= t[0] and b[1] <= t[1] and b != t for b in trials)}
    assert undominated == {(a["leak_rate"], a["rounds_fired"]) for a in front}
    for a in front:
        load_scenario(tmp_path / "pareto" / f"trial-{a['trial']}.yaml", runnable=True)
    # best.yaml is the front's site lowest on the first objective
    assert result.summary["best"]["leak_rate"] == min(a["leak_rate"] for a in front)
    assert (tmp_path / "figures" / "pareto.png").exists()


def test_vary_ranges_and_choices_are_read_as_written() -> None:
    assert parse_vary("effectors.0.heading_deg=0..360") == Dimension(
        "effectors.0.heading_deg", 0.0, 360.0, integer=True)
    assert parse_vary("effectors.0.position.east_m=-500.0..500").integer is False
    d = parse_vary("effectors.0.kill_model=presented_area,lethal_radius")
    assert d.choices == ("presented_area", "lethal_radius")
    assert Dimension("effectors.0.heading_deg", 300.0, 420.0).contains(30.0)  # wraps past north
    assert not Dimension("effectors.0.heading_deg", 300.0, 420.0).contains(200.0)


def test_paired_difference_of_leak_rates_over_common_seeds() -> None:
    # 40 paired runs of 10 rounds on assets: the best site lets 2 fewer land in every run
    original = [{"seed": s, "leakers_on_assets": 6, "rounds_on_assets": 10} for s in range(40)]
    best = [{"seed": s, "leakers_on_assets": 4, "rounds_on_assets": 10} for s in range(40)]
    d = paired_leak_difference(original, best)
    assert d["runs"] == 40
    assert d["estimate"] == pytest.approx(-0.2)
    assert d["low"] == pytest.approx(-0.2) and d["high"] == pytest.approx(-0.2)  # no spread
    # the same site against itself: a difference of exactly 0
    same = paired_leak_difference(original, original)
    assert (same["estimate"], same["low"], same["high"]) == (0.0, 0.0, 0.0)
