"""A plan's report: objective against trial, the Pareto front, the chosen site beside the original.

Why it exists: an analyst must see at a glance whether the search converged, what it traded and
where it puts the guns, and judge the confirmation. The figures are PNG files in ``figures/``
(for slides and documents) and the same images embedded in one self-contained ``report.html``
(no external references, like the campaign's report).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from counterram.scenario import Scenario
from counterram.sinks.figures import png_bytes, png_data_uri

__all__ = ["write_report"]

_LABELS = {"leak_rate": "leak rate onto assets", "expected_casualties": "expected casualties",
           "rounds_fired": "interceptor rounds fired"}


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    data = png_bytes(fig)
    plt.close(fig)
    return data


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _progress_figure(table: Sequence[Mapping[str, Any]], name: str, reference: float) -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.array([r["trial"] for r in table])
    y = np.array([r[name] for r in table], dtype=float)
    ax.plot(x, y, "o", ms=4, color="tab:blue", label="trial")
    if y.size:
        ax.step(x, np.minimum.accumulate(y), where="post", color="tab:green", label="best so far")
    ax.axhline(reference, color="grey", ls="--", label="original site (same seeds)")
    ax.set_xlabel("trial")
    ax.set_ylabel(_label(name))
    ax.set_title(f"{_label(name)} by trial (plan seeds)")
    ax.legend(fontsize=8)
    return fig


def _front_figure(table: Sequence[Mapping[str, Any]], front: Sequence[Mapping[str, Any]],
                  objectives: Sequence[str], reference: Mapping[str, float]) -> Any:
    import matplotlib.pyplot as plt

    a, b = objectives[0], objectives[1]
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.plot([r[a] for r in table], [r[b] for r in table], "o", color="0.7", ms=4, label="trial")
    pts = sorted((r[a], r[b]) for r in front)
    if pts:
        ax.plot(*zip(*pts, strict=True), "o-", color="tab:red", ms=5, label="Pareto front")
    ax.plot([reference[a]], [reference[b]], "s", color="black", label="original site")
    ax.set_xlabel(_label(a))
    ax.set_ylabel(_label(b))
    ax.set_title("trade-off (plan seeds)")
    ax.legend(fontsize=8)
    return fig


def _draw_site(ax: Any, scenario: Scenario, title: str, highlight: Sequence[str]) -> None:
    from matplotlib.patches import Polygon as PolygonPatch
    from matplotlib.patches import Wedge

    from counterram.scenario.resolved import resolve

    world = resolve(scenario)
    for p in world.populated:
        ax.add_patch(PolygonPatch(np.asarray(p.area.vertices_m) / 1e3, closed=True,
                                  fc="0.93", ec="0.8", lw=0.5))
    for z in world.zones:
        ax.add_patch(PolygonPatch(np.asarray(z.area.vertices_m) / 1e3, closed=True, fill=False,
                                  ec="tab:orange", lw=0.6, ls=":"))
    for name in highlight:
        for group in (world.assets, world.zones, world.populated):
            for item in group:
                if item.name == name:
                    ax.add_patch(PolygonPatch(np.asarray(item.area.vertices_m) / 1e3,
                                              closed=True, fill=False, ec="tab:purple", lw=1.4))
    for a in world.assets:
        ax.add_patch(PolygonPatch(np.asarray(a.area.vertices_m) / 1e3, closed=True,
                                  fc="tab:blue", alpha=0.35, ec="tab:blue"))
    # threat axes: a line from the compound's centre towards each launch point or area
    named = {i.name: i.area for g in (world.populated, world.zones, world.assets) for i in g}
    first = next((named[n] for n in highlight if n in named), None)
    if first is None and world.assets:
        first = world.assets[0].area
    centre = np.zeros(2) if first is None else np.asarray(first.center_m[:2], dtype=float)
    for t in world.threats:
        src = t.launch_point_m[:2] if t.launch_point_m is not None else t.launch_area.center_m
        d = np.asarray(src[:2]) - centre
        d = d / max(np.hypot(*d), 1e-9) * 2.6
        ax.annotate("", xy=centre / 1e3, xytext=centre / 1e3 + d,
                    arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 0.8})
    for g in world.effectors:
        e, n = g.position_m[0] / 1e3, g.position_m[1] / 1e3
        spec = g.spec
        lim = float(getattr(spec, "azimuth_limit_deg", 180.0))
        head = float(getattr(spec, "heading_deg", 0.0))
        rng = float(getattr(spec, "max_range_m", 2000.0)) / 1e3
        # compass bearing → matplotlib angle (counter-clockwise from east)
        t1, t2 = 90.0 - (head + lim), 90.0 - (head - lim)
        ax.add_patch(Wedge((e, n), rng, t1, t2, fc="tab:green", alpha=0.12, ec="tab:green",
                           lw=0.6))
        ax.plot([e], [n], "^", color="darkgreen", ms=8)
        ax.annotate(g.name, (e, n), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.plot([e, e + 0.4 * math.sin(math.radians(head))],
                [n, n + 0.4 * math.cos(math.radians(head))], color="darkgreen", lw=1.5)
    for s in world.sensors:
        ax.plot([s.position_m[0] / 1e3], [s.position_m[1] / 1e3], "s", color="black", ms=3)
    ax.set_xlim(centre[0] / 1e3 - 3.0, centre[0] / 1e3 + 3.0)
    ax.set_ylim(centre[1] / 1e3 - 3.0, centre[1] / 1e3 + 3.0)
    ax.set_aspect("equal")
    ax.set_xlabel("east, km")
    ax.set_ylabel("north, km")
    ax.set_title(title, fontsize=9)


def _site_figure(original: Scenario, best: Scenario, highlight: Sequence[str]) -> Any:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.4))
    _draw_site(axes[0], original, "original site", highlight)
    _draw_site(axes[1], best, "planned site (best.yaml)", highlight)
    fig.text(0.5, 0.01, "green: gun, its azimuth travel and maximum range; red: threat axes; "
             "purple: the area the guns must stay in", ha="center", fontsize=8)
    return fig


def _interval(a: Mapping[str, Any] | None, digits: str = ".3f") -> str:
    if not a or a.get("estimate", a.get("median")) is None:
        return "—"
    v = a.get("estimate", a.get("median"))
    return f"{v:{digits}} [{a['low']:{digits}}, {a['high']:{digits}}]"


def _confirmation_html(c: Mapping[str, Any]) -> str:
    rows = []
    for label in ("original", "best"):
        r = c[label]
        lr = r["leak_rate"]
        rows.append(f"<tr><td>{label}</td><td>{_interval(lr)}</td>"
                    f"<td>{lr.get('successes')} / {lr.get('trials')}</td>"
                    f"<td>{_interval(r['expected_casualties'], '.2f')}</td>"
                    f"<td>{_interval(r['engageable_share'])}</td></tr>")
    d = c["paired_leak_difference"]
    verdict = ("the best site's leak rate is lower and the 95 % intervals do not overlap"
               if c.get("best_lower_apart") else
               "the 95 % intervals overlap: on these runs the planned site is not shown to be "
               "better than the original")
    return (f"<h2>Confirmation on fresh seeds</h2><p>{c['runs']} runs per site, root seed "
            f"{c['root_seed']} (the plan used other seeds); 95 % intervals: Wilson for the leak "
            "rate, bootstrap for the median casualties.</p>"
            "<table border=1 cellpadding=3><tr><th>site</th><th>leak rate onto assets</th>"
            "<th>leakers / rounds on assets</th><th>expected casualties (median)</th>"
            "<th>asset rounds engageable</th></tr>" + "".join(rows) + "</table>"
            f"<p>Paired by seed, best − original leak rate: {_interval(d)} "
            f"({d.get('runs')} runs).</p><p><b>{html.escape(verdict)}.</b></p>")


def write_report(out: Path, original: Scenario, best: Scenario, space: Any,
                 table: Sequence[Mapping[str, Any]], front: Sequence[Mapping[str, Any]],
                 summary: Mapping[str, Any]) -> None:
    """Write ``figures/*.png`` and ``report.html`` into ``out``."""
    import matplotlib

    matplotlib.use("Agg")

    figs = out / "figures"
    figs.mkdir(exist_ok=True)
    objectives = list(summary["objectives"])
    reference = summary["original"]["objectives"]
    images: list[tuple[str, bytes]] = []
    for name in objectives:
        images.append((f"trials-{name}.png", _png(_progress_figure(table, name,
                                                                        reference[name]))))
    if len(objectives) > 1:
        images.append(("pareto.png", _png(_front_figure(table, front, objectives,
                                                             reference))))
    highlight = sorted({c.area for c in space.constraints})
    images.append(("site.png", _png(_site_figure(original, best, highlight))))
    for name, data in images:
        (figs / name).write_bytes(data)
    best_row = summary["best"]
    changes = "".join(
        f"<tr><td>{html.escape(p)}</td><td>{html.escape(str(space.value_in_base(p)))}</td>"
        f"<td>{html.escape(str(v))}</td></tr>" for p, v in best_row["applied"].items())
    parts = [
        f"<h1>Site plan: {html.escape(str(summary['scenario']))}</h1>",
        f"<p>{summary['trials']} trials of {summary['runs_per_trial']} runs each on common "
        f"seeds (root seed {summary['root_seed']}); objectives: "
        f"{html.escape(', '.join(_label(o) for o in objectives))} (minimised). Best: trial "
        f"{best_row['trial']}, " + ", ".join(f"{_label(o)} {best_row[o]:.3g}" for o in objectives)
        + " against the original's " + ", ".join(f"{reference[o]:.3g}" for o in objectives)
        + " on the same seeds.</p>",
        "<table border=1 cellpadding=3><tr><th>field</th><th>original</th><th>best</th></tr>"
        + changes + "</table>",
    ]
    if "confirmation" in summary:
        parts.append(_confirmation_html(summary["confirmation"]))
    for name, data in images:
        parts.append(f"<h2>{html.escape(name[:-4])}</h2><img src=\"{png_data_uri(data)}\">")
    body = "\n".join(parts)
    (out / "report.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>counterram site plan</title>"
        f"</head><body style='font-family:sans-serif'>{body}</body></html>\n", encoding="utf-8")
