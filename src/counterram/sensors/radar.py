"""Radar models: which rounds a radar looks at when, whether it detects them, and the plots it
reports.

A search radar (``lcmr``, ``wlr``) scans on its own schedule:

* ``rotating``: the beam turns clockwise once per ``revisit_s`` (beam azimuth
  ``β(t) = scan_start + 2π t / T``); each round is looked at when the beam passes its azimuth.
  The look time is solved per round (the first zero of ``a(t) − β(t)`` in the scan, bracketed on
  a grid and bisected, ``a(t)`` the round's azimuth), so plots of one scan carry different times
  and a round crossing the sky fast (near the radar) is still looked at exactly where the beam
  is;
* ``electronic``: the whole coverage is looked at every ``revisit_s`` (one instant per scan).

A fire-control radar (``fcr``) is blind until cued: each look (every ``revisit_s``) points a
pencil beam at every cue given in the last ``cue_hold_s`` (a position the engine wants measured),
and only rounds within the beam (``beamwidth_deg``) and the range gate (± ``range_gate_m``) of a
cue can be detected. With no cues an fcr makes no looks and reports nothing.

A round in flight at its look time is a candidate if it is inside the coverage (range between
``min_range_m`` and ``max_range_m``, azimuth in the sector, elevation above the mask and
``min_elevation_deg`` and below ``max_elevation_deg``, no outage); a candidate is detected with
the Swerling-1 law of :mod:`counterram.sensors.detection`, and a detection becomes a plot with
the Gaussian errors of :mod:`counterram.sensors.noise`. False alarms are Poisson per scan (per cued
look for an fcr) with mean ``false_alarms_per_scan``, uniform over resolution cells: range
uniform between the minimum and maximum range, azimuth uniform in the sector (for an fcr: range
in the gate and direction uniform within the beam), elevation uniform between the mask and the
maximum elevation. Their SNR is just above the threshold and their radial velocity uniform in
±400 m/s.

Every random draw comes from the Generator passed in. :func:`simulate_plots` gives each radar its
own stream, keyed by the radar's name (:func:`radar_seed`), so adding or removing a radar leaves
the other radars' plots unchanged.

Truth is read through ``states_at(time_s) -> (round_ids, states)`` (the world's ``Truth``, or
:class:`FlightTruth` built from physics flights). A rotating radar needs states at a different
time for each round: it samples ``states_at`` every ≤ 0.25 s over the scan and interpolates each
round with a cubic Hermite polynomial on positions and velocities (error ≪ 1 m for a ballistic
arc; a round appears from the first sample after its launch and disappears at the last sample
before its impact, i.e. it is missed for at most 0.25 s at either end of its flight, within a few
tens of metres of the ground).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from counterram.scenario.geometry import EnuPoint
from counterram.scenario.resolved import resolve
from counterram.sensors.config import FcrConfig, RadarConfig
from counterram.sensors.detection import (
    RcsTable,
    false_alarm_snr_db,
    look_swerling1,
    mean_snr,
)
from counterram.sensors.noise import TWO_PI, noisy, spherical
from counterram.sensors.plots import (
    FALSE_ALARM_ID,
    PlotBatch,
    PlotTruth,
    SensorInfo,
    concatenate_labelled,
)
from counterram.sensors.roster import Cues, sensor_info

if TYPE_CHECKING:
    from counterram.physics.trajectory import Flight
    from counterram.scenario.resolved import ResolvedScenario
    from counterram.scenario.schema import Scenario

__all__ = [
    "SENSOR_STREAM",
    "TRUTH_STEP_S",
    "Cues",
    "FlightTruth",
    "Radar",
    "Scan",
    "TruthLike",
    "merge_scans",
    "radar_seed",
    "radars_from_scenario",
    "simulate_plots",
]

SENSOR_STREAM = 0x53454E53
"""First spawn-key word of every radar's random stream ("SENS"), apart from other components'."""

TRUTH_STEP_S = 0.25
"""Longest interval between truth samples interpolated within a rotating scan, s."""

FALSE_ALARM_MAX_RADIAL_VELOCITY_MPS = 400.0
_FINE = 4  # beam-crossing search points per truth interval (11° of beam travel at 0.25 s, 2 s)
_BISECTIONS = 24  # look time to 1e-8 of the search step: azimuth error < 1e-7 rad


class TruthLike(Protocol):
    """What a radar needs of the truth: the rounds in flight at a time, as (ids (M,), (M, 6))."""

    def states_at(self, time_s: float) -> tuple[np.ndarray, np.ndarray]: ...




@dataclass(frozen=True)
class Scan:
    """One scan (or cued look) of one radar: its plots and, separately, their truth labels."""

    sensor_id: int
    start_s: float
    end_s: float
    plots: PlotBatch
    truth: PlotTruth


def _hermite(
    t_a: np.ndarray, x_a: np.ndarray, t_b: np.ndarray, x_b: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Cubic Hermite interpolation of ballistic states (N, 6) between (t_a, x_a) and (t_b, x_b),
    using positions and velocities at both ends; returns states (N, 6) at ``t``."""
    h = (t_b - t_a)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(h > 0, (t[:, None] - t_a[:, None]) / h, 0.0)
    p_a, v_a, p_b, v_b = x_a[:, :3], x_a[:, 3:], x_b[:, :3], x_b[:, 3:]
    s2, s3 = s * s, s * s * s
    pos = (
        (2 * s3 - 3 * s2 + 1) * p_a
        + (s3 - 2 * s2 + s) * h * v_a
        + (-2 * s3 + 3 * s2) * p_b
        + (s3 - s2) * h * v_b
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        vel = np.where(
            h > 0,
            ((6 * s2 - 6 * s) * (p_a - p_b)) / h
            + (3 * s2 - 4 * s + 1) * v_a
            + (3 * s2 - 2 * s) * v_b,
            v_a,
        )
    return np.concatenate([pos, vel], axis=1)


@dataclass(frozen=True, eq=False)
class FlightTruth:
    """Truth made from physics flights (:func:`counterram.physics.trajectory.fly` with
    ``sample_dt_s``): each round's states between its launch and its impact, interpolated
    (cubic Hermite) between samples. For tests, benchmarks and studies without a full world."""

    round_id: np.ndarray  # (R,)
    launch_time_s: np.ndarray  # (R,)
    impact_time_s: np.ndarray  # (R,)
    sample_dt_s: float
    samples: np.ndarray  # (R, K, 6), sample k of round r at launch_time_s[r] + k·sample_dt_s
    impact_state: np.ndarray  # (R, 6)
    rcs_m2: np.ndarray  # (R,)

    @classmethod
    def from_flight(
        cls,
        flight: Flight,
        rcs_m2: ArrayLike,
        round_id: ArrayLike | None = None,
    ) -> FlightTruth:
        """From a forward flight started at launch (``t0_s`` = launch times)."""
        if flight.samples is None or flight.samples_t is None:
            raise ValueError("FlightTruth needs a flight flown with sample_dt_s")
        n = flight.samples.shape[0]
        ids = np.arange(n) if round_id is None else np.asarray(round_id)
        return cls(
            np.asarray(ids, dtype=np.int64),
            np.asarray(flight.t0_s, dtype=float),
            np.asarray(flight.impact_time_s, dtype=float),
            float(flight.samples_t[1] - flight.samples_t[0]),
            flight.samples,
            flight.impact_state,
            np.broadcast_to(np.asarray(rcs_m2, dtype=float), (n,)).copy(),
        )

    def states_at(self, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Rounds in flight at ``time_s`` (launched, not yet impacted) and their states."""
        live = np.flatnonzero((self.launch_time_s <= time_s) & (time_s < self.impact_time_s))
        if live.size == 0:
            return self.round_id[live], np.zeros((0, 6))
        k_max = self.samples.shape[1] - 1
        elapsed = time_s - self.launch_time_s[live]
        k = np.minimum((elapsed // self.sample_dt_s).astype(np.int64), k_max)
        t_a = self.launch_time_s[live] + k * self.sample_dt_s
        x_a = self.samples[live, k]
        k_b = np.minimum(k + 1, k_max)
        x_b = self.samples[live, k_b]
        t_b = t_a + self.sample_dt_s
        # Past the last full sample, interpolate towards the impact state instead.
        last = ~np.isfinite(x_b[:, 0]) | (k_b == k) | (t_b > self.impact_time_s[live])
        x_b = np.where(last[:, None], self.impact_state[live], x_b)
        t_b = np.where(last, self.impact_time_s[live], t_b)
        return self.round_id[live], _hermite(t_a, x_a, t_b, x_b, np.full(live.size, time_s))


class _TruthCache:
    """Memoises ``states_at`` for the last few times (consecutive scans share their boundary)."""

    def __init__(self, truth: TruthLike, size: int = 32) -> None:
        self.truth = truth
        self.size = size
        self.memo: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def states_at(self, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        key = round(float(time_s), 9)
        hit = self.memo.get(key)
        if hit is None:
            if len(self.memo) >= self.size:
                self.memo.clear()
            ids, states = self.truth.states_at(float(time_s))
            hit = (np.asarray(ids, dtype=np.int64), np.asarray(states, dtype=float).reshape(-1, 6))
            self.memo[key] = hit
        return hit


@dataclass(frozen=True, eq=False)
class Radar:
    """A radar at ``position_enu`` (3,) with its configuration, reporting as ``sensor_id``."""

    config: RadarConfig
    sensor_id: int
    position_enu: np.ndarray

    @classmethod
    def from_config(
        cls, config: RadarConfig, sensor_id: int, position_enu: ArrayLike | None = None
    ) -> Radar:
        """A radar; ``position_enu`` may be left out when the config gives an east/north
        position (a geodetic one needs the scenario's origin: use :func:`radars_from_scenario`)."""
        if position_enu is None:
            p = config.position
            if not isinstance(p, EnuPoint):
                raise ValueError(
                    f"radar {config.name!r}: a latitude/longitude position needs the scenario "
                    "origin; pass position_enu or build radars with radars_from_scenario"
                )
            position_enu = (p.east_m, p.north_m, p.up_m)
        pos = np.asarray(position_enu, dtype=float).reshape(3)
        return cls(config, int(sensor_id), pos)

    # -- derived constants ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def cued(self) -> bool:
        """Whether the radar only looks where it is cued (a fire-control radar)."""
        return isinstance(self.config, FcrConfig)

    @cached_property
    def sigma(self) -> tuple[float, float, float, float | None]:
        """(range m, azimuth rad, elevation rad, radial velocity m/s or None) 1σ errors: the
        noise the radar draws is the noise the engine is told of (:attr:`info`)."""
        i = self.info
        return (i.sigma_range_m, i.sigma_azimuth_rad, i.sigma_elevation_rad,
                i.sigma_radial_velocity_mps)

    @cached_property
    def info(self) -> SensorInfo:
        """What the engine needs to know of this radar (:func:`.roster.sensor_info`)."""
        return sensor_info(self.config, self.sensor_id, self.position_enu)

    @cached_property
    def _mask(self) -> tuple[np.ndarray, np.ndarray] | None:
        m = self.config.elevation_mask
        if not m:
            return None
        az = np.radians([p.azimuth_deg for p in m])
        el = np.radians([p.elevation_deg for p in m])
        order = np.argsort(az)
        return az[order], el[order]

    def elevation_floor_rad(self, azimuth_rad: ArrayLike) -> np.ndarray:
        """Lowest visible elevation at each azimuth: the higher of ``min_elevation_deg`` and the
        mask (linear in azimuth between mask points, wrapping at 360°)."""
        az = np.asarray(azimuth_rad, dtype=float)
        floor = np.full(az.shape, np.radians(self.config.min_elevation_deg))
        if self._mask is not None:
            m_az, m_el = self._mask
            floor = np.maximum(floor, np.interp(np.mod(az, TWO_PI), m_az, m_el, period=TWO_PI))
        return floor

    def in_sector(self, azimuth_rad: ArrayLike) -> np.ndarray:
        az = np.asarray(azimuth_rad, dtype=float)
        if self.config.sector_width_deg >= 360.0:
            return np.ones(az.shape, dtype=bool)
        off = np.mod(az - np.radians(self.config.sector_center_deg) + np.pi, TWO_PI) - np.pi
        return np.abs(off) <= np.radians(self.config.sector_width_deg) / 2

    def in_outage(self, time_s: ArrayLike) -> np.ndarray:
        t = np.asarray(time_s, dtype=float)
        out = np.zeros(t.shape, dtype=bool)
        for t0, t1 in self.config.outages:
            out |= (t >= t0) & (t <= t1)
        return out

    def covers(
        self,
        range_m: np.ndarray,
        azimuth_rad: np.ndarray,
        elevation_rad: np.ndarray,
        time_s: np.ndarray,
    ) -> np.ndarray:
        """Whether each (range, azimuth, elevation) at ``time_s`` is inside the coverage."""
        c = self.config
        return (
            (range_m >= c.min_range_m)
            & (range_m <= c.max_range_m)
            & self.in_sector(azimuth_rad)
            & (elevation_rad >= self.elevation_floor_rad(azimuth_rad))
            & (elevation_rad <= np.radians(c.max_elevation_deg))
            & ~self.in_outage(time_s)
        )

    def scan_starts(self, start_s: float, end_s: float) -> np.ndarray:
        """Start times ``k·revisit_s`` of the scans that begin in ``[start_s, end_s)``."""
        period = self.config.revisit_s
        k0 = int(np.ceil(start_s / period - 1e-9))
        k1 = int(np.ceil(end_s / period - 1e-9))
        return np.arange(k0, max(k0, k1)) * period

    # -- one scan -----------------------------------------------------------------------------
    def scan(
        self,
        truth: TruthLike,
        scan_start_s: float,
        rng: np.random.Generator,
        *,
        rcs: RcsTable | None = None,
        cues: Cues | None = None,
    ) -> tuple[PlotBatch, PlotTruth]:
        """The plots of the scan (or cued look) starting at ``scan_start_s``, ordered by time,
        and their truth labels. ``rcs`` defaults to the truth's (see ``RcsTable.from_truth``);
        ``cues`` is read by a fire-control radar only."""
        rcs = RcsTable.from_truth(truth) if rcs is None else rcs
        t0 = float(scan_start_s)
        if self.cued:
            return self._cued_look(truth, t0, rng, rcs, cues)
        if self.config.scan == "rotating":
            ids, times, states = self._rotating_looks(truth, t0)
        else:
            ids, states = truth.states_at(t0)
            ids = np.asarray(ids, dtype=np.int64)
            states = np.asarray(states, dtype=float).reshape(-1, 6)
            times = np.full(ids.shape[0], t0)
        real = self._observe(ids, times, states, rng, rcs, None)
        false = self._search_false_alarms(t0, rng)
        return concatenate_labelled([real, false])

    def _observe(
        self,
        ids: np.ndarray,
        times: np.ndarray,
        states: np.ndarray,
        rng: np.random.Generator,
        rcs: RcsTable,
        illuminated: np.ndarray | None,
    ) -> tuple[PlotBatch, PlotTruth]:
        """Coverage test, one Swerling-1 look per candidate, noisy plots of the detections."""
        c = self.config
        r, az, el, rv = spherical(states[:, :3] - self.position_enu, states[:, 3:])
        ok = self.covers(r, az, el, times)
        if illuminated is not None:
            ok &= illuminated
        idx = np.flatnonzero(ok)
        snr = mean_snr(
            r[idx],
            rcs.lookup(ids[idx]),
            reference_snr=c.reference_snr,
            reference_range_m=c.reference_range_m,
            reference_rcs_m2=c.reference_rcs_m2,
        )
        detected, snr_db = look_swerling1(snr, c.pfa, rng)
        idx, snr_db = idx[detected], snr_db[detected]
        mr, maz, mel, mrv = noisy(r[idx], az[idx], el[idx], rv[idx], self.sigma, rng)
        t = times[idx]
        if c.bias is not None:  # a fault: every plot off by the same amounts from bias.from_s
            on = t >= c.bias.from_s
            mr = np.where(on, np.maximum(mr + c.bias.range_m, 1.0), mr)
            maz = np.where(on, np.mod(maz + c.bias.azimuth_mrad * 1e-3, TWO_PI), maz)
            mel = np.clip(np.where(on, mel + c.bias.elevation_mrad * 1e-3, mel),
                          -0.5 * np.pi, 0.5 * np.pi)
        plots = PlotBatch(
            t,
            np.full(idx.size, self.sensor_id, dtype=np.int32),
            mr,
            maz,
            mel,
            mrv,
            snr_db,
            t + c.latency_s,
        )
        return plots, PlotTruth(ids[idx], states[idx])

    def _rotating_looks(
        self, truth: TruthLike, t0: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, look times, states at the look times) of the rounds the beam passes."""
        period = self.config.revisit_s
        m = max(1, int(np.ceil(period / TRUTH_STEP_S - 1e-9)))
        grid = t0 + period * np.arange(m + 1) / m
        sampled = [truth.states_at(float(t)) for t in grid]
        all_ids = [np.asarray(i, dtype=np.int64) for i, _ in sampled]
        ids = np.unique(np.concatenate(all_ids)) if all_ids else np.zeros(0, dtype=np.int64)
        if ids.size == 0:
            return ids, np.zeros(0), np.zeros((0, 6))
        table = np.full((ids.size, m + 1, 6), np.nan)
        for j, (i, s) in enumerate(sampled):
            if len(i):
                table[np.searchsorted(ids, np.asarray(i, dtype=np.int64)), j] = np.asarray(
                    s, dtype=float
                ).reshape(-1, 6)
        omega = TWO_PI / period
        beam0 = np.radians(self.config.scan_start_deg) + omega * t0
        all_rows = np.arange(ids.size)

        def state_at(t: np.ndarray, rows: np.ndarray = all_rows) -> np.ndarray:
            j = np.clip(((t - t0) / period * m).astype(np.int64), 0, m - 1)
            return _hermite(grid[j], table[rows, j], grid[j + 1], table[rows, j + 1], t)

        def offset(t: np.ndarray, rows: np.ndarray = all_rows) -> np.ndarray:
            """Round azimuth minus beam azimuth at ``t``, wrapped to [-π, π)."""
            rel = state_at(t, rows)[:, :3] - self.position_enu
            az = np.arctan2(rel[:, 0], rel[:, 1])
            return np.mod(az - beam0 - omega * (t - t0) + np.pi, TWO_PI) - np.pi

        # The beam passes a round where the offset falls through zero (it falls by 2π per turn;
        # a jump up by ~2π is the wrap, not a pass). Find the first such sign change on a grid
        # of _FINE points per truth interval (all rounds and points in one evaluation), then
        # bisect it.
        fine = t0 + period * np.arange(_FINE * m + 1) / (_FINE * m)
        g = offset(np.tile(fine, ids.size), np.repeat(all_rows, fine.size)).reshape(
            ids.size, fine.size
        )
        passes = (g[:, :-1] > 0) & (g[:, 1:] <= 0) & (g[:, :-1] - g[:, 1:] < np.pi)
        found = np.any(passes, axis=1)
        j = np.argmax(passes, axis=1)
        lo, hi = fine[j], fine[np.minimum(j + 1, fine.size - 1)]
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            above = offset(mid) > 0
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        times = 0.5 * (lo + hi)
        states = state_at(times)
        seen = found & np.isfinite(states[:, 0])
        return ids[seen], times[seen], states[seen]

    def _false_plots(
        self,
        times: np.ndarray,
        r: np.ndarray,
        az: np.ndarray,
        el: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[PlotBatch, PlotTruth]:
        c = self.config
        n = times.shape[0]
        snr_db = false_alarm_snr_db(n, c.pfa, rng)
        if c.radial_velocity_sigma_mps is None:
            rv = np.full(n, np.nan)
        else:
            v = FALSE_ALARM_MAX_RADIAL_VELOCITY_MPS
            rv = rng.uniform(-v, v, n)
        keep = self.covers(r, np.mod(az, TWO_PI), el, times)
        plots = PlotBatch(
            times,
            np.full(n, self.sensor_id, dtype=np.int32),
            r,
            np.mod(az, TWO_PI),
            el,
            rv,
            snr_db,
            times + c.latency_s,
        ).take(keep)
        truth = PlotTruth(np.full(n, FALSE_ALARM_ID, dtype=np.int64), np.full((n, 6), np.nan))
        return plots, truth.take(keep)

    def _search_false_alarms(
        self, t0: float, rng: np.random.Generator
    ) -> tuple[PlotBatch, PlotTruth]:
        c = self.config
        n = int(rng.poisson(c.false_alarms_per_scan))
        if n == 0:
            return PlotBatch.empty(), PlotTruth.empty()
        r = rng.uniform(c.min_range_m, c.max_range_m, n)
        half = np.radians(c.sector_width_deg) / 2
        az = np.mod(np.radians(c.sector_center_deg) + rng.uniform(-half, half, n), TWO_PI)
        floor = self.elevation_floor_rad(az)
        top = np.radians(c.max_elevation_deg)
        el = floor + rng.random(n) * np.maximum(top - floor, 0.0)
        if c.scan == "rotating":
            omega = TWO_PI / c.revisit_s
            beam0 = np.radians(c.scan_start_deg) + omega * t0
            times = t0 + np.mod(az - beam0, TWO_PI) / omega
        else:
            times = np.full(n, t0)
        return self._false_plots(times, r, az, el, rng)

    def _cued_look(
        self,
        truth: TruthLike,
        t0: float,
        rng: np.random.Generator,
        rcs: RcsTable,
        cues: Cues | None,
    ) -> tuple[PlotBatch, PlotTruth]:
        c = self.config
        assert isinstance(c, FcrConfig)
        targets = np.zeros((0, 3)) if cues is None else cues.active(t0, c.cue_hold_s)
        if targets.shape[0] == 0:
            return PlotBatch.empty(), PlotTruth.empty()
        # Beam axes and range gates of the active cues.
        rel_cue = targets - self.position_enu
        r_cue = np.linalg.norm(rel_cue, axis=1)
        u_cue = rel_cue / np.maximum(r_cue, 1e-9)[:, None]
        cos_half = np.cos(np.radians(c.beamwidth_deg) / 2)
        ids, states = truth.states_at(t0)
        ids = np.asarray(ids, dtype=np.int64)
        states = np.asarray(states, dtype=float).reshape(-1, 6)
        rel = states[:, :3] - self.position_enu
        r = np.linalg.norm(rel, axis=1)
        u = rel / np.maximum(r, 1e-9)[:, None]
        in_beam = (u @ u_cue.T) >= cos_half
        in_gate = np.abs(r[:, None] - r_cue[None, :]) <= c.range_gate_m
        lit = np.any(in_beam & in_gate, axis=1)
        real = self._observe(ids, np.full(ids.shape[0], t0), states, rng, rcs, lit)
        # False alarms: Poisson per cued look, uniform in the gate and within the beam.
        counts = rng.poisson(c.false_alarms_per_scan, targets.shape[0])
        n = int(counts.sum())
        if n == 0:
            return real
        which = np.repeat(np.arange(targets.shape[0]), counts)
        _, az_c, el_c, _ = spherical(rel_cue[which], np.zeros((n, 3)))
        fr = r_cue[which] + rng.uniform(-c.range_gate_m, c.range_gate_m, n)
        rho = np.radians(c.beamwidth_deg) / 2 * np.sqrt(rng.random(n))
        phi = TWO_PI * rng.random(n)
        fel = el_c + rho * np.cos(phi)
        faz = az_c + rho * np.sin(phi) / np.maximum(np.cos(el_c), 1e-6)
        false = self._false_plots(np.full(n, t0), fr, faz, fel, rng)
        return concatenate_labelled([real, false])


# ---------------------------------------------------------------------------------------------
# All radars of a scenario
# ---------------------------------------------------------------------------------------------
def radar_seed(seed: int, name: str) -> np.random.SeedSequence:
    """The random stream of the radar called ``name`` under root ``seed``: a child of the root
    keyed by the name (CRC-32), so it does not depend on which other radars exist."""
    return np.random.SeedSequence(seed, spawn_key=(SENSOR_STREAM, zlib.crc32(name.encode())))


def radars_from_scenario(scenario: Scenario | ResolvedScenario) -> list[Radar]:
    """The scenario's radars in file order, ``sensor_id`` 1, 2, ... (file position)."""
    resolved = resolve(scenario)
    return [
        Radar(s.spec, index + 1, np.asarray(s.position_m, dtype=float))
        for index, s in enumerate(resolved.sensors)  # type: ignore[union-attr]
    ]


def simulate_plots(
    truth: TruthLike,
    radars: Scenario | ResolvedScenario | Sequence[Radar],
    *,
    seed: int | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    cues: Mapping[str, Cues] | None = None,
    truth_cues: bool = False,
    rcs: RcsTable | None = None,
) -> list[Scan]:
    """Every scan of every radar in ``[start_s, end_s)``, ordered by start time then sensor id.

    ``radars`` is a scenario (its radars; ``seed`` and ``end_s`` default to its seed and
    duration) or a list of radars (``seed`` and ``end_s`` required). Fire-control radars look
    only where cued: at the positions in ``cues[name]`` or, with ``truth_cues``, at every round
    in flight (a perfectly cued radar, an upper bound on what it can see); with neither they
    make no looks.
    """
    if isinstance(radars, Sequence):
        radar_list = list(radars)
        if seed is None or end_s is None:
            raise ValueError("simulate_plots: seed and end_s are required with a list of radars")
    else:
        scenario: Any = getattr(radars, "scenario", radars)
        radar_list = radars_from_scenario(radars)
        seed = scenario.seed if seed is None else seed
        end_s = scenario.duration_s if end_s is None else end_s
    rcs = RcsTable.from_truth(truth) if rcs is None else rcs
    scans: list[Scan] = []
    for radar in radar_list:
        rng = np.random.Generator(np.random.PCG64(radar_seed(int(seed), radar.name)))
        cached = _TruthCache(truth)
        given = None if cues is None else cues.get(radar.name)
        if radar.cued and given is None and not truth_cues:
            continue
        for t0 in radar.scan_starts(start_s, end_s):
            look_cues = given
            if radar.cued and truth_cues:
                look_cues = Cues.at(t0, cached.states_at(float(t0))[1][:, :3])
            plots, labels = radar.scan(cached, float(t0), rng, rcs=rcs, cues=look_cues)
            scans.append(
                Scan(radar.sensor_id, float(t0), float(t0) + radar.config.revisit_s, plots, labels)
            )
    scans.sort(key=lambda s: (s.start_s, s.sensor_id))
    return scans


def merge_scans(scans: Sequence[Scan], *, by: str = "time_s") -> tuple[PlotBatch, PlotTruth]:
    """All plots of ``scans`` in one batch sorted by ``by`` (``time_s`` or ``report_time_s``),
    with their truth labels row for row."""
    return concatenate_labelled([(s.plots, s.truth) for s in scans], by=by)
