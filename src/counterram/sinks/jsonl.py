"""The event log: events as JSON Lines, appended and flushed as they happen, and read back.

Why it exists: the event log is the record of a run (simulated or live) that every other consumer
(summary, report, replay, a later analysis) can be rebuilt from. It is written append-only and
flushed after every batch of events, so a run that is stopped (or a live engine that dies) leaves
a valid log of everything up to its last step, and a reader can follow it while it grows
(``tail -f``). Each line is :meth:`counterram.events.Event.to_json`: deterministic (fixed key
order, ``repr`` floats), so the same scenario and seed give a byte-identical file. The format is
documented in docs/events.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from counterram.events import Event, event_from_dict

__all__ = ["EventLogError", "EventLogWriter", "iter_event_dicts", "read_events"]


class EventLogError(ValueError):
    """A line of an event log that is not a valid event (``path:line: why``)."""


class EventLogWriter:
    """Append events to a JSON Lines file (or an open text stream), flushing after each write.

    ``fsync`` also forces each flush to the disk (slower; for live use where a power cut must not
    lose the last events). Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self, target: str | Path | IO[str], *, append: bool = False, fsync: bool = False
    ) -> None:
        self._own = isinstance(target, str | Path)
        if self._own:
            path = Path(target)  # type: ignore[arg-type]
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fp: IO[str] = open(path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115
            self.path: Path | None = path
        else:
            self._fp = target  # type: ignore[assignment]
            self.path = None
        self.fsync = fsync
        self.count = 0

    def write(self, events: Iterable[Event]) -> int:
        """Append events (one line each) and flush; returns how many were written."""
        lines = [e.to_json() for e in events]
        if lines:
            self._fp.write("\n".join(lines) + "\n")
            self._fp.flush()
            if self.fsync and self._own:
                os.fsync(self._fp.fileno())
            self.count += len(lines)
        return len(lines)

    def close(self) -> None:
        if self._own and not self._fp.closed:
            self._fp.close()

    def __enter__(self) -> EventLogWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def iter_event_dicts(source: str | Path | Iterable[str]) -> Iterator[dict[str, Any]]:
    """The events of a log as dicts, in file order; blank lines are skipped and a bad line (not
    UTF-8, not JSON, not an object with a text ``kind``) raises :class:`EventLogError` naming
    the file and line."""
    name = str(source) if isinstance(source, str | Path) else "<stream>"

    def lines() -> Iterator[str]:
        if isinstance(source, str | Path):
            with open(source, encoding="utf-8") as fp:
                yield from fp
        else:
            yield from source

    number = 0
    stream = lines()
    while True:
        try:
            line = next(stream)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise EventLogError(f"{name}:{number + 1}: not UTF-8 text (byte {exc.start} of "
                                "its chunk); an event log is JSON Lines") from None
        except OSError as exc:
            raise EventLogError(f"{name}: cannot read: {exc.strerror or exc}") from None
        number += 1
        text = line.strip()
        if not text:
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EventLogError(f"{name}:{number}: not JSON ({exc.msg})") from None
        except (ValueError, RecursionError) as exc:  # an integer of 5,000 digits, deep nesting
            raise EventLogError(f"{name}:{number}: not JSON ({type(exc).__name__})") from None
        if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
            raise EventLogError(f"{name}:{number}: not an event (an object with a 'kind' text)")
        yield record


def read_events(source: str | Path | Iterable[str]) -> list[Event]:
    """Every event of a log, rebuilt as typed events (unknown kinds raise
    :class:`EventLogError`)."""
    name = str(source) if isinstance(source, str | Path) else "<stream>"
    out: list[Event] = []
    for record in iter_event_dicts(source):
        try:
            out.append(event_from_dict(record))
        except (TypeError, ValueError) as exc:
            raise EventLogError(f"{name}: {exc}") from None
    return out
