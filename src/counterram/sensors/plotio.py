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
a missing field, a wrong type, NaN or infinity, a value out of range, an unknown sensor, a
time going backwards by more than the tolerance or jumping far ahead of the stream's clock, an
exact repeat of a plot, a header redefining a known sensor — counts it by reason, logs it, and
goes on. A line is untrusted input: whatever fails while it is read rejects that line only.
Written with the standard ``json`` module: one small object per line needs no more, and a schema
library would not give the per-reason counting the engine reports.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from counterram.sensors.plots import UNLABELLED_ID, PlotBatch, PlotTruth, SensorInfo

__all__ = [
    "FORMAT",
    "REJECT_REASONS",
    "VERSION",
    "LineRejection",
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
    "time_jump",
    "duplicate",
    "bad_header",
    "sensor_redefined",
    "bad_record",
    "malformed",
)
"""Why a line can be rejected (the keys of :attr:`PlotReader.rejected`)."""

MAX_ABS_TIME_S = 1e10
"""Largest |t| and |report_t| (about 317 years: room for Unix time in seconds)."""
MAX_RANGE_M = 1e6
"""Largest plot range (1,000 km; the longest-ranged radar preset reaches 60 km)."""
MAX_RADIAL_VELOCITY_MPS = 1e4
"""Largest |radial velocity| (10 km/s; a 122 mm rocket flies under 1 km/s)."""
MAX_REPORT_DELAY_S = 60.0
"""Longest delay from a plot's measurement to its report (a radar's ``latency_s`` ≤ 60 s)."""
MAX_LINE_CHARS = 65_536
"""Longest line read (a plot line is about 200 characters, a header with many sensors a few
kB; a UDP datagram is at most 64 kB)."""

_LOGGED_PER_REASON = 10  # further rejections of a reason are logged at DEBUG only
_MAX_REMEMBERED = 100_000  # plots remembered for the duplicate check (a few seconds' worth)


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
class LineRejection:
    """What a source yields in place of a line it could not turn into one (a binary record
    that does not decode, :mod:`counterram.sensors.asterix`): the reader counts it under
    ``reason`` (one of :data:`REJECT_REASONS`) like a rejected line."""

    reason: str
    detail: str


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
    arrival_s: float = math.nan
    """When the line arrived (the reader's ``arrival`` clock; NaN without one)."""


class _Rejected(Exception):  # noqa: N818  (a rejection, not an error)
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _short(value: Any, limit: int = 40) -> str:
    """A value for a log line, truncated (a line can hold a megabyte of text)."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(record: dict, key: str, *, required: bool = True) -> float | None:
    if key not in record or record[key] is None:
        if required:
            raise _Rejected("missing_field", f"no {key!r}")
        return None
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Rejected("wrong_type", f"{key!r} must be a number, got {_short(value)}")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the float range (hundreds of digits)
        raise _Rejected("out_of_range", f"{key!r} is an integer too large for a number") \
            from None
    if not math.isfinite(value):
        raise _Rejected("not_finite", f"{key!r} is {value}")
    return value


def _wrap(angle: float) -> float:
    """An angle in [0, 2π): ``x % 2π`` is 2π itself for a tiny negative x (−1e-313 rad)."""
    wrapped = angle % (2 * math.pi)
    return 0.0 if wrapped >= 2 * math.pi else wrapped


def _same_sensor(a: SensorInfo, b: SensorInfo) -> bool:
    """Whether two definitions of a sensor agree within the written precision (1 mm, and the
    sigmas' rounding to and from milliradians)."""
    def close(x: float | None, y: float | None) -> bool:
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            return (x is None or not math.isfinite(x)) == (y is None or not math.isfinite(y))
        return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9)

    return (
        a.name == b.name
        and all(abs(float(p) - float(q)) <= 2e-3 for p, q in
                zip(a.position_enu, b.position_enu, strict=True))
        and close(a.sigma_range_m, b.sigma_range_m)
        and close(a.sigma_azimuth_rad, b.sigma_azimuth_rad)
        and close(a.sigma_elevation_rad, b.sigma_elevation_rad)
        and close(a.sigma_radial_velocity_mps, b.sigma_radial_velocity_mps)
    )


