"""Warning at city scale: generated district tilings, and the warner's sparse, lazy zone
probabilities giving exactly the records of the full probability matrix."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from counterram.prediction.impact import GroundPrediction
from counterram.scenario import ScenarioError, load_scenario, load_text
from counterram.scenario.districts import district_names, district_polygons
from counterram.scenario.resolved import resolve
from counterram.warning.warner import Warner, WarnerSettings
from counterram.warning.zones import WarningZones


@pytest.mark.parametrize("layout", ["grid", "voronoi"])
def test_districts_tile_the_square_without_gaps_or_overlaps(layout: str) -> None:
    polys = district_polygons((1000.0, -2000.0), 6000.0, 12, layout, seed=3)
    assert len(polys) == 144
    square = shapely.box(-2000.0, -5000.0, 4000.0, 1000.0)
    areas = shapely.area(np.asarray(polys, dtype=object))
    # the pieces' areas add up to the square's, and so does their union: no gap, no overlap
    assert areas.sum() == pytest.approx(square.area, rel=1e-9)
    assert shapely.union_all(polys).symmetric_difference(square).area < 1e-6 * square.area
    cell = (6000.0 / 12) ** 2
    if layout == "grid":
        assert np.allclose(areas, cell)
    else:  # jittered Voronoi cells: irregular, nearly equal
        assert areas.std() > 0.05 * cell
        assert 0.3 * cell < areas.min() and areas.max() < 2.0 * cell
    # row-major from the south-west: the first cell holds the south-west corner region
    assert polys[0].contains(shapely.Point(-1990.0, -4990.0))
    assert polys[-1].contains(shapely.Point(3990.0, 990.0))


def test_districts_are_deterministic_and_named_in_order() -> None:
    a = district_polygons((0.0, 0.0), 3000.0, 5, seed=11)
    b = district_polygons((0.0, 0.0), 3000.0, 5, seed=11)
    c = district_polygons((0.0, 0.0), 3000.0, 5, seed=12)
    assert all(p.equals(q) for p, q in zip(a, b, strict=True))
    assert not all(p.equals(q) for p, q in zip(a, c, strict=True))
    assert district_names("d", 5)[:2] == ("d-0001", "d-0002")
    assert district_names("d", 100)[-1] == "d-10000"


def test_city_scenario_has_three_thousand_zones() -> None:
    world = resolve(load_scenario("baghdad-city"))
    names = [z.name for z in world.zones]
    assert len(names) == 2 + 55 * 55 == len(set(names))
    assert names[:2] == ["embassy-compound", "hospital"]
    # the districts tile 30 km x 30 km around the site
    union = shapely.union_all([z.area.polygon for z in world.zones[2:]])
    assert union.area == pytest.approx(30_000.0**2, rel=1e-9)


BASE = """
name: districts
origin: {latitude_deg: 33.3, longitude_deg: 44.39}
duration_s: 60
warning_zones:
  - name: ZONE
    circle: {center: {east_m: 0, north_m: 0}, radius_m: 100}
