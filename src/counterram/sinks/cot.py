"""The Cursor-on-Target sink: a run's tracks, impact and origin points, warned zones, bursts and
kills on every TAK map (ATAK, WinTAK, iTAK, a TAK server).

Why it exists: the people C-RAM warns and the responders it sends to a launch point use TAK.
This sink maps each step's events to CoT (:mod:`counterram.sinks.cot_map`, docs/cot.md) on the
run's thread — a few tens of microseconds an event — and hands the bytes to one
:class:`~counterram.sinks.cot_transport.Transport` per destination, whose own thread sends
them: a slow or absent server never holds up the engine; while it is away messages queue up to
a bound, the oldest dropped and counted, and when it comes back it first gets the current
picture again (the latest message of every object still on the map).

``counterram run|engine|replay --tak URL`` builds one (:class:`CotSink`); as a registered sink
(``--sink cot``) it reads its destinations from ``COUNTERRAM_TAK`` (URLs separated by spaces or
commas). At close it reports per destination what was sent, dropped and left unsent (a log
warning when anything was lost, and ``summary.json``'s ``tak`` entry in a simulated run).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

from counterram.events import Event
from counterram.run_record import RunRecord
from counterram.sinks.base import RunStart, Sink, register_sink
from counterram.sinks.cot_map import CotMapper, CotMessage, MapperOptions
from counterram.sinks.cot_transport import (
    TakDestination,
    TakUrlError,
    Transport,
    TransportStats,
    parse_tak_url,
)

__all__ = ["TAK_ENV", "CotSink"]

TAK_ENV = "COUNTERRAM_TAK"
_PRUNE_AT = 4096  # objects in the picture before stale ones are forgotten
log = logging.getLogger("counterram.cot")


class CotSink(Sink):
    """Events → CoT → every destination (module docstring).

    ``destinations``: URLs or parsed destinations (:func:`~counterram.sinks.cot_transport.
    parse_tak_url`); ``queue_size`` per destination; ``flush_timeout_s`` how long close waits
    for the queues to empty. ``epoch_s``, ``uid_prefix``, ``opex``, ``options`` and ``clock``
    are the mapper's (:class:`~counterram.sinks.cot_map.CotMapper`); ``transport`` further
    :class:`~counterram.sinks.cot_transport.Transport` keywords (backoff, timeouts).
    """

    name = "cot"

    def __init__(
        self,
        destinations: Sequence[str | TakDestination],
        *,
        queue_size: int = 10_000,
        flush_timeout_s: float = 5.0,
        epoch_s: float | None = None,
        uid_prefix: str | None = None,
        opex: str | None = None,
        options: MapperOptions | None = None,
        clock: Callable[[], float] = time.time,
        transport: dict[str, float] | None = None,
    ) -> None:
        if not destinations:
            raise TakUrlError("no destination")
        self.destinations = [d if isinstance(d, TakDestination) else parse_tak_url(d)
                             for d in destinations]
        self.flush_timeout_s = float(flush_timeout_s)
        self._clock = clock
        self.mapper = CotMapper(epoch_s=epoch_s, uid_prefix=uid_prefix, opex=opex,
                                options=options, clock=clock)
        self.transports = [
            Transport(d, queue_size=queue_size, resync=self._picture, **(transport or {}))
            for d in self.destinations
        ]
        self._live: dict[str, tuple[float, bytes]] = {}
        self._live_lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        """CoT messages made, by the event kind they came from."""
        self.stats: list[TransportStats] = []
        self._opened = False

    @classmethod
    def from_environment(cls) -> CotSink:
        """The sink of the destinations in ``COUNTERRAM_TAK`` (for ``--sink cot``)."""
        text = os.environ.get(TAK_ENV, "")
        urls = [u for u in text.replace(",", " ").split() if u]
        if not urls:
            raise TakUrlError(f"the cot sink sends to the URLs in {TAK_ENV} (none set); "
                              "or use --tak URL")
        return cls(urls)

    # ------------------------------------------------------------------ the Sink interface
    def open(self, start: RunStart) -> None:
        if not self._opened:
            self._opened = True
            for t in self.transports:
                t.start()

    def write(self, now: float, events: Sequence[Event]) -> None:
        if not self._opened:
            self.open(RunStart("live", None, None))
        for message in self.mapper.map(events):
            self.send(message)

    def send(self, message: CotMessage) -> None:
        """Queue one CoT message for every destination and keep the picture up to date."""
        data = message.xml.encode("utf-8")
        self.counts[message.kind] += 1
        with self._live_lock:
            if message.removes is not None:
                self._live.pop(message.removes, None)
            else:
                self._live[message.uid] = (message.stale_s, data)
            if len(self._live) > _PRUNE_AT and self.counts.total() % 1024 == 0:
                now = self._clock()
                self._live = {u: v for u, v in self._live.items() if v[0] > now}
        for t in self.transports:
            t.send(data)

    def close(self, record: RunRecord) -> None:
        # the destinations flush in parallel: the run ends after one flush time at most
        results: list[TransportStats | None] = [None] * len(self.transports)

        def finish(i: int) -> None:
            results[i] = self.transports[i].close(self.flush_timeout_s)

        workers = [threading.Thread(target=finish, args=(i,)) for i in range(len(results))]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.stats = [s for s in results if s is not None]
        for s in self.stats:
            if s.dropped or s.unsent or s.connects == 0:
                log.warning("%s", s.describe())
        if self.mapper.unplaced:
            log.warning("%d events could not be placed on the map: the stream had no header "
                        "(site origin) before them", self.mapper.unplaced)
        if record is not None and record.summary is not None:
            record.summary["tak"] = [s.as_dict() for s in self.stats]

    # ------------------------------------------------------------------ the picture
    def _picture(self) -> list[bytes]:
        """The latest message of every object still on the map (for a reconnection)."""
        now = self._clock()
        with self._live_lock:
            items = list(self._live.values())
        return [data for stale, data in items if stale > now]


register_sink("cot", CotSink.from_environment)
