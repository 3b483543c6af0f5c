"""The run report's figures: site maps, side view, timeline and warning times, as PNG bytes.

The report must open offline and be byte-identical for the same run, so every figure is drawn
with matplotlib's Agg renderer on a bare :class:`matplotlib.figure.Figure` (no pyplot, no global
backend switch, safe in threads), under the default style plus fixed settings (the user's
matplotlibrc does not leak in), and saved as PNG with the ``Software`` metadata removed (Agg
writes no timestamp). ``svg.hashsalt`` is fixed too, in case a figure is ever saved as SVG.

Geometry is in site-frame metres and drawn in kilometres east/north of the scenario origin.
Error ellipses are drawn from the event's covariance at the event's ellipse probability: for a
2-D Gaussian the squared Mahalanobis distance is χ² with 2 degrees of freedom, so the p-ellipse
has semi-axes √(−2 ln(1 − p) · λ) along the covariance's eigenvectors.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import matplotlib.cm
import matplotlib.style
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse as EllipsePatch
from matplotlib.patches import Patch
from matplotlib.patches import Polygon as PolygonPatch

from counterram.events import Ellipse, ImpactPredicted

if TYPE_CHECKING:
    from counterram.scenario.resolved import ResolvedScenario
    from counterram.sinks.analysis import RunAnalysis
    from counterram.world.truth import Truth

__all__ = [
    "DPI",
    "district_map",
    "ellipse_axes",
    "png_bytes",
    "png_data_uri",
    "render_figures",
    "side_view",
    "site_map",
    "timeline",
    "warning_times",
]

#: Resolution of every figure (a 10 in wide figure is 1000 px).
DPI = 100

# Fixed settings on top of matplotlib's defaults (the same picture whatever the user's rc).
_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.hashsalt": "counterram",
    "path.simplify": True,
    "savefig.facecolor": "white",
}

# Colours: outcome of a round, asset kinds, map layers.
LANDED = "#c0392b"
LANDED_OPEN = "#e59866"
KILLED = "#1e8449"
_ASSET_COLOURS = {
    "embassy": "#2e86c1", "housing": "#8e44ad", "hospital": "#e74c3c", "airfield": "#7f8c8d",
    "base": "#566573", "school": "#f1c40f", "market": "#d35400", "government": "#16a085",
    "utility": "#34495e", "other": "#95a5a6",
}
_ZONE = "#1f618d"
_SENSOR = "#154360"
_GUN = "#0b5345"
_PRED = "#7d3c98"
_ORIGIN = "#935116"
_INTERCEPT_PLAN = "#ca6f1e"
_DEBRIS = "#515a5a"
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


@contextmanager
def _style() -> Iterator[None]:
    with mpl.style.context("default"), mpl.rc_context(_RC):
        yield


def png_bytes(fig: Figure) -> bytes:
    """``fig`` as PNG, deterministic (no software/date metadata)."""
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# ------------------------------------------------------------------------------------- helpers
def ellipse_axes(
    covariance_m2: Any, ellipse: Ellipse | None, default_probability: float = 0.9
) -> tuple[float, float, float, float] | None:
    """(semi-major m, semi-minor m, major-axis angle in degrees counter-clockwise from east,
    probability) of an estimate's error ellipse, or None if neither the covariance nor the
    ellipse is usable.

    The covariance at the ellipse's probability wins; a covariance that is not finite and
    positive falls back to the ellipse's own axes (its orientation is a compass azimuth, so the
    angle from east is 90° − azimuth).
    """
    p = default_probability
    if ellipse is not None and 0.0 < _f(ellipse.probability) < 1.0:
        p = float(ellipse.probability)
    k2 = -2.0 * math.log1p(-p)
    try:
        cov = np.asarray(covariance_m2, dtype=float).reshape(2, 2)
    except (TypeError, ValueError):
        cov = np.full((2, 2), np.nan)
    if np.all(np.isfinite(cov)):
        cov = 0.5 * (cov + cov.T)
        w, v = np.linalg.eigh(cov)
        if w[1] > 0.0:
            angle = math.degrees(math.atan2(v[1, 1], v[0, 1]))
            return (math.sqrt(k2 * w[1]), math.sqrt(k2 * max(w[0], 0.0)), angle, p)
    if ellipse is not None and _f(ellipse.semi_major_m) > 0.0:
        minor = _f(ellipse.semi_minor_m)
        return (float(ellipse.semi_major_m), minor if math.isfinite(minor) else 0.0,
                90.0 - _f(ellipse.orientation_deg, 0.0), p)
    return None


def _f(value: Any, default: float = math.nan) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return default
    return f if math.isfinite(f) else default


def _km(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float) / 1000.0


def _ground_paths(truth: Truth, a: RunAnalysis, stride_s: float = 0.25) -> list[np.ndarray]:
    """Per round, its true (K, 3) path from launch to impact or kill (samples every
    ``stride_s``; the straight launch → end line when the truth has no samples)."""
    paths = []
    dt = truth.sample_dt_s
    step = max(1, round(stride_s / dt)) if dt > 0 else 1
    for r in range(len(truth)):
        end_pos = a.kill_enu[r] if a.intercepted[r] else truth.impact_enu[r]
        count = int(truth.sample_count[r]) if truth.samples.shape[1] else 0
        if count and dt > 0:
            pts = truth.samples[r, :count:step, :3]
            if a.intercepted[r]:
                keep = truth.launch_time_s[r] + np.arange(count)[::step] * dt <= a.kill_time_s[r]
                pts = pts[keep]
            path = np.vstack([pts, end_pos[None, :]]) if np.all(np.isfinite(end_pos)) else pts
        else:
            path = np.vstack([truth.launch_enu[r], end_pos])
        paths.append(path[np.all(np.isfinite(path), axis=1)])
    return paths


def _outcome_colours(truth: Truth, a: RunAnalysis) -> list[str]:
    hit_asset = truth.impact_in_asset.any(axis=1) if truth.impact_in_asset.size else (
        np.zeros(len(truth), dtype=bool)
    )
    return [KILLED if a.intercepted[r] else (LANDED if hit_asset[r] else LANDED_OPEN)
            for r in range(len(truth))]


_MAX_ZONE_LABELS = 40
"""More warning zones than this are a city's districts: drawn finely, named only where they are
an asset's zone, and left out of the defended district's frame."""


def _poly_patch(polygon: Any, **kw: Any) -> PolygonPatch:
    return PolygonPatch(_km(np.asarray(polygon.exterior.coords)[:, :2]), closed=True, **kw)


def _bounds(points: Sequence[np.ndarray], pad: float = 0.06, min_span_m: float = 500.0
            ) -> tuple[float, float, float, float] | None:
    pts = np.vstack([np.asarray(p, dtype=float).reshape(-1, 2) for p in points]) if points else (
        np.zeros((0, 2))
    )
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if pts.size == 0:
        return None
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, min_span_m)
    mid = 0.5 * (lo + hi)
    half = 0.5 * span * (1.0 + 2.0 * pad)
    return (mid[0] - half[0], mid[0] + half[0], mid[1] - half[1], mid[1] + half[1])


def _area_points(areas: Sequence[Any]) -> list[np.ndarray]:
    return [np.asarray(x.polygon.exterior.coords)[:, :2] for x in areas]


# ------------------------------------------------------------------------------------- site map
def _zone_label_point(zone: Any, assets: Any) -> tuple[float, float, str]:
    """Where a zone's name goes: inside the zone away from asset labels, or just above the zone
    when it is little more than an asset's outline."""
    free = zone.difference(assets)
    if not free.is_empty and free.area > 0.2 * zone.area:
        p = free.representative_point()
        return p.x, p.y, "center"
    x0, _, x1, y1 = zone.bounds
    return 0.5 * (x0 + x1), y1, "bottom"


