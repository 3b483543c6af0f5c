"""Leaflet for the web view: fetched by the build step (never at run time), and a clear page
when it is missing. The build step is exercised with a stand-in ``npm`` that packs a tarball
as the registry's is laid out, so the test needs no network."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from counterram.scenario import load_scenario
from counterram.web import app as web_app
from counterram.web.modes import replay_view

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "build_support"))
from leaflet_fetch import FILES, fetch_leaflet, present

with warnings.catch_warnings():  # starlette's TestClient over httpx: deprecated, still fine
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FAKE_NPM = """#!{python}
import io, sys, tarfile
from pathlib import Path
dest = Path(sys.argv[sys.argv.index("--pack-destination") + 1])
with tarfile.open(dest / "leaflet-1.9.4.tgz", "w:gz") as tar:
    for name, text in [("package/LICENSE", "BSD-2-Clause"),
                       ("package/dist/leaflet.js", "window.L = {{}};"),
                       ("package/dist/leaflet.css", ".leaflet-container {{}}"),
                       ("package/dist/leaflet.js.map", "{{}}"),
                       ("package/dist/leaflet-src.js", "// source"),
                       ("package/dist/images/layers.png", "png"),
                       ("package/dist/images/../../../escape.png", "no")]:
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
print("leaflet-1.9.4.tgz")
"""


def test_the_build_step_unpacks_what_the_page_needs(tmp_path):
    npm = tmp_path / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable))
    npm.chmod(0o755)
    dest = tmp_path / "pkg" / "vendor" / "leaflet"
    assert fetch_leaflet(dest, npm=str(npm)) is None
    assert present(dest)
    assert sorted(p.name for p in dest.iterdir()) == sorted([*FILES, "images"])
    assert (dest / "images" / "layers.png").is_file()
    assert not list(tmp_path.rglob("escape.png"))
    # already there: nothing is fetched again (no npm needed)
    assert fetch_leaflet(dest, npm=str(tmp_path / "no-such-npm")) is None


def test_the_build_step_says_why_it_could_not_fetch(tmp_path):
    why = fetch_leaflet(tmp_path / "leaflet", npm=str(tmp_path / "no-such-npm"))
    assert why is not None and "npm is not installed" in why
    failing = tmp_path / "npm"
    failing.write_text("#!/bin/sh\necho 'network unreachable' >&2\nexit 1\n")
    failing.chmod(0o755)
    why = fetch_leaflet(tmp_path / "leaflet", npm=str(failing))
    assert why is not None and "network unreachable" in why
    assert not (tmp_path / "leaflet").exists()


def test_a_missing_leaflet_is_a_page_saying_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(web_app, "LEAFLET_DIR", tmp_path / "none")
    view = replay_view([{"kind": "all_clear", "time_s": 1.0, "zone": "x"}],
                       load_scenario("baghdad-embassy"), paused=True)
    client = TestClient(web_app.create_app(view.hub, view.site, view.controls, "t"))
    r = client.get("/")
    assert r.status_code == 503
    assert "Leaflet is missing" in r.text and "npm" in r.text and "reinstall" in r.text
    assert client.get("/api/site").status_code == 200  # the rest still answers


@pytest.mark.skipif(not web_app.LEAFLET_DIR.joinpath("leaflet.js").is_file(),
                    reason="Leaflet not fetched at install (npm missing)")
def test_the_installed_page_loads_leaflet_from_the_package():
    view = replay_view([{"kind": "all_clear", "time_s": 1.0, "zone": "x"}],
                       load_scenario("baghdad-embassy"), paused=True)
    client = TestClient(web_app.create_app(view.hub, view.site, view.controls, "t"))
    page = client.get("/")
    assert page.status_code == 200
    assert "/static/vendor/leaflet/leaflet.js" in page.text
    assert "http" not in page.text.split("<body>")[1].split("</body>")[0]  # nothing remote
    js = client.get("/static/vendor/leaflet/leaflet.js")
    assert js.status_code == 200 and "Leaflet" in js.text[:400]
    assert len(js.content) > 100_000