def _sensor_from_record(item: Any) -> SensorInfo:
    if not isinstance(item, dict):
        raise _Rejected("bad_header", f"a sensor must be an object, got {_short(item)}")
    try:
        sid = item["sensor_id"]
        name = item["name"]
        pos = item["position_enu_m"]
        if isinstance(sid, bool) or not isinstance(sid, int) or not isinstance(name, str):
            raise TypeError("sensor_id must be an integer and name text")
        if not 0 <= sid < 2**31:
            raise TypeError("sensor_id must be in 0..2147483647")
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
        raise _Rejected("bad_header", f"sensor {_short(item.get('name', '?'))}: {exc}") from None
    if any(s is not None and not 0 < s <= MAX_RANGE_M for s in sigmas):
        raise _Rejected("bad_header", f"sensor {_short(name)}: sigmas must be > 0 (and sane)")
    if any(abs(v) > MAX_RANGE_M for v in position):  # type: ignore[arg-type]
        raise _Rejected("bad_header", f"sensor {_short(name)}: position beyond "
                                      f"{MAX_RANGE_M:g} m")
    return SensorInfo(
        sid,
        name,
        (position[0], position[1], position[2]),  # type: ignore[arg-type]
        sigmas[0],  # type: ignore[arg-type]
        sigmas[1] * 1e-3,  # type: ignore[operator]
        sigmas[2] * 1e-3,  # type: ignore[operator]
        sigmas[3],
    )


@dataclass
class _Held:
    """A plot held back because its time lies far ahead of (or, before the stream has a clock,
    far from) the stream's clock: ``accepted_at`` is the reader's accepted count when it was
    held."""

    plot: Plot
    line_number: int
    accepted_at: int


