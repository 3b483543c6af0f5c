"""Build step: Leaflet for the web operator view, from the npm registry, into the package.

Why here: the web view (``counterram serve``) draws its map with Leaflet and must never load it
from a CDN at run time (the machines it runs on are often offline). ``npm pack leaflet@1.9.4``
fetches the published tarball (npm checks its integrity); its ``dist/`` files and licence are
unpacked into ``src/counterram/web/static/vendor/leaflet/``, which is git-ignored and shipped as
package data. Standard library only: this runs inside the build, before anything is installed.
A failure never fails the install: the web view then says what is missing and how to get it.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

LEAFLET = "leaflet@1.9.4"
FILES = ("leaflet.js", "leaflet.css", "LICENSE")
"""What the web view needs; ``images/`` comes along for the layer control's icons."""


def present(dest: Path) -> bool:
    """Whether ``dest`` already holds a usable Leaflet."""
    return all((dest / name).is_file() for name in FILES)


def fetch_leaflet(dest: Path, *, npm: str = "npm") -> str | None:
    """Unpack Leaflet's ``dist/`` into ``dest`` unless it is there; None on success, else why
    not (in words)."""
    if present(dest):
        return None
    exe = shutil.which(npm)
    if exe is None:
        return "npm is not installed (Node.js's package manager is needed to fetch Leaflet)"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            done = subprocess.run(
                [exe, "pack", LEAFLET, "--silent", "--pack-destination", tmp],
                capture_output=True, text=True, timeout=300, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"npm pack {LEAFLET} failed: {exc}"
        tarballs = sorted(Path(tmp).glob("leaflet-*.tgz"))
        if done.returncode != 0 or not tarballs:
            return f"npm pack {LEAFLET} failed: {(done.stderr or done.stdout).strip()[:500]}"
        staging = Path(tmp) / "unpacked"
        staging.mkdir()
        with tarfile.open(tarballs[0]) as tar:
            wanted = [m for m in tar.getmembers() if m.isfile() and (
                m.name in ("package/LICENSE", "package/dist/leaflet.js",
                           "package/dist/leaflet.css")
                or (m.name.startswith("package/dist/images/") and m.name.endswith(".png")))]
            for m in wanted:
                rel = Path(m.name).relative_to("package/dist" if m.name.startswith(
                    "package/dist/") else "package")
                if ".." in rel.parts:
                    continue
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                if src is not None:
                    target.write_bytes(src.read())
        if not present(staging):
            return f"the {LEAFLET} tarball lacks {', '.join(FILES)}"
        dest.mkdir(parents=True, exist_ok=True)
        for item in staging.rglob("*"):
            if item.is_file():
                out = dest / item.relative_to(staging)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(item, out)
    return None
