"""Cross-decode: the CAT 048 records counterram writes, read back by an independent decoder
(``asterix-decoder``, in its own virtual environment: its module is also named ``asterix``),
hold every value within one LSB of what was encoded."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np

from conftest import asterix_sensors, random_plots
from counterram.sensors import asterix as ax
from counterram.sensors.plots import PlotBatch

HELPER = Path(__file__).with_name("asterix_decoder_dump.py")
TOD_OFFSET_S = 86_000.0  # the plots' 3,000 s cross midnight: the time of day wraps


def _plots() -> PlotBatch:
    a, b = random_plots(300, seed=5, sensor_id=3), random_plots(100, seed=6, sensor_id=300)
    b = PlotBatch(b.time_s, b.sensor_id, b.range_m, b.azimuth_rad, b.elevation_rad,
                  np.full(len(b), np.nan), b.snr_db, b.time_s)  # no Doppler (a WLR-like one)
    return PlotBatch.concatenate([a, b])


def test_asterix_decoder_reads_counterrams_records_within_one_lsb(
        asterix_decoder_python, tmp_path) -> None:
    sensors = asterix_sensors()
    encoder = ax.AsterixEncoder(sensors, tod_offset_s=TOD_OFFSET_S)
    plots = _plots()
    written, blocks = [], []
    for i in range(len(plots)):
        data = encoder.block(float(plots.time_s[i]), int(plots.sensor_id[i]),
                             float(plots.range_m[i]), float(plots.azimuth_rad[i]),
                             float(plots.elevation_rad[i]), float(plots.radial_velocity_mps[i]),
                             float(plots.snr_db[i]))
        if data is not None:
            written.append(i)
            blocks.append(data)
    assert len(written) > 300  # most plots fit CAT 048 (the rest: heights beyond its range)
    path = tmp_path / "plots.ast"
    path.write_bytes(b"".join(blocks))
    done = subprocess.run([str(asterix_decoder_python), str(HELPER), str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert len(records) == len(written)
    height_m = {s.sensor_id: s.position_enu[2] for s in sensors}
    with_doppler = 0
    for rec, i in zip(records, written, strict=True):
        sid = int(plots.sensor_id[i])
        r, az, el = (float(plots.range_m[i]), float(plots.azimuth_rad[i]),
                     float(plots.elevation_rad[i]))
        assert rec["category"] == 48
        assert (rec["sac"], rec["sic"]) == ax.sac_sic(sid)
        tod = (float(plots.time_s[i]) + TOD_OFFSET_S) % ax.DAY_S
        assert abs(rec["tod_s"] - tod) <= ax.TOD_LSB_S
        assert abs(rec["rho_nm"] - r / ax.NM_M) <= ax.RHO_LSB_NM
        dtheta = (rec["theta_deg"] - math.degrees(az) + 180.0) % 360.0 - 180.0
        assert abs(dtheta) <= ax.THETA_LSB_DEG
        height_ft = (ax.height_from_elevation(r, el) + height_m[sid]) / ax.FT_M
        assert abs(rec["height_ft"] - height_ft) <= ax.HEIGHT_LSB_FT
        assert abs(rec["fl"] - height_ft / 100.0) <= 0.25  # I048/090: 1/4 FL
        assert abs(rec["pam_db"] - float(plots.snr_db[i])) <= 1.0  # 1 dB
        rv = float(plots.radial_velocity_mps[i])
        if math.isfinite(rv) and abs(rv) <= ax.MAX_DOPPLER_MPS:
            with_doppler += 1
            assert abs(rec["doppler_mps"] - rv) <= ax.DOPPLER_LSB_MPS
        else:
            assert rec["doppler_mps"] is None
    assert with_doppler > 100
