"""report.html of a campaign: metric distributions and metric-versus-parameter plots.

Why it exists: a quick look at a campaign without a notebook. One self-contained HTML file
(matplotlib figures embedded as base64 PNG, no external references) so it can be mailed or
archived next to runs.parquet.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["render_report"]

_HIST = ("warning_time_s_median", "poi_cep_m", "poo_cep_m", "expected_casualties",
         "leakers_on_assets", "rounds_fired")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return '<img src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode() + '">'


def render_report(
    rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Any], sweep_paths: Sequence[str]
) -> str:
    """The HTML text of the report from runs.parquet rows and the campaign summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = [f"<h1>Campaign: {html.escape(str(summary.get('scenario')))}</h1>",
             f"<p>{summary.get('runs_per_point')} runs per point, {len(summary['points'])} "
             f"point(s), root seed {summary.get('root_seed')}.</p>"]
    # table of proportions per point
    head = "".join(f"<th>{html.escape(p)}</th>" for p in sweep_paths)
    columns = (("leak_rate", "leak rate"), ("intercept_success", "intercept success"),
               ("warned_in_time_share", "warned in time"),
               ("engageable_share", "asset rounds engageable"),
               ("engaged_share_of_engageable", "engaged ÷ engageable"),
               ("success_ratio_engaged", "killed ÷ engaged rounds"),
               ("rounds_per_kill", "rounds per kill"))
    parts.append("<table border=1 cellpadding=3><tr>" + head + "".join(
        f"<th>{html.escape(label)}</th>" for _, label in columns) + "<th>defects</th></tr>")
    for pt in summary["points"]:
        cells = "".join(f"<td>{html.escape(str(pt['sweep'].get(p)))}</td>" for p in sweep_paths)
        for name, _ in columns:
            a = pt.get(name) or {"estimate": None}
            digits = ".0f" if name == "rounds_per_kill" else ".3f"
            cells += ("<td>—</td>" if a["estimate"] is None else
                      f"<td>{a['estimate']:{digits}} [{a['low']:{digits}}, "
                      f"{a['high']:{digits}}]</td>")
        counts = pt.get("engagement_counts") or {}
        cells += f"<td>{counts.get('engageable_not_engaged', '—')}</td>"
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</table>")
    parts.append("<p>Defects: rounds on defended assets that some gun could have engaged and "
                 "none did, pooled over the point's runs.</p>")

    parts.append("<h2>Distributions over runs</h2>")
    fig, axes = plt.subplots(2, 3, figsize=(12, 6))
    points = sorted({int(r["point"]) for r in rows})
    for ax, name in zip(axes.flat, _HIST, strict=True):
        for p in points:
            v = np.array([r.get(name) for r in rows if r["point"] == p and r.get(name) is not None],
                         dtype=float)
            if v.size:
                ax.hist(v, bins=20, alpha=0.5, label=f"point {p}")
        ax.set_title(name)
    if 1 < len(points) <= 8:
        for ax in axes.flat:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
                break
    parts.append(_png(fig))

    for path in sweep_paths:
        parts.append(f"<h2>Metrics versus {html.escape(path)}</h2>")
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
        labels = [str(pt["sweep"][path]) for pt in summary["points"]]
        x = np.arange(len(labels))
        for ax, name in zip(axes, ("leak_rate", "intercept_success", "warning_time_s_median"),
                            strict=True):
            key = "estimate" if name in summary["points"][0] and "estimate" in summary[
                "points"][0][name] else "median"
            est = [pt[name][key] for pt in summary["points"]]
            lo = [pt[name]["low"] for pt in summary["points"]]
            hi = [pt[name]["high"] for pt in summary["points"]]
            ok = [e is not None for e in est]
            xs = x[ok]
            e = np.array([v for v, k in zip(est, ok, strict=True) if k], dtype=float)
            yerr = np.array([[max(0.0, v - lv), max(0.0, hv - v)]
                             for v, lv, hv, k in zip(est, lo, hi, ok, strict=True) if k]).T
            if xs.size:
                ax.errorbar(xs, e, yerr=yerr, fmt="o", capsize=4)
            ax.set_xticks(x, labels, rotation=30, fontsize=7)
            ax.set_title(name + " (95 % CI)")
        parts.append(_png(fig))
    body = "\n".join(parts)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>counterram campaign"
            f"</title></head><body style='font-family:sans-serif'>{body}</body></html>\n")
