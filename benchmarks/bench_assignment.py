"""Weapon–target assignment: quality and scaling of greedy (MMR) and greedy + local search.

Part 1, quality: random instances small enough for an exact solver (enumeration where it is
small, the pattern MILP beyond). For each size: mean time of the greedy, of greedy + local
search and of the exact solver, and the mean and worst relative gap (F − F_opt) / F_opt of the
greedy, of greedy + local search, and of the former quadratic-memory local search (moves and
two-gun swaps scored over I²·J² tables) for comparison. On the enumeration sizes the MILP is
also run and its largest relative difference to enumeration shown.

Part 2, scaling: time and tracemalloc peak of greedy + local search at 20 guns × 300 threats × 3
bursts, 100 × 200 and 100 × 1000 (3 bursts each), and of the quadratic local search where its
estimated memory fits under ``--old-max-gb``.

Random instances: p_ij ~ U(0.05, 0.9), V_j ~ U(1, 10), fixed seeds.

    python benchmarks/bench_assignment.py [--json] [--quick] [--old-max-gb 2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
import tracemalloc

import numba
import numpy as np
import scipy
from numpy.typing import ArrayLike, NDArray

from counterram.engagement.assignment import (
    Assignment,
    _validate,
    exact_assignment,
    greedy_assignment,
    milp_assignment,
)

#: (guns, threats, bursts per gun, instances, exact solver)
QUALITY_SIZES = [
    (2, 3, 2, 30, "enumerate"),
    (3, 4, 2, 30, "enumerate"),
    (3, 5, 3, 30, "enumerate"),
    (4, 5, 2, 30, "enumerate"),
    (4, 6, 2, 30, "enumerate"),
    (3, 7, 2, 30, "enumerate"),
    (2, 8, 4, 30, "enumerate"),
    (4, 8, 3, 30, "milp"),
    (5, 10, 2, 30, "milp"),
    (5, 10, 3, 30, "milp"),
    (6, 12, 2, 30, "milp"),
    (4, 30, 4, 30, "milp"),
    (8, 15, 2, 10, "milp"),
]
SCALING_SIZES = [(20, 300, 3), (100, 200, 3), (100, 1000, 3)]
#: tracemalloc peak of the quadratic local search per I²·J² element (measured: ~18 B)
OLD_BYTES_PER_ELEMENT = 18.0
MILP_TIME_LIMIT_S = 60.0


def _survival_parts(
    q: NDArray[np.float64], x: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Survival S_j and leave-one-out survival S_minus[i, j] (one burst of gun i removed)."""
    zero = q <= 0.0
    n_zero = np.sum(np.where(zero, x, 0), axis=0)
    prod_pos = np.prod(np.where(zero, 1.0, q) ** x, axis=0)
    surv = np.where(n_zero == 0, prod_pos, 0.0)
    minus_pos = prod_pos[None, :] / np.where(zero, 1.0, q)
    s_minus = np.where(n_zero[None, :] - zero.astype(np.int64) == 0, minus_pos, 0.0)
    return surv, s_minus


def _improve_assignment_quadratic(
    assignment: Assignment,
    kill_prob: ArrayLike,
    values: ArrayLike,
    capacity: ArrayLike,
    *,
    max_per_pair: ArrayLike | None = None,
    max_passes: int = 1000,
) -> Assignment:
    """The former local search, kept only for comparison: best move or swap per pass.

    Scores all I·J² moves and I²·J² swaps at once, so its memory grows like I²·J².
    """
    p, v, _, m = _validate(kill_prob, values, capacity, max_per_pair)
    x = np.asarray(assignment.counts, dtype=np.int64).copy()
    q = 1.0 - p
    n_guns, n_threats = p.shape
    diff_jk = ~np.eye(n_threats, dtype=bool)
    diff_ii = ~np.eye(n_guns, dtype=bool)
    for _ in range(max_passes):
        surv, s_minus = _survival_parts(q, x)
        f = float(v @ surv)
        has = x >= 1
        room = x < m
        d_move = (v * (s_minus - surv))[:, :, None] - (v * surv)[None, None, :] * p[:, None, :]
        ok_move = has[:, :, None] & room[:, None, :] & diff_jk[None, :, :]
        d_move = np.where(ok_move, d_move, np.inf)
        new_j = s_minus[:, None, :, None] * q[None, :, :, None]
        new_k = s_minus[None, :, None, :] * q[:, None, None, :]
        d_swap = v[None, None, :, None] * (new_j - surv[None, None, :, None]) + v[
            None, None, None, :
        ] * (new_k - surv[None, None, None, :])
        ok_swap = (
            has[:, None, :, None]
            & has[None, :, None, :]
            & room[:, None, None, :]
            & room[None, :, :, None]
            & diff_ii[:, :, None, None]
            & diff_jk[None, None, :, :]
        )
        d_swap = np.where(ok_swap, d_swap, np.inf)
        best_move = float(d_move.min()) if d_move.size else np.inf
        best_swap = float(d_swap.min()) if d_swap.size else np.inf
        if min(best_move, best_swap) >= -1e-12 * max(f, 1e-300):
            break
        if best_move <= best_swap:
            i, j, k = np.unravel_index(int(np.argmin(d_move)), d_move.shape)
            x[i, j] -= 1
            x[i, k] += 1
        else:
            i, i2, j, k = np.unravel_index(int(np.argmin(d_swap)), d_swap.shape)
            x[i, j] -= 1
            x[i, k] += 1
            x[i2, k] -= 1
            x[i2, j] += 1
    surv, _ = _survival_parts(q, x)
    return Assignment(x, surv, float(v @ surv), ())


