"""Truth on disk: one table row per round, as Parquet or JSON Lines.

Parquet (pyarrow) is the compact, typed format for analysis tools (pandas, polars, DuckDB); JSON
Lines is for eyes, ``jq`` and languages without a Parquet reader. Both hold the same columns
(:data:`TRUTH_COLUMNS`, documented in docs/truth.md) and the same header (scenario, seed, sample
interval and the names of threats, assets, zones and populated areas): Parquet keeps it in the
schema metadata, JSON Lines in a first line of its own. Vectors are split into ``_east_m``,
``_north_m``, ``_up_m`` columns; a round's trajectory samples are a list of 6-vectors, up to its
impact. Floats round-trip exactly in both formats, so ``read_truth(write(t))`` equals ``t``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from counterram.world.truth import Truth

__all__ = ["FORMAT", "FORMAT_VERSION", "TRUTH_COLUMNS", "read_truth", "truth_table", "write_truth"]

FORMAT = "counterram-truth"
FORMAT_VERSION = 1
_PARQUET = (".parquet", ".pq")
_JSONL = (".jsonl", ".ndjson")

_AXES = ("east_m", "north_m", "up_m")
_VEL = ("east_mps", "north_mps", "up_mps")

# (column, Truth field, component or None); vectors are split per component.
_SCALARS: tuple[tuple[str, str], ...] = (
    ("round_id", "round_id"),
    ("threat_index", "threat_index"),
    ("firing_index", "firing_index"),
    ("round_in_firing", "round_in_firing"),
    ("munition", "munition"),
    ("charge", "charge"),
    ("launch_time_s", "launch_time_s"),
)
_AFTER: tuple[tuple[str, str], ...] = (
    ("range_pe_m", "range_pe_m"),
    ("deflection_pe_m", "deflection_pe_m"),
    ("azimuth_rad", "azimuth_rad"),
    ("elevation_rad", "elevation_rad"),
    ("muzzle_velocity_mps", "muzzle_velocity_mps"),
    ("impact_time_s", "impact_time_s"),
)
_VECTORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("launch", "launch_enu", _AXES),
    ("aim", "aim_enu", _AXES),
    ("aim_point", "aim_point_enu", _AXES),
    ("delivery_error", "delivery_error_m", ("range_m", "deflection_m")),
)

#: Every column of the truth table, in order.
TRUTH_COLUMNS: tuple[str, ...] = (
    *(c for c, _ in _SCALARS),
    "threat",
    *(f"{p}_{a}" for p, _, axes in _VECTORS for a in axes),
    *(c for c, _ in _AFTER),
    *(f"impact_{a}" for a in _AXES),
    *(f"impact_v_{a}" for a in _VEL),
    "apex_m",
    "aim_miss_m",
    "impact_assets",
    "impact_zones",
    "impact_populated",
    "samples",
)


def _header(truth: Truth) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "scenario": truth.scenario,
        "seed": truth.seed,
        "sample_dt_s": truth.sample_dt_s,
        "threats": list(truth.threat_names),
        "assets": list(truth.asset_names),
        "zones": list(truth.zone_names),
        "populated": list(truth.populated_names),
    }


def _flat_columns(truth: Truth) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {c: getattr(truth, f) for c, f in _SCALARS}
    cols["threat"] = truth.threat
    for prefix, field, axes in _VECTORS:
        arr = getattr(truth, field)
        for j, a in enumerate(axes):
            cols[f"{prefix}_{a}"] = arr[:, j]
    for c, f in _AFTER:
        cols[c] = getattr(truth, f)
    for j, a in enumerate(_AXES):
        cols[f"impact_{a}"] = truth.impact_enu[:, j]
    for j, a in enumerate(_VEL):
        cols[f"impact_v_{a}"] = truth.impact_velocity_mps[:, j]
    cols["apex_m"] = truth.apex_m
    cols["aim_miss_m"] = truth.aim_miss_m
    return cols


def _valid_samples(truth: Truth) -> np.ndarray:
    """The samples up to each round's impact, concatenated: (sum of sample_count, 6)."""
    k = truth.samples.shape[1]
    keep = np.arange(k)[None, :] < truth.sample_count[:, None]
    return truth.samples[keep]


def truth_table(truth: Truth) -> pa.Table:
    """The truth as a pyarrow table (columns :data:`TRUTH_COLUMNS`, header in the metadata)."""
    arrays: dict[str, pa.Array] = {
        name: pa.array(values.tolist() if values.dtype.kind == "U" else values)
        for name, values in _flat_columns(truth).items()
    }
    for col, names in (
        ("impact_assets", truth.impact_assets),
        ("impact_zones", truth.impact_zones),
        ("impact_populated", truth.impact_populated),
    ):
        arrays[col] = pa.array([list(n) for n in names], type=pa.list_(pa.string()))
    offsets = np.concatenate([[0], np.cumsum(truth.sample_count)]).astype(np.int32)
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(_valid_samples(truth).ravel()), 6)
    arrays["samples"] = pa.ListArray.from_arrays(pa.array(offsets), vectors)
    table = pa.table({c: arrays[c] for c in TRUTH_COLUMNS})
    return table.replace_schema_metadata({"counterram": json.dumps(_header(truth))})


