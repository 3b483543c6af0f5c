"""Batched motion models for the tracker: mean, covariance and transition Jacobian of N tracks.

Every model maps states ``x`` (N, d) and covariances ``P`` (N, d, d) over a time step ``dt`` (a
scalar or one value per row, possibly negative) to a :class:`Prediction` ``(x, P, F)``, where ``F``
(N, d, d) is the transition Jacobian ∂x(t+dt)/∂x(t) and ``P = F P Fᵀ + Q``.

Why hand-written: the field's libraries (Stone Soup, FilterPy) propagate one track at a time in
Python and get their Jacobians by finite differences; neither has a drag model driven by a
munition's Cd(Mach) table and the ISA atmosphere. Here the ballistic transition is integrated by
RK4 sub-steps for all tracks together, and its Jacobian comes from the variational equations
dΦ/dt = A(x) Φ with the analytic acceleration Jacobian A = ∂f/∂x, integrated by the same RK4 stages
(so F is the exact derivative of the discrete propagation up to RK4 truncation, not a
finite-difference estimate). That propagation, with ``F P Fᵀ + Q``, runs as one compiled loop over
tracks (:mod:`counterram.tracking.kernels`): a tracker fed by a rotating radar predicts all its
tracks once per plot group, so the fixed cost of a call matters as much as the cost per track.

Models:

* :class:`ConstantVelocity` — state [p, v]; discrete white-noise acceleration (continuous-time
  spectral density ``q``, m²/s³ per axis).
* :class:`GravityOnly` — constant velocity plus constant gravity g = 9.80665 m/s² downwards. Linear;
  exact ``F``.
* :class:`Ballistic` — state [p, v] or [p, v, β]; gravity and aerodynamic drag relative to the air
  (density and speed of sound from the atmosphere at the current height, wind profile, Cd(Mach)
  table). β is the natural logarithm of a drag-scale factor: the drag acceleration is multiplied by
  exp(β). A log scale keeps the factor positive whatever the filter does to β, and makes its
  uncertainty multiplicative (a ±20 % Cd error is symmetric in β), which is how ballistic-
  coefficient errors behave.

Boosting rockets are covered in :mod:`counterram.tracking.imm` by an interacting-multiple-model
filter over a ballistic and a boost mode of this model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, Protocol

import numpy as np
from scipy.interpolate import CubicSpline, PchipInterpolator

from counterram.tracking import kernels

STANDARD_GRAVITY_MPS2 = 9.80665
"""Standard acceleration of gravity (CGPM 1901), m/s²; flat-Earth, constant with height."""


class Prediction(NamedTuple):
    """Predicted mean ``x`` (N, d), covariance ``P`` (N, d, d) and transition Jacobian ``F``."""

    x: np.ndarray
    P: np.ndarray
    F: np.ndarray


class MotionModel(Protocol):
    """What a filter needs from a motion model."""

    dim: int

    def transition(self, x: np.ndarray, dt: float | np.ndarray) -> np.ndarray:
        """Mean propagation only, ``x`` (N, d) → (N, d) (used for sigma points)."""
        ...

    def process_noise(self, x: np.ndarray, dt: float | np.ndarray) -> np.ndarray:
        """Process-noise covariance ``Q`` (N, d, d) accumulated over ``dt``."""
        ...

    def predict(self, x: np.ndarray, P: np.ndarray, dt: float | np.ndarray) -> Prediction:
        """Mean, covariance and transition Jacobian after ``dt``."""
        ...


def _check_state(x: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] not in dims:
        raise ValueError(f"state x must have shape (N, d) with d in {dims}, got {x.shape}")
    return x


def _row_dt(dt: float | np.ndarray, n: int) -> np.ndarray:
    """``dt`` as an (N,) array; a scalar is broadcast."""
    dt = np.asarray(dt, dtype=float)
    if dt.ndim == 0:
        return np.full(n, float(dt))
    if dt.shape != (n,):
        raise ValueError(f"dt must be a scalar or have shape ({n},), got {dt.shape}")
    return dt


def white_acceleration_noise(q: float | np.ndarray, dt: np.ndarray, dim: int = 6) -> np.ndarray:
    """Discretised continuous white-noise acceleration covariance over ``dt`` (N,).

    For each axis, with spectral density ``q`` (m²/s³)::

        Q_axis = q [[|dt|³/3, dt²/2],
                    [dt²/2,   |dt|  ]]

    (Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and Navigation*, 2001,
    §6.2.2). The [p(3), v(3)] block is filled; any further states get zero noise. ``q`` may be a
    scalar or (N,).
    """
    dt = np.asarray(dt, dtype=float)
    q = np.broadcast_to(np.asarray(q, dtype=float), dt.shape)
    a = np.abs(dt)
    Q = np.zeros((dt.shape[0], dim, dim))
    i3 = np.arange(3)
    Q[:, i3, i3] = (q * a**3 / 3.0)[:, None]
    Q[:, i3, i3 + 3] = (q * dt**2 / 2.0)[:, None]
    Q[:, i3 + 3, i3] = (q * dt**2 / 2.0)[:, None]
    Q[:, i3 + 3, i3 + 3] = (q * a)[:, None]
    return Q


def _cv_transition_matrix(dt: np.ndarray) -> np.ndarray:
    F = np.broadcast_to(np.eye(6), (dt.shape[0], 6, 6)).copy()
    i3 = np.arange(3)
    F[:, i3, i3 + 3] = dt[:, None]
    return F


_NO_MATRICES = np.empty((0, 0, 0))


def _symmetric(P: np.ndarray) -> np.ndarray:
    return 0.5 * (P + np.swapaxes(P, -1, -2))


@dataclass(frozen=True)
class ConstantVelocity:
    """Nearly constant velocity in 3-D: state [e, n, u, ve, vn, vu], white acceleration noise.

    ``q`` is the continuous-time acceleration spectral density per axis, m²/s³.
    """

    q: float = 1.0
    dim: int = 6

    def _transition_matrix(self, dt: np.ndarray) -> np.ndarray:
        return _cv_transition_matrix(dt)

    def transition(self, x: np.ndarray, dt: float | np.ndarray) -> np.ndarray:
        x = _check_state(x, (6,))
        dt = _row_dt(dt, x.shape[0])
        out = x.copy()
        out[:, :3] += dt[:, None] * x[:, 3:]
        return out

    def process_noise(self, x: np.ndarray, dt: float | np.ndarray) -> np.ndarray:
        x = _check_state(x, (6,))
        return white_acceleration_noise(self.q, _row_dt(dt, x.shape[0]))

    def predict(self, x: np.ndarray, P: np.ndarray, dt: float | np.ndarray) -> Prediction:
        x = _check_state(x, (6,))
        dt = _row_dt(dt, x.shape[0])
        F = self._transition_matrix(dt)
        Q = white_acceleration_noise(self.q, dt)
        x_pred = self.transition(x, dt)
        P_pred = F @ P @ np.swapaxes(F, -1, -2) + Q
        return Prediction(x_pred, _symmetric(P_pred), F)


@dataclass(frozen=True)
class GravityOnly(ConstantVelocity):
    """Constant velocity plus constant gravity (no drag): exact for a vacuum trajectory.

    x(t+dt) = F x(t) + [0, 0, −g dt²/2, 0, 0, −g dt]; F as for constant velocity.
    """

    g: float = STANDARD_GRAVITY_MPS2

    def transition(self, x: np.ndarray, dt: float | np.ndarray) -> np.ndarray:
        x = _check_state(x, (6,))
        dt = _row_dt(dt, x.shape[0])
        out = x.copy()
        out[:, :3] += dt[:, None] * x[:, 3:]
        out[:, 2] -= 0.5 * self.g * dt**2
        out[:, 5] -= self.g * dt
        return out


# --------------------------------------------------------------------------------------------
# Ballistic model: tabulated air and drag curves with derivatives
# --------------------------------------------------------------------------------------------


class _Cell(NamedTuple):
    i: np.ndarray  # left node
    t: np.ndarray  # position in the cell, [0, 1]
    step: float
    outside: np.ndarray  # beyond the grid: value held, slope zero


def _hermite_cell(x: Any, x0: float, step: float, n: int) -> _Cell:
    s = (np.asarray(x, dtype=float) - x0) / step
    outside = (s < 0.0) | (s > n - 1)
    s = np.clip(s, 0.0, n - 1)
    i = np.minimum(s.astype(np.intp), n - 2)
    return _Cell(i, s - i, step, outside)


def _hermite(c: _Cell, f: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cubic Hermite interpolation of tabulated values ``f`` and slopes ``df`` on a uniform grid,
    returning the value and the exact derivative of the interpolant (so a Jacobian built from the
    derivative is consistent with the value used in the propagation)."""
    t = c.t if f.ndim == 1 else c.t[:, None]
    out = c.outside if f.ndim == 1 else c.outside[:, None]
    f0, f1, m0, m1 = f[c.i], f[c.i + 1], df[c.i] * c.step, df[c.i + 1] * c.step
    t2 = t * t
    t3 = t2 * t
    value = (2 * t3 - 3 * t2 + 1) * f0 + (t3 - 2 * t2 + t) * m0 + (3 * t2 - 2 * t3) * f1
    value = value + (t3 - t2) * m1
    slope = (6 * t2 - 6 * t) * (f0 - f1) + (3 * t2 - 4 * t + 1) * m0 + (3 * t2 - 2 * t) * m1
    return value, np.where(out, 0.0, slope / c.step)


