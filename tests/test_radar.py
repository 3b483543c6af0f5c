"""Radar models: configuration and its errors, coverage, Swerling-1 detection, measurement noise,
false alarms, outages, cueing, determinism and visibility.

Statistical tests use fixed seeds and tolerances from the sampling distributions: a sample mean of
n draws is tested at 4 standard errors (two-sided false-failure probability 6e-5), a sample
variance with the χ² distribution of (n−1)s²/σ² at its 1e-5 and 1 − 1e-5 quantiles, a count of
detections with the binomial standard deviation at 4σ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pydantic
import pytest
from scipy import stats

from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles, fly, launch_state
from counterram.scenario import load_scenario, validate_text
from counterram.sensors.config import (
    FcrConfig,
    LcmrConfig,
    RadarConfig,
    WlrConfig,
    preset,
    reference_snr,
)
from counterram.sensors.detection import RcsTable, swerling1_pd
from counterram.sensors.noise import spherical
from counterram.sensors.plots import FALSE_ALARM_ID
from counterram.sensors.radar import (
    Cues,
    FlightTruth,
    Radar,
    merge_scans,
    radars_from_scenario,
    simulate_plots,
)
from counterram.sensors.visibility import visibility

RADAR_ADAPTER = pydantic.TypeAdapter(RadarConfig)
ORIGIN = {"east_m": 0.0, "north_m": 0.0, "up_m": 0.0}
Z4 = 4.0  # z-score bound: two-sided false-failure probability 6.3e-5


def _radar(kind: str = "wlr", sensor_id: int = 1, **overrides: object) -> Radar:
    data: dict[str, object] = {"name": f"{kind}-{sensor_id}", "type": kind, "position": ORIGIN}
    if kind == "fcr":
        data["attached_to"] = "gun"
    data.update(overrides)
    return Radar.from_config(RADAR_ADAPTER.validate_python(data), sensor_id)


@dataclass
class StaticTruth:
    """Rounds frozen in place (positions and velocities do not change with time)."""

    states: np.ndarray
    rcs_m2: np.ndarray | float = 0.01
    round_id: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.round_id = np.arange(self.states.shape[0])
        self.rcs_m2 = np.broadcast_to(np.asarray(self.rcs_m2, float), self.round_id.shape)
        self.launch_time_s = np.zeros(self.round_id.size)
        self.impact_time_s = np.full(self.round_id.size, 1e9)

    def states_at(self, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        return self.round_id, self.states


def _ring(n: int, range_m: float, elevation_deg: float, speed: float = 0.0) -> np.ndarray:
    """``n`` rounds at one range and elevation, evenly spread in azimuth, moving radially."""
    az = np.linspace(0, 2 * np.pi, n, endpoint=False)
    el = np.radians(elevation_deg)
    u = np.column_stack([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.full(n, np.sin(el))])
    vel = speed * np.column_stack([np.cos(az), -np.sin(az), np.zeros(n)])  # tangential
    return np.hstack([range_m * u, vel - 50.0 * u])


def _run(truth, radars, seed=7, end_s=20.0, **kw):
    return merge_scans(simulate_plots(truth, radars, seed=seed, end_s=end_s, **kw))


def _wrap(a: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * a))


def _mortars(n: int = 4, azimuth_deg: float = 300.0, spacing_s: float = 5.0) -> FlightTruth:
    m = load_catalogue().get("81mm-mortar")
    pos = np.column_stack([np.linspace(3000, 4000, n), np.full(n, -2000.0), np.zeros(n)])
    state = launch_state(
        pos, np.full(n, np.radians(azimuth_deg)), np.full(n, np.radians(60.0)),
        np.full(n, max(m.charges.values())),
    )
    flight = fly(state, Projectiles.from_munitions([m] * n), t0_s=np.arange(n) * spacing_s,
                 sample_dt_s=0.05)
    return FlightTruth.from_flight(flight, m.rcs_m2)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
def test_presets_differ_by_type_and_every_value_can_be_overridden() -> None:
    lcmr, wlr, fcr = preset("lcmr"), preset("wlr"), preset("fcr")
    assert lcmr["scan"] == "rotating" and wlr["scan"] == "electronic"
    assert lcmr["sector_width_deg"] == 360.0
    assert fcr["range_sigma_m"] < wlr["range_sigma_m"] < lcmr["range_sigma_m"]
    assert fcr["revisit_s"] < wlr["revisit_s"] < lcmr["revisit_s"]
    assert wlr["max_range_m"] > lcmr["max_range_m"] > fcr["max_range_m"]
    cfg = RADAR_ADAPTER.validate_python({
        "name": "w", "type": "wlr", "position": ORIGIN, "sector_width_deg": 90,
        "sector_center_deg": 45, "scan": "rotating", "revisit_s": 4, "range_sigma_m": 3,
        "radial_velocity_sigma_mps": None, "outages": [[10, 20]],
        "elevation_mask": [{"azimuth_deg": 10, "elevation_deg": 3}],
    })
    assert isinstance(cfg, WlrConfig)
    assert (cfg.sector_width_deg, cfg.scan, cfg.revisit_s, cfg.range_sigma_m) == (
        90, "rotating", 4, 3)
    assert cfg.radial_velocity_sigma_mps is None and cfg.outages == ((10.0, 20.0),)
    # Pd = Pfa^(1/(1+SNR)) = 0.9 at the reference SNR, by construction.
    assert swerling1_pd(reference_snr(1e-6), 1e-6) == pytest.approx(0.9, abs=1e-12)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"range_sigma_m": -1.0}, "range_sigma_m"),
        ({"azimuth_sigma_mrad": 0.0}, "azimuth_sigma_mrad"),
        ({"sector_width_deg": 400.0}, "sector_width_deg"),
        ({"revisit_s": 0.0}, "revisit_s"),
        ({"revisit_s": -2.0}, "revisit_s"),
        ({"outages": [[30.0, 10.0]]}, "outages"),
        ({"min_range_m": 20_000.0}, "max_range_m"),
        ({"type": "xband"}, None),
        ({"scan": "sideways"}, "scan"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_config_is_a_pydantic_error_naming_the_field(override: dict, field: str | None) -> None:
    data = {"name": "r", "type": "lcmr", "position": ORIGIN, **override}
    with pytest.raises(pydantic.ValidationError) as info:
        RADAR_ADAPTER.validate_python(data)
    locs = [e["loc"] for e in info.value.errors()]
    if field is None:  # unknown type: reported at the union itself, with the allowed tags
        assert info.value.errors()[0]["type"] == "union_tag_invalid"
        assert "'lcmr', 'wlr', 'fcr'" in str(info.value)
    else:
        assert any(loc[-1] == field for loc in locs), locs


def test_fcr_needs_the_gun_it_serves() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        RADAR_ADAPTER.validate_python({"name": "f", "type": "fcr", "position": ORIGIN})
    assert info.value.errors()[0]["loc"] == ("fcr", "attached_to")


SCENARIO = """\
name: t
origin: {latitude_deg: 33.3, longitude_deg: 44.39}
duration_s: 100
sensors:
  - {name: a, type: lcmr, position: {east_m: 0, north_m: 0}}
  - name: b
    type: wlr
    position: {east_m: 10, north_m: 0}
    range_sigma_m: -4
  - {name: c, type: wlr, position: {east_m: 0, north_m: 10}, sector_width_deg: 400}
  - {name: d, type: lcmr, position: {east_m: 0, north_m: 20}, revisit_s: 0}
  - {name: e, type: sonar, position: {east_m: 0, north_m: 30}}
