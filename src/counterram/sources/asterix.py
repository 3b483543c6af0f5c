"""ASTERIX plot sources: a ``.ast`` file (CAT 048 data blocks back to back) and
``asterix+udp://127.0.0.1:PORT`` (one or more data blocks per datagram).

Why it exists: a radar's own feed is ASTERIX, not JSON Lines. These sources decode each record
into a plot line (:class:`~counterram.sensors.asterix.AsterixDecoder`), so the run driver and
the plot reader treat an ASTERIX feed exactly as a JSON one: the same validation, the same
reject reasons (an undecodable block is ``bad_record``). ASTERIX carries no sensor table: the
sensors (SAC/SIC = sensor id), their heights and reporting latencies and the time of day of
scenario time 0 come from the caller's options (``sensors``, ``latency_s``, ``tod_offset_s``),
which ``counterram engine`` fills from the scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from counterram.sensors.asterix import AsterixDecoder, cat048
from counterram.sensors.plotio import LineRejection
from counterram.sources.base import SourceError, register_source
from counterram.sources.streams import (
    LOCALHOST,
    first_wait,
    parse_udp_url,
    timed_udp_datagrams,
    udp_datagrams,
)

__all__ = ["AsterixFileSource", "AsterixUdpSource", "asterix_options", "decoder_from_options"]

SCHEME = "asterix+udp"


def asterix_options(scenario: Any) -> dict[str, Any]:
    """The options an ASTERIX source needs, from a scenario: its radars' sensors and latencies
    and the time of day of its time 0 (sources that are not ASTERIX ignore them)."""
    from counterram.sensors.asterix import latencies, tod_offset
    from counterram.sensors.radar import radars_from_scenario

    radars = radars_from_scenario(scenario)
    return {"sensors": [r.info for r in radars], "latency_s": latencies(radars),
            "tod_offset_s": tod_offset(scenario.epoch)}


def decoder_from_options(options: dict[str, Any]) -> AsterixDecoder:
    """A decoder from a source's options: ``sensors`` (SensorInfo list), ``latency_s``
    (sensor id → s), ``tod_offset_s`` (time of day of scenario time 0)."""
    return AsterixDecoder(options.get("sensors", ()), latency_s=options.get("latency_s"),
                          tod_offset_s=float(options.get("tod_offset_s", 0.0)))


@dataclass
class AsterixFileSource:
    """Plot lines decoded from an ASTERIX file."""

    path: Path
    decoder: AsterixDecoder

    def describe(self) -> str:
        return str(self.path)

    def lines(self) -> Iterator[str | LineRejection]:  # type: ignore[override]
        yield from self.decoder.lines(self.path.read_bytes())


@dataclass
class AsterixUdpSource:
    """Plot lines decoded from ASTERIX datagrams on 127.0.0.1:``port``; the stream ends as
    :func:`~counterram.sources.streams.udp_datagrams` does."""

    port: int
    decoder: AsterixDecoder
    max_idle_s: float = 5.0
    max_datagrams: int | None = None
    ready: Callable[[int], None] | None = None
    first_wait_s: float | None = None
    datagrams: int = 0
    """Datagrams received so far."""

    def describe(self) -> str:
        return f"{SCHEME}://{LOCALHOST}:{self.port}"

    def lines(self) -> Iterator[str | LineRejection]:  # type: ignore[override]
        for data in udp_datagrams(self.port, max_idle_s=self.max_idle_s,
                                  max_datagrams=self.max_datagrams, ready=self.ready,
                                  first_wait_s=self.first_wait_s):
            self.datagrams += 1
            yield from self.decoder.lines(data)

    def timed_lines(self) -> Iterator[tuple[float, str | LineRejection]]:
        """(monotonic receive time of its datagram, line): the wall-clock engine's input. The
        codec is loaded before the socket is bound (~1 s): datagrams queued behind that
        import would be stamped, and judged, late."""
        cat048()
        for arrival, data in timed_udp_datagrams(
                self.port, max_idle_s=self.max_idle_s, max_datagrams=self.max_datagrams,
                ready=self.ready, first_wait_s=self.first_wait_s):
            self.datagrams += 1
            for line in self.decoder.lines(data):
                yield arrival, line


def _udp(spec: str, options: dict[str, Any]) -> AsterixUdpSource:
    try:
        port = parse_udp_url(spec[len("asterix+"):])
    except SourceError as exc:
        raise SourceError(str(exc).replace("udp://", f"{SCHEME}://")) from None
    return AsterixUdpSource(port, decoder_from_options(options),
                            max_idle_s=float(options.get("max_idle_s", 5.0)),
                            max_datagrams=options.get("max_datagrams"),
                            ready=options.get("ready"), first_wait_s=first_wait(options))


register_source(SCHEME, _udp)
