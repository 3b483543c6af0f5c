"""The built-in scenarios shipped as package data (``scenario/builtin/*.yaml``).

They are read through importlib.resources so that they work from a wheel or a zip as well as
from a source checkout.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["DEFAULT_SCENARIO", "builtin_names", "builtin_text"]

#: The scenario used when none is named.
DEFAULT_SCENARIO = "baghdad-embassy"

_SUFFIX = ".yaml"


def _folder() -> resources.abc.Traversable:
    return resources.files("counterram.scenario").joinpath("builtin")


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, the default first, then alphabetical."""
    names = sorted(
        entry.name[: -len(_SUFFIX)]
        for entry in _folder().iterdir()
        if entry.name.endswith(_SUFFIX) and entry.is_file()
    )
    if DEFAULT_SCENARIO in names:
        names.remove(DEFAULT_SCENARIO)
        names.insert(0, DEFAULT_SCENARIO)
    return names


def builtin_text(name: str) -> str:
    """The YAML text of built-in scenario ``name``; ``KeyError`` names the ones that exist."""
    if name not in builtin_names():
        raise KeyError(f"no built-in scenario {name!r}; built-in: {', '.join(builtin_names())}")
    return _folder().joinpath(name + _SUFFIX).read_text(encoding="utf-8")
