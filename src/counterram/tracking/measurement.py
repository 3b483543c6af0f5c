"""Spherical radar measurements of N tracks, batched: h(x), its analytic Jacobian H, noise R, and
the inverse conversion (spherical → ENU position with covariance) used to start tracks.

A measurement row is z = [range, azimuth, elevation, radial velocity] relative to the sensor that
made it, with azimuth a compass bearing (clockwise from north, ``atan2(east, north)``) and elevation
above the sensor's horizontal. Each row may come from a different sensor: sensor positions and
sigmas travel as arrays (:class:`SensorRows`), one row per measurement. Radial velocity is
optional per row: a NaN in column 3 (of ``z`` or of the sigmas) means "not measured" and the row's
fourth component is masked out of the update (its H row and innovation are zeroed and its R entry
set to 1, which leaves the gain's fourth column exactly zero).

Written here rather than taken from Stone Soup because Stone Soup handles one state at a time with
finite-difference Jacobians and measures bearing counter-clockwise from east.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from counterram.sensors.plots import PlotBatch, SensorInfo

RANGE, AZIMUTH, ELEVATION, RADIAL_VELOCITY = 0, 1, 2, 3
MEASUREMENT_DIM = 4


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles wrapped to (−π, π]."""
    return np.pi - np.mod(np.pi - np.asarray(a, dtype=float), 2.0 * np.pi)


@dataclass(frozen=True)
class SensorRows:
    """Per-measurement sensor geometry and noise: ``position_enu`` (N, 3) and ``sigma`` (N, 4) =
    [σ range (m), σ azimuth (rad), σ elevation (rad), σ radial velocity (m/s) or NaN]."""

    position_enu: np.ndarray
    sigma: np.ndarray

    def __post_init__(self) -> None:
        p = np.asarray(self.position_enu, dtype=float)
        s = np.asarray(self.sigma, dtype=float)
        if p.ndim != 2 or p.shape[1] != 3:
            raise ValueError(f"SensorRows.position_enu must be (N, 3), got {p.shape}")
        if s.shape != (p.shape[0], MEASUREMENT_DIM):
            raise ValueError(f"SensorRows.sigma must be ({p.shape[0]}, 4), got {s.shape}")
        if np.any(s[:, :3] <= 0) or np.any(~np.isfinite(s[:, :3])):
            raise ValueError("SensorRows.sigma: range/azimuth/elevation sigmas must be finite > 0")
        object.__setattr__(self, "position_enu", p)
        object.__setattr__(self, "sigma", s)

    def __len__(self) -> int:
        return int(self.position_enu.shape[0])

    @classmethod
    def single(cls, info: SensorInfo, n: int) -> SensorRows:
        """``n`` rows all from one sensor."""
        return SensorTable.from_infos([info]).rows(np.full(n, info.sensor_id))

    def take(self, index: np.ndarray) -> SensorRows:
        return SensorRows(self.position_enu[index], self.sigma[index])


@dataclass(frozen=True)
class SensorTable:
    """The sensors of a site as arrays, indexed by ``sensor_id`` through :meth:`rows`."""

    sensor_ids: np.ndarray  # (S,)
    position_enu: np.ndarray  # (S, 3)
    sigma: np.ndarray  # (S, 4)

    @classmethod
    def from_infos(cls, infos: Sequence[SensorInfo]) -> SensorTable:
        if not infos:
            raise ValueError("SensorTable: at least one SensorInfo is needed")
        ids = np.array([s.sensor_id for s in infos], dtype=np.int64)
        if np.unique(ids).size != ids.size:
            raise ValueError(f"SensorTable: duplicate sensor_id in {ids.tolist()}")
        pos = np.array([s.position_enu for s in infos], dtype=float)
        sig = np.array(
            [
                [
                    s.sigma_range_m,
                    s.sigma_azimuth_rad,
                    s.sigma_elevation_rad,
                    np.nan if s.sigma_radial_velocity_mps is None else s.sigma_radial_velocity_mps,
                ]
                for s in infos
            ],
            dtype=float,
        )
        return cls(ids, pos, sig)

    def index(self, sensor_id: np.ndarray) -> np.ndarray:
        """Row index in the table of each ``sensor_id``; unknown ids raise ``ValueError``."""
        sensor_id = np.asarray(sensor_id)
        order = np.argsort(self.sensor_ids)
        pos = np.searchsorted(self.sensor_ids[order], sensor_id)
        pos = np.clip(pos, 0, self.sensor_ids.size - 1)
        idx = order[pos]
        bad = self.sensor_ids[idx] != sensor_id
        if np.any(bad):
            unknown = np.unique(sensor_id[bad]).tolist()
            raise ValueError(
                f"sensor_id {unknown} not in the sensor table (known: {self.sensor_ids.tolist()})"
            )
        return idx

    def rows(self, sensor_id: np.ndarray) -> SensorRows:
        idx = self.index(sensor_id)
        return SensorRows(self.position_enu[idx], self.sigma[idx])


