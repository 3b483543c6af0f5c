"""The C2 engine: radar plots in, typed events out — tracking, prediction, warning, engagement.

Why it exists: every part of the kill chain (tracker, impact and origin prediction,
classification, zone warning, threat evaluation, fire control) is a kernel of its own; the engine
is the one object that runs them in order on each batch of plots and says what it decided, as
:mod:`counterram.events`. The simulator and the live plot stream drive the same engine, so a
decision taken in simulation is the decision the live engine takes on the same plots.

``Engine.step(now, plots) -> list[Event]`` is pure with respect to time and I/O: its only clock
is ``now`` and the plots' timestamps, it reads and writes nothing, and the same sequence of calls
gives the same events. (``time.perf_counter`` measures each stage's latency for
:attr:`Engine.latency`; the measurements never feed a decision.) A step runs the declared
stages of :mod:`counterram.stages` in order (``EngineConfig.stages``; a stage is added or replaced
by registering it and naming it there), each timed under its own name; the default ones:

1. **Screen** the plots: a plot with a non-finite field, an unknown sensor, a range ≤ 0 or
   beyond the plot reader's 1,000 km, a radial speed beyond its 10 km/s, an elevation beyond
   ±90°, one reported after ``now`` (not yet received) or measured more than the
   tracker's late tolerance before its clock is rejected and counted (one
   :class:`~counterram.events.PlotRejected` per reason and step); nothing raises.
2. **Track** (:class:`~counterram.tracking.tracker.Tracker`): confirmations and deletions become
   :class:`~counterram.events.TrackEvent`; every confirmed track also reports its state every
   ``track_report_interval_s``.
3. **Predict** (bounded cadence): a confirmed track, or a tentative one with at least
   ``min_updates_to_predict`` plots when the early-warning policy lets tentative tracks warn, is
   predicted when it has a new plot and its last prediction is ``prediction_interval_s`` old:
   classification (:func:`~counterram.prediction.classify.classify`, every
   ``classification_interval_s`` until ``classification_lock`` results in a row agree, then
   kept: late in the flight the classifier can flip between munitions of similar drag; at most
   ``classification_tracks_per_step`` re-checks per step, the stalest first, besides the tracks
   not yet classified: a salvo's tracks come due together), impact
   with the classified munition's drag (the track's β rewritten for that munition) by
   :class:`~counterram.prediction.incremental.IncrementalPredictor`: a full unscented flight
   when the last one's linearisation no longer holds (``impact_reflight``, at most
   ``max_full_per_step`` per step), else one flight of the mean with the carried covariance;
   and for confirmed tracks the origin every ``origin_interval_s``
   (:func:`~counterram.prediction.origin.origin_sigma_flights`, at most
   ``origin_tracks_per_step`` tracks per step, those without an origin first), reported only
   when more precise (smaller covariance trace) than the track's previous report: flying a
   late state back over the whole trajectory is less precise than an early one, so a track's
   origin is settled (no longer flown) at the first valid one that is not more precise
   (measured on the 100-round salvos of benchmarks/bench_engine.py: no report was ever made
   after that point; it saves 21 % of the rockets' origin flights and 48 % of the bombs').
4. **Warn** (:class:`~counterram.warning.warner.Warner` with the
   :class:`~counterram.warning.policy.EarlyWarningPolicy`): warnings, updates and all-clears per
   zone. A deleted track counts as *neutralised* (its zones clear after the margin) when it had
   been engaged, its last intercept time has passed and it disappeared before its predicted
   impact: the kill assessment of shoot-look-shoot, from the engine's own picture, not truth.
5. **Engage**: threat evaluation of the confirmed tracks against the defended assets
   (:func:`~counterram.engagement.threat.evaluate_threats`) and fire control
   (:meth:`~counterram.engagement.fire_control.FireControl.plan`, with each track's β rewritten
   for its munition by the offset of its latest prediction; the offset depends on the Mach
   number, which changes little between predictions): fire orders
   (:class:`~counterram.events.EngagementOrdered`, the orders themselves in
   :attr:`Engine.last_orders`) and gun status changes.
6. **Health** (:class:`~counterram.health.SensorHealthMonitor`): a search radar whose plots
   have stopped for longer than its background rate and tracks make plausible is reported
   ``silent``, its first plot after that ``recovered``
   (:class:`~counterram.events.SensorHealth`); the fire-control radars (``cued_sensors``) are
   not judged.

:meth:`Engine.cues` gives the confirmed tracks' predicted positions at any time, which the
simulator hands to the fire-control radars (a fire-control radar looks only where cued).

The cadences and budgets keep the per-step cost bounded under a salvo: a full prediction flies
15 sigma points per track and the classification flies every track back once per candidate
munition (6). docs/warning.md measures the incremental prediction against full flights;
docs/performance.md gives the per-stage latencies.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from counterram.engagement.collateral import PopulatedArea
from counterram.engagement.config import Gun, guns_from_scenario
from counterram.engagement.fire_control import (
    FireControl,
    FireControlConfig,
    FireOrder,
    TrackStates,
)
from counterram.engagement.threat import DefendedAssets, ThreatConfig, evaluate_threats
from counterram.events import (
    AllClear,
    Ellipse,
    Event,
    ImpactPredicted,
    OriginEstimated,
    PlotRejected,
    TrackEvent,
    WarningIssued,
)
from counterram.geo import Site
from counterram.health import SensorHealthMonitor
from counterram.physics.atmosphere import Atmosphere
from counterram.physics.catalogue import Catalogue, Munition, load_catalogue
from counterram.physics.wind import CALM, Wind
from counterram.prediction.classify import classify, rebase_drag_scale, threat_candidates
from counterram.prediction.ellipse import error_ellipse
from counterram.prediction.impact import (
    GroundPrediction,
    flight_impacts,
    impact_points,
    impact_sigma_flights,
    state_flights,
)
from counterram.prediction.incremental import IncrementalPredictor, ReflightPolicy
from counterram.prediction.origin import origin_sigma_flights
from counterram.prediction.tables import GroundPredictionTable, PathTable
from counterram.scenario.resolved import resolve
from counterram.sensors.plotio import MAX_RADIAL_VELOCITY_MPS, MAX_RANGE_M
from counterram.sensors.plots import PlotBatch, SensorInfo
from counterram.sensors.roster import Cues, SensorRoster
from counterram.stages import DEFAULT_STAGES, StepPicture, make_stages
from counterram.track_picture import TrackPicture
from counterram.tracking.lifecycle import TrackStatus
from counterram.tracking.tracker import (
    Tracker,
    TrackerConfig,
    TrackerOutput,
)
from counterram.warning import warner as wn
from counterram.warning.policy import EarlyWarningPolicy
from counterram.warning.zones import WarningZones

__all__ = [
    "PLOT_REJECT_REASONS",
    "STAGES",
    "Engine",
    "EngineConfig",
    "LatencyStats",
]

STAGES = (*DEFAULT_STAGES, "total")
"""The stages whose latency :attr:`Engine.latency` reports by default (with the configured
stages, theirs; ``total`` is the whole step)."""

PLOT_REJECT_REASONS = (
    "not_finite",
    "unknown_sensor",
    "out_of_range",
    "not_yet_reported",
    "too_late",
)
"""Why the engine rejects a plot (``PlotRejected.reason``)."""

_NEUTRALISED_REASONS = frozenset({"missed", "coasted", "diverged"})
_LATENCY_WINDOW = 100_000  # steps of latency kept (a day of 1 s steps is ~86k)


@dataclass(frozen=True)
class EngineConfig:
    """Engine settings (SI units); the kernels' own settings are nested.

    ``step_s`` is the step the simulator (and the live engine's grouping of a plot stream) uses;
    the engine itself accepts any increasing ``now``. ``stages``: the step's stages by
    registered name, in order (:mod:`counterram.stages`).
    """

    step_s: float = 0.5
    prediction_interval_s: float = 0.5
    classification_interval_s: float = 2.0
    classification_lock: int = 3
    origin_interval_s: float = 2.0
    track_report_interval_s: float = 1.0
    min_updates_to_predict: int = 3
    ellipse_probability: float = 0.9
    prediction_rtol: float = 1e-7
    origin_rtol: float = 1e-7
    classification_rtol: float = 1e-7
    impact_reflight: ReflightPolicy = field(default_factory=ReflightPolicy)
    origin_tracks_per_step: int = 2
    classification_tracks_per_step: int = 8
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    warner: wn.WarnerSettings = field(default_factory=wn.WarnerSettings)
    policy: EarlyWarningPolicy = field(default_factory=EarlyWarningPolicy)
    threat: ThreatConfig = field(default_factory=ThreatConfig)
    fire_control: FireControlConfig = field(default_factory=FireControlConfig)
    stages: tuple[str, ...] = DEFAULT_STAGES

    def __post_init__(self) -> None:
        for name in ("step_s", "prediction_interval_s", "classification_interval_s",
                     "origin_interval_s", "track_report_interval_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"EngineConfig.{name} must be a finite number > 0; got {v!r}")
        if self.min_updates_to_predict < 2:
            raise ValueError("EngineConfig.min_updates_to_predict must be >= 2")
        if not 0.0 < self.ellipse_probability < 1.0:
            raise ValueError("EngineConfig.ellipse_probability must be in (0, 1)")
        if self.origin_tracks_per_step < 0:
            raise ValueError("EngineConfig.origin_tracks_per_step must be >= 0 (0: no limit)")
        if self.classification_tracks_per_step < 0:
            raise ValueError(
                "EngineConfig.classification_tracks_per_step must be >= 0 (0: no limit)"
            )
        for name in ("prediction_rtol", "origin_rtol", "classification_rtol"):
            v = getattr(self, name)
            if not 1e-13 <= v <= 1e-5:
                raise ValueError(f"EngineConfig.{name} must be within [1e-13, 1e-5]; got {v!r}")


@dataclass(frozen=True)
class LatencyStats:
    """Wall-clock cost of one stage over the measured steps, in milliseconds."""

    steps: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


class Engine:
    """The C2 pipeline over a fixed site, sensors, zones, assets and guns (module docstring).

    Most users build it with :meth:`from_scenario`. ``sensors`` are what the engine knows of the
    radars (position, noise); ``sensor_revisit_s`` maps sensor ids to their revisit (the
    tracker's look clock).
    """

    def __init__(
        self,
        sensors: Sequence[SensorInfo],
        *,
        site: Site,
        zones: WarningZones,
        assets: DefendedAssets | None = None,
        guns: Sequence[Gun] = (),
        populated_areas: Sequence[PopulatedArea] = (),
        atmosphere: Atmosphere | None = None,
        wind: Wind = CALM,
        sensor_revisit_s: dict[int, float] | None = None,
        config: EngineConfig | None = None,
        catalogue: Catalogue | None = None,
        cued_sensors: Sequence[int] = (),
    ) -> None:
        cfg = config if config is not None else EngineConfig()
        if sensor_revisit_s:
            merged = {**sensor_revisit_s, **cfg.tracker.sensor_revisit_s}
            tracker_cfg = _replace(cfg.tracker, sensor_revisit_s=merged)
            cfg = _replace(cfg, tracker=tracker_cfg)
        self.config = cfg
        self.sensors = tuple(sensors)
        self.site = site
        self.zones = zones
        self.assets = assets
        self.atmosphere = atmosphere if atmosphere is not None else Atmosphere()
        self.wind = wind
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.candidates = threat_candidates(self.catalogue)
        self.tracker = Tracker(
            self.sensors, cfg.tracker, atmosphere=self.atmosphere, wind=self.wind
        )
        # the munition a track's β = 0 stands for (the tracker's own drag model)
        self.reference = self.tracker.drag.reference
        self.warner = wn.Warner(zones, cfg.warner)
        self.guns = tuple(guns)
        self.fire_control = (
            FireControl(
                self.guns, self.catalogue, self.atmosphere, self.wind, cfg.fire_control,
                populated_areas=populated_areas,
            )
            if self.guns and assets is not None and len(assets)
            else None
        )
        motion = self.tracker.motion
        self._impacts = IncrementalPredictor(cfg.impact_reflight, motion.transition_jacobian)
        self._latest_impact = GroundPredictionTable()
        self._paths: PathTable | None = None
        """Each track's path as its centre prediction flew it, on fire control's grid (when the
        two agree on the ground height), so that the engage stage does not fly it again."""
        fc = self.fire_control
        if fc is not None and fc.config.ground_height_m == cfg.tracker.ground_height_m:
            dt, span = fc.path_grid()
            self._paths = PathTable(dt, span + cfg.step_s)  # still whole one step later
        self._sensor_ids = np.array(sorted(s.sensor_id for s in self.sensors), dtype=np.int64)
        self.tracks = TrackPicture()
        """The tracks of the latest step: the tracker's rows and the engine's columns."""
        self._ended: set[int] = set()
        self.time_s = -math.inf
        self.steps = 0
        self.last_orders: list[FireOrder] = []
        """The fire orders of the latest step (the simulator's outcome model reads them)."""
        self.rejected: Counter[str] = Counter()
        """Plots rejected so far, by reason (:data:`PLOT_REJECT_REASONS`)."""
        self.plots_accepted = 0
        self.last_plot_track_id = np.zeros(0, dtype=np.int64)
        """Aligned with the latest step's input plots: the track that used each one (−1: none,
        or rejected); the wall-clock driver times its warnings by it (docs/running.md)."""
        self._kept = np.zeros(0, dtype=np.int64)
        self.last_latency_s: dict[str, float] = {}
        """Wall-clock seconds of each stage of the latest step."""
        self.health = SensorHealthMonitor(
            self.sensors, self.config.tracker.sensor_revisit_s, cued_sensors
        )
        """Which radars are silent (the ``health`` stage)."""
        self.stages = make_stages(self, tuple(cfg.stages))
        """The step's stages in order (:mod:`counterram.stages`; ``EngineConfig.stages``)."""
        self._latency: dict[str, deque[float]] = {
            s: deque(maxlen=_LATENCY_WINDOW) for s in (*(st.name for st in self.stages), "total")
        }

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_scenario(cls, scenario: Any, config: EngineConfig | None = None) -> Engine:
        """The engine of a scenario (a :class:`~counterram.scenario.Scenario` or its resolved
        form): its radars (ids 1, 2, ... in file order), zones, assets, guns, populated areas,
        atmosphere and wind. Without ``config`` the step is the fastest search radar's revisit
        (at most 1 s)."""
        world = resolve(scenario)
        roster = SensorRoster.from_scenario(world)
        if config is None:
            config = EngineConfig(step_s=roster.default_step_s)
        populated = [
            PopulatedArea(p.area.polygon, p.density_per_m2 * 1e6, p.name) for p in world.populated
        ]
        return cls(
            list(roster.infos),
            site=world.site,
            zones=WarningZones.from_scenario(world),
            assets=DefendedAssets.from_scenario(world) if world.assets else None,
            guns=guns_from_scenario(world),
            populated_areas=populated,
            atmosphere=world.atmosphere(),
            wind=world.wind(),
            sensor_revisit_s=dict(roster.revisit_s),
            config=config,
            cued_sensors=tuple(roster.cued),
        )

    # ------------------------------------------------------------------ public API
    @property
    def latency(self) -> dict[str, LatencyStats]:
        """Per-stage wall-clock latency over the steps so far (:data:`STAGES`)."""
        out = {}
        for stage, values in self._latency.items():
            a = np.asarray(values, dtype=float) * 1e3
            if a.size == 0:
                out[stage] = LatencyStats(0, math.nan, math.nan, math.nan, math.nan)
            else:
                out[stage] = LatencyStats(
                    int(a.size), float(np.percentile(a, 50)), float(np.percentile(a, 99)),
                    float(a.max()), float(a.mean()),
                )
        return out

    @property
    def confirmed_track_ids(self) -> tuple[int, ...]:
        return tuple(self.tracks.track_id[self.tracks.confirmed].tolist())

    @property
    def quiet(self) -> bool:
        """No confirmed track, no warned zone and no burst awaiting its kill assessment."""
        pending = self.fire_control is not None and bool(
            self.fire_control.under_fire(self.time_s)
        )
        return not self.confirmed_track_ids and not self.warner.warned_zones and not pending

    def cues(self, time_s: float) -> Cues:
        """Where the confirmed tracks are predicted to be at ``time_s`` (for fire-control radars),
        with the tracks' own motion model."""
        out, confirmed = self.tracks.rows, self.tracks.confirmed
        if out is None or not confirmed.any():
            return Cues(np.zeros(0), np.zeros((0, 3)))
        dt = float(time_s) - out.state_time_s[confirmed]
        pos = self.tracker.motion.transition(out.x[confirmed], dt)[:, :3]
        return Cues.at(time_s, pos)

    def step(self, now: float, plots: PlotBatch | None = None) -> list[Event]:
        """Process the plots reported by ``now`` and return the events of this step."""
        t = float(now)
        if not math.isfinite(t):
            raise ValueError(f"Engine.step: now must be finite; got {now!r}")
        if t < self.time_s:
            raise ValueError(f"Engine.step: now must not go backwards ({t} after {self.time_s})")
        plots = PlotBatch.empty() if plots is None else plots
        clock = time.perf_counter
        picture = StepPicture(t, plots)
        if self.steps == 0 and self.fire_control is not None:
            picture.events.extend(self.fire_control.initial_status(t))
        last: dict[str, float] = {}
        self._kept = np.arange(len(plots), dtype=np.int64)  # the screen narrows it
        start = mark = clock()
        for stage in self.stages:
            stage.step(picture)
            now_mark = clock()
            last[stage.name] = now_mark - mark
            mark = now_mark
        last["total"] = mark - start
        self.last_orders = picture.orders
        used = np.full(len(plots), -1, dtype=np.int64)
        if picture.tracks is not None and len(picture.tracks.plot_track_id) == len(self._kept):
            used[self._kept] = picture.tracks.plot_track_id
        self.last_plot_track_id = used

        self.time_s = t
        self.steps += 1
        for stage_name, seconds in last.items():
            self._latency[stage_name].append(seconds)
        self.last_latency_s = last
        return picture.events

    # ------------------------------------------------------------------ stages
    def screen(self, t: float, plots: PlotBatch, events: list[Event]) -> PlotBatch:
        n = len(plots)
        self._kept = np.arange(n, dtype=np.int64)
        if n == 0:
            return plots
        reason = np.full(n, "", dtype=object)
        finite = (
            np.isfinite(plots.time_s)
            & np.isfinite(plots.range_m)
            & np.isfinite(plots.azimuth_rad)
            & np.isfinite(plots.elevation_rad)
            & np.isfinite(plots.snr_db)
            & np.isfinite(plots.report_time_s)  # type: ignore[arg-type]
            & ~np.isinf(plots.radial_velocity_mps)
        )
        reason[~finite] = "not_finite"
        known = np.isin(np.asarray(plots.sensor_id, dtype=np.int64), self._sensor_ids)
        reason[(reason == "") & ~known] = "unknown_sensor"
        with np.errstate(invalid="ignore"):
            # the plot reader's bounds, for plots handed to the engine directly
            bad = (
                (plots.range_m <= 0) | (plots.range_m > MAX_RANGE_M)
                | (np.abs(plots.elevation_rad) > 0.5 * np.pi)
                | (np.abs(plots.radial_velocity_mps) > MAX_RADIAL_VELOCITY_MPS)
            )
            future = (plots.report_time_s > t) | (plots.time_s > t)  # type: ignore[operator]
            late = plots.time_s < self.tracker.time_s - self.config.tracker.late_tolerance_s
        reason[(reason == "") & bad] = "out_of_range"
        reason[(reason == "") & future] = "not_yet_reported"
        reason[(reason == "") & late] = "too_late"
        ok = reason == ""
        if not ok.all():
            counts = Counter(reason[~ok].tolist())
            for r in PLOT_REJECT_REASONS:
                if counts[r]:
                    first = int(np.flatnonzero(reason == r)[0])
                    detail = (
                        f"e.g. sensor {int(plots.sensor_id[first])} at t={plots.time_s[first]!r}"
                    )
                    events.append(PlotRejected(time_s=t, reason=r, count=counts[r], detail=detail))
                    self.rejected[r] += counts[r]
        self.plots_accepted += int(ok.sum())
        if ok.all():
            return plots
        self._kept = np.flatnonzero(ok)
        return plots.take(self._kept)

    def track_events(
        self, t: float, out: TrackerOutput, events: list[Event]
    ) -> list[tuple[int, str]]:
        picture = self.tracks
        picture.advance(out)
        deleted: list[tuple[int, str]] = []
        for ev in out.events:
            tid = int(ev.track_id)
            if ev.kind not in ("confirmed", "deleted"):
                continue
            found = picture.find(tid)
            if found is None:
                continue  # born and ended within the step
            rows, columns, i = found
            if ev.kind == "confirmed":
                events.append(self._track_event(t, tid, rows, i, "confirmed"))
                columns["reported_s"][i] = t
            else:
                if rows.status[i] == TrackStatus.CONFIRMED or columns["predicted_s"][i] > -math.inf:
                    events.append(self._track_event(t, tid, rows, i, "deleted", reason=ev.reason))
                deleted.append((tid, ev.reason))
        live = set(out.track_id.tolist()) if deleted else set()
        for tid, _ in deleted:
            if tid not in live:
                self._ended.add(tid)
        if deleted and self.fire_control is not None:
            self.fire_control.end_tracks([tid for tid, _ in deleted])
        return deleted

    def _track_event(
        self, t: float, tid: int, rows: TrackerOutput, i: int, status: str, *,
        reason: str = "", update: bool = False, x: np.ndarray | None = None,
        sigma: float | None = None,
    ) -> TrackEvent:
        state = rows.x[i] if x is None else x
        if sigma is None:
            sigma = float(np.sqrt(max(np.linalg.eigvalsh(rows.P[i, :3, :3])[-1], 0.0)))
        return TrackEvent(
            time_s=t,
            track_id=tid,
            status=status,
            position_enu=_triple(state[:3]),
            velocity_enu=_triple(state[3:6]),
            position_sigma_m=sigma,
            updates=int(rows.n_updates[i]),
            reason=reason,
            update=update,
            sensors=0 if rows.sensor_mask is None else int(rows.sensor_mask[i]).bit_count(),
        )

    def predict(self, t: float, out: TrackerOutput, events: list[Event]) -> list[int]:
        """Predict the tracks that are due; returns their ids (in tracker row order)."""
        cfg = self.config
        col = self.tracks.col
        confirmed_all = out.status == TrackStatus.CONFIRMED
        eligible = confirmed_all
        if cfg.policy.uses_tentative:
            eligible = eligible | (out.n_updates >= cfg.min_updates_to_predict)
        due_mask = (
            eligible
            & (out.state_time_s > col("predicted_state_s"))  # a new plot since the last one
            & (t - col("predicted_s") >= cfg.prediction_interval_s - 1e-9)
        )
        if not due_mask.any():
            return []
        due_mask &= np.isfinite(out.x).all(axis=1) & np.isfinite(out.P).all(axis=(1, 2))
        due = np.flatnonzero(due_mask)
        if due.size == 0:
            return []
        ids = out.track_id[due].tolist()
        x, P, ts = out.x[due], out.P[due], out.state_time_s[due]
        munition, threat_class = col("munition"), col("threat_class")
        same_class, classified_s = col("same_class"), col("classified_s")
        new = due[munition[due] == ""]
        again = due[
            (munition[due] != "") & (same_class[due] < cfg.classification_lock)
            & (t - classified_s[due] >= cfg.classification_interval_s - 1e-9)
        ]
        room = cfg.classification_tracks_per_step - new.size
        if cfg.classification_tracks_per_step and again.size > max(room, 0):
            # a salvo's tracks come due together every interval: the stalest checks first, the
            # rest next step (a track without a munition is always classified)
            by_age = np.argsort(classified_s[again], kind="stable")
            again = np.sort(again[by_age[: max(room, 0)]])
        need = np.union1d(new, again)
        if need.size:
            k = np.searchsorted(due, need)
            c = classify(
                x[k], P[k], ts[k], self.reference, candidates=self.candidates,
                atmosphere=self.atmosphere, wind=self.wind,
                ground_height_m=cfg.tracker.ground_height_m, rtol=cfg.classification_rtol,
            )
            names = np.array(c.munition, dtype=object)
            same_class[need] = np.where(names == munition[need], same_class[need] + 1, 1)
            munition[need] = names
            threat_class[need] = np.array(c.kind, dtype=object)
            classified_s[need] = t
        names = tuple(munition[due].tolist())
        munitions = [self.catalogue.get(name) for name in names]
        xb = rebase_drag_scale(
            x, self.reference, munitions, atmosphere=self.atmosphere, wind=self.wind
        )
        env = {"atmosphere": self.atmosphere, "wind": self.wind,
               "ground_height_m": cfg.tracker.ground_height_m}
        impact = self._impacts.predict(
            t, np.array(ids), x, P, ts, names,
            lambda r: impact_sigma_flights(xb[r], P[r], ts[r], [munitions[k] for k in r],
                                           rtol=cfg.prediction_rtol, **env),
            lambda r: self._centre_impacts(t, np.asarray(ids)[r], xb[r], ts[r],
                                           [munitions[k] for k in r], env),
        )
        confirmed = confirmed_all[due]
        may_warn, _ = cfg.policy.select(t, impact, confirmed)
        announce = np.flatnonzero(impact.valid & may_warn)
        if announce.size:
            self._impact_events(t, ids, due, impact, announce, events)
        self._latest_impact.put(ids, impact, t)
        col("predicted_s")[due] = t
        col("predicted_state_s")[due] = ts
        col("beta_offset")[due] = xb[:, 6] - x[:, 6]
        origin_s = col("origin_s")
        origin_rows = np.flatnonzero(
            confirmed & ~col("origin_settled")[due]
            & (t - origin_s[due] >= cfg.origin_interval_s - 1e-9)
        )
        if cfg.origin_tracks_per_step and origin_rows.size > cfg.origin_tracks_per_step:
            # under a salvo: tracks without an origin first, then the stalest
            by_age = np.argsort(origin_s[due[origin_rows]], kind="stable")
            origin_rows = np.sort(origin_rows[by_age[: cfg.origin_tracks_per_step]])
        if origin_rows.size:
            origin = origin_sigma_flights(
                xb[origin_rows], P[origin_rows], ts[origin_rows],
                [munitions[k] for k in origin_rows.tolist()], rtol=cfg.origin_rtol, **env,
            ).prediction()
            self._origin_events(t, [ids[k] for k in origin_rows.tolist()], due[origin_rows],
                                origin, events)
            origin_s[due[origin_rows]] = t
        return ids

    def _centre_impacts(
        self, t: float, ids: np.ndarray, xb: np.ndarray, ts: np.ndarray,
        munitions: list[Munition], env: dict[str, Any],
    ) -> np.ndarray:
        """Impact points of tracks' centre states; with a path table, the same flights sampled
        on fire control's grid from ``t`` and kept for the engage stage."""
        rtol = self.config.prediction_rtol
        if self._paths is None:
            return impact_points(xb, ts, munitions, rtol=rtol, **env)
        flight = state_flights(
            xb, ts, munitions, rtol=rtol, sample_dt_s=self._paths.dt_s,
            sample_from_s=np.maximum(t - ts, 0.0), sample_span_s=self._paths.span_s, **env,
        )
        self._paths.put(ids, t, ts, flight.samples)
        return flight_impacts(flight)

    def _geodetic(self, en: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # ground points' latitude and longitude: one fixed-point step leaves them within
        # 0.1 µm (40 km from the site), far below the events' 7 decimals (~1 cm)
        lat, lon, _ = self.site.from_site(en[:, 0], en[:, 1], 0.0, iterations=1)
        return np.atleast_1d(lat), np.atleast_1d(lon)

    def _ground_fields(self, g: GroundPrediction, rows: np.ndarray) -> list[dict[str, Any]]:
        """The fields impact and origin events share, for the selected rows of a prediction:
        mean, covariance, error ellipse and latitude/longitude."""
        ell = error_ellipse(g.cov_en[rows], self.config.ellipse_probability)
        lat, lon = self._geodetic(g.mean_en[rows])
        return [
            {
                "covariance_m2": _cov(g.cov_en[k]),
                "ellipse": Ellipse(float(ell.semi_major_m[a]), float(ell.semi_minor_m[a]),
                                   float(ell.orientation_deg[a]), ell.probability),
                "latitude_deg": float(lat[a]),
                "longitude_deg": float(lon[a]),
            }
            for a, k in enumerate(rows.tolist())
        ]

    def _impact_events(
        self, t: float, ids: list[int], rows: np.ndarray, g: GroundPrediction,
        announce: np.ndarray, events: list[Event],
    ) -> None:
        """Impact events of the ``announce`` entries of ``g`` (tracks ``ids``, picture rows
        ``rows``)."""
        threat_class, munition = self.tracks.col("threat_class"), self.tracks.col("munition")
        shared = self._ground_fields(g, announce)
        for k, fields in zip(announce.tolist(), shared, strict=True):
            events.append(ImpactPredicted(
                time_s=t,
                track_id=ids[k],
                impact_en=_pair(g.mean_en[k]),
                impact_time_s=float(g.time_s[k]),
                impact_time_sigma_s=float(g.time_sigma_s[k]),
                threat_class=threat_class[rows[k]],
                munition=munition[rows[k]],
                **fields,
            ))

    def _origin_events(
        self, t: float, ids: list[int], rows: np.ndarray, g: GroundPrediction,
        events: list[Event],
    ) -> None:
        """Origin events of the tracks ``ids`` (picture rows ``rows``) whose origin ``g`` is
        better than the one reported."""
        col = self.tracks.col
        trace = np.einsum("nii->n", g.cov_en)
        best = col("origin_trace_m2")
        better = trace < best[rows]
        # a later state flown back over a longer path is less precise: once a valid origin is
        # no better than the one reported, the track's origin is settled
        col("origin_settled")[rows[g.valid & ~better]] = True
        report = np.flatnonzero(g.valid & better)
        if report.size == 0:
            return
        best[rows[report]] = trace[report]
        threat_class, munition = col("threat_class"), col("munition")
        shared = self._ground_fields(g, report)
        for k, fields in zip(report.tolist(), shared, strict=True):
            events.append(OriginEstimated(
                time_s=t,
                track_id=ids[k],
                origin_en=_pair(g.mean_en[k]),
                launch_time_s=float(g.time_s[k]),
                threat_class=threat_class[rows[k]],
                munition=munition[rows[k]],
                **fields,
            ))

    def warn(
        self, t: float, fresh: list[int], deleted: list[tuple[int, str]], events: list[Event],
    ) -> None:
        """Warnings, updates and all-clears of this step (the ``warn`` stage): the deleted tracks
        end (neutralised or lost), the freshly predicted ones update the zones."""
        records: list[wn.WarningRecord] = []
        if deleted:
            killed, lost = [], []
            last, have = self._latest_impact.get([tid for tid, _ in deleted])
            impact_times = np.where(have, last.time_s, math.inf).tolist()
            for (tid, reason), impact_s in zip(deleted, impact_times, strict=True):
                found = self.tracks.find(tid)
                if (found is not None and reason in _NEUTRALISED_REASONS
                        and found[1]["intercept_s"][found[2]] <= t < impact_s):
                    killed.append(tid)
                else:
                    lost.append(tid)
            if killed:
                records.extend(self.warner.end_tracks(t, killed, neutralised=True))
            if lost:
                records.extend(self.warner.end_tracks(t, lost, neutralised=False))
        cfg = self.config
        if fresh:
            g, _ = self._latest_impact.get(fresh)
            confirmed = self._is_confirmed(fresh)
            mask, inflated = cfg.policy.select(t, g, confirmed)
            rows = np.flatnonzero(mask & g.valid)
            if rows.size:
                records.extend(self.warner.update(
                    t, [fresh[k] for k in rows], inflated.take(rows), confirmed=confirmed[rows]
                ))
            else:
                records.extend(self.warner.advance(t))
        else:
            records.extend(self.warner.advance(t))
        if records:
            tentative = self.tracks.unconfirmed_ids()
            events.extend(self._warning_event(r, tentative) for r in records)
        if self._ended:
            ended = list(self._ended)
            self._impacts.drop(ended)
            self._latest_impact.drop(ended)
            if self._paths is not None:
                self._paths.drop(ended)
            self._ended.clear()

    def _warning_event(self, r: wn.WarningRecord, tentative: set[int]) -> Event:
        """The event of a warner record; ``tentative``: the ids of this step's unconfirmed
        tracks (a warning on one of them is an early warning)."""
        if isinstance(r, wn.AllClear):
            return AllClear(time_s=r.time_s, zone=r.zone, released=r.released)
        ids = tuple(int(i) for i in r.track_ids)  # type: ignore[call-overload]
        early = not tentative.isdisjoint(ids)
        return WarningIssued(
            time_s=r.time_s,
            zone=r.zone,
            track_ids=ids,
            probability=float(r.probability),
            predicted_impact_time_s=float(r.predicted_impact_time_s),
            update=isinstance(r, wn.WarningUpdated),
            early=early,
        )

    def _is_confirmed(self, ids: list[int]) -> np.ndarray:
        """Whether each of the tracks ``ids`` (live in this step's picture) is confirmed."""
        rows = self.tracks.rows_of(ids)
        return (rows >= 0) & self.tracks.confirmed[np.maximum(rows, 0)]

    def engage(self, t: float, out: TrackerOutput, events: list[Event]) -> list[FireOrder]:
        fc = self.fire_control
        if fc is None or self.assets is None:
            return []
        col = self.tracks.col
        rows = np.flatnonzero(out.status == TrackStatus.CONFIRMED)
        g, have = self._latest_impact.get(out.track_id[rows])
        keep = np.flatnonzero(have & (col("munition")[rows] != ""))
        if keep.size < rows.size:
            rows, g = rows[keep], g.take(keep)
        ids = out.track_id[rows].tolist()
        if rows.size:
            threats = evaluate_threats(
                t, np.array(ids, dtype=np.int64), g.mean_en, g.cov_en, g.time_s, self.assets,
                self.config.threat, valid=g.valid,
            )
            xb = out.x[rows]
            xb[:, 6] += col("beta_offset")[rows]
            state_s = out.state_time_s[rows]
            path = has_path = None
            if self._paths is not None:
                dt, span = fc.path_grid()
                path, has_path = self._paths.get(
                    ids, t, state_s, int(np.floor(span / dt + 1e-9)) + 1
                )
            tracks = TrackStates(
                np.array(ids, dtype=np.int64), state_s, xb, out.P[rows],
                tuple(col("munition")[rows].tolist()), path=path, has_path=has_path,
            )
        else:
            threats = evaluate_threats(
                t, np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros((0, 2, 2)), np.zeros(0),
                self.assets, self.config.threat,
            )
            tracks = TrackStates(
                np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 7)), np.zeros((0, 7, 7)), ()
            )
        orders, status = fc.plan(t, threats, tracks)
        for o in orders:
            events.append(o.to_event())
            found = self.tracks.find(int(o.track_id))
            if found is not None:
                intercept_s = found[1]["intercept_s"]
                intercept_s[found[2]] = max(intercept_s[found[2]], float(o.intercept_time_s))
        events.extend(status)
        return orders

    def report_states(self, t: float, out: TrackerOutput, events: list[Event]) -> None:
        reported = self.tracks.col("reported_s")
        due = np.flatnonzero(
            (out.status == TrackStatus.CONFIRMED)
            & (t - reported >= self.config.track_report_interval_s - 1e-9)
        )
        if due.size == 0:
            return
        now_x = self.tracker.motion.transition(out.x[due], t - out.state_time_s[due])
        # the largest position σ of every due track in one batched eigen-decomposition
        sigma = np.sqrt(np.maximum(np.linalg.eigvalsh(out.P[due, :3, :3])[:, -1], 0.0)).tolist()
        for k, i in enumerate(due.tolist()):
            events.append(self._track_event(
                t, int(out.track_id[i]), out, i, "confirmed", update=True, x=now_x[k],
                sigma=sigma[k],
            ))
        reported[due] = t


# ---------------------------------------------------------------------- helpers
def _replace(obj: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(obj, **changes)


def _triple(v: np.ndarray) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))


def _pair(v: np.ndarray) -> tuple[float, float]:
    return (float(v[0]), float(v[1]))


def _cov(c: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    return ((float(c[0, 0]), float(c[0, 1])), (float(c[1, 0]), float(c[1, 1])))