"""


def test_scenario_loader_reports_radar_errors_with_file_line_and_field() -> None:
    rendered = [str(p) for p in validate_text(SCENARIO, "s.yaml")]
    assert any(r.startswith("s.yaml:9: sensors.1.range_sigma_m: out of range") for r in rendered)
    assert any(r.startswith("s.yaml:10: sensors.2.sector_width_deg: out of range")
               and "≤ 360" in r for r in rendered)
    assert any(r.startswith("s.yaml:11: sensors.3.revisit_s: out of range") for r in rendered)
    assert any(r.startswith("s.yaml:12: sensors.4.type: unknown type") and "'fcr'" in r
               for r in rendered)
    assert len(rendered) == 4, rendered


def test_builtin_scenarios_give_radars_with_ids_in_file_order() -> None:
    radars = radars_from_scenario(load_scenario("baghdad-embassy"))
    assert [r.sensor_id for r in radars] == [1, 2, 3, 4]
    assert [r.config.type for r in radars] == ["lcmr", "wlr", "fcr", "fcr"]
    np.testing.assert_allclose(radars[0].position_enu, [0.0, 200.0, 10.0])
    assert radars[2].config.attached_to == "gun-north" and radars[2].cued
    info = radars[1].info
    assert info.sigma_azimuth_rad == pytest.approx(radars[1].config.azimuth_sigma_mrad * 1e-3)


# --------------------------------------------------------------------------------------------
# Measurement noise
# --------------------------------------------------------------------------------------------
def _check_errors(errors: np.ndarray, sigma: float) -> None:
    """Zero mean (z-test at 4 standard errors) and variance σ² (χ² test, 1e-5 quantiles)."""
    n = errors.size
    assert n > 1000
    assert abs(errors.mean()) < Z4 * sigma / np.sqrt(n), (errors.mean(), sigma)
    chi2 = (n - 1) * errors.var(ddof=1) / sigma**2
    lo, hi = stats.chi2.ppf([1e-5, 1 - 1e-5], n - 1)
    assert lo < chi2 < hi, (chi2 / (n - 1), sigma)


def test_measurement_errors_have_zero_mean_and_the_configured_sigmas() -> None:
    radar = _radar("wlr", false_alarms_per_scan=0.0, reference_range_m=50_000.0)
    truth = StaticTruth(_ring(500, 8000.0, 20.0, speed=100.0))
    plots, labels = _run(truth, [radar], end_s=3.0)
    r, az, el, rv = spherical(labels.state[:, :3] - radar.position_enu, labels.state[:, 3:])
    s = radar.sigma
    _check_errors(plots.range_m - r, s[0])
    _check_errors(_wrap(plots.azimuth_rad - az), s[1])
    _check_errors(plots.elevation_rad - el, s[2])
    _check_errors(plots.radial_velocity_mps - rv, s[3])
    assert np.all((plots.azimuth_rad >= 0) & (plots.azimuth_rad < 2 * np.pi))


def test_rotating_radar_looks_when_the_beam_passes_and_measures_the_round_then() -> None:
    """Against a real flight: each plot's time is when the beam crosses the round's true azimuth
    (from the truth at that time, not the radar's own interpolation), and errors against the
    truth at the plot time have the configured statistics."""
    truth = _mortars(n=6, spacing_s=3.0)
    radar = _radar("lcmr", position={"east_m": 0, "north_m": 0, "up_m": 5},
                   false_alarms_per_scan=0.0, reference_range_m=30_000.0)
    plots, labels = _run(truth, [radar], end_s=80.0)
    assert len(plots) > 100  # 6 rounds × ~45 s of flight / 2 s per rotation ≈ 135 looks
    true_states = np.empty((len(plots), 6))
    for i, (t, rid) in enumerate(zip(plots.time_s, labels.round_id, strict=True)):
        ids, states = truth.states_at(t)
        true_states[i] = states[np.flatnonzero(ids == rid)[0]]
    # The radar's interpolated truth matches the flight's own within centimetres.
    np.testing.assert_allclose(labels.state[:, :3], true_states[:, :3], atol=0.05)
    r, az, el, _ = spherical(true_states[:, :3] - radar.position_enu, true_states[:, 3:])
    beam = np.radians(radar.config.scan_start_deg) + 2 * np.pi * plots.time_s / 2.0
    assert np.max(np.abs(_wrap(az - beam))) < 1e-6
    # At most one look per round per rotation.
    scan_index = np.floor(plots.time_s / radar.config.revisit_s).astype(int)
    pairs = set(zip(scan_index.tolist(), labels.round_id.tolist(), strict=True))
    assert len(pairs) == len(plots)
    # ~130 looks: enough for the mean tests (the variance is tested above on 2,500 plots).
    assert abs(np.mean(plots.range_m - r)) < Z4 * radar.sigma[0] / np.sqrt(len(plots))
    assert abs(np.mean(plots.elevation_rad - el)) < Z4 * radar.sigma[2] / np.sqrt(len(plots))


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("range_factor", [0.6, 1.0, 1.3])
def test_detection_probability_follows_swerling_1(range_factor: float) -> None:
    radar = _radar("wlr", false_alarms_per_scan=0.0, reference_range_m=10_000.0,
                   reference_rcs_m2=0.01, pfa=1e-6)
    n_rounds, n_scans = 400, 25
    rng = np.random.default_rng(3)
    rcs = rng.choice([0.01, 0.02], n_rounds)
    truth = StaticTruth(_ring(n_rounds, 10_000.0 * range_factor, 10.0), rcs)
    plots, labels = _run(truth, [radar], end_s=n_scans * radar.config.revisit_s)
    counts = np.bincount(labels.round_id, minlength=n_rounds)
    for value in (0.01, 0.02):
        k = counts[rcs == value].sum()
        n = int((rcs == value).sum()) * n_scans
        snr = reference_snr(1e-6) * (value / 0.01) / range_factor**4
        pd = float(swerling1_pd(snr, 1e-6))
        assert abs(k - n * pd) < Z4 * np.sqrt(n * pd * (1 - pd)), (k / n, pd)
    if range_factor == 1.0:  # the calibration point: Pd = 0.9 for the reference RCS
        k, n = counts[rcs == 0.01].sum(), int((rcs == 0.01).sum()) * n_scans
        assert abs(k / n - 0.9) < Z4 * np.sqrt(0.09 / n)
    # Measured SNR of a detection is above the threshold −ln Pfa − 1 (linear).
    assert np.all(plots.snr_db > 10 * np.log10(-np.log(1e-6) - 1) - 1e-9)


def test_false_alarms_are_poisson_per_scan_and_inside_the_coverage() -> None:
    lam = 3.0
    radar = _radar(
        "wlr", false_alarms_per_scan=lam, sector_center_deg=350.0, sector_width_deg=60.0,
        min_range_m=1000.0, max_range_m=20_000.0, max_elevation_deg=45.0,
        elevation_mask=[{"azimuth_deg": 340, "elevation_deg": 10},
                        {"azimuth_deg": 0, "elevation_deg": 2}],
    )
    truth = StaticTruth(np.zeros((0, 6)))
    n_scans = 2000
    scans = simulate_plots(truth, [radar], seed=11, end_s=n_scans * radar.config.revisit_s)
    assert len(scans) == n_scans
    counts = np.array([len(s.plots) for s in scans])
    assert abs(counts.mean() - lam) < Z4 * np.sqrt(lam / n_scans)
    # Poisson dispersion test: (n−1)·s²/mean ~ χ²(n−1).
    d = (n_scans - 1) * counts.var(ddof=1) / counts.mean()
    lo, hi = stats.chi2.ppf([1e-5, 1 - 1e-5], n_scans - 1)
    assert lo < d < hi
    plots, labels = merge_scans(scans)
    assert np.all(labels.round_id == FALSE_ALARM_ID)
    assert np.all(radar.covers(plots.range_m, plots.azimuth_rad, plots.elevation_rad,
                               plots.time_s))
    # Uniform in range over [1, 20] km: mean 10.5 km, sd 19 km / √12.
    n = len(plots)
    assert abs(plots.range_m.mean() - 10_500) < Z4 * 19_000 / np.sqrt(12 * n)


# --------------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------------
def test_sector_mask_range_and_elevation_are_never_violated() -> None:
    """Rounds scattered everywhere around the radar; every plot of a real round comes from inside
    the coverage as computed here independently, and rounds outside are never plotted."""
    rng = np.random.default_rng(5)
    n = 4000
    pos = np.column_stack([rng.uniform(-12e3, 12e3, (n, 2)), rng.uniform(0, 3000, n)])
    states = np.hstack([pos, np.zeros((n, 3))])  # at rest: a consistent static truth
    truth = StaticTruth(states, 1.0)  # large RCS: everything in coverage is detected
    mask = [{"azimuth_deg": 20, "elevation_deg": 12}, {"azimuth_deg": 60, "elevation_deg": 1},
            {"azimuth_deg": 100, "elevation_deg": 6}]
    radar = _radar("lcmr", sector_center_deg=60.0, sector_width_deg=100.0, max_range_m=9000.0,
                   min_range_m=500.0, min_elevation_deg=3.0, max_elevation_deg=20.0,
                   elevation_mask=mask, false_alarms_per_scan=0.0)
    _, labels = _run(truth, [radar], end_s=10.0)
    r, az, el, _ = spherical(states[:, :3], states[:, 3:])
    az_deg, el_deg = np.degrees(az), np.degrees(el)
    floor = np.maximum(3.0, np.interp(az_deg, [20, 60, 100], [12, 1, 6], period=360))
    inside = ((r >= 500) & (r <= 9000) & (np.abs(az_deg - 60) <= 50) & (el_deg >= floor)
              & (el_deg <= 20))
    seen = np.unique(labels.round_id)
    assert inside.sum() > 100 and (~inside).sum() > 1000
    assert np.all(inside[seen])
    assert np.setdiff1d(np.flatnonzero(inside), seen).size < 0.01 * inside.sum()


def test_outages_produce_no_plots() -> None:
    truth = StaticTruth(_ring(50, 5000.0, 10.0), 1.0)
    radar = _radar("lcmr", outages=[[10.0, 20.0], [30.0, 31.0]], false_alarms_per_scan=2.0)
    plots, _ = _run(truth, [radar], end_s=40.0)
    t = plots.time_s
    assert not np.any((t >= 10) & (t <= 20)) and not np.any((t >= 30) & (t <= 31))
    assert np.any(t < 10) and np.any((t > 20) & (t < 30)) and np.any(t > 31)


def test_latency_delays_the_report_not_the_measurement() -> None:
    truth = StaticTruth(_ring(20, 5000.0, 10.0), 1.0)
    radar = _radar("wlr", latency_s=1.5)
    plots, _ = _run(truth, [radar], end_s=5.0)
    np.testing.assert_allclose(plots.report_time_s - plots.time_s, 1.5)
    assert np.all(np.isin(np.round(plots.time_s, 9), np.round(np.arange(10) * 0.5, 9)))


# --------------------------------------------------------------------------------------------
# Fire-control radar
# --------------------------------------------------------------------------------------------
def test_fire_control_radar_sees_only_what_it_is_cued_on() -> None:
    states = np.vstack([_ring(1, 2000.0, 20.0), _ring(1, 2500.0, 40.0)])
    states[1, :3] = [-1500.0, 1500.0, 1200.0]
    truth = StaticTruth(states, 0.01)
    radar = _radar("fcr", false_alarms_per_scan=0.0)
    assert len(simulate_plots(truth, [radar], seed=1, end_s=5.0)) == 0  # uncued: no looks
    # Cue slightly off round 0 (within the 1° half-beam and the range gate), once, at t = 1 s.
    cue = states[0, :3] * 1.01 + np.array([5.0, 0.0, 0.0])
    plots, labels = _run(truth, [radar], end_s=5.0, cues={radar.name: Cues.at(1.0, cue)})
    assert set(labels.round_id.tolist()) == {0}
    hold = radar.config.cue_hold_s
    assert np.all((plots.time_s >= 1.0) & (plots.time_s < 1.0 + hold))
    assert len(plots) >= 3  # 5 looks, Pd ≈ 0.97 at 2 km for the reference RCS
    # Perfect cueing finds both rounds.
    _, labels = _run(truth, [radar], end_s=2.0, truth_cues=True)
    assert set(labels.round_id.tolist()) == {0, 1}


# --------------------------------------------------------------------------------------------
# Determinism and visibility
# --------------------------------------------------------------------------------------------
def test_same_seed_same_plots_and_adding_a_radar_changes_no_other() -> None:
    truth = _mortars()
    a = _radar("lcmr", 1, false_alarms_per_scan=1.0)
    b = _radar("wlr", 2)
    c = _radar("fcr", 3)
    one, _ = _run(truth, [a, b], seed=3, end_s=40.0)
    two, _ = _run(truth, [a, b], seed=3, end_s=40.0)
    three, _ = _run(truth, [c, b, a], seed=3, end_s=40.0, truth_cues=True)
    other, _ = _run(truth, [a, b], seed=4, end_s=40.0)
    for f in ("time_s", "range_m", "azimuth_rad", "snr_db", "sensor_id"):
        np.testing.assert_array_equal(getattr(one, f), getattr(two, f))
        keep = three.sensor_id != 3
        np.testing.assert_array_equal(getattr(one, f), getattr(three, f)[keep])
    assert len(one) != len(other) or not np.array_equal(one.range_m, other.range_m)


def test_a_round_behind_the_mask_or_out_of_range_is_never_detected() -> None:
    truth = _mortars(n=3, azimuth_deg=120.0)  # launched 3.6-4.5 km south-east, fired away
    _, states = truth.states_at(20.0)
    az_deg = np.degrees(np.arctan2(states[:, 0], states[:, 1])) % 360
    centre = float(np.mean(az_deg))
    mask = [{"azimuth_deg": (centre + d) % 360, "elevation_deg": e}
            for d, e in ((-60, 0), (-40, 80), (40, 80), (60, 0))]
    masked = _radar("lcmr", 1, elevation_mask=mask, reference_range_m=30_000.0)
    short = _radar("wlr", 2, max_range_m=1500.0, min_range_m=100.0)
    open_radar = _radar("lcmr", 3, reference_range_m=30_000.0)
    radars = [masked, short, open_radar]
    plots, labels = _run(truth, radars, end_s=90.0)
    vis = visibility(truth, plots, labels, radars)
    assert np.all(vis.count[:, 0] == 0) and np.all(np.isnan(vis.first_s[:, 0]))
    assert np.all(vis.count[:, 2] > 5)  # the same rounds, unmasked
    # The rounds never come within 1.5 km of the short-range radar.
    assert np.all(vis.count[:, 1] == 0)
    assert np.any((plots.sensor_id == 2) & (labels.round_id == FALSE_ALARM_ID))
    assert np.all(vis.first_any_s >= vis.launch_time_s)
    assert np.all(vis.before_impact_s > 0)
    np.testing.assert_allclose(vis.first_any_s, np.nanmin(vis.first_s, axis=1))


def test_rcs_from_munition_names() -> None:
    class Named:
        round_id = np.array([5, 2])
        munition = ("81mm-mortar", "122mm-9m22u")

    table = RcsTable.from_truth(Named())
    cat = load_catalogue()
    np.testing.assert_allclose(
        table.lookup([2, 5, 99]),
        [cat.get("122mm-9m22u").rcs_m2, cat.get("81mm-mortar").rcs_m2, table.default_m2],
    )


def test_fcr_and_lcmr_config_types() -> None:
    assert isinstance(_radar("lcmr").config, LcmrConfig)
    assert isinstance(_radar("fcr").config, FcrConfig)
