"""Intercept solving for fire control: the direct drag Newton against the firing-table solver.

The case is fire control's with ~100 threats in the air: 81 mm and 120 mm mortar bombs and 107 mm
rockets aimed (``counterram.physics.aiming.aim``) from 3–6 km at points within 400 m of a gun,
caught at random moments of their flights. As ``FireControl._plan_threats`` does, each threat's
path is flown once on a 0.25 s grid up to a 25 s horizon, and the candidate rows (threat, fire
time) are the grid times at which the threat is airborne, above the lowest engagement height and
within reach — every grid time (``--fine-span``, default the whole horizon, gives ≈ 4,000 rows),
or fire control's fine grid for the first ``--fine-span`` seconds and 1 s steps beyond.

Both solvers get the same rows, in the same run:

* ``engagement_window`` (``method="drag"``): every row's state is its path sample, fired at delay
  0; Newton re-integrates the round (three per iteration) and the threat (RK4, 0.02 s);
* ``solve_intercept_on_path`` + ``apply_window_limits``: the threat interpolated on its path, the
  round from the gun's ``FiringTable``; timed after compilation, best of ``--repeat``.

Printed: table build time (first build, and a rebuild), rows/s and ms for each, and the
differences between the two on rows both solved (intercept point, time of flight) plus rows whose
feasibility differs. Wind: the ``baghdad-embassy`` layered north-westerly (``--calm`` for none).
``--json`` prints one JSON object instead.

    python benchmarks/bench_intercept.py [--threats 115] [--fine-span 25] [--calm] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import fields, replace

import numpy as np

from counterram.engagement.firing_table import FiringTable
from counterram.engagement.intercept import (
    GunLimits,
    WindowReason,
    apply_window_limits,
    engagement_window,
    solve_intercept_on_path,
)
from counterram.physics.aiming import aim
from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.physics.wind import CALM, Wind

BAGHDAD_WIND = Wind.layers([0.0, 1000.0, 3000.0], [1.5, 4.0, 8.0], [-2.0, -6.0, -10.0])
GUN = np.array([0.0, 0.0, 3.0])


def threats_in_the_air(n: int, wind: Wind, seed: int = 7):
    """n threat states "now" and their bodies (module docstring)."""
    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    names = rng.choice(["81mm-mortar", "120mm-mortar", "107mm-rocket"], n)
    states = np.empty((n, 6))
    for name in np.unique(names):
        rows = np.flatnonzero(names == name)
        m = cat.get(str(name))
        k = rows.size
        bearing = rng.uniform(0.0, 2.0 * np.pi, k)
        dist = rng.uniform(3000.0, 6000.0, k)
        launch = np.column_stack([dist * np.sin(bearing), dist * np.cos(bearing), np.zeros(k)])
        target = np.column_stack([rng.uniform(-400.0, 400.0, (k, 2)), np.zeros(k)])
        sol = aim(m, launch, target, wind=wind)
        ok = sol.feasible
        x0 = launch_state(launch, sol.azimuth_rad, sol.elevation_rad, sol.muzzle_velocity_mps)
        flight = fly(x0, Projectiles.repeat(m, k), wind=wind, sample_dt_s=0.05)
        for r, row in enumerate(rows):
            tof = flight.time_of_flight_s[r] if ok[r] else 0.0
            # somewhere in the last 85 % of the flight (motors burnt out by then)
            i = int(rng.uniform(0.15, 0.9) * tof / 0.05)
            states[row] = flight.samples[r, max(i, 1)]
    bodies = Projectiles.from_munitions([cat.get(str(nm)) for nm in names])
    return states, bodies, names


def candidates(states, bodies, wind, limits, self_destruct_s, fine_span_s, horizon_s=25.0):
    """Paths on the 0.25 s grid and the screened (threat, grid index) rows, as fire control;
    the paths run on past the horizon by the round's longest flight, so that intercepts of late
    fire times lie on them."""
    path = fly(states, bodies, wind=wind, time_since_launch_s=1e9, sample_dt_s=0.25,
               max_time_s=horizon_s + self_destruct_s + 1.0)
    grid, samples = path.samples_t, path.samples
    coarse = np.arange(grid.size) % 4 == 0
    sampled = (coarse | (grid <= fine_span_s)) & (grid <= horizon_s + 1e-9)
    rel = samples[..., 0:3] - np.asarray(limits.position_enu)
    speed = np.linalg.norm(samples[..., 3:6], axis=-1)
    reach = limits.max_range_m + speed * self_destruct_s + 50.0
    with np.errstate(invalid="ignore"):
        cand = (sampled[None, :] & (samples[..., 2] >= limits.min_altitude_m)
                & (np.linalg.norm(rel, axis=-1) <= reach))
    jj, kk = np.nonzero(cand)
    return grid, samples, jj, kk


def _first_column(sol):
    """(M, 1, ...) solutions (one fire time per row) as (M, ...)."""
    out = {f.name: getattr(sol, f.name)[:, 0] for f in fields(sol)
           if isinstance(getattr(sol, f.name), np.ndarray) and getattr(sol, f.name).ndim >= 2
           and getattr(sol, f.name).shape[1] == 1}
    return replace(sol, **out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threats", type=int, default=115)
    parser.add_argument("--fine-span", type=float, default=25.0,
                        help="seconds of 0.25 s fire-time grid before 1 s steps (default all)")
    parser.add_argument("--calm", action="store_true", help="no wind")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    wind = CALM if args.calm else BAGHDAD_WIND
    interceptor = load_catalogue().get("20mm-sd")
    limits = GunLimits(position_enu=tuple(GUN))
    states, bodies, _ = threats_in_the_air(args.threats, wind)
    grid, samples, jj, kk = candidates(states, bodies, wind, limits,
                                       interceptor.self_destruct_s, args.fine_span)
    m = jj.size

    # table: first build (includes numba start-up of the integrator when cold) and a rebuild
    t0 = time.perf_counter()
    FiringTable.build(interceptor, wind=wind, gun_height_m=GUN[2])
    first_build = time.perf_counter() - t0
    rebuild = min(
        FiringTable.build(interceptor, wind=wind, gun_height_m=GUN[2]).build_time_s
        for _ in range(3)
    )
    table = FiringTable.for_(interceptor, wind=wind, gun_height_m=GUN[2])

    def tabulated():
        sol = solve_intercept_on_path(GUN, grid, samples, jj, grid[kk], table,
                                      ground_height_m=0.0)
        reasons, _ready = apply_window_limits(limits, sol, grid[kk], ground_height_m=0.0,
                                             interceptor=interceptor)
        return sol, reasons

    tabulated()  # compile
    best_solve = best_total = best_cold = np.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        sol = solve_intercept_on_path(GUN, grid, samples, jj, grid[kk], table,
                                      ground_height_m=0.0)
        t1 = time.perf_counter()
        apply_window_limits(limits, sol, grid[kk], ground_height_m=0.0, interceptor=interceptor)
        t2 = time.perf_counter()
        solve_intercept_on_path(GUN, grid, samples, jj, grid[kk], table, ground_height_m=0.0,
                                warm_start=False)
        t3 = time.perf_counter()
        best_solve = min(best_solve, t1 - t0)
        best_total = min(best_total, t2 - t0)
        best_cold = min(best_cold, t3 - t2)
    sol, reasons = tabulated()

    t0 = time.perf_counter()
    w = engagement_window(limits, samples[jj, kk], bodies.take(jj), [0.0],
                          threat_time_since_launch_s=1e9, ground_height_m=0.0, wind=wind,
                          interceptor=interceptor)
    old_s = time.perf_counter() - t0
    old = _first_column(w.solution)
    old_reasons = w.reasons[:, 0]

    both = sol.ok & old.ok
    d_pos = np.linalg.norm(sol.intercept_enu[both] - old.intercept_enu[both], axis=1)
    d_tof = np.abs(sol.round_tof_s[both] - old.round_tof_s[both])
    ignore = ~int(WindowReason.NOT_READY)
    feas_new = (reasons & ignore) == 0
    feas_old = (old_reasons & ignore) == 0
    result = {
        "rows": int(m),
        "threats": int(args.threats),
        "wind": "calm" if args.calm else "baghdad-embassy layers",
        "table_first_build_s": first_build,
        "table_build_s": rebuild,
        "table_mb": table.nbytes / 1e6,
        "table_harmonics": table.harmonics,
        "old_ms": old_s * 1e3,
        "old_rows_per_s": m / old_s,
        "table_solve_ms": best_solve * 1e3,
        "table_solve_and_limits_ms": best_total * 1e3,
        "table_solve_cold_ms": best_cold * 1e3,
        "table_rows_per_s": m / best_solve,
        "speedup": old_s / best_solve,
        "solved_old": int(old.ok.sum()),
        "solved_table": int(sol.ok.sum()),
        "solved_both": int(both.sum()),
        "feasible_old": int(feas_old.sum()),
        "feasible_table": int(feas_new.sum()),
        "feasibility_differs": int((feas_old != feas_new).sum()),
        "d_intercept_max_m": float(d_pos.max(initial=0.0)),
        "d_intercept_median_m": float(np.median(d_pos)) if d_pos.size else 0.0,
        "d_tof_max_s": float(d_tof.max(initial=0.0)),
        "table_newton_iterations_max": int(sol.iterations),
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{m} candidate rows ({args.threats} threats, {result['wind']})")
    print(f"firing table: first build {first_build * 1e3:.0f} ms, rebuild {rebuild * 1e3:.0f} ms,"
          f" {result['table_mb']:.2f} MB, {table.harmonics} azimuth harmonics")
    print(f"{'solver':<34}{'ms':>10}{'rows/s':>14}")
    print(f"{'engagement_window (drag Newton)':<34}{old_s * 1e3:>10.1f}{m / old_s:>14,.0f}")
    print(f"{'solve_intercept_on_path (table)':<34}{best_solve * 1e3:>10.2f}"
          f"{m / best_solve:>14,.0f}")
    print(f"{'  + apply_window_limits':<34}{best_total * 1e3:>10.2f}{m / best_total:>14,.0f}")
    print(f"{'  every row from its own guess':<34}{best_cold * 1e3:>10.2f}{m / best_cold:>14,.0f}")
    print(f"speed-up of the solve: {result['speedup']:,.0f}x")
    print(f"solved: old {result['solved_old']}, table {result['solved_table']}, both "
          f"{result['solved_both']}; feasible: old {result['feasible_old']}, table "
          f"{result['feasible_table']}, differing {result['feasibility_differs']}")
    print(f"intercept point difference: max {result['d_intercept_max_m']:.4f} m, median "
          f"{result['d_intercept_median_m']:.5f} m; time of flight max "
          f"{result['d_tof_max_s'] * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
