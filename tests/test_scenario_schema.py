"""Scenario schema, built-in scenarios, round trips and the site-frame view."""

from __future__ import annotations

import json
import math

import numpy as np
import pydantic
import pytest

from counterram.geo import Site
from counterram.physics.catalogue import load_catalogue
from counterram.scenario import (
    DEFAULT_SCENARIO,
    EnuPoint,
    GeoPoint,
    Scenario,
    builtin_names,
    builtin_text,
    dump_scenario,
    load_scenario,
    load_text,
    validate_file,
)
from counterram.scenario.resolved import resolve

BUILTINS = builtin_names()


def test_builtins_are_listed_default_first() -> None:
    assert BUILTINS[0] == DEFAULT_SCENARIO == "baghdad-embassy"
    assert set(BUILTINS) == {"baghdad-embassy", "baghdad-city", "fob-mortar", "grad-salvo"}
    with pytest.raises(KeyError, match="fob-mortar"):
        builtin_text("no-such-scenario")


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_validates_and_round_trips(name: str) -> None:
    assert validate_file(name) == []
    scenario = load_scenario(name)
    text = dump_scenario(scenario)
    again = load_text(text, "dumped")
    assert again == scenario
    assert dump_scenario(again) == text  # the dump is a fixed point
    # The original file (with comments and flow style) parses to the same model as its dump.
    assert load_text(builtin_text(name), name) == scenario


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_threats_exist_in_catalogue_and_names_are_unique(name: str) -> None:
    scenario = load_scenario(name)
    catalogue = load_catalogue()
    for threat in scenario.threats:
        assert catalogue.get(threat.munition).kind != "interceptor"
    for collection in ("defended_assets", "warning_zones", "sensors", "effectors", "threats"):
        names = [item.name for item in getattr(scenario, collection)]
        assert len(names) == len(set(names)), collection


def test_baghdad_embassy_is_the_documented_mix() -> None:
    sc = load_scenario()
    assert sc.name == "baghdad-embassy"
    assert "illustrative" in sc.description.lower()
    assert 15 <= sc.total_rounds <= 30
    kinds = {load_catalogue().get(t.munition).name for t in sc.threats}
    assert {"107mm-rocket", "81mm-mortar", "120mm-mortar"} <= kinds
    assert {a.kind for a in sc.defended_assets} >= {"embassy", "housing", "hospital", "government"}
    assert sorted(s.type for s in sc.sensors) == ["fcr", "fcr", "lcmr", "wlr"]
    assert len(sc.effectors) == 2
    assert max(p.density_per_km2 for p in sc.populated_areas) >= 10_000
    # Rockets and mortars are launched 3-8 km from the embassy.
    world = resolve(sc)
    embassy = next(a for a in world.assets if a.name == "embassy").area
    for threat in world.threats:
        launch = threat.launch_point_m[:2] if threat.launch_point_m is not None else (
            threat.launch_area.center_m)
        d = math.dist(launch, embassy.center_m)
        assert 3_000 <= d <= 8_000, threat.name


def test_grad_salvo_is_forty_rounds_in_twenty_seconds() -> None:
    sc = load_scenario("grad-salvo")
    (salvo,) = sc.threats
    assert salvo.rounds == 40
    assert (salvo.rounds - 1) * salvo.salvo_interval_s <= 20.0
    centre = resolve(sc).threats[0].launch_area.center_m
    assert 15_000 <= math.hypot(*centre) <= 20_000


def test_json_schema_is_valid_json_with_resolvable_refs() -> None:
    schema = Scenario.model_json_schema()
    text = json.dumps(schema)
    parsed = json.loads(text)
    assert parsed["type"] == "object"
    assert {"name", "origin", "duration_s"} <= set(parsed["required"])
    assert parsed["additionalProperties"] is False
    defs = parsed["$defs"]

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    all_refs = refs(parsed)
    assert all_refs
    for ref in all_refs:
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs


def test_models_are_frozen_and_positions_are_told_apart_by_keys() -> None:
    sc = load_scenario("fob-mortar")
    with pytest.raises(pydantic.ValidationError):
        sc.name = "other"  # type: ignore[misc]
    assert isinstance(sc.sensors[0].position, EnuPoint)
    baghdad = load_scenario("baghdad-embassy")
    assert isinstance(baghdad.threats[0].aim_point, GeoPoint)


