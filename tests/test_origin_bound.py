"""The point-of-origin accuracy bound of examples/origin_bound.py: its exact Gaussian CEP and how
the bound behaves along a track of the default scenario."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from counterram.physics.catalogue import load_catalogue
from counterram.prediction.origin import predict_origin
from counterram.scenario import load_scenario
from counterram.scenario.resolved import resolve
from counterram.sensors.detection import RcsTable
from counterram.sensors.radar import radars_from_scenario
from counterram.tracking.motion import Ballistic
from counterram.world import build_truth

_PATH = Path(__file__).resolve().parents[1] / "examples" / "origin_bound.py"
_spec = importlib.util.spec_from_file_location("origin_bound", _PATH)
assert _spec is not None and _spec.loader is not None
ob = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ob  # dataclasses look their module up there
_spec.loader.exec_module(ob)


def test_cep_gaussian_matches_closed_forms_and_sampling() -> None:
    # Circular: CEP = σ √(2 ln 2) = 1.17741 σ. Degenerate (σ₂ → 0): the median of |N(0, σ₁²)|,
    # 0.67449 σ₁. Both exact; the quadrature and 60 bisections are good to ~1e-6 relative.
    cov = np.array([np.diag([4.0, 4.0]), np.diag([9.0, 1e-10])])
    cep = ob.cep_gaussian(cov)
    assert cep[0] == pytest.approx(2.0 * np.sqrt(2.0 * np.log(2.0)), rel=1e-5)
    assert cep[1] == pytest.approx(3.0 * 0.6744897501960817, rel=1e-4)
    # A tilted ellipse against the median radius of 200 000 draws: the sample median's standard
    # error is 1/(2 f(m) √n) with f the radial density at the median (estimated by a histogram);
    # allow 4 of them.
    S = np.array([[30.0, 12.0], [12.0, 8.0]])
    r = np.hypot(*np.random.default_rng(7).multivariate_normal([0.0, 0.0], S, 200_000).T)
    m = float(np.median(r))
    f = np.mean(np.abs(r - m) < 0.05) / 0.1
    se = 1.0 / (2.0 * f * np.sqrt(r.size))
    assert ob.cep_gaussian(S[None])[0] == pytest.approx(m, abs=4 * se)


def test_origin_bound_shrinks_along_the_track_and_with_information() -> None:
    world = resolve(load_scenario("baghdad-embassy"))
    truth = build_truth(world)
    r = int(np.flatnonzero(truth.munition == "81mm-mortar")[0])
    mun = load_catalogue().get("81mm-mortar")
    radars = radars_from_scenario(world)
    search = [x for x in radars if not x.cued]
    rcs = float(RcsTable.from_truth(truth).lookup([r])[0])
    env = {"atmosphere": world.atmosphere(), "wind": world.wind()}

    def cep(sensors: list, q: float, q_beta: float) -> np.ndarray:
        motion = Ballistic.for_munition(mun, q=q, q_beta=q_beta, **env)
        b = ob.round_bound(truth, r, sensors, motion, 0.0, rcs)
        g = predict_origin(b.state[:3], b.cov[:3], b.time_s[:3], mun, **env)
        return ob.cep_gaussian(g.cov_en)  # confirmation, +4 s, end of track

    base = cep(search, 0.0, 0.0)
    # With no process noise the state at any time is an invertible function of the launch
    # state, so every look adds information about the origin: the bound can only shrink as the
    # track grows (here strictly: each look adds geometry).
    assert np.all(base > 0.0)
    assert base[0] > base[1] > base[2]
    # More sensors (the cued fire-control radars) can only add information ...
    assert np.all(cep(radars, 0.0, 0.0) <= base * 1.01)  # 1 %: the UT's nonlinear mapping
    # ... and process noise can only remove it ((Q + F J⁻¹ Fᵀ)⁻¹ decreases as Q grows).
    noisy = cep(search, ob.TRACKER_Q, ob.TRACKER_Q_BETA)
    assert np.all(noisy >= base * 0.99)
    assert noisy[2] > 10 * base[2]  # q = 2 over a 45 s back-extrapolation: ≳ 100 m against ~2 m
