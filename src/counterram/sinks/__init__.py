"""Sinks: consumers of a run's events (event log, plot log, summary, report, ...).

A sink only reads :mod:`counterram.events` and the run's record; it never reaches into the
engine. The interface and its registry are :mod:`counterram.sinks.base`; importing this package
registers the run folder's sinks (:mod:`counterram.sinks.files`) and the Cursor-on-Target
sink (:mod:`counterram.sinks.cot`). The JSON Lines event log
(:mod:`counterram.sinks.jsonl`) is the record every other sink can be rebuilt from.
"""

from counterram.sinks import cot as _cot  # noqa: F401  (registers the Cursor-on-Target sink)
from counterram.sinks import files as _files  # noqa: F401  (registers the run folder's sinks)
from counterram.sinks.base import RunStart, Sink, make_sinks, register_sink, sink_names

__all__ = ["RunStart", "Sink", "make_sinks", "register_sink", "sink_names"]
