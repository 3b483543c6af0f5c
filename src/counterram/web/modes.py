"""The three views: a feed, its hub, its site and the controls it allows, put together.

Why it exists: the commands (``serve``, ``serve --replay``, ``engine --serve``) differ only in
what feeds the hub and which controls make sense: a simulation can pause, change speed and
start a new run (with another seed); a replay can pause, change speed and seek; the live engine
runs on its plot stream's clock and allows none (each is a 409 saying so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from counterram.scenario.resolved import resolve
from counterram.web.app import ControlError, Controls
from counterram.web.feed import SimulationFeed, WebSink
from counterram.web.hub import Hub
from counterram.web.replay_clock import Replay, SimClock
from counterram.web.site import site_geometry

__all__ = ["View", "live_view", "replay_view", "simulation_view"]


@dataclass
class View:
    """What a command serves: ``start`` begins the feed, ``stop`` ends it; live, ``sink`` is
    the run driver's sink."""

    hub: Hub
    site: dict[str, Any]
    controls: Controls
    start: Callable[[], None]
    stop: Callable[[], None]
    sink: WebSink | None = None


class _Refuse:
    """Controls of a view that allows none of them."""

    def __init__(self, why: str) -> None:
        self.why = why

    def pause(self, paused: bool) -> None:
        raise ControlError(self.why)

    def speed(self, speed: float) -> None:
        raise ControlError(self.why)

    def seek(self, time_s: float) -> float:
        raise ControlError(self.why)

    def start(self, seed: int | None) -> int:
        raise ControlError(self.why)


class _SimulationControls(_Refuse):
    def __init__(self, feed: SimulationFeed, clock: SimClock, hub: Hub) -> None:
        super().__init__("a simulation shown as it runs cannot seek; start a new run instead")
        self.feed, self.clock, self.hub = feed, clock, hub

    def pause(self, paused: bool) -> None:
        self.clock.set_paused(paused)
        self.hub.update_status(paused=paused)

    def speed(self, speed: float) -> None:
        self.clock.set_speed(speed)
        self.hub.update_status(speed=speed)

    def start(self, seed: int | None) -> int:
        return self.feed.start(seed)


class _ReplayControls(_Refuse):
    def __init__(self, replay: Replay) -> None:
        super().__init__("a replay cannot start a run; serve the scenario for that")
        self.replay = replay

    def pause(self, paused: bool) -> None:
        self.replay.set_paused(paused)

    def speed(self, speed: float) -> None:
        self.replay.set_speed(speed)

    def seek(self, time_s: float) -> float:
        return self.replay.seek(time_s)


def simulation_view(scenario: Any, *, seed: int | None = None, speed: float = 1.0,
                    paused: bool = False) -> View:
    """``scenario`` simulated as it is shown, at ``speed`` × the wall clock."""
    world = resolve(scenario)
    clock = SimClock(0.0, speed, paused)
    hub = Hub({"mode": "simulation", "scenario": world.scenario.name, "speed": speed,
               "paused": paused, "state": "preparing", "time_s": 0.0})
    feed = SimulationFeed(world, hub, clock, seed)
    return View(hub, site_geometry(world), _SimulationControls(feed, clock, hub),
                lambda: feed.start(), feed.stop)


def replay_view(events: list[dict[str, Any]], scenario: Any, *, speed: float = 1.0,
                paused: bool = False, start_s: float | None = None,
                latency_ms: float | None = None, source: str = "") -> View:
    """A finished run's events (:func:`~counterram.web.replay_clock.load_log`) replayed over
    ``scenario``'s site."""
    world = resolve(scenario)
    clock = SimClock(0.0, speed, paused)
    hub = Hub({"mode": "replay", "scenario": world.scenario.name, "speed": speed,
               "paused": paused, "state": "running", "source": source})
    replay = Replay(events, hub, clock, latency_ms=latency_ms)
    hub.status.update(start_s=replay.start_s, end_s=replay.end_s)
    clock.seek(replay.start_s if start_s is None else start_s)
    return View(hub, site_geometry(world), _ReplayControls(replay), replay.start, replay.stop)


def live_view(scenario: Any, engine: Any) -> View:
    """The live engine's events as it steps (its sink goes to the run driver)."""
    world = resolve(scenario)
    hub = Hub({"mode": "live", "scenario": world.scenario.name, "speed": None,
               "paused": False, "state": "waiting"})
    sink = WebSink(hub, engine=engine)
    refuse = _Refuse("the live engine runs on its plot stream's clock: no pause, speed, seek "
                     "or start")
    return View(hub, site_geometry(world), refuse, lambda: None, lambda: None, sink)