def _draw_map(ax: Axes, fig: Figure, world: ResolvedScenario, truth: Truth, a: RunAnalysis,
              *, labels: bool) -> list[Any]:
    """Every layer of the site map on ``ax``; returns the legend handles of what was drawn."""
    handles: list[Any] = []
    # Populated areas, shaded by density.
    pops = world.populated
    if pops:
        dens = np.array([p.density_per_m2 * 1e6 for p in pops])
        # Greys, the densest area mid-grey: people are the background, assets stand out in colour.
        norm = Normalize(vmin=0.0, vmax=max(float(dens.max()), 1.0))
        cmap = ListedColormap(mpl.colormaps["Greys"](np.linspace(0.03, 0.6, 256)))
        for p, d in zip(pops, dens, strict=True):
            ax.add_patch(_poly_patch(p.area.polygon, facecolor=cmap(norm(d)), alpha=0.6,
                                     edgecolor="none", zorder=1))
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, shrink=0.6, pad=0.01, label="population density, people/km²")
    # Warning zones (outlines) and defended assets (filled by kind).
    assets_union = shapely.union_all([x.area.polygon.buffer(150.0) for x in world.assets])
    many = len(world.zones) > _MAX_ZONE_LABELS
    # one collection for all outlines: a city's thousands of districts draw in one call
    ax.add_collection(PolyCollection(
        [_km(np.asarray(z.area.polygon.exterior.coords)[:, :2]) for z in world.zones],
        facecolors="none", edgecolors=_ZONE, linestyles=":" if many else "--",
        linewidths=0.4 if many else 1.0, zorder=3))
    if labels:
        for z in world.zones:
            if many and z.asset is None:
                continue  # a city's districts go unnamed; the zones of assets keep their names
            x, y, va = _zone_label_point(z.area.polygon, assets_union)
            ax.text(x / 1000, y / 1000, z.name, fontsize=7, color=_ZONE, style="italic",
                    ha="center", va=va, zorder=8, path_effects=_HALO, clip_on=True)
    if world.zones:
        handles.append(Line2D([], [], color=_ZONE, linestyle="--", label="warning zone"))
    kinds_seen: list[str] = []
    for asset in world.assets:
        colour = _ASSET_COLOURS.get(asset.kind, _ASSET_COLOURS["other"])
        ax.add_patch(_poly_patch(asset.area.polygon, facecolor=colour, alpha=0.55,
                                 edgecolor="black", linewidth=0.8, zorder=4))
        c = asset.area.polygon.centroid
        ax.text(c.x / 1000, c.y / 1000, asset.name, fontsize=8, fontweight="bold", ha="center",
                va="center", zorder=9, path_effects=_HALO, clip_on=True)
        if asset.kind not in kinds_seen:
            kinds_seen.append(asset.kind)
            handles.append(Patch(facecolor=colour, alpha=0.55, edgecolor="black",
                                 label=f"asset: {asset.kind}"))
    # True flights: ground tracks, launch points, impacts.
    n = len(truth)
    if n:
        colours = _outcome_colours(truth, a)
        paths = _ground_paths(truth, a)
        segs = [_km(p[:, :2]) for p in paths if len(p) >= 2]
        cols = [c for p, c in zip(paths, colours, strict=True) if len(p) >= 2]
        ax.add_collection(LineCollection(segs, colors=cols, linewidths=0.8, alpha=0.7, zorder=5))
        launch = _km(truth.launch_enu[:, :2])
        ax.scatter(launch[:, 0], launch[:, 1], marker="^", s=28, c="black", zorder=7)
        handles.append(Line2D([], [], marker="^", color="black", linestyle="none",
                              label="launch point (true)"))
        imp = _km(truth.impact_enu[:, :2])
        landed = ~a.intercepted
        if landed.any():
            ax.scatter(imp[landed, 0], imp[landed, 1], s=22,
                       c=[colours[r] for r in np.flatnonzero(landed)],
                       edgecolors="black", linewidths=0.5, zorder=7)
            handles.append(Line2D([], [], marker="o", color=LANDED, markeredgecolor="black",
                                  linestyle="none", label="impact (true)"))
        if a.intercepted.any():
            ax.scatter(imp[~landed, 0], imp[~landed, 1], s=22, facecolors="none",
                       edgecolors=KILLED, linewidths=0.9, zorder=7)
            handles.append(Line2D([], [], marker="o", color=KILLED, markerfacecolor="none",
                                  linestyle="none", label="would-be impact (intercepted)"))
        handles.append(Line2D([], [], color=LANDED, label="flight, landed"))
        if a.intercepted.any():
            handles.append(Line2D([], [], color=KILLED, label="flight, intercepted"))
    # Estimates: impact and origin ellipses (last per track).
    for events, colour, label in (
        (a.impact_predictions, _PRED, "predicted impact (ellipse)"),
        (a.origin_estimates, _ORIGIN, "estimated origin (ellipse)"),
    ):
        drawn = False
        for e in events:
            centre = e.impact_en if isinstance(e, ImpactPredicted) else e.origin_en
            cx, cy = _f(centre[0]), _f(centre[1])
            if not (math.isfinite(cx) and math.isfinite(cy)):
                continue
            ax.plot(cx / 1000, cy / 1000, marker="+", color=colour, markersize=7, zorder=8)
            axes_ = ellipse_axes(e.covariance_m2, e.ellipse)
            if axes_ is not None:
                major, minor, angle, _ = axes_
                ax.add_patch(EllipsePatch((cx / 1000, cy / 1000), 2 * major / 1000,
                                          2 * minor / 1000, angle=angle, fill=False,
                                          edgecolor=colour, linewidth=1.1, zorder=8))
            drawn = True
        if drawn:
            handles.append(Line2D([], [], marker="+", color=colour, linestyle="none",
                                  markersize=8, label=label))
    # Engagements: planned intercept points, true kill points, debris.
    plan = np.array([[_f(v) for v in e.intercept_enu[:2]] for e in a.engagements]).reshape(-1, 2)
    plan = plan[np.all(np.isfinite(plan), axis=1)]
    if plan.size:
        ax.scatter(*_km(plan).T, marker="*", s=60, facecolors="none", edgecolors=_INTERCEPT_PLAN,
                   zorder=9)
        handles.append(Line2D([], [], marker="*", color=_INTERCEPT_PLAN, markerfacecolor="none",
                              linestyle="none", markersize=9, label="ordered intercept point"))
    kills = a.kill_enu[a.intercepted][:, :2]
    kills = kills[np.all(np.isfinite(kills), axis=1)]
    if kills.size:
        ax.scatter(*_km(kills).T, marker="*", s=90, c=KILLED, edgecolors="black", linewidths=0.4,
                   zorder=10)
        handles.append(Line2D([], [], marker="*", color=KILLED, markeredgecolor="black",
                              linestyle="none", markersize=10, label="intercept (true)"))
    debris = np.array([[_f(v) for v in o.debris_enu[:2]] for o in a.outcomes]).reshape(-1, 2)
    debris = debris[np.all(np.isfinite(debris), axis=1)]
    if debris.size:
        ax.scatter(*_km(debris).T, marker="x", s=18, c=_DEBRIS, linewidths=0.8, zorder=9)
        handles.append(Line2D([], [], marker="x", color=_DEBRIS, linestyle="none",
                              label="debris / interceptor fall"))
    # Sensors and guns.
    for items, marker, colour, label in (
        (world.sensors, "D", _SENSOR, "radar"),
        (world.effectors, "s", _GUN, "gun"),
    ):
        if not items:
            continue
        xy = _km(np.array([s.position_m[:2] for s in items]))
        ax.scatter(xy[:, 0], xy[:, 1], marker=marker, s=30, c=colour, edgecolors="white",
                   linewidths=0.6, zorder=11)
        handles.append(Line2D([], [], marker=marker, color=colour, linestyle="none", label=label))
        if labels:
            for s, (x, y) in zip(items, xy, strict=True):
                ax.annotate(s.name, (x, y), xytext=(4, 4), textcoords="offset points",
                            fontsize=7, color=colour, zorder=12, path_effects=_HALO,
                            annotation_clip=True)
    ax.set_xlabel("east of origin, km")
    ax.set_ylabel("north of origin, km")
    ax.set_aspect("equal", adjustable="box")
    return handles


