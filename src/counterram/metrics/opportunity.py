"""Engagement opportunity: could any gun have engaged a round headed for a defended asset?

Why it exists: "6 rounds hit the embassy" does not say whether fire control failed or whether no
gun could have done anything. An analyst judging fire control needs, for every round whose true
impact lies in a defended asset, whether some gun could have fired at it and reached it at all,
once the engine knew of it. A round that was engageable but not engaged is a defect of fire control
(or of its inputs); a round that was not engageable is a matter of physics and site geometry, or
of tracking. This module answers that from the truth (what the round really did), never from the
engine's estimates, so it judges fire control against what was possible.

**Opportunity.** For each asset-bound round (``Truth.impact_assets`` non-empty), on a grid of fire
times ``grid_step_s`` apart (0.5 s by default) over its flight, anchored at the confirmation time
of its first matched track (at the launch when it was never tracked), each gun's drag intercept
is solved from the round's TRUE state at the fire time
(:func:`~counterram.engagement.intercept.engagement_window`, one row per (fire time, gun)). A fire
time is *usable* by a gun when every limit holds:

* the intercept exists and its slant range is within the gun's [min, max] range
  (``out_of_range``), the round's time of flight does not exceed its self-destruct time
  (``self_destruct``), and the intercept point is at least ``min_altitude_m`` above the ground
  (``below_min_height``);
* the aim is inside the gun's azimuth and elevation travel (``travel``), outside its no-fire
  sectors (each with its elevation cap, :func:`~counterram.engagement.config.in_no_fire_sector`)
  and the line of fire does not cross a no-fire area (``no_fire``);
* the gun still holds a burst's rounds: its magazine less the rounds of its bursts fired before
  that time (the run's ``EngagementOrdered`` events, by ``fire_time_s``) (``magazine``);
* the fire time is not before the round's matched track was confirmed plus the gun's reaction
  time plus its slew from its stowed pointing (its heading, elevation 0) to the aim
  (``no_time_after_confirmation``).

Other engagements keeping a gun busy are deliberately *not* a limit: choosing which threat a gun
serves is fire control's job, the very thing being judged. A round is **engageable** when some gun
has a usable fire time. Its *intervals* are runs of consecutive usable grid times per gun,
(first, last) grid time: the true boundaries lie within one grid step outside each end.

**Reason** when not engageable: ``not_tracked`` when no confirmed track matched the round (see
`counterram.metrics.matching.match_tracks`). Otherwise the limits are applied one after the other to
every (gun, grid time) of the flight in the order above (range, self-destruct, height, travel,
no-fire, magazine); the first that leaves nothing is the reason. When something is left but none of
it comes after confirmation + reaction + slew: ``no_time_after_confirmation`` (the round could
have been engaged, but the engine knew of it too late). ``no_gun``: the site has no gun.
``reachable`` says whether the round could have been engaged by some gun at some time of its flight
had it been known from launch (all limits but the confirmation and readiness one): for a round
not tracked it tells a sensor gap that mattered from one that did not.

Cost: rows that cannot succeed are flagged without solving (the round farther from the gun than
max range plus its own travel during the longest round flight, or below the lowest engagement
height and descending); the rest are solved in one batch per gun. On the default scenario that is
a few hundred rows and some tenths of a second per run (``Opportunity.wall_time_s``).

**Engagement figures** (:func:`engagement_tally`, the summary's and the report's):

* a round is *engaged* when an ``EngagementOrdered`` names a track matched to it, or an
  ``EngagementOutcome`` names its ``round_id``; ``rounds_engaged`` counts every round,
  ``asset_rounds_engaged`` the asset-bound ones; it is *killed* when an outcome with its
  ``round_id`` has ``killed``;
* ``bursts_at_killed_rounds``: bursts (``EngagementOrdered``) at a round already shot down: the
  burst's track is matched to round r and r's kill time is before the burst's
  ``intercept_time_s``;
* ``bursts_at_nothing``: bursts whose outcome (paired with it by gun and track, in time order)
  has ``round_id`` −1: no live round within the simulator's gate (50 m) of the intercept point —
  a track too poor to aim by, or a false track;
* ``engageable_not_engaged``: the asset-bound rounds engageable and not engaged — the defects;
* ``success_ratio_engaged`` = rounds killed ÷ rounds engaged (Iron Dome's "interception rate" of
  threats engaged), ``success_ratio_bursts`` = intercepts ÷ bursts ordered, ``rounds_per_kill`` =
  interceptor rounds fired ÷ intercepts (null when the denominator is 0). ``intercepts`` counts
  killing outcomes; the simulator kills a round once, so it equals the rounds killed.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from counterram.engagement.config import Gun, guns_from_scenario, in_no_fire_sector
from counterram.engagement.intercept import WindowReason, engagement_window, slew_time_s
from counterram.events import EngagementOrdered, EngagementOutcome, Event, TrackEvent
from counterram.metrics.matching import kill_times, match_tracks
from counterram.physics.catalogue import load_catalogue
from counterram.physics.trajectory import Projectiles
from counterram.scenario.resolved import resolve
from counterram.world.truth import Truth, hermite

__all__ = [
    "GRID_STEP_S",
    "REASONS",
    "REASON_LABELS",
    "AssetRound",
    "EngagementTally",
    "GunInterval",
    "Opportunity",
    "RoundOpportunity",
    "confirmation_times",
    "engagement_opportunity",
    "engagement_tally",
    "has_samples",
    "kill_times",
]

GRID_STEP_S = 0.5
"""Default spacing of the fire-time grid (s)."""

NOT_TRACKED = "not_tracked"
NO_GUN = "no_gun"
OUT_OF_RANGE = "out_of_range"
SELF_DESTRUCT = "self_destruct"
BELOW_MIN_HEIGHT = "below_min_height"
TRAVEL = "travel"
NO_FIRE = "no_fire"
MAGAZINE = "magazine"
NO_TIME = "no_time_after_confirmation"

REASONS = (NOT_TRACKED, NO_GUN, OUT_OF_RANGE, SELF_DESTRUCT, BELOW_MIN_HEIGHT, TRAVEL, NO_FIRE,
           MAGAZINE, NO_TIME)
"""Every reason a round may be not engageable (the summary counts each, zeros included)."""

REASON_LABELS = {
    NOT_TRACKED: "not tracked",
    NO_GUN: "no gun",
    OUT_OF_RANGE: "out of range",
    SELF_DESTRUCT: "beyond self-destruct",
    BELOW_MIN_HEIGHT: "below min height",
    TRAVEL: "outside gun travel",
    NO_FIRE: "no-fire sector/area",
    MAGAZINE: "magazine empty",
    NO_TIME: "no time after confirmation",
}
"""Plain words for each reason (the report's)."""

# Limit classes in the order the reason is looked for (bits of WindowReason, plus the magazine).
_MAGAZINE_BIT = 1 << 20
_LIMITS: tuple[tuple[str, int], ...] = (
    (OUT_OF_RANGE, int(WindowReason.NO_INTERCEPT | WindowReason.MIN_RANGE
                       | WindowReason.MAX_RANGE)),
    (SELF_DESTRUCT, int(WindowReason.SELF_DESTRUCT)),
    (BELOW_MIN_HEIGHT, int(WindowReason.MIN_ALTITUDE)),
    (TRAVEL, int(WindowReason.AZIMUTH_LIMIT | WindowReason.ELEVATION_LIMIT)),
    (NO_FIRE, int(WindowReason.NO_FIRE_SECTOR | WindowReason.NO_FIRE_AREA)),
    (MAGAZINE, _MAGAZINE_BIT),
)


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class GunInterval:
    """Fire times ``start_s`` … ``end_s`` (grid times, inclusive) at which ``gun`` could fire."""

    gun: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class RoundOpportunity:
    """The engagement opportunity of one asset-bound round (see the module docstring).

    ``confirmed_s`` is when its first matched track was confirmed (NaN: never tracked);
    ``intervals`` the usable fire-time intervals of every gun, by start; ``earliest_fire_s`` and
    ``earliest_gun`` the first usable fire time and its gun (NaN, "" when none); ``reason`` one of
    :data:`REASONS` ("" when engageable); ``reachable`` whether some gun could have engaged it at
    some time of its flight had it been known from launch.
    """

    round_id: int
    assets: tuple[str, ...]
    tracked: bool
    confirmed_s: float
    engageable: bool
    intervals: tuple[GunInterval, ...]
    earliest_fire_s: float
    earliest_gun: str
    reason: str
    reachable: bool

    def gun_intervals(self, gun: str) -> tuple[tuple[float, float], ...]:
        """The (start, end) fire-time intervals of one gun."""
        return tuple((iv.start_s, iv.end_s) for iv in self.intervals if iv.gun == gun)


@dataclass(frozen=True)
class Opportunity:
    """Engagement opportunity of every asset-bound round of a run.

    ``rows_solved`` drag intercepts were solved (the rest of the grid was screened out) in
    ``wall_time_s`` seconds.
    """

    rounds: tuple[RoundOpportunity, ...]
    grid_step_s: float
    guns: tuple[str, ...]
    rows_solved: int = 0
    rows_screened: int = 0
    wall_time_s: float = 0.0

    def __len__(self) -> int:
        return len(self.rounds)

    def by_round(self) -> dict[int, RoundOpportunity]:
        """Round id → its opportunity."""
        return {r.round_id: r for r in self.rounds}

    @property
    def engageable(self) -> tuple[int, ...]:
        """Ids of the engageable rounds."""
        return tuple(r.round_id for r in self.rounds if r.engageable)

    def reason_counts(self) -> dict[str, int]:
        """Rounds not engageable, per reason (every reason of :data:`REASONS`, zeros included)."""
        out = dict.fromkeys(REASONS, 0)
        for r in self.rounds:
            if not r.engageable:
                out[r.reason] += 1
        return out


# ------------------------------------------------------------------------------------ helpers
def _events(events: Iterable[Event | Mapping[str, Any]]) -> list[Event]:
    from counterram.events import event_from_dict

    return [e if isinstance(e, Event) else event_from_dict(dict(e)) for e in events]


def confirmation_times(
    events: Sequence[Event], owner: Mapping[int, int], n: int
) -> np.ndarray:
    """(n,) per round, the first confirmation time of a track matched to it (NaN: none)."""
    first: dict[int, float] = {}
    for e in events:
        if isinstance(e, TrackEvent) and e.status == "confirmed" and not e.update:
            first.setdefault(e.track_id, float(e.time_s))
    out = np.full(n, np.nan)
    for tid, r in owner.items():
        t = first.get(tid)
        if t is None:  # confirmed only by a periodic report: its first confirmed report
            t = min((float(e.time_s) for e in events if isinstance(e, TrackEvent)
                     and e.track_id == tid and e.status == "confirmed"), default=math.nan)
        if 0 <= r < n and math.isfinite(t):
            out[r] = np.fmin(out[r], t)
    return out


def has_samples(truth: Truth) -> bool:
    """Whether the truth holds trajectory samples (the opportunity needs them)."""
    return truth.samples.shape[1] > 0 and truth.sample_dt_s > 0


def _true_states(truth: Truth, rounds: np.ndarray, times: np.ndarray) -> np.ndarray:
    """True states (M, 6) of ``rounds`` (M,) at ``times`` (M,) inside their flights, by the
    interpolation of :meth:`Truth.states_at`."""
    h = truth.sample_dt_s
    tau = times - truth.launch_time_s[rounds]
    count = truth.sample_count[rounds]
    k = np.clip(np.floor(tau / h).astype(np.int64), 0, count - 1)
    x0 = truth.samples[rounds, k]
    last = k + 1 >= count
    nxt = np.minimum(k + 1, truth.samples.shape[1] - 1)
    x1 = np.where(last[:, None], truth.impact_state[rounds], truth.samples[rounds, nxt])
    t1 = np.where(last, truth.time_of_flight_s[rounds], (k + 1) * h)
    return hermite(x0, x1, k * h, t1, tau)


_MAX_STEP_S = 0.05
"""RK4 step of the intercept solutions (s). Fire control uses 0.02 s to aim to a millimetre; a
yes/no on feasibility needs centimetres at most (RK4's error falls as the step's fourth power,
so 0.05 s costs 2.5 × less and errs by centimetres at 2 km)."""

_SCREEN_MARGIN_M = 25.0
"""Slack of the screen (m): more than a round moves between two truth samples (0.05 s)."""
_SCREEN_AZIMUTH_RAD = float(np.radians(5.0))
"""Slack of the azimuth screen: far more than a 20 mm round's wind drift over 4 s."""
_SCREEN_OVERHEAD_M = 150.0
"""Samples closer than this horizontally are never screened by azimuth (ill-defined overhead)."""


def _screen(
    truth: Truth, rounds: np.ndarray, times: np.ndarray, gun: Gun, ground_height_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (round, fire time) that cannot give an intercept, without solving it: the intercept
    lies on the round's true path between the fire time and the self-destruct time after it, so
    if no truth sample in that span (one more each side) is within the gun's slant range
    (``far``), or none within range is above the lowest engagement height (``low``), or none of
    those is within the gun's azimuth travel (``wide``: the aim's azimuth is the intercept
    point's, give or take the round's wind drift), no intercept within the limits exists. The
    margins cover the motion between samples and the drift."""
    far = np.zeros(rounds.size, dtype=bool)
    low = np.zeros(rounds.size, dtype=bool)
    wide = np.zeros(rounds.size, dtype=bool)
    lim = gun.limits
    h = truth.sample_dt_s
    span = float(lim.max_round_tof_s or gun.self_destruct_s)
    for r in np.unique(rounds):
        rows = np.flatnonzero(rounds == r)
        k = int(truth.sample_count[r])
        pos = np.concatenate([truth.samples[r, :k, 0:3], truth.impact_enu[r][None, :]])
        d = np.linalg.norm(pos - gun.position_enu, axis=1)
        m = _SCREEN_MARGIN_M
        in_range = (d <= lim.max_range_m + m) & (d >= lim.min_range_m - m)
        high = in_range & (pos[:, 2] - ground_height_m >= lim.min_altitude_m - m)
        rel = pos - gun.position_enu
        ground = np.hypot(rel[:, 0], rel[:, 1])
        off = np.abs((np.arctan2(rel[:, 0], rel[:, 1]) - lim.azimuth_center_rad + np.pi)
                     % (2.0 * np.pi) - np.pi)
        travel = high & ((off <= lim.azimuth_half_width_rad + _SCREEN_AZIMUTH_RAD)
                         | (ground < _SCREEN_OVERHEAD_M) | (lim.azimuth_half_width_rad >= np.pi))
        tau = times[rows] - truth.launch_time_s[r]
        a = np.clip(np.floor(tau / h).astype(np.int64) - 1, 0, k)
        b = np.clip(np.ceil((tau + span) / h).astype(np.int64) + 1, 0, k) + 1

        def none(mask: np.ndarray) -> np.ndarray:
            c = np.concatenate([[0], np.cumsum(mask)])
            return (c[b] - c[a]) == 0  # noqa: B023 (used at once, inside the loop)

        far[rows] = none(in_range)
        low[rows] = ~far[rows] & none(high)
        wide[rows] = ~far[rows] & ~low[rows] & none(travel)
    return far, low, wide


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices of the runs of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _rounds_left(gun: Gun, orders: Sequence[EngagementOrdered], times: np.ndarray) -> np.ndarray:
    """Rounds left in the gun's magazine at each time (bursts fired strictly before it)."""
    mine = sorted((float(o.fire_time_s if math.isfinite(o.fire_time_s) else o.time_s),
                   int(o.rounds)) for o in orders if o.gun == gun.name)
    if not mine:
        return np.full(times.shape, gun.config.magazine, dtype=np.int64)
    fired_at = np.array([t for t, _ in mine])
    used = np.concatenate([[0], np.cumsum([k for _, k in mine])])
    return gun.config.magazine - used[np.searchsorted(fired_at, times, side="left")]


# ------------------------------------------------------------------------------------ opportunity
def engagement_opportunity(
    truth: Truth,
    scenario: Any,
    events: Iterable[Event | Mapping[str, Any]],
    *,
    owner: Mapping[int, int] | None = None,
    guns: Sequence[Gun] | None = None,
    grid_step_s: float = GRID_STEP_S,
    ground_height_m: float = 0.0,
    rounds: Iterable[int] | None = None,
) -> Opportunity:
    """The engagement opportunity of the asset-bound rounds of a run (module docstring).

    ``scenario`` parsed or resolved (its guns, atmosphere and wind); ``events`` the run's events
    (objects or dicts); ``owner`` confirmed track id → round id (default
    `counterram.metrics.matching.match_tracks` over the events); ``guns`` default the scenario's;
    ``rounds`` the round ids to judge (default every round whose impact lies in an asset).
    """
    started = time.perf_counter()
    if not (math.isfinite(grid_step_s) and grid_step_s > 0):
        raise ValueError(f"grid_step_s must be a positive number of seconds, got {grid_step_s!r}")
    world = resolve(scenario)
    evs = _events(events)
    n = len(truth)
    if owner is None:

        owner = match_tracks(truth, [e for e in evs if isinstance(e, TrackEvent)],
                             kill_times(evs, n))
    gun_list = tuple(guns_from_scenario(world) if guns is None else guns)
    if rounds is None:
        in_asset = truth.impact_in_asset.any(axis=1) if n else np.zeros(0, bool)
        ids = np.flatnonzero(in_asset)
    else:
        ids = np.array(sorted({int(r) for r in rounds}), dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise ValueError(f"rounds must be round ids in 0..{n - 1}")
    confirmed = confirmation_times(evs, owner, n)
    assets = truth.impact_assets
    orders = [e for e in evs if isinstance(e, EngagementOrdered)]
    if ids.size and gun_list and not has_samples(truth):
        raise ValueError("the opportunity needs the truth's trajectory samples "
                         "(this truth was built with sample_dt_s=None)")

    # the fire-time grid of every judged round: anchored at its confirmation (else its launch)
    row_round: list[np.ndarray] = []
    row_time: list[np.ndarray] = []
    for r in ids:
        t0, t_end = float(truth.launch_time_s[r]), float(truth.impact_time_s[r])
        anchor = float(confirmed[r]) if math.isfinite(confirmed[r]) else t0
        k0 = math.ceil((t0 - anchor) / grid_step_s - 1e-9)
        k1 = math.ceil((t_end - anchor) / grid_step_s - 1e-9)  # times strictly before impact
        times = anchor + grid_step_s * np.arange(k0, k1)
        times = times[(times >= t0) & (times < t_end)]
        if not gun_list:
            times = times[:0]
        row_round.append(np.full(times.size, r, dtype=np.int64))
        row_time.append(times)
    rr = np.concatenate(row_round) if row_round else np.zeros(0, np.int64)
    tt = np.concatenate(row_time) if row_time else np.zeros(0)
    G, M = len(gun_list), rr.size
    flags = np.zeros((G, M), dtype=np.int64)
    ready_at = np.full((G, M), np.inf)  # earliest fire time given confirmation, reaction, slew
    solved = screened = 0
    if M:
        states = _true_states(truth, rr, tt)
        catalogue = load_catalogue()
        munitions = {name: catalogue.get(name) for name in dict.fromkeys(truth.munition[ids])}
        bodies = Projectiles.from_munitions([munitions[truth.munition[r]] for r in rr])
        tsl = tt - truth.launch_time_s[rr]
        atmosphere, wind = world.atmosphere(), world.wind()
        for g, gun in enumerate(gun_list):
            lim = gun.limits
            far, low, wide = _screen(truth, rr, tt, gun, ground_height_m)
            flags[g, far] |= int(WindowReason.MAX_RANGE)
            flags[g, low] |= int(WindowReason.MIN_ALTITUDE)
            flags[g, wide] |= int(WindowReason.AZIMUTH_LIMIT)
            left = _rounds_left(gun, orders, tt)
            flags[g, left < gun.rounds_per_burst] |= _MAGAZINE_BIT
            rows = np.flatnonzero(~far & ~low & ~wide)
            screened += M - rows.size
            if rows.size == 0:
                continue
            solved += rows.size
            w = engagement_window(
                lim, states[rows], bodies.take(rows), [0.0],
                current_azimuth_rad=lim.azimuth_center_rad, current_elevation_rad=0.0,
                interceptor=gun.interceptor, muzzle_speed_mps=gun.muzzle_speed_mps,
                threat_time_since_launch_s=tsl[rows], ground_height_m=ground_height_m,
                atmosphere=atmosphere, wind=wind, max_step_s=_MAX_STEP_S,
            )
            sol = w.solution
            az, el = sol.azimuth_rad[:, 0], sol.elevation_rad[:, 0]
            reasons = w.reasons[:, 0].astype(np.int64) & ~int(WindowReason.NOT_READY)
            ok = np.isfinite(az) & np.isfinite(el)
            sector = np.zeros(rows.size, dtype=bool)
            sector[ok] = in_no_fire_sector(gun.no_fire_sectors_rad, az[ok], el[ok])
            reasons[sector] |= int(WindowReason.NO_FIRE_SECTOR)
            flags[g, rows] |= reasons
            slew = np.full(rows.size, np.inf)
            slew[ok] = slew_time_s(lim, lim.azimuth_center_rad, 0.0, az[ok], el[ok])
            ready_at[g, rows] = confirmed[rr[rows]] + lim.reaction_time_s + slew

    out: list[RoundOpportunity] = []
    start = 0
    for r, times in zip(ids, row_time, strict=True):
        sl = slice(start, start + times.size)
        start += times.size
        f = flags[:, sl]
        tracked = bool(math.isfinite(confirmed[r]))
        alive = np.ones(f.shape, dtype=bool)
        physical = ""
        if not gun_list:
            physical = NO_GUN
        elif times.size == 0:  # a flight shorter than the grid step: no fire time to judge
            physical = NO_TIME
        else:
            for name, bits in _LIMITS:
                nxt = alive & ((f & bits) == 0)
                if not nxt.any():
                    physical = name
                    break
                alive = nxt
        reachable = not physical
        usable = alive & (times[None, :] >= ready_at[:, sl] - 1e-9)
        if not reachable:
            usable[:] = False
        intervals: list[GunInterval] = []
        for g, gun in enumerate(gun_list):
            for a, b in _runs(usable[g]):
                intervals.append(GunInterval(gun.name, float(times[a]), float(times[b])))
        intervals.sort(key=lambda iv: (iv.start_s, iv.gun))
        engageable = bool(intervals) and tracked
        if engageable:
            reason = ""
        elif not tracked:
            reason = NOT_TRACKED
        elif physical:
            reason = physical
        else:
            reason = NO_TIME
        first = intervals[0] if engageable else None
        out.append(RoundOpportunity(
            round_id=int(r), assets=tuple(assets[r]), tracked=tracked,
            confirmed_s=float(confirmed[r]), engageable=engageable,
            intervals=tuple(intervals) if engageable else (),
            earliest_fire_s=first.start_s if first else math.nan,
            earliest_gun=first.gun if first else "", reason=reason, reachable=reachable,
        ))
    return Opportunity(
        rounds=tuple(out), grid_step_s=float(grid_step_s), guns=tuple(g.name for g in gun_list),
        rows_solved=solved, rows_screened=screened, wall_time_s=time.perf_counter() - started,
    )


# ------------------------------------------------------------------------------------ tally
@dataclass(frozen=True)
class AssetRound:
    """One asset-bound round as the report shows it: its opportunity and what happened.

    ``opportunity`` None when it was not computed (a truth without samples); ``engaged_s`` the
    first fire time at it (NaN: not engaged or engaged only by an outcome), ``engaged_by`` the
    guns that fired at it, ``killed_s`` its kill time (NaN: not killed), ``leaked`` it landed on
    its asset.
    """

    round_id: int
    opportunity: RoundOpportunity | None
    engaged: bool
    engaged_s: float
    engaged_by: tuple[str, ...]
    killed: bool
    killed_s: float
    leaked: bool

    @property
    def engageable(self) -> bool | None:
        """Whether some gun could have engaged it (None: not computed)."""
        return None if self.opportunity is None else self.opportunity.engageable

    @property
    def defect(self) -> bool:
        """Engageable but not engaged."""
        return bool(self.engageable) and not self.engaged


@dataclass(frozen=True)
class EngagementTally:
    """The engagement figures of a run (module docstring); :meth:`as_summary` gives the
    summary.json fields."""

    asset_rounds: tuple[AssetRound, ...]
    judged: bool
    rounds_engaged: int
    rounds_killed: int
    intercepts: int
    bursts: int
    rounds_fired: int
    bursts_at_killed_rounds: int
    bursts_at_nothing: int
    reason_counts: dict[str, int] | None = field(default_factory=dict)

    @property
    def defects(self) -> tuple[int, ...]:
        """Ids of the asset-bound rounds engageable and not engaged."""
        return tuple(a.round_id for a in self.asset_rounds if a.defect)

    def as_summary(self) -> dict[str, Any]:
        """The summary.json fields (docs/running.md); those that need the opportunity are null
        when it was not computed."""
        a = self.asset_rounds
        judged = self.judged

        def count(values: Iterable[bool]) -> int | None:
            return int(sum(values)) if judged else None

        return {
            "asset_rounds": len(a),
            "asset_rounds_engageable": count(bool(x.engageable) for x in a),
            "asset_rounds_engaged": sum(x.engaged for x in a),
            "asset_rounds_engageable_engaged": count(bool(x.engageable) and x.engaged
                                                     for x in a),
            "asset_rounds_killed": sum(x.killed for x in a),
            "asset_rounds_not_tracked": count(
                x.opportunity is not None and not x.opportunity.tracked for x in a),
            "asset_rounds_not_engageable": (dict(self.reason_counts) if judged
                                            and self.reason_counts is not None else None),
            "engageable_not_engaged": list(self.defects) if judged else None,
            "rounds_engaged": self.rounds_engaged,
            "bursts_at_killed_rounds": self.bursts_at_killed_rounds,
            "bursts_at_nothing": self.bursts_at_nothing,
            "success_ratio_engaged": _ratio(self.rounds_killed, self.rounds_engaged),
            "success_ratio_bursts": _ratio(self.intercepts, self.bursts),
            "rounds_per_kill": _ratio(self.rounds_fired, self.intercepts),
        }


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def engagement_tally(
    truth: Truth,
    events: Iterable[Event | Mapping[str, Any]],
    opportunity: Opportunity | None,
    *,
    owner: Mapping[int, int] | None = None,
) -> EngagementTally:
    """Engagement figures of a run from its truth, events and :func:`engagement_opportunity`
    (``owner`` as there; the same mapping should be used for both). With ``opportunity`` None
    (not computed) the asset-bound rounds are those of the truth and the figures that need the
    opportunity are null."""
    evs = _events(events)
    n = len(truth)
    kill_t = kill_times(evs, n)
    if owner is None:

        owner = match_tracks(truth, [e for e in evs if isinstance(e, TrackEvent)], kill_t)
    orders = [e for e in evs if isinstance(e, EngagementOrdered)]
    outcomes = [e for e in evs if isinstance(e, EngagementOutcome)]

    engaged_s = np.full(n, np.nan)
    engaged_by: list[list[str]] = [[] for _ in range(n)]

    def engage(r: int, t: float, gun: str) -> None:
        engaged_s[r] = np.fmin(engaged_s[r], t)
        if gun and gun not in engaged_by[r]:
            engaged_by[r].append(gun)

    for o in orders:
        r = owner.get(int(o.track_id), -1)
        if 0 <= r < n:
            engage(r, float(o.fire_time_s if math.isfinite(o.fire_time_s) else o.time_s), o.gun)
    for o in outcomes:
        if 0 <= o.round_id < n:
            engage(o.round_id, math.nan, o.gun)  # NaN leaves an ordered fire time alone
    named = {o.round_id for o in outcomes}
    engaged = np.array([bool(engaged_by[r]) or math.isfinite(engaged_s[r]) or r in named
                        for r in range(n)], dtype=bool)

    # bursts at killed rounds: pair each burst with its outcome by (gun, track), in time order
    by_pair_orders: dict[tuple[str, int], list[EngagementOrdered]] = defaultdict(list)
    by_pair_outcomes: dict[tuple[str, int], list[EngagementOutcome]] = defaultdict(list)
    for o in orders:
        by_pair_orders[(o.gun, int(o.track_id))].append(o)
    for o in outcomes:
        by_pair_outcomes[(o.gun, int(o.track_id))].append(o)
    wasted = 0
    at_nothing = 0
    for key, mine in by_pair_orders.items():
        mine = sorted(mine, key=lambda o: (o.intercept_time_s, o.time_s))
        results = sorted(by_pair_outcomes.get(key, []), key=lambda o: o.time_s)
        r = owner.get(key[1], -1)
        for k, o in enumerate(mine):
            res = results[k] if k < len(results) else None
            wasted += bool(0 <= r < n and kill_t[r] < o.intercept_time_s)
            at_nothing += bool(res is not None and res.round_id < 0)

    in_asset = truth.impact_in_asset.any(axis=1) if n else np.zeros(0, bool)
    if opportunity is None:
        judged: list[tuple[int, RoundOpportunity | None]] = [
            (int(r), None) for r in np.flatnonzero(in_asset)]
    else:
        judged = [(op.round_id, op) for op in opportunity.rounds]
    rows = []
    for r, op in judged:
        killed = bool(np.isfinite(kill_t[r]))
        rows.append(AssetRound(
            round_id=r, opportunity=op, engaged=bool(engaged[r]), engaged_s=float(engaged_s[r]),
            engaged_by=tuple(engaged_by[r]), killed=killed, killed_s=float(kill_t[r]),
            leaked=bool(in_asset[r]) and not killed,
        ))
    return EngagementTally(
        asset_rounds=tuple(rows),
        judged=opportunity is not None,
        rounds_engaged=int(np.count_nonzero(engaged)),
        rounds_killed=int(np.count_nonzero(np.isfinite(kill_t))),
        intercepts=sum(1 for o in outcomes if o.killed),
        bursts=len(orders),
        rounds_fired=int(sum(o.rounds for o in orders)),
        bursts_at_killed_rounds=wasted,
        bursts_at_nothing=at_nothing,
        reason_counts=None if opportunity is None else opportunity.reason_counts(),
    )
