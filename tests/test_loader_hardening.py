"""The scenario loader against hostile files: what validates can run, an alias bomb or deep
nesting is refused in bounded time, a NUL byte or a 5,000-digit number is a problem of the file
(never a traceback), merge keys work, and nonsense (underground radars, giant circles, huge
names, strings or booleans for numbers, closed rings) is refused with file, line and field."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from counterram.commands.run import run
from counterram.commands.scenario import validate
from counterram.scenario import load_text, validate_text
from counterram.scenario.loader import MAX_FILE_BYTES
from test_scenario_errors import BASE

RADAR = "sensors:\n  - {name: radar, type: lcmr, position: {east_m: 0, north_m: 50}}\n"
THREATS = BASE[BASE.index("threats:"):]


def _problems(text: str) -> list[str]:
    return [str(p) for p in validate_text(text, "bad.yaml")]


def _one(text: str, field: str, words: str) -> str:
    """The problem at ``field``: present, with the file and a line, and saying ``words``."""
    problems = _problems(text)
    matching = [p for p in problems if f": {field}: " in p]
    assert matching, problems
    assert matching[0].startswith("bad.yaml:"), matching[0]
    assert words in matching[0], matching[0]
    return matching[0]


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("validate")(validate)
    app.command("run")(run)
    return app


# ---------------------------------------------------------------- validate passes what run runs
@pytest.mark.parametrize("text, field", [
    (BASE.replace(RADAR, ""), "sensors"),
    (BASE.replace(RADAR, "sensors: []\n"), "sensors"),
    (BASE.replace(THREATS, ""), "threats"),
], ids=["no-sensors", "empty-sensors", "no-threats"])
def test_a_scenario_that_cannot_run_does_not_validate(
    text: str, field: str, tmp_path: Path
) -> None:
    _one(text, field, "no " + field)
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    for args in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "o"),
                                           "--quiet"]):
        res = CliRunner().invoke(_cli(), args)
        assert res.exit_code == 2, res.output
        assert isinstance(res.exception, SystemExit)
        assert re.search(rf"{re.escape(str(path))}:\d+: {field}: no {field}", res.stderr)


# ---------------------------------------------------------------- loader bounds
def test_an_alias_bomb_is_refused_at_once() -> None:
    """Nine levels of ten aliases each expand to 10⁹ values; refused before being built."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n"
        for i in range(9))
    start = time.perf_counter()
    _one(BASE + bomb, "(file)", "too many values")
    assert time.perf_counter() - start < 2.0


def test_a_recursive_alias_is_refused() -> None:
    _one(BASE + "description: &x [*x]\n", "(file)", "refers to itself")


@pytest.mark.parametrize("depth", [100, 50_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    start = time.perf_counter()
    _one(BASE + "description: " + "[" * depth + "]" * depth + "\n", "(file)", "nesting too deep")
    assert time.perf_counter() - start < 10.0


def test_a_nul_byte_is_a_problem_of_the_file() -> None:
    _one(BASE + "\x00\n", "(file)", "broken YAML")


def test_a_nul_byte_in_a_path_is_a_clean_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(_cli(), ["validate", f"{tmp_path}/a\x00b.yaml"])
    assert res.exit_code == 2
    assert isinstance(res.exception, SystemExit)
    assert "null byte" in res.stderr


def test_a_5000_digit_seed_is_a_problem_of_the_file() -> None:
    _one(BASE + "seed: " + "9" * 5000 + "\n", "(file)", "unreadable value")


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(BASE + "#" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    res = CliRunner().invoke(_cli(), ["validate", str(path)])
    assert res.exit_code == 2
    assert "too large" in res.stderr


def test_a_merge_key_is_not_a_duplicate_key() -> None:
    """``<<: *anchor`` then a key of the anchor's mapping: the explicit key overrides the
    merged one, as YAML intends."""
    text = BASE.replace(RADAR, (
        "sensors:\n"
        "  - &radar {name: radar, type: lcmr, position: {east_m: 0, north_m: 50}}\n"
        "  - <<: *radar\n"
        "    name: radar-2\n"))
    assert _problems(text) == []
    scenario = load_text(text)
    assert [s.name for s in scenario.sensors] == ["radar", "radar-2"]
    assert scenario.sensors[1].position == scenario.sensors[0].position


def test_an_exponent_without_a_dot_is_a_number() -> None:
    """YAML 1.1 reads ``2e2`` as text; a strict loader must still take it as 200."""
    assert load_text(BASE.replace("radius_m: 200", "radius_m: 2e2")).defended_assets[0].circle \
        .radius_m == 200.0  # type: ignore[union-attr]


# ---------------------------------------------------------------- nonsense refused
@pytest.mark.parametrize("old, new, field, words", [
    ("position: {east_m: 0, north_m: 50}", "position: {east_m: 0, north_m: 50, up_m: -500}",
     "sensors.0.position", "500.0 m below the ground"),
    ("position: {east_m: 20, north_m: 0}", "position: {east_m: 20, north_m: 0, up_m: 1e6}",
     "effectors.0.position", "m up"),
    ("radius_m: 200", "radius_m: 1e12", "defended_assets.0.circle.radius_m",
     "the circle reaches"),
    ("name: camp\n", "name: " + "c" * 1_000_000 + "\n", "defended_assets.0.name", "too long"),
    ("name: test\n", "name: test\ndescription: " + "d" * 20_000 + "\n", "description",
     "too long"),
    ("name: test\n", "name: test\ndescription: " + "d" * 5_000_000 + "\n", "(file)",
     "too large"),
    ("duration_s: 600", 'duration_s: "300"', "duration_s", "expected a number"),
    ("duration_s: 600", "duration_s: true", "duration_s", "expected a number"),
    ("value: 10", "value: .nan", "defended_assets.0.value", "not a finite number"),
    ("{east_m: 400, north_m: 400}\n", "{east_m: 400, north_m: 400}\n"
     "      - {east_m: 300, north_m: 300}\n", "defended_assets.1.polygon",
     "repeats its first point"),
    ("asset: camp}", "asset: camp, buffer_m: 1e9}", "warning_zones.0.buffer_m",
     "out of range"),
], ids=["radar-underground", "gun-in-orbit", "giant-circle", "huge-name", "long-description",
        "5-MB-description",
        "duration-string", "duration-bool", "nan", "closed-ring", "giant-buffer"])
def test_nonsense_is_refused(old: str, new: str, field: str, words: str) -> None:
    assert old in BASE
    problem = _one(BASE.replace(old, new, 1), field, words)
    assert len(problem) < 400, "a huge value is echoed in full"
