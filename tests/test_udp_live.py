"""Two processes on loopback: ``counterram plots --send`` feeds a scenario's plots as UDP
datagrams at 10× real time, ``counterram engine --plots …udp://127.0.0.1:PORT`` tracks and warns
on them, on the stream's clock or (``--realtime --speed 10``) on the wall clock, and its events
match the file-fed engine's in content; with 10 % of the datagrams dropped the wall-clock engine
keeps running, counts every lost datagram and still warns every zone and every in-zone
round."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import numpy as np

from conftest import COUNTERRAM, LIVE_SEED, free_port, time_limit
from counterram.sources.udp_sender import drop_mask

SPEED = 10.0
STEP_S = 0.5  # the engine's step: a plot a step late moves an event by one step


REALTIME = ("--realtime", "--speed", str(SPEED))


def _live(live_files: dict, out: Path, fmt: str, *extra: str,
          engine_args: tuple[str, ...] = ()) -> tuple[list[dict], str, str]:
    """Start the engine on UDP, wait for its socket, run the sender, and return the engine's
    events (events.jsonl) and both processes' stdout."""
    port = free_port(socket.SOCK_DGRAM)
    scheme = "asterix+udp" if fmt == "asterix" else "udp"
    engine = subprocess.Popen([
        *COUNTERRAM, "engine", "--scenario", str(live_files["scenario"]), "--plots",
        f"{scheme}://127.0.0.1:{port}", "--out", str(out), "--max-idle-s", "3",
        "--wait-first-s", "90", *engine_args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert engine.stderr is not None
        seen = []
        with time_limit(120):  # "listening on …" once bound; an error or a hang fails here
            while not (seen and seen[-1].startswith("listening on")):
                seen.append(engine.stderr.readline())
                assert seen[-1], "".join(seen) + str(engine.wait())
        sender = subprocess.run(
            [*COUNTERRAM, "plots", str(live_files["scenario"]), "--seed",
             str(LIVE_SEED), "--send", f"udp://127.0.0.1:{port}", "--format", fmt,
             "--speed", str(SPEED), *extra],
            capture_output=True, text=True, timeout=120)
        assert sender.returncode == 0, sender.stdout + sender.stderr
        stdout, stderr = engine.communicate(timeout=120)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()
    assert engine.returncode == 0, stderr
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    return events, stdout, sender.stdout


def _get(e: object, key: str) -> object:
    return e[key] if isinstance(e, dict) else getattr(e, key)


def _content(events: list) -> dict:
    confirmed = {_get(e, "track_id") for e in events
                 if _get(e, "kind") == "track" and _get(e, "status") == "confirmed"}
    return {
        "confirmed": len(confirmed),
        "warnings": Counter(_get(e, "zone") for e in events
                            if _get(e, "kind") == "warning" and not _get(e, "update")),
        "all_clear": Counter(_get(e, "zone") for e in events if _get(e, "kind") == "all_clear"),
    }


def _first(events: list, kind: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for e in events:
        if _get(e, "kind") == kind:
            out.setdefault(str(_get(e, "zone")), float(_get(e, "time_s")))  # type: ignore[arg-type]
    return out


def _warned_in_time(events: list, scenario: Path) -> tuple[int, int]:
    """(rounds landing in zones, of them warned before impact): the run summary's figures for
    the truth of the sent plots."""
    from counterram.scenario import load_scenario
    from counterram.summary import compute_summary
    from counterram.world import build_truth

    sc = load_scenario(str(scenario), runnable=True)
    summary = compute_summary(events, build_truth(sc, seed=LIVE_SEED), sc)
    return summary["rounds_in_zones"], summary["rounds_warned_in_time"]


def test_asterix_feed_at_10x_matches_the_file_fed_engine(live_files, tmp_path) -> None:
    start = time.monotonic()
    events, stdout, sent = _live(live_files, tmp_path / "live", "asterix")
    ref = live_files["events"]
    assert "dropped 0" in sent and "refused" not in sent, sent
    n_sent = int(sent.split("sent ")[1].split()[0])
    assert f"plots accepted │ {n_sent}" in " ".join(stdout.split()), stdout  # none lost
    assert not [e for e in events if e["kind"] == "plot_rejected"]
    assert _content(events) == _content(ref)
    for kind in ("warning", "all_clear"):
        got, want = _first(events, kind), _first(ref, kind)
        assert got.keys() == want.keys()
        for zone, t in want.items():  # stream time: 1/128 s quantisation, a step at most
            assert abs(got[zone] - t) <= STEP_S, (kind, zone, got[zone], t)
    in_zones, warned = _warned_in_time(events, live_files["scenario"])
    assert in_zones > 0 and warned == in_zones == _warned_in_time(ref, live_files["scenario"])[0]
    print(f"live asterix at {SPEED:g}x: {time.monotonic() - start:.1f} s; sender: {sent.strip()}")


def _row(stdout: str, name: str) -> str:
    """The value of row ``name`` of the engine's final table."""
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[0] == name:
            return cells[1]
    raise AssertionError(f"no row {name!r} in:\n{stdout}")


def test_realtime_asterix_feed_at_10x_matches_the_file_fed_engine(live_files, tmp_path) -> None:
    """The wall-clock engine (a step every 50 ms of wall time at 10×) on the same feed: the
    same tracks, warnings and zones as the file-fed engine, each zone's first warning and all
    clear within a step of its stream time (a plot that misses its step moves an event by one
    step), every warning timed by its plot."""
    start = time.monotonic()
    events, stdout, sent = _live(live_files, tmp_path / "rt", "asterix", engine_args=REALTIME)
    ref = live_files["events"]
    n_sent = int(sent.split("sent ")[1].split()[0])
    assert _row(stdout, "plots accepted") == str(n_sent), stdout  # none late, none lost
    assert _content(events) == _content(ref)
    for kind in ("warning", "all_clear"):
        got, want = _first(events, kind), _first(ref, kind)
        assert got.keys() == want.keys()
        for zone, t in want.items():
            assert abs(got[zone] - t) <= STEP_S, (kind, zone, got[zone], t)
    warnings = [e for e in events if e["kind"] == "warning"]
    assert warnings and all(e["latency_ms"] > 0 for e in warnings)
    assert all(e["plot_arrival_s"] > 0 for e in warnings)
    in_zones, warned = _warned_in_time(events, live_files["scenario"])
    assert in_zones > 0 and warned == in_zones
    print(f"realtime asterix at {SPEED:g}x: {time.monotonic() - start:.1f} s; plot-to-warning "
          f"p50 {_row(stdout, 'plot-to-warning p50 ms')} ms, p99 "
          f"{_row(stdout, 'plot-to-warning p99 ms')} ms over {len(warnings)} warnings, "
          f"{_row(stdout, 'steps skipped (behind)')} steps skipped")


def _received_per_round(jsonl: Path, fraction: float) -> Counter[int]:
    """Plots per round that survive the sender's drops: the file's plots in send order (report
    time, then time) with the same seeded mask."""
    plots = [json.loads(x) for x in jsonl.read_text().splitlines()[1:]]
    order = np.lexsort(([p["t"] for p in plots], [p.get("report_t", p["t"]) for p in plots]))
    keep = ~drop_mask(len(plots), fraction, LIVE_SEED)
    return Counter(plots[i]["truth_round_id"] for i, k in zip(order, keep, strict=True) if k)


def test_jsonl_feed_with_10_percent_dropped_still_warns(live_files, tmp_path) -> None:
    """The wall-clock engine on a feed losing 10 % of its datagrams: it runs to the end,
    counts exactly the datagrams lost (the lines' ``seq``), warns every zone the whole feed
    warns and every in-zone round in time."""
    start = time.monotonic()
    events, stdout, sent = _live(live_files, tmp_path / "lossy", "jsonl", "--drop", "0.1",
                                 engine_args=REALTIME)
    n_dropped = int(sent.split("dropped ")[1].split(",")[0].split()[0])
    n_sent = int(sent.split("sent ")[1].split()[0])
    assert 40 < n_dropped < 160, sent  # about 10 % of ~800 plots
    # every drop between the first and the last datagram received shows as a seq gap
    kept = np.flatnonzero(~drop_mask(n_sent + n_dropped, 0.1, LIVE_SEED))
    between = int(kept[-1] - kept[0] + 1 - kept.size)
    assert n_dropped - 3 <= between <= n_dropped  # drops at the very ends leave no gap
    assert _row(stdout, "plots missing (seq gaps)") == str(between), stdout
    assert _row(stdout, "plots accepted") == str(n_sent), stdout
    assert not [e for e in events if e["kind"] == "plot_rejected"]
    received = _received_per_round(live_files["jsonl"], 0.1)
    assert all(received[r] >= 4 for r in received if r >= 0)  # every round still seen enough
    # every zone the whole feed warns is warned; with a tenth of the plots gone a track's
    # prediction may still be wide when settling's wait ends, and warn a neighbouring zone too
    ref = live_files["events"]
    assert _content(ref)["warnings"].keys() <= _content(events)["warnings"].keys()
    assert _content(events)["warnings"].keys() == _content(events)["all_clear"].keys()
    in_zones, warned = _warned_in_time(events, live_files["scenario"])
    assert in_zones > 0 and warned == in_zones
    print(f"live jsonl, 10 % dropped: {time.monotonic() - start:.1f} s; sender: {sent.strip()}")
