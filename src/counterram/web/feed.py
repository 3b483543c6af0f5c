"""The three feeds of the web view: a simulation running now, the live engine, a finished run.

Why it exists: the page shows one event stream whatever produces it. :class:`WebSink` is the
run driver's sink (:mod:`counterram.sinks.base`) that hands each step to the hub; it serves
the live engine as it is (``counterram engine … --serve``) and, paced by a
:class:`~counterram.web.replay_clock.SimClock`, a simulation shown at a chosen speed
(:class:`SimulationFeed`, ``counterram serve SCENARIO``). A finished run's log is played by
:class:`~counterram.web.replay_clock.Replay` (``counterram serve --replay``).

The engine's latency: live, the sink reads the engine it is given; in a simulation the engine
is built inside the simulator, so the feed adds a do-nothing stage (:data:`PROBE_STAGE`) whose
factory tells the sink, in the simulation's thread, which engine it is fed by.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from counterram.driver import RunDriver
from counterram.engine import Engine, EngineConfig
from counterram.events import Event
from counterram.run_record import RunRecord
from counterram.sensors.roster import SensorRoster
from counterram.sinks.base import RunStart, Sink
from counterram.stages import DEFAULT_STAGES, StepPicture, register_stage
from counterram.web.hub import Hub
from counterram.web.replay_clock import SimClock

__all__ = ["PROBE_STAGE", "RunStopped", "SimulationFeed", "WebSink"]

PROBE_STAGE = "web_view_probe"
_engines = threading.local()


class _Probe:
    """The do-nothing last stage of a simulated engine (module docstring)."""

    name = PROBE_STAGE

    def step(self, picture: StepPicture) -> None:
        """Nothing: the step is the other stages'."""


def _probe(engine: Any) -> _Probe:
    _engines.engine = engine
    return _Probe()


register_stage(PROBE_STAGE, _probe)


class RunStopped(Exception):  # noqa: N818  (a request, not an error)
    """Raised inside a paced simulation's step when its run is to stop (a new run started)."""


class WebSink(Sink):
    """Each step's events to ``hub``; with ``clock``, no step before the clock reaches it."""

    name = "web"

    def __init__(self, hub: Hub, *, clock: SimClock | None = None,
                 engine: Engine | None = None) -> None:
        self.hub = hub
        self.clock = clock
        self.engine = engine
        self.stop = threading.Event()

    def open(self, start: RunStart) -> None:
        if self.clock is not None:
            self.clock.seek(0.0)
        self.hub.update_status(state="running")

    def write(self, now: float, events: Sequence[Event]) -> None:
        if self.clock is not None:
            self._wait(now)
        engine = self.engine if self.engine is not None else getattr(_engines, "engine", None)
        latency = None
        if engine is not None and getattr(engine, "last_latency_s", None):
            latency = round(1e3 * engine.last_latency_s.get("total", float("nan")), 3)
            if latency != latency:
                latency = None
        self.hub.publish_step(now, [e.to_dict() for e in events], latency)

    def close(self, record: RunRecord) -> None:
        if not self.stop.is_set():
            self.hub.update_status(state="ended")

    def _wait(self, now: float) -> None:
        """Hold the step until the clock reaches ``now``; a clock that ran ahead of a slower
        simulation (by over a second) is set back to it, so the display follows the run."""
        clock = self.clock
        assert clock is not None
        while True:
            if self.stop.is_set():
                raise RunStopped
            ahead = now - clock.now()
            if ahead <= 0:
                break
            time.sleep(0.05 if clock.paused else min(0.05, ahead / clock.speed))
        if clock.now() - now > 1.0:
            clock.seek(now)


class SimulationFeed:
    """``scenario`` (resolved) simulated in a thread, shown at the clock's speed; :meth:`start`
    begins a run (stopping the one going on)."""

    def __init__(self, scenario: Any, hub: Hub, clock: SimClock, seed: int | None = None) -> None:
        self.scenario = scenario
        self.hub = hub
        self.clock = clock
        self.seed = seed
        self._sink: WebSink | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, seed: int | None = None) -> int:
        """Start a new run (the scenario's seed unless ``seed``); returns the seed used."""
        with self._lock:
            self.stop()
            if seed is not None:
                self.seed = seed
            used = int(self.scenario.scenario.seed if self.seed is None else self.seed)
            self.clock.seek(0.0)
            self.hub.reset(state="preparing", seed=used, time_s=0.0)
            sink = WebSink(self.hub, clock=self.clock)
            self._sink = sink
            self._thread = threading.Thread(target=self._run, args=(sink, used),
                                            name="counterram-simulation", daemon=True)
            self._thread.start()
            return used

    def stop(self) -> None:
        """Stop the run going on, if any (waits for its thread)."""
        if self._sink is not None:
            self._sink.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._sink = self._thread = None

    def _run(self, sink: WebSink, seed: int) -> None:
        roster = SensorRoster.from_scenario(self.scenario)
        config = EngineConfig(step_s=roster.default_step_s,
                              stages=(*DEFAULT_STAGES, PROBE_STAGE))
        try:
            RunDriver([sink]).simulate(self.scenario, seed, config=config)
        except RunStopped:
            pass
        except Exception as exc:  # shown on the page and printed; the server goes on
            self.hub.update_status(state="failed", error=f"{type(exc).__name__}: {exc}")
            print(f"counterram serve: the simulation failed: {type(exc).__name__}: {exc}",
                  flush=True)
