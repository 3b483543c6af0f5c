"""The run summary (summary.json): a simulated run's headline numbers, from its events and truth.

Why it exists: an analyst comparing sites, radars or policies wants a few numbers per run — how
many rounds were seen, warned in time, shot down, how much warning people had, how well the
impact and origin were predicted, what the defence cost in collateral — computed the same way
every time. They come from the event log and the truth only (never from engine internals), with
the metrics of :mod:`counterram.metrics.warning`; the engine's events do not say which round a
track is, so each confirmed track is matched to the round nearest to its reported positions
(majority vote of its positions within ``match_gate_m``, as the report does).

Definitions (docs/running.md lists every field):

* a round *lands* unless an :class:`~counterram.events.EngagementOutcome` killed it; a killed
  round counts for its would-be impact point at its kill time where a prediction or a warning is
  judged (a warning for a round that was then shot down was not a false one);
* *warned in time*: every warning zone containing the impact point was warned (a warning issued
  before impact and not yet cleared) when the round landed; the round's warning time is the
  shortest over its zones;
* ``poi_cep_m``: median radial error of each matched round's last impact prediction made at
  least ``poi_lead_s`` (10 s) before its impact, i.e. with the lead a warning needs (rounds whose
  track never had that lead are left out); ``poi_cep_first_m``: the same for the first
  prediction after confirmation; ``poo_cep_m``: median radial error of each round's last origin
  estimate (the engine reports an origin only when it is more precise than the track's previous
  one);
* engagement figures (:mod:`counterram.metrics.opportunity` defines them exactly): of the
  ``asset_rounds`` (rounds whose true impact point lies in a defended asset, shot down or not),
  those ``asset_rounds_engageable`` (some gun could have fired at the round and reached it within
  all its limits after the round's matched track was confirmed, judged on the true trajectory),
  ``asset_rounds_engaged`` (a burst ordered at a track matched to the round, or an outcome naming
  it) and ``asset_rounds_killed``; ``engageable_not_engaged`` lists the defects (engageable and
  not engaged); ``bursts_at_killed_rounds`` counts bursts at a round already shot down,
  ``bursts_at_nothing`` bursts that met no live round (a track too poor to aim by, or false);
  ``success_ratio_engaged`` = rounds killed ÷ rounds engaged, ``success_ratio_bursts`` =
  intercepts ÷ bursts, ``rounds_per_kill`` = interceptor rounds fired ÷ intercepts;
* ``expected_casualties``: the defence's collateral (the resolved bursts' debris, duds and
  fragments) plus the leakers' (a landed round's lethal area, the fire-control model of
  :func:`~counterram.engagement.fire_control.threat_lethal_area_m2`, times the population
  density at its impact point).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from counterram.events import (
    AllClear,
    EngagementOrdered,
    EngagementOutcome,
    Event,
    ImpactPredicted,
    OriginEstimated,
    PlotRejected,
    TrackEvent,
    WarningIssued,
    event_from_dict,
)
from counterram.metrics.matching import MATCH_GATE_M, match_tracks
from counterram.scenario.resolved import resolve
from counterram.world import Truth

__all__ = ["MATCH_GATE_M", "POI_LEAD_S", "SUMMARY_KEYS", "compute_summary", "match_tracks"]

POI_LEAD_S = 10.0
"""``poi_cep_m`` judges the last impact prediction made at least this long before impact (s)."""

SUMMARY_KEYS = (
    "scenario", "seed", "rounds_launched", "rounds_detected", "tracks_confirmed", "false_tracks",
    "warnings_issued", "rounds_in_zones", "rounds_warned_in_time", "warning_time_s",
    "false_warnings", "needless_shelter_person_s", "people_warned_per_round_in_zone",
    "engagements", "intercepts", "leakers_on_assets", "rounds_fired",
    "poi_cep_m", "poo_cep_m", "expected_casualties", "engine_latency_ms",
    "asset_rounds", "asset_rounds_engageable", "asset_rounds_engaged", "asset_rounds_killed",
    "bursts_at_killed_rounds", "bursts_at_nothing", "engageable_not_engaged",
    "success_ratio_engaged", "success_ratio_bursts", "rounds_per_kill",
)
"""Keys every summary has (more may follow)."""


def _events(events: Iterable[Event | Mapping[str, Any]]) -> list[Event]:
    return [e if isinstance(e, Event) else event_from_dict(dict(e)) for e in events]


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p10": None, "min": None}
    a = np.asarray(values, dtype=float)
    return {"median": float(np.median(a)), "p10": float(np.percentile(a, 10)),
            "min": float(a.min())}


def _round(value: Any, digits: int = 6) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, digits)
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def compute_summary(
    events: Iterable[Event | Mapping[str, Any]],
    truth: Truth,
    scenario: Any,
    *,
    seed: int | None = None,
    detections: np.ndarray | None = None,
    latency: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    poi_lead_s: float = POI_LEAD_S,
) -> dict[str, Any]:
    """summary.json of a run: ``events`` (objects or dicts, log order), the ``truth``, the
    ``scenario`` (parsed or resolved); ``detections`` (R,) plots per round delivered to the
    engine (rounds_detected is null without it); ``latency`` the engine's
    :attr:`~counterram.engine.Engine.latency`. ``extra`` keys are appended."""
    from counterram.engagement.fire_control import FireControlConfig, threat_lethal_area_m2
    from counterram.metrics.opportunity import engagement_opportunity, engagement_tally, has_samples
    from counterram.metrics.warning import (
        false_warnings,
        needless_shelter_person_s,
        round_warnings,
        warning_intervals,
        zone_populations,
    )
    from counterram.physics.catalogue import load_catalogue
    from counterram.prediction.ellipse import circular_error_probable
    from counterram.warning import warner as wn
    from counterram.warning.zones import WarningZones

    world = resolve(scenario)
    evs = _events(events)
    n = len(truth)
    kill_time = np.full(n, np.nan)
    for e in evs:
        if isinstance(e, EngagementOutcome) and e.killed and 0 <= e.round_id < n:
            kill_time[e.round_id] = min(np.nan_to_num(kill_time[e.round_id], nan=np.inf),
                                        e.time_s)
    killed = np.isfinite(kill_time)
    landed = ~killed

    track_events = [e for e in evs if isinstance(e, TrackEvent)]
    confirmed_ids = {e.track_id for e in track_events if e.status == "confirmed" and not e.update}
    owner = match_tracks(truth, track_events, kill_time)
    false_tracks = sorted(confirmed_ids - owner.keys())

    # ---- warnings
    records: list[wn.WarningRecord] = []
    for e in evs:
        if isinstance(e, WarningIssued):
            cls = wn.WarningUpdated if e.update else wn.WarningIssued
            records.append(cls(e.time_s, e.zone, e.track_ids, e.probability,
                               e.predicted_impact_time_s))
        elif isinstance(e, AllClear):
            records.append(wn.AllClear(e.time_s, e.zone, math.nan))
    zones = WarningZones.from_scenario(world)
    in_zone = truth.impact_in_zone.any(axis=1) if n else np.zeros(0, bool)
    rounds_in_zones = np.flatnonzero(landed & in_zone)
    per_round: dict[int, list[float]] = defaultdict(list)
    if rounds_in_zones.size:
        for w in round_warnings(records, zones, truth.impact_enu[rounds_in_zones, :2],
                                truth.impact_time_s[rounds_in_zones]):
            per_round[int(rounds_in_zones[w.round_index])].append(w.warning_time_s)
    warned = [r for r, ws in per_round.items() if ws and all(math.isfinite(w) for w in ws)]
    warning_times = [min(per_round[r]) for r in sorted(warned)]
    judged_time = np.where(killed, kill_time, truth.impact_time_s)
    false = false_warnings(records, zones, truth.impact_enu[:, :2], judged_time) if len(
        zones) else []
    people = zone_populations(zones, world.populated)
    end_s = max((e.time_s for e in evs), default=0.0)
    shelter = needless_shelter_person_s(false, zones, people, end_s)
    warned_people = sum(people[zones.index(iv.zone)] for iv in warning_intervals(records))

    # ---- engagements
    orders = [e for e in evs if isinstance(e, EngagementOrdered)]
    outcomes = [e for e in evs if isinstance(e, EngagementOutcome)]
    in_asset = truth.impact_in_asset.any(axis=1) if n else np.zeros(0, bool)
    fc_cfg = FireControlConfig()
    opportunity = engagement_opportunity(
        truth, world, evs, owner=owner, ground_height_m=fc_cfg.ground_height_m
    ) if has_samples(truth) else None  # without samples the opportunity fields are null
    tally = engagement_tally(truth, evs, opportunity, owner=owner)

    # ---- prediction accuracy
    confirmed_at: dict[int, float] = {}
    for e in track_events:
        if e.status == "confirmed" and not e.update:
            confirmed_at.setdefault(e.track_id, e.time_s)
    judged_impact = truth.impact_enu[:, :2]
    first_poi: dict[int, tuple[float, np.ndarray]] = {}
    lead_poi: dict[int, tuple[float, np.ndarray]] = {}
    last_poo: dict[int, tuple[float, np.ndarray]] = {}
    for e in evs:
        if isinstance(e, ImpactPredicted) and e.track_id in owner:
            if e.time_s < confirmed_at.get(e.track_id, math.inf):
                continue
            r = owner[e.track_id]
            en = np.asarray(e.impact_en, dtype=float)
            if r not in first_poi or e.time_s < first_poi[r][0]:
                first_poi[r] = (e.time_s, en)
            if e.time_s <= truth.impact_time_s[r] - poi_lead_s and (
                r not in lead_poi or e.time_s >= lead_poi[r][0]
            ):
                lead_poi[r] = (e.time_s, en)
        elif isinstance(e, OriginEstimated) and e.track_id in owner:
            r = owner[e.track_id]
            if r not in last_poo or e.time_s >= last_poo[r][0]:
                last_poo[r] = (e.time_s, np.asarray(e.origin_en, dtype=float))

    def cep(found: dict[int, tuple[float, np.ndarray]], ref: np.ndarray) -> float | None:
        errors = [v[1] - ref[r] for r, v in sorted(found.items())]
        return circular_error_probable(np.array(errors)) if errors else None

    poi_cep = cep(lead_poi, judged_impact)
    poi_first_cep = cep(first_poi, judged_impact)
    poo_cep = cep(last_poo, truth.launch_enu[:, :2])

    # ---- collateral
    catalogue = load_catalogue()
    leak_casualties = 0.0
    for r in np.flatnonzero(landed):
        density = sum(p.density_per_m2 for p in world.populated
                      if bool(p.area.contains(truth.impact_enu[r, 0], truth.impact_enu[r, 1])))
        if density:
            area = threat_lethal_area_m2(catalogue.get(str(truth.munition[r])), fc_cfg)
            leak_casualties += density * area
    collateral = float(sum(o.expected_casualties for o in outcomes))

    total = (latency or {}).get("total")
    summary: dict[str, Any] = {
        "scenario": world.scenario.name,
        "seed": int(world.scenario.seed if seed is None else seed),
        "rounds_launched": int(n),
        "rounds_detected": None if detections is None else int(np.count_nonzero(detections)),
        "tracks_confirmed": len(confirmed_ids),
        "false_tracks": len(false_tracks),
        "warnings_issued": sum(1 for e in evs if isinstance(e, WarningIssued) and not e.update),
        "rounds_in_zones": int(rounds_in_zones.size),
        "rounds_warned_in_time": len(warned),
        "warning_time_s": _stats(warning_times),
        "false_warnings": len(false),
        "needless_shelter_person_s": round(shelter, 1),
        "people_warned_per_round_in_zone": (
            round(warned_people / rounds_in_zones.size, 1) if rounds_in_zones.size else None
        ),
        "engagements": len(orders),
        "intercepts": sum(1 for o in outcomes if o.killed),
        "leakers_on_assets": int(np.count_nonzero(landed & in_asset)),
        "rounds_fired": int(sum(o.rounds for o in orders)),
        "poi_cep_m": poi_cep,
        "poo_cep_m": poo_cep,
        "poi_cep_first_m": poi_first_cep,
        "expected_casualties": collateral + leak_casualties,
        "engine_latency_ms": {
            "p50": None if total is None else _get(total, "p50_ms"),
            "p99": None if total is None else _get(total, "p99_ms"),
        },
        "rounds_killed": int(np.count_nonzero(killed)),
        "rounds_landed_in_zones_unwarned": sorted(
            int(r) for r in rounds_in_zones if int(r) not in set(warned)
        ),
        "expected_casualties_breakdown": {"defence": collateral, "leakers": leak_casualties},
        "plots_rejected": int(sum(e.count for e in evs if isinstance(e, PlotRejected))),
        **tally.as_summary(),
    }
    if latency:
        summary["engine_latency_ms_by_stage"] = {
            stage: {"p50": _get(v, "p50_ms"), "p99": _get(v, "p99_ms"), "max": _get(v, "max_ms")}
            for stage, v in latency.items()
        }
    if extra:
        summary.update(extra)
    return _round(summary)


def _get(obj: Any, name: str) -> float:
    return float(obj[name] if isinstance(obj, Mapping) else getattr(obj, name))