def _map_figure(world: ResolvedScenario, truth: Truth, a: RunAnalysis,
                box: tuple[float, float, float, float], title: str, labels: bool) -> Figure:
    # Height from the box's aspect (a ~9 in wide map, plus title, labels and legend), so the
    # equal-aspect axes fill the figure.
    ratio = (box[3] - box[2]) / max(box[1] - box[0], 1e-9)
    fig = Figure(figsize=(11.0, float(np.clip(9.0 * ratio, 4.0, 11.0)) + 2.2),
                 layout="constrained")
    ax = fig.add_subplot()
    handles = _draw_map(ax, fig, world, truth, a, labels=labels)
    ax.set_xlim(box[0] / 1000, box[1] / 1000)
    ax.set_ylim(box[2] / 1000, box[3] / 1000)
    ax.set_title(title)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8,
                   frameon=False)
    return fig


def site_map(world: ResolvedScenario, truth: Truth, a: RunAnalysis) -> Figure:
    """The whole site: every area, launch point, flight, impact, estimate and engagement."""
    pts: list[np.ndarray] = [
        *_area_points([x.area for x in (*world.assets, *world.zones, *world.populated)]),
        truth.launch_enu[:, :2], truth.impact_enu[:, :2],
        *(s.position_m[:2] for s in (*world.sensors, *world.effectors)),
        *(np.asarray(e.origin_en, dtype=float) for e in a.origin_estimates),
    ]
    box = _bounds(pts) or (-1000.0, 1000.0, -1000.0, 1000.0)
    return _map_figure(world, truth, a, box, "Site map: true flights, estimates, engagements",
                       labels=False)


