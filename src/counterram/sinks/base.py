"""Sinks: the interface between a run and what records or shows it.

Why it exists: a run (simulated or live) produces one stream of events, step by step, and at
its end a record (:class:`counterram.run_record.RunRecord`). The event log, the plot log, the
summary and the report are sinks of that stream, and so are a Cursor-on-Target feed or a live
map: a new one is one :class:`Sink` subclass and one :func:`register_sink` call; the run driver
(:mod:`counterram.driver`) and the CLI need no change.

Every method has a do-nothing default, so a sink overrides only what it uses:
:meth:`Sink.open` once before the first step, :meth:`Sink.plots` with the plot lines the engine
is given at each step (simulation: the lines it generated; live: none), :meth:`Sink.write` with
the step's events (the first write starts with the stream's header,
:class:`~counterram.events.StreamHeader`: the site origin and the warning zones), :meth:`Sink.close`
once with the run's record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from counterram.events import Event
from counterram.run_record import RunRecord

__all__ = ["RunStart", "Sink", "make_sinks", "register_sink", "sink_names"]


@dataclass(frozen=True)
class RunStart:
    """What a sink knows when a run starts: its mode (``simulation`` or ``live``), the output
    folder (None when the run writes no files), the resolved scenario and the plot header line
    (simulation; None live)."""

    mode: str
    out: Path | None
    scenario: Any
    plots_header: str | None = None


class Sink:
    """A consumer of a run's events (module docstring)."""

    name = "sink"

    def open(self, start: RunStart) -> None:
        """Before the first step."""

    def plots(self, now: float, lines: Sequence[str]) -> None:
        """The plot lines delivered to the engine at ``now``."""

    def write(self, now: float, events: Sequence[Event]) -> None:
        """The events of the step at ``now`` (truth events first in a simulation)."""

    def close(self, record: RunRecord) -> None:
        """After the last step (also when the run stops on an error, with what it has)."""


SinkFactory = Callable[[], Sink]

_FACTORIES: dict[str, SinkFactory] = {}


def register_sink(name: str, factory: SinkFactory) -> None:
    """Make ``name`` a sink the driver and the CLI can be asked for. A later registration of
    the same name replaces the earlier one."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"register_sink: bad name {name!r}")
    _FACTORIES[name] = factory


def sink_names() -> tuple[str, ...]:
    """The registered sink names."""
    return tuple(sorted(_FACTORIES))


def make_sinks(names: Sequence[str]) -> list[Sink]:
    """New sinks by registered name, in the given order; an unknown name raises ValueError
    listing the known ones."""
    out = []
    for name in names:
        if name not in _FACTORIES:
            raise ValueError(f"unknown sink {name!r}; known sinks: {', '.join(sink_names())}")
        out.append(_FACTORIES[name]())
    return out
