"""Trajectory throughput: counterram's batched integrator against a per-trajectory solve_ivp loop.

Both integrate the same point-mass model (ISA density and speed of sound, the munition's Cd(Mach)
table, gravity) from launch to ground impact. "Equal accuracy": every solver is scored by its
impact-point error against a tight reference (DOP853 at rtol 1e-12) on a sample of trajectories,
and solve_ivp's tolerance is tightened until its median error is no worse than ours. solve_ivp
is timed on up to 300 trajectories and its throughput extrapolated (it is a loop: cost is linear
in N). Run: ``python benchmarks/bench_trajectory.py [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np
from scipy.integrate import solve_ivp

from counterram.physics.atmosphere import STANDARD
from counterram.physics.catalogue import load_catalogue
from counterram.physics.constants import STANDARD_GRAVITY_MPS2 as G
from counterram.physics.drag import MACH_STEP
from counterram.physics.trajectory import Projectiles, fly, launch_state


def scalar_rhs(munition):
    """A lean scalar right-hand side for solve_ivp on the same model: the same ISA table and the
    same PCHIP-resampled Cd curve, looked up with np.interp."""
    table = STANDARD.table
    heights = table.height0_m + table.step_m * np.arange(table.density.size)
    drag = Projectiles.repeat(munition, 1).drag
    cd = drag.cd_grid[0]
    mach = MACH_STEP * np.arange(cd.size)
    k_area = 0.5 * munition.area_m2 / munition.mass_kg

    def rhs(_t, y):
        z = y[2]
        rho = np.interp(z, heights, table.density)
        a = np.interp(z, heights, table.speed_of_sound)
        vx, vy, vz = y[3], y[4], y[5]
        v = math.sqrt(vx * vx + vy * vy + vz * vz)
        c = -k_area * rho * np.interp(v / a, mach, cd) * v
        return [vx, vy, vz, c * vx, c * vy, c * vz - G]

    return rhs


def solve_one(rhs, y0, rtol, method="RK45"):
    def ground(t, y):
        return y[2] if t > 1e-3 else 1.0

    ground.terminal = True
    ground.direction = -1
    sol = solve_ivp(rhs, (0.0, 400.0), y0, method=method, rtol=rtol, atol=rtol * 1e3, events=ground)
    return sol.y_events[0][0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip N = 100,000")
    args = parser.parse_args()
    munition = load_catalogue().get("81mm-mortar")
    rhs = scalar_rhs(munition)
    rng = np.random.default_rng(1)

    def launches(n):
        el = rng.uniform(np.radians(45), np.radians(80), n)
        az = rng.uniform(0, 2 * np.pi, n)
        return launch_state(np.zeros((n, 3)), az, el, munition.charge_velocity(None))

    # accuracy calibration on 40 trajectories
    sample = launches(40)
    ref = np.array([solve_one(rhs, y, 1e-12, "DOP853") for y in sample])
    ours = fly(sample, Projectiles.repeat(munition, 40)).impact_state
    our_err = float(np.median(np.linalg.norm(ours[:, :3] - ref[:, :3], axis=1)))
    chosen = None
    for rtol in (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12):
        got = np.array([solve_one(rhs, y, rtol) for y in sample])
        err = float(np.median(np.linalg.norm(got[:, :3] - ref[:, :3], axis=1)))
        if err <= our_err:
            chosen = (rtol, err)
            break
    if chosen is None:
        chosen = (1e-12, err)
    rtol, ivp_err = chosen

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"munition: {munition.name}, elevations 45-80 deg, top charge")
    print(
        f"median impact error vs DOP853 rtol 1e-12: counterram {our_err * 1000:.2f} mm, "
        f"solve_ivp RK45 rtol {rtol:g} {ivp_err * 1000:.2f} mm (equal-accuracy setting)"
    )
    fly(launches(2), Projectiles.repeat(munition, 2))  # compile outside the timing
    print(f"{'N':>8} {'counterram s':>13} {'traj/s':>10} {'solve_ivp traj/s':>17} {'speed-up':>9}")
    sizes = [1, 1_000, 10_000] + ([] if args.quick else [100_000])
    for n in sizes:
        states = launches(n)
        bodies = Projectiles.repeat(munition, n)
        t = time.perf_counter()
        fly(states, bodies)
        ours_s = time.perf_counter() - t
        m = min(n, 300)
        t = time.perf_counter()
        for y in states[:m]:
            solve_one(rhs, y, rtol)
        ivp_rate = m / (time.perf_counter() - t)
        rate = n / ours_s
        print(f"{n:>8} {ours_s:>13.4f} {rate:>10.0f} {ivp_rate:>17.0f} {rate / ivp_rate:>8.0f}x")


if __name__ == "__main__":
    main()
