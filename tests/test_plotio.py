"""Plot JSON Lines: write → read round trip, every malformed-line category rejected and counted
while the reader keeps going, and the ``plots`` command end to end."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from counterram.commands.plots import plots as plots_command
from counterram.sensors.plotio import (
    REJECT_REASONS,
    PlotReader,
    header_line,
    read_plots,
    write_plots,
)
from counterram.sensors.plots import FALSE_ALARM_ID, UNLABELLED_ID, PlotBatch, PlotTruth, SensorInfo

SENSORS = [
    SensorInfo(1, "lcmr-1", (0.0, 200.0, 10.0), 15.0, 5e-3, 5e-3),
    SensorInfo(2, "wlr-1", (-600.0, -300.0, 5.0), 10.0, 2.5e-3, 2.5e-3, 2.0),
]


def _batch(n: int = 200, seed: int = 1) -> tuple[PlotBatch, PlotTruth]:
    rng = np.random.default_rng(seed)
    sid = rng.integers(1, 3, n).astype(np.int32)
    t = np.sort(rng.uniform(0, 100, n))
    rv = np.where(sid == 2, rng.normal(0, 200, n), np.nan)
    plots = PlotBatch(t, sid, rng.uniform(300, 20_000, n), rng.uniform(0, 2 * np.pi, n),
                      rng.uniform(-0.05, 1.5, n), rv, rng.uniform(11, 40, n),
                      t + np.where(sid == 1, 0.5, 1.0))
    truth = PlotTruth(rng.integers(-1, 20, n))
    return plots, truth


def test_round_trip_keeps_every_field_within_the_written_precision() -> None:
    plots, truth = _batch()
    buf = io.StringIO()
    assert write_plots(buf, plots, SENSORS, truth, scenario="x", seed=3) == len(plots)
    back, labels, reader = read_plots(buf.getvalue().splitlines())
    assert reader.accepted == len(plots) and reader.total_rejected == 0
    assert reader.header == {"format": "counterram-plots", "version": 1, "scenario": "x", "seed": 3}
    assert reader.sensors == {s.sensor_id: s for s in SENSORS}
    np.testing.assert_array_equal(back.sensor_id, plots.sensor_id)
    np.testing.assert_array_equal(labels.round_id, truth.round_id)
    # Written to 1 µs, 1 mm, 1e-7 degree (1.75e-9 rad), 1 mm/s and 0.01 dB: half a unit error.
    np.testing.assert_allclose(back.time_s, plots.time_s, atol=5e-7)
    np.testing.assert_allclose(back.report_time_s, plots.report_time_s, atol=5e-7)
    np.testing.assert_allclose(back.range_m, plots.range_m, atol=5e-4)
    d_az = np.angle(np.exp(1j * (back.azimuth_rad - plots.azimuth_rad)))
    assert np.max(np.abs(d_az)) < 1e-9
    np.testing.assert_allclose(back.elevation_rad, plots.elevation_rad, atol=1e-9)
    np.testing.assert_allclose(back.radial_velocity_mps, plots.radial_velocity_mps, atol=5e-4)
    assert np.array_equal(np.isnan(back.radial_velocity_mps), plots.sensor_id == 1)
    np.testing.assert_allclose(back.snr_db, plots.snr_db, atol=5e-3)


def test_reading_from_a_file_and_without_truth_or_header(tmp_path: Path) -> None:
    plots, _ = _batch(50)
    path = tmp_path / "p.jsonl"
    write_plots(path, plots, SENSORS, header=False)
    reader = PlotReader(path)  # no header and no sensors: every plot names an unknown sensor
    assert list(reader) == [] and reader.rejected == {"unknown_sensor": 50}
    back, labels, reader = read_plots(str(path), SENSORS)  # sensors from the scenario instead
    assert len(back) == 50 and np.all(labels.round_id == UNLABELLED_ID)
    assert "truth_round_id" not in path.read_text().splitlines()[0]


GOOD = {"t": 10.0, "sensor": "wlr-1", "range_m": 5000.0, "azimuth_deg": 90.0,
        "elevation_deg": 10.0, "snr_db": 20.0}


def _line(**changes: object) -> str:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not ...})


BAD_LINES = {
    "not_json": ["{not json", "{\"t\": 1,", "NaN NaN", '{"t": ' + "9" * 5000 + "}",
                 "[" * 100_000, '{"t": ' + "1" * 70_000 + "}"],
    "not_an_object": ["[1, 2, 3]", "42", "\"text\"", "null"],
    "missing_field": [_line(t=...), _line(sensor=...), _line(range_m=...), _line(snr_db=...),
                      _line(azimuth_deg=None)],
    "wrong_type": [_line(t="ten"), _line(range_m=[1]), _line(sensor=1.5), _line(sensor=True),
                   _line(elevation_deg=True), _line(truth_round_id="a"),
                   _line(radial_velocity_mps="fast")],
    "not_finite": ['{"t": NaN, "sensor": "wlr-1", "range_m": 1, "azimuth_deg": 1, '
                   '"elevation_deg": 1, "snr_db": 1}',
                   _line(range_m=float("inf")), _line(snr_db=float("-inf")),
                   _line(radial_velocity_mps=float("nan"))],
    "out_of_range": [_line(range_m=-5.0), _line(range_m=0), _line(elevation_deg=91.0),
                     _line(report_t=9.0), _line(t=10**400),
                     _line(t=1e11), _line(range_m=2e6), _line(report_t=100.0),
                     _line(radial_velocity_mps=2e4), _line(truth_round_id=2**70)],
    "unknown_sensor": [_line(sensor="lcmr-9"), _line(sensor=7)],
    "time_backwards": [_line(t=7.5)],  # 2.5 s before the latest accepted t = 10 (tolerance 2 s)
    "time_jump": [_line(t=1e9)],  # far ahead, and no later plot confirms it
    "duplicate": [_line(t=10.0)],  # the first good line again
    "sensor_redefined": [header_line([SENSORS[0], SensorInfo(2, "wlr-1", (70_000.0, 0.0, 5.0),
                                                             10.0, 2.5e-3, 2.5e-3, 2.0)])],
    "bad_header": ['{"format": "other-format", "sensors": []}',
                   '{"format": "counterram-plots", "version": 2, "sensors": []}',
                   '{"format": "counterram-plots", "version": 1, "sensors": [{"name": "x"}]}',
                   '{"format": "counterram-plots", "version": 1, "sensors": 5}'],
}


def test_reject_reasons_are_the_documented_ones() -> None:
    # ``malformed`` is the reader's last resort: no known line reaches it (tested below);
    # ``bad_record`` is a binary (ASTERIX) record that does not decode, never a JSON line
    assert set(BAD_LINES) | {"malformed", "bad_record"} == set(REJECT_REASONS)
    doc = (Path(__file__).parents[1] / "docs" / "plots.md").read_text(encoding="utf-8")
    for reason in REJECT_REASONS:
        assert f"| `{reason}` |" in doc, reason


def test_an_unexpected_failure_on_a_line_rejects_that_line_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = {"n": 0}
    real = PlotReader._parse

    def flaky(self: PlotReader, record: dict) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemoryError("no room")
        return real(self, record)

    monkeypatch.setattr(PlotReader, "_parse", flaky)
    reader = PlotReader([header_line(SENSORS), _line(t=10.0), _line(t=10.1), _line(t=10.2)])
    assert [p.time_s for p in reader] == [10.0, 10.2]
    assert reader.rejected == {"malformed": 1}


@pytest.mark.parametrize("reason", sorted(BAD_LINES))
def test_each_malformed_line_is_rejected_counted_and_the_reader_goes_on(
    reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [header_line(SENSORS), _line(t=10.0)]
    for i, bad in enumerate(BAD_LINES[reason]):
        lines += [bad, _line(t=10.0 + 0.1 * (i + 1), sensor=1)]  # a good plot after each bad one
    lines.append("")  # blank lines are skipped, not rejected
    with caplog.at_level(logging.WARNING, logger="counterram.sensors.plotio"):
        reader = PlotReader(iter(lines), time_tolerance_s=2.0)
        good = list(reader)
    n_bad = len(BAD_LINES[reason])
    assert reader.rejected == {reason: n_bad}
    assert reader.accepted == len(good) == n_bad + 1
    assert [p.sensor_id for p in good] == [2] + [1] * n_bad
    assert sum(reason in r.getMessage() for r in caplog.records) == n_bad


def test_time_within_the_tolerance_is_accepted_and_batches_are_sorted() -> None:
    lines = [header_line(SENSORS), _line(t=10.0), _line(t=9.0), _line(t=12.0), _line(t=10.5)]
    reader = PlotReader(lines, time_tolerance_s=2.0)
    ((batch, _),) = list(reader.batches())
    np.testing.assert_array_equal(batch.time_s, [9.0, 10.0, 10.5, 12.0])
    assert reader.total_rejected == 0
    small = PlotReader(lines, time_tolerance_s=2.0)
    assert [len(b) for b, _ in small.batches(max_plots=3)] == [3, 1]


def test_plots_command_writes_a_readable_file(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("plots")(plots_command)
    app.command("other")(lambda: None)
    out = tmp_path / "fob.jsonl"
    result = CliRunner().invoke(app, ["plots", "fob-mortar", "--out", str(out), "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "first detection per round" in result.output
    back, labels, reader = read_plots(out)
    assert reader.total_rejected == 0 and len(back) > 100
    assert reader.header["seed"] == 5 and [s.name for s in reader.sensors.values()] == [
        "lcmr-1", "fcr-1"]
    assert np.any(labels.round_id == FALSE_ALARM_ID) and np.any(labels.round_id >= 0)
    assert np.all(back.sensor_id == 1)  # the fire-control radar is never cued here
    bad = CliRunner().invoke(app, ["plots", "no-such-scenario", "--out", str(out)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_a_live_feed_cannot_run_ahead_of_the_wall_clock() -> None:
    """With a wall clock, plots an hour ahead after five seconds of real time are rejected at
    once (even three that agree); the same hour of real time later they are a genuine gap."""
    wall = {"now": 0.0}
    lines = [header_line(SENSORS)] + [_line(t=10.0 + i) for i in range(5)]

    def feed(later: float) -> Iterator[str]:  # lines as they arrive, the wall clock moving
        for i, x in enumerate(lines):
            wall["now"] = float(i)
            yield x
        for i in range(3):
            wall["now"] = 5.0 + later + i
            yield _line(t=3614.0 + i)

    early = PlotReader(feed(0.0), wall_clock=lambda: wall["now"])
    assert [p.time_s for p in early][-1] == 14.0
    assert early.rejected == {"time_jump": 3}
    late = PlotReader(feed(3600.0), wall_clock=lambda: wall["now"])
    assert [p.time_s for p in late][-3:] == [3614.0, 3615.0, 3616.0]
    assert late.total_rejected == 0
