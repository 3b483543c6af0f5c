"""The compiled pairing gates and costs agree with their textbook vectorised form."""

from __future__ import annotations

import numpy as np

from counterram.tracking.initiation import PairingGates, PlotPool, pair_plots
from counterram.tracking.motion import STANDARD_GRAVITY_MPS2


def _reference(pool: PlotPool, t: np.ndarray, p: np.ndarray, C: np.ndarray, gates: PairingGates,
               ground: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every gated pair and its cost, straight from the module docstring with numpy."""
    g = STANDARD_GRAVITY_MPS2
    dt_all = t[None, :] - pool.time_s[:, None]
    i, j = np.nonzero((dt_all >= gates.min_dt_s) & (dt_all <= gates.max_dt_s))
    dt = dt_all[i, j]
    dp = p[j] - pool.p[i]
    C12 = pool.C[i] + C[j]
    v = dp / dt[:, None]
    v[:, 2] -= 0.5 * g * dt
    speed = np.linalg.norm(v, axis=1)
    u = v / np.maximum(speed, 1e-9)[:, None]
    slack = 3.0 * np.sqrt(np.einsum("ni,nij,nj->n", u, C12, u)) / dt
    ok = (speed >= gates.speed_min_mps - slack) & (speed <= gates.speed_max_mps + slack)
    floor = ground - 3.0 * np.sqrt(np.maximum(C[j, 2, 2], pool.C[i, 2, 2]))
    ok &= (pool.p[i, 2] >= floor) & (p[j, 2] >= floor)
    i, j, dt, dp, C12 = i[ok], j[ok], dt[ok], dp[ok], C12[ok]
    S = C12 + ((gates.prior_speed_sigma_mps * dt) ** 2)[:, None, None] * np.eye(3)
    d2 = np.einsum("ni,ni->n", dp, np.linalg.solve(S, dp[..., None])[..., 0])
    return i, j, d2 + np.linalg.slogdet(S)[1]


def _plots(rng: np.random.Generator, n: int, t0: float) -> tuple[np.ndarray, ...]:
    t = t0 + rng.uniform(0.0, 0.5, n)
    p = rng.uniform([-3000, -3000, -50], [3000, 3000, 2000], (n, 3))
    A = rng.normal(0.0, 20.0, (n, 3, 3))
    C = A @ np.swapaxes(A, 1, 2) + 25.0 * np.eye(3)
    return t, p, C


def test_compiled_pairs_match_the_vectorised_formula() -> None:
    rng = np.random.default_rng(11)
    gates = PairingGates(max_pairs_per_plot=100)  # every gated pair comes back
    seen = 0
    for _ in range(20):
        pt, pp, pC = _plots(rng, 30, 0.0)
        pool = PlotPool(pt, np.zeros(30, np.int64), pp, pC, np.arange(30))
        t, p, C = _plots(rng, 8, 1.0)
        # some new plots one second of flight from a pooled one, so that gates pass
        p[:4] = pp[:4] + rng.uniform(-300, 300, (4, 3))
        t[:4] = pt[:4] + 1.0
        got = pair_plots(pool, t, p, C, gates, ground_height_m=0.0)
        i, j, cost = _reference(pool, t, p, C, gates, 0.0)
        order = np.lexsort((cost, j))  # pair_plots ranks each new plot's pairs by cost
        assert np.array_equal(got.i, i[order]) and np.array_equal(got.j, j[order])
        np.testing.assert_allclose(got.cost, cost[order], rtol=1e-12, atol=1e-9)
        seen += got.i.size
    assert seen > 20  # the gates passed some pairs and refused others
    assert seen < 20 * 30 * 8
