"""Point-of-origin accuracy bound implied by the tracker's PCRLB, against the LCMR anchor.

For every true round of ``baghdad-embassy`` (default seed) this script

1. lists the looks the site's radars get at the round along its true trajectory, for three
   sensor sets: the LCMR alone (the anchor's radar), the search radars (the rotating LCMR looks
   when its beam passes the round's azimuth, the electronic WLR every revisit), and the search
   radars plus the fire-control radars' 0.1 s looks from the engine step after confirmation,
   assuming perfect cueing. A look counts when the round is inside the radar's geometric coverage
   (``Radar.covers``: range, sector, elevation limits and mask); each look carries the Swerling-1
   detection probability of the radar model at the round's range and catalogue RCS (the
   information-reduction-factor bound of Ristic et al. 2004, no clutter; one sensor-table column
   per look so that the probability can vary along the flight);
2. evaluates the PCRLB (:func:`counterram.metrics.pcrlb.pcrlb`) along the truth with the round's
   own munition model (``Ballistic.for_munition``: a known munition, so a lower bound on what a
   tracker that must also work out the munition can do), the scenario's atmosphere and wind, no
   process noise (the truth has none; ``--tracker-noise`` uses the tracker's q instead) and a
   diffuse prior; rockets from burnout on (the model is the burnt-out one);
3. at the confirmation look (the third search-radar look: the tracker confirms on 3 hits), 4 s
   later, the last look before impact, and the best time along the track, flies the TRUE state
   with the bound covariance back to the ground
   (:func:`counterram.prediction.origin.predict_origin`, unscented transform, rockets through
   their boost) and takes the exact CEP of the resulting 2-D Gaussian (the radius holding 50 % of
   its mass, found numerically).

The CEP of that Gaussian is what an unbiased estimator fed the same looks cannot beat; it is to be
read next to the LCMR's public ~100 m at ~7 km (FACTS.md section 3) and the engine's measured
point-of-origin CEP (docs/warning.md, "Point-of-origin accuracy against the LCMR anchor and the
PCRLB").

Usage: ``python examples/origin_bound.py [--seed N] [--scenario NAME] [--tracker-noise]``
(about 25 s).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
from scipy import special

from counterram.metrics.pcrlb import pcrlb
from counterram.physics.catalogue import load_catalogue
from counterram.prediction.origin import predict_origin
from counterram.scenario import load_scenario
from counterram.scenario.resolved import resolve
from counterram.sensors.detection import RcsTable, mean_snr, swerling1_pd
from counterram.sensors.noise import spherical
from counterram.sensors.radar import Radar, radars_from_scenario
from counterram.tracking.measurement import SensorTable
from counterram.tracking.motion import Ballistic
from counterram.world import Truth, build_truth

LCMR_ANCHOR_M = 100.0
LCMR_ANCHOR_RANGE_M = 7000.0
CONFIRM_LOOKS = 3  # the tracker confirms on 3 hits (TrackerConfig.confirm_hits)
ENGINE_STEP_S = 0.5  # EngineConfig.step_s: cues go out at the engine's next step
LATER_S = 4.0  # the "confirmation + a few seconds" estimate
# Times searched for the best estimate: every 0.5 s for 10 s after confirmation (where the
# bound with the tracker's process noise is smallest), then 8 times to the last look.
BEST_EARLY_S = np.arange(0.0, 10.01, 0.5)
BEST_LATE = 8
# Diffuse prior: 1 km, 300 m/s, and the tracker's own initial σβ (0.65, docs/tracking.md).
PRIOR_SIGMA = np.array([1000.0] * 3 + [300.0] * 3 + [0.65])
TRACKER_Q, TRACKER_Q_BETA = 2.0, 1e-3  # TrackerConfig.process_noise_q, process_noise_q_beta


def cep_gaussian(cov_en: np.ndarray, nodes: int = 128) -> np.ndarray:
    """Exact CEP (m) of zero-mean 2-D Gaussians with covariances (N, 2, 2).

    In the principal axes e = (σ₁ z₁, σ₂ z₂) with z standard normal, and with z₁ = (r/σ₁) sin u,
    P(|e| ≤ r) = ∫_{−π/2}^{π/2} φ(r sin u/σ₁) (r cos u/σ₁) (2Φ(r cos u/σ₂) − 1) du: a smooth
    integrand (Gauss–Legendre) for any eccentricity. r is then found by bisection (P increases
    with r) between 1.1774 σ₂ and 1.1774 σ₁, the CEPs of the circles on the two axes.
    """
    cov = 0.5 * (cov_en + np.swapaxes(cov_en, 1, 2))
    lam = np.linalg.eigvalsh(cov)  # (N, 2) ascending
    s2 = np.sqrt(np.maximum(lam[:, 0], 1e-12 * lam[:, 1] + 1e-18))[:, None]
    s1 = np.sqrt(lam[:, 1])[:, None]
    x, w = np.polynomial.legendre.leggauss(nodes)
    u = 0.5 * np.pi * x[None]
    w = 0.5 * np.pi * w[None]

    def prob(r: np.ndarray) -> np.ndarray:
        r = r[:, None]
        a = r * np.sin(u) / s1
        inner = special.erf(r * np.cos(u) / (s2 * np.sqrt(2.0)))  # 2Φ(·) − 1
        return np.sum(w * np.exp(-0.5 * a**2) / np.sqrt(2 * np.pi) * (r * np.cos(u) / s1) * inner,
                      axis=1)

    k50 = np.sqrt(-2.0 * np.log(0.5))
    lo, hi = k50 * s2[:, 0] * 0.999, k50 * s1[:, 0] * 1.001
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = prob(mid) < 0.5
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


@dataclass
class Looks:
    """Looks at one round: times (L,), sensor positions (L, 3), sigmas (L, 4), Pd (L,), the
    radar index of each look and whether it is a search radar."""

    time_s: np.ndarray
    position: np.ndarray
    sigma: np.ndarray
    pd: np.ndarray
    search: np.ndarray


def _interp_states(t: np.ndarray, t_samples: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """States (L, 6) at times ``t`` by linear interpolation between 0.05 s truth samples (error
    a·dt²/8 ≈ 3 mm for a = 10 m/s²)."""
    return np.column_stack([np.interp(t, t_samples, samples[:, j]) for j in range(6)])


def _look_times(radar: Radar, t0: float, t1: float, t_s: np.ndarray, x_s: np.ndarray) -> np.ndarray:
    """When ``radar`` looks at the round in [t0, t1): every revisit for an electronic scan, the
    beam's passes over the round's azimuth for a rotating one (zero crossings of azimuth − beam
    on the truth samples, linearly interpolated)."""
    c = radar.config
    if radar.cued or c.scan == "electronic":
        k0 = np.ceil(t0 / c.revisit_s - 1e-9)
        return np.arange(k0, np.floor(t1 / c.revisit_s + 1e-9) + 1) * c.revisit_s
    sel = (t_s >= t0) & (t_s < t1)
    t, x = t_s[sel], x_s[sel]
    rel = x[:, :3] - radar.position_enu
    az = np.arctan2(rel[:, 0], rel[:, 1])
    beam = np.radians(c.scan_start_deg) + 2.0 * np.pi * t / c.revisit_s
    g = np.mod(az - beam + np.pi, 2.0 * np.pi) - np.pi
    cross = np.flatnonzero((g[:-1] > 0) & (g[1:] <= 0) & (g[:-1] - g[1:] < np.pi))
    frac = g[cross] / (g[cross] - g[cross + 1])
    return t[cross] + frac * (t[cross + 1] - t[cross])


def round_looks(
    radars: list[Radar], t_s: np.ndarray, x_s: np.ndarray, t_start: float, rcs_m2: float
) -> tuple[Looks, float]:
    """Looks at one round by the search radars, then by the fire-control radars from the time
    the engine could cue them. Returns the looks (time-sorted) and the confirmation time."""
    t_end = t_s[-1]

    def looks_of(radar: Radar, t0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = _look_times(radar, t0, t_end, t_s, x_s)
        x = _interp_states(t, t_s, x_s)
        r, az, el, _ = spherical(x[:, :3] - radar.position_enu, x[:, 3:])
        ok = radar.covers(r, az, el, t)
        c = radar.config
        snr = mean_snr(
            r[ok],
            np.full(int(ok.sum()), rcs_m2),
            reference_snr=c.reference_snr,
            reference_range_m=c.reference_range_m,
            reference_rcs_m2=c.reference_rcs_m2,
        )
        return t[ok], swerling1_pd(snr, c.pfa), np.full(int(ok.sum()), radars.index(radar))

    parts = [looks_of(r, t_start) for r in radars if not r.cued]
    t = np.concatenate([p[0] for p in parts])
    order = np.argsort(t)
    if t.size < CONFIRM_LOOKS:
        raise RuntimeError("a round is seen fewer than 3 times by the search radars")
    which = np.concatenate([p[2] for p in parts])[order]
    t_confirm = float(t[order][CONFIRM_LOOKS - 1])
    latency = radars[which[CONFIRM_LOOKS - 1]].config.latency_s
    t_cue = np.ceil((t_confirm + latency) / ENGINE_STEP_S - 1e-9) * ENGINE_STEP_S
    parts += [looks_of(r, t_cue) for r in radars if r.cued]
    t = np.concatenate([p[0] for p in parts])
    pd = np.concatenate([p[1] for p in parts])
    idx = np.concatenate([p[2] for p in parts])
    order = np.argsort(t, kind="stable")
    t, pd, idx = t[order], pd[order], idx[order]
    pos = np.array([radars[i].position_enu for i in idx]).reshape(-1, 3)
    sig = np.array(
        [[np.nan if v is None else v for v in radars[i].sigma] for i in idx], dtype=float
    ).reshape(-1, 4)
    search = np.array([not radars[i].cued for i in idx], dtype=bool)
    return Looks(t, pos, sig, pd, search), t_confirm


def bound_at(
    looks: Looks, t_s: np.ndarray, x_s: np.ndarray, motion: Ballistic, eval_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCRLB covariance (E, 7, 7), true state (E, 7) and time (E,) at the last look time ≤ each
    of ``eval_s``.

    One sensor-table column per look, so that each look carries its own Pd; looks at the same
    instant (WLR and FCR on the 0.1 s grid) share one time step."""
    t_round = np.round(looks.time_s, 6)
    times, step = np.unique(t_round, return_inverse=True)
    L = looks.time_s.size
    table = SensorTable(np.arange(L), looks.position, looks.sigma)
    observed = np.zeros((times.size, L), dtype=bool)
    observed[step, np.arange(L)] = True
    truth = np.column_stack([_interp_states(times, t_s, x_s), np.zeros(times.size)])  # β = 0
    res = pcrlb(
        truth,
        times,
        motion,
        np.diag(PRIOR_SIGMA**2),
        table,
        observed,
        detection_probability=looks.pd,
        use_radial_velocity=True,
    )
    k = np.clip(np.searchsorted(times, np.round(eval_s, 6), side="right") - 1, 0, None)
    return res.covariance_bound[k], truth[k], times[k]


