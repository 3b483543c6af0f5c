"""Incremental prediction: the linearisation of a UT flight, carrying it, the re-flight policy."""

from __future__ import annotations

import numpy as np
import pytest

from counterram.engine import Engine, EngineConfig
from counterram.events import ImpactPredicted
from counterram.metrics.warning import synthetic_rounds, track_covariances, track_estimates
from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles, fly
from counterram.prediction.impact import impact_points, impact_sigma_flights
from counterram.prediction.incremental import (
    IncrementalPredictor,
    LinearisationTable,
    ReflightPolicy,
    carry,
    linearise,
)
from counterram.tracking.motion import Ballistic

CAT = load_catalogue()
MORTAR = CAT.get("120mm-mortar")


@pytest.fixture(scope="module")
def tracks():
    """40 tracks of 120 mm mortar bombs seen a quarter into their flight, with realistic
    covariances, and the tracks' own motion model (the bomb's drag, estimated β)."""
    rng = np.random.default_rng(7)
    rows = [MORTAR] * 40
    truth = synthetic_rounds(rng, rows)
    t = truth.grid_time(0.25 * truth.impact_time_s)
    P = track_covariances(rng, len(rows))
    x = track_estimates(rng, truth.state_at(t), P)
    motion = Ballistic.for_munition(MORTAR, estimate_drag_scale=True)
    return x, P, t, rows, motion


