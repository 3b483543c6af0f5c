"""Property-based tests (hypothesis) of the three edges that take untrusted input: the plot
reader, the scenario loader and the engine's step. Any input in, never an exception out; the
counts add up; the event log stays valid JSON Lines. Bounded (examples and deadlines) so that
the file takes seconds; ``benchmarks/fuzz_inputs.py`` runs the same properties on 10⁵ inputs.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import two_firings
from counterram.engine import Engine
from counterram.scenario import load_text, validate_text
from counterram.sensors.plotio import (
    MAX_ABS_TIME_S,
    MAX_RANGE_M,
    REJECT_REASONS,
    PlotReader,
    header_line,
)
from counterram.sensors.plots import PlotBatch, SensorInfo
from counterram.sinks.jsonl import EventLogWriter, iter_event_dicts
from test_scenario_errors import BASE

SENSORS = [
    SensorInfo(1, "lcmr-1", (0.0, 200.0, 10.0), 15.0, 5e-3, 5e-3),
    SensorInfo(2, "wlr-1", (-600.0, -300.0, 5.0), 10.0, 2.5e-3, 2.5e-3, 2.0),
]
FAST = settings(max_examples=150, deadline=2000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ------------------------------------------------------------------------------------ values
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e4, max_value=1e5),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**400),
)
_junk = st.one_of(st.none(), st.booleans(), st.text(max_size=8),
                  st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                      st.integers(), max_size=2))
_value = st.one_of(_numbers, _junk)
_FIELDS = ("t", "sensor", "range_m", "azimuth_deg", "elevation_deg", "snr_db",
           "radial_velocity_mps", "report_t", "truth_round_id")


@st.composite
def plot_records(draw: st.DrawFn) -> dict:
    """A plot record near the valid ones: each field valid, absent or replaced by anything."""
    t = draw(st.floats(min_value=0.0, max_value=200.0))
    valid = {"t": t, "sensor": draw(st.sampled_from(["lcmr-1", "wlr-1", 1, 2])),
             "range_m": draw(st.floats(min_value=1.0, max_value=3e4)),
             "azimuth_deg": draw(st.floats(min_value=-720.0, max_value=720.0)),
             "elevation_deg": draw(st.floats(min_value=-90.0, max_value=90.0)),
             "snr_db": draw(st.floats(min_value=-10.0, max_value=60.0)),
             "report_t": t + draw(st.floats(min_value=0.0, max_value=2.0))}
    for key in draw(st.lists(st.sampled_from(_FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            valid.pop(key, None)
        else:
            valid[key] = draw(_value)
    return valid


def _dump(record: dict) -> str:
    try:
        return json.dumps(record)
    except ValueError:  # an integer too long to write: write it by hand
        return "{" + ", ".join(f'"{k}": {v}' if isinstance(v, int) else
                               f'"{k}": {json.dumps(v)}' for k, v in record.items()) + "}"


_lines = st.lists(st.one_of(
    plot_records().map(_dump),
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda b: b.decode("utf-8", errors="replace")),
    st.just(header_line(SENSORS)),
    st.sampled_from(['{"format": "counterram-plots", "version": 1, "sensors": 5}', "[1]",
                     "{", "null", '{"t": ' + "9" * 5000 + "}", "[" * 5000]),
), max_size=40)


# ------------------------------------------------------------------------------------ reader
@FAST
@given(lines=_lines, with_sensors=st.booleans())
def test_the_plot_reader_never_raises_and_its_counts_add_up(
    lines: list[str], with_sensors: bool
) -> None:
    reader = PlotReader(lines, SENSORS if with_sensors else ())
    plots = list(reader)
    nonblank = sum(1 for x in lines if x.strip())
    assert reader.accepted == len(plots)
    assert reader.accepted + reader.headers + reader.total_rejected == nonblank
    assert set(reader.rejected) <= set(REJECT_REASONS)
    for p in plots:
        for v in (p.time_s, p.range_m, p.azimuth_rad, p.elevation_rad, p.snr_db,
                  p.report_time_s):
            assert math.isfinite(v)
        assert abs(p.time_s) <= MAX_ABS_TIME_S and 0 < p.range_m <= MAX_RANGE_M
        assert 0 <= p.azimuth_rad < 2 * math.pi and abs(p.elevation_rad) <= math.pi / 2
        assert p.time_s <= p.report_time_s
        assert p.sensor_id in reader.sensors


@FAST
@given(data=st.binary(max_size=400))
def test_any_bytes_as_a_plot_file(data: bytes) -> None:
    reader = PlotReader(io.StringIO(data.decode("utf-8", errors="replace")), SENSORS)
    n = sum(1 for _ in reader)
    assert n == reader.accepted


# ------------------------------------------------------------------------------------ loader
def _well_formed(problems: list) -> None:
    for p in problems:
        text = str(p)
        assert text.startswith("s.yaml") and ": " in text and "\n" not in text


@settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_the_loader_never_raises_on_any_text(text: str) -> None:
    problems = validate_text(text, "s.yaml")
    _well_formed(problems)
    if not problems:  # a valid scenario can run: it has sensors and threats
        scenario = load_text(text)
        assert scenario.sensors and scenario.threats


@settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(at=st.integers(min_value=0, max_value=len(BASE)), cut=st.integers(0, 20),
       insert=st.text(alphabet=st.sampled_from(list("{}[]:,-&*!|>'\"#%@ \n\t0123456789.e"
                                                  "abcnul\x00\x07")), max_size=20))
def test_the_loader_never_raises_on_a_damaged_scenario(at: int, cut: int, insert: str) -> None:
    text = BASE[:at] + insert + BASE[at + cut:]
    problems = validate_text(text, "s.yaml")
    _well_formed(problems)
    if not problems:
        assert load_text(text).sensors


# ------------------------------------------------------------------------------------ engine
_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.floats(min_value=-1e3, max_value=3e4))


@st.composite
def batches(draw: st.DrawFn, now: float) -> PlotBatch:
    n = draw(st.integers(0, 12))
    col = lambda: np.array(draw(st.lists(_floats, min_size=n, max_size=n)), dtype=float)  # noqa: E731
    times = np.array(draw(st.lists(st.one_of(st.floats(min_value=now - 30, max_value=now),
                                             _floats), min_size=n, max_size=n)), dtype=float)
    sid = np.array(draw(st.lists(st.integers(-3, 9), min_size=n, max_size=n)), dtype=np.int32)
    report = times + np.array(draw(st.lists(st.floats(0, 2), min_size=n, max_size=n)))
    return PlotBatch(times, sid, np.abs(col()), col(), col() * 0.01, col(), col(), report)


@settings(max_examples=60, deadline=10_000, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_engine_step_never_raises_counts_add_up_and_the_log_is_valid(
    data: st.DataObject,
) -> None:
    """A fresh engine, a few steps of arbitrary plots (any values, any sensor ids, times up
    to 30 s late or anything at all): no exception; every plot accepted or rejected once; the
    events written and read back as a valid log."""
    engine = Engine.from_scenario(two_firings())
    now = 0.0
    given_plots = 0
    buf = io.StringIO()
    writer = EventLogWriter(buf)
    written = 0
    for _ in range(data.draw(st.integers(1, 4))):
        now += data.draw(st.floats(0.1, 5.0))
        plots = data.draw(batches(now))
        written += writer.write(engine.step(now, plots))
        given_plots += len(plots)
        assert engine.plots_accepted + sum(engine.rejected.values()) == given_plots
    back = list(iter_event_dicts(buf.getvalue().splitlines()))
    assert len(back) == written
