"""Plots as JSON Lines: the file and stream format between radars (simulated or real) and the
engine, a writer, and a reader that never dies on bad data.

One JSON object per line (format in docs/plots.md, with a JSON schema of a line):

* an optional header ``{"format": "counterram-plots", "version": 1, "sensors": [...]}`` giving
  each sensor's id, name, position and noise sigmas (what the engine needs to use its plots; the
  engine can also take them from the scenario);
* one line per plot: ``{"t", "sensor", "range_m", "azimuth_deg", "elevation_deg", "snr_db"}``
  with optional ``"radial_velocity_mps"``, ``"report_t"`` and, in simulated exports only,
  ``"truth_round_id"`` (which the engine ignores).

Angles are degrees at this edge (compass azimuth, elevation above the radar's horizontal);
inside they are radians. :class:`PlotReader` rejects a malformed line — not JSON, not an object,
a missing field, a wrong type, NaN or infinity, a value out of range, an unknown sensor, or a
time going backwards by more than the tolerance — counts it by reason, logs it, and goes on.
Written with the standard ``json`` module: one small object per line needs no more, and a schema
library would not give the per-reason counting the engine reports.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from counterram.sensors.plots import UNLABELLED_ID, PlotBatch, PlotTruth, SensorInfo

__all__ = [
    "FORMAT",
    "REJECT_REASONS",
    "VERSION",
    "Plot",
    "PlotReader",
    "header_line",
    "plot_lines",
    "read_plots",
    "write_plots",
]

log = logging.getLogger(__name__)

FORMAT = "counterram-plots"
VERSION = 1
REJECT_REASONS = (
    "not_json",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "not_finite",
    "out_of_range",
    "unknown_sensor",
    "time_backwards",
    "bad_header",
)
"""Why a line can be rejected (the keys of :attr:`PlotReader.rejected`)."""

_LOGGED_PER_REASON = 10  # further rejections of a reason are logged at DEBUG only


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
def _sensor_record(info: SensorInfo) -> dict[str, Any]:
    return {
        "sensor_id": info.sensor_id,
        "name": info.name,
        "position_enu_m": [round(float(v), 3) for v in info.position_enu],
        "sigma_range_m": info.sigma_range_m,
        "sigma_azimuth_mrad": info.sigma_azimuth_rad * 1e3,
        "sigma_elevation_mrad": info.sigma_elevation_rad * 1e3,
        "sigma_radial_velocity_mps": info.sigma_radial_velocity_mps,
    }


def header_line(sensors: Sequence[SensorInfo], **meta: Any) -> str:
    """The header line (no newline): format, version, ``meta`` (e.g. ``scenario``, ``seed``) and
    the sensors."""
    record = {"format": FORMAT, "version": VERSION, **meta}
    record["sensors"] = [_sensor_record(s) for s in sensors]
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def plot_lines(
    plots: PlotBatch,
    sensors: Sequence[SensorInfo],
    truth: PlotTruth | None = None,
) -> Iterator[str]:
    """One JSON line (no newline) per plot, in the batch's order. Sensors are written by name;
    ``truth`` adds ``truth_round_id`` (simulated exports only). Times to 1 µs, ranges to 1 mm,
    angles to 1e-7° (2 nrad), radial velocity to 1 mm/s, SNR to 0.01 dB."""
    names = {s.sensor_id: s.name for s in sensors}
    t = np.round(plots.time_s, 6).tolist()
    rep = np.round(plots.report_time_s, 6).tolist()  # type: ignore[arg-type]
    r = np.round(plots.range_m, 3).tolist()
    az = np.round(np.degrees(plots.azimuth_rad), 7).tolist()
    el = np.round(np.degrees(plots.elevation_rad), 7).tolist()
    rv = np.round(plots.radial_velocity_mps, 3).tolist()
    snr = np.round(plots.snr_db, 2).tolist()
    sid = plots.sensor_id.tolist()
    rid = None if truth is None else truth.round_id.tolist()
    for i in range(len(plots)):
        record: dict[str, Any] = {
            "t": t[i],
            "sensor": names.get(sid[i], sid[i]),
            "range_m": r[i],
            "azimuth_deg": az[i],
            "elevation_deg": el[i],
        }
        if not math.isnan(rv[i]):
            record["radial_velocity_mps"] = rv[i]
        record["snr_db"] = snr[i]
        if rep[i] != t[i]:
            record["report_t"] = rep[i]
        if rid is not None:
            record["truth_round_id"] = rid[i]
        yield json.dumps(record, separators=(",", ":"))


def write_plots(
    out: str | Path | IO[str],
    plots: PlotBatch,
    sensors: Sequence[SensorInfo],
    truth: PlotTruth | None = None,
    *,
    header: bool = True,
    **meta: Any,
) -> int:
    """Write a header (unless ``header=False``) and one line per plot to a path or text stream;
    returns the number of plot lines."""
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8") as fp:
            return write_plots(fp, plots, sensors, truth, header=header, **meta)
    if header:
        out.write(header_line(sensors, **meta) + "\n")
    n = 0
    for line in plot_lines(plots, sensors, truth):
        out.write(line + "\n")
        n += 1
    return n


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plot:
    """One accepted plot, in SI units and radians (azimuth in [0, 2π))."""

    time_s: float
    sensor_id: int
    range_m: float
    azimuth_rad: float
    elevation_rad: float
    radial_velocity_mps: float  # NaN when not measured
    snr_db: float
    report_time_s: float
    truth_round_id: int | None = None


class _Rejected(Exception):  # noqa: N818  (a rejection, not an error)
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _number(record: dict, key: str, *, required: bool = True) -> float | None:
    if key not in record or record[key] is None:
        if required:
            raise _Rejected("missing_field", f"no {key!r}")
        return None
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Rejected("wrong_type", f"{key!r} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise _Rejected("not_finite", f"{key!r} is {value}")
    return value


def _sensor_from_record(item: Any) -> SensorInfo:
    if not isinstance(item, dict):
        raise _Rejected("bad_header", f"a sensor must be an object, got {item!r}")
    try:
        sid = item["sensor_id"]
        name = item["name"]
        pos = item["position_enu_m"]
        if isinstance(sid, bool) or not isinstance(sid, int) or not isinstance(name, str):
            raise TypeError("sensor_id must be an integer and name text")
        if not (isinstance(pos, list) and len(pos) == 3):
            raise TypeError("position_enu_m must be [east, north, up]")
        sigmas = [
            _number(item, "sigma_range_m"),
            _number(item, "sigma_azimuth_mrad"),
            _number(item, "sigma_elevation_mrad"),
            _number(item, "sigma_radial_velocity_mps", required=False),
        ]
        position = [_number({"p": v}, "p") for v in pos]
    except (KeyError, TypeError, _Rejected) as exc:
        raise _Rejected("bad_header", f"sensor {item.get('name', '?')!r}: {exc}") from None
    if any(s is not None and s <= 0 for s in sigmas):
        raise _Rejected("bad_header", f"sensor {name!r}: sigmas must be > 0")
    return SensorInfo(
        sid,
        name,
        (position[0], position[1], position[2]),  # type: ignore[arg-type]
        sigmas[0],  # type: ignore[arg-type]
        sigmas[1] * 1e-3,  # type: ignore[operator]
        sigmas[2] * 1e-3,  # type: ignore[operator]
        sigmas[3],
    )


class PlotReader:
    """Plots from JSON lines: a path, an open text stream (a file, ``sys.stdin``) or any iterable
    of lines.

    Sensors come from ``sensors`` and from header lines in the stream (a header may appear
    anywhere; its sensors are added, by id). A plot names its sensor by name or by id. A plot
    whose time ``t`` is earlier than the latest accepted time by more than
    ``time_tolerance_s`` is rejected as ``time_backwards``. Nothing raises on bad data:
    :attr:`rejected` counts rejections by reason (:data:`REJECT_REASONS`), :attr:`accepted`
    counts plots, and each rejection is logged (the first few per reason at WARNING).
    """

    def __init__(
        self,
        source: str | Path | Iterable[str],
        sensors: Sequence[SensorInfo] = (),
        *,
        time_tolerance_s: float = 2.0,
    ) -> None:
        self.source = source
        self.sensors: dict[int, SensorInfo] = {s.sensor_id: s for s in sensors}
        self.time_tolerance_s = time_tolerance_s
        self.rejected: Counter[str] = Counter()
        self.accepted = 0
        self.line_number = 0
        self.header: dict[str, Any] | None = None
        self._latest_t = -math.inf

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())

    def _lines(self) -> Iterator[str]:
        if isinstance(self.source, str | Path):
            with open(self.source, encoding="utf-8", errors="replace") as fp:
                yield from fp
        else:
            yield from self.source

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        level = logging.WARNING if self.rejected[reason] <= _LOGGED_PER_REASON else logging.DEBUG
        log.log(level, "plot line %d rejected (%s): %s", self.line_number, reason, detail)

    def _sensor_id(self, value: Any) -> int:
        if isinstance(value, str):
            for info in self.sensors.values():
                if info.name == value:
                    return info.sensor_id
            raise _Rejected("unknown_sensor", f"no sensor named {value!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Rejected("wrong_type", f"'sensor' must be a name or an integer, got {value!r}")
        if value not in self.sensors:
            raise _Rejected("unknown_sensor", f"no sensor with id {value}")
        return value

    def _read_header(self, record: dict) -> None:
        items = record.get("sensors")
        if not isinstance(items, list):
            raise _Rejected("bad_header", "'sensors' must be a list of sensor objects")
        if record.get("version") != VERSION:
            raise _Rejected("bad_header", f"version {record.get('version')!r}, expected {VERSION}")
        infos = [_sensor_from_record(item) for item in items]
        for info in infos:
            self.sensors[info.sensor_id] = info
        self.header = {k: v for k, v in record.items() if k != "sensors"}

    def _parse(self, record: dict) -> Plot:
        t = _number(record, "t")
        if "sensor" not in record:
            raise _Rejected("missing_field", "no 'sensor'")
        r = _number(record, "range_m")
        az = _number(record, "azimuth_deg")
        el = _number(record, "elevation_deg")
        snr = _number(record, "snr_db")
        rv = _number(record, "radial_velocity_mps", required=False)
        report = _number(record, "report_t", required=False)
        rid = record.get("truth_round_id")
        if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int)):
            raise _Rejected("wrong_type", f"'truth_round_id' must be an integer, got {rid!r}")
        sid = self._sensor_id(record["sensor"])
        if r <= 0:  # type: ignore[operator]
            raise _Rejected("out_of_range", f"range_m {r} must be > 0")
        if not -90.0 <= el <= 90.0:  # type: ignore[operator]
            raise _Rejected("out_of_range", f"elevation_deg {el} outside [-90, 90]")
        if report is not None and report < t:  # type: ignore[operator]
            raise _Rejected("out_of_range", f"report_t {report} before t {t}")
        if t < self._latest_t - self.time_tolerance_s:  # type: ignore[operator]
            raise _Rejected(
                "time_backwards",
                f"t {t} is {self._latest_t - t:.3f} s before the latest plot "  # type: ignore[operator]
                f"(tolerance {self.time_tolerance_s} s)",
            )
        return Plot(
            t,  # type: ignore[arg-type]
            sid,
            r,  # type: ignore[arg-type]
            math.radians(az) % (2 * math.pi),  # type: ignore[arg-type]
            math.radians(el),  # type: ignore[arg-type]
            math.nan if rv is None else rv,
            snr,  # type: ignore[arg-type]
            t if report is None else report,  # type: ignore[arg-type]
            rid,
        )

    def plots(self) -> Iterator[Plot]:
        """Accepted plots, one by one (header lines are read on the way)."""
        for line in self._lines():
            self.line_number += 1
            text = line.strip()
            if not text:
                continue
            try:
                try:
                    record = json.loads(text)
                except (json.JSONDecodeError, RecursionError) as exc:
                    raise _Rejected("not_json", str(exc)) from None
                if not isinstance(record, dict):
                    raise _Rejected("not_an_object", f"a line must be an object, got {text[:40]}")
                if "format" in record or "sensors" in record:
                    if record.get("format") != FORMAT:
                        raise _Rejected("bad_header", f"format {record.get('format')!r}")
                    self._read_header(record)
                    continue
                plot = self._parse(record)
            except _Rejected as rejection:
                self._reject(rejection.reason, rejection.detail)
                continue
            self._latest_t = max(self._latest_t, plot.time_s)
            self.accepted += 1
            yield plot

    __iter__ = plots

    def batches(self, max_plots: int = 4096) -> Iterator[tuple[PlotBatch, PlotTruth]]:
        """Accepted plots in batches of at most ``max_plots`` consecutive plots, each sorted by
        time, with truth labels (``UNLABELLED_ID`` where a line had none; the engine ignores
        them)."""
        buffer: list[Plot] = []
        for plot in self.plots():
            buffer.append(plot)
            if len(buffer) >= max_plots:
                yield _to_batch(buffer)
                buffer = []
        if buffer:
            yield _to_batch(buffer)

    def read_all(self) -> tuple[PlotBatch, PlotTruth]:
        """Every accepted plot in one batch sorted by time, with truth labels."""
        return _to_batch(list(self.plots()))


def _to_batch(plots: list[Plot]) -> tuple[PlotBatch, PlotTruth]:
    if not plots:
        return PlotBatch.empty(), PlotTruth.empty()
    cols = list(zip(*((p.time_s, p.sensor_id, p.range_m, p.azimuth_rad, p.elevation_rad,
                       p.radial_velocity_mps, p.snr_db, p.report_time_s) for p in plots),
                    strict=True))
    batch = PlotBatch(
        np.array(cols[0]),
        np.array(cols[1], dtype=np.int32),
        *(np.array(c, dtype=float) for c in cols[2:]),
    )
    truth = PlotTruth(
        np.array([UNLABELLED_ID if p.truth_round_id is None else p.truth_round_id for p in plots],
                 dtype=np.int64)
    )
    order = np.argsort(batch.time_s, kind="stable")
    return batch.take(order), truth.take(order)


def read_plots(
    source: str | Path | Iterable[str], sensors: Sequence[SensorInfo] = ()
) -> tuple[PlotBatch, PlotTruth, PlotReader]:
    """Read a whole plot file: (plots, truth labels, the reader with its sensors and counts)."""
    reader = PlotReader(source, sensors)
    plots, truth = reader.read_all()
    return plots, truth, reader