class _Profile(Protocol):
    def density(self, height_m: Any) -> np.ndarray: ...
    def speed_of_sound(self, height_m: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class AirTable:
    """Air density, speed of sound and wind with their height derivatives, tabulated on a uniform
    height grid for fast batched lookup (cubic Hermite interpolation).

    Built once from any atmosphere with ``density(h)`` and ``speed_of_sound(h)`` (the physics core's
    :class:`~counterram.physics.atmosphere.Atmosphere`) and any wind with ``at(h) -> (..., 3)``.
    Derivatives come from cubic splines through the sampled profile: they are the slopes of a smooth
    curve through the model, which is what the drag Jacobian needs (d rho/dz, d a/dz, d wind/dz).
    Heights outside the grid are held at the ends (derivatives zero there).
    """

    z0_m: float
    dz_m: float
    density: np.ndarray
    d_density: np.ndarray
    sound: np.ndarray
    d_sound: np.ndarray
    wind: np.ndarray  # (G, 3)
    d_wind: np.ndarray  # (G, 3)

    @classmethod
    def build(
        cls,
        atmosphere: _Profile | None = None,
        wind: Any | None = None,
        *,
        z_min_m: float = -500.0,
        z_max_m: float = 30_000.0,
        dz_m: float = 10.0,
    ) -> AirTable:
        """Tabulate ``atmosphere`` (default: the physics core's ISA) and ``wind`` (default calm)."""
        if atmosphere is None:
            from counterram.physics.atmosphere import Atmosphere

            atmosphere = Atmosphere()
        if not (z_max_m > z_min_m and dz_m > 0):
            raise ValueError("AirTable: need z_max_m > z_min_m and dz_m > 0")
        z = np.arange(z_min_m, z_max_m + 0.5 * dz_m, dz_m)
        rho = np.asarray(atmosphere.density(z), dtype=float)
        a = np.asarray(atmosphere.speed_of_sound(z), dtype=float)
        if wind is None:
            w = np.zeros((z.size, 3))
        else:
            w = np.asarray(wind.at(z), dtype=float).reshape(z.size, 3)
        rho_s = CubicSpline(z, rho)
        a_s = CubicSpline(z, a)
        w_s = CubicSpline(z, w, axis=0)
        return cls(
            float(z[0]),
            float(dz_m),
            rho,
            rho_s.derivative()(z),
            a,
            a_s.derivative()(z),
            w,
            w_s.derivative()(z),
        )

    def lookup(self, height_m: np.ndarray) -> tuple[np.ndarray, ...]:
        """(rho, rho', a, a', wind (N,3), wind' (N,3)) at ``height_m`` (N,)."""
        cell = _hermite_cell(height_m, self.z0_m, self.dz_m, self.density.size)
        rho, d_rho = _hermite(cell, self.density, self.d_density)
        a, d_a = _hermite(cell, self.sound, self.d_sound)
        w, d_w = _hermite(cell, self.wind, self.d_wind)
        return rho, d_rho, a, d_a, w, d_w

    @cached_property
    def _packed(self) -> np.ndarray:
        """(G, 10) table in the column order of :mod:`counterram.tracking.kernels`."""
        cols = [self.density, self.d_density, self.sound, self.d_sound]
        packed = np.column_stack([*cols, self.wind, self.d_wind]).astype(float)
        assert packed.shape[1] == kernels.AIR_COLUMNS
        return np.ascontiguousarray(packed)


@dataclass(frozen=True)
class DragCurve:
    """A drag coefficient table Cd(Mach) and its slope, PCHIP-interpolated (shape-preserving, as
    recommended for Cd tables by Rabbath & Corriveau, Defence Technology 15(5), 2019) and sampled on
    a fine uniform Mach grid for fast batched lookup. Held constant beyond the table's ends."""

    mach_step: float
    cd: np.ndarray
    d_cd: np.ndarray

    @classmethod
    def from_table(
        cls, mach: Any, cd: Any, *, mach_step: float = 0.002, mach_max: float | None = None
    ) -> DragCurve:
        mach = np.asarray(mach, dtype=float)
        cd = np.asarray(cd, dtype=float)
        if mach.ndim != 1 or mach.shape != cd.shape or mach.size < 2:
            raise ValueError("DragCurve: mach and cd must be 1-D tables of equal length >= 2")
        if np.any(np.diff(mach) <= 0):
            raise ValueError("DragCurve: mach must be strictly increasing")
        top = float(mach[-1]) if mach_max is None else mach_max
        grid = np.arange(0.0, top + mach_step, mach_step)
        p = PchipInterpolator(mach, cd, extrapolate=False)
        inside = (grid >= mach[0]) & (grid <= mach[-1])
        values = np.where(inside, p(np.clip(grid, mach[0], mach[-1])), 0.0)
        values = np.where(grid < mach[0], cd[0], values)
        values = np.where(grid > mach[-1], cd[-1], values)
        slopes = np.where(inside, p.derivative()(np.clip(grid, mach[0], mach[-1])), 0.0)
        return cls(mach_step, values, slopes)

    @classmethod
    def from_munition(cls, munition: Any) -> DragCurve:
        """From a catalogue :class:`~counterram.physics.catalogue.Munition` (``mach``, ``cd``)."""
        return cls.from_table(munition.mach, munition.cd)

    def lookup(self, mach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Cd, dCd/dM) at ``mach`` (N,)."""
        return _hermite(_hermite_cell(mach, 0.0, self.mach_step, self.cd.size), self.cd, self.d_cd)

    @cached_property
    def _packed(self) -> np.ndarray:
        """(M, 2) table [Cd, dCd/dM] for :mod:`counterram.tracking.kernels`."""
        return np.ascontiguousarray(np.column_stack([self.cd, self.d_cd]).astype(float))


@dataclass(frozen=True)
class Ballistic:
    """Point-mass ballistic motion: gravity + drag relative to the air, optional log drag scale β.

    Continuous dynamics, with w = v − wind(z), M = |w| / a(z), c = ½ (A/m) exp(β)::

        ṗ = v
        v̇ = g − c ρ(z) Cd(M) |w| w
        β̇ = 0 (random walk in Q)

    The transition over ``dt`` is integrated by classical RK4 in ``ceil(|dt| / max_step_s)`` equal
    sub-steps per call (the same count for every row, each row with its own step length), together
    with the variational equations Φ̇ = A(x) Φ, Φ(0) = I, so ``F = Φ(dt)``. Process noise: white
    acceleration of spectral density ``q`` (m²/s³) on the velocity and a random walk of density
    ``q_beta`` (1/s) on β.

    Parameters: ``area_over_mass_m2pkg`` (A/m of the hypothesised munition, a scalar or (N,)),
    ``drag`` (its Cd(Mach) curve), ``air`` (tabulated atmosphere and wind), ``estimate_drag_scale``
    (state of 7 with β, else 6 with β = 0), ``thrust_acceleration_mps2`` (a constant thrust
    acceleration along the air-relative velocity, for the boost mode of a rocket; 0 otherwise).

    A row of ``x`` holding NaN gives NaN in that row only; a non-finite ``dt`` raises ValueError.
    """

    drag: DragCurve
    area_over_mass_m2pkg: float | np.ndarray
    air: AirTable
    q: float = 1.0
    q_beta: float = 1e-4
    estimate_drag_scale: bool = True
    max_step_s: float = 0.05
    thrust_acceleration_mps2: float = 0.0
    g: float = STANDARD_GRAVITY_MPS2
    dim: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dim", 7 if self.estimate_drag_scale else 6)
        if self.max_step_s <= 0:
            raise ValueError("Ballistic.max_step_s must be > 0")

    @classmethod
    def for_munition(
        cls,
        munition: Any,
        *,
        atmosphere: Any | None = None,
        wind: Any | None = None,
        burnt_out: bool = True,
        **kwargs: Any,
    ) -> Ballistic:
        """A model for a catalogue munition (after burnout for rockets: ``burnout_mass_kg``)."""
        mass = munition.burnout_mass_kg if burnt_out else munition.mass_kg
        area = np.pi * munition.diameter_m**2 / 4.0
        return cls(
            DragCurve.from_munition(munition),
            area / mass,
            AirTable.build(atmosphere, wind),
            **kwargs,
        )

    # ---- dynamics (compiled: counterram.tracking.kernels) -----------------------------------

    @cached_property
    def _area_over_mass(self) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(self.area_over_mass_m2pkg, dtype=float).reshape(-1))

    def _aom_for(self, n: int) -> np.ndarray:
        aom = self._area_over_mass
        if aom.size not in (1, n):
            raise ValueError(
                f"Ballistic.area_over_mass_m2pkg has {aom.size} values for {n} states "
                "(give one value, or one per state row)"
            )
        return aom

    def _table_args(self) -> tuple[Any, ...]:
        return (
            float(self.thrust_acceleration_mps2),
            float(self.g),
            self.air._packed,
            float(self.air.z0_m),
            float(self.air.dz_m),
            self.drag._packed,
            float(self.drag.mach_step),
        )

    def kernel_args(self) -> tuple[Any, ...]:
        """What :func:`counterram.tracking.kernels.propagate` takes between ``dt`` and ``mode``
        (step, A/m, tables), then ``q`` and ``q_beta``: for compiled callers that predict
        inside their own kernels (:mod:`counterram.tracking.update_kernels`)."""
        return (float(self.max_step_s), self._area_over_mass, *self._table_args(),
                float(self.q), float(self.q_beta))

    def acceleration(self, x: np.ndarray) -> np.ndarray:
        """v̇ (N, 3) at states ``x`` (N, d)."""
        return self._acceleration(x, jacobian=False)[0]

    def acceleration_jacobian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(v̇ (N, 3), ∂v̇/∂x (N, 3, d)) at states ``x`` (N, d), analytic."""
        return self._acceleration(x, jacobian=True)

    def _acceleration(self, x: np.ndarray, jacobian: bool) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(_check_state(x, (self.dim,)))
        n = x.shape[0]
        a = np.empty((n, 3))
        J = np.zeros((n if jacobian else 0, 3, self.dim))
        kernels.acceleration(x, self._aom_for(n), *self._table_args(), jacobian, a, J)
        return a, J

    def _propagate(
        self, x: np.ndarray, dt: float | np.ndarray, mode: int, P: np.ndarray | None = None
    ) -> Prediction:
        x = np.ascontiguousarray(_check_state(x, (self.dim,)))
        n, d = x.shape
        dt = np.ascontiguousarray(_row_dt(dt, n))
        x_out = np.empty((n, d))
        F = np.empty((n if mode >= kernels.MODE_JACOBIAN else 0, d, d))
        if mode == kernels.MODE_COVARIANCE:
            P = np.ascontiguousarray(P, dtype=float)
            if P.shape != (n, d, d):
                raise ValueError(f"P must have shape ({n}, {d}, {d}), got {P.shape}")
            P_out = np.empty((n, d, d))
        else:
            P = P_out = _NO_MATRICES
        kernels.propagate(
            x,
            dt,
            float(self.max_step_s),
            self._aom_for(n),
            *self._table_args(),
            mode,
            P,
            float(self.q),
            float(self.q_beta),
            x_out,
            F,
            P_out,
        )
        return Prediction(x_out, P_out, F)

    # ---- MotionModel interface ------------------------------------------------------------

    def transition(self, x: np.ndarray, dt: float | np.ndarray) -> np.ndarray:
        return self._propagate(x, dt, kernels.MODE_STATE).x

    def transition_jacobian(
        self, x: np.ndarray, dt: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(x(t+dt), F = ∂x(t+dt)/∂x(t)) by RK4 on the state and the variational equations."""
        out = self._propagate(x, dt, kernels.MODE_JACOBIAN)
        return out.x, out.F

    def process_noise(self, x: np.ndarray, dt: float | np.ndarray) -> np.ndarray:
        x = _check_state(x, (self.dim,))
        dt = _row_dt(dt, x.shape[0])
        Q = white_acceleration_noise(self.q, dt, self.dim)
        if self.estimate_drag_scale:
            Q[:, 6, 6] = self.q_beta * np.abs(dt)
        return Q

    def predict(self, x: np.ndarray, P: np.ndarray, dt: float | np.ndarray) -> Prediction:
        """Mean, F and P = sym(F P Fᵀ + Q) (Q as :meth:`process_noise`), in one compiled call."""
        return self._propagate(x, dt, kernels.MODE_COVARIANCE, P)
