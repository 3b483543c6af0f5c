"""Tests of the burst outcome model: kill statistics under either kill model, debris, duds and
their casualties, and the gun's kill-model and burst-size settings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import box

from counterram.engagement.collateral import PopulatedArea, casualty_area_m2
from counterram.engagement.config import Gun, GunConfig
from counterram.engagement.fire_control import FireOrder
from counterram.engagement.lethality import (
    bias_covariance,
    burst_kill_probability,
    burst_pk,
    presented_area,
    presented_length_m,
    sample_burst,
)
from counterram.engagement.outcome import miss_plane_basis, resolve_burst
from counterram.physics.catalogue import load_catalogue

CAT = load_catalogue()
MORTAR = CAT.get("81mm-mortar")


def _gun(**kw) -> Gun:
    data = {"name": "g", "type": "gun", "position": {"east_m": 0.0, "north_m": 0.0, "up_m": 3.0}}
    data.update(kw)
    return Gun.from_config(GunConfig.model_validate(data))


def _order(gun: Gun, range_m: float, az_deg: float, el_deg: float, pk: float = math.nan,
           bias_cov: np.ndarray | None = None) -> FireOrder:
    az, el = math.radians(az_deg), math.radians(el_deg)
    d = np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])
    point = gun.position_enu + range_m * d
    return FireOrder(
        time_s=10.0, gun=gun.name, gun_index=0, track_id=3, fire_time_s=10.5,
        rounds=gun.rounds_per_burst, burst_s=gun.burst_s, azimuth_rad=az, elevation_rad=el,
        gun_enu=gun.position_enu.copy(), intercept_enu=point, intercept_time_s=12.0,
        slant_range_m=range_m, round_tof_s=1.5, threat_velocity_enu=np.array([-80.0, 0, -150]),
        predicted_pk=pk, bias_cov_m2=np.eye(2) if bias_cov is None else bias_cov,
        sigma_dispersion_m=range_m * gun.dispersion_rad, expected_casualties=0.0,
        casualties_averted=0.0, threatened_asset="camp", threat_munition=MORTAR.name,
        priority=1.0,
    )


@pytest.mark.parametrize(
    ("kill_model", "track_sigma_m", "fc_mrad", "range_m", "rounds"),
    [
        ("presented_area", 0.3, 0.2, 400.0, 100),
        ("presented_area", 0.5, 0.3, 300.0, 200),
        ("presented_area", 0.2, 0.1, 600.0, 150),
        ("lethal_radius", 1.0, 0.5, 1200.0, 50),
        ("lethal_radius", 3.0, 0.5, 1500.0, 50),
        ("lethal_radius", 0.3, 0.2, 800.0, 20),
    ],
)
def test_kill_rate_matches_predicted_pk(
    kill_model: str, track_sigma_m: float, fc_mrad: float, range_m: float, rounds: int
) -> None:
    # The truth is drawn from the track covariance that the prediction assumed, so the realised
    # kill rate must match the predicted Pk of the gun's kill model: binomial,
    # |rate − Pk| < 4 σ with σ = √(Pk(1 − Pk)/N) (a false alarm about once in 16,000 runs).
    gun = _gun(fire_control_sigma_mrad=fc_mrad, burst_rounds=rounds, kill_model=kill_model)
    order = _order(gun, range_m, 40.0, 35.0)
    cov3 = np.diag([track_sigma_m**2, (0.7 * track_sigma_m) ** 2, (1.3 * track_sigma_m) ** 2])
    bcov = bias_covariance(order.aim_unit[None], range_m, gun.fire_control_sigma_rad, cov3[None])
    pk = float(burst_pk(kill_model, rounds, [range_m * gun.dispersion_rad], bcov,
                        order.aim_unit[None], order.threat_velocity_enu[None], [MORTAR])[0])
    if kill_model == "lethal_radius":
        assert pk == float(burst_kill_probability(rounds, MORTAR.lethal_radius_m,
                                                  range_m * gun.dispersion_rad,
                                                  bias_cov_m2=bcov)[0])
    area = presented_area(order.aim_unit, order.threat_velocity_enu, MORTAR.diameter_m,
                          presented_length_m(MORTAR))
    rng = np.random.default_rng(7)
    n = 3000
    errors = rng.multivariate_normal(np.zeros(3), cov3, n)
    kills = 0
    for e in errors:
        truth = np.concatenate([order.intercept_enu + e, order.threat_velocity_enu])
        out = resolve_burst(order, truth, rng, gun=gun, threat=MORTAR, fly_rounds=False)
        kills += out.killed
        if kill_model == "lethal_radius":
            assert out.killed == (out.miss_distance_m < MORTAR.lethal_radius_m)
        elif out.killed:  # the killing round struck the silhouette
            assert area.contains(out.miss_m[None, out.kill_round])[0]
    rate = kills / n
    assert 0.05 < pk < 0.95  # a meaningful comparison
    print(f"{kill_model}: kill rate {rate:.4f} vs predicted Pk {pk:.4f}")
    assert abs(rate - pk) < 4.0 * math.sqrt(pk * (1 - pk) / n), (rate, pk)


def test_presented_area_outcome_hits_and_defeats() -> None:
    # a small dispersion at 300 m: some rounds strike the bomb, most miss
    gun = _gun(fire_control_sigma_mrad=0.0, dispersion_mrad=0.5, burst_rounds=40)
    assert gun.config.kill_model == "presented_area"
    order = _order(gun, 300.0, 40.0, 35.0)
    truth = np.concatenate([order.intercept_enu, order.threat_velocity_enu])
    area = presented_area(order.aim_unit, truth[3:6], MORTAR.diameter_m,
                          presented_length_m(MORTAR))
    sure = MORTAR.with_overrides(defeat_given_hit=1.0)
    never = MORTAR.with_overrides(defeat_given_hit=0.0)
    hits_seen = 0
    for seed in range(40):
        out = resolve_burst(order, truth, np.random.default_rng(seed), gun=gun, threat=sure,
                            fly_rounds=False)
        inside = area.contains(out.miss_m[None])[0]
        hits_seen += int(inside.sum())
        # every hit defeats: the first round in the silhouette kills
        assert out.killed == bool(inside.any())
        assert out.kill_round == (int(np.argmax(inside)) if inside.any() else -1)
        again = resolve_burst(order, truth, np.random.default_rng(seed), gun=gun, threat=never,
                              fly_rounds=False)
        assert not again.killed and again.kill_round == -1
        np.testing.assert_array_equal(again.miss_m, out.miss_m)  # the same draws
    assert hits_seen > 10


def test_outcome_draws_in_a_fixed_order() -> None:
    # bias + dispersion (sample_burst), then one uniform per hitting round (presented area
    # only), then one dud draw per round: replayed by hand with the same seed
    for kill_model in ("presented_area", "lethal_radius"):
        gun = _gun(fire_control_sigma_mrad=0.3, dispersion_mrad=0.5, burst_rounds=60,
                   kill_model=kill_model, dud_rate=0.3)
        order = _order(gun, 300.0, 40.0, 35.0)
        truth = np.concatenate([order.intercept_enu, order.threat_velocity_enu])
        out = resolve_burst(order, truth, np.random.default_rng(21), gun=gun, threat=MORTAR,
                            fly_rounds=False)
        rng = np.random.default_rng(21)
        sample = sample_burst(rng, 60, 300.0 * gun.dispersion_rad,
                              sigma_bias_m=300.0 * gun.fire_control_sigma_rad)
        np.testing.assert_allclose(out.miss_m, sample.miss_m, atol=1e-9)
        if kill_model == "presented_area":
            area = presented_area(order.aim_unit, truth[3:6], MORTAR.diameter_m,
                                  presented_length_m(MORTAR))
            hits = np.flatnonzero(area.contains(sample.miss_m[None])[0])
            defeat = hits[rng.random(hits.size) < MORTAR.defeat_given_hit]
            assert hits.size > 0 and out.kill_round == (defeat[0] if defeat.size else -1)
        else:
            inside = sample.miss_distance_m < MORTAR.lethal_radius_m
            assert out.kill_round == (int(np.argmax(inside)) if inside.any() else -1)
        dud = rng.random(60) < gun.dud_rate
        if out.killed:
            dud[out.kill_round] = False
        np.testing.assert_array_equal(out.dud, dud)


def test_kill_model_config_and_sweep() -> None:
    from counterram.campaign.sweep import build_points, parse_sweep
    from counterram.scenario import load_scenario

    assert GunConfig.model_fields["kill_model"].default == "presented_area"
    assert GunConfig.model_fields["kill_model"].description
    base = load_scenario("fob-mortar")
    points = build_points(base, [parse_sweep("effectors.0.kill_model=presented_area,"
                                             "lethal_radius")])
    assert [p.scenario.effectors[0].kill_model for p in points] == ["presented_area",
                                                                     "lethal_radius"]
    from counterram.campaign.sweep import SweepError

    with pytest.raises(SweepError, match="kill_model"):
        build_points(base, [parse_sweep("effectors.0.kill_model=fragments")])
    with pytest.raises(ValueError, match="presented_area"):
        _gun(kill_model="fragments")


def test_burst_larger_than_the_magazine_is_rejected() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        _gun(magazine=40)  # the default burst of 50 cannot be fired
    (err,) = info.value.errors()
    assert err["loc"] == ("burst_rounds",)
    assert "burst_rounds (50) exceeds the magazine (40 rounds)" in err["msg"]
    assert err["ctx"]["allowed"] == "burst_rounds ≤ magazine (40)"
    assert _gun(magazine=50).config.burst_rounds == 50


def test_shared_bias_is_the_track_error_projected_on_the_miss_plane() -> None:
    gun = _gun(fire_control_sigma_mrad=0.0, dispersion_mrad=1e-9)
    order = _order(gun, 1000.0, 0.0, 45.0)
    offset = np.array([3.0, 0.0, 0.0])  # threat 3 m east of the aim point, across the line
    truth = np.concatenate([order.intercept_enu + offset, order.threat_velocity_enu])
    out = resolve_burst(order, truth, np.random.default_rng(1), gun=gun, threat=MORTAR,
                        fly_rounds=False)
    basis = miss_plane_basis(order.aim_unit)
    np.testing.assert_allclose(out.bias_m, basis @ (-offset), atol=1e-9)
    # no dispersion, no fire-control error: every round misses by exactly 3 m
    np.testing.assert_allclose(out.miss_m, np.tile(basis @ (-offset), (gun.rounds_per_burst, 1)),
                               atol=1e-6)
    assert not out.killed and out.miss_distance_m == pytest.approx(3.0, abs=1e-6)


def test_a_kill_leaves_debris_and_no_impact() -> None:
    gun = _gun(fire_control_sigma_mrad=0.0, dispersion_mrad=0.01, dud_rate=0.0)
    order = _order(gun, 1000.0, 30.0, 40.0)
    truth = np.concatenate([order.intercept_enu, order.threat_velocity_enu])
    sure = MORTAR.with_overrides(defeat_given_hit=1.0)
    out = resolve_burst(order, truth, np.random.default_rng(3), gun=gun, threat=sure)
    # σ_d = 1 cm at 1 km against an 8 cm body, every hit defeating: the first round kills
    assert out.killed and out.kill_round == 0
    np.testing.assert_allclose(out.debris_enu, truth[:3])
    assert out.debris is not None and len(out.debris) == 1
    # the debris falls from ~640 m moving west at 80 m/s: it lands near the intercept, west of it
    d = out.debris.mean_en[0] - truth[:2]
    assert d[0] < 0 and np.hypot(*d) < 1000.0
    # the killing round is spent; every other round self-destructs in the air (no duds)
    assert out.ground_impact_enu.shape == (0, 3)
    assert out.burst_enu.shape == (gun.rounds_per_burst - 1, 3)
    assert np.all(out.burst_enu[:, 2] > 0)
    ev = out.to_event()
    assert ev.killed and ev.duds == 0 and ev.time_s == order.intercept_time_s
    assert ev.debris_enu == pytest.approx(tuple(truth[:3]))

    # a clean miss: no debris, the threat goes on to impact (the simulator's business)
    far = truth.copy()
    far[0] += 50.0
    miss = resolve_burst(order, far, np.random.default_rng(3), gun=gun, threat=sure)
    assert not miss.killed and miss.debris is None and np.all(np.isnan(miss.debris_enu))
    assert miss.burst_enu.shape == (gun.rounds_per_burst, 3)
    assert not miss.to_event().killed


def test_duds_fall_to_the_ground_at_the_dud_rate() -> None:
    dud_rate = 0.2
    gun = _gun(dud_rate=dud_rate, burst_rounds=200)
    order = _order(gun, 1500.0, 60.0, 50.0)
    off = np.array([40.0, 0.0, 0.0])  # 40 m off: no kill
    truth = np.concatenate([order.intercept_enu + off, order.threat_velocity_enu])
    rng = np.random.default_rng(11)
    # uniform background density ρ: E_c of the whole rounds is exactly count × A_c × ρ
    rho_km2 = 5000.0
    duds = rounds = 0
    for _ in range(8):
        out = resolve_burst(order, truth, rng, gun=gun, threat=MORTAR,
                            background_density_per_km2=rho_km2)
        assert not out.killed
        rounds += gun.rounds_per_burst
        duds += out.n_duds
        # fired at 50° the rounds are still climbing at the self-destruct time: exactly the
        # duds come down whole, on the ground, downrange along the line of fire
        np.testing.assert_array_equal(out.ground_round, np.flatnonzero(out.dud))
        assert np.all(np.abs(out.ground_impact_enu[:, 2]) < 1e-6)
        bearing = np.degrees(np.arctan2(out.ground_impact_enu[:, 0], out.ground_impact_enu[:, 1]))
        assert np.all(np.abs(bearing - 60.0) < 2.0)
        assert np.all(out.ground_impact_time_s > order.fire_time_s + gun.self_destruct_s)
        assert out.burst_enu.shape[0] == gun.rounds_per_burst - out.n_duds
        m = gun.interceptor
        area = casualty_area_m2(m.diameter_m * (m.length_m or 5.0 * m.diameter_m))
        assert out.casualties_rounds == pytest.approx(out.n_duds * float(area) * rho_km2 * 1e-6)
    # binomial: |duds/rounds − rate| < 4 √(rate(1 − rate)/rounds)
    assert abs(duds / rounds - dud_rate) < 4.0 * math.sqrt(dud_rate * (1 - dud_rate) / rounds)


def test_casualties_only_where_people_are() -> None:
    gun = _gun(fire_control_sigma_mrad=0.0, dispersion_mrad=0.01, dud_rate=0.0)
    order = _order(gun, 1000.0, 30.0, 40.0)
    truth = np.concatenate([order.intercept_enu, order.threat_velocity_enu])
    sure = MORTAR.with_overrides(defeat_given_hit=1.0)  # the first round kills
    empty = resolve_burst(order, truth, np.random.default_rng(3), gun=gun, threat=sure)
    assert empty.expected_casualties == 0.0
    town = [PopulatedArea(box(-5000, -5000, 5000, 5000), 10_000.0, "town")]
    out = resolve_burst(order, truth, np.random.default_rng(3), gun=gun, threat=sure,
                        populated_areas=town)
    assert out.casualties_debris > 0.0
    assert out.expected_casualties == pytest.approx(
        out.casualties_debris + out.casualties_rounds + out.casualties_fragments)
    assert out.to_event().expected_casualties == pytest.approx(out.expected_casualties)


def test_bad_truth_is_rejected() -> None:
    gun = _gun()
    with pytest.raises(ValueError, match="true_state_at_intercept"):
        resolve_burst(_order(gun, 1000.0, 0.0, 45.0), [np.nan] * 6, np.random.default_rng(0),
                      gun=gun, threat=MORTAR)