def write_truth(truth: Truth, path: str | Path) -> Path:
    """Write ``truth`` to ``path``: Parquet for ``.parquet``/``.pq``, JSON Lines for
    ``.jsonl``/``.ndjson`` (a header line, then one line per round)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        pq.write_table(truth_table(truth), path)
    elif suffix in _JSONL:
        cols = _flat_columns(truth)
        starts = np.concatenate([[0], np.cumsum(truth.sample_count)])
        flat = _valid_samples(truth)
        names = (truth.impact_assets, truth.impact_zones, truth.impact_populated)
        with path.open("w", encoding="utf-8") as out:
            out.write(json.dumps(_header(truth), allow_nan=False) + "\n")
            for r in range(len(truth)):
                row: dict[str, Any] = {c: v[r].item() for c, v in cols.items()}
                row["impact_assets"] = list(names[0][r])
                row["impact_zones"] = list(names[1][r])
                row["impact_populated"] = list(names[2][r])
                row["samples"] = flat[starts[r] : starts[r + 1]].tolist()
                out.write(json.dumps(row, allow_nan=False) + "\n")
    else:
        raise ValueError(
            f"truth file {str(path)!r}: unknown extension {path.suffix!r} "
            f"(allowed {', '.join(_PARQUET + _JSONL)})"
        )
    return path


def read_truth(path: str | Path) -> Truth:
    """Read a truth file written by :func:`write_truth` (format chosen by the extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        table = pq.read_table(path)
        meta = table.schema.metadata or {}
        if b"counterram" not in meta:
            raise ValueError(f"{path}: not a counterram truth file (no header metadata)")
        header = json.loads(meta[b"counterram"])
        data = {c: table.column(c).to_pylist() for c in TRUTH_COLUMNS}
    elif suffix in _JSONL:
        with path.open(encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if not lines or lines[0].get("format") != FORMAT:
            raise ValueError(f"{path}: not a counterram truth file (no header line)")
        header, rows = lines[0], lines[1:]
        data = {c: [row[c] for row in rows] for c in TRUTH_COLUMNS}
    else:
        raise ValueError(
            f"truth file {str(path)!r}: unknown extension {path.suffix!r} "
            f"(allowed {', '.join(_PARQUET + _JSONL)})"
        )
    if header.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: truth format version {header.get('version')!r}, "
                         f"this reader understands {FORMAT_VERSION}")
    return _from_columns(header, data)


def _from_columns(header: dict[str, Any], data: dict[str, list]) -> Truth:
    n = len(data["round_id"])

    def f(col: str) -> np.ndarray:
        return np.asarray(data[col], dtype=float).reshape(n)

    def vec(prefix: str, axes: tuple[str, ...]) -> np.ndarray:
        return np.column_stack([f(f"{prefix}_{a}") for a in axes]) if n else np.zeros((0, 3))

    def mask(col: str, names: list[str]) -> np.ndarray:
        index = {name: j for j, name in enumerate(names)}
        out = np.zeros((n, len(names)), dtype=bool)
        for r, hits in enumerate(data[col]):
            for name in hits:
                out[r, index[name]] = True
        return out

    counts = np.array([len(s) for s in data["samples"]], dtype=np.int64)
    samples = np.full((n, int(counts.max(initial=0)), 6), np.nan)
    for r, s in enumerate(data["samples"]):
        if s:
            samples[r, : len(s)] = np.asarray(s, dtype=float)
    ints = {c: np.asarray(data[c], dtype=np.int64).reshape(n)
            for c in ("round_id", "threat_index", "firing_index", "round_in_firing")}
    err = vec("delivery_error", ("range_m", "deflection_m"))
    return Truth(
        scenario=header["scenario"],
        seed=int(header["seed"]),
        sample_dt_s=float(header["sample_dt_s"]),
        threat_names=tuple(header["threats"]),
        asset_names=tuple(header["assets"]),
        zone_names=tuple(header["zones"]),
        populated_names=tuple(header["populated"]),
        round_id=ints["round_id"],
        threat_index=ints["threat_index"],
        firing_index=ints["firing_index"],
        round_in_firing=ints["round_in_firing"],
        munition=np.asarray(data["munition"], dtype=str).reshape(n),
        charge=np.asarray(data["charge"], dtype=str).reshape(n),
        launch_time_s=f("launch_time_s"),
        launch_enu=vec("launch", _AXES),
        aim_enu=vec("aim", _AXES),
        aim_point_enu=vec("aim_point", _AXES),
        delivery_error_m=err.reshape(n, 2),
        range_pe_m=f("range_pe_m"),
        deflection_pe_m=f("deflection_pe_m"),
        azimuth_rad=f("azimuth_rad"),
        elevation_rad=f("elevation_rad"),
        muzzle_velocity_mps=f("muzzle_velocity_mps"),
        impact_time_s=f("impact_time_s"),
        impact_enu=vec("impact", _AXES),
        impact_velocity_mps=vec("impact_v", _VEL),
        apex_m=f("apex_m"),
        aim_miss_m=f("aim_miss_m"),
        sample_count=counts,
        samples=samples,
        impact_in_asset=mask("impact_assets", header["assets"]),
        impact_in_zone=mask("impact_zones", header["zones"]),
        impact_in_populated=mask("impact_populated", header["populated"]),
    )
