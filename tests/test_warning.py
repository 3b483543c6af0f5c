"""Zone probabilities, the Warner state machine, warning metrics and the early-warning policy."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from counterram.metrics.warning import (
    false_warnings,
    origin_error,
    policy_study,
    round_warnings,
    warning_intervals,
)
from counterram.physics.catalogue import load_catalogue
from counterram.prediction.impact import GroundPrediction
from counterram.warning.policy import CONFIRMED_ONLY, EarlyWarningPolicy
from counterram.warning.warner import (
    AllClear,
    Warner,
    WarnerSettings,
    WarningIssued,
    WarningUpdated,
)
from counterram.warning.zones import WarningZones

ZONES = WarningZones.from_polygons(
    {
        "west": box(-1000, -500, 0, 500),
        "east": box(0, -500, 1000, 500),
        "far": box(5000, 5000, 5100, 5100),
    }
)


def _pred(mean, sigma, t_impact, sigma_t=0.3) -> GroundPrediction:
    mean = np.atleast_2d(np.asarray(mean, dtype=float))
    n = mean.shape[0]
    cov = np.broadcast_to(
        np.eye(2) * np.asarray(sigma, dtype=float).reshape(-1, 1, 1) ** 2, (n, 2, 2)
    )
    cov_ent = np.zeros((n, 3, 3))
    cov_ent[:, :2, :2] = cov
    cov_ent[:, 2, 2] = sigma_t**2
    t = np.broadcast_to(np.asarray(t_impact, dtype=float), (n,)).copy()
    return GroundPrediction(
        mean,
        cov.copy(),
        t,
        np.full(n, sigma_t),
        cov_ent,
        np.ones(n, bool),
        np.zeros(n, bool),
        ("x",) * n,
    )


def test_zone_probability_inside_outside_edge():
    p = ZONES.probabilities(
        [[-500.0, 0.0], [3000.0, 3000.0], [0.0, 0.0], [-500.0, 500.0]],
        np.broadcast_to(np.eye(2) * 20.0**2, (4, 2, 2)),
    )
    # well inside west (25 σ from every edge): mass 1 to double precision
    assert p[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert p[1].max() < 1e-12  # 100 σ away from every zone
    # on the straight west/east boundary, 25 σ from the corners: half in each zone
    assert p[2, 0] == pytest.approx(0.5, abs=1e-9)
    assert p[2, 1] == pytest.approx(0.5, abs=1e-9)
    # on the outer north edge of west: half (the corners are 25 σ away)
    assert p[3, 0] == pytest.approx(0.5, abs=1e-9)


def test_zone_probability_degenerate_and_invalid_rows():
    cov = np.array([[[0.0, 0.0], [0.0, 0.0]], [[np.nan, 0], [0, 1]]])
    p = ZONES.probabilities([[-500.0, 0.0], [0.0, 0.0]], cov)
    assert p[0, 0] == pytest.approx(1.0)  # floored to 1 m: still well inside
    assert np.all(p[1] == 0.0)  # failed prediction: no probability anywhere


def test_warner_issues_once_updates_and_clears_after_margin():
    w = Warner(ZONES, WarnerSettings(threshold=0.01, all_clear_margin_s=10.0, impact_sigma_k=0.0))
    recs = w.update(0.0, [7], _pred([-500, 0], 50, 30.0))
    assert [type(r) for r in recs] == [WarningIssued]
    assert recs[0].zone == "west" and recs[0].track_ids == (7,)
    assert recs[0].predicted_impact_time_s == pytest.approx(30.0)
    # same threat, same prediction: nothing new
    assert w.update(1.0, [7], _pred([-500, 0], 40, 30.2)) == []
    # the prediction moves later by more than the 1 s tolerance: an update
    recs = w.update(2.0, [7], _pred([-500, 0], 30, 32.0))
    assert [type(r) for r in recs] == [WarningUpdated]
    # a second threat for the same zone: an update naming both
    recs = w.update(3.0, [7, 8], _pred([[-500, 0], [-400, 100]], 30, [32.0, 33.0]))
    assert [type(r) for r in recs] == [WarningUpdated]
    assert recs[0].track_ids == (7, 8)
    assert w.warned_zones == ("west",)
    # all clear only after the last threat's impact (33 s) + margin (10 s)
    assert w.advance(42.9) == []
    recs = w.advance(43.0)
    assert [type(r) for r in recs] == [AllClear]
    assert recs[0].issued_time_s == 0.0
    assert w.warned_zones == ()


def test_warner_neutralised_track_clears_early_and_lost_track_does_not():
    w = Warner(ZONES, WarnerSettings(all_clear_margin_s=10.0, impact_sigma_k=0.0))
    w.update(0.0, [1, 2], _pred([[-500, 0], [500, 0]], 50, [40.0, 40.0]))
    assert w.warned_zones == ("west", "east")
    w.end_tracks(5.0, [1], neutralised=True)
    w.end_tracks(5.0, [2], neutralised=False)
    recs = w.advance(15.0)
    assert [(type(r), r.zone) for r in recs] == [(AllClear, "west")]
    assert w.warned_zones == ("east",)


def test_warner_releases_a_zone_the_prediction_has_left():
    """Release with hysteresis: a confirmed track whose prediction stays below the release
    level for the hold is detached (zone cleared at once, ``released``); between the release
    level and the threshold it stays; a tentative track is never released; coming back warns
    again."""
    s = WarnerSettings(threshold=0.01, release_threshold=0.001, release_hold_s=2.0,
                       all_clear_margin_s=10.0, impact_sigma_k=0.0, settle_max_s=0.0)
    w = Warner(ZONES, s)
    assert [r.zone for r in w.update(0.0, [1], _pred([-200, 0], 150, 60.0))] == ["west", "east"]
    # the prediction moves well into west: east's mass ~1e-14 (< 0.001), held for 2 s
    sharp = _pred([-500, 0], 50, 60.0)
    assert w.update(1.0, [1], sharp) == []
    assert w.update(2.0, [1], sharp, confirmed=[False]) == []  # tentative: kept
    assert w.update(2.5, [1], sharp) == []  # below since 2.5 s now (the hold restarted)
    recs = w.update(4.5, [1], sharp)
    assert [(type(r), r.zone, r.released) for r in recs] == [(AllClear, "east", True)]
    assert w.warned_zones == ("west",)
    # between the release level and the threshold: east is not warned again, west stays
    mid = _pred([-150, 0], 50, 60.0)  # east's mass Φ(-3) = 0.0013
    assert 0.001 < ZONES.probabilities(mid.mean_en, mid.cov_en)[0, 1] < 0.01
    assert w.update(5.0, [1], mid) == []
    # back across the threshold: a new warning for east
    recs = w.update(6.0, [1], _pred([-50, 0], 50, 60.0))
    assert [(type(r), r.zone) for r in recs] == [(WarningIssued, "east")]
    # with release off (0), nothing is ever released
    w0 = Warner(ZONES, WarnerSettings(threshold=0.01, release_threshold=0.0, settle_max_s=0.0))
    w0.update(0.0, [1], _pred([-200, 0], 150, 60.0))
    for t in (1.0, 5.0, 9.0):
        assert w0.update(t, [1], sharp) == []
    assert w0.warned_zones == ("west", "east")
    with pytest.raises(ValueError, match="release_threshold"):
        WarnerSettings(threshold=0.01, release_threshold=0.02)


def test_warner_waits_for_a_settled_prediction_at_most_settle_max_s():
    """Settling: a first prediction wider than ``settle_sigma_m`` warns no zone until it
    narrows, or until ``settle_max_s`` after the track's first prediction, or where the
    zone's probability reaches ``settle_confident``; a narrow one warns at once."""
    s = WarnerSettings(threshold=0.01, settle_sigma_m=100.0, settle_max_s=2.0,
                       settle_confident=0.9, all_clear_margin_s=10.0, impact_sigma_k=0.0)
    w = Warner(ZONES, s)
    # 1 km wide across the west/east boundary: both zones ~0.5, neither warned yet
    assert w.update(0.0, [1], _pred([0, 0], 1000, 60.0)) == []
    # narrower (80 m) and inside west: warned now, east (mass ~1e-10) never
    recs = w.update(0.5, [1], _pred([-500, 0], 80, 60.0))
    assert [(type(r), r.zone) for r in recs] == [(WarningIssued, "west")]
    # a track that stays wide is held for settle_max_s, then warns as without settling
    assert w.update(1.0, [2], _pred([500, 0], 600, 60.0)) == []
    assert w.update(2.5, [2], _pred([500, 0], 600, 60.0)) == []
    recs = w.update(3.0, [2], _pred([500, 0], 600, 60.0))  # east issued, west joined
    assert [(type(r), r.zone) for r in recs] == [(WarningUpdated, "west"),
                                                 (WarningIssued, "east")]
    # a wide prediction that is almost surely in a zone (p ≥ settle_confident) warns at once
    w2 = Warner(ZONES, s)
    recs = w2.update(0.0, [3], _pred([-500, 0], 150, 60.0))
    assert [(type(r), r.zone) for r in recs] == [(WarningIssued, "west")]
    # settling off (settle_max_s = 0): the wide first prediction warns both zones at once
    w0 = Warner(ZONES, WarnerSettings(threshold=0.01, settle_max_s=0.0))
    assert sorted(r.zone for r in w0.update(0.0, [1], _pred([0, 0], 1000, 60.0))) == [
        "east", "west"]
    with pytest.raises(ValueError, match="settle"):
        WarnerSettings(settle_max_s=-1.0)


