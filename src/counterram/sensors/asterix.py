"""Radar plots as EUROCONTROL ASTERIX CAT 048 (monoradar target reports), in and out.

Why it exists: radars and radar networks speak ASTERIX, not the project's JSON Lines
(docs/plots.md). This module maps one plot to one CAT 048 record (in a data block of its own,
so that one datagram or one corrupt block loses one plot) and back. Decoding turns each record
into a plot line of the JSON Lines format, so the plot reader
(:class:`~counterram.sensors.plotio.PlotReader`) validates ASTERIX plots exactly as it does
JSON plots; a block that cannot be decoded becomes a :class:`~counterram.sensors.plotio.
LineRejection` (``bad_record``, or ``missing_field`` for a record without a needed item), which
the reader counts with its other reject reasons. Nothing here raises on bad bytes.

Items written (docs/asterix.md has units, LSBs and what is lost):

* I048/010 SAC/SIC: the sensor id, ``SAC = id // 256``, ``SIC = id % 256`` (ids 0…65535);
* I048/140 time of day: seconds since UTC midnight, 1/128 s; the scenario time ``t`` is
  ``time of day − tod_offset_s`` (the scenario epoch's second of the day, :func:`tod_offset`),
  unwrapped across midnight by the decoder;
* I048/020 target report descriptor: TYP 1 (single primary detection);
* I048/040 ρ/θ: slant range 1/256 NM, azimuth 360/2¹⁶ °;
* I048/090 flight level, marked not validated (V = 1): the 3-D height over 100 ft, for
  displays that show a flight level; the decoder does not read it;
* I048/110 3-D height, 25 ft: CAT 048 has no elevation angle, so the encoder writes the
  height that the elevation gives over a spherical Earth of 4/3 the mean radius (the standard
  refraction model, :data:`EFFECTIVE_EARTH_RADIUS_M`), above the site frame's datum (the
  sensor's own height added), and the decoder inverts the same model; the elevation's error is
  then about the height LSB over the ground range (12.5 ft at 2 km: 1.9 mrad);
* I048/120 CAL radial Doppler speed, 1 m/s, when the plot has one (positive opening). The
  issue text names I048/200, but that item is a track's ground speed and heading, which a plot
  does not have; I048/120 is the item for a measured radial speed;
* I048/130 PAM: the plot's SNR, 1 dB, saturated to −128…127 (a plot amplitude in dBm by the
  standard; here it carries the SNR the tracker is given).

libasterix wraps out-of-range values silently (300 NM decodes as 44 NM), so every value is
checked before encoding: a plot whose range or height does not fit is not written (counted in
:attr:`AsterixEncoder.skipped` by reason); a radial speed beyond ±511 m/s is left out (a wrong
Doppler would mislead the tracker; no Doppler only weakens it); SNR saturates. The report time
(``report_t``) is not carried: the decoder adds each sensor's known reporting latency.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from counterram.sensors.plotio import LineRejection
from counterram.sensors.plots import PlotBatch, SensorInfo

__all__ = [
    "ASTERIX_SUFFIX",
    "DOPPLER_LSB_MPS",
    "EFFECTIVE_EARTH_RADIUS_M",
    "FT_M",
    "HEIGHT_LSB_FT",
    "NM_M",
    "RHO_LSB_NM",
    "THETA_LSB_DEG",
    "TOD_LSB_S",
    "AsterixDecoder",
    "AsterixEncoder",
    "cat048",
    "elevation_from_height",
    "encode_plots",
    "height_from_elevation",
    "latencies",
    "sac_sic",
    "split_blocks",
    "tod_offset",
]

ASTERIX_SUFFIX = ".ast"
"""File name ending of an ASTERIX plot file (data blocks back to back, no other framing)."""


@functools.cache
def cat048() -> Any:
    """The CAT 048 edition written and read (libasterix's 1.32). Imported on first use: the
    library's generated module takes ~1 s to import, which every ``counterram`` command would
    otherwise pay at start-up."""
    from asterix.generated import Cat_048_1_32  # type: ignore[import-untyped]

    return Cat_048_1_32

NM_M = 1852.0
FT_M = 0.3048
RHO_LSB_NM = 1 / 256
THETA_LSB_DEG = 360 / 2**16
HEIGHT_LSB_FT = 25.0
TOD_LSB_S = 1 / 128
DOPPLER_LSB_MPS = 1.0
MAX_RHO_NM = (2**16 - 1) * RHO_LSB_NM
"""Largest range I048/040 holds (about 256 NM, 474 km)."""
MIN_HEIGHT_FT, MAX_HEIGHT_FT = -(2**13) * HEIGHT_LSB_FT, (2**13 - 1) * HEIGHT_LSB_FT
"""What I048/110's 14 signed bits hold (±204,800 ft, ±62 km)."""
MAX_DOPPLER_MPS = 2**9 - 1
"""Largest |radial speed| I048/120 CAL's 10 signed bits hold."""
MIN_PAM_DB, MAX_PAM_DB = -128.0, 127.0
DAY_S = 86_400.0
_QUANTISATION_M = (HEIGHT_LSB_FT * FT_M + RHO_LSB_NM * NM_M) / 2
"""How far a decoded height can lie beyond what the decoded range reaches (half an LSB of
each)."""
EFFECTIVE_EARTH_RADIUS_M = 4 / 3 * 6_371_000.0
"""The 4/3-Earth radius of the height ↔ elevation model (standard atmospheric refraction)."""


def tod_offset(epoch: str | None) -> float:
    """Seconds since UTC midnight of a scenario's epoch (ISO 8601, as normalised by the
    scenario schema); 0 without one. ASTERIX times are times of day, so scenario time 0 is
    sent as this."""
    if not epoch:
        return 0.0
    from counterram.scenario.schema import epoch_seconds

    return epoch_seconds(epoch) % DAY_S


def sac_sic(sensor_id: int) -> tuple[int, int]:
    """The (SAC, SIC) that stand for a sensor id: its high and low byte (ids 0…65535)."""
    if not 0 <= sensor_id < 2**16:
        raise ValueError(f"sensor id {sensor_id}: ASTERIX SAC/SIC hold ids 0..65535 only")
    return sensor_id >> 8, sensor_id & 0xFF


def height_from_elevation(range_m: float, elevation_rad: float) -> float:
    """Height above the sensor (m) of a target at slant ``range_m`` and ``elevation_rad``,
    over the 4/3 Earth."""
    re = EFFECTIVE_EARTH_RADIUS_M
    return math.sqrt(range_m**2 + re**2 + 2 * range_m * re * math.sin(elevation_rad)) - re


def elevation_from_height(range_m: float, height_m: float, tolerance_m: float = 0.0) -> float:
    """The elevation (rad) that puts a target at slant ``range_m`` at ``height_m`` above the
    sensor, over the 4/3 Earth (the inverse of :func:`height_from_elevation`). A height
    beyond what the range reaches (straight up or down) by at most ``tolerance_m`` (the
    quantisation of height and range) is taken as ±90°; beyond that, NaN."""
    re = EFFECTIVE_EARTH_RADIUS_M
    s = ((re + height_m) ** 2 - re**2 - range_m**2) / (2 * range_m * re)
    if -1.0 <= s <= 1.0:
        return math.asin(s)
    edge = math.copysign(math.pi / 2, s)
    if abs(height_m - height_from_elevation(range_m, edge)) <= tolerance_m:
        return edge
    return math.nan


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------
class AsterixEncoder:
    """Plots → CAT 048 data blocks (module docstring). ``sensors`` gives each sensor's height
    (added to the height above it); ``tod_offset_s`` is the time of day of scenario time 0."""

    def __init__(self, sensors: Sequence[SensorInfo], *, tod_offset_s: float = 0.0) -> None:
        self.height_m = {s.sensor_id: float(s.position_enu[2]) for s in sensors}
        for s in sensors:
            sac_sic(s.sensor_id)  # a clear error now, not at the first plot
        self.tod_offset_s = tod_offset_s
        self.skipped: Counter[str] = Counter()
        """Plots not written, by reason (``range``, ``height``, ``sensor``, ``not_finite``)."""
        self.doppler_dropped = 0
        """Plots written without their radial speed (beyond ±511 m/s)."""

    @property
    def total_skipped(self) -> int:
        """Plots not written."""
        return sum(self.skipped.values())

    def block(
        self,
        time_s: float,
        sensor_id: int,
        range_m: float,
        azimuth_rad: float,
        elevation_rad: float,
        radial_velocity_mps: float,
        snr_db: float,
    ) -> bytes | None:
        """One plot as a CAT 048 data block, or None when it cannot be written (counted)."""
        if not all(math.isfinite(v) for v in (time_s, range_m, azimuth_rad, elevation_rad,
                                               snr_db)):
            self.skipped["not_finite"] += 1
            return None
        if sensor_id not in self.height_m:
            self.skipped["sensor"] += 1
            return None
        rho_nm = range_m / NM_M
        if not 0 < rho_nm <= MAX_RHO_NM - RHO_LSB_NM / 2:
            self.skipped["range"] += 1
            return None
        height_ft = (height_from_elevation(range_m, elevation_rad)
                     + self.height_m[sensor_id]) / FT_M
        if not MIN_HEIGHT_FT <= height_ft <= MAX_HEIGHT_FT - HEIGHT_LSB_FT / 2:
            self.skipped["height"] += 1
            return None
        sac, sic = sac_sic(sensor_id)
        theta = math.degrees(azimuth_rad) % 360.0
        if theta >= 360.0 - THETA_LSB_DEG / 2:  # would round to 2¹⁶ and wrap: it is north
            theta = 0.0
        tod = (time_s + self.tod_offset_s) % DAY_S
        if tod >= DAY_S - TOD_LSB_S / 2:
            tod = 0.0
        items: dict[str, Any] = {
            "010": (("SAC", sac), ("SIC", sic)),
            "140": (tod, "s"),
            "020": ((("TYP", 1), ("SIM", 0), ("RDP", 0), ("SPI", 0), ("RAB", 0), None),),
            "040": (("RHO", (rho_nm, "NM")), ("THETA", (theta, "°"))),
            "090": (("V", 1), ("G", 0), ("FL", (_fl(height_ft), "FL"))),
            "110": (0, ("3DH", (height_ft, "ft"))),
            "130": {"PAM": (min(max(round(snr_db), MIN_PAM_DB), MAX_PAM_DB), "dBm")},
        }
        if math.isfinite(radial_velocity_mps):
            if abs(radial_velocity_mps) <= MAX_DOPPLER_MPS:
                items["120"] = {"CAL": (("D", 0), 0, ("CAL", (radial_velocity_mps, "m/s")))}
            else:
                self.doppler_dropped += 1
        cat = cat048()
        record = cat.cv_record.create(items)
        return bytes(cat.create([record]).unparse().to_bytes())

    def blocks(self, plots: PlotBatch) -> Iterator[bytes]:
        """One data block per plot of ``plots`` that can be written, in the batch's order."""
        cols = (plots.time_s.tolist(), plots.sensor_id.tolist(), plots.range_m.tolist(),
                plots.azimuth_rad.tolist(), plots.elevation_rad.tolist(),
                plots.radial_velocity_mps.tolist(), plots.snr_db.tolist())
        for values in zip(*cols, strict=True):
            data = self.block(*values)
            if data is not None:
                yield data


def _fl(height_ft: float) -> float:
    """A flight level (1/4 FL) for I048/090 from the height, within its 14 signed bits."""
    return min(max(height_ft / 100.0, -2048.0), 2047.75)


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------
def split_blocks(data: bytes) -> Iterator[bytes | LineRejection]:
    """The data blocks of ``data`` (CAT, 2-byte length, records) back to back; a block whose
    length field is impossible ends the walk with one ``bad_record`` rejection (nothing after
    it can be framed)."""
    at = 0
    while at < len(data):
        if len(data) - at < 3:
            yield LineRejection("bad_record", f"{len(data) - at} stray bytes after the last "
                                              "data block")
            return
        length = int.from_bytes(data[at + 1:at + 3], "big")
        if length < 4 or at + length > len(data):
            yield LineRejection("bad_record", f"data block at byte {at}: length {length} "
                                f"with {len(data) - at} bytes left")
            return
        yield data[at:at + length]
        at += length


class AsterixDecoder:
    """CAT 048 data blocks → plot lines of the JSON Lines format (or rejections) for the plot
    reader. ``latency_s`` maps a sensor id to its reporting latency (``report_t = t +
    latency``); ``tod_offset_s`` is the time of day of scenario time 0; ``height_m`` maps a
    sensor id to its height in the site frame (subtracted from the 3-D height)."""

    def __init__(
        self,
        sensors: Sequence[SensorInfo] = (),
        *,
        latency_s: Mapping[int, float] | None = None,
        tod_offset_s: float = 0.0,
    ) -> None:
        self.height_m = {s.sensor_id: float(s.position_enu[2]) for s in sensors}
        self.latency_s = dict(latency_s or {})
        self.tod_offset_s = tod_offset_s
        self._day = 0
        self._last_tod: float | None = None

    def lines(self, data: bytes) -> Iterator[str | LineRejection]:
        """The plot lines (or rejections) of ``data``: whole data blocks, back to back."""
        for block in split_blocks(data):
            if isinstance(block, LineRejection):
                yield block
            else:
                yield from self._block(block)

    def _block(self, block: bytes) -> Iterator[str | LineRejection]:
        cat = block[0]
        if cat == 34:  # north marker / sector messages: not plots
            return
        if cat != 48:
            yield LineRejection("bad_record", f"ASTERIX category {cat} (only 048 is read)")
            return
        from asterix.base import Bits  # type: ignore[import-untyped]

        try:
            records = cat048().cv_uap.parse(Bits.from_bytes(block[3:]))
        except Exception as exc:  # a library fault on hostile bytes must not stop the stream
            yield LineRejection("bad_record", f"CAT 048 block: {type(exc).__name__}: {exc}")
            return
        if isinstance(records, ValueError):
            yield LineRejection("bad_record", f"CAT 048 block: {records}")
            return
        for record in records:
            try:
                yield self._record(record)
            except Exception as exc:  # e.g. an item the library parsed but cannot convert
                yield LineRejection("bad_record", f"CAT 048 record: {type(exc).__name__}")

    def _record(self, record: Any) -> str | LineRejection:
        i010, i140, i040 = record.get_item("010"), record.get_item("140"), record.get_item("040")
        i110, i130 = record.get_item("110"), record.get_item("130")
        for name, item in (("I048/010", i010), ("I048/140", i140), ("I048/040", i040),
                           ("I048/110", i110)):
            if item is None:
                return LineRejection("missing_field", f"CAT 048 record without {name}")
        sid = i010.variation.get_item("SAC").as_uint() * 256 + \
            i010.variation.get_item("SIC").as_uint()
        tod = float(i140.variation.content.as_quantity("s"))
        rho = float(i040.variation.get_item("RHO").variation.content.as_quantity("NM"))
        theta = float(i040.variation.get_item("THETA").variation.content.as_quantity("°"))
        height_ft = float(i110.variation.get_item("3DH").variation.content.as_quantity("ft"))
        range_m = rho * NM_M
        if range_m <= 0:
            return LineRejection("out_of_range", "I048/040 range 0")
        elevation = elevation_from_height(range_m, height_ft * FT_M - self.height_m.get(sid, 0.0),
                                          _QUANTISATION_M)
        if not math.isfinite(elevation):
            return LineRejection("out_of_range", f"I048/110 height {height_ft:g} ft beyond the "
                                                 f"range {rho:g} NM")
        t = self._unwrap(tod) - self.tod_offset_s
        line: dict[str, Any] = {
            "t": round(t, 6),
            "sensor": sid,
            "range_m": round(range_m, 3),
            "azimuth_deg": round(theta, 7),
            "elevation_deg": round(math.degrees(elevation), 7),
            "snr_db": 0.0,
        }
        if i130 is not None and i130.variation.get_item("PAM") is not None:
            pam = i130.variation.get_item("PAM").variation.content.as_quantity("dBm")
            line["snr_db"] = float(pam)
        else:
            return LineRejection("missing_field", "CAT 048 record without I048/130 PAM (SNR)")
        i120 = record.get_item("120")
        cal = None if i120 is None else i120.variation.get_item("CAL")
        if cal is not None:
            line["radial_velocity_mps"] = float(
                cal.variation.get_item("CAL").variation.content.as_quantity("m/s"))
        latency = self.latency_s.get(sid, 0.0)
        if latency > 0:
            line["report_t"] = round(t + latency, 6)
        return json.dumps(line, separators=(",", ":"))

    def _unwrap(self, tod: float) -> float:
        """Seconds since the first record's midnight: a time of day that falls by more than
        half a day starts the next day; one that rises by more (a late plot from before
        midnight) belongs to the day before."""
        last = self._last_tod
        day = self._day
        if last is not None and tod < last - DAY_S / 2:
            day += 1
        elif last is not None and tod > last + DAY_S / 2:
            return tod + (day - 1) * DAY_S
        self._day, self._last_tod = day, tod
        return tod + day * DAY_S


def encode_plots(plots: PlotBatch, sensors: Sequence[SensorInfo], *,
                 tod_offset_s: float = 0.0) -> tuple[bytes, AsterixEncoder]:
    """A whole batch as back-to-back data blocks (an ``.ast`` file's bytes), with the encoder
    and its counts."""
    encoder = AsterixEncoder(sensors, tod_offset_s=tod_offset_s)
    return b"".join(encoder.blocks(plots)), encoder


def latencies(radars: Sequence[Any]) -> dict[int, float]:
    """Sensor id → reporting latency (s) of :func:`~counterram.sensors.radar.
    radars_from_scenario`'s radars."""
    return {int(r.sensor_id): float(r.config.latency_s) for r in radars}

