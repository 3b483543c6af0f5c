"""What a run leaves behind: the record its sinks are closed with, and a live run's tally.

Kept apart from the driver that fills it (:mod:`counterram.driver`) so that sinks
(:mod:`counterram.sinks`) can read it without importing the driver.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from counterram.events import Event

__all__ = ["LiveResult", "RunRecord"]


@dataclass
class LiveResult:
    """What a live run did: steps, plots accepted, rejections by reason (reader and engine)
    and event counts by kind."""

    steps: int = 0
    plots_accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    first_step_s: float = math.nan
    last_step_s: float = math.nan
    gaps_jumped: int = 0
    """Gaps in the stream that the step grid jumped over (:func:`counterram.driver.run_live`)."""
    missing: int = 0
    """Plot lines the stream's ``seq`` numbers say never arrived (lost datagrams)."""
    steps_skipped: int = 0
    """Wall-clock engine: grid steps skipped to catch up after falling behind."""
    latencies_ms: list[float] = field(default_factory=list)
    """Wall-clock engine: plot-to-warning latency of every warning event, ms
    (:mod:`counterram.realtime`)."""
    processing_ms: list[float] = field(default_factory=list)
    """Wall-clock engine: of each warning's latency, the part from the later of its plot's
    arrival and its step's start to the step's return, ms."""

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def latency_p50_ms(self) -> float:
        """Median plot-to-warning latency (NaN without a timed warning)."""
        return _percentile(self.latencies_ms, 50)

    @property
    def latency_p99_ms(self) -> float:
        """99th percentile of the plot-to-warning latency (NaN without a timed warning)."""
        return _percentile(self.latencies_ms, 99)

    @property
    def processing_p50_ms(self) -> float:
        """Median of the warnings' processing part (:attr:`processing_ms`)."""
        return _percentile(self.processing_ms, 50)

    @property
    def processing_p99_ms(self) -> float:
        """99th percentile of the warnings' processing part."""
        return _percentile(self.processing_ms, 99)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


@dataclass
class RunRecord:
    """A finished (or stopped) run, as the sinks' :meth:`~counterram.sinks.base.Sink.close`
    sees it: its mode, output folder, scenario, engine and events; a simulation's result and
    summary, or a live run's tally."""

    mode: str
    out: Path | None
    scenario: Any
    engine: Any | None = None
    """The :class:`~counterram.engine.Engine` that ran."""
    events: list[Event] = field(default_factory=list)
    """Every event of a simulated run; of a live run only when asked (``keep_events``)."""
    started: float = field(default_factory=time.perf_counter)
    simulation: Any | None = None
    """The :class:`~counterram.sim.SimulationResult` of a simulated run."""
    summary: dict[str, Any] | None = None
    live: LiveResult | None = None
    plots_received: int = 0
