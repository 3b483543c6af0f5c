"""The discrete-time simulator: world truth → radars → engine → guns → outcomes, step by step.

Why it exists: the engine only sees plots; to measure it (warning times, intercepts, leakers,
collateral) something must fly the rounds, look at them with the radars, carry out the engine's
fire orders and decide what they did. :func:`simulate` does that in steps of the engine's
``step_s`` (the fastest search radar's revisit by default, 0.5 s for the built-in scenarios):

1. bursts whose intercept time falls in the step are resolved against the truth
   (:func:`counterram.engagement.outcome.resolve_burst`): the target is the live round nearest to
   the ordered intercept point at the intercept time; a killed round leaves the world at that
   time (radars stop seeing it, plots of it measured later and not yet delivered are dropped, it
   never impacts) and its debris is recorded (:class:`~counterram.events.EngagementOutcome`);
2. truth events of the step: launches (:class:`~counterram.events.RoundLaunched`) and impacts
   of the rounds still flying (:class:`~counterram.events.RoundImpacted`);
3. every search radar's scans that start in the step, and every fire-control radar look, cued at
   the engine's predicted positions of its confirmed tracks (:meth:`Engine.cues`);
4. the plots reported by the end of the step go to :meth:`Engine.step`, through the plot file
   format (written and read back with :mod:`counterram.sensors.plotio`), so the engine receives
   exactly what a recorded ``plots.jsonl`` replays to the live engine, bit for bit;
5. the step's fire orders wait for their intercept time.

The run ends when every round has impacted or been killed, no burst is pending and no zone is
warned any more (all-clears given), plus ``end_margin_s``; or at the scenario's ``duration_s``.

Determinism: the truth uses ``SeedSequence(seed, spawn_key=(0,))``, each radar its own stream
keyed by its name (:func:`counterram.sensors.radar.radar_seed`) and the burst outcomes
``SeedSequence(seed, spawn_key=(OUTCOME_STREAM,))``; the engine draws nothing. The same scenario
and seed therefore give the same events, byte for byte.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from counterram.engagement.fire_control import FireOrder
from counterram.engagement.outcome import BurstOutcome, resolve_burst
from counterram.engine import Engine, EngineConfig
from counterram.events import Event, RoundImpacted, RoundLaunched
from counterram.physics.catalogue import load_catalogue
from counterram.scenario.resolved import ResolvedScenario, resolve
from counterram.sensors.detection import RcsTable
from counterram.sensors.plotio import PlotReader, header_line, plot_lines
from counterram.sensors.plots import PlotBatch, PlotTruth, concatenate_labelled
from counterram.sensors.radar import Radar, radar_seed, radars_from_scenario
from counterram.world import Truth, build_truth

__all__ = ["OUTCOME_STREAM", "RESOLVE_GATE_M", "SimulationResult", "StepCallback", "simulate"]

OUTCOME_STREAM = 1
"""Spawn key of the burst-outcome random stream (the truth's is 0, radars use their own)."""

RESOLVE_GATE_M = 50.0
"""A burst is resolved against the live round nearest its intercept point only within this
distance (m); farther, it was fired at nothing. A 20 mm burst cannot kill a round tens of metres
from its aim point (its rounds spread a few metres at 2 km), so the gate decides no kill: it only
keeps a burst at a ghost from being scored against an unrelated round."""

StepCallback = Callable[[float, list[Event], list[str]], None]
"""Called after every step with (time, the step's events, the step's plot lines)."""


@dataclass
class SimulationResult:
    """A finished simulation.

    ``events`` in log order (per step: the step's truth events by time, then the engine's);
    ``plot_lines`` the plots the engine received, as JSON lines in delivery order (with
    ``plots_header`` first they make a plot file the live engine replays), ``plots`` and
    ``plot_labels`` the same as arrays with their true round ids; ``detections`` (R,) plots per
    round delivered to the engine; ``kill_time_s`` (R,) when each round was killed (NaN:
    not killed); ``outcomes`` every resolved burst.
    """

    scenario: ResolvedScenario
    seed: int
    truth: Truth
    engine: Engine
    events: list[Event]
    step_s: float
    end_time_s: float
    wall_time_s: float
    detections: np.ndarray
    kill_time_s: np.ndarray
    outcomes: list[BurstOutcome] = field(default_factory=list)
    plots_header: str = ""
    plot_lines: list[str] = field(default_factory=list)
    plots: PlotBatch | None = None
    plot_labels: PlotTruth | None = None

    @property
    def name(self) -> str:
        return self.scenario.scenario.name

    def first_detection_s(self) -> np.ndarray:
        """(R,) when each round's first plot was measured by any radar (NaN: never seen): the
        start of the time a warning for it could have had."""
        first = np.full(len(self.truth), np.nan)
        if self.plots is not None and self.plot_labels is not None:
            ids = self.plot_labels.round_id
            seen = ids >= 0
            np.fmin.at(first, ids[seen], self.plots.time_s[seen])
        return first


class _LiveTruth:
    """The truth as the radars see it: killed rounds vanish from their kill time on."""

    def __init__(self, truth: Truth, kill_time_s: np.ndarray) -> None:
        self.truth = truth
        self.kill_time_s = kill_time_s
        self.round_id = truth.round_id
        self.munition = truth.munition
        self._memo: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def states_at(self, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        key = round(float(time_s), 9)
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) > 64:
                self._memo.clear()
            ids, states = self.truth.states_at(float(time_s))
            alive = ~(self.kill_time_s[ids] <= time_s)
            hit = (ids[alive], states[alive])
            self._memo[key] = hit
        return hit

    def forget(self) -> None:
        """Drop memoised states (after a kill changes who is alive)."""
        self._memo.clear()


def simulate(
    scenario: Any,
    seed: int | None = None,
    progress: Callable[[float, float], None] | None = None,
    *,
    config: EngineConfig | None = None,
    on_step: StepCallback | None = None,
    on_start: Callable[[str], None] | None = None,
    record_plots: bool = True,
    end_margin_s: float = 5.0,
) -> SimulationResult:
    """Simulate a scenario (a name, :class:`~counterram.scenario.Scenario` or resolved) with the
    engine in the loop; see the module docstring.

    ``seed`` None uses the scenario's. ``progress(time_s, expected_end_s)`` is called after each
    step; ``on_step(time_s, events, plot_lines)`` too (for writing logs as the run goes), after
    ``on_start(plots_header)`` once before the first step.
    """
    started = time.perf_counter()
    if isinstance(scenario, str):
        from counterram.scenario import load_scenario

        scenario = load_scenario(scenario)
    world: ResolvedScenario = resolve(scenario)
    if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    root = int(world.scenario.seed if seed is None else seed)
    truth = build_truth(world, seed=root)
    engine = Engine.from_scenario(world, config)
    step = engine.config.step_s
    catalogue = load_catalogue()
    radars = radars_from_scenario(world)
    infos = [r.info for r in radars]
    rngs = {r.name: np.random.Generator(np.random.PCG64(radar_seed(root, r.name))) for r in radars}
    outcome_rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(root, spawn_key=(OUTCOME_STREAM,)))
    )
    rcs = RcsTable.from_truth(truth)
    n = len(truth)
    kill_time = np.full(n, np.nan)
    live = _LiveTruth(truth, kill_time)
    detections = np.zeros(n, dtype=np.int64)
    duration = float(world.scenario.duration_s)
    header = header_line(
        infos, scenario=world.scenario.name, seed=root, step_s=step, start_s=0.0
    )
    guns = {g.name: g for g in engine.guns}
    populated = engine.fire_control.populated_areas if engine.fire_control is not None else ()

    events: list[Event] = []
    lines_all: list[str] = []
    delivered: list[tuple[PlotBatch, PlotTruth]] = []
    outcomes: list[BurstOutcome] = []
    pending: list[FireOrder] = []
    buffer: list[tuple[PlotBatch, PlotTruth]] = []
    launched_upto = 0
    impacts_order = np.argsort(truth.impact_time_s, kind="stable")
    impact_ptr = 0
    last_flight_end = float(truth.impact_time_s.max()) if n else 0.0
    expected_end = min(duration, last_flight_end + engine.config.warner.all_clear_margin_s + 15.0)
    quiet_since = math.nan
    if on_start is not None:
        on_start(header)
    k = 0
    t1 = 0.0
    while True:
        k += 1
        t0, t1 = (k - 1) * step, k * step
        truth_events: list[Event] = []
        # 1. bursts reaching their intercept in this step
        due = sorted((o for o in pending if o.intercept_time_s <= t1),
                     key=lambda o: (o.intercept_time_s, o.gun, o.track_id))
        if due:
            pending = [o for o in pending if o.intercept_time_s > t1]
            for order in due:
                out = _resolve(order, truth, kill_time, outcome_rng, guns, catalogue, world,
                               populated)
                outcomes.append(out)
                if out.killed:
                    kill_time[out.round_id] = out.intercept_time_s
                    live.forget()
                truth_events.append(out.to_event())
            buffer = [_drop_killed(b, kill_time) for b in buffer]
        # 2. launches and impacts in (t0, t1]
        while launched_upto < n and truth.launch_time_s[launched_upto] <= t1:
            r = launched_upto
            truth_events.append(RoundLaunched(
                time_s=float(truth.launch_time_s[r]), round_id=int(r),
                munition=str(truth.munition[r]), launch_enu=_triple(truth.launch_enu[r]),
                aim_enu=_triple(truth.aim_enu[r]),
            ))
            launched_upto += 1
        while impact_ptr < n and truth.impact_time_s[impacts_order[impact_ptr]] <= t1:
            r = int(impacts_order[impact_ptr])
            impact_ptr += 1
            if kill_time[r] <= truth.impact_time_s[r]:
                continue
            truth_events.append(RoundImpacted(
                time_s=float(truth.impact_time_s[r]), round_id=r,
                impact_enu=_triple(truth.impact_enu[r]), assets=truth.impact_assets[r],
                zones=truth.impact_zones[r], populated_areas=truth.impact_populated[r],
            ))
        truth_events.sort(key=_truth_order)
        # 3. radar looks starting in [t0, t1)
        for radar in radars:
            buffer.extend(_looks(radar, live, t0, t1, rngs[radar.name], rcs, engine))
        # 4. deliver the plots reported by t1, through the plot file format
        ready, buffer = _split_ready(buffer, t1)
        lines: list[str] = []
        batch = PlotBatch.empty()
        if len(ready[0]):
            lines = list(plot_lines(ready[0], infos, ready[1]))
            batch = PlotReader(lines, infos).read_all()[0]
            labels = ready[1].round_id
            np.add.at(detections, labels[labels >= 0], 1)
            if record_plots:  # as parsed back: rounding to the file's precision keeps order
                lines_all.extend(lines)
                delivered.append((batch, ready[1]))
        step_events = engine.step(t1, batch)
        pending.extend(engine.last_orders)
        new = truth_events + step_events
        events.extend(new)
        if on_step is not None:
            on_step(t1, new, lines)
        if progress is not None:
            progress(t1, expected_end)
        # 5. the end
        resolved = launched_upto == n and impact_ptr == n and not pending
        if resolved and not engine.warner.warned_zones:
            if math.isnan(quiet_since):
                quiet_since = t1
            if t1 >= quiet_since + end_margin_s:
                break
        else:
            quiet_since = math.nan
        if t1 >= duration - 1e-9:
            break

    plots, labels = (concatenate_labelled(delivered) if delivered
                     else (PlotBatch.empty(), PlotTruth.empty()))
    return SimulationResult(
        scenario=world,
        seed=root,
        truth=truth,
        engine=engine,
        events=events,
        step_s=step,
        end_time_s=t1,
        wall_time_s=time.perf_counter() - started,
        detections=detections,
        kill_time_s=kill_time,
        outcomes=outcomes,
        plots_header=header,
        plot_lines=lines_all,
        plots=plots if record_plots else None,
        plot_labels=labels if record_plots else None,
    )