class PlotReader:
    """Plots from JSON lines: a path, an open text stream (a file, ``sys.stdin``) or any iterable
    of lines.

    Sensors come from ``sensors`` and from header lines in the stream (a header may appear
    anywhere). A header sensor with a known id must agree with what is known of it (else the
    header is rejected as ``sensor_redefined``); a new id is added, unless ``add_sensors`` is
    false (the live engine: its sensors are the scenario's), when the header is rejected as
    ``unknown_sensor``. A plot names its sensor by name or by id.

    Time: the stream's clock is the latest accepted ``t``. A plot earlier than it by more than
    ``time_tolerance_s`` is rejected as ``time_backwards``. A plot later than it by more than
    ``max_jump_s`` is held: when ``confirm_jump`` held plots agree (within ``max_jump_s`` of
    each other) the stream has a genuine gap and they are accepted, in order (the clock jumps);
    a held plot that ``confirm_jump`` accepted plots have passed by, or that is still held at
    the end of the stream, is rejected as ``time_jump``. The first plots of a stream are held
    the same way until ``confirm_jump`` of them agree, so a stray first time does not set the
    clock (a stream of fewer plots than that is accepted as it is). An exact repeat of a plot
    (every field equal) within ``time_tolerance_s`` is rejected as ``duplicate``. With a
    ``wall_clock`` (a live feed whose plot times run with real time, e.g. ``time.monotonic``),
    a plot more than ``max_jump_s`` further ahead of the latest plot than the wall clock has
    moved since is rejected as ``time_jump`` at once. ``arrival`` (a clock) stamps each plot
    with the time its line was read (:attr:`Plot.arrival_s`).

    Gaps: a plot line may carry ``seq``, a number the sender gives every plot line (a UDP
    sender counts its datagrams, those lost included). A ``seq`` more than one past the
    highest seen adds the numbers skipped to :attr:`missing`; a lower one (a line that
    arrived out of order) takes one back; a ``seq`` of 0 after others (a sender restarted)
    starts counting afresh.

    Nothing raises on bad data: :attr:`rejected` counts rejections by reason
    (:data:`REJECT_REASONS`), :attr:`accepted` counts plots, and each rejection is logged (the
    first few per reason at WARNING).
    """

    def __init__(
        self,
        source: str | Path | Iterable[str],
        sensors: Sequence[SensorInfo] = (),
        *,
        time_tolerance_s: float = 2.0,
        max_jump_s: float = 60.0,
        confirm_jump: int = 3,
        add_sensors: bool = True,
        wall_clock: Callable[[], float] | None = None,
        arrival: Callable[[], float] | None = None,
    ) -> None:
        if not (math.isfinite(max_jump_s) and max_jump_s > 0) or confirm_jump < 1:
            raise ValueError("PlotReader: max_jump_s must be > 0 and confirm_jump ≥ 1")
        self.source = source
        self.sensors: dict[int, SensorInfo] = {s.sensor_id: s for s in sensors}
        self.time_tolerance_s = time_tolerance_s
        self.max_jump_s = max_jump_s
        self.confirm_jump = confirm_jump
        self.add_sensors = add_sensors
        self.wall_clock = wall_clock
        self.arrival = arrival
        self._wall_at_latest = math.nan
        self.missing = 0
        """Lines the stream's ``seq`` numbers say never came (class docstring)."""
        self._seq: int | None = None
        self.rejected: Counter[str] = Counter()
        self.accepted = 0
        self.headers = 0
        """Header lines read (accepted); every non-blank line is a plot accepted, a header or
        a rejection, once the stream has ended."""
        self.line_number = 0
        self.header: dict[str, Any] | None = None
        self._latest_t = -math.inf
        self._held: list[_Held] = []
        self._recent: deque[tuple[float, tuple]] = deque()
        self._recent_keys: Counter[tuple] = Counter()

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def clock_s(self) -> float:
        """The stream's clock: the latest accepted plot time (−inf before the first)."""
        return self._latest_t

    def _lines(self) -> Iterator[str]:
        if isinstance(self.source, str | Path):
            with open(self.source, encoding="utf-8", errors="replace") as fp:
                yield from fp
        else:
            yield from self.source

    def _reject(self, reason: str, detail: str, line_number: int | None = None) -> None:
        self.rejected[reason] += 1
        level = logging.WARNING if self.rejected[reason] <= _LOGGED_PER_REASON else logging.DEBUG
        number = self.line_number if line_number is None else line_number
        log.log(level, "plot line %d rejected (%s): %s", number, reason, detail)

    def _sensor_id(self, value: Any) -> int:
        if isinstance(value, str):
            for info in self.sensors.values():
                if info.name == value:
                    return info.sensor_id
            raise _Rejected("unknown_sensor", f"no sensor named {_short(value)}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Rejected("wrong_type",
                            f"'sensor' must be a name or an integer, got {_short(value)}")
        if value not in self.sensors:
            raise _Rejected("unknown_sensor", f"no sensor with id {_short(value)}")
        return value

    def _read_header(self, record: dict) -> None:
        items = record.get("sensors")
        if not isinstance(items, list):
            raise _Rejected("bad_header", "'sensors' must be a list of sensor objects")
        if record.get("version") != VERSION:
            raise _Rejected("bad_header",
                            f"version {_short(record.get('version'))}, expected {VERSION}")
        infos = [_sensor_from_record(item) for item in items]
        names = {i.name: i.sensor_id for i in self.sensors.values()}
        for info in infos:
            known = self.sensors.get(info.sensor_id)
            if known is not None and not _same_sensor(known, info):
                raise _Rejected("sensor_redefined",
                                f"sensor {info.sensor_id} ({_short(known.name)}) redefined as "
                                f"{_short(info.name)} at {info.position_enu}; a header may "
                                "repeat a sensor, not change it")
            if known is None and names.get(info.name, info.sensor_id) != info.sensor_id:
                raise _Rejected("sensor_redefined",
                                f"sensor name {_short(info.name)} already names sensor "
                                f"{names[info.name]}")
            if known is None and not self.add_sensors:
                raise _Rejected("unknown_sensor",
                                f"header sensor {info.sensor_id} ({_short(info.name)}) is not "
                                f"one of the engine's sensors {sorted(self.sensors)}")
        for info in infos:
            self.sensors[info.sensor_id] = info
        self.header = {k: v for k, v in record.items() if k != "sensors"}
        self.headers += 1

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
            raise _Rejected("wrong_type",
                            f"'truth_round_id' must be an integer, got {_short(rid)}")
        if rid is not None and not -(2**63) <= rid < 2**63:
            raise _Rejected("out_of_range", "'truth_round_id' beyond a 64-bit integer")
        seq = record.get("seq")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 0):
            raise _Rejected("wrong_type", f"'seq' must be an integer ≥ 0, got {_short(seq)}")
        if seq is not None:  # received, whatever becomes of it: not missing
            self._sequence(seq)
        sid = self._sensor_id(record["sensor"])
        if abs(t) > MAX_ABS_TIME_S:  # type: ignore[arg-type]
            raise _Rejected("out_of_range", f"t {t} beyond ±{MAX_ABS_TIME_S:g} s")
        if not 0 < r <= MAX_RANGE_M:  # type: ignore[operator]
            raise _Rejected("out_of_range", f"range_m {r} outside (0, {MAX_RANGE_M:g}]")
        if not -90.0 <= el <= 90.0:  # type: ignore[operator]
            raise _Rejected("out_of_range", f"elevation_deg {el} outside [-90, 90]")
        if rv is not None and abs(rv) > MAX_RADIAL_VELOCITY_MPS:
            raise _Rejected("out_of_range", f"radial_velocity_mps {rv} beyond "
                                            f"±{MAX_RADIAL_VELOCITY_MPS:g}")
        if report is not None and not t <= report <= t + MAX_REPORT_DELAY_S:  # type: ignore[operator]
            raise _Rejected("out_of_range", f"report_t {report} not within "
                                            f"[t, t + {MAX_REPORT_DELAY_S:g} s] of t {t}")
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
            _wrap(math.radians(az)),  # type: ignore[arg-type]
            math.radians(el),  # type: ignore[arg-type]
            math.nan if rv is None else rv,
            snr,  # type: ignore[arg-type]
            t if report is None else report,  # type: ignore[arg-type]
            rid,
            math.nan if self.arrival is None else self.arrival(),
        )

    def _sequence(self, seq: int) -> None:
        """Count the lines a ``seq`` number says are missing (class docstring)."""
        last = self._seq
        if last is None or (seq == 0 and last > 0):
            self._seq = seq
        elif seq > last:
            self.missing += seq - last - 1
            self._seq = seq
        elif seq < last and self.missing:
            self.missing -= 1

    # ---- duplicates ---------------------------------------------------------------------
    @staticmethod
    def _key(plot: Plot) -> tuple:
        rv = plot.radial_velocity_mps
        return (plot.time_s, plot.sensor_id, plot.range_m, plot.azimuth_rad,
                plot.elevation_rad, None if math.isnan(rv) else rv, plot.snr_db,
                plot.report_time_s)

    def _is_duplicate(self, plot: Plot) -> bool:
        return self._recent_keys[self._key(plot)] > 0

    def _remember(self, plot: Plot) -> None:
        key = self._key(plot)
        self._recent.append((plot.time_s, key))
        self._recent_keys[key] += 1
        horizon = self._latest_t - self.time_tolerance_s
        while self._recent and (self._recent[0][0] < horizon
                                or len(self._recent) > _MAX_REMEMBERED):
            _, old = self._recent.popleft()
            self._recent_keys[old] -= 1
            if not self._recent_keys[old]:
                del self._recent_keys[old]

    # ---- the clock ----------------------------------------------------------------------
    def _accept(self, plot: Plot) -> Plot:
        if plot.time_s >= self._latest_t and self.wall_clock is not None:
            self._wall_at_latest = self.wall_clock()
        self._latest_t = max(self._latest_t, plot.time_s)
        self.accepted += 1
        self._remember(plot)
        return plot

    def _judge(self, plot: Plot) -> list[Plot]:
        """Accept ``plot`` or hold it (class docstring); the plots accepted now, in order."""
        out: list[Plot] = []
        # held plots that the stream has passed by (it went on at its clock) are strays
        if self._held and self._latest_t > -math.inf:
            keep = []
            for h in self._held:
                if self.accepted - h.accepted_at >= self.confirm_jump:
                    self._reject("time_jump", f"t {h.plot.time_s} lies more than "
                                 f"{self.max_jump_s:g} s ahead of the stream's clock "
                                 f"{self._latest_t} and no plot confirmed it", h.line_number)
                else:
                    keep.append(h)
            self._held = keep
        started = self._latest_t > -math.inf
        if started and self.wall_clock is not None:
            # a live feed cannot run ahead of the wall clock by more than max_jump_s
            ahead = plot.time_s - self._latest_t - (self.wall_clock() - self._wall_at_latest)
            if ahead > self.max_jump_s:
                raise _Rejected("time_jump", f"t {plot.time_s} is {ahead:.1f} s ahead of the "
                                             "wall clock since the latest plot")
        if started and plot.time_s <= self._latest_t + self.max_jump_s:
            out.append(self._accept(plot))
            return out
        group = [h for h in self._held if abs(h.plot.time_s - plot.time_s) <= self.max_jump_s]
        latest = max((h.plot.time_s for h in group), default=-math.inf)
        if plot.time_s < latest - self.time_tolerance_s:
            raise _Rejected("time_backwards", f"t {plot.time_s} is {latest - plot.time_s:.3f} s "
                            f"before the plots held (tolerance {self.time_tolerance_s} s)")
        if len(group) + 1 >= self.confirm_jump:
            if started:
                log.info("plot stream: a gap of %.1f s (clock %s → %s), confirmed by %d plots",
                         group[0].plot.time_s - self._latest_t if group else 0.0,
                         self._latest_t, plot.time_s, len(group) + 1)
            members = {id(h) for h in group}
            for h in self._held:
                if id(h) not in members:
                    self._reject("time_jump", f"t {h.plot.time_s} disagrees with the "
                                 f"stream's clock {plot.time_s}", h.line_number)
            self._held = []
            for h in group:
                if self._is_duplicate(h.plot):
                    self._reject("duplicate", "the same plot again", h.line_number)
                else:
                    out.append(self._accept(h.plot))
            out.append(self._accept(plot))
            return out
        self._held.append(_Held(plot, self.line_number, self.accepted))
        if len(self._held) > 2 * self.confirm_jump:
            h = self._held.pop(0)
            self._reject("time_jump", f"t {h.plot.time_s} far from the stream's other plots",
                         h.line_number)
        return out

    def _finish(self) -> list[Plot]:
        """At the end of the stream: held plots are rejected, unless the stream never had a
        clock (too few plots to confirm one): then they are accepted in order."""
        held, self._held = self._held, []
        if self._latest_t == -math.inf:
            groups = [[h for h in held if abs(h.plot.time_s - g.plot.time_s) <= self.max_jump_s]
                      for g in held]
            best = max(groups, key=len, default=[])
            chosen = {id(h) for h in best}
            for h in held:
                if id(h) not in chosen:
                    self._reject("time_jump", f"t {h.plot.time_s} far from the stream's other "
                                 "plots", h.line_number)
            return [self._accept(h.plot) for h in best]
        for h in held:
            self._reject("time_jump", f"t {h.plot.time_s} lies more than {self.max_jump_s:g} s "
                         f"ahead of the stream's clock {self._latest_t} and no plot confirmed "
                         "it", h.line_number)
        return []

    def plots(self) -> Iterator[Plot]:
        """Accepted plots, one by one (header lines are read on the way)."""
        for line in self._lines():
            self.line_number += 1
            try:
                accepted = self._read_line(line)
            except _Rejected as rejection:
                self._reject(rejection.reason, rejection.detail)
                continue
            except Exception as exc:  # one bad line must not stop the stream
                self._reject("malformed", f"{type(exc).__name__}: {_short(str(exc), 80)}")
                continue
            yield from accepted
        yield from self._finish()

    def _read_line(self, line: Any) -> list[Plot]:
        if isinstance(line, LineRejection):
            reason = line.reason if line.reason in REJECT_REASONS else "malformed"
            raise _Rejected(reason, line.detail)
        if isinstance(line, bytes | bytearray):
            line = line.decode("utf-8", errors="replace")
        if not isinstance(line, str):
            raise _Rejected("not_json", f"a line must be text, got {type(line).__name__}")
        if len(line) > MAX_LINE_CHARS:
            raise _Rejected("not_json", f"line of {len(line):,} characters (at most "
                                        f"{MAX_LINE_CHARS:,})")
        text = line.strip()
        if not text:
            return []
        try:
            record = json.loads(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, or a huge integer
            raise _Rejected("not_json", _short(str(exc), 80)) from None
        if not isinstance(record, dict):
            raise _Rejected("not_an_object", f"a line must be an object, got {text[:40]}")
        if "format" in record or "sensors" in record:
            if record.get("format") != FORMAT:
                raise _Rejected("bad_header", f"format {_short(record.get('format'))}")
            self._read_header(record)
            return []
        plot = self._parse(record)
        if self._is_duplicate(plot) or any(self._key(h.plot) == self._key(plot)
                                           for h in self._held):
            raise _Rejected("duplicate", f"the same plot again (sensor {plot.sensor_id}, "
                                         f"t {plot.time_s})")
        return self._judge(plot)

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
