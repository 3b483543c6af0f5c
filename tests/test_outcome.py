"""Tests of the burst outcome model: kill statistics, debris, duds and their casualties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import box

from counterram.engagement.collateral import PopulatedArea, casualty_area_m2
from counterram.engagement.config import Gun, GunConfig
from counterram.engagement.fire_control import FireOrder
from counterram.engagement.lethality import bias_covariance, burst_kill_probability
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
    ("track_sigma_m", "fc_mrad", "range_m", "rounds"),
    [(1.0, 0.5, 1200.0, 50), (3.0, 0.5, 1500.0, 50), (0.3, 0.2, 800.0, 20)],
)
def test_kill_rate_matches_predicted_pk(
    track_sigma_m: float, fc_mrad: float, range_m: float, rounds: int
) -> None:
    # The truth is drawn from the track covariance that the prediction assumed, so the realised
    # kill rate must match the predicted Pk: binomial, |rate − Pk| < 4 σ with
    # σ = √(Pk(1 − Pk)/N) (a false alarm about once in 16,000 runs).
    gun = _gun(fire_control_sigma_mrad=fc_mrad, burst_rounds=rounds)
    order = _order(gun, range_m, 40.0, 35.0)
    cov3 = np.diag([track_sigma_m**2, (0.7 * track_sigma_m) ** 2, (1.3 * track_sigma_m) ** 2])
    bcov = bias_covariance(order.aim_unit[None], range_m, gun.fire_control_sigma_rad, cov3[None])
    pk = float(burst_kill_probability(rounds, MORTAR.lethal_radius_m,
                                      range_m * gun.dispersion_rad, bias_cov_m2=bcov)[0])
    rng = np.random.default_rng(7)
    n = 3000
    errors = rng.multivariate_normal(np.zeros(3), cov3, n)
    kills = 0
    for e in errors:
        truth = np.concatenate([order.intercept_enu + e, order.threat_velocity_enu])
        out = resolve_burst(order, truth, rng, gun=gun, threat=MORTAR, fly_rounds=False)
        kills += out.killed
        assert out.killed == (out.miss_distance_m < MORTAR.lethal_radius_m)
    rate = kills / n
    assert 0.05 < pk < 0.95  # a meaningful comparison
    print(f"kill rate {rate:.4f} vs predicted Pk {pk:.4f}")
    assert abs(rate - pk) < 4.0 * math.sqrt(pk * (1 - pk) / n), (rate, pk)


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
    out = resolve_burst(order, truth, np.random.default_rng(3), gun=gun, threat=MORTAR)
    # σ_d = 1 cm at 1 km against a 0.8 m radius: the first round kills
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
    miss = resolve_burst(order, far, np.random.default_rng(3), gun=gun, threat=MORTAR)
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
    empty = resolve_burst(order, truth, np.random.default_rng(3), gun=gun, threat=MORTAR)
    assert empty.expected_casualties == 0.0
    town = [PopulatedArea(box(-5000, -5000, 5000, 5000), 10_000.0, "town")]
    out = resolve_burst(order, truth, np.random.default_rng(3), gun=gun, threat=MORTAR,
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
