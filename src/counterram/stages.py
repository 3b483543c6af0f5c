"""The engine's step as a declared pipeline of stages.

A step takes the plots reported by ``now`` through named stages in order — by default
``screen`` (plot checks), ``track`` (the tracker and its confirmations and deletions),
``predict`` (classification, impact and origin), ``warn`` (zone warnings), ``engage`` (threat
evaluation, fire control, track reports) and ``health`` (radars gone silent or back,
:mod:`counterram.health`) — and each stage's wall-clock time is the engine's
latency figure of that name. The stages share one :class:`StepPicture`: what the step has found
so far (the accepted plots, the tracker's picture, the deleted and the freshly predicted tracks,
the fire orders) and the events in log order, which each stage extends.

A stage is anything with a ``name`` and ``step(picture)``; :func:`register_stage` makes a new
one available to :attr:`counterram.engine.EngineConfig.stages` by name (a factory taking the
engine), so a stage can be added or replaced by configuration without touching the engine. The
built-in stages are thin: the work lives in the engine's components (tracker, predictors,
warner, fire control) and the engine's methods that turn their results into events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from counterram.events import Event
from counterram.sensors.plots import PlotBatch

if TYPE_CHECKING:
    from counterram.engagement.fire_control import FireOrder
    from counterram.health import SensorHealthMonitor
    from counterram.tracking.tracker import Tracker, TrackerOutput

__all__ = [
    "DEFAULT_STAGES",
    "Stage",
    "StageHost",
    "StepPicture",
    "make_stages",
    "register_stage",
    "stage_names",
]

DEFAULT_STAGES = ("screen", "track", "predict", "warn", "engage", "health")
"""The engine's stages, in order, unless its configuration names others."""


@dataclass
class StepPicture:
    """What one step has found so far, shared by its stages (module docstring)."""

    time_s: float
    plots: PlotBatch
    events: list[Event] = field(default_factory=list)
    tracks: TrackerOutput | None = None
    deleted: list[tuple[int, str]] = field(default_factory=list)
    """(track id, reason) of the tracks the tracker deleted in this step."""
    fresh: list[int] = field(default_factory=list)
    """Ids of the tracks predicted in this step."""
    orders: list[FireOrder] = field(default_factory=list)


class Stage(Protocol):
    """One stage of the engine's step."""

    name: str

    def step(self, picture: StepPicture) -> None:
        """Advance ``picture`` (extend its events, set what later stages read)."""
        ...


class StageHost(Protocol):
    """What the built-in stages use of the engine (:class:`counterram.engine.Engine`): its
    tracker and the methods that turn its components' results into events."""

    tracker: Tracker
    health: SensorHealthMonitor

    def screen(self, t: float, plots: PlotBatch, events: list[Event]) -> PlotBatch: ...

    def track_events(
        self, t: float, out: TrackerOutput, events: list[Event]
    ) -> list[tuple[int, str]]: ...

    def predict(self, t: float, out: TrackerOutput, events: list[Event]) -> list[int]: ...

    def warn(
        self, t: float, fresh: list[int], deleted: list[tuple[int, str]], events: list[Event]
    ) -> None: ...

    def engage(self, t: float, out: TrackerOutput, events: list[Event]) -> list[FireOrder]: ...

    def report_states(self, t: float, out: TrackerOutput, events: list[Event]) -> None: ...


StageFactory = Callable[[StageHost], Stage]
_STAGES: dict[str, StageFactory] = {}


def register_stage(name: str, factory: StageFactory) -> None:
    """Make a stage available by ``name``: ``factory(engine)`` builds it for an engine."""
    if not name or not name.isidentifier():
        raise ValueError(f"register_stage: the name must be an identifier; got {name!r}")
    _STAGES[name] = factory


def stage_names() -> tuple[str, ...]:
    """The registered stage names."""
    return tuple(_STAGES)


def make_stages(engine: StageHost, names: tuple[str, ...]) -> tuple[Stage, ...]:
    """The named stages for ``engine``, in order (ValueError naming the unknown ones)."""
    unknown = [n for n in names if n not in _STAGES]
    if unknown:
        raise ValueError(
            f"engine stages: unknown {unknown}; registered: {sorted(_STAGES)}"
        )
    if len(set(names)) != len(names) or "total" in names:
        raise ValueError(f"engine stages: names must be distinct and not 'total'; got {names}")
    return tuple(_STAGES[n](engine) for n in names)


@dataclass
class _Screen:
    engine: StageHost
    name: str = "screen"

    def step(self, picture: StepPicture) -> None:
        picture.plots = self.engine.screen(picture.time_s, picture.plots, picture.events)


@dataclass
class _Track:
    engine: StageHost
    name: str = "track"

    def step(self, picture: StepPicture) -> None:
        e = self.engine
        picture.tracks = e.tracker.step(picture.time_s, picture.plots)
        picture.deleted = e.track_events(picture.time_s, picture.tracks, picture.events)


@dataclass
class _Predict:
    engine: StageHost
    name: str = "predict"

    def step(self, picture: StepPicture) -> None:
        assert picture.tracks is not None, "the predict stage needs the track stage before it"
        picture.fresh = self.engine.predict(picture.time_s, picture.tracks, picture.events)


@dataclass
class _Warn:
    engine: StageHost
    name: str = "warn"

    def step(self, picture: StepPicture) -> None:
        self.engine.warn(picture.time_s, picture.fresh, picture.deleted, picture.events)


@dataclass
class _Engage:
    engine: StageHost
    name: str = "engage"

    def step(self, picture: StepPicture) -> None:
        assert picture.tracks is not None, "the engage stage needs the track stage before it"
        e = self.engine
        picture.orders = e.engage(picture.time_s, picture.tracks, picture.events)
        e.report_states(picture.time_s, picture.tracks, picture.events)


@dataclass
class _Health:
    engine: StageHost
    name: str = "health"

    def step(self, picture: StepPicture) -> None:
        picture.events.extend(
            self.engine.health.step(picture.time_s, picture.plots, picture.tracks))


for _name, _factory in (("screen", _Screen), ("track", _Track), ("predict", _Predict),
                        ("warn", _Warn), ("engage", _Engage), ("health", _Health)):
    register_stage(_name, _factory)
