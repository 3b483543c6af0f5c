"""Engagement opportunity from the truth, and the engagement figures of summary.json.

The geometry case is a real 107 mm rocket of baghdad-embassy (round 2, flat: apex about 270 m)
and one hand-placed gun 1.75 km to the side of the point 60 % along its flight, with a 2 km
maximum range: the path enters that range 5.7 s after launch, 250 m up, and leaves it at 12.5 s,
140 m up. The expected fire-time window is computed here directly: the times the true path enters
and leaves the 2 km sphere around the gun, each less the 20 mm round's time of flight to that
point (flown with the physics core along the straight line of sight). The module's grid times
must bracket those ends within one grid step."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from counterram.engagement.config import Gun, GunConfig
from counterram.events import EngagementOrdered, EngagementOutcome, TrackEvent
from counterram.metrics.opportunity import (
    REASONS,
    engagement_opportunity,
    engagement_tally,
)
from counterram.physics.trajectory import Projectiles, propagate
from counterram.scenario import load_scenario
from counterram.scenario.resolved import resolve
from counterram.sim import simulate
from counterram.summary import SUMMARY_KEYS, compute_summary, match_tracks
from counterram.world import build_truth

ROUND = 2          # a 107 mm rocket landing in the embassy
SIDE_M = 1750.0    # the gun stands this far to the side of the rocket's path, at 60 % of it
MAX_RANGE_M = 2000.0
STEP_S = 0.5       # fire-time grid
TID = 7            # the round's track


@pytest.fixture(scope="module")
def world():
    return resolve(load_scenario("baghdad-embassy"))


@pytest.fixture(scope="module")
def truth(world):
    return build_truth(world)


def _position(truth, t: float) -> np.ndarray:
    ids, states = truth.states_at(t)
    return states[list(ids).index(ROUND), :3]


@pytest.fixture(scope="module")
def gun_xy(truth) -> np.ndarray:
    k = int(truth.sample_count[ROUND])
    mid = truth.samples[ROUND, int(0.6 * k)]
    v = mid[3:5] / np.linalg.norm(mid[3:5])
    return mid[:2] + SIDE_M * np.array([v[1], -v[0]])  # to the right of the line of flight


def _gun(gun_xy, **kw) -> Gun:
    data = {
        "name": "g", "type": "gun",
        "position": {"east_m": float(gun_xy[0]), "north_m": float(gun_xy[1]), "up_m": 0.0},
        "max_range_m": MAX_RANGE_M, "min_range_m": 0.0, "azimuth_limit_deg": 180.0,
        "self_destruct_s": 8.0,      # the range, not the self-destruct, ends the window
        "reaction_time_s": 0.0, "slew_rate_dps": 1000.0,
    }
    data.update(kw)
    return Gun.from_config(GunConfig.model_validate(data))


def _confirmed(truth, after_launch_s: float = 0.25) -> list:
    t = float(truth.launch_time_s[ROUND]) + after_launch_s
    pos = tuple(_position(truth, t))
    return [TrackEvent(t, track_id=TID, status="confirmed", position_enu=pos)]


def _opportunity(world, truth, gun, events, owner=None):
    owner = {TID: ROUND} if owner is None else owner
    result = engagement_opportunity(truth, world, events, owner=owner, guns=[gun],
                                    grid_step_s=STEP_S, rounds=[ROUND])
    assert len(result) == 1
    return result.rounds[0]


def _expected_window(world, truth, gun) -> tuple[float, float]:
    """Fire times at which the intercept is on the 2 km sphere, entering and leaving."""
    g = gun.position_enu
    t0, t1 = float(truth.launch_time_s[ROUND]), float(truth.impact_time_s[ROUND])
    ts = np.linspace(t0, t1, 400)
    d = np.array([np.linalg.norm(_position(truth, t) - g) for t in ts]) - MAX_RANGE_M
    inside = np.flatnonzero(d < 0)
    assert inside.size and inside[0] > 0 and inside[-1] < ts.size - 1, "path must cross twice"

    def dist(t: float) -> float:
        return float(np.linalg.norm(_position(truth, t) - g) - MAX_RANGE_M)

    t_in = brentq(dist, ts[inside[0] - 1], ts[inside[0]], xtol=1e-6)
    t_out = brentq(dist, ts[inside[-1]], ts[inside[-1] + 1], xtol=1e-6)
    for t in (t_in, t_out):  # both crossings well above the lowest engagement height
        assert _position(truth, t)[2] > gun.limits.min_altitude_m + 50.0

    def tof_to(point: np.ndarray) -> float:
        u = (point - g) / np.linalg.norm(point - g)
        taus = np.arange(0.0, 6.0, 0.002)
        state = np.concatenate([g, gun.muzzle_speed_mps * u])
        states = propagate(np.tile(state, (taus.size, 1)),
                           Projectiles.repeat(gun.interceptor, taus.size), taus,
                           atmosphere=world.atmosphere(), wind=world.wind(),
                           time_since_launch_s=0.0)
        reach = np.linalg.norm(states[:, :3] - g, axis=1)
        return float(np.interp(MAX_RANGE_M, reach, taus))

    return (t_in - tof_to(_position(truth, t_in)), t_out - tof_to(_position(truth, t_out)))


def test_window_ends_match_the_range_sphere(world, truth, gun_xy):
    gun = _gun(gun_xy)
    op = _opportunity(world, truth, gun, _confirmed(truth))
    assert op.engageable and op.tracked and op.reason == "" and op.reachable
    assert len(op.intervals) == 1, op.intervals
    iv = op.intervals[0]
    start, end = _expected_window(world, truth, gun)
    assert iv.gun == "g"
    # grid times lie inside the true window, each within one grid step of its end (plus a
    # tolerance for the straight-line time of flight used here)
    tol = 0.05
    assert start - tol <= iv.start_s < start + STEP_S + tol, (iv, start)
    assert end - STEP_S - tol < iv.end_s <= end + tol, (iv, end)
    assert op.earliest_fire_s == iv.start_s and op.earliest_gun == "g"
    assert end - start > 5.0  # a real window, several grid steps long


def test_no_fire_sector_over_the_bearing(world, truth, gun_xy):
    g = np.array([*gun_xy, 0.0])
    t0, t1 = float(truth.launch_time_s[ROUND]), float(truth.impact_time_s[ROUND])
    az = []
    for t in np.linspace(t0, t1, 200):
        p = _position(truth, t)
        if np.linalg.norm(p - g) < MAX_RANGE_M + 200.0:
            az.append(math.degrees(math.atan2(p[0] - g[0], p[1] - g[1])) % 360.0)
    lo, hi = (min(az) - 10.0) % 360.0, (max(az) + 10.0) % 360.0
    assert (hi - lo) % 360.0 < 180.0  # the bearings span a narrow arc, not across north
    gun = _gun(gun_xy, no_fire_sectors=[{"from_azimuth_deg": lo, "to_azimuth_deg": hi}])
    op = _opportunity(world, truth, gun, _confirmed(truth))
    assert not op.engageable and op.reason == "no_fire" and not op.reachable
    assert op.intervals == () and math.isnan(op.earliest_fire_s)
    # capped at 1° of elevation the sector no longer covers the shots (they climb 4° or more)
    capped = _gun(gun_xy, no_fire_sectors=[
        {"from_azimuth_deg": lo, "to_azimuth_deg": hi, "max_elevation_deg": 1.0}])
    assert _opportunity(world, truth, capped, _confirmed(truth)).engageable


def test_never_tracked_is_not_engageable(world, truth, gun_xy):
    op = _opportunity(world, truth, _gun(gun_xy), [], owner={})
    assert not op.tracked and not op.engageable and op.reason == "not_tracked"
    assert op.reachable  # a gun could have reached it: the sensors' gap mattered
    assert math.isnan(op.confirmed_s)


def test_late_confirmation_and_empty_magazine(world, truth, gun_xy):
    gun = _gun(gun_xy)
    start, end = _expected_window(world, truth, gun)
    late = _confirmed(truth, after_launch_s=end - float(truth.launch_time_s[ROUND]) + 1.0)
    op = _opportunity(world, truth, gun, late)
    assert not op.engageable and op.reason == "no_time_after_confirmation" and op.reachable
    # confirmed mid-window: the window starts at the confirmation
    mid = 0.5 * (start + end)
    op = _opportunity(world, truth, gun,
                      _confirmed(truth, after_launch_s=mid - float(truth.launch_time_s[ROUND])))
    assert op.engageable and mid <= op.earliest_fire_s <= mid + STEP_S
    # the whole magazine fired before the window: nothing left
    t_fire = float(truth.launch_time_s[ROUND])
    spent = EngagementOrdered(t_fire, gun="g", track_id=99, fire_time_s=t_fire,
                              rounds=gun.config.magazine)
    op = _opportunity(world, truth, gun, [*_confirmed(truth), spent])
    assert not op.engageable and op.reason == "magazine"
    # a magazine with one burst fewer than needed after a partial spend
    partial = EngagementOrdered(t_fire, gun="g", track_id=99, fire_time_s=t_fire,
                                rounds=gun.config.magazine - gun.rounds_per_burst)
    assert _opportunity(world, truth, gun, [*_confirmed(truth), partial]).engageable


def test_no_gun(world, truth):
    result = engagement_opportunity(truth, world, _confirmed(truth), owner={TID: ROUND},
                                    guns=[], rounds=[ROUND])
    assert result.rounds[0].reason == "no_gun" and not result.rounds[0].engageable


def test_tally_of_hand_made_events(world, truth, gun_xy):
    """Engaged, killed, defects and bursts at killed rounds, from events built by hand."""
    n = len(truth)
    asset = np.flatnonzero(truth.impact_in_asset.any(axis=1))
    a, b, c = (int(r) for r in asset[:3])
    # tracks 10+r follow rounds a, b, c; track 50 follows nothing
    owner = {10 + a: a, 10 + b: b, 10 + c: c}
    t_kill = float(truth.impact_time_s[a]) - 5.0
    tracks = [TrackEvent(float(truth.launch_time_s[r]) + 2.0, track_id=10 + r,
                         status="confirmed") for r in (a, b, c)]
    events = [
        *tracks,
        # two bursts at a: the first kills it, the second arrives after the kill
        EngagementOrdered(t_kill - 3, gun="g", track_id=10 + a, fire_time_s=t_kill - 3,
                          rounds=50, intercept_time_s=t_kill),
        EngagementOrdered(t_kill - 2, gun="h", track_id=10 + a, fire_time_s=t_kill - 2,
                          rounds=50, intercept_time_s=t_kill + 1),
        EngagementOutcome(t_kill, gun="g", track_id=10 + a, round_id=a, killed=True),
        EngagementOutcome(t_kill + 1, gun="h", track_id=10 + a, round_id=-1, killed=False),
        # a burst at b's track resolved against another round nearby: a miss, b engaged anyway
        EngagementOrdered(10.0, gun="g", track_id=10 + b, fire_time_s=10.0, rounds=50,
                          intercept_time_s=12.0),
        EngagementOutcome(12.0, gun="g", track_id=10 + b, round_id=c, killed=False),
        # a burst at a false track that found nothing
        EngagementOrdered(20.0, gun="g", track_id=50, fire_time_s=20.0, rounds=50,
                          intercept_time_s=22.0),
        EngagementOutcome(22.0, gun="g", track_id=50, round_id=-1, killed=False),
    ]
    events.sort(key=lambda e: e.time_s)
    opp = engagement_opportunity(truth, world, events, owner=owner)
    tally = engagement_tally(truth, events, opp, owner=owner)
    s = tally.as_summary()
    assert s["asset_rounds"] == asset.size
    assert s["rounds_engaged"] == 3  # a (orders, outcome), b (order), c (named by an outcome)
    assert s["asset_rounds_engaged"] == 3 and s["asset_rounds_killed"] == 1
    assert s["bursts_at_killed_rounds"] == 1  # the one after the kill
    assert s["bursts_at_nothing"] == 2  # the late one at a (no live round) and the false track
    assert s["success_ratio_engaged"] == pytest.approx(1 / 3)
    assert s["success_ratio_bursts"] == pytest.approx(1 / 4)
    assert s["rounds_per_kill"] == pytest.approx(200.0)
    engageable = {r.round_id for r in opp.rounds if r.engageable}
    assert engageable <= {a, b, c}  # only the tracked rounds can be engageable
    assert set(s["engageable_not_engaged"]) == engageable - {a, b, c} == set()
    assert sum(s["asset_rounds_not_engageable"].values()) == asset.size - len(engageable)
    assert set(s["asset_rounds_not_engageable"]) == set(REASONS)
    assert s["asset_rounds_not_tracked"] == asset.size - 3
    assert n > 0


# ----------------------------------------------------------------------------- a simulated run
@pytest.fixture(scope="module")
def simulated():
    """A single 3-rocket salvo at baghdad-embassy, 60 s (a few seconds to simulate)."""
    sc = load_scenario("baghdad-embassy")
    rockets = sc.threats[1].model_copy(
        update={"count": 1, "time_window_s": None, "start_time_s": 5.0})
    return simulate(sc.model_copy(update={"threats": (rockets,), "duration_s": 60.0}), seed=2)


def test_summary_fields_are_consistent(simulated):
    res = simulated
    s = compute_summary(res.events, res.truth, res.scenario, seed=res.seed,
                        detections=res.detections)
    assert set(SUMMARY_KEYS) <= set(s)
    truth = res.truth
    in_asset = truth.impact_in_asset.any(axis=1)
    assert s["asset_rounds"] == int(in_asset.sum()) > 0
    assert s["asset_rounds_engaged"] <= s["asset_rounds"]
    assert s["asset_rounds_killed"] <= s["asset_rounds_engaged"]
    assert s["asset_rounds_engageable"] <= s["asset_rounds"]
    assert s["leakers_on_assets"] == s["asset_rounds"] - s["asset_rounds_killed"]
    for key in ("success_ratio_engaged", "success_ratio_bursts"):
        assert s[key] is None or 0.0 <= s[key] <= 1.0
    if s["intercepts"]:
        assert s["rounds_per_kill"] == pytest.approx(s["rounds_fired"] / s["intercepts"],
                                                     rel=1e-6)
    else:
        assert s["rounds_per_kill"] is None
    assert 0 <= s["bursts_at_killed_rounds"] + s["bursts_at_nothing"] <= s["engagements"]
    # the defects are exactly the engageable rounds not engaged, recomputed independently
    owner = match_tracks(truth, [e for e in res.events if isinstance(e, TrackEvent)],
                         res.kill_time_s)
    opp = engagement_opportunity(truth, res.scenario, res.events, owner=owner)
    engaged = {owner[e.track_id] for e in res.events
               if isinstance(e, EngagementOrdered) and e.track_id in owner}
    engaged |= {e.round_id for e in res.events if isinstance(e, EngagementOutcome)}
    defects = sorted(r.round_id for r in opp.rounds if r.engageable and r.round_id not in engaged)
    assert s["engageable_not_engaged"] == defects
    assert s["asset_rounds_engageable"] == len(opp.engageable)
    # a round a gun really shot down was physically within some gun's reach
    by_round = opp.by_round()
    for r in np.flatnonzero(np.isfinite(res.kill_time_s) & in_asset):
        assert by_round[int(r)].reachable
    assert opp.wall_time_s < 5.0  # a fraction of a second on a laptop
