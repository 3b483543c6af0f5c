"""Tests of threat evaluation: engage only rounds that threaten an asset, ranked by value, time."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from shapely.geometry import Point, box

from counterram.engagement.threat import DefendedAssets, ThreatConfig, evaluate_threats
from counterram.scenario import load_scenario
from counterram.scenario.resolved import resolve

ASSETS = DefendedAssets.from_polygons(
    [
        ("embassy", box(-200.0, -200.0, 200.0, 200.0), 100.0),
        ("housing", Point(1000.0, 0.0).buffer(100.0), 40.0),
    ]
)


def _cov(sigma: float, n: int = 1) -> np.ndarray:
    return np.broadcast_to(np.eye(2) * sigma**2, (n, 2, 2)).copy()


def test_round_headed_for_open_ground_is_not_engaged() -> None:
    # one round lands 3 km from any asset (open ground), one in the embassy, one in the housing
    means = np.array([[3000.0, 3000.0], [0.0, 0.0], [1000.0, 0.0]])
    a = evaluate_threats(10.0, [1, 2, 3], means, _cov(20.0, 3), [30.0, 30.0, 30.0], ASSETS)
    assert a.engage.tolist() == [False, True, True]
    assert a.asset == ("", "embassy", "housing")
    assert a.asset_index[0] == -1 and a.priority[0] == 0.0 and a.value[0] == 0.0
    # 3 km at σ = 20 m is > 100 σ away: probability exactly negligible
    assert a.probability[0].max() < 1e-12
    # centred in a 400 m square at σ = 20 m: P = (2Φ(10) − 1)² = 1 to 1e-20
    assert a.p_asset[1] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(a.ranked(), [1, 2])


def test_probability_and_threatened_asset_by_expected_loss() -> None:
    # mean on the embassy's east edge with σ = 30 m: the square is 400 m, so the far edges are
    # > 13 σ away and P = Φ(0) × (2Φ(200/30) − 1) = 0.5 to 1e-10
    a = evaluate_threats(0.0, [5], [[200.0, 0.0]], _cov(30.0), [20.0], ASSETS)
    expected = 0.5 * (2.0 * norm.cdf(200.0 / 30.0) - 1.0)
    assert a.p_asset[0] == pytest.approx(expected, abs=1e-9)
    assert a.value[0] == pytest.approx(100.0 * expected)
    # halfway between: a wide ellipse reaches both; the threatened asset maximises V × P
    b = evaluate_threats(0.0, [6], [[600.0, 0.0]], _cov(300.0), [20.0], ASSETS)
    loss = b.probability[0] * ASSETS.values
    assert b.asset_index[0] == int(np.argmax(loss))
    assert b.value[0] == pytest.approx(loss.max())


def test_priority_by_value_and_time_to_impact() -> None:
    cfg = ThreatConfig(urgency_time_s=10.0)
    means = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    t_imp = np.array([20.0, 20.0, 40.0, 12.0])  # now = 10: time to go 10, 10, 30, 2 s
    a = evaluate_threats(10.0, [11, 12, 13, 14], means, _cov(5.0, 4), t_imp, ASSETS, cfg)
    # the documented formula V·P·τ/(τ + t_go), with P = 1 here (deep inside, σ = 5 m)
    t_go = t_imp - 10.0
    value = np.array([100.0, 40.0, 100.0, 100.0])
    np.testing.assert_allclose(a.priority, value * 10.0 / (10.0 + t_go), rtol=1e-9)
    # same asset: sooner first (14 before 11 before 13); same time: more valuable first (11 > 12)
    ranked = a.track_id[a.ranked()].tolist()
    assert ranked.index(14) < ranked.index(11) < ranked.index(13)
    assert ranked.index(11) < ranked.index(12)


def test_threshold_invalid_and_past_predictions() -> None:
    cfg = ThreatConfig(min_probability=0.2)
    # P ≈ Φ(−1) = 0.159 for the first (mean 30 m outside the edge, σ = 30 m): below 0.2
    means = np.array([[230.0, 0.0], [0.0, 0.0], [0.0, 0.0], [np.nan, 0.0]])
    valid = np.array([True, False, True, True])
    t_imp = np.array([30.0, 30.0, 5.0, 30.0])  # the third one has already landed (now = 10)
    a = evaluate_threats(10.0, [1, 2, 3, 4], means, _cov(30.0, 4), t_imp, ASSETS, cfg,
                         valid=valid)
    assert a.p_asset[0] == pytest.approx(norm.cdf(-1.0), abs=1e-3)
    assert not a.engage.any()
    assert a.asset_index[1] == -1 and a.asset_index[3] == -1
    assert a.ranked().size == 0


def test_assets_from_the_builtin_scenario() -> None:
    world = resolve(load_scenario("baghdad-embassy"))
    assets = DefendedAssets.from_scenario(world)
    assert assets.names[0] == "embassy" and assets.values[0] == 100.0
    centre = world.assets[0].area.center_m
    a = evaluate_threats(0.0, [1], centre[None], _cov(20.0), [15.0], assets)
    assert a.asset == ("embassy",) and a.engage[0]


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="min_probability"):
        ThreatConfig(min_probability=1.5)
    with pytest.raises(ValueError, match="urgency_time_s"):
        ThreatConfig(urgency_time_s=0.0)
    with pytest.raises(ValueError, match="values"):
        DefendedAssets.from_polygons([("x", box(0, 0, 1, 1), 0.0)])