def test_resolved_positions_in_the_site_frame() -> None:
    sc = load_scenario("baghdad-embassy")
    world = resolve(sc)
    site = Site(33.30, 44.39, 34.0)
    assert world.site == site
    # Geodetic aim point → site frame agrees with geo.Site; ENU points pass through unchanged.
    rockets = world.threats[0]
    e, n, _ = site.to_site(33.2989, 44.3967)
    np.testing.assert_allclose(rockets.aim_point_m, [e, n, 0.0], atol=1e-9)
    # Rough check against a spherical Earth (R = 6371 km): within 1 % (ellipsoid vs sphere).
    assert rockets.aim_point_m[0] == pytest.approx(
        math.radians(0.0067) * 6.371e6 * math.cos(math.radians(33.3)), rel=0.01)
    assert rockets.aim_point_m[1] == pytest.approx(math.radians(-0.0011) * 6.371e6, rel=0.01)
    gun = world.effectors[0]
    np.testing.assert_array_equal(gun.position_m, [500.0, 350.0, 3.0])
    # The aim point lies inside the embassy polygon, which is about 0.7 x 0.6 km.
    embassy = world.assets[0].area
    assert embassy.contains(*rockets.aim_point_m[:2])
    assert embassy.area_m2 == pytest.approx(0.7e6 * 0.6e6 / 1e6, rel=0.05)
    # Asset-based zones grow the asset by buffer_m: a rectangle a×b grows to
    # ab + 2(a+b)·w + πw² (rounded corners).
    zone = world.zones[0].area
    a, b, w = 700.0, 600.0, 50.0
    assert zone.area_m2 == pytest.approx(a * b + 2 * (a + b) * w + math.pi * w**2, rel=0.05)
    assert world.populated[1].density_per_m2 == pytest.approx(0.015)


def test_resolved_atmosphere_and_wind() -> None:
    world = resolve(load_scenario("baghdad-embassy"))
    atmosphere = world.atmosphere()
    assert atmosphere.site_altitude_m == 34.0
    assert atmosphere.temperature_offset_k == 5.0
    wind = world.wind()
    np.testing.assert_allclose(np.asarray(wind.at(0.0))[..., :2], [1.5, -2.0])
    np.testing.assert_allclose(np.asarray(wind.at(500.0))[..., :2], [2.75, -4.0])  # linear
    fob = resolve(load_scenario("fob-mortar")).wind()
    np.testing.assert_allclose(np.asarray(fob.at(2000.0))[..., :2], [3.0, 1.0])


def test_area_sampling_is_uniform_and_inside() -> None:
    world = resolve(load_scenario("fob-mortar"))
    rng = np.random.default_rng(5)
    n = 20_000
    # Circle (living area, r = 150 m): P(r < R/2) = 1/4; binomial σ = sqrt(pq/n) = 0.0031,
    # so 4σ = 0.0122.
    circle = world.assets[1].area
    pts = circle.sample(rng, n)
    assert pts.shape == (n, 2)
    r = np.hypot(*(pts - circle.center_m).T)
    assert r.max() <= circle.radius_m
    assert abs(np.mean(r < circle.radius_m / 2) - 0.25) < 0.0122
    # Polygon (base, 1200 x 800 m rectangle): every point inside; the mean lands on the centroid
    # within 4σ, σ = width/sqrt(12 n) = 1200/sqrt(240000) ≈ 2.45 m → 10 m.
    base = world.assets[0].area
    pts = base.sample(rng, n)
    assert pts.shape == (n, 2)
    assert base.contains(pts[:, 0], pts[:, 1]).all()
    np.testing.assert_allclose(pts.mean(axis=0), base.center_m, atol=10.0)
    # Vectorised containment.
    inside = base.contains(np.array([0.0, 700.0, -599.0]), np.array([0.0, 0.0, 399.0]))
    np.testing.assert_array_equal(inside, [True, False, True])


def test_sampling_is_reproducible_with_a_seed() -> None:
    area = resolve(load_scenario("baghdad-embassy")).threats[0].launch_area
    a = area.sample(np.random.default_rng(9), 50)
    b = area.sample(np.random.default_rng(9), 50)
    np.testing.assert_array_equal(a, b)


def test_documented_example_is_valid() -> None:
    # docs/scenarios.md's complete example must stay a valid scenario.
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    match = re.search(r"## A complete example\n\n```yaml\n(.*?)```", doc, re.S)
    assert match is not None
    scenario = load_text(match.group(1), "docs/scenarios.md")
    assert scenario.total_rounds == 3 * 2 + 1
