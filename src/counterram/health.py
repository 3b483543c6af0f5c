"""Sensor health: notice a radar that has gone silent, and its recovery, from its plots alone.

Why it exists: a radar that stops reporting (a power cut, a broken link, a jammed receiver) is
not an error of any one plot, so no rejection counts it; yet the operator must know that a
sector is now seen by one radar only. The plot stream carries no heartbeat, so silence is
judged by what the radar would have delivered in it: its background rate — the lowest plot
rate of the ``bin_s`` bins of the last ``history_s`` (clutter and false alarms, what it
delivers when nothing flies; not its raid-time rate, which falls legitimately when the rounds
land) — times the silence, plus ``pd`` plots per revisit for each confirmed track it was
updating. Once that expectation reaches :attr:`HealthConfig.evidence` (12: a healthy radar is
that quiet by chance with probability e⁻¹² ≈ 6e-6 per judgement, Poisson — about 0.04 false
reports an hour for a radar judged every 0.5 s; 7, a 0.1 % chance, gave false reports in 6 of
24 healthy 15-minute runs) and at least ``min_revisits`` revisits have passed, the radar is
silent; its first plot after that is its recovery. Mid-raid, a radar with a few rounds in hand
is called silent within about three revisits; a sparse one with a false alarm every other
scan, after seven or more. Fire-control radars look only where cued,
so their silence means nothing and they are not judged.

A radar reporting with a bias (a registration error: a shifted north, a range offset) delivers
its plots as usual, so it is judged by whether they agree with the picture the *other* radars
build: each of its plots (at most ``bias_plots_per_step`` a step) is compared with the nearest
confirmed track the other radars have been updating (within ``bias_reach_m``, carried to the
plot's time under gravity), in units of its own sigmas per range, azimuth and elevation,
clipped at ±5 σ (a clutter plot near a track must not swing it), and the signed residuals are
averaged (the first ``bias_window``, then an exponential mean of that memory). Against its own
tracks a biased radar would agree with itself: its plots soon leave the gates of the other
radar's tracks and start tracks offset by its bias. A mean beyond ``bias_sigma`` in any
component reports the radar ``inconsistent``, below half of it ``consistent`` again. With two
radars the fused tracks lie between them and both may be reported; the plots alone cannot say
for certain which one is off.

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
from counterram.tracking.measurement import measure
from counterram.tracking.tracker import TrackerOutput

__all__ = ["HealthConfig", "SensorHealthMonitor"]

_G = 9.80665


@dataclass(frozen=True)
class HealthConfig:
    """``evidence``: plots a radar would have delivered in its silence before it is called
    silent; ``min_revisits``: and at least this many revisits without a plot;
    ``bin_s``/``history_s``: the background rate is the lowest plot rate of the ``bin_s``
    bins of the last ``history_s`` (clutter and false alarms: what a radar delivers when
    nothing flies); ``pd``: the chance per revisit that a radar sees a round it has been
    tracking (below a search radar's Pd for a tracked round: rounds leave coverage near the
    ground)."""

    evidence: float = 12.0
    min_revisits: float = 2.0
    bin_s: float = 10.0
    history_s: float = 120.0
    pd: float = 0.8
    bias_window: int = 40
    bias_sigma: float = 1.5
    bias_reach_m: float = 300.0
    bias_plots_per_step: int = 16


@dataclass
class _Sensor:
    name: str
    revisit_s: float
    last_report_s: float = -math.inf
    silent: bool = False
    bins: deque[tuple[float, int]] = field(default_factory=deque)
    tracks: dict[int, float] = field(default_factory=dict)
    """Confirmed tracks this radar's plots updated, and when (report time)."""
    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    sigma: np.ndarray = field(default_factory=lambda: np.ones(3))
    residual_mean: np.ndarray = field(default_factory=lambda: np.zeros(3))
    residuals: int = 0
    inconsistent: bool = False

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
            s.sensor_id: _Sensor(
                s.name, float(revisit_s.get(s.sensor_id, 1.0)),
                position=np.asarray(s.position_enu, dtype=float),
                sigma=np.array([s.sigma_range_m, s.sigma_azimuth_rad, s.sigma_elevation_rad]),
            )
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
        if tracks is not None and len(plots):
            events.extend(self._registration(now, plots, tracks, confirmed))
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

    def _registration(
        self, now: float, plots: PlotBatch, tracks: TrackerOutput, confirmed: np.ndarray
    ) -> list[Event]:
        """Average each radar's residuals against the confirmed tracks the other radars have
        been updating; report the radars whose mean leaves (or comes back within) the bound."""
        cfg = self.config
        ids = np.asarray(tracks.track_id)
        sid_of = np.asarray(plots.sensor_id)
        t_plot = np.asarray(plots.time_s, dtype=float)
        events: list[Event] = []
        fed = {
            sid: np.fromiter(
                (t for t, when in s.tracks.items() if when >= now - 2.0 * s.revisit_s), np.int64
            )
            for sid, s in self._sensors.items()
        }
        for sid, s in self._sensors.items():
            k = np.flatnonzero(sid_of == sid)[: cfg.bias_plots_per_step]
            if k.size == 0:
                continue
            others = [f for oid, f in fed.items() if oid != sid and f.size]
            if not others:
                continue
            rows = np.flatnonzero(confirmed & np.isin(ids, np.concatenate(others)))
            if rows.size == 0:
                continue
            near, reach = self._nearest(s, plots, k, tracks, rows)
            k, near = k[reach <= cfg.bias_reach_m], near[reach <= cfg.bias_reach_m]
            if k.size == 0:
                continue
            x = tracks.x[near]
            dt = t_plot[k] - tracks.state_time_s[near]
            p = x[:, :3] + x[:, 3:6] * dt[:, None]
            p[:, 2] -= 0.5 * _G * dt**2
            h = measure(p, s.position, 3)
            res = np.column_stack([
                np.asarray(plots.range_m, dtype=float)[k] - h[:, 0],
                np.angle(np.exp(1j * (np.asarray(plots.azimuth_rad, dtype=float)[k] - h[:, 1]))),
                np.asarray(plots.elevation_rad, dtype=float)[k] - h[:, 2],
            ]) / s.sigma
            res = np.clip(res[np.all(np.isfinite(res), axis=1) & (np.abs(dt) <= 2.0)], -5.0, 5.0)
            self._average(s, res)
            if s.residuals < cfg.bias_window:
                continue
            worst = float(np.abs(s.residual_mean).max())
            if not s.inconsistent and worst > cfg.bias_sigma:
                s.inconsistent = True
                events.append(self._bias_event(now, sid, s, "inconsistent"))
            elif s.inconsistent and worst < 0.5 * cfg.bias_sigma:
                s.inconsistent = False
                events.append(self._bias_event(now, sid, s, "consistent"))
        return events

    def _average(self, s: _Sensor, res: np.ndarray) -> None:
        """Fold residuals (k, 3), in order, into the radar's running mean: the plain mean of
        the first ``bias_window``, then an exponential one of that memory."""
        w = self.config.bias_window
        fill = min(max(w - s.residuals, 0), len(res))
        if fill:
            total = s.residual_mean * s.residuals + res[:fill].sum(axis=0)
            s.residuals += fill
            s.residual_mean = total / s.residuals
        rest = res[fill:]
        if len(rest):
            a = 1.0 / w
            decay = (1.0 - a) ** np.arange(len(rest) - 1, -1, -1)
            s.residual_mean = (1.0 - a) ** len(rest) * s.residual_mean + a * (
                decay[:, None] * rest
            ).sum(axis=0)
            s.residuals += len(rest)

    @staticmethod
    def _nearest(
        s: _Sensor, plots: PlotBatch, k: np.ndarray, tracks: TrackerOutput, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For plots ``k`` of radar ``s``: the nearest of the tracks ``rows`` at each plot's
        time (rows, and the distance in m)."""
        r = np.asarray(plots.range_m, dtype=float)[k]
        az = np.asarray(plots.azimuth_rad, dtype=float)[k]
        el = np.asarray(plots.elevation_rad, dtype=float)[k]
        p = s.position + np.column_stack(
            [r * np.cos(el) * np.sin(az), r * np.cos(el) * np.cos(az), r * np.sin(el)]
        )
        dt = np.asarray(plots.time_s, dtype=float)[k][:, None] - tracks.state_time_s[rows][None]
        x = tracks.x[rows]
        q = x[None, :, :3] + x[None, :, 3:6] * dt[..., None]
        q[..., 2] -= 0.5 * _G * dt**2
        d = np.linalg.norm(q - p[:, None, :], axis=2)
        best = np.argmin(d, axis=1)
        return rows[best], d[np.arange(k.size), best]

    @staticmethod
    def _bias_event(now: float, sid: int, s: _Sensor, status: str) -> SensorHealth:
        m = s.residual_mean * s.sigma
        return SensorHealth(
            time_s=now, sensor_id=sid, sensor=s.name, status=status,
            detail=(f"plots against the tracks, mean of the last plots: range {m[0]:+.1f} m, "
                    f"azimuth {1e3 * m[1]:+.1f} mrad, elevation {1e3 * m[2]:+.1f} mrad "
                    f"({np.abs(s.residual_mean).max():.1f} sigma)"),
        )

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
