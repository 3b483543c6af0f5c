"""Batched point-mass (3-DOF) trajectories in the site's East-North-Up frame.

One integrator serves the truth flights of a raid, the tracker's and predictor's propagation, and
the interceptor round's fire control, so it must be both correct and fast for N bodies at once.
scipy's ``solve_ivp`` integrates one system at a time with Python-level overhead per right-hand-side
call, ~100× slower per trajectory (benchmarks/bench_trajectory.py), so the integration runs in
compiled per-body kernels (:mod:`counterram.physics.kernels`): adaptive Dormand–Prince 5(4) by
default, fixed-step classical RK4 as a reference.

* forces: constant gravity (the flat-earth model of :mod:`counterram.physics.constants`), drag on
  the velocity relative to the air ``-½ ρ Cd(M) A |v_r| v_r / m`` with density and speed of sound
  from the ISA and Mach-dependent Cd, and rocket thrust along the velocity with mass falling
  linearly during the burn. Thrust follows the ground-relative velocity, not the air-relative
  one: a point mass that pointed its motor into the relative wind would weathercock at the slow
  rail-exit speed as if it had no inertia and turn ~10° per 5 m/s of crosswind, far more than the
  spin-stabilised rockets of the catalogue do;
* steps end exactly at motor burnout, so the thrust discontinuity never lands inside a step and
  the integrator keeps its order (impact points within millimetres of a 1 ms RK4 reference);
* ground crossings are located by Newton iteration on a partial step, to the integrator's own
  accuracy rather than a linear interpolation's;
* integration runs forward or backward in time (backward from a point on a descending path is how
  the point of origin is found).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from counterram.physics import kernels
from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.drag import DragTables, tables_for
from counterram.physics.wind import CALM, Wind


class MunitionLike(Protocol):
    """The catalogue fields the integrator needs (see :mod:`counterram.physics.catalogue`)."""

    name: str
    mass_kg: float
    burnout_mass_kg: float
    diameter_m: float
    burn_time_s: float
    thrust_n: float
    mach: Sequence[float]
    cd: Sequence[float]


_ONE_PASS_SAMPLES = 1_000_000
"""An adaptive sampled flight whose sample array up to ``max_time_s`` holds at most this many
states (48 MB) is flown once and trimmed; a longer one is flown twice (the first pass finds the
longest flight, so that the array is no larger than needed)."""

@dataclass(frozen=True, eq=False)
class Projectiles:
    """Physical properties of N bodies, struct of arrays (each field shape (N,))."""

    mass_kg: np.ndarray
    burnout_mass_kg: np.ndarray
    area_m2: np.ndarray
    burn_time_s: np.ndarray
    thrust_n: np.ndarray
    drag_index: np.ndarray
    drag_scale: np.ndarray
    drag: DragTables

    @classmethod
    def from_munitions(
        cls, munitions: Sequence[MunitionLike], drag_scale: ArrayLike = 1.0
    ) -> Projectiles:
        """One body per entry of ``munitions`` (repeat an entry for several bodies of one kind)."""
        unique: dict[str, MunitionLike] = {}
        for m in munitions:
            unique.setdefault(m.name, m)
        order = {name: i for i, name in enumerate(unique)}
        n = len(munitions)
        return cls(
            mass_kg=np.array([m.mass_kg for m in munitions], dtype=float),
            burnout_mass_kg=np.array(
                [m.burnout_mass_kg if m.burn_time_s > 0 else m.mass_kg for m in munitions],
                dtype=float,
            ),
            area_m2=np.array([np.pi * 0.25 * m.diameter_m**2 for m in munitions], dtype=float),
            burn_time_s=np.array([m.burn_time_s for m in munitions], dtype=float),
            thrust_n=np.array([m.thrust_n for m in munitions], dtype=float),
            drag_index=np.array([order[m.name] for m in munitions], dtype=np.intp),
            drag_scale=np.broadcast_to(np.asarray(drag_scale, dtype=float), (n,)).copy(),
            drag=tables_for(list(unique.values())),
        )

    @classmethod
    def repeat(cls, munition: MunitionLike, n: int, drag_scale: ArrayLike = 1.0) -> Projectiles:
        """``n`` bodies of one munition."""
        return cls.from_munitions([munition] * n, drag_scale)

    def __len__(self) -> int:
        return int(self.mass_kg.shape[0])

    def take(self, index: ArrayLike) -> Projectiles:
        """The bodies selected by an index array or boolean mask."""
        return Projectiles(
            self.mass_kg[index],
            self.burnout_mass_kg[index],
            self.area_m2[index],
            self.burn_time_s[index],
            self.thrust_n[index],
            self.drag_index[index],
            self.drag_scale[index],
            self.drag,
        )

    @property
    def powered(self) -> bool:
        """True when any body has a rocket motor."""
        return bool(np.any((self.thrust_n > 0) & (self.burn_time_s > 0)))

    def mass_at(self, time_since_launch_s: np.ndarray) -> np.ndarray:
        """Mass at a time since launch: linear propellant burn, constant afterwards."""
        tb = self.burn_time_s
        burnt = np.clip(time_since_launch_s, 0.0, tb)
        rate = np.divide(
            self.mass_kg - self.burnout_mass_kg, tb, out=np.zeros_like(tb), where=tb > 0
        )
        return self.mass_kg - rate * burnt

    def properties(self) -> np.ndarray:
        """The (N, 7) property rows the compiled kernels read (columns ``kernels.P_*``)."""
        props = np.empty((len(self), kernels.N_PROPS))
        props[:, kernels.P_MASS] = self.mass_kg
        props[:, kernels.P_BURNOUT_MASS] = self.burnout_mass_kg
        props[:, kernels.P_AREA] = self.area_m2
        props[:, kernels.P_BURN_TIME] = self.burn_time_s
        props[:, kernels.P_THRUST] = self.thrust_n
        props[:, kernels.P_DRAG_INDEX] = self.drag_index
        props[:, kernels.P_DRAG_SCALE] = self.drag_scale
        return props


def _environment(atmosphere: Atmosphere, wind: Wind, drag: DragTables) -> tuple:
    """The kernels' environment arguments ``air, h0, h_step, wind, grid`` (see
    :mod:`counterram.physics.kernels`)."""
    table = atmosphere.table
    return (
        table.stacked,
        float(table.height0_m),
        float(table.step_m),
        np.array([wind.heights_m, wind.east_mps, wind.north_mps], dtype=float),
        drag.cd_grid,
    )


def _rows(value: ArrayLike, n: int) -> np.ndarray:
    """A fresh, writable, contiguous (n,) float array: the compiled kernels are typed by layout
    and writability, so every call must hand them the same kind of array (one compilation)."""
    return np.array(np.broadcast_to(np.asarray(value, dtype=float), (n,)), dtype=float)


def acceleration(
    state: ArrayLike,
    bodies: Projectiles,
    *,
    time_since_launch_s: ArrayLike = 1e9,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
) -> np.ndarray:
    """Accelerations (N, 3) of bodies in states (N, 6): gravity, drag and thrust while burning.

    The default ``time_since_launch_s`` (far in the future) means "motor burnt out".
    """
    x = np.ascontiguousarray(np.atleast_2d(np.asarray(state, dtype=float)))
    n = x.shape[0]
    out = np.empty((n, 3))
    kernels.acceleration_kernel(
        x,
        _rows(time_since_launch_s, n),
        bodies.properties(),
        *_environment(atmosphere, wind, bodies.drag),
        out,
    )
    return out


def launch_state(
    position_enu: ArrayLike, azimuth_rad: ArrayLike, elevation_rad: ArrayLike, speed_mps: ArrayLike
) -> np.ndarray:
    """States (N, 6) leaving ``position_enu`` at a compass azimuth and elevation."""
    p = np.atleast_2d(np.asarray(position_enu, dtype=float))
    az, el, v = np.broadcast_arrays(
        np.asarray(azimuth_rad, dtype=float),
        np.asarray(elevation_rad, dtype=float),
        np.asarray(speed_mps, dtype=float),
    )
    n = max(p.shape[0], az.size)
    out = np.empty((n, 6))
    out[:, 0:3] = p
    horizontal = v * np.cos(el)
    out[:, 3] = horizontal * np.sin(az)
    out[:, 4] = horizontal * np.cos(az)
    out[:, 5] = v * np.sin(el)
    return out


@dataclass(frozen=True)
class Flight:
    """Result of :func:`fly` for N bodies (NaN where a body did not reach the ground in time).

    ``samples[n, k]`` is body n's state at ``t0_s[n] + samples_t[k]`` (``samples_t`` is negative
    for a backward flight), plus the ``sample_from_s[n]`` :func:`fly` was given, NaN after the
    body reached the ground.
    """

    start_state: np.ndarray
    t0_s: np.ndarray
    impact_time_s: np.ndarray
    impact_state: np.ndarray
    apex_m: np.ndarray
    apex_time_s: np.ndarray
    samples_t: np.ndarray | None
    samples: np.ndarray | None

    @property
    def time_of_flight_s(self) -> np.ndarray:
        """Time from the start state to the ground (negative for a backward flight)."""
        return self.impact_time_s - self.t0_s

    @property
    def impact_speed_mps(self) -> np.ndarray:
        """Speed at the ground crossing."""
        return np.linalg.norm(self.impact_state[:, 3:6], axis=1)

    @property
    def impact_angle_deg(self) -> np.ndarray:
        """Angle of the velocity below the horizontal at the ground crossing."""
        v = self.impact_state
        return np.degrees(np.arctan2(-v[:, 5], np.hypot(v[:, 3], v[:, 4])))

    @property
    def range_m(self) -> np.ndarray:
        """Horizontal distance from the start point to the ground crossing."""
        d = self.impact_state[:, 0:2] - self.start_state[:, 0:2]
        return np.hypot(d[:, 0], d[:, 1])


def fly(
    state0: ArrayLike,
    bodies: Projectiles,
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    t0_s: ArrayLike = 0.0,
    time_since_launch_s: ArrayLike = 0.0,
    backward: bool = False,
    ground_height_m: ArrayLike = 0.0,
    sample_dt_s: float | None = None,
    max_time_s: float = 400.0,
    method: str = "adaptive",
    rtol: float | None = None,
    max_step_s: float = 2.0,
    dt_s: float = 0.02,
    sample_from_s: ArrayLike = 0.0,
    sample_span_s: float | None = None,
) -> Flight:
    """Integrate N bodies from ``state0`` (N, 6) until each crosses the ground.

    Forward: until the body descends through ``ground_height_m`` (its impact). Backward: back in
    time until it reaches the ground (for a state on a trajectory, its launch point). With
    ``sample_dt_s`` the states are also recorded on that time grid. Bodies still airborne after
    ``max_time_s`` get NaN impact fields.

    ``method="adaptive"`` (default): Dormand–Prince 5(4) with relative tolerance ``rtol`` (and an
    absolute tolerance of ``rtol`` × 1 km on positions and ``rtol`` × 1 km/s on velocities),
    steps no longer than ``max_step_s``; samples by cubic Hermite interpolation. ``rtol`` None
    means 1e-10 forward (impact points within millimetres of a 1 ms RK4 reference) and 1e-11
    backward: integrating a dragged flight backward in time amplifies local errors (drag removes
    energy forward, so it adds it backward), and the tighter tolerance keeps a launch point
    retraced from its impact within centimetres.
    ``method="rk4"``: classical RK4 with the fixed step ``dt_s`` (shortened slightly so that the
    sample interval is a whole number of steps) — the reference the adaptive method is tested
    against.

    Adaptive flights may start their samples later and stop them earlier: body n is sampled at
    ``sample_from_s[n] + samples_t`` after its start (≥ 0 each; e.g. ``now − t0`` puts every
    body's samples on one grid from ``now``), and with ``sample_span_s`` only ``samples_t`` up to
    that span are kept (the flights still run to the ground).
    """
    x0 = np.array(np.atleast_2d(np.asarray(state0, dtype=float)), dtype=float, order="C")
    n = x0.shape[0]
    if x0.shape != (n, 6) or len(bodies) != n:
        raise ValueError(f"state0 must be (N, 6) with N = len(bodies) = {len(bodies)}")
    if not np.all(np.isfinite(x0)):
        raise ValueError("state0 contains NaN or infinite values")
    if method not in ("adaptive", "rk4"):
        raise ValueError(f"method must be 'adaptive' or 'rk4', got {method!r}")
    if sample_dt_s is not None and not sample_dt_s > 0:
        raise ValueError(f"sample_dt_s must be positive, got {sample_dt_s!r}")
    t0 = _rows(t0_s, n)
    first = _rows(sample_from_s, n)
    if not (np.all(np.isfinite(first)) and np.all(first >= 0)):
        raise ValueError("sample_from_s must be finite and >= 0")
    if (np.any(first > 0) or sample_span_s is not None) and method != "adaptive":
        raise ValueError("sample_from_s and sample_span_s need method='adaptive'")
    if sample_span_s is not None and not (sample_span_s >= 0 and np.isfinite(sample_span_s)):
        raise ValueError(f"sample_span_s must be a finite number >= 0, got {sample_span_s!r}")
    common = (
        x0,
        _rows(time_since_launch_s, n),
        bodies.properties(),
        _rows(ground_height_m, n),
    )
    env = _environment(atmosphere, wind, bodies.drag)
    elapsed = np.empty(n)
    impact_state = np.empty((n, 6))
    apex = np.empty(n)
    apex_elapsed = np.empty(n)
    if method == "rk4":
        if not (dt_s > 0 and np.isfinite(dt_s)):
            raise ValueError(f"dt_s must be a positive number, got {dt_s!r}")
        stride = 0
        if sample_dt_s is not None:
            stride = max(1, int(np.ceil(sample_dt_s / dt_s - 1e-9)))
            dt_s = sample_dt_s / stride
        h = -dt_s if backward else dt_s
        last_step = np.empty(n, dtype=np.int64)

        def run(samples: np.ndarray) -> None:
            kernels.fly_kernel(
                *common,
                h,
                int(np.ceil(max_time_s / dt_s)),
                stride,
                *env,
                elapsed,
                impact_state,
                apex,
                apex_elapsed,
                samples,
                last_step,
            )

        run(np.empty((n, 0, 6)))
        longest = float(last_step.max(initial=0)) * dt_s
    else:
        if rtol is None:
            rtol = 1e-11 if backward else 1e-10
        if not (0 < rtol < 1e-2):
            raise ValueError(f"rtol must be within (0, 0.01), got {rtol!r}")
        last_time = np.empty(n)

        def run(samples: np.ndarray) -> None:
            kernels.fly_adaptive_kernel(
                *common,
                -1.0 if backward else 1.0,
                0.01,
                float(max_step_s),
                float(max_time_s),
                float(sample_dt_s or 1.0),
                float(rtol),
                float(rtol) * 1000.0,
                *env,
                elapsed,
                impact_state,
                apex,
                apex_elapsed,
                first,
                samples,
                last_time,
            )

        reach = max_time_s + max_step_s  # the last step may end past max_time_s
        if sample_span_s is not None and sample_dt_s is not None:
            # a fixed span of samples: one pass, every sample the flights reach, NaN beyond
            k = int(np.floor(sample_span_s / sample_dt_s + 1e-9)) + 1
            samples = np.full((n, k, 6), np.nan)
            run(samples)
            return Flight(x0, t0, t0 + elapsed, impact_state, apex, t0 + apex_elapsed,
                          np.arange(k) * (-sample_dt_s if backward else sample_dt_s), samples)
        if sample_dt_s is not None and n * (reach / sample_dt_s + 2) <= _ONE_PASS_SAMPLES:
            # short horizon: room for every sample up to max_time_s, one pass, then trimmed
            k_max = int(np.floor(reach / sample_dt_s + 1e-9)) + 2
            samples = np.full((n, k_max, 6), np.nan)
            run(samples)
            longest = float((last_time - first).max(initial=0.0))
            k = max(1, min(k_max, int(np.floor(longest / sample_dt_s + 1e-9)) + 1))
            return Flight(x0, t0, t0 + elapsed, impact_state, apex, t0 + apex_elapsed,
                          np.arange(k) * (-sample_dt_s if backward else sample_dt_s),
                          np.ascontiguousarray(samples[:, :k]))
        run(np.empty((n, 0, 6)))
        longest = float((last_time - first).max(initial=0.0))
    samples_t = samples = None
    if sample_dt_s is not None:
        # second pass now that the longest flight is known: room for every sample
        k = max(1, int(np.floor(longest / sample_dt_s + 1e-9)) + 1)
        samples = np.full((n, k, 6), np.nan)
        run(samples)
        samples_t = np.arange(k) * (-sample_dt_s if backward else sample_dt_s)
    return Flight(x0, t0, t0 + elapsed, impact_state, apex, t0 + apex_elapsed, samples_t, samples)


def propagate(
    state0: ArrayLike,
    bodies: Projectiles,
    dt_total_s: ArrayLike,
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    time_since_launch_s: ArrayLike = 1e9,
    max_step_s: float = 0.02,
) -> np.ndarray:
    """States (N, 6) after ``dt_total_s`` (per body, may be negative), ignoring the ground.

    Each body takes equal RK4 steps no longer than ``max_step_s``. The default
    ``time_since_launch_s`` means "motor burnt out".
    """
    x0 = np.array(np.atleast_2d(np.asarray(state0, dtype=float)), dtype=float, order="C")
    n = x0.shape[0]
    out = np.empty((n, 6))
    kernels.propagate_kernel(
        x0,
        _rows(time_since_launch_s, n),
        bodies.properties(),
        _rows(dt_total_s, n),
        float(max_step_s),
        *_environment(atmosphere, wind, bodies.drag),
        out,
    )
    return out
