"""Fuzz the three untrusted edges — the plot reader, the scenario loader and the live engine —
with many seeded random inputs, and report what was found (the result is in docs/hardening.md).

Why it exists: the property tests (tests/test_properties.py) run a few hundred hypothesis
examples so that CI stays fast; this script runs the same properties on 10⁵ inputs and more,
mutating valid inputs the way a corrupted feed or a careless edit would (fields replaced by
huge integers, NaN, text or nesting; bytes flipped, inserted, cut; times shifted by ±1e9 s;
lines repeated). A finding is an exception out of the code under test, a count that does not
add up, or a case over its time limit; each is printed with its input (truncated) and counted.

    python benchmarks/fuzz_inputs.py                      # 10⁵ plot lines, 10⁴ scenarios,
                                                          # 10⁵ lines through the live engine
    python benchmarks/fuzz_inputs.py --plots 1000000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import two_firings
from counterram.driver import run_live
from counterram.engine import Engine
from counterram.scenario import validate_text
from counterram.sensors.plotio import PlotReader
from counterram.sim import simulate
from test_scenario_errors import BASE

_VALUES: list[object] = [
    None, True, False, "", "ten", "NaN", [], [1, 2], {}, {"a": {"b": 1}}, 0, -0.0, 1, -1,
    1e-320, -1e-320, 1e308, -1e308, 1e9, -1e9, 1e10, 1e11, 2**63, -(2**63), 2**70,
    float("nan"), float("inf"), float("-inf"), "x" * 300,
]
_RAW = ["9" * 400, "9" * 5000, "NaN", "Infinity", "-Infinity", "1e400", "[" * 3000, "{}",
        '"\\ud800"', "tru", "01", "1.", ".5", "+1"]
_FIELDS = ["t", "sensor", "range_m", "azimuth_deg", "elevation_deg", "snr_db",
           "radial_velocity_mps", "report_t", "truth_round_id", "format", "sensors", "version"]
_TOKENS = ["{", "}", "[", "]", ":", ",", "-", "&a", "*a", "!!", "|", ">", "'", '"', "#", "%",
           "\t", "\n", "\x00", "\x07", "\ufeff", "1e400", "9" * 500, ".nan", "<<: *a", "~",
           "null", "true", "?", "@", "`", "\\"]


def mutate_plot(rng: random.Random, template: dict, clock: float) -> str:
    """A plot line near ``template``: fields replaced, dropped, shifted in time, then maybe
    damaged byte by byte."""
    record = dict(template)
    for _ in range(rng.randint(0, 3)):
        key = rng.choice(_FIELDS)
        roll = rng.random()
        if roll < 0.25:
            record.pop(key, None)
        elif roll < 0.5 and key in ("t", "report_t"):
            record[key] = clock + rng.choice([-1e9, -1e5, -10.0, -2.5, 0.0, 0.3, 61.0, 1e5, 1e9])
        else:
            record[key] = rng.choice(_VALUES)
    try:
        text = json.dumps(record)
    except ValueError:
        text = json.dumps({k: v for k, v in record.items() if not isinstance(v, int)})
    if rng.random() < 0.2:  # a raw token JSON would not write
        key = rng.choice(_FIELDS)
        text = '{"' + key + '": ' + rng.choice(_RAW) + ", " + text[1:]
    if rng.random() < 0.3:
        text = damage(rng, text)
    return text


def damage(rng: random.Random, text: str) -> str:
    """Flip, insert, cut or repeat a few characters."""
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(text) + 1)
        roll = rng.random()
        if roll < 0.3:
            text = text[:i] + rng.choice(_TOKENS) + text[i:]
        elif roll < 0.55:
            text = text[:i] + text[i + rng.randint(1, 12):]
        elif roll < 0.75:
            text = text[:i] + chr(rng.randrange(0x110000) if rng.random() < 0.3
                                  else rng.randrange(256)) + text[i + 1:]
        else:
            j = rng.randrange(len(text) + 1)
            text = text[:i] + text[min(i, j):max(i, j)] * rng.randint(1, 3) + text[i:]
    return text


def mutate_scenario(rng: random.Random) -> str:
    """The test scenario with lines repeated, dropped or swapped and characters damaged."""
    lines = BASE.splitlines(keepends=True)
    for _ in range(rng.randint(0, 2)):
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        roll = rng.random()
        if roll < 0.3:
            lines.insert(j, lines[i])
        elif roll < 0.6:
            del lines[i]
        else:
            lines[i], lines[j] = lines[j], lines[i]
        if not lines:
            break
    text = "".join(lines)
    return damage(rng, text) if rng.random() < 0.8 else text


class Tally:
    """Inputs run, findings (exceptions, broken counts, slow cases) and time per target."""

    def __init__(self, name: str, limit_s: float) -> None:
        self.name, self.limit_s = name, limit_s
        self.inputs = 0
        self.findings: list[str] = []
        self.slowest_s = 0.0
        self.started = time.perf_counter()

    def run(self, what: str, fn: Callable[[], str | None]) -> None:
        self.inputs += 1
        start = time.perf_counter()
        try:
            problem = fn()
        except Exception:  # a finding, not a crash of the fuzzer
            problem = traceback.format_exc(limit=-3)
        took = time.perf_counter() - start
        self.slowest_s = max(self.slowest_s, took)
        if took > self.limit_s:
            problem = (problem or "") + f" took {took:.1f} s"
        if problem:
            self.findings.append(f"{problem.strip()}\n    input: {what[:200]!r}")

    def report(self) -> dict:
        seconds = time.perf_counter() - self.started
        return {"target": self.name, "inputs": self.inputs, "seconds": round(seconds, 1),
                "slowest_case_s": round(self.slowest_s, 3), "findings": len(self.findings)}


def fuzz_reader(lines: list[str], n: int, rng: random.Random, sensors: tuple) -> Tally:
    """``n`` mutated lines, one reader per 100 (the stream's clock matters): never an
    exception, and accepted + headers + rejected = the lines given."""
    tally = Tally("plot reader", 5.0)
    templates = [json.loads(x) for x in lines[1:]]
    for start in range(0, n, 100):
        base = rng.randrange(len(templates) - 120)
        chunk = [json.dumps(templates[base + i]) if rng.random() < 0.5 else
                 mutate_plot(rng, templates[base + i], templates[base + i]["t"])
                 for i in range(min(100, n - start))]

        def check(chunk: list[str] = chunk) -> str | None:
            reader = PlotReader([lines[0], *chunk], sensors, add_sensors=False)
            accepted = sum(1 for _ in reader)
            total = sum(1 for x in [lines[0], *chunk] if x.strip())
            if accepted + reader.headers + reader.total_rejected != total:
                return f"counts: {accepted} + {reader.headers} + {reader.rejected} != {total}"
            return None

        tally.inputs += len(chunk) - 1
        tally.run(chunk[0], check)
    return tally


def fuzz_loader(n: int, rng: random.Random) -> Tally:
    tally = Tally("scenario loader", 10.0)
    for _ in range(n):
        text = mutate_scenario(rng)

        def check(text: str = text) -> str | None:
            problems = validate_text(text, "s.yaml")
            bad = [str(p) for p in problems if not str(p).startswith("s.yaml")]
            return f"unlocated problem {bad[0][:100]}" if bad else None

        tally.run(text, check)
    return tally


def fuzz_engine(lines: list[str], n: int, rng: random.Random) -> tuple[Tally, dict]:
    """One live run: the recorded stream with ``n`` mutated lines spread through it."""
    tally = Tally("live engine", 1800.0)
    templates = lines[1:]
    per = max(1, n // len(templates))
    stream = [lines[0]]
    added = 0
    for line in templates:
        stream.append(line)
        record = json.loads(line)
        for _ in range(per if added < n else 0):
            stream.append(mutate_plot(rng, record, record["t"]))
            added += 1
    info: dict = {}

    def check() -> str | None:
        engine = Engine.from_scenario(two_firings())
        result = run_live(engine, stream)
        plot_lines = sum(1 for x in stream if x.strip())
        info.update(steps=result.steps, accepted=result.plots_accepted,
                    rejected=dict(result.rejected), gaps_jumped=result.gaps_jumped)
        # every line: an accepted plot, a header or a rejection (the engine's own screen
        # rejects nothing the reader let through, so its counts are the reader's)
        headers = plot_lines - result.plots_accepted - result.total_rejected
        info["headers"] = headers
        return None if headers >= 1 else f"counts do not add up: {info}"

    tally.run(f"{len(stream)} lines", check)
    tally.inputs = added
    return tally, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plots", type=int, default=100_000, help="plot lines for the reader")
    parser.add_argument("--scenarios", type=int, default=10_000, help="scenario texts")
    parser.add_argument("--engine", type=int, default=100_000,
                        help="mutated lines in the live engine's stream")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # every rejection is logged; the counts are what matter
    rng = random.Random(args.seed)
    run = simulate(two_firings(), seed=1)
    lines = [run.plots_header, *run.plot_lines]
    sensors = Engine.from_scenario(two_firings()).sensors
    print(f"fuzz_inputs: seed {args.seed}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    tallies = [fuzz_reader(lines, args.plots, rng, sensors), fuzz_loader(args.scenarios, rng)]
    engine_tally, info = fuzz_engine(lines, args.engine, rng)
    tallies.append(engine_tally)
    for t in tallies:
        print(json.dumps(t.report()))
        for f in t.findings[:10]:
            print("  FINDING:", f)
    print("live engine run:", json.dumps(info))
    sys.exit(1 if any(t.findings for t in tallies) else 0)


if __name__ == "__main__":
    main()