def measurements_from_plots(plots: PlotBatch, table: SensorTable) -> tuple[np.ndarray, SensorRows]:
    """``z`` (N, 4) and the matching :class:`SensorRows` for a plot batch."""
    z = np.column_stack(
        [plots.range_m, plots.azimuth_rad, plots.elevation_rad, plots.radial_velocity_mps]
    ).astype(float)
    return z, table.rows(plots.sensor_id)


def doppler_mask(z: np.ndarray, sensors: SensorRows) -> np.ndarray:
    """(N,) True where a row carries a usable radial velocity."""
    if z.shape[-1] < MEASUREMENT_DIM:
        return np.zeros(z.shape[:-1], dtype=bool)
    return np.isfinite(z[..., RADIAL_VELOCITY]) & np.isfinite(sensors.sigma[:, RADIAL_VELOCITY])


def measure(x: np.ndarray, sensor_position: np.ndarray, m: int = MEASUREMENT_DIM) -> np.ndarray:
    """h(x): the first ``m`` of [range, azimuth, elevation, radial velocity], shape (..., m).

    ``x`` (..., d≥6) and ``sensor_position`` (..., 3) broadcast against each other. Azimuth is in
    (−π, π] (``atan2(east, north)``).
    """
    d = x[..., :3] - sensor_position
    horizontal = np.hypot(d[..., 0], d[..., 1])
    r = np.sqrt(horizontal**2 + d[..., 2] ** 2)
    cols = [r, np.arctan2(d[..., 0], d[..., 1]), np.arctan2(d[..., 2], horizontal)]
    if m == MEASUREMENT_DIM:
        cols.append(np.einsum("...i,...i->...", d, x[..., 3:6]) / r)
    return np.stack(cols, axis=-1)


def jacobian(x: np.ndarray, sensor_position: np.ndarray, m: int = MEASUREMENT_DIM) -> np.ndarray:
    """Analytic H = ∂h/∂x, shape (..., m, d).

    With d = p − s, ρ = √(de² + dn²), r = |d|::

        ∂r/∂p   = dᵀ / r
        ∂az/∂p  = [dn, −de, 0] / ρ²
        ∂el/∂p  = [−de du / ρ, −dn du / ρ, ρ] / r²
        ∂ṙ/∂p   = (v − ṙ d / r)ᵀ / r,     ∂ṙ/∂v = dᵀ / r
    """
    dim = x.shape[-1]
    d = x[..., :3] - sensor_position
    de, dn, du = d[..., 0], d[..., 1], d[..., 2]
    rho2 = de**2 + dn**2
    rho = np.sqrt(rho2)
    r2 = rho2 + du**2
    r = np.sqrt(r2)
    H = np.zeros((*np.broadcast_shapes(x.shape[:-1], d.shape[:-1]), m, dim))
    H[..., 0, :3] = d / r[..., None]
    H[..., 1, 0] = dn / rho2
    H[..., 1, 1] = -de / rho2
    H[..., 2, 0] = -de * du / (rho * r2)
    H[..., 2, 1] = -dn * du / (rho * r2)
    H[..., 2, 2] = rho / r2
    if m == MEASUREMENT_DIM:
        v = x[..., 3:6]
        rdot = np.einsum("...i,...i->...", d, v) / r
        H[..., 3, :3] = (v - (rdot / r)[..., None] * d) / r[..., None]
        H[..., 3, 3:6] = d / r[..., None]
    return H


def noise_covariance(sensors: SensorRows, m: int = MEASUREMENT_DIM) -> np.ndarray:
    """R (N, m, m), diagonal of the sensor sigmas squared (NaN where radial velocity is absent)."""
    R = np.zeros((len(sensors), m, m))
    i = np.arange(m)
    R[:, i, i] = sensors.sigma[:, :m] ** 2
    return R


def residual(z: np.ndarray, z_pred: np.ndarray) -> np.ndarray:
    """z − z_pred with the azimuth difference wrapped to (−π, π] (elevation needs no wrap)."""
    y = z - z_pred
    y[..., AZIMUTH] = wrap_angle(y[..., AZIMUTH])
    return y


@dataclass(frozen=True)
class LinearisedMeasurement:
    """Everything an update needs for N rows: predicted z, H, R, innovation y and the row mask."""

    z_pred: np.ndarray  # (N, m)
    H: np.ndarray  # (N, m, d)
    R: np.ndarray  # (N, m, m)
    y: np.ndarray  # (N, m)
    dof: np.ndarray  # (N,) number of real measurement components per row


