"""Raid generators → launch events: who fires what, from where, when, at which point.

A scenario's threats are firing units (``count`` firings of ``rounds`` rounds, launch points and
start times fixed or drawn from areas and windows, aim points fixed or drawn from areas, delivery
errors in range and deflection). This module expands them into one row per round, with every
random draw taken from its own stream so that the result depends on the scenario and the seed
only:

* the truth stream is the scenario seed's child with spawn key ``(TRUTH_STREAM,)``; other
  components (sensor noise, detection draws, ...) take other keys, so adding a sensor never moves
  a round;
* that stream spawns one child per threat, in file order, and each threat's child spawns one
  generator per component (launch points, start times, aim points, delivery errors), so changing
  one threat's time window moves neither its launch points nor any other threat's rounds.

Delivery errors are drawn here as Gaussian offsets of the aim point along and across the line of
fire; :mod:`counterram.world.build` then aims each round at its perturbed point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from counterram.physics.catalogue import Catalogue, Munition, load_catalogue
from counterram.scenario.resolved import ResolvedScenario, ResolvedThreat

__all__ = [
    "PE_PER_SIGMA",
    "TRUTH_STREAM",
    "LaunchPlan",
    "delivery_pe",
    "draw_delivery_errors",
    "plan_launches",
    "truth_seed_sequence",
]

#: A probable error is the median of |error| of a zero-mean normal: PE = Φ⁻¹(0.75) σ ≈ 0.6745 σ.
PE_PER_SIGMA = 0.6744897501960817

#: Spawn key of the truth stream under the scenario seed (other components use other keys).
TRUTH_STREAM = 0

# One generator per component of a threat, in this fixed order.
_COMPONENTS = ("launch_points", "start_times", "aim_points", "delivery_errors")


def truth_seed_sequence(seed: int) -> np.random.SeedSequence:
    """The root of every random draw of the truth (child ``TRUTH_STREAM`` of ``seed``)."""
    return np.random.SeedSequence(int(seed), spawn_key=(TRUTH_STREAM,))


def delivery_pe(
    munition: Munition,
    range_m: ArrayLike,
    range_pe_m: float | None = None,
    deflection_pe_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Range and deflection probable errors (m) of rounds fired ``range_m`` far.

    The catalogue's PEs (or the scenario's overrides, which have the same meaning) hold at the
    munition's ``max_range_m`` and scale in proportion to range, as a fixed angular and
    fractional-velocity dispersion would.
    """
    r = np.asarray(range_m, dtype=float)
    scale = r / munition.max_range_m
    rpe = munition.range_pe_m if range_pe_m is None else float(range_pe_m)
    dpe = munition.deflection_pe_m if deflection_pe_m is None else float(deflection_pe_m)
    return rpe * scale, dpe * scale


def draw_delivery_errors(
    rng: np.random.Generator, range_pe_m: ArrayLike, deflection_pe_m: ArrayLike
) -> np.ndarray:
    """Independent Gaussian delivery errors, (N, 2) = (along the line of fire, to its right), m.

    ``range_pe_m`` and ``deflection_pe_m`` (N,) are probable errors: σ = PE / 0.6745.
    """
    rpe, dpe = np.broadcast_arrays(
        np.asarray(range_pe_m, dtype=float), np.asarray(deflection_pe_m, dtype=float)
    )
    if np.any(rpe < 0) or np.any(dpe < 0):
        raise ValueError("probable errors must be non-negative")
    z = rng.standard_normal((rpe.size, 2))
    return z * np.column_stack([rpe.ravel(), dpe.ravel()]) / PE_PER_SIGMA


@dataclass(frozen=True, eq=False)
class LaunchPlan:
    """Every round a scenario fires, before aiming, one row each, in expansion order (threat by
    threat, firing by firing, round by round).

    ``aim_enu`` is the intended aim point, ``aim_point_enu`` the point the round is actually aimed
    at (the intended one moved by ``delivery_error_m`` = (range, deflection) along and to the
    right of the line of fire); ``range_pe_m``/``deflection_pe_m`` are the probable errors that
    error was drawn with.
    """

    threat_index: np.ndarray        # (R,) int
    firing_index: np.ndarray        # (R,) int, which of the threat's `count` firings
    round_in_firing: np.ndarray     # (R,) int, 0 .. rounds-1
    munition: np.ndarray            # (R,) str, canonical catalogue name
    charge_spec: np.ndarray         # (R,) str, "" when the crew picks the charge
    high_angle: np.ndarray          # (R,) bool
    launch_time_s: np.ndarray       # (R,)
    launch_enu: np.ndarray          # (R, 3)
    aim_enu: np.ndarray             # (R, 3)
    range_pe_m: np.ndarray          # (R,)
    deflection_pe_m: np.ndarray     # (R,)
    delivery_error_m: np.ndarray    # (R, 2)
    aim_point_enu: np.ndarray       # (R, 3)

    def __len__(self) -> int:
        return int(self.launch_time_s.shape[0])