def _instance(rng: np.random.Generator, n_guns: int, n_threats: int, cap: int):
    p = rng.uniform(0.05, 0.9, (n_guns, n_threats))
    values = rng.uniform(1.0, 10.0, n_threats)
    return p, values, np.full(n_guns, cap)


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def _peak(fn, *args, **kw) -> float:
    """tracemalloc peak (bytes) of one call; numpy's buffers are traced, compiled code allocates
    nothing of its own in these solvers."""
    tracemalloc.start()
    fn(*args, **kw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return float(peak)


def _gap(f: float, opt: float) -> float:
    # round-off can make a gap -1e-16: shown as 0
    return max((f - opt) / opt, 0.0) if opt > 0 else 0.0


def quality(quick: bool) -> dict:
    rng = np.random.default_rng(2024)
    rows = []
    all_g, all_ls, unsolved = [], [], 0
    for n_guns, n_threats, cap, count, solver in QUALITY_SIZES[: 9 if quick else None]:
        tg, tl, te, gg, gl, go, agree = [], [], [], [], [], [], []
        for _ in range(min(count, 10) if quick else count):
            p, v, c = _instance(rng, n_guns, n_threats, cap)
            g, dt_g = _timed(greedy_assignment, p, v, c)
            ls, dt_l = _timed(greedy_assignment, p, v, c, improve=True)
            try:
                if solver == "enumerate":
                    e, dt_e = _timed(exact_assignment, p, v, c)
                    other = milp_assignment(p, v, c).expected_surviving_value
                    opt = e.expected_surviving_value
                    agree.append(abs(other - opt) / opt)
                else:
                    e, dt_e = _timed(milp_assignment, p, v, c, time_limit=MILP_TIME_LIMIT_S)
            except RuntimeError:  # the MILP hit its time limit: no proven optimum
                unsolved += 1
                continue
            opt = e.expected_surviving_value
            old = _improve_assignment_quadratic(g, p, v, c)
            tg.append(dt_g)
            tl.append(dt_l)
            te.append(dt_e)
            gg.append(_gap(g.expected_surviving_value, opt))
            gl.append(_gap(ls.expected_surviving_value, opt))
            go.append(_gap(old.expected_surviving_value, opt))
        all_g += gg
        all_ls += gl
        rows.append({
            "guns": n_guns, "threats": n_threats, "bursts": cap, "instances": len(gg),
            "exact_solver": solver,
            "greedy_ms": 1e3 * float(np.mean(tg)), "improved_ms": 1e3 * float(np.mean(tl)),
            "exact_ms": 1e3 * float(np.mean(te)),
            "greedy_gap_mean": float(np.mean(gg)), "greedy_gap_max": float(np.max(gg)),
            "improved_gap_mean": float(np.mean(gl)), "improved_gap_max": float(np.max(gl)),
            "improved_optimal_fraction": float(np.mean(np.array(gl) < 1e-9)),
            "quadratic_ls_gap_mean": float(np.mean(go)), "quadratic_ls_gap_max": float(np.max(go)),
            "milp_vs_enumeration_max_rel": float(np.max(agree)) if agree else None,
        })
    summary = {
        "instances": len(all_ls), "unsolved_by_exact": unsolved,
        "greedy_gap_mean": float(np.mean(all_g)), "greedy_gap_max": float(np.max(all_g)),
        "improved_gap_mean": float(np.mean(all_ls)), "improved_gap_max": float(np.max(all_ls)),
    }
    return {"rows": rows, "summary": summary}


def scaling(old_max_gb: float, quick: bool) -> list[dict]:
    rng = np.random.default_rng(7)
    out = []
    for n_guns, n_threats, cap in SCALING_SIZES:
        p, v, c = _instance(rng, n_guns, n_threats, cap)
        repeats = 5 if n_guns * n_threats <= 10_000 else 1
        g, _ = _timed(greedy_assignment, p, v, c)
        t_g = min(_timed(greedy_assignment, p, v, c)[1] for _ in range(repeats))
        ls, _ = _timed(greedy_assignment, p, v, c, improve=True)
        t_l = min(_timed(greedy_assignment, p, v, c, improve=True)[1] for _ in range(repeats))
        peak = _peak(greedy_assignment, p, v, c, improve=True)
        row = {
            "guns": n_guns, "threats": n_threats, "bursts": cap,
            "greedy_ms": 1e3 * t_g, "improved_ms": 1e3 * t_l, "improved_peak_mb": peak / 1e6,
            "peak_per_ij8": peak / (n_guns * n_threats * 8),
            "greedy_F": g.expected_surviving_value, "improved_F": ls.expected_surviving_value,
        }
        old_bytes = OLD_BYTES_PER_ELEMENT * (n_guns * n_threats) ** 2
        row["quadratic_est_gb"] = old_bytes / 1e9
        if old_bytes <= old_max_gb * 1e9 and not quick:
            old, t_old = _timed(_improve_assignment_quadratic, g, p, v, c)
            row["quadratic_ms"] = 1e3 * (t_old + t_g)
            row["quadratic_peak_mb"] = _peak(_improve_assignment_quadratic, g, p, v, c) / 1e6
            row["quadratic_F"] = old.expected_surviving_value
        out.append(row)
    return out


def machine() -> dict:
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(), "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__,
    }


