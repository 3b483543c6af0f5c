"""Cursor on Target: mapping cost per event, throughput to a real TAK server on loopback, and the
default run with and without a TAK feed.

1. **Mapping**: the default scenario (``baghdad-embassy``) is simulated once; its events, behind
   their stream header, go through :class:`~counterram.sinks.cot_map.CotMapper` ``--repeat``
   times; µs per event, per kind and over all (what the sink costs the run's thread).
2. **Throughput**: a taky server on 127.0.0.1 (a free port, no TLS, no Redis) and a second
   client reading from it; ``--events`` CoT messages (the run's, their uids numbered so each is
   new) are queued at once through :class:`~counterram.sinks.cot_transport.Transport`; the
   figure is messages per second from the first send to the last one read back from taky by the
   second client, and the same into a plain local TCP reader (no server in between).
3. **Run**: ``counterram run --quiet`` of the default scenario, ``--runs`` times each without
   ``--tak``, with ``--tak`` to a plain local TCP reader (the sink's own cost) and with ``--tak``
   to taky (the second client reading; taky's own work shares the machine's two cores),
   alternated: median wall time of the command, the run's own time (``run_time_s``) and the
   engine's latency per step (p50/p99 from summary.json).

    python benchmarks/bench_cot.py [--events 20000] [--repeat 5] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from counterram.sim import simulate
from counterram.sinks.cot_map import CotMapper
from counterram.sinks.cot_transport import Transport
from counterram.stream_header import stream_header


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Reader(threading.Thread):
    """A TCP client (or, with ``listen``, a server's one connection) counting ``</event>``."""

    def __init__(self, port: int, listen: bool = False) -> None:
        super().__init__(daemon=True)
        self.port, self.listen = port, listen
        self.count = 0
        self.last_s = 0.0
        self.ready = threading.Event()
        self.stop = False
        self._server: socket.socket | None = None
        if listen:
            self._server = socket.create_server(("127.0.0.1", port))

    def run(self) -> None:
        if self._server is not None:
            self.ready.set()
            sock, _ = self._server.accept()
        else:
            sock = socket.create_connection(("127.0.0.1", self.port))
            self.ready.set()
        sock.settimeout(0.2)
        tail = b""
        with sock:
            while not self.stop:
                try:
                    data = sock.recv(1 << 20)
                except TimeoutError:
                    continue
                if not data:
                    return
                joined = tail + data
                n = joined.count(b"</event>")
                tail = joined[joined.rfind(b"</event>") + 8:] if n else joined
                if n:
                    self.count += n
                    self.last_s = time.perf_counter()


class _Taky:
    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        config = folder / "taky.conf"
        config.write_text(f"[taky]\nbind_ip=127.0.0.1\nredis=false\nroot_dir={folder}\n"
                          f"[cot_server]\nport={self.port}\n[ssl]\nenabled=false\n")
        exe = Path(sys.executable).with_name("taky")
        self.proc = subprocess.Popen([str(exe), "-c", str(config)], cwd=folder,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("taky did not start")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _stream():
    res = simulate("baghdad-embassy")
    return [stream_header(res.step_s, res.scenario, json.loads(res.plots_header)), *res.events]


def bench_mapping(stream, repeat: int) -> dict[str, object]:
    per_kind: dict[str, list[float]] = defaultdict(list)
    totals = []
    for _ in range(repeat):
        mapper = CotMapper(epoch_s=1.8e9)
        t_all = time.perf_counter()
        for e in stream:
            t0 = time.perf_counter()
            mapper.map([e])
            per_kind[e.kind].append(time.perf_counter() - t0)
        totals.append((time.perf_counter() - t_all) / len(stream))
    return {
        "events": len(stream),
        "us_per_event": round(min(totals) * 1e6, 2),
        "by_kind_us": {k: round(statistics.median(v) * 1e6, 2)
                       for k, v in sorted(per_kind.items())},
    }


def _payloads(stream, n: int) -> list[bytes]:
    messages = [m.xml for m in CotMapper(epoch_s=1.8e9, uid_prefix="b").map(stream)]
    out = []
    for i in range(n):
        xml = messages[i % len(messages)]
        out.append(xml.replace('uid="b.', f'uid="b{i // len(messages)}.', 1).encode())
    return out


def _throughput(port: int, payloads: list[bytes], reader: _Reader) -> float:
    t = Transport(f"tcp://127.0.0.1:{port}", queue_size=len(payloads) + 1)
    t.start()
    deadline = time.monotonic() + 10
    while not t.connected.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.perf_counter()
    for p in payloads:
        t.send(p)
    deadline = time.monotonic() + 120
    while reader.count < len(payloads) and time.monotonic() < deadline:
        time.sleep(0.005)
    t.close(5.0)
    reader.stop = True
    if reader.count < len(payloads):
        raise RuntimeError(f"only {reader.count} of {len(payloads)} arrived")
    return len(payloads) / (reader.last_s - start)


def bench_throughput(stream, n: int, folder: Path) -> dict[str, object]:
    payloads = _payloads(stream, n)
    direct = _Reader(_free_port(), listen=True)
    direct.start()
    plain = _throughput(direct.port, payloads, direct)
    taky = _Taky(folder)
    try:
        reader = _Reader(taky.port)
        reader.start()
        reader.ready.wait(10)
        time.sleep(0.2)
        via_taky = _throughput(taky.port, payloads, reader)
    finally:
        taky.close()
    return {"messages": n, "bytes_per_message": round(sum(map(len, payloads)) / n),
            "to_taky_per_s": round(via_taky), "to_local_reader_per_s": round(plain)}


class _Drain(threading.Thread):
    """A local TCP server reading and discarding whatever its clients send."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn: socket.socket) -> None:
        with conn:
            while conn.recv(1 << 20):
                pass


RUN_LABELS = ("without", "with_reader", "with_taky")


def bench_runs(runs: int, folder: Path) -> dict[str, object]:
    taky = _Taky(folder)
    reader = _Reader(taky.port)
    reader.start()
    drain = _Drain()
    drain.start()
    urls = {"without": None, "with_reader": f"tcp://127.0.0.1:{drain.port}",
            "with_taky": f"tcp://127.0.0.1:{taky.port}"}
    results: dict[str, list[dict[str, float]]] = {label: [] for label in RUN_LABELS}
    exe = str(Path(sys.executable).with_name("counterram"))
    try:
        for k in range(runs):
            for label in RUN_LABELS:
                out = folder / f"{label}-{k}"
                command = [exe, "run", "--quiet", "--force", "--out", str(out)]
                if urls[label]:
                    command += ["--tak", str(urls[label])]
                t0 = time.perf_counter()
                subprocess.run(command, check=True, env=os.environ.copy())
                wall = time.perf_counter() - t0
                s = json.loads((out / "summary.json").read_text())
                results[label].append({"wall_s": wall, "run_s": s["run_time_s"],
                                       "p50_ms": s["engine_latency_ms"]["p50"],
                                       "p99_ms": s["engine_latency_ms"]["p99"],
                                       "sent": (s.get("tak") or [{}])[0].get("sent", 0)})
    finally:
        reader.stop = True
        taky.close()
        drain.server.close()
    return {label: {key: round(statistics.median(r[key] for r in rows), 3)
                    for key in ("wall_s", "run_s", "p50_ms", "p99_ms", "sent")}
            for label, rows in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="messages for throughput")
    parser.add_argument("--repeat", type=int, default=5, help="mapping passes (best is kept)")
    parser.add_argument("--runs", type=int, default=3, help="default runs each way (0: none)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    stream = _stream()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result: dict[str, object] = {"mapping": bench_mapping(stream, args.repeat),
                                     "throughput": bench_throughput(stream, args.events, folder)}
        if args.runs > 0:
            result["runs"] = bench_runs(args.runs, folder)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m, t = result["mapping"], result["throughput"]
    print(f"mapping ({m['events']} events of baghdad-embassy): {m['us_per_event']} µs/event")
    for kind, us in m["by_kind_us"].items():  # type: ignore[union-attr]
        print(f"  {kind:<18} {us:>8.2f} µs (median)")
    print(f"throughput ({t['messages']:,} messages, {t['bytes_per_message']} bytes each):")
    print(f"  to taky and back to a second client  {t['to_taky_per_s']:>10,} /s")
    print(f"  to a plain local TCP reader          {t['to_local_reader_per_s']:>10,} /s")
    if "runs" in result:
        r = result["runs"]
        print(f"default run, median of {args.runs}:   wall s   run s   p50 ms   p99 ms   CoT sent")
        names = {"without": "without --tak", "with_reader": "--tak to a local reader",
                 "with_taky": "--tak to taky"}
        for label in RUN_LABELS:
            x = r[label]  # type: ignore[index]
            print(f"  {names[label]:<28} {x['wall_s']:>7.2f} {x['run_s']:>7.2f}  "
                  f"{x['p50_ms']:>7.3f}  {x['p99_ms']:>7.3f}  {x['sent']:>9,.0f}")


if __name__ == "__main__":
    main()
