"""Plot sources: the interface between the live engine and wherever its radar plots come from.

Why it exists: the engine's input is a stream of plot lines in the documented JSON Lines format
(docs/plots.md), whatever carries it — a recorded file, stdin, UDP datagrams, and later radar
formats. A source turns a specification string (``PATH``, ``-``, ``SCHEME://…``) into an
iterator of lines; the run driver (:mod:`counterram.driver`) groups them into engine steps.
A new source is one module with a factory and one :func:`register_source` call; the CLI and
the driver need no change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "PlotSource",
    "SourceError",
    "open_source",
    "register_source",
    "source_schemes",
]


class SourceError(ValueError):
    """A plot source specification that cannot be opened (the message says why and what is
    allowed)."""


@runtime_checkable
class PlotSource(Protocol):
    """Plot lines from somewhere: ``describe`` names it for messages, ``lines`` yields the
    lines (a header line first where the medium has one) and ends with the stream."""

    def describe(self) -> str: ...

    def lines(self) -> Iterator[str]: ...


SourceFactory = Callable[[str, dict[str, Any]], PlotSource]
"""Makes a source from the full specification and the caller's options (e.g. UDP timeouts;
a factory ignores the options it does not know)."""

_FACTORIES: dict[str, SourceFactory] = {}


def register_source(scheme: str, factory: SourceFactory) -> None:
    """Serve specifications ``SCHEME://…`` with ``factory`` (``file`` and ``stdin`` name the
    plain path and ``-``). A later registration of the same scheme replaces the earlier one."""
    if not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        raise ValueError(f"register_source: bad scheme {scheme!r}")
    _FACTORIES[scheme] = factory


def source_schemes() -> tuple[str, ...]:
    """The registered schemes."""
    return tuple(sorted(_FACTORIES))


def open_source(spec: str, **options: Any) -> PlotSource:
    """The plot source of ``spec``: ``-`` (stdin), ``SCHEME://…`` (a registered scheme) or a
    file path. Raises :class:`SourceError` for an unknown scheme or a source that cannot be
    opened."""
    if spec == "-":
        scheme = "stdin"
    elif "://" in spec:
        scheme = spec.split("://", 1)[0]
        if scheme not in _FACTORIES or scheme in ("file", "stdin"):
            allowed = ", ".join(f"{s}://" for s in source_schemes() if s not in ("file", "stdin"))
            raise SourceError(f"--plots {spec!r}: unknown source {scheme!r}:// (allowed: a "
                              f"JSON Lines file, - for stdin, {allowed})")
    else:
        scheme = "file"
    return _FACTORIES[scheme](spec, options)
