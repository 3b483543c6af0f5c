"""Plot sources for the live engine (:mod:`counterram.sources.base`); importing the package
registers the built-in ones (:mod:`counterram.sources.streams`)."""

from counterram.sources import asterix as _asterix  # noqa: F401  (registers asterix+udp)
from counterram.sources import streams as _streams  # noqa: F401  (registers file, stdin, udp)
from counterram.sources.base import (
    PlotSource,
    SourceError,
    open_source,
    register_source,
    source_schemes,
)

__all__ = ["PlotSource", "SourceError", "open_source", "register_source", "source_schemes"]