def test_people_in_zones_and_needless_shelter():
    """People per zone from the populated areas' overlap; person-seconds of the false warnings
    (an open warning counts to the end of the run)."""
    from types import SimpleNamespace

    from counterram.metrics.warning import (
        FalseWarning,
        needless_shelter_person_s,
        zone_populations,
    )

    town = SimpleNamespace(area=SimpleNamespace(polygon=box(-500, -500, 500, 500)),
                           density_per_m2=0.01)  # 10,000 per km²
    people = zone_populations(ZONES, [town])
    # half of the town's square km in each of west and east, nothing far away
    np.testing.assert_allclose(people, [5000.0, 5000.0, 0.0], rtol=1e-12)
    false = [FalseWarning("west", 10.0, 40.0), FalseWarning("east", 20.0, np.inf),
             FalseWarning("far", 0.0, 100.0)]
    got = needless_shelter_person_s(false, ZONES, people, end_time_s=50.0)
    assert got == pytest.approx(5000.0 * 30.0 + 5000.0 * 30.0)


def test_warner_rejects_time_going_backwards():
    w = Warner(ZONES)
    w.update(5.0, [1], _pred([-500, 0], 50, 30.0))
    with pytest.raises(ValueError, match="backwards"):
        w.advance(4.0)


def test_metrics_warning_time_miss_and_false_warning():
    w = Warner(ZONES, WarnerSettings(all_clear_margin_s=5.0, impact_sigma_k=0.0))
    recs = w.update(10.0, [1], _pred([-20, 0], 100, 30.0))  # straddles west and east
    recs += w.advance(100.0)
    assert {iv.zone for iv in warning_intervals(recs)} == {"west", "east"}
    # the round lands in west at 30 s, a second unwarned round lands in "far" at 50 s
    impact = np.array([[-30.0, 0.0], [5050.0, 5050.0]])
    rw = round_warnings(recs, ZONES, impact, [30.0, 50.0], first_detection_s=[8.0, 40.0])
    by_zone = {r.zone: r for r in rw}
    assert by_zone["west"].warning_time_s == pytest.approx(20.0)
    assert by_zone["west"].available_time_s == pytest.approx(22.0)
    assert by_zone["west"].decision_latency_s == pytest.approx(2.0)
    assert by_zone["far"].missed
    fw = false_warnings(recs, ZONES, impact, [30.0, 50.0])
    assert [f.zone for f in fw] == ["east"]


