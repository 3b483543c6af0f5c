"""Sinks: consumers of the engine's events (event log, summary, report, ...).

A sink only reads :mod:`counterram.events`; it never reaches into the engine. The JSON Lines
event log (:mod:`counterram.sinks.jsonl`) is the record every other sink can be rebuilt from.
"""
