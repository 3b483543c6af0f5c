"""A campaign's folder on disk: finished batches as parquet parts, resumable and crash-safe.

Why it exists: a long campaign that is killed (Ctrl-C, a lost node, a full disk) must keep what
it finished and pick up where it stopped. Every finished batch of runs is written to
``parts/<hash>.parquet`` through a temporary file and :func:`os.replace` (atomic on POSIX and
Windows), so a part is either complete or absent. On start the finished (point, run) pairs are
read back from the parts and skipped; at the end the parts are consolidated, de-duplicated and
sorted into ``runs.parquet`` (again atomically). ``campaign.json`` records the scenario, the root
seed and the sweep so that a rerun into the same folder with different inputs is refused rather
than silently mixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["CampaignStore", "StoreMismatchError"]


class StoreMismatchError(ValueError):
    """The folder holds a campaign with other inputs."""


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CampaignStore:
    """The files of a campaign in folder ``root`` (created)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)

    # ---- manifest
    def check_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Write ``campaign.json``, or check that the one there has the same inputs (the run
        count may grow: more replications of the same campaign resume it)."""
        path = self.root / "campaign.json"
        fixed = {k: v for k, v in manifest.items() if k != "runs"}
        if path.exists():
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StoreMismatchError(f"{path}: unreadable campaign record: {exc}") from None
            old_fixed = {k: v for k, v in old.items() if k != "runs"}
            if old_fixed != fixed:
                diff = sorted(k for k in set(old_fixed) | set(fixed)
                              if old_fixed.get(k) != fixed.get(k))
                raise StoreMismatchError(
                    f"{self.root} holds a campaign with other inputs ({', '.join(diff)} differ); "
                    "use another --out folder or delete this one"
                )
        text = json.dumps(dict(manifest), indent=2, default=str) + "\n"
        _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    # ---- parts
    def part_files(self) -> list[Path]:
        return sorted(self.parts.glob("*.parquet"))

    def done(self) -> set[tuple[str, int]]:
        """(point_key, run) pairs already in a finished part."""
        pairs: set[tuple[str, int]] = set()
        for f in self.part_files():
            t = pq.read_table(f, columns=["point_key", "run"])
            pairs.update(zip(t.column("point_key").to_pylist(), t.column("run").to_pylist(),
                             strict=True))
        return pairs

    def write_part(self, rows: Sequence[Mapping[str, Any]]) -> Path:
        """Write one finished batch (rows of one point) atomically; returns its path."""
        ident = json.dumps(sorted((r["point_key"], r["run"]) for r in rows))
        name = hashlib.sha256(ident.encode()).hexdigest()[:16] + ".parquet"
        table = pa.Table.from_pylist([dict(r) for r in rows])
        path = self.parts / name
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp))
        return path

    # ---- consolidation
    def consolidate(
        self, runs: int | None = None, sort_by: Iterable[str] = ("point", "run")
    ) -> pa.Table:
        """All parts → ``runs.parquet`` (one row per (point, run), sorted, only runs below
        ``runs`` when given); returns the table."""
        tables = [pq.read_table(f) for f in self.part_files()]
        if not tables:
            table = pa.table({"point": pa.array([], pa.int64()), "run": pa.array([], pa.int64())})
        else:
            table = pa.concat_tables(tables, promote_options="permissive")
            if runs is not None:
                table = table.filter(pc.less(table.column("run"), runs))
            table = table.sort_by([(c, "ascending") for c in sort_by])
            keys = list(zip(table.column("point_key").to_pylist(),
                            table.column("run").to_pylist(), strict=True))
            seen: set[tuple[str, int]] = set()
            keep = []
            for i, k in enumerate(keys):
                if k not in seen:
                    seen.add(k)
                    keep.append(i)
            if len(keep) != len(keys):
                table = table.take(pa.array(keep, pa.int64()))
        _atomic_write(self.root / "runs.parquet", lambda tmp: pq.write_table(table, tmp))
        return table

    def write_json(self, name: str, data: Any) -> None:
        text = json.dumps(data, indent=2, default=str) + "\n"
        _atomic_write(self.root / name, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    def write_text(self, name: str, text: str) -> None:
        _atomic_write(self.root / name, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
