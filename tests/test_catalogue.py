"""Tests of the munition catalogue: data provenance, drag tables, lookups, errors, the command."""

from __future__ import annotations

import itertools
import json
import math
from importlib import resources
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from counterram.physics.catalogue import (
    CONFIDENCE_MARKS,
    Catalogue,
    CatalogueError,
    UnknownChargeError,
    UnknownMunitionError,
    load_catalogue,
    parse_catalogue,
)

REQUIRED = {"107mm-rocket", "122mm-9m22u", "60mm-mortar", "81mm-mortar", "120mm-mortar",
            "155mm-he", "20mm-sd"}  # fmt: skip
SCALARS = ("mass_kg", "burnout_mass_kg", "diameter_m", "length_m", "burn_time_s", "thrust_n",
           "launch_tube_m", "max_range_m", "min_range_m", "elevation_min_deg",
           "elevation_max_deg", "range_pe_m", "deflection_pe_m", "rcs_m2", "lethal_radius_m",
           "defeat_given_hit", "self_destruct_s", "dud_rate")  # fmt: skip


def packaged_text() -> str:
    return resources.files("counterram").joinpath("data", "munitions.yaml").read_text("utf-8")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _sourced_nodes(node, path=""):
    """Every mapping in the raw YAML that holds a ``value`` (a sourced physical value)."""
    if isinstance(node, dict):
        if "value" in node or "cd" in node:
            yield path, node
        for key, child in node.items():
            if key not in ("value", "mach", "cd"):
                yield from _sourced_nodes(child, f"{path}.{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _sourced_nodes(child, f"{path}[{i}]")


def test_required_munitions_present(catalogue: Catalogue) -> None:
    assert set(catalogue.names()) >= REQUIRED
    kinds = {m.name: m.kind for m in catalogue}
    assert kinds["20mm-sd"] == "interceptor"
    assert kinds["107mm-rocket"] == kinds["122mm-9m22u"] == "rocket"
    assert kinds["155mm-he"] == "artillery"


def test_every_value_in_the_file_has_a_source_and_a_valid_mark() -> None:
    raw = yaml.safe_load(packaged_text())
    nodes = list(_sourced_nodes(raw["munitions"], "munitions"))
    assert len(nodes) > 100  # seven munitions of ~15 sourced values each
    for path, node in nodes:
        assert isinstance(node.get("source"), str) and len(node["source"]) >= 3, path
        assert node.get("confidence") in CONFIDENCE_MARKS, path


def test_every_physical_field_of_every_munition_has_provenance(catalogue: Catalogue) -> None:
    for m in catalogue:
        for field in SCALARS:
            value = getattr(m, field)
            if value is not None and field in m.sources:
                assert m.provenance(field).confidence in CONFIDENCE_MARKS
        # values that are always physical must always be sourced
        for field in ("mass_kg", "diameter_m", "max_range_m", "elevation_min_deg",
                      "elevation_max_deg", "range_pe_m", "deflection_pe_m", "rcs_m2"):  # fmt: skip
            assert field in m.sources, (m.name, field)
        for charge in m.charges:
            assert m.provenance(f"charges.{charge}").source, (m.name, charge)
        assert m.provenance("cd") is m.provenance("drag")
        if m.kind == "rocket":
            for field in ("burnout_mass_kg", "burn_time_s", "thrust_n", "launch_tube_m"):
                assert field in m.sources, (m.name, field)
        if m.kind == "interceptor":
            assert m.provenance("self_destruct_s").confidence == "unverified"
            assert m.provenance("dud_rate").confidence == "unverified"
            assert 0.01 <= m.dud_rate <= 0.05


def test_unpublished_launch_parameters_are_marked_calibrated(catalogue: Catalogue) -> None:
    for m in catalogue:
        if m.kind in ("mortar", "artillery"):
            for charge in m.charges:
                assert m.provenance(f"charges.{charge}").confidence == "calibrated", m.name
        if m.kind == "rocket":
            assert m.provenance("thrust_n").confidence == "calibrated", m.name


def test_drag_tables_positive_with_increasing_mach(catalogue: Catalogue) -> None:
    for m in catalogue:
        assert len(m.mach) == len(m.cd) >= 4
        assert m.mach[0] == 0.0 and m.mach[-1] >= 3.0, m.name
        assert all(b > a for a, b in zip(m.mach, m.mach[1:], strict=False)), m.name
        assert all(c > 0 for c in m.cd), m.name
        # a drag coefficient on the calibre area stays within physical bounds for projectiles
        assert all(0.05 < c < 1.5 for c in m.cd), m.name


def test_mortar_drag_is_g1_scaled_by_its_form_factor(catalogue: Catalogue) -> None:
    # FACTS.md quotes G1: Cd(0)=0.2629, Cd(0.5)=0.2032, Cd(0.8)=0.2546, Cd(0.9)=0.3415; the
    # mortar table is that curve x 0.5, rounded to 4 decimals (so 1e-4 absolute tolerance).
    m = catalogue.get("81mm-mortar")
    table = dict(zip(m.mach, m.cd, strict=True))
    for mach, g1 in ((0.0, 0.2629), (0.5, 0.2032), (0.8, 0.2546), (0.9, 0.3415)):
        assert table[mach] == pytest.approx(0.5 * g1, abs=1e-4)


def test_155mm_drag_follows_the_kd_fit(catalogue: Catalogue) -> None:
    # Cd = (8 / pi) Kd; for 1.3 < M <= 2.6 the fit is Kd = ((0.9415 + 0.1327 M)^2 - 1) / M^2 and
    # below M 0.9 it is the constant 0.0579080038. The table is rounded to 4 decimals.
    m = catalogue.get("155mm-he")
    table = dict(zip(m.mach, m.cd, strict=True))
    for mach in (1.5, 2.0, 2.6):
        kd = ((0.9415 + 0.1327 * mach) ** 2 - 1.0) / mach**2
        assert table[mach] == pytest.approx(8.0 / math.pi * kd, abs=1e-4)
    assert table[0.5] == pytest.approx(8.0 / math.pi * 0.0579080038, abs=1e-4)


def test_physical_consistency(catalogue: Catalogue) -> None:
    for m in catalogue:
        assert m.area_m2 == pytest.approx(math.pi * m.diameter_m**2 / 4.0, rel=1e-12)
        assert m.burnout_mass_kg <= m.mass_kg
        assert m.min_range_m < m.max_range_m
        assert m.elevation_min_deg < m.elevation_max_deg
        assert m.charge_velocity() == max(m.charges.values())
        assert m.charge_velocity(None) == m.charges[m.top_charge]
        if m.kind == "mortar":
            assert m.charge_names == ("0", "1", "2", "3", "4")
            v = [m.charges[c] for c in m.charge_names]
            assert all(b > a for a, b in itertools.pairwise(v)), m.name
            assert (m.elevation_min_deg, m.elevation_max_deg) == (45.0, 85.0)
        if m.kind == "rocket":
            assert m.burn_time_s > 0 and m.thrust_n > 0 and m.burnout_mass_kg < m.mass_kg
            assert (m.elevation_min_deg, m.elevation_max_deg) == (10.0, 55.0)
        else:
            assert m.burn_time_s == 0.0 and m.thrust_n == 0.0 and m.burnout_mass_kg == m.mass_kg
        if m.kind != "interceptor":
            assert 0.3 <= m.lethal_radius_m <= 1.5, m.name


def test_defeat_given_hit_loads_with_source_and_mark(catalogue: Catalogue) -> None:
    # the presented-area kill model's P(defeat | hit): every threat has one, with its source; no
    # public figure exists (FACTS.md has none), so every value is marked unverified
    for m in catalogue:
        if m.kind == "interceptor":
            assert m.defeat_given_hit is None
            continue
        assert 0.0 < m.defeat_given_hit <= 1.0, m.name
        prov = m.provenance("defeat_given_hit")
        assert prov.confidence == "unverified" and "no public figure" in prov.source, m.name
        assert prov.note, m.name  # the reasoning behind the value
    # bombs (mostly filled body) defeat more often on a hit than rockets (long empty motor)
    # or the thick-walled shell
    get = catalogue.get
    assert min(get(n).defeat_given_hit for n in ("60mm", "81mm", "120mm")) > max(
        get(n).defeat_given_hit for n in ("107mm", "122mm", "155mm"))
    assert get("81mm").defeat_given_hit == 0.8 and get("122mm").defeat_given_hit == 0.4
    tuned = get("81mm").with_overrides(source="study", defeat_given_hit=0.5)
    assert tuned.defeat_given_hit == 0.5 and tuned.provenance("defeat_given_hit").source == "study"
    with pytest.raises(ValueError, match="defeat_given_hit"):
        get("81mm").with_overrides(defeat_given_hit=1.2)


def test_defeat_given_hit_errors_name_the_field(tmp_path: Path) -> None:
    def too_large(raw):
        raw["munitions"][3]["defeat_given_hit"]["value"] = 1.5

    with pytest.raises(CatalogueError) as err:
        load_catalogue(_user_catalogue(tmp_path, too_large))
    message = str(err.value)
    assert "munitions[3] (81mm-mortar).defeat_given_hit.value" in message
    assert "less than or equal to 1" in message and "(got 1.5)" in message

    def missing(raw):
        del raw["munitions"][0]["defeat_given_hit"]

    with pytest.raises(CatalogueError, match=r"107mm-rocket\).*a threat needs defeat_given_hit"):
        load_catalogue(_user_catalogue(tmp_path, missing))


def test_rocket_motor_is_consistent_with_quoted_peak_speeds(catalogue: Catalogue) -> None:
    # Ideal velocity gain of a constant-thrust burn with linear mass loss:
    # dv = T tb ln(m0 / m1) / (m0 - m1). Quoted peak speeds (unverified): ~385 m/s for the
    # 107 mm, ~690 m/s for the 9M22U. Gravity and drag take 5-15 % of the ideal gain during the
    # burn, so the ideal gain plus the rail-exit speed should lie within 0.9x-1.3x of the quote.
    for name, quoted in (("107mm-rocket", 385.0), ("122mm-9m22u", 690.0)):
        m = catalogue.get(name)
        dv = m.thrust_n * m.burn_time_s * math.log(m.mass_kg / m.burnout_mass_kg)
        dv /= m.mass_kg - m.burnout_mass_kg
        assert 0.9 * quoted < dv + m.charge_velocity() < 1.3 * quoted, (name, dv)


def test_alias_and_case_insensitive_lookup(catalogue: Catalogue) -> None:
    grad = catalogue.get("122mm-9m22u")
    assert catalogue.get("GRAD") is grad
    assert catalogue.get("122mm") is grad
    assert catalogue.get("  Type63 ") is catalogue.get("107mm-rocket")
    assert catalogue.get("107MM") is catalogue.get("107mm-rocket")
    assert catalogue["m252"] is catalogue.get("81mm-mortar")
    assert "grad" in catalogue and "katyusha" not in catalogue
    assert len(catalogue) == len(catalogue.names()) == len(list(catalogue))


def test_unknown_name_suggests_the_closest_and_lists_all(catalogue: Catalogue) -> None:
    with pytest.raises(UnknownMunitionError) as err:
        catalogue.get("81mm-motar")
    message = str(err.value)
    assert "'81mm-motar'" in message
    # the closest name is suggested first
    assert message.index("did you mean '81mm-mortar'") >= 0
    for name in catalogue.names():
        assert name in message
    assert isinstance(err.value, ValueError)
    with pytest.raises(UnknownMunitionError, match="did you mean '122mm-9m22u'"):
        catalogue.get("gard")


def test_unknown_charge_lists_the_charges(catalogue: Catalogue) -> None:
    m = catalogue.get("60mm-mortar")
    assert m.charge_velocity(4) == m.charge_velocity("4")
    with pytest.raises(UnknownChargeError) as err:
        m.charge_velocity("7")
    assert "'7'" in str(err.value) and "0, 1, 2, 3, 4" in str(err.value)
    assert isinstance(err.value, ValueError)
    with pytest.raises(UnknownChargeError, match="m114-top, m777-top"):
        catalogue.get("155mm").charge_velocity("charge 8")


def test_packaged_catalogue_is_cached() -> None:
    assert load_catalogue() is load_catalogue()


def _user_catalogue(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load(packaged_text())
    raw = {k: v for k, v in raw.items() if not k.startswith("x-")}
    edit(raw)
    path = tmp_path / "my-munitions.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_user_catalogue_loads_and_validates(tmp_path: Path) -> None:
    path = _user_catalogue(tmp_path, lambda raw: raw["munitions"][2]["mass_kg"].update(value=2.0))
    cat = load_catalogue(path)
    assert cat.get("60mm").mass_kg == 2.0
    assert str(path) in cat.source


def test_user_catalogue_bad_field_names_file_and_field(tmp_path: Path) -> None:
    def negative_mass(raw):
        raw["munitions"][3]["mass_kg"]["value"] = -4.5

    path = _user_catalogue(tmp_path, negative_mass)
    with pytest.raises(CatalogueError) as err:
        load_catalogue(path)
    message = str(err.value)
    assert str(path) in message
    assert "munitions[3] (81mm-mortar).mass_kg.value" in message

    def bad_mark(raw):
        raw["munitions"][0]["rcs_m2"]["confidence"] = "guess"

    with pytest.raises(CatalogueError) as err:
        load_catalogue(_user_catalogue(tmp_path, bad_mark))
    message = str(err.value)
    assert "munitions[0] (107mm-rocket).rcs_m2.confidence" in message
    for mark in CONFIDENCE_MARKS:
        assert mark in message

    def no_source(raw):
        del raw["munitions"][1]["diameter_m"]["source"]

    with pytest.raises(CatalogueError, match=r"munitions\[1\] \(122mm-9m22u\)\.diameter_m\.source"):
        load_catalogue(_user_catalogue(tmp_path, no_source))

    def decreasing_mach(raw):
        raw["munitions"][5]["drag"]["mach"][3] = 0.1

    with pytest.raises(CatalogueError, match=r"155mm-he\)\.drag.*strictly increasing"):
        load_catalogue(_user_catalogue(tmp_path, decreasing_mach))


def test_cross_field_errors_name_the_munition(tmp_path: Path) -> None:
    def rocket_without_motor(raw):
        raw["munitions"][0]["thrust_n"]["value"] = 0.0

    with pytest.raises(CatalogueError, match=r"munitions\[0\] \(107mm-rocket\).*thrust_n > 0"):
        load_catalogue(_user_catalogue(tmp_path, rocket_without_motor))

    def duplicate_alias(raw):
        raw["munitions"][2]["aliases"].append("GRAD")

    with pytest.raises(CatalogueError, match="'GRAD' of 60mm-mortar is already used by 122mm"):
        load_catalogue(_user_catalogue(tmp_path, duplicate_alias))


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CatalogueError, match=r"nope\.yaml: cannot read"):
        load_catalogue(missing)
    with pytest.raises(CatalogueError, match=r"broken\.yaml: not valid YAML"):
        parse_catalogue("munitions: [{name: x", "broken.yaml")


def test_overrides_are_validated_and_marked(catalogue: Catalogue) -> None:
    m = catalogue.get("20mm-sd")
    tuned = m.with_overrides(
        source="scenario site-a", self_destruct_s=6.0, charges={"standard": 1050}
    )
    assert tuned.self_destruct_s == 6.0 and tuned.charge_velocity() == 1050.0
    assert tuned.provenance("self_destruct_s").source == "scenario site-a"
    assert m.self_destruct_s != 6.0  # the catalogue's record is untouched
    with pytest.raises(ValueError, match="dud_rate"):
        m.with_overrides(dud_rate=1.5)
    with pytest.raises(ValueError, match="cannot override unknown field"):
        m.with_overrides(mass=1.0)


def test_munitions_command_json_and_table() -> None:
    typer = pytest.importorskip("typer")
    from counterram.commands.munitions import munitions

    app = typer.Typer()
    app.command()(munitions)
    runner = CliRunner()
    result = runner.invoke(app, ["--json"])
    assert result.exit_code == 0, result.output
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(records) >= REQUIRED
    for r in records.values():
        for key in ("name", "kind", "mass_kg", "diameter_m", "mach", "cd", "charges", "sources"):
            assert key in r
        assert len(r["mach"]) == len(r["cd"])
    assert records["81mm-mortar"]["charges"]["4"] > records["81mm-mortar"]["charges"]["0"]
    grad = records["122mm-9m22u"]
    assert grad["burn_time_s"] > 0 and grad["thrust_n"] > 0 and grad["burnout_mass_kg"] < 65.0
    assert records["20mm-sd"]["self_destruct_s"] > 0

    table = runner.invoke(app, [])
    assert table.exit_code == 0
    assert "155mm-he" in table.stdout


def test_munitions_command_bad_catalogue_exits_cleanly(tmp_path: Path) -> None:
    typer = pytest.importorskip("typer")
    from counterram.commands.munitions import EXIT_INVALID, munitions

    app = typer.Typer()
    app.command()(munitions)
    path = _user_catalogue(tmp_path, lambda raw: raw["munitions"][4]["rcs_m2"].update(value=0))
    result = CliRunner().invoke(app, ["--catalogue", str(path)])
    assert result.exit_code == EXIT_INVALID
    assert "Traceback" not in result.output
    assert "munitions[4] (120mm-mortar).rcs_m2.value" in result.output


def test_write_values_changes_only_the_named_field() -> None:
    from counterram.physics.calibrate import write_values

    text = packaged_text()
    out = write_values(text, "81mm-mortar", {"charges.2": 150.0, "charges.4": 290.0})
    cat = parse_catalogue(out, "edited")
    original = load_catalogue()
    assert cat.get("81mm").charges["2"] == 150.0 and cat.get("81mm").charges["4"] == 290.0
    assert cat.get("81mm").charges["3"] == original.get("81mm").charges["3"]
    assert cat.get("60mm").charges == original.get("60mm").charges
    with pytest.raises(ValueError, match="not found"):
        write_values(text, "81mm-mortar", {"nonexistent_field": 1.0})


def test_calibrated_max_ranges(catalogue: Catalogue) -> None:
    pytest.importorskip("counterram.physics.aiming")
    from counterram.physics.calibrate import check_table

    # The calibration solves each velocity/thrust to 1e-6 relative, and the file rounds
    # velocities >= 100 m/s to 0.1 m/s and smaller ones to 0.01 m/s. Range ~ v^2, so rounding
    # moves a range by at most 2 x 0.05 / 100 = 0.1 %: the 1 % bound (the catalogue's goal)
    # leaves margin for that yet fails on any stale value after a drag, mass or integrator change.
    rows = check_table(catalogue)
    checked = {(r.munition, r.charge, r.what) for r in rows}
    assert ("60mm-mortar", "4", "max") in checked and ("155mm-he", "m114-top", "max") in checked
    assert len(rows) >= 10
    for r in rows:
        assert abs(r.error_pct) < 1.0, r