def line_of_fire(launch_enu: np.ndarray, target_enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (N, 2) along the horizontal line of fire and to its right."""
    d = target_enu[:, :2] - launch_enu[:, :2]
    bearing = np.arctan2(d[:, 0], d[:, 1])
    along = np.column_stack([np.sin(bearing), np.cos(bearing)])
    right = np.column_stack([np.cos(bearing), -np.sin(bearing)])
    return along, right


def _threat_rows(
    threat: ResolvedThreat, munition: Munition, streams: list[np.random.Generator]
) -> dict[str, np.ndarray]:
    spec = threat.spec
    g_points, g_times, g_aims, g_errors = streams
    count, rounds = spec.count, spec.rounds
    n = count * rounds
    if threat.launch_point_m is not None:
        firing_points = np.repeat(threat.launch_point_m[None, :], count, axis=0)
    else:
        assert threat.launch_area is not None
        firing_points = np.zeros((count, 3))
        firing_points[:, :2] = threat.launch_area.sample(g_points, count)
    if spec.start_time_s is not None:
        starts = np.full(count, float(spec.start_time_s))
    else:
        assert spec.time_window_s is not None
        t0, t1 = spec.time_window_s
        starts = g_times.uniform(t0, t1, count)
    if threat.aim_point_m is not None:
        aims = np.repeat(threat.aim_point_m[None, :], n, axis=0)
    else:
        assert threat.aim_area is not None
        aims = np.zeros((n, 3))
        aims[:, :2] = threat.aim_area.sample(g_aims, n)
    firing = np.repeat(np.arange(count), rounds)
    k = np.tile(np.arange(rounds), count)
    launch = firing_points[firing]
    rng_m = np.hypot(*(aims[:, :2] - launch[:, :2]).T)
    rpe, dpe = delivery_pe(munition, rng_m, spec.range_pe_m, spec.deflection_pe_m)
    errors = draw_delivery_errors(g_errors, rpe, dpe)
    along, right = line_of_fire(launch, aims)
    aim_point = aims.copy()
    aim_point[:, :2] += errors[:, :1] * along + errors[:, 1:] * right
    high = (munition.kind == "mortar") if spec.high_angle is None else bool(spec.high_angle)
    return {
        "firing_index": firing,
        "round_in_firing": k,
        "launch_time_s": starts[firing] + k * float(spec.salvo_interval_s),
        "launch_enu": launch,
        "aim_enu": aims,
        "range_pe_m": rpe,
        "deflection_pe_m": dpe,
        "delivery_error_m": errors,
        "aim_point_enu": aim_point,
        "munition": np.full(n, munition.name),
        "charge_spec": np.full(n, spec.charge or "", dtype=object),
        "high_angle": np.full(n, high),
    }


def plan_launches(
    world: ResolvedScenario, seed: int | None = None, catalogue: Catalogue | None = None
) -> LaunchPlan:
    """Expand every threat of ``world`` into rounds (see the module docstring for the streams)."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    root = truth_seed_sequence(world.scenario.seed if seed is None else seed)
    threat_seqs = root.spawn(len(world.threats))
    parts: list[dict[str, np.ndarray]] = []
    for index, (threat, seq) in enumerate(zip(world.threats, threat_seqs, strict=True)):
        streams = [np.random.default_rng(s) for s in seq.spawn(len(_COMPONENTS))]
        rows = _threat_rows(threat, catalogue.get(threat.spec.munition), streams)
        rows["threat_index"] = np.full(len(rows["launch_time_s"]), index)
        parts.append(rows)
    keys = (
        "threat_index", "firing_index", "round_in_firing", "munition", "charge_spec",
        "high_angle", "launch_time_s", "launch_enu", "aim_enu", "range_pe_m", "deflection_pe_m",
        "delivery_error_m", "aim_point_enu",
    )
    if not parts:
        empty = {
            "launch_enu": np.zeros((0, 3)), "aim_enu": np.zeros((0, 3)),
            "aim_point_enu": np.zeros((0, 3)), "delivery_error_m": np.zeros((0, 2)),
            "munition": np.zeros(0, dtype=str), "charge_spec": np.zeros(0, dtype=str),
            "high_angle": np.zeros(0, dtype=bool),
        }
        return LaunchPlan(**{
            k: empty.get(k, np.zeros(0, dtype=int if "index" in k or "round" in k else float))
            for k in keys
        })
    joined = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    joined["munition"] = joined["munition"].astype(str)
    joined["charge_spec"] = joined["charge_spec"].astype(str)
    return LaunchPlan(**joined)
