"""Sensor health: notice a radar that has gone silent, and its recovery, from its plots alone.

Why it exists: a radar that stops reporting (a power cut, a broken link, a jammed receiver) is
not an error of any one plot, so no rejection counts it; yet the operator must know that a
sector is now seen by one radar only. The plot stream carries no heartbeat, so silence is
judged by what the radar would have delivered in it: its background rate — the lowest plot
rate of the ``bin_s`` bins of the last ``history_s`` (clutter and false alarms, what it
delivers when nothing flies; not its raid-time rate, which falls legitimately when the rounds
land) — times the silence, plus ``pd`` plots per revisit for each confirmed track it was
updating. Once that expectation reaches :attr:`HealthConfig.evidence` (7: a healthy radar is
that quiet by chance with probability e⁻⁷ ≈ 0.1 %, Poisson) and at least ``min_revisits``
revisits have passed, the radar is silent; its first plot after that is its recovery. Mid-raid,
a radar with a few rounds in hand is called silent within about three revisits; on a quiet sky
with a false alarm every other scan, after a dozen. Fire-control radars look only where cued,
so their silence means nothing and they are not judged.

The monitor is the engine's ``health`` stage (:mod:`counterram.stages`); its events are
:class:`~counterram.events.SensorHealth`. docs/hardening.md gives the measured delays.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from counterram.events import Event, SensorHealth
from counterram.sensors.plots import PlotBatch, SensorInfo
from counterram.tracking.lifecycle import TrackStatus
from counterram.tracking.tracker import TrackerOutput

__all__ = ["HealthConfig", "SensorHealthMonitor"]


@dataclass(frozen=True)
class HealthConfig:
    """``evidence``: plots a radar would have delivered in its silence before it is called
    silent; ``min_revisits``: and at least this many revisits without a plot;
    ``bin_s``/``history_s``: the background rate is the lowest plot rate of the ``bin_s``
    bins of the last ``history_s`` (clutter and false alarms: what a radar delivers when
    nothing flies); ``pd``: the chance per revisit that a radar sees a round it has been
    tracking (conservative: rounds leave coverage near the ground)."""

    evidence: float = 7.0
    min_revisits: float = 2.0
    bin_s: float = 10.0
    history_s: float = 120.0
    pd: float = 0.5


@dataclass
class _Sensor:
    name: str
    revisit_s: float
    last_report_s: float = -math.inf
    silent: bool = False
    bins: deque[tuple[float, int]] = field(default_factory=deque)
    tracks: dict[int, float] = field(default_factory=dict)
    """Confirmed tracks this radar's plots updated, and when (report time)."""

    def background_per_s(self, bin_s: float) -> float:
        full = list(self.bins)[:-1]  # the latest bin is still filling
        return min(n for _, n in full) / bin_s if full else 0.0


class SensorHealthMonitor:
    """Per search radar: its background plot rate, the tracks it has been updating, the time
    of its latest plot, and whether it is silent (module docstring). :meth:`step` takes each
    engine step's accepted plots and the tracker's picture."""

    def __init__(
        self,
        sensors: Sequence[SensorInfo],
        revisit_s: Mapping[int, float],
        cued: Iterable[int] = (),
        config: HealthConfig | None = None,
    ) -> None:
        self.config = config if config is not None else HealthConfig()
        skip = set(cued)
        self._sensors = {
            s.sensor_id: _Sensor(s.name, float(revisit_s.get(s.sensor_id, 1.0)))
            for s in sensors if s.sensor_id not in skip
        }

    @property
    def silent(self) -> tuple[int, ...]:
        """Ids of the radars silent now."""
        return tuple(sid for sid, s in self._sensors.items() if s.silent)

    def step(
        self, now: float, plots: PlotBatch, tracks: TrackerOutput | None = None
    ) -> list[Event]:
        """The health events at ``now`` given the plots accepted in this step and the
        tracker's picture after them."""
        cfg = self.config
        sid_of = np.asarray(plots.sensor_id)
        report = np.asarray(plots.report_time_s, dtype=float)
        alive: set[int] = set()
        used = np.zeros(0, dtype=np.int64)
        if tracks is not None:
            confirmed = tracks.status == TrackStatus.CONFIRMED
            alive = set(np.asarray(tracks.track_id)[confirmed].tolist())
            if len(tracks.plot_track_id) == len(plots):
                used = np.asarray(tracks.plot_track_id)
        events: list[Event] = []
        for sid, s in self._sensors.items():
            rows = sid_of == sid
            n = int(rows.sum())
            self._count(s, now, n)
            s.tracks = {t: when for t, when in s.tracks.items() if t in alive}
            if n:
                latest = float(report[rows].max())
                if used.size:
                    for t in set(used[rows].tolist()) & alive:
                        s.tracks[t] = latest
                gap = now - s.last_report_s
                s.last_report_s = max(s.last_report_s, latest)
                if s.silent:
                    s.silent = False
                    events.append(SensorHealth(
                        time_s=now, sensor_id=sid, sensor=s.name, status="recovered",
                        silent_s=gap, detail=f"{n} plots again after {gap:.1f} s"))
                continue
            if s.silent or not math.isfinite(s.last_report_s):
                continue
            gap = now - s.last_report_s
            held = [t for t, when in s.tracks.items()
                    if when >= s.last_report_s - 2.0 * s.revisit_s]
            expected = (s.background_per_s(cfg.bin_s) * gap
                        + len(held) * cfg.pd * math.floor(gap / s.revisit_s))
            if gap >= cfg.min_revisits * s.revisit_s and expected >= cfg.evidence:
                s.silent = True
                events.append(SensorHealth(
                    time_s=now, sensor_id=sid, sensor=s.name, status="silent", silent_s=gap,
                    detail=f"no plot for {gap:.1f} s ({gap / s.revisit_s:.1f} revisits) with "
                           f"{len(held)} tracks in hand; {expected:.1f} plots expected"))
        return events

    def _count(self, s: _Sensor, now: float, n: int) -> None:
        """Add ``n`` plots to the sensor's rate bins (not while it is silent: a silent
        radar's zero is not its background)."""
        cfg = self.config
        start = math.floor(now / cfg.bin_s) * cfg.bin_s
        if not s.bins or s.bins[-1][0] != start:
            s.bins.append((start, 0))
        if not s.silent:
            s.bins[-1] = (start, s.bins[-1][1] + n)
        while s.bins and s.bins[0][0] < now - cfg.history_s:
            s.bins.popleft()
