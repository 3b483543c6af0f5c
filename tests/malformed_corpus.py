"""A corpus of malformed inputs: scenario files, plot lines and command lines a hostile but
realistic user could give counterram (run by tests/test_malformed_corpus.py).

Each entry is data: a scenario case is a text replacement in the valid scenario of
tests/test_scenario_errors.py (``BASE``) with the field its problem must name (``None``: any);
a plot case is the reason the plot reader must give and a mutation of a valid plot line (a
dict of field changes, ``DROP`` to remove a field, a callable of the plot record, or a raw
line); a command case is the arguments and a word the message must contain.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from test_scenario_errors import BASE

# ---------------------------------------------------------------------------------------------
# Scenario files
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioCase:
    id: str
    old: str  # text of BASE to replace; "" appends ``new``; BASE replaces the whole file
    new: str
    field: str | None = None  # the dotted field a problem must name ("(file)" for the file)


_DUR = "duration_s: 600"
_VAL = "value: 10"
_RAD = "radius_m: 200"
_MAG = "magazine: 1550"
_MUN = "munition: 81mm-mortar"
_WIN = "time_window_s: [10, 300]"
_SEN = "position: {east_m: 0, north_m: 50}"
_LAT = "latitude_deg: 33.3,"
_EAST = "east_mps: 1,"


def _bomb(levels: int = 9) -> str:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(levels):
        name, prev = chr(98 + i), chr(97 + i)
        text += f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n"
    return text


def _numeric(tag: str, old: str, field: str) -> list[ScenarioCase]:
    """Values no number field accepts, for one field."""
    prefix = old.split(":")[0]
    tail = "," if old.endswith(",") else ""
    bad = {"str": '"300"', "bool": "true", "null": "null", "list": "[1, 2]",
           "map": "{a: 1}", "nan": ".nan", "inf": ".inf", "-inf": "-.inf",
           "text": "lots", "huge": "1e400", "digits": "9" * 400}
    return [ScenarioCase(f"{tag}-{k}", old, f"{prefix}: {v}{tail}", field)
            for k, v in bad.items()]


SCENARIO_CASES: list[ScenarioCase] = [
    *_numeric("duration", _DUR, "duration_s"),
    *_numeric("value", _VAL, "defended_assets.0.value"),
    *_numeric("radius", _RAD, "defended_assets.0.circle.radius_m"),
    *_numeric("magazine", _MAG, "effectors.0.magazine"),
    *_numeric("latitude", _LAT, "origin.latitude_deg"),
    *_numeric("wind", _EAST, "atmosphere.wind.layers.0.east_mps"),
    # out of range
    ScenarioCase("duration-zero", _DUR, "duration_s: 0", "duration_s"),
    ScenarioCase("duration-negative", _DUR, "duration_s: -1", "duration_s"),
    ScenarioCase("duration-year", _DUR, "duration_s: 3.2e7", "duration_s"),
    ScenarioCase("latitude-91", _LAT, "latitude_deg: 91,", "origin.latitude_deg"),
    ScenarioCase("radius-zero", _RAD, "radius_m: 0", "defended_assets.0.circle.radius_m"),
    ScenarioCase("radius-1e12", _RAD, "radius_m: 1e12", "defended_assets.0.circle.radius_m"),
    ScenarioCase("value-negative", _VAL, "value: -10", "defended_assets.0.value"),
    ScenarioCase("magazine-negative", _MAG, "magazine: -5", "effectors.0.magazine"),
    ScenarioCase("magazine-fraction", _MAG, "magazine: 1.5", "effectors.0.magazine"),
    ScenarioCase("wind-500", _EAST, "east_mps: 500,", "atmosphere.wind.layers.0.east_mps"),
    ScenarioCase("seed-negative", "", "seed: -1\n", "seed"),
    ScenarioCase("seed-5000-digits", "", "seed: " + "9" * 5000 + "\n", "(file)"),
    ScenarioCase("seed-text", "", "seed: abc\n", "seed"),
    ScenarioCase("version-2", "", "version: 2\n", "version"),
    # positions
    ScenarioCase("radar-underground", _SEN, "position: {east_m: 0, north_m: 50, up_m: -500}",
                 "sensors.0.position"),
    ScenarioCase("radar-in-orbit", _SEN, "position: {east_m: 0, north_m: 50, up_m: 4e5}",
                 "sensors.0.position"),
    ScenarioCase("radar-far", _SEN, "position: {east_m: 0, north_m: 1e6}", "sensors.0.position"),
    ScenarioCase("radar-xy", _SEN, "position: {x: 0, y: 50}", "sensors.0.position"),
    ScenarioCase("radar-null-position", _SEN, "position: null", "sensors.0.position"),
    ScenarioCase("radar-list-position", _SEN, "position: [0, 50]", "sensors.0.position"),
    ScenarioCase("radar-both-forms", _SEN,
                 "position: {east_m: 0, north_m: 50, latitude_deg: 33.3}", "sensors.0.position"),
    ScenarioCase("radar-nan-east", _SEN, "position: {east_m: .nan, north_m: 50}",
                 "sensors.0.position.east_m"),
    ScenarioCase("launcher-underground", "position: {latitude_deg: 33.33, longitude_deg: 44.39}",
                 "position: {latitude_deg: 33.33, longitude_deg: 44.39, altitude_m: -300}",
                 "threats.0.position"),
    # names and text
    ScenarioCase("name-empty", "name: test\n", 'name: ""\n', "name"),
    ScenarioCase("name-huge", "name: test\n", "name: " + "n" * 1_000_000 + "\n", "name"),
    ScenarioCase("name-list", "name: test\n", "name: [a, b]\n", "name"),
    ScenarioCase("name-number", "name: test\n", "name: 12\n", "name"),
    ScenarioCase("asset-name-huge", "name: camp\n", "name: " + "c" * 300 + "\n",
                 "defended_assets.0.name"),
    ScenarioCase("description-20k", "", "description: " + "d" * 20_000 + "\n", "description"),
    ScenarioCase("description-5MB", "", "description: " + "d" * 5_000_000 + "\n", "(file)"),
    ScenarioCase("munition-empty", _MUN, 'munition: ""', "threats.0.munition"),
    ScenarioCase("munition-unknown", _MUN, "munition: 82mm-mortar", "threats.0.munition"),
    ScenarioCase("munition-number", _MUN, "munition: 81", "threats.0.munition"),
    ScenarioCase("munition-huge", _MUN, "munition: " + "m" * 100_000, "threats.0.munition"),
    ScenarioCase("munition-interceptor", _MUN, "munition: 20mm-sd", "threats.0.munition"),
    ScenarioCase("charge-unknown", 'charge: "2"', 'charge: "99"', "threats.0.charge"),
    ScenarioCase("charge-list", 'charge: "2"', "charge: [2]", "threats.0.charge"),
    ScenarioCase("kind-unknown", "kind: base", "kind: castle", "defended_assets.0.kind"),
    ScenarioCase("kind-number", "kind: base", "kind: 3", "defended_assets.0.kind"),
    ScenarioCase("sensor-type-unknown", "type: lcmr", "type: xband", "sensors.0.type"),
    ScenarioCase("sensor-type-missing", "{name: radar, type: lcmr, ", "{name: radar, ",
                 "sensors.0"),
    ScenarioCase("effector-type-unknown", "type: gun", "type: laser", "effectors.0.type"),
    ScenarioCase("zone-asset-unknown", "asset: camp}", "asset: barracks}",
                 "warning_zones.0.asset"),
    ScenarioCase("zone-buffer-huge", "asset: camp}", "asset: camp, buffer_m: 1e9}",
                 "warning_zones.0.buffer_m"),
    ScenarioCase("zone-two-shapes", "asset: camp}",
                 "asset: camp, circle: {center: {east_m: 0, north_m: 0}, radius_m: 5}}",
                 "warning_zones.0"),
    ScenarioCase("attached-to-unknown", "{name: radar, type: lcmr, ",
                 "{name: radar, type: lcmr, attached_to: nothing, ", "sensors.0.attached_to"),
    # lists, windows, polygons
    ScenarioCase("no-sensors", "sensors:\n  - {name: radar, type: lcmr, position: {east_m: 0, "
                 "north_m: 50}}\n", "", "sensors"),
    ScenarioCase("empty-sensors", "sensors:\n  - {name: radar, type: lcmr, position: {east_m: 0,"
                 " north_m: 50}}\n", "sensors: []\n", "sensors"),
    ScenarioCase("no-threats", BASE[BASE.index("threats:"):], "", "threats"),
    ScenarioCase("threats-map", BASE[BASE.index("threats:"):], "threats: {a: 1}\n", "threats"),
    ScenarioCase("sensors-string", "sensors:\n  - {name: radar, type: lcmr, position: {east_m: "
                 "0, north_m: 50}}\n", "sensors: radar\n", "sensors"),
    ScenarioCase("window-inverted", _WIN, "time_window_s: [300, 10]", "threats.0.time_window_s"),
    ScenarioCase("window-short", _WIN, "time_window_s: [10]", "threats.0.time_window_s"),
    ScenarioCase("window-text", _WIN, "time_window_s: 10-300", "threats.0.time_window_s"),
    ScenarioCase("window-beyond", _WIN, "time_window_s: [10, 1e9]", "threats.0.time_window_s"),
    ScenarioCase("window-negative", _WIN, "time_window_s: [-5, 10]", "threats.0.time_window_s"),
    ScenarioCase("window-and-start", _WIN, "time_window_s: [10, 300]\n    start_time_s: 5",
                 "threats.0"),
    ScenarioCase("count-zero", _WIN, "time_window_s: [10, 300]\n    count: 0", "threats.0.count"),
    ScenarioCase("rounds-million", _WIN, "time_window_s: [10, 300]\n    rounds: 1000000",
                 "threats.0.rounds"),
    ScenarioCase("polygon-closed", "      - {east_m: 400, north_m: 400}\n",
                 "      - {east_m: 400, north_m: 400}\n      - {east_m: 300, north_m: 300}\n",
                 "defended_assets.1.polygon"),
    ScenarioCase("polygon-two-points", "      - {east_m: 400, north_m: 400}\n", "",
                 "defended_assets.1.polygon"),
    ScenarioCase("polygon-crossing", "      - {east_m: 400, north_m: 400}\n",
                 "      - {east_m: 400, north_m: 400}\n      - {east_m: 300, north_m: 450}\n"
                 "      - {east_m: 450, north_m: 250}\n", "defended_assets.1.polygon"),
    ScenarioCase("polygon-same-point", "{east_m: 400, north_m: 400}",
                 "{east_m: 300, north_m: 300}", "defended_assets.1.polygon"),
    ScenarioCase("unknown-field", "", "colour: red\n", "colour"),
    ScenarioCase("typo-field", _DUR, "duraton_s: 600", None),
    ScenarioCase("duplicate-key", "", "duration_s: 700\n", "duration_s"),
    ScenarioCase("integer-key", "", "1: 2\n", "1"),
    # the file as a whole
    ScenarioCase("empty-file", BASE, "", "(file)"),
    ScenarioCase("only-comment", BASE, "# nothing\n", "(file)"),
    ScenarioCase("a-list", BASE, "- a\n- b\n", "(file)"),
    ScenarioCase("a-scalar", BASE, "hello\n", "(file)"),
    ScenarioCase("a-number", BASE, "42\n", "(file)"),
    ScenarioCase("two-documents", "", "---\nname: other\n", "(file)"),
    ScenarioCase("broken-flow", "kind: hospital", "kind: [hospital", "(file)"),
    ScenarioCase("unclosed-quote", "name: test\n", 'name: "test\n', "(file)"),
    ScenarioCase("tab-indent", "    kind: base", "\tkind: base", "(file)"),
    ScenarioCase("bad-indent", "    kind: base", "      kind: base", "(file)"),
    ScenarioCase("nul-byte", "", "\x00\n", "(file)"),
    ScenarioCase("control-char", "", "name2: \x07\n", "(file)"),
    ScenarioCase("alias-bomb", "", _bomb(), "(file)"),
    ScenarioCase("alias-bomb-small", "", _bomb(6), "(file)"),
    ScenarioCase("recursive-alias", "", "description: &x [*x]\n", "(file)"),
    ScenarioCase("unknown-alias", "", "description: *nowhere\n", "(file)"),
    ScenarioCase("deep-100", "", "description: " + "[" * 100 + "]" * 100 + "\n", "(file)"),
    ScenarioCase("deep-50000", "", "description: " + "[" * 50_000 + "]" * 50_000 + "\n",
                 "(file)"),
    ScenarioCase("deep-maps", "", "description: " + "{a: " * 200 + "1" + "}" * 200 + "\n",
                 "(file)"),
    ScenarioCase("python-tag", "", "description: !!python/object:os.system ls\n", "(file)"),
    ScenarioCase("binary-tag", "", "description: !!binary aGVsbG8=\n", "(file)"),
    ScenarioCase("set-tag", "", "description: !!set {a, b}\n", "(file)"),
    ScenarioCase("complex-key", "", "? [a, b]\n: c\n", "(file)"),
    ScenarioCase("date-duration", _DUR, "duration_s: 2024-01-01", "duration_s"),
    ScenarioCase("big-file", "", "#" * (5 * 1024 * 1024) + "\n", "(file)"),
]


def scenario_text(case: ScenarioCase) -> str:
    if case.old is BASE:
        return case.new
    if not case.old:
        return BASE + case.new
    assert case.old in BASE, case.id
    return BASE.replace(case.old, case.new, 1)


# ---------------------------------------------------------------------------------------------
# Plot lines (in the two-firing run's stream: sensors lcmr-1 (1), wlr-1 (2), fcr-north (3), ...)
# ---------------------------------------------------------------------------------------------

DROP = object()
Mutation = dict[str, Any] | Callable[[dict[str, Any]], str] | str


@dataclass(frozen=True)
class PlotCase:
    id: str
    reason: str
    mutation: Mutation


def _shift(key: str, by: float) -> Callable[[dict[str, Any]], str]:
    def f(r: dict[str, Any]) -> str:
        out = {**r, key: r[key] + by}
        if key == "t" and "report_t" in r:
            out["report_t"] = r["report_t"] + by
        return json.dumps(out)
    return f


def _raw_field(key: str, literal: str) -> Callable[[dict[str, Any]], str]:
    """The record with ``key`` written as a literal JSON text (a 5,000-digit integer, NaN)."""
    def f(r: dict[str, Any]) -> str:
        rest = json.dumps({k: v for k, v in r.items() if k != key})
        return '{"' + key + '": ' + literal + ", " + rest[1:]
    return f


def _header(**sensor_changes: Any) -> Callable[[dict[str, Any]], str]:
    """A header whose first sensor is the stream's lcmr-1 with ``sensor_changes``."""
    def f(_r: dict[str, Any]) -> str:
        sensor = {"sensor_id": 1, "name": "lcmr-1", "position_enu_m": [0.0, 200.0, 10.0],
                  "sigma_range_m": 15.0, "sigma_azimuth_mrad": 5.0, "sigma_elevation_mrad": 5.0,
                  "sigma_radial_velocity_mps": None}
        sensor.update(sensor_changes)
        sensor = {k: v for k, v in sensor.items() if v is not DROP}
        return json.dumps({"format": "counterram-plots", "version": 1, "sensors": [sensor]})
    return f


