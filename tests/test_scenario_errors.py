"""Malformed scenarios: every problem names its file, line, field and what is allowed, and the
CLI ``validate`` command exits with code 2 without a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from counterram.commands.scenario import scenario_app, scenarios, validate
from counterram.scenario import Problem, ScenarioError, load_scenario, load_text, validate_text

BASE = """\
name: test
origin: {latitude_deg: 33.3, longitude_deg: 44.39}
duration_s: 600
atmosphere:
  wind:
    layers:
      - {height_m: 0, east_mps: 1, north_mps: 0}
      - {height_m: 1000, east_mps: 5, north_mps: 0}
defended_assets:
  - name: camp
    kind: base
    value: 10
    circle: {center: {east_m: 0, north_m: 0}, radius_m: 200}
  - name: clinic
    kind: hospital
    value: 20
    polygon:
      - {east_m: 300, north_m: 300}
      - {east_m: 400, north_m: 300}
      - {east_m: 400, north_m: 400}
warning_zones:
  - {name: camp-zone, asset: camp}
sensors:
  - {name: radar, type: lcmr, position: {east_m: 0, north_m: 50}}
effectors:
  - {name: gun, type: gun, position: {east_m: 20, north_m: 0}, magazine: 1550}
threats:
  - name: mortar
    munition: 81mm-mortar
    charge: "2"
    position: {latitude_deg: 33.33, longitude_deg: 44.39}
    aim_point: {east_m: 0, north_m: 0}
    time_window_s: [10, 300]