# ---------------------------------------------------------------------- steps
def _looks(
    radar: Radar, live: _LiveTruth, t0: float, t1: float, rng: np.random.Generator,
    rcs: RcsTable, engine: Engine,
) -> list[tuple[PlotBatch, PlotTruth]]:
    out = []
    for start in radar.scan_starts(t0, t1):
        cues = None
        if radar.cued:
            cues = engine.cues(float(start))
            if len(cues) == 0:
                continue
        plots, labels = radar.scan(live, float(start), rng, rcs=rcs, cues=cues)
        if len(plots):
            out.append((plots, labels))
    return out


def _split_ready(
    buffer: list[tuple[PlotBatch, PlotTruth]], t1: float
) -> tuple[tuple[PlotBatch, PlotTruth], list[tuple[PlotBatch, PlotTruth]]]:
    """(plots reported by t1 sorted by time, the rest still in flight to the engine)."""
    if not buffer:
        return (PlotBatch.empty(), PlotTruth.empty()), []
    plots, labels = concatenate_labelled(buffer)
    ready = plots.report_time_s <= t1  # type: ignore[operator]
    now = (plots.take(np.flatnonzero(ready)), labels.take(np.flatnonzero(ready)))
    rest = np.flatnonzero(~ready)
    later = [(plots.take(rest), labels.take(rest))] if rest.size else []
    return now, later


