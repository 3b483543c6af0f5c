"""Shared test fixtures."""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


# ---------------------------------------------------------------------------- the web view
@dataclass
class Served:
    """A ``counterram serve`` (or ``engine --serve``) process: its page and control token."""

    url: str
    token: str
    process: subprocess.Popen[str]
    lines: list[str]


@contextlib.contextmanager
def serve_process(args: list[str], timeout_s: float = 120.0) -> Iterator[Served]:
    """Run ``counterram ARGS`` (a web view on a free port of 127.0.0.1) until the block ends;
    waits (generously) for the URL and token it prints. Its output is kept in ``lines``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "counterram.cli", *args], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    lines: list[str] = []
    seen: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            seen.put(line)
        seen.put(None)

    threading.Thread(target=read, daemon=True).start()
    url = token = None
    deadline = time.monotonic() + timeout_s
    try:
        while token is None:
            try:
                line = seen.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError("the web view did not start:\n" + "".join(lines))
            if line.startswith("counterram web view"):
                url = line.rsplit(" ", 1)[-1].strip()
            elif line.startswith("control token:"):
                token = line.split(":", 1)[1].strip()
        assert url is not None
        yield Served(url, token, process, lines)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="session")
def small_run_log(small_run: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`two_firings`' events (seed 1) as an events.jsonl (its site: baghdad-embassy)."""
    from counterram.sinks.jsonl import EventLogWriter

    path = tmp_path_factory.mktemp("small-run") / "events.jsonl"
    with EventLogWriter(path) as log:
        log.write(small_run.events)
    return path
