"""Shared test fixtures."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# ------------------------------------------------------------------------- Cursor on Target peers
def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float, every_s: float = 0.02) -> bool:
    """Poll ``condition`` until it holds or ``timeout_s`` passes; whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return condition()


def split_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete ``<event>…</event>`` messages of a TCP stream, and the incomplete rest."""
    parts = buffer.split(b"</event>")
    return [p + b"</event>" for p in parts[:-1]], parts[-1]


class _CotCollector:
    """The events read off CoT connections, split on ``</event>``, shared by the test peers."""

    def __init__(self) -> None:
        self.events: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._running = False

    def _collect(self, sock: socket.socket, chunk: int) -> None:
        """Read ``sock`` until it closes, fails or the peer stops."""
        rest = b""
        sock.settimeout(0.2)
        while self._running:
            try:
                data = sock.recv(chunk)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            done, rest = split_events(rest + data)
            with self._lock:
                self.events.extend(done)

    def received(self) -> list[bytes]:
        with self._lock:
            return list(self.events)


class CotServer(_CotCollector):
    """A plain TCP server on 127.0.0.1 collecting the CoT events its clients send (a stand-in
    for a TAK server's input); ``stop()`` drops every connection and the listener, ``start()``
    listens again on the same port."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        self.port = port
        self._listener: socket.socket | None = None
        self._clients: list[socket.socket] = []

    def start(self) -> CotServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener, self._running = listener, True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while self._running and self._listener is listener:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._clients.append(conn)
            threading.Thread(target=self._collect, args=(conn, 65536), daemon=True).start()

    def stop(self) -> None:
        self._running = False
        listener, self._listener = self._listener, None
        with self._lock:
            clients, self._clients = self._clients, []
        for s in [*clients, *([listener] if listener else [])]:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


class CotClient(_CotCollector):
    """A TAK client on 127.0.0.1 (a second client of a TAK server): a thread reading the
    events the server relays, reconnecting when the server goes away."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=1.0)
            except OSError:
                time.sleep(0.05)
                continue
            with self._lock:
                self.connections += 1
            with sock:
                self._collect(sock, 1 << 20)

    def close(self) -> None:
        self._running = False
        self._thread.join(5.0)


class Taky:
    """A real TAK server (taky) on 127.0.0.1 at a free port, without TLS or Redis: started
    with a config file in ``folder``; ``kill()`` (SIGKILL) and ``start()`` again on the same
    port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.config = folder / "taky.conf"
        self.config.write_text(
            "[taky]\nbind_ip=127.0.0.1\nredis=false\n"
            f"root_dir={folder}\n"
            f"[cot_server]\nport={self.port}\n"
            "[ssl]\nenabled=false\n", encoding="utf-8")

    def start(self, timeout_s: float = 20.0) -> Taky:
        exe = Path(sys.executable).with_name("taky")
        command = [str(exe)] if exe.exists() else [sys.executable, "-m", "taky.cot"]
        log = open(self.folder / "taky.log", "ab")  # noqa: SIM115  (the process keeps it)
        self.proc = subprocess.Popen([*command, "-c", str(self.config)], cwd=self.folder,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"taky exited: {(self.folder / 'taky.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return False
            return True

        if not wait_until(listening, timeout_s, 0.05):
            self.kill()
            raise RuntimeError(f"taky did not listen on {self.port} within {timeout_s} s")
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10.0)
        self.proc = None


@pytest.fixture()
def taky(tmp_path: Path) -> Iterator[Taky]:
    """A running taky server (killed at the end of the test)."""
    server = Taky(tmp_path).start()
    try:
        yield server
    finally:
        server.kill()


# ------------------------------------------------------------------------- ASTERIX
def asterix_sensors() -> list:
    """Two sensors for the ASTERIX codec tests: one with Doppler (id 3, 8 m up), one without
    (id 300: SAC 1, SIC 44)."""
    from counterram.sensors.plots import SensorInfo

    return [SensorInfo(3, "lcmr-1", (0.0, 0.0, 8.0), 15.0, 5e-3, 5e-3, 1.0),
            SensorInfo(300, "fcr-1", (500.0, -200.0, 12.0), 5.0, 1e-3, 1e-3, None)]


ASTERIX_DECODER_ENV = "COUNTERRAM_ASTERIX_DECODER_PYTHON"
"""Names the Python interpreter of a virtual environment with ``asterix-decoder`` installed
(default: ``.venv-asterix-decoder/bin/python`` in the repository, which ``.ci/run`` creates)."""


@pytest.fixture(scope="session")
def asterix_decoder_python() -> Path:
    """The interpreter of the ``asterix-decoder`` environment (:data:`ASTERIX_DECODER_ENV`);
    made at the default place, as ``.ci/run`` makes it, when it is not there yet."""
    named = os.environ.get(ASTERIX_DECODER_ENV)
    if named:
        path = Path(named)
        assert path.is_file(), f"{ASTERIX_DECODER_ENV}={named}: no such interpreter"
        return path
    venv = Path(__file__).resolve().parent.parent / ".venv-asterix-decoder"
    python = venv / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                               "asterix-decoder>=0.7"], capture_output=True, text=True)
        assert done.returncode == 0, "cannot install asterix-decoder: " + done.stderr[-2000:]
    return python