@dataclass
class RoundBound:
    """The bound for one round at E evaluation times: confirmation, confirmation + LATER_S, the
    last look, then the times searched for the best estimate (BEST_EARLY_S, BEST_LATE).
    ``time_s`` (E,) are look times, ``state`` (E, 7) the truth there (β = 0), ``cov`` (E, 7, 7)
    the PCRLB."""

    t_confirm_s: float
    time_s: np.ndarray
    state: np.ndarray
    cov: np.ndarray
    looks: Looks


def round_bound(
    truth: Truth, r: int, radars: list[Radar], motion: Ballistic, burn_time_s: float, rcs_m2: float
) -> RoundBound:
    """The PCRLB of round ``r`` of ``truth`` seen by ``radars`` (from burnout for a rocket)."""
    cnt = int(truth.sample_count[r])
    t_s = truth.launch_time_s[r] + truth.sample_dt_s * np.arange(cnt)
    x_s = truth.samples[r, :cnt]
    t_start = truth.launch_time_s[r] + max(burn_time_s, 0.0)
    looks, t_conf = round_looks(radars, t_s, x_s, t_start, rcs_m2)
    eval_s = np.concatenate([
        [t_conf, t_conf + LATER_S, looks.time_s[-1]],
        np.minimum(t_conf + BEST_EARLY_S, looks.time_s[-1]),
        np.linspace(t_conf, looks.time_s[-1], BEST_LATE),
    ])
    C, x, te = bound_at(looks, t_s, x_s, motion, eval_s)
    return RoundBound(t_conf, te, x, C, looks)


