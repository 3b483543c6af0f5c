"""Cursor on Target 2.0 XML, written by hand: one ``<event>`` with its ``<point>`` and ``<detail>``.

Why it exists: the CoT sink (:mod:`counterram.sinks.cot`) writes a few thousand events a minute
and every one must be exactly what TAK servers and clients accept (taky, for one, silently
drops an event without ``how`` or without ``ce``/``le``). String formatting with a fixed
attribute order is several times faster than building an element tree, deterministic byte for
byte, and easy to check against the package's schema (``schema/cot_event.xsd``, tests).

Conventions: times are ISO 8601 UTC with milliseconds (``2024-05-01T12:00:07.500Z``);
latitude and longitude carry 8 decimals (about 1 mm); ``hae`` is metres, ``ce`` and ``le``
metres at 1σ, :data:`UNKNOWN_M` (9999999) where unknown.
"""

from __future__ import annotations

import math
import time
from html import escape

__all__ = [
    "UNKNOWN_M",
    "delete_xml",
    "ellipse_xml",
    "esc",
    "event_xml",
    "iso_utc",
    "link_point_xml",
    "private_xml",
]

UNKNOWN_M = 9999999.0
"""CoT's value for an unknown circular or linear error (metres)."""


def iso_utc(t_s: float) -> str:
    """Seconds since 1970 (UTC) as CoT's ISO 8601 text, to the millisecond."""
    ms = round(t_s * 1000.0)
    sec, msec = divmod(ms, 1000)
    tm = time.gmtime(sec)
    return (f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:"
            f"{tm.tm_min:02d}:{tm.tm_sec:02d}.{msec:03d}Z")


_SPECIAL = frozenset("&<>\"'")


def esc(text: object) -> str:
    """Text safe inside an attribute value or an element (``& < > " '`` escaped)."""
    text = str(text)
    return escape(text, quote=True) if not _SPECIAL.isdisjoint(text) else text


def _error(value: float) -> str:
    """A ce/le value: finite and ≥ 0, else unknown."""
    if value is None or not math.isfinite(value) or value < 0.0:
        value = UNKNOWN_M
    return f"{min(value, UNKNOWN_M):.1f}"


def event_xml(
    *,
    uid: str,
    cot_type: str,
    how: str,
    time_s: float,
    stale_s: float,
    lat: float,
    lon: float,
    hae: float = 0.0,
    ce: float = UNKNOWN_M,
    le: float = UNKNOWN_M,
    detail: str = "",
    opex: str = "",
) -> str:
    """One CoT event (``time`` = ``start`` = ``time_s``; ``uid`` and ``detail`` as given:
    ``uid`` escaped here, ``detail`` already XML)."""
    t = iso_utc(time_s)
    stale = iso_utc(max(stale_s, time_s))
    opex_attr = f' opex="{esc(opex)}"' if opex else ""
    hae_text = f"{hae:.2f}" if math.isfinite(hae) else "0.00"
    return (
        f'<event version="2.0" uid="{esc(uid)}" type="{cot_type}" how="{how}" time="{t}" '
        f'start="{t}" stale="{stale}"{opex_attr}>'
        f'<point lat="{lat:.8f}" lon="{lon:.8f}" hae="{hae_text}" ce="{_error(ce)}" '
        f'le="{_error(le)}"/>'
        f"<detail>{detail}</detail></event>"
    )


def delete_xml(*, uid: str, target_uid: str, target_type: str, time_s: float,
               opex: str = "") -> str:
    """A ``t-x-d-d`` event removing ``target_uid`` from every map (ATAK's form: a link to the
    target and ``__forcedelete``)."""
    detail = (f'<link uid="{esc(target_uid)}" relation="none" type="{target_type}"/>'
              "<__forcedelete/>")
    return event_xml(uid=uid, cot_type="t-x-d-d", how="h-c", time_s=time_s,
                     stale_s=time_s + 20.0, lat=0.0, lon=0.0, detail=detail, opex=opex)


def ellipse_xml(major_m: float, minor_m: float, angle_deg: float) -> str:
    """``<shape><ellipse>``: semi-axes in metres, ``angle`` the major axis's compass
    azimuth in degrees."""
    return (f'<shape><ellipse major="{major_m:.2f}" minor="{minor_m:.2f}" '
            f'angle="{angle_deg:.2f}"/></shape>')


def link_point_xml(lat: float, lon: float) -> str:
    """One vertex of a ``u-d-f`` drawing."""
    return f'<link point="{lat:.8f},{lon:.8f}"/>'


def private_xml(**attrs: object) -> str:
    """``<__counterram .../>``: where the event came from (kind, time, ids), for consumers
    that want to tie a CoT event back to the event log; TAK clients ignore it."""
    body = " ".join(f'{k}="{esc(v)}"' for k, v in attrs.items())
    return f"<__counterram {body}/>"