def random_plots(n: int, seed: int = 1, sensor_id: int = 3):
    """``n`` plots spread over what CAT 048 holds (ranges 50 m–60 km, every azimuth, elevations
    −3°…80°, radial speeds ±600 m/s), sorted by time."""
    import numpy as np

    from counterram.sensors.plots import PlotBatch

    rng = np.random.default_rng(seed)
    return PlotBatch(np.sort(rng.uniform(0.0, 3000.0, n)), np.full(n, sensor_id, dtype=np.int32),
                     rng.uniform(50.0, 60_000.0, n), rng.uniform(0.0, 2 * np.pi, n),
                     rng.uniform(-0.05, 1.4, n), rng.uniform(-600.0, 600.0, n),
                     rng.uniform(0.0, 40.0, n))


@pytest.fixture(scope="session")
def plot_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """:func:`two_firings` as a scenario file and its plots written by ``counterram plots``,
    once as JSON Lines and once as ASTERIX (``scenario``, ``jsonl``, ``ast``)."""
    from typer.testing import CliRunner

    from counterram.cli import app
    from counterram.scenario import dump_scenario

    folder = tmp_path_factory.mktemp("plot-files")
    files = {"scenario": folder / "two-firings.yaml", "jsonl": folder / "plots.jsonl",
             "ast": folder / "plots.ast"}
    files["scenario"].write_text(dump_scenario(two_firings()), encoding="utf-8")
    for kind in ("jsonl", "ast"):
        result = CliRunner().invoke(app, ["plots", str(files["scenario"]), "--seed", "1",
                                          "--out", str(files[kind])])
        assert result.exit_code == 0, result.output
    return files


def engine_events(scenario: Path, plots: str, **options: object) -> tuple[list, object]:
    """The live engine's events and result on a plot source (a path or URL), the scenario's
    sensors, latencies and clock given to ASTERIX sources as ``counterram engine`` does."""
    from counterram.driver import run_live
    from counterram.engine import Engine
    from counterram.sources import open_source
    from counterram.sources.asterix import asterix_options

    sc = load_scenario(str(scenario), runnable=True)
    source = open_source(plots, **asterix_options(sc), **options)
    events: list = []
    result = run_live(Engine.from_scenario(sc), source.lines(),
                      lambda _t, ev: events.extend(ev))
    return events, result


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


# ------------------------------------------------------------------------- live UDP feeds
LIVE_SEED = 1


@pytest.fixture(scope="session")
def live_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """:func:`two_firings` cut to 100 s (every round has landed by 90 s) as a scenario file,
    its plots as JSON Lines (seed :data:`LIVE_SEED`), and the file-fed engine's events on them
    (``scenario``, ``jsonl``, ``events``): what a live feed of the same plots must reproduce."""
    from typer.testing import CliRunner

    from counterram.cli import app
    from counterram.scenario import dump_scenario

    folder = tmp_path_factory.mktemp("live-files")
    scenario, jsonl = folder / "two-firings-100s.yaml", folder / "plots.jsonl"
    scenario.write_text(dump_scenario(two_firings().model_copy(update={"duration_s": 100.0})),
                        encoding="utf-8")
    result = CliRunner().invoke(app, ["plots", str(scenario), "--seed", str(LIVE_SEED),
                                      "--out", str(jsonl)])
    assert result.exit_code == 0, result.output
    events, _ = engine_events(scenario, str(jsonl))
    return {"scenario": scenario, "jsonl": jsonl, "events": events}


COUNTERRAM = (sys.executable, "-m", "counterram.cli")
"""The ``counterram`` command of this interpreter, for child processes."""