"""


@dataclass(frozen=True)
class Case:
    id: str
    old: str  # text of BASE to replace ("" = append `new` at the end)
    new: str
    field: str  # expected dotted field path ("" for the file as a whole)
    anchor: str  # the expected line is the first line of the bad file containing this text
    words: str  # expected in the message


CASES = [
    Case("wrong-type", "duration_s: 600", "duration_s: ten", "duration_s", "duration_s: ten",
         "expected a number"),
    Case("missing-field", "duration_s: 600\n", "", "duration_s", "name: test",
         "required field is missing"),
    Case("negative-value", "value: 10", "value: -10", "defended_assets.0.value", "value: -10",
         "out of range"),
    Case("bad-latitude", "latitude_deg: 33.3,", "latitude_deg: 93.3,", "origin.latitude_deg",
         "93.3", "-90 ≤ value ≤ 90"),
    Case("bad-longitude", "longitude_deg: 44.39}\n    aim", "longitude_deg: 190}\n    aim",
         "threats.0.position.longitude_deg", "longitude_deg: 190", "-180 ≤ value ≤ 180"),
    Case("bad-kind", "kind: base", "kind: castle", "defended_assets.0.kind", "castle",
         "'embassy'"),
    Case("unknown-field", "radius_m: 200", "radius_m: 200, colour: red",
         "defended_assets.0.circle.colour", "colour", "unknown field"),
    Case("typo-field", "    time_window_s: [10, 300]\n",
         "    time_window_s: [10, 300]\n    salvo_intervl_s: 2\n",
         "threats.0.salvo_intervl_s", "salvo_intervl_s", "did you mean 'salvo_interval_s'"),
    Case("unknown-munition", "munition: 81mm-mortar", "munition: 82mm-mortar",
         "threats.0.munition", "82mm-mortar", "did you mean '81mm-mortar'"),
    Case("unknown-charge", 'charge: "2"', 'charge: "7"', "threats.0.charge", 'charge: "7"',
         "no such charge"),
    Case("beyond-max-range", "aim_point: {east_m: 0, north_m: 0}",
         "aim_point: {east_m: 0, north_m: -4000}", "threats.0.aim_point", "north_m: -4000",
         "beyond the reach of 81mm-mortar"),
    Case("below-min-range", "aim_point: {east_m: 0, north_m: 0}",
         "aim_point: {east_m: 0, north_m: 3300}", "threats.0.aim_point", "north_m: 3300",
         "inside the minimum range"),
    # PyYAML notices the unclosed bracket on the next line; the message names the opening line.
    Case("broken-yaml", "    kind: hospital", "    kind: [hospital", "", "value: 20",
         "flow sequence (line 15)"),
    Case("duplicate-asset", "  - name: clinic", "  - name: camp", "defended_assets.1.name",
         "  - name: camp\n    kind: hospital", "duplicate name"),
    Case("duplicate-threat", "", "  - {name: mortar, munition: 60mm, position: {east_m: 1000, "
         "north_m: 0}, aim_point: {east_m: 0, north_m: 0}, start_time_s: 5}\n",
         "threats.1.name", "{name: mortar, munition: 60mm", "duplicate name"),
    Case("inverted-window", "[10, 300]", "[300, 10]", "threats.0.time_window_s", "[300, 10]",
         "inverted"),
    Case("window-beyond-duration", "[10, 300]", "[10, 700]", "threats.0.time_window_s",
         "[10, 700]", "duration_s"),
    Case("self-intersecting", "      - {east_m: 400, north_m: 400}\n",
         "      - {east_m: 400, north_m: 400}\n      - {east_m: 300, north_m: 450}\n"
         "      - {east_m: 450, north_m: 250}\n", "defended_assets.1.polygon", "    polygon:",
         "not a valid ring"),
    Case("repeated-points", "{east_m: 400, north_m: 400}", "{east_m: 300, north_m: 300}",
         "defended_assets.1.polygon", "    polygon:", "distinct points"),
    Case("too-few-points", "      - {east_m: 400, north_m: 400}\n", "",
         "defended_assets.1.polygon", "    polygon:", "at least 3"),
    Case("too-far", "position: {east_m: 0, north_m: 50}", "position: {east_m: 0, north_m: 65000}",
         "sensors.0.position", "north_m: 65000", "km from the origin"),
    Case("unknown-zone-asset", "asset: camp}", "asset: barracks}", "warning_zones.0.asset",
         "barracks", "unknown defended asset"),
    Case("unknown-sensor-type", "type: lcmr", "type: xband", "sensors.0.type", "xband",
         "'lcmr', 'wlr', 'fcr'"),
    Case("negative-magazine", "magazine: 1550", "magazine: -5", "effectors.0.magazine",
         "magazine: -5", "0 < value"),
    Case("burst-exceeds-magazine", "magazine: 1550", "magazine: 40", "effectors.0.burst_rounds",
         "magazine: 40", "no burst could be fired (got 50; allowed burst_rounds ≤ magazine (40))"),
    Case("not-a-position", "position: {east_m: 20, north_m: 0}", "position: {x: 20, y: 0}",
         "effectors.0.position", "position: {x: 20", "not a position"),
    Case("exclusive-fields", "    aim_point: {east_m: 0, north_m: 0}\n",
         "    aim_point: {east_m: 0, north_m: 0}\n    aim_area: {circle: {center: {east_m: 0, "
         "north_m: 0}, radius_m: 50}}\n", "threats.0", "  - name: mortar", "exclusive"),
    Case("duplicate-yaml-key", "duration_s: 600\n", "duration_s: 600\nduration_s: 700\n",
         "duration_s", "duration_s: 700", "duplicate key"),
    Case("wind-layers-unordered", "height_m: 1000", "height_m: 0", "atmosphere.wind.layers",
         "    layers:", "strictly increasing"),
    Case("interceptor-as-threat", "munition: 81mm-mortar", "munition: 20mm-sd",
         "threats.0.munition", "20mm-sd", "not a threat"),
    Case("not-a-mapping", BASE, "- just\n- a list\n", "", "- just", "not a mapping"),
]


def _bad_text(case: Case) -> str:
    if not case.old:
        return BASE + case.new
    assert case.old in BASE, case.id
    return BASE.replace(case.old, case.new, 1)


def _expected_line(text: str, anchor: str) -> int:
    index = text.index(anchor)
    return text.count("\n", 0, index) + 1


def test_the_base_scenario_is_valid() -> None:
    assert validate_text(BASE, "base.yaml") == []
    assert load_text(BASE).threats[0].charge == "2"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_problem_names_field_and_line(case: Case) -> None:
    text = _bad_text(case)
    problems = validate_text(text, "bad.yaml")
    assert problems, "the malformed scenario was accepted"
    line = _expected_line(text, case.anchor)
    matching = [p for p in problems if p.field == case.field]
    assert matching, [str(p) for p in problems]
    problem = matching[0]
    assert problem.file == "bad.yaml"
    assert problem.line == line, str(problem)
    rendered = str(problem)
    assert rendered.startswith(f"bad.yaml:{line}: {case.field or '(file)'}: "), rendered
    assert case.words in rendered, rendered
    assert "\n" not in rendered
    with pytest.raises(ScenarioError) as info:
        load_text(text, "bad.yaml")
    assert rendered in str(info.value).splitlines()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("scenarios")(scenarios)
    app.command("validate")(validate)
    app.add_typer(scenario_app)
    return app


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cli_validate_exits_2_without_traceback(case: Case, tmp_path: Path) -> None:
    path = tmp_path / f"{case.id}.yaml"
    text = _bad_text(case)
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["validate", str(path)])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    line = _expected_line(text, case.anchor)
    assert f"{path}:{line}: {case.field or '(file)'}: " in result.stderr


def test_cli_validate_accepts_a_good_file_and_reports_a_missing_one(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(BASE, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["validate", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.stdout
    missing = runner.invoke(_cli(), ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "no such file or built-in scenario" in missing.stderr
    assert "Traceback" not in missing.output


def test_cli_show_schema_and_list() -> None:
    runner = CliRunner()
    shown = runner.invoke(_cli(), ["scenario", "show", "grad-salvo"])
    assert shown.exit_code == 0
    assert load_text(shown.stdout).name == "grad-salvo"
    schema = runner.invoke(_cli(), ["scenario", "schema"])
    assert schema.exit_code == 0 and '"$defs"' in schema.stdout
    listed = runner.invoke(_cli(), ["scenarios"])
    assert listed.exit_code == 0
    for name in ("baghdad-embassy", "fob-mortar", "grad-salvo"):
        assert name in listed.stdout
    unknown = runner.invoke(_cli(), ["scenario", "show", "atlantis"])
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output


def test_all_problems_are_reported_at_once() -> None:
    text = BASE.replace("kind: base", "kind: castle").replace("value: 20", "value: -1")
    problems = validate_text(text, "two.yaml")
    assert {p.field for p in problems} == {"defended_assets.0.kind", "defended_assets.1.value"}
    error = ScenarioError(problems)
    assert len(str(error).splitlines()) == 2


def test_problem_rendering() -> None:
    p = Problem("f.yaml", 3, "threats.0.rounds", "out of range", -1, "1 ≤ value")
    assert str(p) == "f.yaml:3: threats.0.rounds: out of range (got -1; allowed 1 ≤ value)"
    assert str(Problem("f.yaml", None, "", "broken")) == "f.yaml: (file): broken"


def test_unknown_scenario_name_lists_builtins() -> None:
    with pytest.raises(ScenarioError, match="baghdad-embassy"):
        load_scenario("atlantis")
