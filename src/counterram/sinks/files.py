"""The built-in sinks of a run folder: ``events`` (events.jsonl), ``plots`` (plots.jsonl, a
simulation's plots as the engine received them, replayable with ``counterram engine``),
``summary`` (summary.json) and ``report`` (report.html)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import IO

from counterram.events import Event
from counterram.run_record import RunRecord
from counterram.sinks.base import RunStart, Sink, register_sink
from counterram.sinks.jsonl import EventLogWriter

__all__ = ["EventLogSink", "PlotLogSink", "ReportSink", "SummarySink"]


class EventLogSink(Sink):
    """events.jsonl: every event, appended and flushed step by step."""

    name = "events"

    def __init__(self) -> None:
        self._log: EventLogWriter | None = None

    def open(self, start: RunStart) -> None:
        if start.out is not None:
            self._log = EventLogWriter(start.out / "events.jsonl")

    def write(self, now: float, events: Sequence[Event]) -> None:
        if self._log is not None:
            self._log.write(events)

    def close(self, record: RunRecord) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class PlotLogSink(Sink):
    """plots.jsonl: the header and the plot lines the engine was given, flushed step by step."""

    name = "plots"

    def __init__(self) -> None:
        self._fp: IO[str] | None = None

    def open(self, start: RunStart) -> None:
        if start.out is not None:
            self._fp = open(start.out / "plots.jsonl", "w", encoding="utf-8")  # noqa: SIM115
            if start.plots_header is not None:
                self._fp.write(start.plots_header + "\n")

    def plots(self, now: float, lines: Sequence[str]) -> None:
        if self._fp is not None and lines:
            self._fp.write("\n".join(lines) + "\n")
            self._fp.flush()

    def close(self, record: RunRecord) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None


class SummarySink(Sink):
    """summary.json of a simulated run (its wall time counted up to this sink's close)."""

    name = "summary"

    def close(self, record: RunRecord) -> None:
        if record.out is None or record.summary is None:
            return
        record.summary["run_time_s"] = round(time.perf_counter() - record.started, 2)
        (record.out / "summary.json").write_text(
            json.dumps(record.summary, indent=2) + "\n", encoding="utf-8"
        )


class ReportSink(Sink):
    """report.html of a simulated run (skipped when the report module is not installed)."""

    name = "report"

    def close(self, record: RunRecord) -> None:
        if record.out is None or record.simulation is None or record.summary is None:
            return
        try:
            from counterram.sinks.report import write_report
        except ImportError:  # the report module is optional
            return
        sim = record.simulation
        write_report(record.out, sim.scenario, sim.truth, sim.events, record.summary)


register_sink("events", EventLogSink)
register_sink("plots", PlotLogSink)
register_sink("summary", SummarySink)
register_sink("report", ReportSink)