def _drop_killed(
    pair: tuple[PlotBatch, PlotTruth], kill_time: np.ndarray
) -> tuple[PlotBatch, PlotTruth]:
    plots, labels = pair
    rid = labels.round_id
    real = rid >= 0
    killed_at = np.full(rid.shape, np.inf)
    killed_at[real] = np.nan_to_num(kill_time[rid[real]], nan=np.inf)
    keep = np.flatnonzero(plots.time_s < killed_at)
    if keep.size == len(plots):
        return pair
    return plots.take(keep), labels.take(keep)


def _resolve(
    order: FireOrder, truth: Truth, kill_time: np.ndarray, rng: np.random.Generator,
    guns: dict[str, Any], catalogue: Any, world: ResolvedScenario, populated: Any,
) -> BurstOutcome:
    """The outcome of a burst against the live round nearest its intercept point.

    A burst whose intercept point has no live round within :data:`RESOLVE_GATE_M` was fired at
    nothing (a ghost, or a round already killed): it is resolved with ``round_id`` −1 and no
    kill, its rounds still fly and fall (their collateral counts).
    """
    ti = float(order.intercept_time_s)
    ids, states = truth.states_at(ti)
    alive = ~(kill_time[ids] <= ti)
    ids, states = ids[alive], states[alive]
    point = np.asarray(order.intercept_enu, dtype=float)
    rid = -1
    if ids.size:
        d = np.linalg.norm(states[:, :3] - point[None, :], axis=1)
        j = int(np.argmin(d))
        if d[j] <= RESOLVE_GATE_M:
            rid = int(ids[j])
    if rid >= 0:
        state = states[j]
        threat = catalogue.get(str(truth.munition[rid]))
    else:  # nothing there: a target state far off, so no round can hit
        state = np.concatenate([point + np.array([0.0, 0.0, 1e4]), order.threat_velocity_enu])
        threat = catalogue.get(order.threat_munition)
    return resolve_burst(
        order, state, rng, gun=guns[order.gun], threat=threat,
        atmosphere=world.atmosphere(), wind=world.wind(), populated_areas=populated,
        round_id=rid,
    )


_TRUTH_KIND_ORDER = {"outcome": 0, "launch": 1, "impact": 2}


def _truth_order(e: Event) -> tuple[float, int, int]:
    return (e.time_s, _TRUTH_KIND_ORDER.get(e.kind, 3), int(getattr(e, "round_id", -1)))


def _triple(v: np.ndarray) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))