warning_districts: {extent_m: 2000, cells_per_side: 3, prefix: PREFIX}
"""


def test_a_zone_named_like_a_generated_district_is_refused() -> None:
    with pytest.raises(ScenarioError) as err:
        load_text(BASE.replace("ZONE", "city-0004").replace("PREFIX", "city"), "f.yaml")
    text = str(err.value)
    assert "warning_zones.0.name" in text and "city-0004" in text and "generated" in text
    ok = load_text(BASE.replace("ZONE", "city-0010").replace("PREFIX", "city"), "f.yaml")
    assert len(resolve(ok).zones) == 10


def test_bad_district_fields_name_the_field() -> None:
    bad = BASE.replace("ZONE", "z").replace("PREFIX", "city").replace("cells_per_side: 3",
                                                                       "cells_per_side: 0")
    with pytest.raises(ScenarioError, match=r"warning_districts\.cells_per_side"):
        load_text(bad, "f.yaml")
    bad = BASE.replace("ZONE", "z").replace("PREFIX", "a b")
    with pytest.raises(ScenarioError, match=r"warning_districts\.prefix"):
        load_text(bad, "f.yaml")


# ------------------------------------------------------------------ sparse and lazy probabilities
CITY = WarningZones(district_names("d", 20), district_polygons((0.0, 0.0), 8000.0, 20, seed=5))


def _predictions(rng: np.random.Generator, n: int, t: float) -> GroundPrediction:
    mean = rng.normal(0.0, 1500.0, (n, 2))
    major = np.exp(rng.uniform(np.log(5.0), np.log(2500.0), n))
    minor = major * rng.uniform(0.2, 1.0, n)
    angle = rng.uniform(0, np.pi, n)
    c, s = np.cos(angle), np.sin(angle)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    cov = rot @ (np.eye(2) * np.stack([major, minor], -1)[:, None, :] ** 2) @ np.swapaxes(rot, 1, 2)
    ti = t + rng.uniform(5.0, 40.0, n)
    cov_ent = np.zeros((n, 3, 3))
    cov_ent[:, :2, :2] = cov
    cov_ent[:, 2, 2] = 0.09
    return GroundPrediction(mean, cov, ti, np.full(n, 0.3), cov_ent, np.ones(n, bool),
                            np.zeros(n, bool), ("x",) * n)


def test_pairs_that_can_reach_the_floor_are_all_weighed_exactly() -> None:
    rng = np.random.default_rng(4)
    g = _predictions(rng, 60, 0.0)
    dense = CITY.probabilities(g.mean_en, g.cov_en)
    for floor in (1e-3, 1e-2, 0.1):
        rows, cols, p = CITY.pair_probabilities(g.mean_en, g.cov_en, floor=floor)
        assert np.array_equal(p, dense[rows, cols])  # the same numbers, not approximations
        got = set(zip(rows.tolist(), cols.tolist(), strict=True))
        need = set(zip(*np.nonzero(dense >= floor), strict=True))
        assert need <= got  # none that reaches the floor is left out
        assert len(got) < 0.5 * np.count_nonzero(dense)  # and most of the rest is
    pairs = np.column_stack(np.nonzero(dense > 0))
    bound = CITY.mass_bounds(g.mean_en, g.cov_en, pairs)
    assert np.all(bound >= dense[pairs[:, 0], pairs[:, 1]] - 1e-14)  # rounding of the masses


@pytest.mark.parametrize("release", [0.0, 0.002])
def test_lazy_warner_records_equal_the_full_matrix_warners(release: float) -> None:
    """Tracks come and go over 40 steps; each step a random subset is re-predicted (wide
    predictions shrinking, means drifting). The warner that weighs only what it needs and one
    fed the whole probability matrix emit the same records, field for field."""
    settings = WarnerSettings(threshold=0.01, release_threshold=release, release_hold_s=1.0)
    lazy, full = Warner(CITY, settings), Warner(CITY, settings)
    rng = np.random.default_rng(9)
    base = _predictions(rng, 40, 0.0)
    records = 0
    for k in range(1, 41):
        t = 0.5 * k
        live = np.flatnonzero((np.arange(40) < k) & (np.arange(40) > k - 25))
        fed = live[rng.random(live.size) < 0.7]
        if fed.size == 0:
            assert lazy.advance(t) == full.advance(t)
            continue
        shrink = max(0.05, 1.0 - 0.04 * k)
        g = GroundPrediction(
            base.mean_en[fed] + rng.normal(0, 30.0 * shrink, (fed.size, 2)),
            base.cov_en[fed] * shrink**2, base.time_s[fed], base.time_sigma_s[fed],
            base.cov_ent[fed], base.valid[fed], base.coarse[fed], ("x",) * fed.size,
        )
        confirmed = fed % 3 != 0
        ids = [int(i) for i in fed]
        a = lazy.update(t, ids, g, confirmed=confirmed)
        b = full.update(t, ids, g, probabilities=CITY.probabilities(g.mean_en, g.cov_en),
                        confirmed=confirmed)
        assert a == b
        records += len(a)
        if k % 10 == 0:
            ended = [int(i) for i in live[:3]]
            assert lazy.end_tracks(t, ended, neutralised=True) == full.end_tracks(
                t, ended, neutralised=True)
        assert lazy.warned_zones == full.warned_zones
    assert records > 100  # the comparison saw issues, updates and all-clears