def _print_tables(result: dict) -> None:
    m = result["machine"]
    print(f"{m['date']}  {m['platform']}  python {m['python']}  {m['processor']}  "
          f"cpu_count={m['cpu_count']}  numpy {m['numpy']}  scipy {m['scipy']}  "
          f"numba {m['numba']}")
    print("\n1. gap to the exact optimum, (F - F_opt) / F_opt; LS = greedy + local search, "
          "quad = former quadratic-memory local search")
    print(f"{'guns':>4} {'thr':>4} {'cap':>3} {'n':>3} {'exact':>9} | {'greedy ms':>9} "
          f"{'+LS ms':>7} {'exact ms':>8} | {'greedy':>7} {'max':>6} | {'LS':>7} {'max':>6} "
          f"{'opt%':>5} | {'quad':>7} {'max':>6} | {'milp-enum':>9}")
    for r in result["quality"]["rows"]:
        agree = r["milp_vs_enumeration_max_rel"]
        print(f"{r['guns']:>4} {r['threats']:>4} {r['bursts']:>3} {r['instances']:>3} "
              f"{r['exact_solver']:>9} | {r['greedy_ms']:>9.3f} {r['improved_ms']:>7.3f} "
              f"{r['exact_ms']:>8.1f} | {r['greedy_gap_mean']:>7.2%} {r['greedy_gap_max']:>6.1%} "
              f"| {r['improved_gap_mean']:>7.3%} {r['improved_gap_max']:>6.2%} "
              f"{100 * r['improved_optimal_fraction']:>5.0f} | {r['quadratic_ls_gap_mean']:>7.2%} "
              f"{r['quadratic_ls_gap_max']:>6.1%} | "
              + (f"{agree:>9.1e}" if agree is not None else f"{'-':>9}"))
    s = result["quality"]["summary"]
    print(f"all {s['instances']} instances solved exactly ({s['unsolved_by_exact']} not): greedy "
          f"mean gap {s['greedy_gap_mean']:.2%} (worst {s['greedy_gap_max']:.1%}); greedy + LS "
          f"mean gap {s['improved_gap_mean']:.3%} (worst {s['improved_gap_max']:.2%})")
    print("\n2. scaling (3 bursts per gun): time, tracemalloc peak, gain over the greedy; quad = "
          "former local search (~MB: its estimated peak when skipped)")
    print(f"{'guns':>4} {'thr':>5} | {'greedy ms':>9} {'+LS ms':>8} {'peak MB':>8} "
          f"{'peak/IJ8':>8} {'LS gain':>8} | {'quad ms':>9} {'quad MB':>9} {'quad gain':>9}")
    for r in result["scaling"]:
        gain = 1.0 - r["improved_F"] / r["greedy_F"]
        if "quadratic_ms" in r:
            quad_gain = 1.0 - r["quadratic_F"] / r["greedy_F"]
            quad = (f"{r['quadratic_ms']:>9.0f} {r['quadratic_peak_mb']:>9.0f} "
                    f"{quad_gain:>9.3%}")
        else:
            quad = f"{'skipped':>9} {'~' + format(r['quadratic_est_gb'] * 1e3, '.0f'):>9}"
        print(f"{r['guns']:>4} {r['threats']:>5} | {r['greedy_ms']:>9.2f} {r['improved_ms']:>8.2f} "
              f"{r['improved_peak_mb']:>8.2f} {r['peak_per_ij8']:>8.1f} {gain:>8.3%} | {quad}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, no tables")
    parser.add_argument("--quick", action="store_true",
                        help="fewer instances and no quadratic local search at scale")
    parser.add_argument("--old-max-gb", type=float, default=2.0,
                        help="run the quadratic local search only below this estimated memory")
    args = parser.parse_args()
    # compile (or load) the numba kernels before timing anything
    greedy_assignment(np.full((2, 3), 0.5), np.ones(3), 2, improve=True)
    result = {"machine": machine(), "quality": quality(args.quick),
              "scaling": scaling(args.old_max_gb, args.quick)}
    if args.json:
        print(json.dumps(result))
    else:
        _print_tables(result)


if __name__ == "__main__":
    main()
