"""Monte Carlo campaigns: executors agree run for run, resume, sweep checks and intervals."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from counterram.campaign import (
    CampaignInterruptedError,
    SweepError,
    build_points,
    parse_sweep,
    run_campaign,
    run_seed,
    wilson_interval,
)
from counterram.campaign.aggregate import bootstrap_median
from counterram.campaign.execute import plan_batches
from counterram.commands.campaign import campaign
from counterram.scenario import load_scenario


@pytest.fixture(scope="module")
def tiny():
    """fob-mortar cut down to two 60 mm rounds in the first 10 s (a run takes about a second)."""
    sc = load_scenario("fob-mortar")
    threat = sc.threats[0].model_copy(
        update={"count": 2, "rounds": 1, "time_window_s": (0.0, 10.0)})
    return sc.model_copy(update={"threats": (threat,), "duration_s": 120.0})


def _rows(path):
    return pq.read_table(path / "runs.parquet").to_pylist()


def test_local_pool_and_dask_give_identical_rows(tiny, tmp_path):
    pytest.importorskip("distributed")
    sweep = [parse_sweep("effectors.0.dispersion_mrad=2,8")]
    local = run_campaign(tiny, 3, tmp_path / "local", root_seed=5, sweeps=sweep, workers=2,
                         report=False)
    dask = run_campaign(tiny, 3, tmp_path / "dask", root_seed=5, sweeps=sweep, workers=2,
                        dask_local=True, report=False)
    a, b = _rows(tmp_path / "local"), _rows(tmp_path / "dask")
    assert len(a) == 6
    assert a == b
    assert [(r["point"], r["run"]) for r in a] == [(p, i) for p in (0, 1) for i in range(3)]
    # common random numbers: run i has the same seed at every sweep point
    assert [r["seed"] for r in a[:3]] == [r["seed"] for r in a[3:]]
    assert [r["seed"] for r in a[:3]] == [run_seed(5, i) for i in range(3)]
    assert {r["effectors.0.dispersion_mrad"] for r in a} == {2.0, 8.0}
    assert local == dask


def test_seeds_do_not_depend_on_workers(tiny):
    points = build_points(tiny, [])
    seeds = {}
    for k in (1, 3, 8):
        for b in plan_batches(points, 10, 7, k):
            for run, s in zip(b.runs, b.seeds, strict=True):
                assert seeds.setdefault(run, s) == s
    assert sorted(seeds) == list(range(10))
    assert len(set(seeds.values())) == 10


def test_interrupted_campaign_resumes_without_duplicates(tiny, tmp_path):
    out = tmp_path / "camp"
    sweep = [parse_sweep("atmosphere.wind.constant.east_mps=0,5")]
    # 4 runs, 1 worker: batches of ceil(4/4) = 1 run; stop after 3 of the 8 batches
    with pytest.raises(CampaignInterruptedError):
        run_campaign(tiny, 4, out, root_seed=2, sweeps=sweep, workers=1,
                     stop_after_batches=3, report=False)
    assert len(list((out / "parts").glob("*.parquet"))) == 3
    totals = []
    run_campaign(tiny, 4, out, root_seed=2, sweeps=sweep, workers=1,
                 progress=lambda done, total: totals.append(total), report=False)
    assert totals[0] == 8 - 3  # only the unfinished runs were run
    rows = _rows(out)
    pairs = [(r["point"], r["run"]) for r in rows]
    assert sorted(pairs) == [(p, i) for p in (0, 1) for i in range(4)]
    assert len(set(pairs)) == len(pairs)
    # a third call has nothing left to do and leaves the same rows
    totals.clear()
    summary = run_campaign(tiny, 4, out, root_seed=2, sweeps=sweep, workers=1,
                           progress=lambda done, total: totals.append(total))
    assert totals == [0]
    assert _rows(out) == rows
    assert [p["runs"] for p in summary["points"]] == [4, 4]
    assert (out / "report.html").read_text().count("data:image/png;base64,") >= 2
    assert "http" not in (out / "report.html").read_text()


def test_rerun_with_other_inputs_is_refused(tiny, tmp_path):
    from counterram.campaign import StoreMismatchError

    run_campaign(tiny, 1, tmp_path, root_seed=1, workers=1, report=False)
    with pytest.raises(StoreMismatchError, match="root_seed"):
        run_campaign(tiny, 1, tmp_path, root_seed=2, workers=1, report=False)


@pytest.mark.parametrize(
    ("sweep", "expected"),
    [
        ("effectors.0.dispersio_mrad=1,2", ["effectors.0 has no field 'dispersio_mrad'",
                                            "dispersion_mrad", "magazine"]),
        ("sensors.5.max_range_m=8000", ["sensors has no item '5'", "a list of 2 item(s)"]),
        ("atmosphere.wind.constant.east_mps=0,500",
         ["east_mps=500", "less than or equal to 100"]),
        ("effectors.0.dispersion_mrad=2,abc", ['dispersion_mrad="abc"', "valid number"]),
    ],
)
def test_bad_sweep_is_rejected_before_any_run(tiny, tmp_path, sweep, expected):
    out = tmp_path / "never"
    with pytest.raises(SweepError) as info:
        run_campaign(tiny, 2, out, sweeps=[parse_sweep(sweep)], workers=1)
    text = str(info.value)
    for fragment in expected:
        assert fragment in text
    assert not out.exists()


def test_cli_bad_sweep_exits_2_without_traceback(tmp_path):
    app = typer.Typer()
    app.command("campaign")(campaign)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["campaign", "fob-mortar", "--runs", "2", "--out",
                                      str(tmp_path / "c"), "--sweep", "sensors.1.range=1"])
    assert result.exit_code == 2
    assert "sensors.1 has no field 'range'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "c").exists()


def test_sweep_syntax():
    axis = parse_sweep("threats.0.time_window_s=[0, 60],[10, 70]")
    assert axis.values == ([0, 60], [10, 70])
    assert parse_sweep("a.b=1,2.5,true").values == (1, 2.5, True)
    with pytest.raises(SweepError, match="expected PATH=v1,v2"):
        parse_sweep("effectors.0.dispersion_mrad")


def test_wilson_matches_hand_computation():
    # 3 successes in 10, 95 %: z = 1.959964, p = 0.3
    # centre = (0.3 + z²/20) / (1 + z²/10) = 0.492073 / 1.384146 = 0.355507
    # half = z √(0.3·0.7/10 + z²/400) / (1 + z²/10) = 1.959964 · 0.174939 / 1.384146 = 0.247715
    # → [0.107791, 0.603222], the 0.108–0.603 of published Wilson tables for 3/10
    p, lo, hi = wilson_interval(3, 10)
    assert p == pytest.approx(0.3)
    assert lo == pytest.approx(0.355507 - 0.247715, abs=1e-5)
    assert hi == pytest.approx(0.355507 + 0.247715, abs=1e-5)
    # 0 of n: the lower bound is 0 and the upper one z² / (n + z²)
    z2 = 1.959964**2
    assert wilson_interval(0, 8)[1:] == pytest.approx((0.0, z2 / (8 + z2)), abs=1e-6)
    assert wilson_interval(0, 5)[1] == 0.0  # exactly, so that low ≤ estimate always holds
    assert wilson_interval(5, 5)[2] == 1.0
    assert wilson_interval(0, 0) == (None, None, None)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


def test_bootstrap_median_is_seeded_and_about_the_right_width():
    x = np.random.default_rng(0).normal(10.0, 2.0, 400)
    a = bootstrap_median(x, np.random.default_rng(42))
    b = bootstrap_median(x, np.random.default_rng(42))
    assert a == b
    assert a[0] == pytest.approx(float(np.median(x)))
    assert a[1] < a[0] < a[2]
    # the median of a normal sample has standard error √(π/2) σ / √n = 0.1253 for σ = 2,
    # n = 400; a 95 % interval is ≈ 2 × 1.96 × 0.1253 = 0.49 wide; the bootstrap estimate of it
    # is itself noisy (discrete order statistics), so allow ± 40 %
    width = a[2] - a[1]
    assert 0.6 * 0.49 < width < 1.4 * 0.49
    assert bootstrap_median([math.nan], np.random.default_rng(0)) == (None, None, None)


def test_engagement_aggregates_pool_runs():
    from counterram.campaign.aggregate import aggregate_point, bootstrap_ratio

    def row(asset, engageable, engaged, killed, fired, intercepts, bursts, out_of_range):
        return {"asset_rounds": asset, "asset_rounds_engageable": engageable,
                "asset_rounds_engageable_engaged": engaged, "asset_rounds_engaged": engaged,
                "asset_rounds_killed": killed, "rounds_killed": killed, "rounds_engaged": engaged,
                "intercepts": intercepts, "engagements": bursts, "rounds_fired": fired,
                "asset_rounds_not_engageable_out_of_range": out_of_range,
                "asset_rounds_not_engageable_not_tracked": asset - engageable - out_of_range}

    rows = [row(4, 3, 2, 1, 100, 1, 2, 1), row(5, 5, 5, 4, 450, 4, 9, 0),
            row(2, 1, 0, 0, 0, 0, 0, 0)]
    agg = aggregate_point(rows, np.random.default_rng(3))
    share = agg["engaged_share_of_engageable"]
    assert (share["successes"], share["trials"]) == (7, 9)
    assert (share["estimate"], share["low"], share["high"]) == wilson_interval(7, 9)
    assert agg["engageable_share"]["trials"] == 11
    assert agg["success_ratio_engaged"]["successes"] == 5
    assert agg["success_ratio_bursts"]["trials"] == 11
    rpk = agg["rounds_per_kill"]
    assert rpk["estimate"] == pytest.approx(550 / 5)
    assert rpk["low"] <= rpk["estimate"] <= rpk["high"]
    counts = agg["engagement_counts"]
    assert counts["engageable_not_engaged"] == 9 - 7
    assert counts["not_engageable"] == {"not_tracked": 1, "out_of_range": 1}
    # seeded, and undefined without kills
    a = bootstrap_ratio([100, 450, 0], [1, 4, 0], np.random.default_rng(1))
    assert a == bootstrap_ratio([100, 450, 0], [1, 4, 0], np.random.default_rng(1))
    assert bootstrap_ratio([100, 0], [0, 0], np.random.default_rng(1)) == (None, None, None)


def test_a_star_in_a_sweep_path_sets_every_gun() -> None:
    from counterram.campaign.sweep import SweepError, apply_values

    base = load_scenario("baghdad-embassy")
    assert len(base.effectors) >= 2
    swept = apply_values(base, {"effectors.*.burst_rounds": 100})
    assert [e.burst_rounds for e in swept.effectors] == [100] * len(base.effectors)
    # the other fields stay as they were
    assert [e.name for e in swept.effectors] == [e.name for e in base.effectors]
    with pytest.raises(SweepError, match=r"effectors\.\*\.burst_roundz"):
        apply_values(base, {"effectors.*.burst_roundz": 100})
    with pytest.raises(SweepError, match="burst_rounds"):  # validated like any other value
        apply_values(base, {"effectors.*.burst_rounds": 5000})
