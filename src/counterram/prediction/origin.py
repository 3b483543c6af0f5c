"""Predicted point of origin and launch time, with uncertainty, for N tracks (unscented transform).

Why it exists: the point of origin goes to the responders (counter-battery fire, patrols) and is
the weapon-locating radar's headline figure (LCMR: ~100 m at ~7 km, FACTS.md section 3). The
method is that of weapon-locating radars (FACTS.md section 6): fly the estimated state backward in
time to the ground. Sigma points of every track go through the physics core's batched integrator
as in :mod:`counterram.prediction.impact`, with the same UT parameters.

Mortar bombs and shells are unpowered: the backward flight is the ballistic one, all the way to the
ground.

Rockets are not. A rocket tracked after burnout has flown its boost phase: 0.9–1.9 s of thrust
from the rail-exit speed (27–43 m/s) up to ~420–690 m/s. A ballistic backward flight from a
post-burnout state keeps the burnout speed through the boost. The boost path is nearly straight,
so the position comes out only metres off (measured: 2–27 m), but the launch time comes out late
by about half the burn (0.44 s for the 107 mm, 0.95 s for the 122 mm; docs/warning.md).
So for rockets (``boost="motor"``, the default) the backward flight is done in two stages:

1. fly backward ballistically (motor off) with sampled states, and find where the path, going
   back down its ascending branch, reaches the catalogue motor's burnout height. The burnout
   point depends on the launch elevation, so it is read from a table indexed by flight-path
   angle: a batched launch of the catalogue rocket at every elevation of its envelope,
   integrated over the burn. The crossing of ``height − h_burnout(γ)`` is located between
   samples by linear interpolation; the state there comes from
   :func:`~counterram.physics.trajectory.propagate`. Height, not speed, marks the burnout: a
   sigma point with a smaller drag scale gains speed more slowly on the way back and may never
   reach the burnout speed above the ground, but it always passes the burnout height;
2. from a burnout point, propagate backward for one burn time with the motor model
   (``time_since_launch_s`` set to the burn time, so the integrator applies the catalogue thrust
   and mass flow in reverse): that is the launch state. The burnout point is then moved along
   the ballistic path (secant iterations, each a pair of batched ``propagate`` calls) until the
   launch state lies on the ground. That point is the origin, and burnout − burn time is the
   launch time. Running the reversed motor until the ground instead would be fragile: a
   burnout placed a little too high brings the speed down to almost zero with the round still
   in the air, and the remaining descent takes seconds, in a direction that is close to
   arbitrary.

The result is only as good as the catalogue motor (thrust, burn time, masses are [unverified]).
docs/warning.md measures how the origin moves when the true thrust differs from the catalogue's.
Sigma points whose backward path never passes the burnout height on an ascending branch (a state
inconsistent with the assumed rocket, or a track seen before burnout) fall back to the ballistic
backward flight. Their rows are flagged ``coarse``, as are rows where the shooting does not put
the launch within 1 m of the ground. ``boost="ballistic"`` forces the naive
ballistic flight for every row; it is kept for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from counterram.physics.atmosphere import STANDARD, Atmosphere
from counterram.physics.catalogue import Munition
from counterram.physics.trajectory import Projectiles, fly, launch_state, propagate
from counterram.physics.wind import CALM, Wind
from counterram.prediction.impact import (
    BURNT_OUT_S,
    DEFAULT_UT,
    STATE_DIM,
    GroundPrediction,
    SigmaFlights,
    UTParameters,
    as_track_arrays,
    munition_rows,
    sigma_points,
)

__all__ = [
    "BackwardFlight",
    "BoostMode",
    "BoostTable",
    "boost_table",
    "fly_back",
    "origin_points",
    "origin_sigma_flights",
    "predict_origin",
]

BoostMode = Literal["motor", "ballistic"]


@dataclass(frozen=True)
class BoostTable:
    """Burnout conditions of a rocket over its launch-elevation envelope (calm air, flat ground).

    ``path_angle_rad`` (K,) increasing: the flight-path angle at burnout; ``speed_mps`` (K,) the
    speed there; ``elevation_rad`` (K,) the launch elevation; ``height_m`` (K,) the burnout
    height; ``burn_time_s`` the motor's burn time.
    """

    elevation_rad: NDArray[np.float64]
    path_angle_rad: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    height_m: NDArray[np.float64]
    burn_time_s: float

    def burnout_speed(self, path_angle_rad: ArrayLike) -> NDArray[np.float64]:
        """Burnout speed at a flight-path angle (held at the table's ends)."""
        return np.interp(path_angle_rad, self.path_angle_rad, self.speed_mps)

    def launch_elevation(self, path_angle_rad: ArrayLike) -> NDArray[np.float64]:
        """Launch elevation that gives a burnout flight-path angle (NaN outside the table: the
        table spans the munition's elevation limits ± 5°)."""
        return np.interp(
            path_angle_rad, self.path_angle_rad, self.elevation_rad, left=np.nan, right=np.nan
        )

    def burnout_height(self, path_angle_rad: ArrayLike) -> NDArray[np.float64]:
        """Burnout height above the launch point at a flight-path angle (held at the ends)."""
        return np.interp(path_angle_rad, self.path_angle_rad, self.height_m)


def _is_rocket(m: Munition) -> bool:
    return m.burn_time_s > 0 and m.thrust_n > 0


@lru_cache(maxsize=64)
def _boost_table(name: str, key: tuple, munition_id: int, atmosphere: Atmosphere) -> BoostTable:
    m = _TABLE_MUNITIONS[munition_id]
    el_lo = np.radians(max(m.elevation_min_deg - 5.0, 1.0))
    el_hi = np.radians(min(m.elevation_max_deg + 5.0, 89.0))
    el = np.linspace(el_lo, el_hi, 49)
    x0 = launch_state(np.zeros((el.size, 3)), 0.0, el, m.charge_velocity(None))
    bodies = Projectiles.repeat(m, el.size)
    bo = propagate(
        x0, bodies, m.burn_time_s, atmosphere=atmosphere, time_since_launch_s=0.0, max_step_s=0.01
    )
    speed = np.linalg.norm(bo[:, 3:6], axis=1)
    gamma = np.arcsin(bo[:, 5] / speed)
    order = np.argsort(gamma)
    return BoostTable(el[order], gamma[order], speed[order], bo[order, 2], float(m.burn_time_s))


_TABLE_MUNITIONS: dict[int, Munition] = {}
_SHOOTING_ITERATIONS = 5
_SHOOTING_TOLERANCE_M = 0.05
"""The secant iterations stop early once every launch height is this close to the ground: a
launch 5 cm off the ground moves the origin by centimetres, against origin CEPs of 5–70 m."""
_BURN_STEP = 0.1
"""RK4 step (s) of the reversed motor over the burn. Measured on the engine's 218 track origins
of a 100-rocket Grad salvo (benchmarks/bench_engine.py) against 0.005 s steps and a 1 mm shooting
tolerance: the origin means within 0.22 m and their σ within 0.28 m with this step and the 5 cm
tolerance (0.17 m with 0.05 s and 1 mm), for 30 % less time per origin."""


def boost_table(munition: Munition, atmosphere: Atmosphere = STANDARD) -> BoostTable:
    """The (cached) burnout table of a rocket (raises for an unpowered munition)."""
    if not _is_rocket(munition):
        raise ValueError(f"boost_table: {munition.name!r} has no rocket motor")
    key = (
        munition.mass_kg,
        munition.burnout_mass_kg,
        munition.diameter_m,
        munition.burn_time_s,
        munition.thrust_n,
        tuple(munition.mach),
        tuple(munition.cd),
        munition.charge_velocity(None),
        munition.elevation_min_deg,
        munition.elevation_max_deg,
    )
    mid = hash((munition.name, key))
    _TABLE_MUNITIONS[mid] = munition
    return _boost_table(munition.name, key, mid, atmosphere)


@dataclass(frozen=True)
class BackwardFlight:
    """Mean backward flights of N states: the origin state (N, 6) at the ground, its time (N,),
    whether the rocket burnout stage was used (N,), whether a rocket's burnout was not found
    (``coarse``, N), and at the located burnout (NaN where none): its time, the speed there and
    the catalogue motor's burnout speed and launch elevation at that flight-path angle."""

    origin_state: NDArray[np.float64]
    origin_time_s: NDArray[np.float64]
    boosted: NDArray[np.bool_]
    coarse: NDArray[np.bool_]
    burnout_time_s: NDArray[np.float64]
    burnout_speed_mps: NDArray[np.float64]
    expected_burnout_speed_mps: NDArray[np.float64]
    burnout_launch_elevation_rad: NDArray[np.float64]

    @property
    def launch_speed_mps(self) -> NDArray[np.float64]:
        return np.linalg.norm(self.origin_state[:, 3:6], axis=1)

    @property
    def launch_elevation_rad(self) -> NDArray[np.float64]:
        v = self.origin_state
        return np.arctan2(v[:, 5], np.hypot(v[:, 3], v[:, 4]))


def fly_back(
    states: NDArray[np.float64],
    rows: Sequence[Munition],
    drag_scale: NDArray[np.float64],
    time_s: NDArray[np.float64],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    boost: BoostMode = "motor",
    sample_dt_s: float = 0.2,
    max_time_s: float = 400.0,
    rtol: float | None = None,
) -> BackwardFlight:
    """Fly M states (M, 6) (after any burnout) back to their launch point on the ground.

    ``rows``: the munition of each state; ``drag_scale`` (M,); ``time_s`` (M,). Unpowered rows
    and, with ``boost="ballistic"``, all rows: one ballistic backward flight. Rocket rows with
    ``boost="motor"``: the two stages of the module docstring, each one batched call.
    ``rtol``: the adaptive backward flights' tolerance (None: the integrator's default).
    """
    m_rows = len(rows)
    rocket = np.array([_is_rocket(m) for m in rows], dtype=bool)
    if boost not in ("motor", "ballistic"):
        raise ValueError(f"boost must be 'motor' or 'ballistic'; got {boost!r}")
    if boost == "ballistic":
        rocket[:] = False
    origin = np.full((m_rows, 6), np.nan)
    t_origin = np.full(m_rows, np.nan)
    coarse = np.zeros(m_rows, dtype=bool)
    boosted = np.zeros(m_rows, dtype=bool)
    t_burnout = np.full(m_rows, np.nan)
    v_burnout = np.full(m_rows, np.nan)
    v_expected = np.full(m_rows, np.nan)
    el_table = np.full(m_rows, np.nan)
    env = {"atmosphere": atmosphere, "wind": wind}

    plain = np.flatnonzero(~rocket)
    if plain.size:
        f = fly(
            states[plain],
            Projectiles.from_munitions([rows[i] for i in plain], drag_scale[plain]),
            t0_s=time_s[plain],
            time_since_launch_s=BURNT_OUT_S,
            backward=True,
            ground_height_m=ground_height_m,
            max_time_s=max_time_s,
            rtol=rtol,
            **env,
        )
        origin[plain] = f.impact_state
        t_origin[plain] = f.impact_time_s
    rk = np.flatnonzero(rocket)
    if rk.size == 0:
        return BackwardFlight(
            origin, t_origin, boosted, coarse, t_burnout, v_burnout, v_expected, el_table
        )

    # Stage 1: ballistic backward flight, sampled, to find the burnout point.
    r_rows = [rows[i] for i in rk]
    bodies = Projectiles.from_munitions(r_rows, drag_scale[rk])
    f = fly(
        states[rk],
        bodies,
        t0_s=time_s[rk],
        time_since_launch_s=BURNT_OUT_S,
        backward=True,
        ground_height_m=ground_height_m,
        sample_dt_s=sample_dt_s,
        max_time_s=max_time_s,
        rtol=rtol,
        **env,
    )
    assert f.samples is not None and f.samples_t is not None
    v = f.samples[:, :, 3:6]
    speed = np.linalg.norm(v, axis=2)
    gamma = np.arcsin(np.clip(v[:, :, 2] / np.where(speed > 0, speed, 1.0), -1.0, 1.0))
    h_bo = np.full_like(speed, np.nan)
    burn = np.empty(rk.size)
    tables = {}
    for name in {m.name for m in r_rows}:
        sel = np.array([m.name == name for m in r_rows])
        table = boost_table(next(m for m in r_rows if m.name == name), atmosphere)
        h_bo[sel] = table.burnout_height(gamma[sel]) + ground_height_m
        tables[name] = (sel, table)
        burn[sel] = table.burn_time_s
    below = f.samples[:, :, 2] - h_bo  # > 0 above the burnout height; NaN after the ground
    reached = (below <= 0.0) & (v[:, :, 2] > 0.0)
    found = reached.any(axis=1)
    k = np.argmax(reached, axis=1)
    # Crossing between samples k-1 and k (k = 0: the state is already at or below burnout).
    km1 = np.maximum(k - 1, 0)
    i = np.arange(rk.size)
    e0, e1 = below[i, km1], below[i, k]
    frac = np.where((k > 0) & (e0 > e1), np.clip(e0 / np.where(e0 != e1, e0 - e1, 1.0), 0, 1), 0)
    dt_bo = f.samples_t[km1] + frac * (f.samples_t[k] - f.samples_t[km1])
    dt_bo = np.where(k > 0, dt_bo, 0.0)

    ok = np.flatnonzero(found)
    if ok.size:
        sub = bodies.take(ok)
        t_obs, tb = time_s[rk[ok]], burn[ok]

        def launch_from(
            rows: NDArray[np.int64], x_from: NDArray[np.float64], dt: NDArray[np.float64]
        ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            # the burnout state dt after x_from along the ballistic path, then back through one
            # burn time with the catalogue motor: the launch state
            part = sub if rows.size == ok.size else sub.take(rows)
            xb = propagate(x_from, part, dt, time_since_launch_s=BURNT_OUT_S, **env)
            xl = propagate(xb, part, -tb[rows], time_since_launch_s=tb[rows],
                           max_step_s=_BURN_STEP, **env)
            return xb, xl

        # Shooting: move the burnout along the path until the launch lands on the ground
        # (secant iterations from the height-table guess; each iteration moves the burnout
        # state by the small correction only, and only rows not yet on the ground move).
        # Stopping on time, not on the ground, keeps the launch time at burnout − burn time.
        every = np.arange(ok.size)
        d0 = dt_bo[ok]
        # the first burnout state from the backward flight's sample just before the crossing
        # (its dense output, within the flight's tolerance), not from the observed state: a
        # fixed-step flight over the whole path back costs a thousand RK4 steps per row
        t_near = f.samples_t[km1[ok]]
        xb0, xl = launch_from(every, f.samples[ok, km1[ok]], d0 - t_near)
        f0 = xl[:, 2] - ground_height_m
        d1 = np.minimum(d0 - 0.1 * np.sign(f0), 0.0)
        xb, xl = launch_from(every, xb0, d1 - d0)
        active = every
        for _ in range(_SHOOTING_ITERATIONS):
            f1 = xl[:, 2] - ground_height_m
            active = active[np.abs(f1[active]) >= _SHOOTING_TOLERANCE_M]
            if active.size == 0:
                break
            fa, da = f1[active], d1[active]
            slope = (fa - f0[active]) / np.where(da != d0[active], da - d0[active], 1.0)
            step = np.where(np.abs(slope) > 1e-6, -fa / np.where(slope != 0, slope, 1.0), 0.0)
            d_next = np.minimum(da + np.clip(step, -2.0, 2.0), 0.0)
            d0[active], f0[active] = da, fa
            xb[active], xl[active] = launch_from(active, xb[active], d_next - da)
            d1[active] = d_next
        converged = np.abs(xl[:, 2] - ground_height_m) < 1.0
        origin[rk[ok]] = xl
        t_origin[rk[ok]] = t_obs + d1 - tb
        dt_bo[ok] = d1
        x_bo = xb
        coarse[rk[ok]] = ~converged
        boosted[rk[ok]] = True
        t_burnout[rk[ok]] = time_s[rk[ok]] + dt_bo[ok]
        v_burnout[rk[ok]] = np.linalg.norm(x_bo[:, 3:6], axis=1)
        gamma_bo = np.arcsin(np.clip(x_bo[:, 5] / v_burnout[rk[ok]], -1.0, 1.0))
        for sel, table in tables.values():
            pick = sel[ok]
            v_expected[rk[ok][pick]] = table.burnout_speed(gamma_bo[pick])
            el_table[rk[ok][pick]] = table.launch_elevation(gamma_bo[pick])
    bad = np.flatnonzero(~found)
    origin[rk[bad]] = f.impact_state[bad]
    t_origin[rk[bad]] = f.impact_time_s[bad]
    coarse[rk[bad]] = True
    return BackwardFlight(
        origin, t_origin, boosted, coarse, t_burnout, v_burnout, v_expected, el_table
    )


def predict_origin(
    x: ArrayLike,
    P: ArrayLike,
    time_s: ArrayLike,
    munition: Munition | Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    boost: BoostMode = "motor",
    ut: UTParameters = DEFAULT_UT,
    max_time_s: float = 400.0,
    rtol: float | None = None,
) -> GroundPrediction:
    """Predicted point of origin and launch time of N tracks (states (N, 7), covariances
    (N, 7, 7) at ``time_s``; rockets after burnout), flying every sigma point back to the ground.

    ``coarse`` marks tracks for which some sigma point's rocket burnout could not be located
    (their origin falls back to a ballistic flight through the boost phase and is much coarser).
    ``rtol``: the backward flight's tolerance (None: the integrator's backward default).
    """
    return origin_sigma_flights(
        x, P, time_s, munition, atmosphere=atmosphere, wind=wind,
        ground_height_m=ground_height_m, boost=boost, ut=ut, max_time_s=max_time_s, rtol=rtol,
    ).prediction()


def origin_sigma_flights(
    x: ArrayLike,
    P: ArrayLike,
    time_s: ArrayLike,
    munition: Munition | Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    boost: BoostMode = "motor",
    ut: UTParameters = DEFAULT_UT,
    max_time_s: float = 400.0,
    rtol: float | None = None,
) -> SigmaFlights:
    """The sigma points of N tracks flown back to their origin (:func:`predict_origin`)."""
    x, P, t = as_track_arrays(x, P, time_s)
    n = x.shape[0]
    rows = munition_rows(munition, n)
    X, wm, wc = sigma_points(x, P, ut)
    s = X.shape[1]
    Y, coarse = origin_points(
        X.reshape(n * s, STATE_DIM), np.repeat(t, s), [m for m in rows for _ in range(s)],
        atmosphere=atmosphere, wind=wind, ground_height_m=ground_height_m, boost=boost,
        max_time_s=max_time_s, rtol=rtol,
    )
    return SigmaFlights(x, P, t, X, Y.reshape(n, s, 3), wm, wc,
                        coarse.reshape(n, s).any(axis=1), tuple(m.name for m in rows))


def origin_points(
    x: NDArray[np.float64],
    time_s: NDArray[np.float64],
    rows: Sequence[Munition],
    *,
    atmosphere: Atmosphere = STANDARD,
    wind: Wind = CALM,
    ground_height_m: float = 0.0,
    boost: BoostMode = "motor",
    max_time_s: float = 400.0,
    rtol: float | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Where states (M, 7) at ``time_s`` (M,) came from: ((M, 3) east, north and launch time;
    (M,) ``coarse``, see :class:`BackwardFlight`), by :func:`fly_back`."""
    back = fly_back(
        x[:, :6],
        list(rows),
        np.exp(np.clip(x[:, 6], -3.0, 3.0)),
        time_s,
        atmosphere=atmosphere,
        wind=wind,
        ground_height_m=ground_height_m,
        boost=boost,
        max_time_s=max_time_s,
        rtol=rtol,
    )
    Y = np.concatenate([back.origin_state[:, :2], back.origin_time_s[:, None]], axis=1)
    return Y, back.coarse
