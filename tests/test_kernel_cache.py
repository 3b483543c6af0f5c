"""The install-time kernel cache holds what a run compiles; the build asks for what it needs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A run of the default scenario on another seed than the cache was built with, counting what numba
# had to compile rather than load; the report is written too, as `counterram run` does.
PROBE = """
import sys
from pathlib import Path
from numba.core.event import install_recorder
from counterram.commands.run import run_to_folder
from counterram.kernel_cache import count_compilations
from counterram.scenario import DEFAULT_SCENARIO, load_scenario
with install_recorder("numba:compile") as recorder:
    run_to_folder(load_scenario(DEFAULT_SCENARIO), Path(sys.argv[1]), seed=7)
print(count_compilations(recorder))
"""


@pytest.mark.slow
def test_a_run_after_the_cache_is_built_compiles_nothing(tmp_path: Path) -> None:
    """If a kernel or a signature were missing from the cache, the probe run would compile it."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # not the installed cache
    built = subprocess.run(
        [sys.executable, "-m", "counterram.kernel_cache"],
        env=env, capture_output=True, text=True, timeout=900, check=True,
    )
    compiled = int(built.stdout.split("counterram: ")[1].split()[0])
    assert compiled >= 20, built.stdout  # a cold cache: the integrator, tracker, fire control...
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "run")],
        env=env, capture_output=True, text=True, timeout=900, check=True,
    )
    assert int(probe.stdout.strip().splitlines()[-1]) == 0, probe.stderr[-2000:]


def test_the_build_asks_for_every_runtime_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel cache is built by running a scenario, so the build needs the runtime set (on
    top of what setuptools asks for itself, stubbed here: that needs the build's own setuptools)."""
    spec = importlib.util.spec_from_file_location(
        "counterram_build", ROOT / "build_support" / "counterram_build.py"
    )
    assert spec is not None and spec.loader is not None
    backend = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(backend)
    for hook in ("wheel", "editable"):
        monkeypatch.setattr(
            backend._setuptools, f"get_requires_for_build_{hook}", lambda _=None: ["setuptools"]
        )
    with (ROOT / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)
    assert project["build-system"]["build-backend"] == "counterram_build"
    runtime = set(project["project"]["dependencies"])
    assert runtime <= set(backend.get_requires_for_build_wheel())
    assert runtime <= set(backend.get_requires_for_build_editable())