def _maha(err: np.ndarray, cov: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ni,nij,nj->n", err, np.linalg.inv(cov), err))


def test_carrying_at_the_linearisation_point_reproduces_the_ut(tracks) -> None:
    """Algebra: J P₀ Jᵀ + R = P_yy and g(x₀) + b = ȳ₀ (round-off only)."""
    x, P, t, rows, _ = tracks
    sf = impact_sigma_flights(x, P, t, rows)
    full = sf.prediction()
    lin = linearise(sf)
    c = carry(lin, sf.Y[:, 0], P)
    assert full.valid.all() and c.valid.all()
    np.testing.assert_allclose(c.mean_en, full.mean_en, rtol=0, atol=1e-6)
    np.testing.assert_allclose(c.time_s, full.time_s, rtol=0, atol=1e-9)
    scale = np.einsum("nii->n", full.cov_ent)[:, None, None]
    np.testing.assert_allclose(c.cov_ent / scale, full.cov_ent / scale, rtol=0, atol=1e-9)


def test_carried_prediction_one_second_later_matches_a_full_flight(tracks) -> None:
    """A state 1 s on along its path, with a covariance shrunk by a plot: the carried mean is
    within 0.1 σ of the full UT's (p95; the engine's measurement on a salvo: 0.04 σ) and the
    covariance's largest σ within 10 %."""
    x, P, t, rows, motion = tracks
    lin = linearise(impact_sigma_flights(x, P, t, rows))
    x1, F = motion.transition_jacobian(x, 1.0)
    P1 = 0.7 * (F @ P @ np.swapaxes(F, 1, 2))
    full = impact_sigma_flights(x1, P1, t + 1.0, rows).prediction()
    _, B = motion.transition_jacobian(x1, -1.0)
    carried = carry(lin, impact_points(x1, t + 1.0, rows), B @ P1 @ np.swapaxes(B, 1, 2))
    maha = _maha(carried.mean_en - full.mean_en, full.cov_en)
    assert np.percentile(maha, 95) < 0.1
    major = np.linalg.eigvalsh(carried.cov_en)[:, -1] / np.linalg.eigvalsh(full.cov_en)[:, -1]
    ratio = np.sqrt(major)
    assert np.all(np.abs(ratio - 1.0) < 0.1)


def _predictor(policy: ReflightPolicy, motion: Ballistic):
    pred = IncrementalPredictor(policy, motion.transition_jacobian)

    def call(now, ids, x, P, t, rows):
        names = tuple(m.name for m in rows)
        return pred.predict(
            now, ids, x, P, t, names,
            lambda r: impact_sigma_flights(x[r], P[r], t[r], [rows[k] for k in r]),
            lambda r: impact_points(x[r], t[r], [rows[k] for k in r]),
        )

    return pred, call


def test_predictor_flies_only_what_its_policy_says(tracks) -> None:
    x, P, t, rows, motion = tracks
    x, P, t, rows = x[:6], P[:6], t[:6], rows[:6]
    ids = np.arange(6) + 100
    pred, call = _predictor(ReflightPolicy(max_age_s=2.0, max_full_per_step=0), motion)
    call(10.0, ids, x, P, t, rows)
    assert (pred.full_flights, pred.centre_flights) == (6, 0)
    x1, F = motion.transition_jacobian(x, 0.5)
    P1 = F @ P @ np.swapaxes(F, 1, 2)
    g = call(10.5, ids, x1, P1, t + 0.5, rows)  # young and the same covariance: carried
    assert (pred.full_flights, pred.centre_flights) == (6, 6)
    assert g.valid.all() and list(g.munition) == [m.name for m in rows]
    call(10.5, ids, x1, 0.3 * P1, t + 0.5, rows)  # covariance shrunk below the band: flown
    assert pred.full_flights == 12
    call(12.6, ids, x1, 0.3 * P1, t + 0.5, rows)  # linearisation older than max_age_s: flown
    assert pred.full_flights == 18
    other = [CAT.get("81mm-mortar")] * 2 + rows[2:]
    call(12.7, ids, x1, 0.3 * P1, t + 0.5, other)  # the assumed munition changed: flown
    assert pred.full_flights == 20 and pred.centre_flights == 10
    pred.drop(ids[:3])
    call(12.8, ids, x1, 0.3 * P1, t + 0.5, other)  # forgotten tracks: flown
    assert pred.full_flights == 23


def test_step_budget_flies_the_oldest_and_carries_the_rest(tracks) -> None:
    x, P, t, rows, motion = tracks
    x, P, t, rows = x[:5], P[:5], t[:5], rows[:5]
    ids = np.arange(5)
    pred, call = _predictor(ReflightPolicy(max_age_s=1.0, max_full_per_step=2), motion)
    call(0.0, ids[:3], x[:3], P[:3], t[:3], rows[:3])
    call(0.5, ids[3:], x[3:], P[3:], t[3:], rows[3:])
    assert pred.full_flights == 5
    before = pred.table.made_s(pred.table.rows(ids)).copy()
    call(2.0, ids, x, P, t, rows)  # all five are stale, the budget is two
    made = pred.table.made_s(pred.table.rows(ids))
    assert pred.full_flights == 7 and pred.over_budget == 3 and pred.centre_flights == 3
    assert np.count_nonzero(made == 2.0) == 2
    assert np.all(made[:3][made[:3] != 2.0] == before[:3][made[:3] != 2.0])
    assert np.all(made[3:] == before[3:])  # the two younger ones were carried


def test_linearisation_table_grows_reuses_and_forgets(tracks) -> None:
    x, P, t, rows, _ = tracks
    lin = linearise(impact_sigma_flights(x, P, t, rows))
    table = LinearisationTable(capacity=8)
    ids = np.arange(40) * 3
    table.put(ids, lin, 5.0)
    r = table.rows(ids)
    assert np.all(r >= 0) and len(set(r.tolist())) == 40
    back = table.get(r)
    np.testing.assert_array_equal(back.jacobian, lin.jacobian)
    np.testing.assert_array_equal(back.bias, lin.bias)
    table.drop(ids[:10])
    assert np.all(table.rows(ids[:10]) == -1)
    table.put(np.arange(10) + 1000, _rows(lin, 10), 6.0)
    assert set(table.rows(np.arange(10) + 1000).tolist()) == set(r[:10].tolist())
    np.testing.assert_array_equal(table.get(table.rows(ids[10:])).residual, lin.residual[10:])


def _rows(lin, k):
    from dataclasses import fields, replace

    return replace(lin, **{f.name: getattr(lin, f.name)[:k] for f in fields(lin)
                           if f.name != "munition"}, munition=lin.munition[:k])


def test_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="max_age_s"):
        ReflightPolicy(max_age_s=-1.0)
    with pytest.raises(ValueError, match="variance_ratio"):
        ReflightPolicy(min_variance_ratio=1.5)
    with pytest.raises(ValueError, match="max_full_per_step"):
        ReflightPolicy(max_full_per_step=-1)
    with pytest.raises(ValueError, match="prediction_rtol"):
        EngineConfig(prediction_rtol=0.1)
    with pytest.raises(ValueError, match="origin_tracks_per_step"):
        EngineConfig(origin_tracks_per_step=-1)
    with pytest.raises(ValueError, match="classification_tracks_per_step"):
        EngineConfig(classification_tracks_per_step=-1)