def _fmt(v: float) -> str:
    return f"{v:.1f}" if v < 10 else f"{v:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="baghdad-embassy")
    ap.add_argument("--seed", type=int, default=None, help="truth seed (default: the scenario's)")
    ap.add_argument(
        "--tracker-noise",
        action="store_true",
        help="bound with the tracker's process noise (q = 2 m²/s³, q_β = 1e-3 /s) instead of "
        "none (the truth has none)",
    )
    args = ap.parse_args()
    wall = time.perf_counter()
    scenario = load_scenario(args.scenario)
    world = resolve(scenario)
    truth = build_truth(world, seed=args.seed)
    radars = radars_from_scenario(world)
    atmosphere, wind = world.atmosphere(), world.wind()
    catalogue = load_catalogue()
    rcs = RcsTable.from_truth(truth)
    sets = {
        "LCMR alone (the anchor's radar)": [r for r in radars if r.config.type == "lcmr"],
        "search radars only": [r for r in radars if not r.cued],
        "search + cued fire-control radars": radars,
    }
    n = len(truth)
    rng_m = np.hypot(*(truth.impact_enu[:, :2] - truth.launch_enu[:, :2]).T)
    names = [str(m) for m in truth.munition]
    q, q_beta = (TRACKER_Q, TRACKER_Q_BETA) if args.tracker_noise else (0.0, 0.0)
    motions = {m: Ballistic.for_munition(
        catalogue.get(m), atmosphere=atmosphere, wind=wind, q=q, q_beta=q_beta
    ) for m in dict.fromkeys(names)}

    print(f"{args.scenario}, truth seed {truth.seed}: {n} rounds; radars "
          + ", ".join(f"{r.name} ({r.config.revisit_s:g} s, σ {r.sigma[0]:g} m / "
                      f"{r.sigma[1] * 1e3:g} mrad)" for r in radars))
    print("PCRLB with each round's own munition model (known munition), scenario wind, "
          f"q = {q:g} m²/s³, q_β = {q_beta:g} /s, diffuse prior; Swerling-1 Pd per look; "
          "fire-control radars perfectly cued from confirmation.")
    print(f"LCMR anchor: {LCMR_ANCHOR_M:.0f} m at {LCMR_ANCHOR_RANGE_M / 1e3:.0f} km = "
          f"{100 * LCMR_ANCHOR_M / LCMR_ANCHOR_RANGE_M:.1f} % of range.\n")
    labels = ("confirmation", f"conf. + {LATER_S:g} s", "end of track", "best")
    for set_name, set_radars in sets.items():
        xs, Ps, ts, rows, info = [], [], [], [], []
        for r in range(n):
            m = catalogue.get(names[r])
            b = round_bound(truth, r, set_radars, motions[names[r]], float(m.burn_time_s),
                            float(rcs.lookup([r])[0]))
            xs.append(b.state)
            Ps.append(b.cov)
            ts.append(b.time_s)
            rows += [m] * b.time_s.size
            info.append((b.t_confirm_s - truth.launch_time_s[r], b.looks.time_s.size,
                         float(np.mean(b.looks.pd))))
        g = predict_origin(
            np.concatenate(xs), np.concatenate(Ps), np.concatenate(ts), rows,
            atmosphere=atmosphere, wind=wind,
        )
        cep_all = cep_gaussian(g.cov_en).reshape(n, -1)
        cep = np.column_stack([cep_all[:, :3], cep_all.min(axis=1)])
        print(f"== {set_name} ==")
        head = f"{'munition':<14}{'rounds':>7}{'range km':>9}{'conf. at s':>11}{'looks':>6}"
        for lab in labels:
            head += f"{lab + ' m':>20}{'%':>7}"
        print(head)
        for mun in dict.fromkeys(names):
            sel = np.array([nm == mun for nm in names])
            line = (f"{mun:<14}{int(sel.sum()):>7}{np.median(rng_m[sel]) / 1e3:>9.2f}"
                    f"{np.median([info[i][0] for i in np.flatnonzero(sel)]):>11.1f}"
                    f"{int(np.median([info[i][1] for i in np.flatnonzero(sel)])):>6}")
            for j in range(4):
                c = cep[sel, j]
                pct = 100 * c / rng_m[sel]
                line += (f"{np.median(c):>11.1f} ({_fmt(c.min())}–{_fmt(c.max())})"
                         f"{np.median(pct):>7.3f}")
            print(line)
        c_all = cep / rng_m[:, None]
        print(f"{'all':<14}{n:>7}{np.median(rng_m) / 1e3:>9.2f}{'':>17}"
              + "".join(f"{np.median(cep[:, j]):>20.1f}{100 * np.median(c_all[:, j]):>7.3f}"
                        for j in range(4)))
        print(f"(coarse origin rows: {int(np.sum(g.coarse))}; mean Pd over looks "
              f"{np.mean([i[2] for i in info]):.2f})\n")
    print("CEP: median over rounds (min–max) of the exact 50 % radius of the bound's origin "
          "Gaussian; %: of launch-to-impact range. 'conf. at s': the third search look, s after "
          "launch. 'best': the smallest from confirmation to the last look (every 0.5 s for 10 s, "
          f"then {BEST_LATE} times; the engine keeps its origin estimate of smallest covariance).")
    print(f"wall {time.perf_counter() - wall:.1f} s")


if __name__ == "__main__":
    main()
