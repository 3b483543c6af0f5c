"""The build backend: setuptools' own, plus the project's runtime dependencies at build time.

Why: the build step compiles numba's kernel cache by running the default scenario (see
``setup.py`` and ``counterram.kernel_cache``), which needs everything a run imports. Asking for
the ``[project] dependencies`` of pyproject.toml here, rather than repeating them under
``[build-system] requires``, keeps one list. An sdist needs none of them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the PEP 517 hooks not overridden below)

_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _runtime_dependencies() -> list[str]:
    with _PYPROJECT.open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def get_requires_for_build_wheel(config_settings=None):
    """PEP 517: what setuptools needs to build a wheel, and what a run imports."""
    return _setuptools.get_requires_for_build_wheel(config_settings) + _runtime_dependencies()


def get_requires_for_build_editable(config_settings=None):
    """PEP 660: the same for an editable install."""
    return _setuptools.get_requires_for_build_editable(config_settings) + _runtime_dependencies()