def test_backward_flight_that_outruns_any_round_stops_early() -> None:
    """A fast descending rocket state flown back as a 60 mm bomb gains speed without bound; the
    flight stops at the speed limit (NaN origin) long before the 400 s time limit, while a
    consistent state still reaches its launch point."""
    bomb = CAT.get("60mm-mortar")
    state = np.array([[0.0, 0.0, 3000.0, -333.0, -167.0, -236.0]])
    f = fly(state, Projectiles.from_munitions([bomb]), backward=True, sample_dt_s=1.0)
    assert np.isnan(f.impact_time_s[0])
    assert abs(f.samples_t[-1]) < 100.0
    ok = fly(np.array([[0.0, 0.0, 500.0, 60.0, 0.0, 80.0]]), Projectiles.from_munitions([bomb]),
             backward=True)
    assert np.isfinite(ok.impact_time_s[0])


def test_engine_incremental_impacts_agree_with_full_flights() -> None:
    """The engine with incremental prediction and with a full UT at every prediction, on the
    same plots: every impact announced by both within 0.25 σ of each other and the ellipses'
    major axes within 15 % (the measured p95 on a 100-round salvo: 0.04 σ and 6 %)."""
    from conftest import two_firings as small_scenario
    from counterram.sim import simulate

    res = simulate(small_scenario(), seed=3)
    full = Engine.from_scenario(
        small_scenario(), EngineConfig(step_s=res.step_s,
                                       impact_reflight=ReflightPolicy(max_age_s=0.0)))
    inc = Engine.from_scenario(small_scenario(), EngineConfig(step_s=res.step_s))
    report = res.plots.report_time_s
    got: dict[str, dict] = {"full": {}, "inc": {}}
    for k in range(1, round(res.end_time_s / res.step_s) + 1):
        now = k * res.step_s
        batch = res.plots.take(np.flatnonzero((report > now - res.step_s) & (report <= now)))
        for name, eng in (("full", full), ("inc", inc)):
            for e in eng.step(now, batch):
                if isinstance(e, ImpactPredicted):
                    got[name][(e.time_s, e.track_id)] = e
    assert inc._impacts.centre_flights > 0.2 * inc._impacts.full_flights  # some were carried
    both = sorted(set(got["full"]) & set(got["inc"]))
    assert len(both) > 0.9 * len(got["full"])
    err, ratio = [], []
    for key in both:
        a, b = got["full"][key], got["inc"][key]
        C = np.array(a.covariance_m2)
        d = np.subtract(b.impact_en, a.impact_en)
        err.append(float(np.sqrt(d @ np.linalg.solve(C, d))))
        ratio.append(b.ellipse.semi_major_m / a.ellipse.semi_major_m)
    assert np.percentile(err, 95) < 0.25
    assert np.percentile(np.abs(np.array(ratio) - 1.0), 95) < 0.15


def test_classification_rechecks_are_spread_over_steps() -> None:
    """An 8-rocket salvo's tracks come due for re-classification together. With at most one
    re-check per step, no step re-checks more than one track that already had a munition
    (tracks without one are always classified), re-checks still happen, and every track's last
    announced munition is the one the uncapped engine names."""
    from counterram.scenario import load_scenario
    from counterram.sim import simulate

    grad = load_scenario("grad-salvo")
    salvo = grad.model_copy(update={"threats": (grad.threats[0].model_copy(
        update={"rounds": 8, "salvo_interval_s": 0.2}),)})
    res = simulate(salvo)
    engines = {cap: Engine.from_scenario(salvo, EngineConfig(
        step_s=res.step_s, classification_tracks_per_step=cap)) for cap in (0, 1)}
    report = res.plots.report_time_s
    rechecks = {0: [], 1: []}
    named: dict[int, dict] = {0: {}, 1: {}}
    for k in range(1, round(res.end_time_s / res.step_s) + 1):
        now = k * res.step_s
        batch = res.plots.take(np.flatnonzero((report > now - res.step_s) & (report <= now)))
        for cap, eng in engines.items():
            had = zip(eng.tracks.track_id, eng.tracks.col("munition"), strict=True)
            before = {int(i): m for i, m in had}
            events = eng.step(now, batch)
            done = eng.tracks.col("classified_s") == now
            rechecks[cap].append(sum(
                1 for i in eng.tracks.track_id[done] if before.get(int(i), "") != ""))
            for e in events:
                if isinstance(e, ImpactPredicted):
                    named[cap][e.track_id] = e.munition
    assert max(rechecks[1]) == 1
    assert sum(rechecks[1]) > 0
    assert max(rechecks[0]) > 1  # the cap did bind
    assert named[1] == named[0]
