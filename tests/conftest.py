"""Shared test fixtures."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import pytest

from counterram.scenario import Scenario, load_scenario
from counterram.sim import SimulationResult, simulate


def two_firings() -> Scenario:
    """Two firings from baghdad-embassy (a 3-rocket salvo and a 3-bomb mortar string), 200 s:
    a whole kill chain in a few seconds of simulation."""
    sc = load_scenario("baghdad-embassy")
    rockets = sc.threats[1].model_copy(update={"count": 1, "time_window_s": None,
                                               "start_time_s": 20.0})
    mortars = sc.threats[3].model_copy(update={"count": 1, "time_window_s": None,
                                               "start_time_s": 30.0})
    return sc.model_copy(update={"threats": (rockets, mortars), "duration_s": 200.0})


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    """:func:`two_firings`, once per session."""
    return two_firings()


@pytest.fixture(scope="session")
def small_run() -> SimulationResult:
    """:func:`two_firings` simulated with seed 1, once per session (its plot lines replay
    through the live engine)."""
    return simulate(two_firings(), seed=1)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (``TimeoutError``) a block still running after ``seconds`` of wall time: a hang
    becomes a failed case instead of a stuck test run. SIGALRM interrupts Python code between
    bytecodes (a long call into C finishes first); the main thread only, POSIX only."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return

    def expired(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
