"""Multi-target ballistic tracker: central fusion of every radar's plots into confirmed tracks.

``Tracker.process(plots, now)`` takes a :class:`~counterram.sensors.plots.PlotBatch` (any number
of scans, any sensors, in any order within the late-plot tolerance) and returns a
:class:`TrackerOutput`: the live tracks, the events of the call and cumulative counters. The
tracker is pure with respect to time and I/O: its only clock is the plots' timestamps and the
optional ``now``; it reads and writes nothing.

Per plot group (the plots of one sensor at one timestamp, in time order):

1. every live track is predicted to the group's time by its own Δt (negative for a late plot:
   the posterior is carried back, updated, and carried forward by the next group; the process
   noise of the late interval is then counted twice, which is conservative);
2. χ² gating (:func:`~counterram.tracking.filters.gate`) and global nearest neighbour on the
   squared Mahalanobis distance (:func:`~counterram.tracking.association.gnn`), confirmed tracks
   first, tentative tracks on the plots left;
3. an EKF update of the assigned tracks (Joseph form);
4. life cycle at the group's time (:mod:`~counterram.tracking.lifecycle`): confirmation by
   M-of-N, deletions by misses, coasting, covariance growth and predicted impact;
5. the plots left go to two-point initiation (:mod:`~counterram.tracking.initiation`).

Processing one sensor's plots per group makes multi-radar fusion a sequential update, exact for
independent measurement noise, and lets a track take one plot from every radar at one instant.

Motion model. Tracks do not know the munition. Every track uses one generic ballistic model
(:class:`~counterram.tracking.motion.Ballistic`, 7-state with the log drag scale β): the
catalogue's G1-shaped Cd(Mach) curve of the 81 mm bomb and an area-to-mass ratio chosen so that
β = 0 is the geometric mean of the catalogue threats' ballistic coefficients A·Cd₀/m; β, started
at 0 with a sigma covering the catalogue's spread, then estimates the round's own coefficient.
The estimate also yields a munition hint: the catalogue threat with the nearest coefficient once
β is known to ±0.25.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import chi2

from counterram.sensors.plots import PlotBatch, SensorInfo
from counterram.tracking import measurement as meas
from counterram.tracking import update_kernels
from counterram.tracking.association import gnn
from counterram.tracking.filters import ExtendedKalmanFilter
from counterram.tracking.initiation import PairingGates, PlotPool, pair_plots, two_point_state
from counterram.tracking.lifecycle import (
    DELETION_REASONS,
    TrackStatus,
    TrackTable,
    codes_after_group,
    lifecycle_codes,
    reason_code,
    reason_names,
)
from counterram.tracking.measurement import SensorRows, SensorTable
from counterram.tracking.motion import AirTable, Ballistic, DragCurve

REFERENCE_DRAG_MUNITION = "81mm-mortar"
"""Catalogue munition whose Cd(Mach) curve (G1 shape) the generic track model uses."""

STATE_DIM = 7

_CONFLICT = reason_code("conflict")
_DUPLICATE = reason_code("duplicate")

COUNTER_NAMES = (
    "plots_received",
    "plots_used",
    "plots_initiating",
    "plots_pooled",
    "rejected_late",
    "rejected_invalid",
    "rejected_unknown_sensor",
    "tracks_initiated",
    "tracks_confirmed",
    *(f"deleted_{r}" for r in DELETION_REASONS),
)


@dataclass(frozen=True)
class GenericDrag:
    """The generic drag model of tracks: Cd curve, reference A/m, and the catalogue threats'
    ballistic coefficients k = A Cd₀ / m as log drag scales β relative to the reference.

    ``reference`` is the munition β = 0 stands for: the reference's Cd curve with the generic
    A/m (its mass scaled), so that whatever rewrites a track's β for a catalogue munition
    (classification, prediction) starts from the drag the tracker actually fitted, not from
    the 81 mm bomb's own A/m (ln of their ratio: −0.28, a third more drag)."""

    curve: DragCurve
    area_over_mass_m2pkg: float
    names: tuple[str, ...]
    log_scale: np.ndarray
    spread: float
    reference: Any = None

    @classmethod
    def from_catalogue(cls, catalogue: Any | None = None) -> GenericDrag:
        if catalogue is None:
            from counterram.physics.catalogue import load_catalogue

            catalogue = load_catalogue()
        ref = catalogue.get(REFERENCE_DRAG_MUNITION)
        threats = [m for m in catalogue if m.kind in ("rocket", "mortar", "artillery")]
        k = np.array([m.area_m2 / m.burnout_mass_kg * m.cd[0] for m in threats])
        log_k = np.log(k)
        k_ref = float(np.exp(log_k.mean()))
        aom = k_ref / ref.cd[0]
        mass = ref.area_m2 / aom
        return cls(
            DragCurve.from_munition(ref),
            aom,
            tuple(m.name for m in threats),
            log_k - np.log(k_ref),
            float(np.max(np.abs(log_k - log_k.mean()))),
            ref.model_copy(update={"name": "track-reference", "mass_kg": mass,
                                   "burnout_mass_kg": mass}),
        )

    def hint(self, beta: np.ndarray, beta_sigma: np.ndarray, max_sigma: float = 0.25) -> list[str]:
        """Nearest catalogue threat by ballistic coefficient, or ``""`` while β is uncertain."""
        nearest = np.argmin(np.abs(beta[:, None] - self.log_scale[None, :]), axis=1)
        return [
            self.names[i] if s <= max_sigma else ""
            for i, s in zip(nearest, beta_sigma, strict=True)
        ]


