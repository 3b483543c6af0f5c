"""Build numba's on-disk cache of every compiled kernel a run uses, before the first run.

Why this exists: the integrator, the tracker's update kernels, the intercept solver and the
fire-control kernels are numba functions with ``cache=True``. numba compiles each on its first
call (about 30 s for a whole run on a 2-core machine) and keeps the machine code beside its module
in ``__pycache__``, keyed on the source file's content hash, the numba and Python versions and the
CPU. Which signatures a run needs (array layouts, literal integers) is decided by the code that
calls the kernels, so the one reliable way to compile exactly those is to do what ``counterram
run`` does: run the default scenario through the same driver and sinks, into a temporary folder.

The package's build step (``setup.py``) calls :func:`build_kernel_cache` so that an installed
counterram starts in seconds; ``python -m counterram.kernel_cache`` does the same by hand (after
an upgrade of numba, say). A cache that does not match (another CPU, another numba) is simply
recompiled on first use: the cache is a speed-up, never a requirement.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from numba.core.event import install_recorder

__all__ = ["build_kernel_cache", "count_compilations"]


def count_compilations(recorder: object) -> int:
    """Kernels numba compiled (not loaded from its cache) while ``recorder`` listened."""
    return sum(1 for _, event in recorder.buffer if event.is_start)  # type: ignore[attr-defined]


def build_kernel_cache(scenarios: Sequence[str] | None = None) -> tuple[int, float]:
    """Run ``scenarios`` (default: the built-in default scenario) as ``counterram run`` would,
    report included, into a throw-away folder; returns (kernels compiled, seconds taken)."""
    from counterram.commands.run import run_to_folder
    from counterram.scenario import DEFAULT_SCENARIO, load_scenario

    names = list(scenarios) if scenarios else [DEFAULT_SCENARIO]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, install_recorder("numba:compile") as recorder:
        for name in names:
            run_to_folder(load_scenario(name), Path(tmp) / name)
    return count_compilations(recorder), time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m counterram.kernel_cache [SCENARIO ...]``: build the cache, say what it did."""
    compiled, seconds = build_kernel_cache(list(argv if argv is not None else sys.argv[1:]))
    print(f"counterram: {compiled} compiled kernels cached in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