def test_origin_error_cep_and_percent_of_range():
    # errors of 50 m (odd rounds) and 150 m (even ones) at 5 km: median 100 m = 2 % of range
    err = np.where(np.arange(101)[:, None] % 2 == 0, [[0.0, 150.0]], [[50.0, 0.0]])
    err[50] = [0.0, 100.0]
    cep, pct = origin_error(err, np.zeros((101, 2)), np.full(101, 5000.0))
    assert cep == pytest.approx(100.0)
    assert pct == pytest.approx(2.0)


def test_policy_select_inflates_only_short_tentative_tracks():
    pol = EarlyWarningPolicy(tentative_max_time_to_impact_s=20.0, tentative_inflation=4.0)
    pred = _pred([[0, 0], [0, 0], [0, 0]], 10.0, [15.0, 40.0, 15.0])
    mask, out = pol.select(0.0, pred, [False, False, True])
    assert mask.tolist() == [True, False, True]
    assert out.cov_en[:, 0, 0].tolist() == [400.0, 100.0, 100.0]
    mask, _ = CONFIRMED_ONLY.select(0.0, pred, [False, False, True])
    assert mask.tolist() == [False, False, True]


def test_early_policy_trades_false_warnings_for_time():
    """Same raids and seeds: warning tentative tracks gives at least as much warning time (it
    can only add earlier warnings) and more false warnings (clutter tracks that never confirm
    can now warn). Settling off, as the policy's own trade-off; with settling (the default)
    the wide predictions of short-lived clutter tracks warn no more often than without."""
    cat = load_catalogue()
    mun = [cat.get("60mm-mortar"), cat.get("81mm-mortar"), cat.get("107mm-rocket")]
    rows = [mun[i % 3] for i in range(24)]
    kw = {"clutter_tracks": 24, "target_box_m": 600.0,
          "settings": WarnerSettings(threshold=0.01, settle_max_s=0.0)}
    base = policy_study(np.random.default_rng(11), rows, CONFIRMED_ONLY, **kw)
    early = policy_study(np.random.default_rng(11), rows, EarlyWarningPolicy(30.0, 4.0), **kw)
    kw["settings"] = WarnerSettings(threshold=0.01)
    settled = policy_study(np.random.default_rng(11), rows, EarlyWarningPolicy(30.0, 4.0), **kw)
    assert (settled.false_warnings_per_clutter_track
            <= early.false_warnings_per_clutter_track)
    assert base.rounds_in_zones == early.rounds_in_zones > 5
    assert np.all(np.nan_to_num(early.warning_time_s) >= np.nan_to_num(base.warning_time_s) - 1e-9)
    assert np.nanmean(early.warning_time_s) > np.nanmean(base.warning_time_s)
    assert base.false_warnings_per_clutter_track == 0.0
    assert early.false_warnings_per_clutter_track > 0.0