@dataclass(frozen=True)
class _Converted:
    """Plots of a group in ENU: positions (M, 3), converted covariances (M, 3, 3) and the root
    of their traces (M,), converted once per batch."""

    p: np.ndarray
    C: np.ndarray
    sigma_m: np.ndarray

    def take(self, rows: np.ndarray) -> _Converted:
        return _Converted(self.p[rows], self.C[rows], self.sigma_m[rows])


def _positive(name: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"TrackerConfig.{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker settings (SI units).

    ``revisit_s`` is the expected time between looks of a sensor (``sensor_revisit_s`` overrides
    it per ``sensor_id``); it sets the M-of-N look clock and the miss count. A confirmed track is
    deleted after ``max_misses`` looks without a plot.

    Rounds outside the catalogue: ``drag_shape_sigma`` scales the drag-shape process noise on
    the log drag scale (the reference curve's own change of ln Cd over each prediction, so
    zero where the curve is flat); a confirmed track that has missed a look is predicted with
    ``reacquire_q`` (m²/s³) more white acceleration and ``reacquire_beta_sigma`` more spread
    on the drag scale, so that it re-acquires its own plots (see docs/tracking.md).

    Salvos: a tentative track that would confirm with another track within ``crowded_looks``
    looks' displacement (the faster speed × the track's look interval) needs
    ``crowded_confirm_extra`` more plots and looks (M + 1 of N + 1 by default): among rounds
    spaced like their motion per look, a track stitched from several rounds fits as well as a
    round's own for a few looks.
    """

    gate_probability: float = 0.999
    tentative_gate_probability: float = 0.99
    confirm_hits: int = 3
    confirm_looks: int = 4
    max_misses: int = 3
    max_coast_s: float = 15.0
    revisit_s: float = 1.0
    sensor_revisit_s: Mapping[int, float] = field(default_factory=dict)
    late_tolerance_s: float = 2.0
    max_position_sigma_m: float = 500.0
    ground_height_m: float = 0.0
    pairing: PairingGates = field(default_factory=PairingGates)
    init_accel_sigma_mps2: float = 10.0
    process_noise_q: float = 2.0
    process_noise_q_beta: float = 1e-3
    max_step_s: float = 1.0
    duplicate_probability: float = 0.99
    drag_shape_sigma: float = 1.0
    reacquire_q: float = 50.0
    reacquire_beta_sigma: float = 0.3
    crowded_confirm_extra: int = 1
    crowded_looks: float = 1.5

    def __post_init__(self) -> None:
        if not 0.0 < self.gate_probability < 1.0:
            raise ValueError(
                f"TrackerConfig.gate_probability must be in (0, 1), got {self.gate_probability}"
            )
        if not 0.0 < self.tentative_gate_probability <= self.gate_probability:
            raise ValueError(
                "TrackerConfig.tentative_gate_probability must be in (0, gate_probability], got "
                f"{self.tentative_gate_probability}"
            )
        if not 0.0 < self.duplicate_probability < 1.0:
            raise ValueError("TrackerConfig.duplicate_probability must be in (0, 1)")
        if not (2 <= self.confirm_hits <= self.confirm_looks):
            raise ValueError(
                "TrackerConfig: need 2 <= confirm_hits (M) <= confirm_looks (N), got "
                f"M={self.confirm_hits}, N={self.confirm_looks}"
            )
        if self.crowded_confirm_extra < 0:
            raise ValueError("TrackerConfig.crowded_confirm_extra must be >= 0, got "
                             f"{self.crowded_confirm_extra}")
        if self.max_misses < 1:
            raise ValueError(f"TrackerConfig.max_misses must be >= 1, got {self.max_misses}")
        for name in (
            "max_coast_s",
            "revisit_s",
            "max_position_sigma_m",
            "max_step_s",
            "init_accel_sigma_mps2",
            "process_noise_q",
        ):
            _positive(name, getattr(self, name))
        for name in ("drag_shape_sigma", "reacquire_q", "reacquire_beta_sigma", "crowded_looks"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(
                    f"TrackerConfig.{name} must be a finite number >= 0, got {value!r}"
                )
        if self.late_tolerance_s < 0:
            raise ValueError("TrackerConfig.late_tolerance_s must be >= 0")
        for sid, rev in self.sensor_revisit_s.items():
            _positive(f"sensor_revisit_s[{sid}]", rev)


@dataclass(frozen=True)
class TrackEvent:
    """A life-cycle event: ``kind`` is "confirmed" or "deleted" (with ``reason``)."""

    kind: str
    track_id: int
    time_s: float
    reason: str = ""


@dataclass(frozen=True)
class TrackerOutput:
    """Live tracks after a ``process`` call, one row per track, plus the call's events and the
    tracker's cumulative counters.

    ``state_time_s`` is the time of each row's state and covariance (its latest update; predict
    with the track model to another time). ``status`` holds :class:`TrackStatus` codes.
    ``plot_track_id`` is aligned with the call's input plots: the id of the track that used each
    plot (an update, or the second plot of a new track), −1 for plots not used (pooled for
    initiation, rejected, or taken by a track deleted later in the same call).
    """

    time_s: float
    track_id: np.ndarray
    status: np.ndarray
    state_time_s: np.ndarray
    x: np.ndarray
    P: np.ndarray
    n_updates: np.ndarray
    first_s: np.ndarray
    confirmed_s: np.ndarray
    munition_hint: tuple[str, ...]
    plot_track_id: np.ndarray
    events: tuple[TrackEvent, ...]
    counters: Mapping[str, int]
    sensor_mask: np.ndarray | None = None
    """(N,) a bit per sensor-table row whose plots updated the track (None: not given)."""

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    @property
    def confirmed(self) -> np.ndarray:
        """(N,) True for confirmed tracks."""
        return self.status == TrackStatus.CONFIRMED


def generic_motion(
    config: TrackerConfig,
    drag: GenericDrag,
    atmosphere: Any | None = None,
    wind: Any | None = None,
) -> Ballistic:
    """The generic 7-state ballistic model every track uses."""
    return Ballistic(
        drag.curve,
        drag.area_over_mass_m2pkg,
        AirTable.build(atmosphere, wind),
        q=config.process_noise_q,
        q_beta=config.process_noise_q_beta,
        estimate_drag_scale=True,
        max_step_s=config.max_step_s,
    )


class Tracker:
    """Multi-target tracker over a fixed set of sensors (see the module docstring).

    ``motion`` overrides the generic model (any 7-state :class:`Ballistic`, for instance one
    built for a known munition); ``atmosphere`` and ``wind`` feed the generic model's air table.
    """

    def __init__(
        self,
        sensors: SensorTable | Sequence[SensorInfo],
        config: TrackerConfig | None = None,
        *,
        motion: Ballistic | None = None,
        atmosphere: Any | None = None,
        wind: Any | None = None,
    ) -> None:
        self.config = config if config is not None else TrackerConfig()
        self.sensors = (
            sensors if isinstance(sensors, SensorTable) else SensorTable.from_infos(list(sensors))
        )
        if self.sensors.sensor_ids.size > 63:
            raise ValueError("Tracker: at most 63 sensors (one bit each in the track's mask)")
        self.drag = GenericDrag.from_catalogue()
        self.motion = (
            motion
            if motion is not None
            else generic_motion(self.config, self.drag, atmosphere, wind)
        )
        if self.motion.dim != STATE_DIM:
            raise ValueError(f"Tracker: the motion model must have {STATE_DIM} states")
        self.filter = ExtendedKalmanFilter(self.motion)
        c = self.config
        self._revisit = np.array(
            [c.sensor_revisit_s.get(int(s), c.revisit_s) for s in self.sensors.sensor_ids]
        )
        self.tracks = TrackTable(STATE_DIM, uid_slots=c.confirm_hits + 1)
        self.pool = PlotPool.empty()
        self.time_s = -np.inf
        self.counters: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)
        self._events: list[TrackEvent] = []
        self._plot_track = np.zeros(0, dtype=np.int64)
        self._uid_base = 0
        self._dup_threshold = float(chi2.ppf(c.duplicate_probability, 6))
        # χ² gates by plot type (index 0: range and angles, 3 dof; 1: plus radial velocity, 4)
        self._gate_limit = chi2.ppf(c.gate_probability, [3, 4])
        self._tentative_limit = chi2.ppf(c.tentative_gate_probability, [3, 4])
        self._near_root = float(np.sqrt(max(self._gate_limit.max(), self._tentative_limit.max())))
        self._motion_args = self.motion.kernel_args()
        if self._motion_args[1].size != 1:
            raise ValueError("Tracker: the motion model must have one area-to-mass ratio")
        self._inflation = (float(c.drag_shape_sigma), float(c.reacquire_q),
                           float(c.reacquire_beta_sigma) ** 2)
        self._has_doppler = np.isfinite(self.sensors.sigma[:, meas.RADIAL_VELOCITY])

    # ---- public API -----------------------------------------------------------------------

    def process(self, plots: PlotBatch, now: float | None = None) -> TrackerOutput:
        """Process a batch of plots (sorted here by time), then advance to ``now`` if given."""
        self._events = []
        n = len(plots)
        self._plot_track = np.full(n, -1, dtype=np.int64)
        self.counters["plots_received"] += n
        if n:
            self._process_plots(plots)
        self._uid_base += n
        if now is not None and now > self.time_s:
            if len(self.tracks):
                xp, Pp = self.filter.predict(self.tracks.x, self.tracks.P, now - self.tracks.time_s)
                self._maintain(now, xp, Pp)
            self.time_s = float(now)
        return self._output()

    def step(self, now: float, plots: PlotBatch) -> TrackerOutput:
        """``process(plots, now)`` with the engine's argument order."""
        return self.process(plots, now)

    # ---- internals ------------------------------------------------------------------------

    def _process_plots(self, plots: PlotBatch) -> None:
        c = self.config
        z_all = np.column_stack(
            [plots.range_m, plots.azimuth_rad, plots.elevation_rad, plots.radial_velocity_mps]
        ).astype(float)
        t_all = np.asarray(plots.time_s, dtype=float)
        valid = np.isfinite(t_all) & np.all(np.isfinite(z_all[:, :3]), axis=1) & (z_all[:, 0] > 0)
        self.counters["rejected_invalid"] += int(np.count_nonzero(~valid))
        sid = np.asarray(plots.sensor_id)
        known = np.isin(sid, self.sensors.sensor_ids)
        self.counters["rejected_unknown_sensor"] += int(np.count_nonzero(valid & ~known))
        ok = valid & known
        late = ok & (t_all < self.time_s - c.late_tolerance_s)
        self.counters["rejected_late"] += int(np.count_nonzero(late))
        keep = np.flatnonzero(ok & ~late)
        if keep.size == 0:
            return
        srow = self.sensors.index(sid[keep])
        order = np.lexsort((srow, t_all[keep]))
        idx = keep[order]  # input rows in processing order
        t, z, srow = t_all[idx], z_all[idx], srow[order]
        # every plot's ENU position and converted covariance, once for the batch (the screen of
        # the tracks near a group and the initiation of new tracks both use them)
        p, C = meas.spherical_to_enu(
            z, SensorRows(self.sensors.position_enu[srow], self.sensors.sigma[srow])
        )
        sig = np.sqrt(np.einsum("nii->n", C))
        cut = np.flatnonzero((np.diff(t) != 0) | (np.diff(srow) != 0)) + 1
        for a, b in zip(np.r_[0, cut], np.r_[cut, t.size], strict=True):
            self._process_group(
                float(t[a]), int(srow[a]), z[a:b], idx[a:b], _Converted(p[a:b], C[a:b], sig[a:b])
            )
            self.time_s = max(self.time_s, float(t[a]))

    def _process_group(
        self, t: float, srow: int, z: np.ndarray, rows_in: np.ndarray, conv: _Converted
    ) -> None:
        m = z.shape[0]
        uid = self._uid_base + rows_in
        free = np.ones(m, dtype=bool)
        tab = self.tracks
        if len(tab):
            doppler = np.isfinite(z[:, 3]) & self._has_doppler[srow]
            gate_limit = self._gate_limit[doppler.view(np.int8)]
            tentative_limit = self._tentative_limit[doppler.view(np.int8)]
            near, xp, Pp, d2, ni, pj, contested = update_kernels.screen_predict_gate(
                tab.x, tab.P, tab.time_s, tab.status, t, np.ascontiguousarray(conv.p),
                conv.sigma_m, self._near_root, float(self.config.process_noise_q),
                *self._motion_args, np.ascontiguousarray(z), self.sensors.position_enu[srow],
                self.sensors.sigma[srow], 4 if doppler.any() else 3, doppler, gate_limit,
                tentative_limit, int(TrackStatus.CONFIRMED), tab.last_hit_s, tab.miss_interval_s,
                *self._inflation,
            )
            if contested:
                ni, pj = self._assign(tab.status[near], d2, free, gate_limit, tentative_limit)
            free[pj] = False
            c, n = self.config, len(tab)
            confirm, code = np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.int8)
            changed = update_kernels.update_and_judge(
                xp, Pp, near, ni, np.ascontiguousarray(z[pj]), self.sensors.position_enu[srow],
                self.sensors.sigma[srow], t, float(self._revisit[srow]), np.int64(1) << srow,
                uid[pj], tab.x, tab.P, tab.time_s, tab.hits, tab.nis_sum, tab.last_hit_s,
                tab.miss_interval_s, tab.sensor_mask, tab.plot_uids, tab.status, tab.first_s,
                tab.revisit_s, int(c.confirm_hits), float(c.confirm_looks), float(c.max_misses),
                float(c.max_coast_s), float(c.max_position_sigma_m), float(c.ground_height_m),
                tab.confirm_extra, confirm, code,
            )
            if ni.size:
                self._plot_track[rows_in[pj]] = tab.track_id[near[ni]]
                self.counters["plots_used"] += int(ni.size)
            if changed:
                self._apply_lifecycle(t, xp, Pp, near, confirm, code)
        if np.any(free):
            keep = np.flatnonzero(free)
            self._initiate(t, srow, conv.take(keep), rows_in[keep], uid[keep])

    @staticmethod
    def _assign(
        status: np.ndarray, d2: np.ndarray, free: np.ndarray, gate_limit: np.ndarray,
        tentative_limit: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """GNN of a contested group: confirmed tracks first, tentative ones on the plots left
        (rows of the near tracks and plot columns of the pairs; ``free`` is not changed)."""
        left = free.copy()
        chosen_t, chosen_p = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for code, limit in (
            (TrackStatus.CONFIRMED, gate_limit),
            (TrackStatus.TENTATIVE, tentative_limit),
        ):
            trk = np.flatnonzero(status == code)
            cols = np.flatnonzero(left)
            if trk.size == 0 or cols.size == 0:
                continue
            sub = d2[np.ix_(trk, cols)]
            inside = sub <= limit[cols][None, :]
            if not inside.any():
                continue
            r, k = gnn(sub, inside, limit.max())
            chosen_t.append(trk[r])
            chosen_p.append(cols[k])
            left[cols[k]] = False
        return np.concatenate(chosen_t), np.concatenate(chosen_p)

    def _maintain(
        self, t: float, x_now: np.ndarray, P_now: np.ndarray, rows: np.ndarray | None = None
    ) -> None:
        """Confirm and delete at time ``t``; ``x_now``, ``P_now`` are the tracks at ``t`` (the
        table's ``rows`` only, when given: the others are judged on time alone — missed looks,
        coasting, confirmation window — and on their predicted position at the next full
        maintenance)."""
        c = self.config
        tab = self.tracks
        n = len(tab)
        if rows is None:
            pos_sigma = np.empty(n)
            update_kernels.position_sigma(np.ascontiguousarray(P_now), pos_sigma)
            confirm, code = lifecycle_codes(
                tab,
                t,
                confirm_hits=c.confirm_hits,
                confirm_looks=c.confirm_looks,
                max_misses=c.max_misses,
                max_coast_s=c.max_coast_s,
                position_sigma_m=pos_sigma,
                height_m=np.ascontiguousarray(x_now[:, 2]),
                height_sigma_m=np.sqrt(P_now[:, 2, 2]),
                max_position_sigma_m=c.max_position_sigma_m,
                ground_height_m=c.ground_height_m,
            )
        else:
            # only the table's ``rows`` are judged on height and spread
            sig = np.empty(rows.size)
            update_kernels.position_sigma(P_now, sig)
            confirm, code = np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.int8)
            if not codes_after_group(
                tab.status, tab.first_s, tab.revisit_s, tab.hits, tab.last_hit_s,
                tab.miss_interval_s, t, int(c.confirm_hits), float(c.confirm_looks),
                float(c.max_misses), float(c.max_coast_s), rows, sig,
                np.ascontiguousarray(x_now[:, 2]), np.sqrt(P_now[:, 2, 2]),
                float(c.max_position_sigma_m), float(c.ground_height_m), tab.confirm_extra,
                confirm, code,
            ):
                return
        self._apply_lifecycle(t, x_now, P_now, rows, confirm, code)

    def _apply_lifecycle(
        self, t: float, x_now: np.ndarray, P_now: np.ndarray, rows: np.ndarray | None,
        confirm: np.ndarray, code: np.ndarray,
    ) -> None:
        """Confirm the rows ``confirm`` allows (after resolving conflicts and duplicates) and
        delete those with a reason ``code``; ``x_now``, ``P_now`` as for :meth:`_maintain`."""
        tab = self.tracks
        n = len(tab)
        new = np.flatnonzero(confirm)
        if new.size:
            if rows is not None:  # the judged rows at full size (NaN height: not judged)
                xs, Ps = x_now, P_now
                x_now = np.zeros((n, xs.shape[1]))
                P_now = np.zeros((n, *Ps.shape[1:]))
                x_now[:, 2] = np.nan
                x_now[rows], P_now[rows] = xs, Ps
            new = self._resolve_confirmations(t, new, x_now, P_now, code)
            tab.status[new] = TrackStatus.CONFIRMED
            tab.confirmed_s[new] = t
            self.counters["tracks_confirmed"] += int(new.size)
            self._events.extend(TrackEvent("confirmed", int(i), t) for i in tab.track_id[new])
        gone = np.flatnonzero(code)
        if gone.size:
            reason = reason_names(code[gone])
            for r in reason:
                self.counters[f"deleted_{r}"] += 1
            self._events.extend(
                TrackEvent("deleted", int(i), t, str(r))
                for i, r in zip(tab.track_id[gone], reason, strict=True)
            )
            tab.keep(code == 0)

    def _resolve_confirmations(
        self, t: float, new: np.ndarray, x_now: np.ndarray, P_now: np.ndarray, code: np.ndarray
    ) -> np.ndarray:
        """Rows of ``new`` that really confirm; marks conflicts and duplicates in ``code`` and
        holds back crowded ones (:meth:`_crowded`) for more plots."""
        tab = self.tracks
        new = self._hold_crowded(t, new, x_now, code)
        updates = np.maximum(tab.hits[new] - 2, 1)
        new = new[np.argsort(tab.nis_sum[new] / updates, kind="stable")]
        taken: list[int] = []
        used: set[int] = set()
        for i in new.tolist():  # best first; a handful of rows per confirmation
            uids = {u for u in tab.plot_uids[i].tolist() if u >= 0}
            if uids & used:
                code[i] = _CONFLICT
                continue
            taken.append(i)
            used |= uids
        kept = np.array(taken, dtype=np.int64)
        old = np.flatnonzero(
            (tab.status == TrackStatus.CONFIRMED) & (code == 0) & np.isfinite(x_now[:, 2])
        )
        if old.size and kept.size:
            d = x_now[kept, None, :6] - x_now[None, old, :6]
            S = P_now[kept, None, :6, :6] + P_now[None, old, :6, :6]
            d2 = np.einsum("abi,abi->ab", d, np.linalg.solve(S, d[..., None])[..., 0])
            dup = np.any(d2 < self._dup_threshold, axis=1)
            code[kept[dup]] = _DUPLICATE
            kept = kept[~dup]
        if kept.size:
            shared = np.isin(tab.plot_uids, np.array(sorted(used))) & (tab.plot_uids >= 0)
            rivals = (tab.status == TrackStatus.TENTATIVE) & shared.any(axis=1)
            rivals[kept] = False
            code[rivals & (code == 0)] = _CONFLICT
        return kept

    def _hold_crowded(
        self, t: float, new: np.ndarray, x_now: np.ndarray, code: np.ndarray
    ) -> np.ndarray:
        """``new`` less the tracks that would confirm at ``t`` among close neighbours for the
        first time: those get ``crowded_confirm_extra`` more plots and looks to confirm.

        Why: rounds spaced along a line by about their displacement per look (a parallel sheaf
        from one launcher, 0.5 s apart, seen every 0.5–2 s) let a "diagonal" track — round a at
        one look, round b at the next — fit as well as a round's own for three plots; a fourth
        tells them apart (the stitched track's apparent gravity and drag are wrong). Isolated
        rounds are not delayed. A neighbour is any other live track not sharing a plot with the
        candidate, carried to ``t`` at its own velocity, closer than ``crowded_looks`` × the
        faster of the two speeds × the candidate's look interval (the slower of its two
        sensors': a stitched track can be nearly still, the rounds it is made of are not)."""
        c = self.config
        tab = self.tracks
        held = new[tab.confirm_extra[new] == 0] if c.crowded_confirm_extra else new[:0]
        if held.size == 0 or len(tab) < 2:
            return new
        p_all = tab.x[:, :3] + tab.x[:, 3:6] * (t - tab.time_s)[:, None]
        crowded = np.zeros(held.size, dtype=bool)
        for k, i in enumerate(held.tolist()):  # a handful of rows per confirmation
            here = x_now[i, :3] if np.isfinite(x_now[i, 2]) else p_all[i]
            look = max(tab.revisit_s[i], tab.miss_interval_s[i])
            speed = np.maximum(np.linalg.norm(tab.x[:, 3:6], axis=1), np.linalg.norm(tab.x[i, 3:6]))
            reach = c.crowded_looks * speed * look
            mine = tab.plot_uids[i][tab.plot_uids[i] >= 0]
            near = (np.linalg.norm(p_all - here, axis=1) < reach) & (code == 0)
            near &= ~np.isin(tab.plot_uids, mine).any(axis=1)  # not its own rivals
            near[i] = False
            crowded[k] = near.any()
        hold = held[crowded]
        tab.confirm_extra[hold] = c.crowded_confirm_extra
        return np.setdiff1d(new, hold) if hold.size else new

    def _initiate(
        self,
        t: float,
        srow: int,
        plots: _Converted,
        rows_in: np.ndarray,
        uid: np.ndarray,
    ) -> None:
        c = self.config
        gates = c.pairing
        pool = self.pool
        if len(pool):
            fresh = pool.time_s >= t - gates.max_dt_s - c.late_tolerance_s
            if not fresh.all():
                pool.keep(fresh)
        p, C = plots.p, plots.C
        m = p.shape[0]
        pairs = pair_plots(pool, np.full(m, t), p, C, gates, ground_height_m=c.ground_height_m)
        if pairs.i.size:
            i, j = pairs.i, pairs.j
            x0, P0 = two_point_state(
                pool.time_s[i],
                pool.p[i],
                pool.C[i],
                np.full(i.size, t),
                p[j],
                C[j],
                accel_sigma_mps2=c.init_accel_sigma_mps2,
                dim=STATE_DIM,
                log_drag_scale_sigma=max(self.drag.spread, 0.3),
            )
            r1, r2 = self._revisit[pool.sensor_row[i]], self._revisit[srow]
            mask = (np.int64(1) << pool.sensor_row[i]) | (np.int64(1) << srow)
            ids = self.tracks.add(
                x0,
                P0,
                np.full(i.size, t),
                pool.time_s[i],
                np.minimum(r1, r2),
                np.maximum(r1, r2),
                mask,
                np.column_stack([pool.uid[i], uid[j]]),
            )
            self._plot_track[rows_in[j]] = ids  # the latest of several pairs is reported
            self.counters["tracks_initiated"] += int(i.size)
            left = np.ones(m, dtype=bool)
            left[j] = False
            pooled = np.ones(len(pool), dtype=bool)
            pooled[i] = False
            self.counters["plots_initiating"] += int(m - left.sum() + len(pool) - pooled.sum())
            pool.keep(pooled)
            rest = np.flatnonzero(left)
        else:
            rest = np.arange(m)
        if rest.size:
            pool.add(
                np.full(rest.size, t),
                np.full(rest.size, srow, np.int64),
                p[rest],
                C[rest],
                uid[rest],
            )
            self.counters["plots_pooled"] += int(rest.size)

    def _output(self) -> TrackerOutput:
        tab = self.tracks
        beta = tab.x[:, 6]
        beta_sigma = np.sqrt(tab.P[:, 6, 6])
        return TrackerOutput(
            time_s=float(self.time_s),
            track_id=tab.track_id.copy(),
            status=tab.status.copy(),
            state_time_s=tab.time_s.copy(),
            x=tab.x.copy(),
            P=tab.P.copy(),
            n_updates=tab.hits.copy(),
            first_s=tab.first_s.copy(),
            confirmed_s=tab.confirmed_s.copy(),
            munition_hint=tuple(self.drag.hint(beta, beta_sigma)),
            plot_track_id=self._plot_track,
            events=tuple(self._events),
            counters=dict(self.counters),
            sensor_mask=tab.sensor_mask.copy(),
        )