PLOT_CASES: list[PlotCase] = [
    # not JSON
    PlotCase("brace", "not_json", "{oops"),
    PlotCase("truncated", "not_json", '{"t": 1,'),
    PlotCase("nan-words", "not_json", "NaN NaN"),
    PlotCase("single-quotes", "not_json", "{'t': 1}"),
    PlotCase("trailing-comma", "not_json", '{"t": 1,}'),
    PlotCase("binary", "not_json", "\x89PNG\r\x1a\x00\xff"),
    PlotCase("5000-digits", "not_json", _raw_field("range_m", "9" * 5000)),
    PlotCase("deep-brackets", "not_json", "[" * 100_000),
    PlotCase("deep-objects", "not_json", '{"a":' * 50_000),
    PlotCase("megabyte", "not_json", '{"t": "' + "x" * 1_000_000 + '"}'),
    PlotCase("two-objects", "not_json", '{"t": 1} {"t": 2}'),
    # not an object
    PlotCase("list", "not_an_object", "[1, 2, 3]"),
    PlotCase("number", "not_an_object", "42"),
    PlotCase("string", "not_an_object", '"plot"'),
    PlotCase("null", "not_an_object", "null"),
    PlotCase("true", "not_an_object", "true"),
    # missing fields
    *[PlotCase(f"no-{k}", "missing_field", {k: DROP})
      for k in ("t", "sensor", "range_m", "azimuth_deg", "elevation_deg", "snr_db")],
    PlotCase("null-range", "missing_field", {"range_m": None}),
    PlotCase("empty-object", "missing_field", "{}"),
    # wrong types
    *[PlotCase(f"{k}-{name}", "wrong_type", {k: v})
      for k in ("t", "range_m", "azimuth_deg", "elevation_deg", "snr_db")
      for name, v in (("text", "ten"), ("bool", True), ("list", [1]), ("object", {"v": 1}))],
    PlotCase("sensor-float", "wrong_type", {"sensor": 1.5}),
    PlotCase("sensor-bool", "wrong_type", {"sensor": True}),
    PlotCase("sensor-list", "wrong_type", {"sensor": [1]}),
    PlotCase("rv-text", "wrong_type", {"radial_velocity_mps": "fast"}),
    PlotCase("report-text", "wrong_type", {"report_t": "later"}),
    PlotCase("round-id-text", "wrong_type", {"truth_round_id": "a"}),
    PlotCase("round-id-float", "wrong_type", {"truth_round_id": 1.5}),
    # not finite
    PlotCase("t-nan", "not_finite", _raw_field("t", "NaN")),
    PlotCase("range-inf", "not_finite", _raw_field("range_m", "Infinity")),
    PlotCase("snr-minus-inf", "not_finite", _raw_field("snr_db", "-Infinity")),
    PlotCase("az-nan", "not_finite", _raw_field("azimuth_deg", "NaN")),
    PlotCase("el-1e400", "not_finite", _raw_field("elevation_deg", "1e400")),
    PlotCase("rv-nan", "not_finite", _raw_field("radial_velocity_mps", "NaN")),
    # out of range
    PlotCase("range-negative", "out_of_range", {"range_m": -5.0}),
    PlotCase("range-zero", "out_of_range", {"range_m": 0}),
    PlotCase("range-huge", "out_of_range", {"range_m": 1e300}),
    PlotCase("range-400-digits", "out_of_range", _raw_field("range_m", "9" * 400)),
    PlotCase("elevation-91", "out_of_range", {"elevation_deg": 91.0}),
    PlotCase("elevation-minus-91", "out_of_range", {"elevation_deg": -91.0}),
    PlotCase("t-1e308", "out_of_range", {"t": 1e308, "report_t": 1e308}),
    PlotCase("t-minus-1e308", "out_of_range", {"t": -1e308}),
    PlotCase("report-before", "out_of_range", _shift("report_t", -1.0)),
    PlotCase("report-an-hour-late", "out_of_range", _shift("report_t", 3600.0)),
    PlotCase("rv-hypersonic", "out_of_range", {"radial_velocity_mps": 1e5}),
    PlotCase("round-id-huge", "out_of_range", {"truth_round_id": 2**70}),
    # sensors
    PlotCase("sensor-unknown-name", "unknown_sensor", {"sensor": "lcmr-9"}),
    PlotCase("sensor-unknown-id", "unknown_sensor", {"sensor": 77}),
    PlotCase("sensor-negative-id", "unknown_sensor", {"sensor": -1}),
    PlotCase("sensor-huge-id", "unknown_sensor", {"sensor": 10**30}),
    PlotCase("sensor-empty-name", "unknown_sensor", {"sensor": ""}),
    PlotCase("header-new-sensor", "unknown_sensor", _header(sensor_id=42, name="ghost")),
    # time
    PlotCase("backwards-10s", "time_backwards", _shift("t", -10.0)),
    PlotCase("backwards-1e9", "time_backwards", _shift("t", -1e9)),
    PlotCase("jump-1e9", "time_jump", _shift("t", 1e9)),
    PlotCase("jump-2e9", "time_jump", _shift("t", 2e9)),
    PlotCase("jump-1e5", "time_jump", _shift("t", 1e5)),
    PlotCase("jump-1h", "time_jump", _shift("t", 3600.0)),
    PlotCase("jump-to-1e10", "time_jump", {"t": 9.9e9, "report_t": 9.9e9}),
    # duplicates
    PlotCase("duplicate", "duplicate", json.dumps),
    PlotCase("duplicate-reordered", "duplicate", lambda r: json.dumps(dict(reversed(r.items())))),
    PlotCase("duplicate-spaced", "duplicate", lambda r: json.dumps(r, indent=None,
                                                                   separators=(" , ", " : "))),
    # headers
    PlotCase("header-moves-70km", "sensor_redefined", _header(position_enu_m=[70_000.0, 0, 10])),
    PlotCase("header-renames", "sensor_redefined", _header(name="renamed")),
    PlotCase("header-retunes", "sensor_redefined", _header(sigma_range_m=1.0)),
    PlotCase("header-other-format", "bad_header",
             '{"format": "other", "version": 1, "sensors": []}'),
    PlotCase("header-version-2", "bad_header",
             '{"format": "counterram-plots", "version": 2, "sensors": []}'),
    PlotCase("header-sensors-number", "bad_header",
             '{"format": "counterram-plots", "version": 1, "sensors": 5}'),
    PlotCase("header-sensor-text", "bad_header",
             '{"format": "counterram-plots", "version": 1, "sensors": ["lcmr-1"]}'),
    PlotCase("header-no-name", "bad_header", _header(name=DROP)),
    PlotCase("header-negative-sigma", "bad_header", _header(sigma_range_m=-1.0)),
    PlotCase("header-huge-id", "bad_header", _header(sensor_id=2**40)),
    PlotCase("header-far-away", "bad_header", _header(position_enu_m=[1e9, 0, 0])),
    PlotCase("header-position-pair", "bad_header", _header(position_enu_m=[0, 0])),
    PlotCase("sensors-without-format", "bad_header", '{"sensors": []}'),
]


