"""The ASTERIX CAT 048 codec: round trip within one LSB, values out of an item's range never
wrapped, and bad bytes rejected and counted by the plot reader, never raised."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import asterix_sensors, random_plots
from counterram.sensors.asterix import (
    DOPPLER_LSB_MPS,
    FT_M,
    HEIGHT_LSB_FT,
    NM_M,
    RHO_LSB_NM,
    THETA_LSB_DEG,
    TOD_LSB_S,
    AsterixDecoder,
    AsterixEncoder,
    cat048,
    elevation_from_height,
    encode_plots,
    height_from_elevation,
    tod_offset,
)
from counterram.sensors.plotio import REJECT_REASONS, PlotReader


def _decode(data: bytes, **kw):
    sensors = asterix_sensors()
    reader = PlotReader(list(AsterixDecoder(sensors, **kw).lines(data)), sensors)
    plots, _ = reader.read_all()
    return plots, reader


def test_height_and_elevation_invert_each_other() -> None:
    for r, el in ((100.0, -0.05), (2000.0, 0.3), (40_000.0, 1.2), (400_000.0, 0.01)):
        assert elevation_from_height(r, height_from_elevation(r, el)) == pytest.approx(el, abs=1e-9)
    assert math.isnan(elevation_from_height(100.0, 500.0))  # higher than the range reaches
    # straight up, quantised: a little beyond the range is still the zenith
    assert elevation_from_height(1000.0, 1003.0, tolerance_m=5.0) == pytest.approx(math.pi / 2)


def test_plots_near_the_zenith_round_trip() -> None:
    sent = random_plots(50)
    sent = type(sent)(np.linspace(0.0, 10.0, 50), sent.sensor_id, sent.range_m, sent.azimuth_rad,
                      np.full(50, math.pi / 2 - 1e-4), sent.radial_velocity_mps, sent.snr_db)
    data, _ = encode_plots(sent, asterix_sensors())
    got, reader = _decode(data)
    assert len(got) == 50 and not reader.rejected


@pytest.mark.parametrize("offset", [0.0, 86_000.0])  # 86,000: the run crosses UTC midnight
def test_round_trip_within_one_lsb(offset: float) -> None:
    sent = random_plots(400)
    data, enc = encode_plots(sent, asterix_sensors(), tod_offset_s=offset)
    got, reader = _decode(data, tod_offset_s=offset)
    doppler = np.abs(sent.radial_velocity_mps) <= 511
    assert not enc.skipped and enc.doppler_dropped == int((~doppler).sum()) > 0
    assert len(got) == len(sent) and not reader.rejected
    assert np.abs(got.time_s - sent.time_s).max() <= TOD_LSB_S
    assert np.abs(got.range_m - sent.range_m).max() <= RHO_LSB_NM * NM_M
    daz = np.degrees(np.abs(np.angle(np.exp(1j * (got.azimuth_rad - sent.azimuth_rad)))))
    assert daz.max() <= THETA_LSB_DEG
    h_sent = [height_from_elevation(r, e) for r, e in zip(sent.range_m, sent.elevation_rad,
                                                          strict=True)]
    h_got = [height_from_elevation(r, e) for r, e in zip(got.range_m, got.elevation_rad,
                                                         strict=True)]
    # the decoded range differs by up to half an LSB, which moves the height by less than that
    assert np.abs(np.subtract(h_got, h_sent)).max() <= HEIGHT_LSB_FT * FT_M + RHO_LSB_NM * NM_M
    dv = got.radial_velocity_mps[doppler] - sent.radial_velocity_mps[doppler]
    assert np.abs(dv).max() <= DOPPLER_LSB_MPS
    assert np.isnan(got.radial_velocity_mps[~doppler]).all()  # left out, never wrapped
    assert np.abs(got.snr_db - sent.snr_db).max() <= 1.0


def test_report_time_from_the_sensor_latency() -> None:
    sent = random_plots(20)
    data, _ = encode_plots(sent, asterix_sensors())
    got, _ = _decode(data, latency_s={3: 0.5})
    assert np.allclose(got.report_time_s - got.time_s, 0.5)


def test_values_beyond_an_item_are_not_written() -> None:
    enc = AsterixEncoder(asterix_sensors())
    assert enc.block(1.0, 3, 300 * NM_M, 0.1, 0.01, math.nan, 10.0) is None  # 300 NM
    assert enc.block(1.0, 3, 90_000.0, 0.1, 1.5, math.nan, 10.0) is None  # 89 km up
    assert enc.block(1.0, 99, 1000.0, 0.1, 0.1, math.nan, 10.0) is None  # unknown sensor
    assert enc.block(math.nan, 3, 1000.0, 0.1, 0.1, math.nan, 10.0) is None
    assert enc.skipped == {"range": 1, "height": 1, "sensor": 1, "not_finite": 1}
    loud = enc.block(1.0, 3, 1000.0, 0.1, 0.1, math.nan, 300.0)  # SNR saturates at 127 dB
    got, _ = _decode(loud)
    assert got.snr_db.tolist() == [127.0]
    with pytest.raises(ValueError, match="65535"):
        AsterixEncoder([asterix_sensors()[0].__class__(70_000, "x", (0, 0, 0), 1, 1, 1)])


def test_sac_sic_name_the_sensor() -> None:
    sent = random_plots(5, sensor_id=300)
    data, _ = encode_plots(sent, asterix_sensors())
    fspec_end = next(i for i in range(3, len(data)) if not data[i] & 1)  # FX bit clear
    assert data[fspec_end + 1:fspec_end + 3] == bytes([1, 44])  # I048/010 first: SAC 1, SIC 44
    got, _ = _decode(data)
    assert set(got.sensor_id.tolist()) == {300}


def test_scenario_epoch_gives_the_time_of_day() -> None:
    assert tod_offset(None) == 0.0
    assert tod_offset("2024-03-01T23:59:00Z") == 86_340.0


def _good_block() -> bytes:
    data, _ = encode_plots(random_plots(1), asterix_sensors())
    return data


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x30\x00\x05\xff\xff", "bad_record"),          # FSPEC runs past the block
    (b"\x30\xff\xff\x00", "bad_record"),              # a length beyond the bytes
    (b"\x30\x00\x02", "bad_record"),                  # a length shorter than its header
    (b"\x30\x00", "bad_record"),                      # stray bytes
    (b"\x3e\x00\x04\x00", "bad_record"),              # CAT 062 is not read
])
def test_malformed_bytes_are_rejected_and_counted(data: bytes, reason: str) -> None:
    got, reader = _decode(_good_block() + data)
    assert len(got) == 1 and reader.rejected == {reason: 1}


def test_truncated_block_loses_that_plot_only() -> None:
    good = _good_block()
    got, reader = _decode(good + good[:3] + good[3:-2] + good)
    # the truncated block's length field still claims the full block: it swallows the next
    # block's first bytes, which are then not a record; the walk goes on from its length
    assert len(got) >= 1 and reader.total_rejected >= 1
    assert set(reader.rejected) <= {"bad_record"}


def test_record_without_a_needed_item_is_missing_field() -> None:
    rec = cat048().cv_record.create({"010": (("SAC", 0), ("SIC", 3)), "140": (5.0, "s")})
    got, reader = _decode(bytes(cat048().create([rec]).unparse().to_bytes()))
    assert len(got) == 0 and reader.rejected == {"missing_field": 1}


def test_category_034_is_skipped_silently() -> None:
    got, reader = _decode(b"\x22\x00\x07\xc0\x01\x02\x01" + _good_block())
    assert len(got) == 1 and not reader.rejected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    _got, reader = _decode(data)
    assert set(reader.rejected) <= set(REJECT_REASONS)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_corrupted_valid_blocks_never_raise(position: int, value: int) -> None:
    good = _good_block() * 3
    data = bytearray(good)
    data[position % len(data)] = value
    got, reader = _decode(bytes(data))
    assert len(got) + reader.total_rejected >= 1
    assert set(reader.rejected) <= set(REJECT_REASONS)
