"""The stream header: the first event of a run's stream, built from the scenario.

Why it exists: the engine's events give positions in the scenario's site frame (east, north,
up metres from the origin) and name warning zones without drawing them. A consumer that has
only the event log — a replay to a map, a Cursor-on-Target bridge — needs the origin to put
those positions on the Earth and the zones' outlines to draw a warning. The run driver
(:mod:`counterram.driver`) writes this header with the first step's events, in a simulated run
and in the live engine alike; it carries nothing that depends on the mode or the wall clock,
so the live engine fed a run's recorded plots writes the same header line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from counterram.events import StreamHeader, ZoneOutline
from counterram.scenario.resolved import resolve

__all__ = ["plots_are_simulated", "stream_header"]


def plots_are_simulated(plots_header: Mapping[str, Any] | None) -> bool:
    """Whether a plot stream's header says a simulation drew its plots: counterram's simulator
    writes the seed it drew them with (docs/plots.md); a radar's feed has no seed."""
    return bool(plots_header) and plots_header.get("seed") is not None  # type: ignore[union-attr]


def stream_header(
    time_s: float, scenario: Any, plots_header: Mapping[str, Any] | None = None
) -> StreamHeader:
    """The header of a run of ``scenario`` (a Scenario or its resolved form) whose plot stream
    began with ``plots_header`` (parsed; None when it had none)."""
    world = resolve(scenario)
    spec = world.scenario
    zones = tuple(
        ZoneOutline(
            name=z.name,
            vertices_en=tuple((float(e), float(n)) for e, n in z.area.vertices_m),
            center_en=(float(z.area.center_m[0]), float(z.area.center_m[1])),
            radius_m=float("nan") if z.area.radius_m is None else float(z.area.radius_m),
        )
        for z in world.zones
    )
    return StreamHeader(
        time_s=float(time_s),
        scenario=spec.name,
        latitude_deg=float(spec.origin.latitude_deg),
        longitude_deg=float(spec.origin.longitude_deg),
        altitude_m=float(spec.origin.altitude_m),
        frame="site",
        epoch_utc=spec.epoch or "",
        simulated=plots_are_simulated(plots_header),
        zones=zones,
    )
