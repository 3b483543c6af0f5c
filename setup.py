"""Build step: after the modules are in place, compile numba's kernel cache beside them.

Everything else about the package is in pyproject.toml. The kernel cache
(``counterram.kernel_cache``) turns the first run's ~30 s of numba compilation into a part of
the install; set ``COUNTERRAM_NO_KERNEL_CACHE=1`` to skip it (the first run then compiles). A
failure here never fails the install: the kernels then compile on first use, as without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithKernelCache(build_py):
    """``build_py`` that then runs ``python -m counterram.kernel_cache`` on the built modules."""

    def run(self) -> None:
        super().run()
        if os.environ.get("COUNTERRAM_NO_KERNEL_CACHE"):
            return
        # An editable install runs the sources in place: their __pycache__ gets the cache.
        # A wheel carries the copies in build_lib, and the cache files beside them.
        tree = HERE / "src" if getattr(self, "editable_mode", False) else Path(self.build_lib)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
        env.pop("NUMBA_CACHE_DIR", None)
        print(f"compiling counterram's numba kernels into {tree} (about 30 s)", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "counterram.kernel_cache"], env=env, cwd=HERE, check=False
        )
        if done.returncode != 0:
            print("counterram: the kernel cache was not built; the first run will compile it",
                  file=sys.stderr)


setup(cmdclass={"build_py": BuildPyWithKernelCache})