def prepare(z: np.ndarray, sensors: SensorRows) -> tuple[np.ndarray, np.ndarray, int]:
    """Validated ``z`` (N, m), Doppler mask (N,) and m ∈ {3, 4}."""
    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or z.shape[1] not in (3, 4):
        raise ValueError(f"measurements z must have shape (N, 3) or (N, 4), got {z.shape}")
    if z.shape[0] != len(sensors):
        raise ValueError(f"z has {z.shape[0]} rows but sensors has {len(sensors)}")
    if not np.all(np.isfinite(z[:, :3])):
        raise ValueError("measurements z: range, azimuth and elevation must be finite")
    m = z.shape[1]
    return z, doppler_mask(z, sensors), m


def mask_doppler(
    y: np.ndarray, H: np.ndarray, R: np.ndarray, has_doppler: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neutralise the radial-velocity component of rows without it (in place, returned)."""
    off = ~has_doppler
    if np.any(off):
        y[off, RADIAL_VELOCITY] = 0.0
        H[off, RADIAL_VELOCITY, :] = 0.0
        R[off, RADIAL_VELOCITY, :] = 0.0
        R[off, :, RADIAL_VELOCITY] = 0.0
        R[off, RADIAL_VELOCITY, RADIAL_VELOCITY] = 1.0
    return y, H, R


def linearise(x: np.ndarray, z: np.ndarray, sensors: SensorRows) -> LinearisedMeasurement:
    """h(x), H, R and the wrapped innovation for N (state, measurement, sensor) rows."""
    z, has_doppler, m = prepare(z, sensors)
    s = sensors.position_enu
    z_pred = measure(x, s, m)
    H = jacobian(x, s, m)
    R = noise_covariance(sensors, m)
    y = residual(np.where(np.isfinite(z), z, 0.0), z_pred)
    if m == MEASUREMENT_DIM:
        y, H, R = mask_doppler(y, H, R, has_doppler)
    dof = 3 + has_doppler.astype(np.int64)
    return LinearisedMeasurement(z_pred, H, R, y, dof)


def spherical_to_enu(z: np.ndarray, sensors: SensorRows) -> tuple[np.ndarray, np.ndarray]:
    """Measured positions in ENU (N, 3) and their converted covariance (N, 3, 3).

    p = s + r [cos el sin az, cos el cos az, sin el]; covariance J R₃ Jᵀ with J = ∂p/∂(r, az, el)
    (linearised conversion; its bias r σ²/2 is below a metre for σ ≤ 10 mrad at 10 km, far under
    the cross-range sigma r σ, so no debiasing is applied).
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or z.shape[1] < 3 or z.shape[0] != len(sensors):
        raise ValueError(f"z must have shape (N, 3|4) matching the sensors, got {z.shape}")
    r, az, el = z[:, 0], z[:, 1], z[:, 2]
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    p = sensors.position_enu + np.column_stack([r * ce * sa, r * ce * ca, r * se])
    J = np.zeros((z.shape[0], 3, 3))
    J[:, :, 0] = np.column_stack([ce * sa, ce * ca, se])
    J[:, :, 1] = np.column_stack([r * ce * ca, -r * ce * sa, np.zeros_like(r)])
    J[:, :, 2] = np.column_stack([-r * se * sa, -r * se * ca, r * ce])
    R3 = noise_covariance(sensors, 3)
    return p, J @ R3 @ np.swapaxes(J, -1, -2)


def initial_state(
    z: np.ndarray,
    sensors: SensorRows,
    *,
    velocity_sigma_mps: float = 300.0,
    dim: int = 6,
    log_drag_scale_sigma: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """A one-plot track start: position from the plot, velocity unknown (zero mean with
    ``velocity_sigma_mps`` per axis, or along the line of sight where radial velocity is measured),
    and for ``dim == 7`` a log drag scale β = 0 with ``log_drag_scale_sigma``."""
    if dim not in (6, 7):
        raise ValueError(f"initial_state: dim must be 6 or 7, got {dim}")
    p, Pp = spherical_to_enu(z, sensors)
    n = p.shape[0]
    x = np.zeros((n, dim))
    x[:, :3] = p
    if z.shape[1] == MEASUREMENT_DIM:
        ok = doppler_mask(z, sensors)
        los = (p - sensors.position_enu) / z[:, :1]
        x[ok, 3:6] = z[ok, 3:4] * los[ok]
    P = np.zeros((n, dim, dim))
    P[:, :3, :3] = Pp
    i3 = np.arange(3, 6)
    P[:, i3, i3] = velocity_sigma_mps**2
    if dim == 7:
        P[:, 6, 6] = log_drag_scale_sigma**2
    return x, P
