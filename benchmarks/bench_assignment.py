"""Weapon–target assignment: greedy (MMR), greedy + local search and exact enumeration.

Prints, for random instances of growing size, the mean time of each solver and the greedy's mean
and worst relative gap to the exact optimum, (F_greedy − F_opt) / F_opt. Then greedy timings on
instances too large to enumerate. Run: python benchmarks/bench_assignment.py
"""

from __future__ import annotations

import time

import numpy as np

from counterram.engagement.assignment import (
    exact_assignment,
    greedy_assignment,
)


def _instance(rng: np.random.Generator, n_guns: int, n_threats: int, cap: int):
    p = rng.uniform(0.05, 0.9, (n_guns, n_threats))
    values = rng.uniform(1.0, 10.0, n_threats)
    return p, values, np.full(n_guns, cap)


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main() -> None:
    rng = np.random.default_rng(2024)
    print("greedy (MMR) vs greedy + local search vs exact enumeration; 30 random instances each")
    print(f"{'guns':>4} {'thr':>4} {'cap':>4} | {'greedy ms':>9} {'+LS ms':>8} {'exact ms':>9} | "
          f"{'MMR gap':>8} {'max':>7} {'opt %':>6} | {'+LS gap':>8} {'max':>7}")
    for n_guns, n_threats, cap in [(2, 3, 2), (3, 4, 2), (3, 5, 3), (4, 5, 2), (4, 6, 2),
                                   (3, 7, 2), (2, 8, 4)]:
        tg, tl, te, gaps, gaps_ls = [], [], [], [], []
        for _ in range(30):
            p, v, c = _instance(rng, n_guns, n_threats, cap)
            g, dt_g = _timed(greedy_assignment, p, v, c)
            gl, dt_l = _timed(greedy_assignment, p, v, c, improve=True)
            e, dt_e = _timed(exact_assignment, p, v, c)
            tg.append(dt_g)
            tl.append(dt_l)
            te.append(dt_e)
            opt = e.expected_surviving_value
            gaps.append((g.expected_surviving_value - opt) / opt)
            gaps_ls.append((gl.expected_surviving_value - opt) / opt)
        # round-off can make a gap -1e-16: shown as 0
        gaps, gaps_ls = np.maximum(gaps, 0.0), np.maximum(gaps_ls, 0.0)
        print(f"{n_guns:>4} {n_threats:>4} {cap:>4} | {1e3 * np.mean(tg):>9.3f} "
              f"{1e3 * np.mean(tl):>8.3f} {1e3 * np.mean(te):>9.2f} | {gaps.mean():>8.2%} "
              f"{gaps.max():>7.1%} {100 * np.mean(gaps < 1e-9):>6.0f} | {gaps_ls.mean():>8.2%} "
              f"{gaps_ls.max():>7.1%}")

    print("\ngreedy on large instances (exact enumeration infeasible)")
    print(f"{'guns':>4} {'thr':>4} {'cap':>4} | {'greedy ms':>9} {'+LS ms':>8} | {'LS gain':>8}")
    for n_guns, n_threats, cap in [(4, 20, 10), (8, 50, 10), (16, 100, 20)]:
        p, v, c = _instance(rng, n_guns, n_threats, cap)
        g, dt_g = _timed(greedy_assignment, p, v, c)
        gl, dt_l = _timed(greedy_assignment, p, v, c, improve=True)
        gain = (g.expected_surviving_value - gl.expected_surviving_value) / (
            g.expected_surviving_value
        )
        print(f"{n_guns:>4} {n_threats:>4} {cap:>4} | {1e3 * dt_g:>9.2f} {1e3 * dt_l:>8.2f} | "
              f"{gain:>8.2%}")


if __name__ == "__main__":
    main()