def district_map(world: ResolvedScenario, truth: Truth, a: RunAnalysis) -> Figure | None:
    """The defended district (assets and warning zones, 300 m around them), labelled; where
    the zones tile a whole city, the assets and their own zones."""
    zones = world.zones
    if len(zones) > _MAX_ZONE_LABELS:
        zones = tuple(z for z in zones if z.asset is not None)
    pts = _area_points([x.area for x in (*world.assets, *zones)])
    if not pts:
        return None
    lo = np.vstack(pts).min(axis=0) - 300.0
    hi = np.vstack(pts).max(axis=0) + 300.0
    box = _bounds([lo, hi], pad=0.0)
    if box is None:
        return None
    return _map_figure(world, truth, a, box, "Defended district", labels=True)


# ------------------------------------------------------------------------------------ side view
def side_view(truth: Truth, a: RunAnalysis) -> Figure | None:
    """Height against ground distance from the launch point, true flights, with intercepts."""
    if len(truth) == 0 or truth.samples.shape[1] == 0:
        return None
    paths = _ground_paths(truth, a, stride_s=0.1)
    colours = _outcome_colours(truth, a)
    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    segs, cols = [], []
    for r, p in enumerate(paths):
        if len(p) < 2:
            continue
        dist = np.hypot(*(p[:, :2] - truth.launch_enu[r, :2]).T)
        segs.append(np.column_stack([dist / 1000, p[:, 2]]))
        cols.append(colours[r])
    ax.add_collection(LineCollection(segs, colors=cols, linewidths=0.9, alpha=0.8))
    handles: list[Any] = [Line2D([], [], color=LANDED, label="landed on an asset"),
                          Line2D([], [], color=LANDED_OPEN, label="landed elsewhere")]
    hit = np.flatnonzero(a.intercepted & np.all(np.isfinite(a.kill_enu), axis=1))
    if hit.size:
        d = np.hypot(*(a.kill_enu[hit, :2] - truth.launch_enu[hit, :2]).T)
        ax.scatter(d / 1000, a.kill_enu[hit, 2], marker="*", s=110, c=KILLED, edgecolors="black",
                   linewidths=0.4, zorder=5)
        for x, z in zip(d / 1000, a.kill_enu[hit, 2], strict=True):
            ax.annotate(f"{z:.0f} m", (x, z), xytext=(5, 3), textcoords="offset points",
                        fontsize=7, color=KILLED)
        handles += [Line2D([], [], color=KILLED, label="intercepted"),
                    Line2D([], [], marker="*", color=KILLED, markeredgecolor="black",
                           linestyle="none", markersize=10, label="intercept (true)")]
    plan = _planned_intercepts(truth, a)
    if plan.size:
        ax.scatter(plan[:, 0] / 1000, plan[:, 1], marker="*", s=70, facecolors="none",
                   edgecolors=_INTERCEPT_PLAN, zorder=4)
        handles.append(Line2D([], [], marker="*", color=_INTERCEPT_PLAN, markerfacecolor="none",
                              linestyle="none", markersize=9, label="ordered intercept point"))
    ax.autoscale_view()
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.set_xlim(left=0.0)
    ax.set_xlabel("ground distance from launch point, km")
    ax.set_ylabel("height above origin, m")
    ax.set_title("Side view: true trajectories")
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    return fig


