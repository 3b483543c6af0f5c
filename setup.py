"""Build step: fetch Leaflet for the web view, then compile numba's kernel cache beside the modules.

Everything else about the package is in pyproject.toml. Leaflet (``build_support/leaflet_fetch.py``)
is taken from the npm registry into the package's ``web/static/vendor/`` (git-ignored) before the
modules and their data are copied; without npm or the registry the install goes on and
``counterram serve`` says what is missing. The kernel cache
(``counterram.kernel_cache``) turns the first run's ~30 s of numba compilation into a part of
the install; set ``COUNTERRAM_NO_KERNEL_CACHE=1`` to skip it (the first run then compiles). A
failure here never fails the install: the kernels then compile on first use, as without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "build_support"))
from leaflet_fetch import LEAFLET, fetch_leaflet  # noqa: E402  (the build's own helper)

VENDOR = Path("counterram", "web", "static", "vendor", "leaflet")


class BuildPyWithKernelCache(build_py):
    """``build_py`` that first fetches Leaflet into the package (module docstring), then runs
    ``python -m counterram.kernel_cache`` on the built modules."""

    def run(self) -> None:
        self._fetch_leaflet()
        super().run()
        if not getattr(self, "editable_mode", False):
            # a wheel: the package data is copied when listed, but make sure of it
            source, built = HERE / "src" / VENDOR, Path(self.build_lib) / VENDOR
            if source.is_dir() and not built.is_dir():
                shutil.copytree(source, built)
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

    def _fetch_leaflet(self) -> None:
        """Leaflet into the source tree (an editable install serves it from there)."""
        why = fetch_leaflet(HERE / "src" / VENDOR)
        if why is not None:
            print(f"counterram: {LEAFLET} was not fetched ({why}); the web view "
                  "(counterram serve) will say so until a reinstall with npm fetches it",
                  file=sys.stderr)


setup(cmdclass={"build_py": BuildPyWithKernelCache})