def plot_line(case: PlotCase, template: str) -> str:
    """The case's line, made from a valid plot line of the stream (``template``)."""
    record = json.loads(template)
    m = case.mutation
    if isinstance(m, str):
        return m
    if callable(m):
        return m(record)
    out = {**record, **m}
    return json.dumps({k: v for k, v in out.items() if v is not DROP})


# ---------------------------------------------------------------------------------------------
# Command lines ({scenario}: a valid scenario file, {plots}: a valid plot file, {log}: a valid
# event log, {file}: a plain text file, {dir}: an empty folder, {bad}: a malformed scenario)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliCase:
    id: str
    args: tuple[str, ...]
    words: str  # in the message (case-insensitive)


CLI_CASES: list[CliCase] = [
    CliCase("no-command", (), "usage"),
    CliCase("unknown-command", ("fly",), "no such command"),
    CliCase("run-unknown-scenario", ("run", "nowhere.yaml", "--quiet"), "no such file"),
    CliCase("run-bad-scenario", ("run", "{bad}", "--quiet"), "duration_s"),
    CliCase("run-negative-seed", ("run", "{scenario}", "--seed", "-1"), "--seed"),
    CliCase("run-text-seed", ("run", "{scenario}", "--seed", "ten"), "seed"),
    CliCase("run-huge-seed", ("run", "{scenario}", "--seed", "9" * 5000), "seed"),
    CliCase("run-out-file", ("run", "{scenario}", "--out", "{file}"), "not a folder"),
    CliCase("run-out-empty", ("run", "{scenario}", "--out", ""), "empty path"),
    CliCase("run-out-used", ("run", "{scenario}", "--out", "{used}"), "already holds"),
    CliCase("run-unknown-sink", ("run", "{scenario}", "--sink", "nope", "--out", "{dir}"),
            "unknown sink"),
    CliCase("run-unknown-option", ("run", "--colour", "red"), "no such option"),
    CliCase("engine-no-plots", ("engine", "--scenario", "{scenario}"), "--plots"),
    CliCase("engine-missing-plots", ("engine", "--scenario", "{scenario}", "--plots",
                                     "nowhere.jsonl", "--out", "{dir}"), "no such file"),
    CliCase("engine-bad-scheme", ("engine", "--scenario", "{scenario}", "--plots",
                                  "ftp://x/y", "--out", "{dir}"), "unknown source"),
    CliCase("engine-udp-remote", ("engine", "--scenario", "{scenario}", "--plots",
                                  "udp://10.0.0.1:5000", "--out", "{dir}"), "127.0.0.1"),
    CliCase("engine-udp-port-0", ("engine", "--scenario", "{scenario}", "--plots",
                                  "udp://127.0.0.1:0", "--out", "{dir}"), "port"),
    CliCase("engine-udp-port-text", ("engine", "--scenario", "{scenario}", "--plots",
                                     "udp://127.0.0.1:http", "--out", "{dir}"), "port"),
    CliCase("engine-idle-zero", ("engine", "--scenario", "{scenario}", "--plots", "{plots}",
                                 "--max-idle-s", "0"), "max-idle-s"),
    CliCase("engine-datagrams-zero", ("engine", "--scenario", "{scenario}", "--plots",
                                      "{plots}", "--max-datagrams", "0"), "max-datagrams"),
    CliCase("engine-out-empty", ("engine", "--scenario", "{scenario}", "--plots", "{plots}",
                                 "--out", ""), "empty path"),
    CliCase("engine-out-used", ("engine", "--scenario", "{scenario}", "--plots", "{plots}",
                                "--out", "{used}"), "already holds"),
    CliCase("engine-bad-scenario", ("engine", "--scenario", "{bad}", "--plots", "{plots}",
                                    "--out", "{dir}"), "duration_s"),
    CliCase("engine-unknown-sink", ("engine", "--scenario", "{scenario}", "--plots", "{plots}",
                                    "--sink", "nope", "--out", "{dir}"), "--sink"),
    CliCase("replay-missing", ("replay", "nowhere.jsonl"), "no such event log"),
    CliCase("replay-folder", ("replay", "{dir}"), "no such event log"),
    CliCase("replay-binary", ("replay", "{binary}"), "not utf-8"),
    CliCase("replay-plots-file", ("replay", "{scenario}"), "not json"),
    CliCase("replay-unknown-kind", ("replay", "{log}", "--kind", "nonsense"), "allowed"),
    CliCase("replay-start-text", ("replay", "{log}", "--start", "soon"), "start"),
    CliCase("campaign-zero-runs", ("campaign", "{scenario}", "--runs", "0"), "--runs"),
    CliCase("campaign-zero-workers", ("campaign", "{scenario}", "--workers", "0"), "--workers"),
    CliCase("campaign-bad-scheduler", ("campaign", "{scenario}", "--scheduler", "localhost"),
            "tcp://"),
    CliCase("campaign-both-clusters", ("campaign", "{scenario}", "--scheduler", "tcp://x:1",
                                       "--dask-local"), "exclude"),
    CliCase("campaign-bad-sweep", ("campaign", "{scenario}", "--sweep", "nonsense",
                                   "--out", "{dir}"), "sweep"),
    CliCase("campaign-sweep-unknown-field", ("campaign", "{scenario}", "--sweep",
                                             "effectors.0.colour=1,2", "--out", "{dir}"),
            "sweep"),
    CliCase("campaign-out-empty", ("campaign", "{scenario}", "--out", ""), "empty path"),
    CliCase("campaign-out-file", ("campaign", "{scenario}", "--out", "{file}"), "not a folder"),
    CliCase("validate-missing", ("validate", "nowhere.yaml"), "no such file"),
    CliCase("validate-bad", ("validate", "{bad}"), "duration_s"),
    CliCase("validate-binary", ("validate", "{binary}"), "cannot read"),
    CliCase("validate-folder", ("validate", "{dir}"), "no such file"),
    CliCase("show-missing", ("scenario", "show", "nowhere"), "no such file"),
    CliCase("truth-bad-extension", ("truth", "{scenario}", "--out", "t.csv"), "--out"),
    CliCase("truth-bad-scenario", ("truth", "{bad}"), "duration_s"),
    CliCase("plots-out-folder", ("plots", "{scenario}", "--out", "{dir}"), "--out"),
    CliCase("plots-negative-seed", ("plots", "{scenario}", "--out", "p.jsonl", "--seed", "-3"),
            "seed"),
    CliCase("trajectory-unknown", ("trajectory", "82mm", "-e", "45"), "unknown munition"),
    CliCase("trajectory-no-elevation", ("trajectory", "81mm"), "--elevation"),
    CliCase("trajectory-elevation-text", ("trajectory", "81mm", "--elevation", "high"),
            "elevation"),
]