def _planned_intercepts(truth: Truth, a: RunAnalysis) -> np.ndarray:
    """(N, 2) ground distance from the engaged round's launch point and height of each ordered
    intercept whose track matched a round."""
    rows = []
    for e in a.engagements:
        r = a.track_round.get(int(e.track_id), -1)
        p = np.array([_f(v) for v in e.intercept_enu], dtype=float)
        if r >= 0 and np.all(np.isfinite(p)):
            rows.append((float(np.hypot(*(p[:2] - truth.launch_enu[r, :2]))), float(p[2])))
    return np.array(rows, dtype=float).reshape(-1, 2)


# ------------------------------------------------------------------------------------- timeline
def timeline(truth: Truth, a: RunAnalysis) -> Figure | None:
    """One bar per round, launch to impact or kill, with detection, warning and engagement."""
    n = len(truth)
    if n == 0:
        return None
    fig = Figure(figsize=(11.0, min(2.0 + 0.28 * n, 60.0)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(n)
    colours = _outcome_colours(truth, a)
    ax.hlines(y, truth.launch_time_s, a.end_time_s, colors=colours, linewidth=5, alpha=0.85)
    marks = (
        (a.first_detection_s, "v", "#2874a6", "first track"),
        (a.warned_s, "D", "#d4ac0d", "zone warned"),
        (a.engaged_s, "s", _INTERCEPT_PLAN, "engaged (first burst)"),
    )
    handles: list[Any] = [
        Line2D([], [], color=LANDED, linewidth=5, label="flight → impact on asset"),
        Line2D([], [], color=LANDED_OPEN, linewidth=5, label="flight → impact"),
        Line2D([], [], color=KILLED, linewidth=5, label="flight → intercept"),
    ]
    for t, marker, colour, label in marks:
        ok = np.isfinite(t)
        if ok.any():
            ax.scatter(t[ok], y[ok], marker=marker, s=30, c=colour, edgecolors="black",
                       linewidths=0.4, zorder=5)
            handles.append(Line2D([], [], marker=marker, color=colour, markeredgecolor="black",
                                  linestyle="none", label=label))
    kill = a.intercepted
    if kill.any():
        ax.scatter(a.end_time_s[kill], y[kill], marker="*", s=90, c=KILLED, edgecolors="black",
                   linewidths=0.4, zorder=6)
        handles.append(Line2D([], [], marker="*", color=KILLED, markeredgecolor="black",
                              linestyle="none", markersize=10, label="intercepted"))
    if (~kill).any():
        ax.scatter(a.end_time_s[~kill], y[~kill], marker="o", s=26,
                   c=[colours[r] for r in np.flatnonzero(~kill)], edgecolors="black",
                   linewidths=0.4, zorder=6)
        handles.append(Line2D([], [], marker="o", color=LANDED, markeredgecolor="black",
                              linestyle="none", label="impact"))
    if n <= 120:
        ax.set_yticks(y, [f"{int(truth.round_id[r])} {truth.munition[r]}" for r in range(n)],
                      fontsize=7)
    ax.set_ylim(n - 0.5, -0.5)
    t0 = float(np.nanmin(truth.launch_time_s))
    t1 = float(np.nanmax(a.end_time_s))
    pad = max(0.02 * (t1 - t0), 2.0)
    ax.set_xlim(t0 - pad, t1 + pad)
    ax.grid(axis="y", alpha=0.15)
    ax.set_xlabel("scenario time, s")
    ax.set_title("Per-round timeline")
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig


# ------------------------------------------------------------------------------- warning times
def warning_times(truth: Truth, a: RunAnalysis) -> Figure | None:
    """Per round falling in a warning zone: the warning it got and the time physically available
    (first track to impact or kill)."""
    rows = np.flatnonzero(a.in_zone)
    if rows.size == 0:
        return None
    m = rows.size
    fig = Figure(figsize=(11.0, min(2.2 + 0.28 * m, 40.0)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(m)
    avail = a.available_s[rows]
    warn = a.warning_time_s[rows]
    ok_a, ok_w = np.isfinite(avail), np.isfinite(warn)
    ax.barh(y[ok_a], avail[ok_a], height=0.75, color="#d5d8dc", edgecolor="#909497",
            label="available (first track → impact)")
    ax.barh(y[ok_w], warn[ok_w], height=0.4, color="#d4ac0d", edgecolor="black",
            linewidth=0.4, label="warning time (warning → impact)")
    missed = ~ok_w
    if missed.any():
        ax.scatter(np.zeros(int(missed.sum())), y[missed], marker="X", s=60, c=LANDED, zorder=5,
                   label="not warned before impact")
    if ok_w.any():
        med = float(np.median(warn[ok_w]))
        ax.axvline(med, color="black", linestyle="--", linewidth=1.0,
                   label=f"median warning {med:.1f} s")
    ax.set_yticks(y, [f"{int(truth.round_id[r])} {truth.munition[r]}"
                      + (" (intercepted)" if a.intercepted[r] else "") for r in rows], fontsize=7)
    ax.set_ylim(m - 0.5, -0.5)
    top = np.nanmax(np.concatenate([avail[ok_a], warn[ok_w], [1.0]]))
    ax.set_xlim(-0.03 * top - 1.0, 1.05 * top)
    ax.grid(axis="y", alpha=0.15)
    ax.set_xlabel("seconds before impact (or intercept)")
    ax.set_title("Warning time of rounds falling in warning zones")
    fig.legend(loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig


# --------------------------------------------------------------------------------------- all
def render_figures(world: ResolvedScenario, truth: Truth, a: RunAnalysis) -> dict[str, str | None]:
    """Every report figure as a PNG data URI (None where there is nothing to draw)."""
    out: dict[str, str | None] = {}
    with _style():
        makers = (
            ("site_map", lambda: site_map(world, truth, a)),
            ("district_map", lambda: district_map(world, truth, a)),
            ("side_view", lambda: side_view(truth, a)),
            ("timeline", lambda: timeline(truth, a)),
            ("warning_times", lambda: warning_times(truth, a)),
        )
        for name, make in makers:
            fig = make()
            out[name] = None if fig is None else png_data_uri(png_bytes(fig))
    return out

