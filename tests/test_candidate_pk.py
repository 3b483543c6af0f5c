"""The compiled candidate-burst Pk equals the public, validating functions it replaces in fire
control's inner loop (position covariance carried to the intercept, miss-plane bias, burst Pk)."""

from __future__ import annotations

import numpy as np
import pytest

from counterram.engagement.candidate_pk import candidate_bias_covariance, candidate_burst_pk
from counterram.engagement.fire_control import _kill_model_rows, position_covariance_at
from counterram.engagement.lethality import bias_covariance, burst_pk
from counterram.physics.catalogue import load_catalogue

CAT = load_catalogue()


def _random_candidates(seed: int, n_threats: int = 40, n_rows: int = 300):
    rng = np.random.default_rng(seed)
    names = [m.name for m in CAT if m.kind != "interceptor"]
    munitions = [CAT.get(names[i]) for i in rng.integers(len(names), size=n_threats)]
    a = rng.normal(size=(n_threats, 7, 7)) * rng.uniform(0.02, 0.5, (n_threats, 1, 7))
    P = a @ np.swapaxes(a, 1, 2) + 1e-3 * np.eye(7)
    drag = rng.normal(size=(n_threats, 3)) * 5.0
    rows = rng.integers(n_threats, size=n_rows)
    aim = rng.normal(size=(n_rows, 3))
    aim[:, 2] = np.abs(aim[:, 2]) + 0.2
    aim /= np.linalg.norm(aim, axis=1, keepdims=True)
    aim[0] = (0.0, 0.0, 1.0)  # straight up: the miss plane's east axis
    vel = rng.normal(size=(n_rows, 3)) * 150.0
    vel[1] = 0.0  # no body axis: nose-on
    range_m = rng.uniform(150.0, 1500.0, n_rows)
    dt = rng.uniform(0.0, 6.0, n_rows)
    return munitions, P, drag, rows, aim, vel, range_m, dt


@pytest.mark.parametrize("kill_model", ["presented_area", "lethal_radius"])
def test_candidate_pk_equals_the_composed_public_functions(kill_model: str) -> None:
    munitions, P, drag, rows, aim, vel, range_m, dt = _random_candidates(5)
    sigma_fc = 0.3e-3
    ref_cov = bias_covariance(aim, range_m, sigma_fc,
                              position_covariance_at(P[rows], dt, drag[rows]))
    cov = candidate_bias_covariance(aim, range_m, sigma_fc, P, rows, dt, drag)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10, atol=1e-9)
    sd = range_m * 1e-3
    body = _kill_model_rows(kill_model, munitions)[rows]
    for n_rounds in (10, 100):
        ref = burst_pk(kill_model, n_rounds, sd, ref_cov, aim, vel, [munitions[r] for r in rows])
        got = candidate_burst_pk(kill_model, n_rounds, sd, cov, aim, vel, body[:, 0],
                                 body[:, 1], body[:, 2])
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
        assert np.ptp(got) > 0.1  # the rows span the model, not one corner of it


def test_candidate_pk_rejects_bad_rows() -> None:
    munitions, _, _, rows, aim, vel, _, _ = _random_candidates(6, n_rows=4)
    body = _kill_model_rows("presented_area", munitions)[rows]
    cov = np.tile(np.eye(2), (4, 1, 1))
    with pytest.raises(ValueError, match="semi-definite"):
        candidate_burst_pk("presented_area", 10, np.ones(4), -cov, aim, vel, *body.T)
    with pytest.raises(ValueError, match="sigma_dispersion_m"):
        candidate_burst_pk("presented_area", 10, np.zeros(4), cov, aim, vel, *body.T)
    with pytest.raises(ValueError, match="unknown kill model"):
        candidate_burst_pk("fragments", 10, np.ones(4), cov, aim, vel, *body.T)
    with pytest.raises(ValueError, match="not a threat"):
        _kill_model_rows("presented_area", [CAT.get("M940")])
