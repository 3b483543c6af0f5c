"""The ``plots`` command: a scenario's simulated radar plots as JSON Lines or ASTERIX, written to
a file or sent as a paced UDP feed (``--send``, :mod:`counterram.sources.udp_sender`), and when
each round is first seen.

A few lines over :func:`counterram.world.build_truth`,
:func:`counterram.sensors.radar.simulate_plots`, :func:`counterram.sensors.plotio.write_plots` and
:func:`counterram.sensors.visibility.visibility`.
The file feeds the engine (or any tracker) exactly as a live plot stream would; the table bounds
the warning time the radars allow.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from counterram.commands.out_folder import out_file_problem
from counterram.scenario import Scenario, ScenarioError, load_scenario
from counterram.sensors.asterix import ASTERIX_SUFFIX, AsterixEncoder, encode_plots, tod_offset
from counterram.sensors.plotio import write_plots
from counterram.sensors.plots import FALSE_ALARM_ID, PlotBatch, PlotTruth, SensorInfo
from counterram.sensors.radar import merge_scans, radars_from_scenario, simulate_plots
from counterram.sensors.visibility import Visibility, visibility

__all__ = ["plots", "visibility_table"]

EXIT_INVALID = 2


def _fail(lines: list[str]) -> None:
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    for line in lines:
        console.print(Text(line, style="red"))
    raise typer.Exit(code=EXIT_INVALID)


def _s(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.1f}"


def visibility_table(vis: Visibility, title: str = "First detection per round") -> Table:
    """A rich table: per round, when it flew, who saw it first and when, and per sensor the
    first detection (s after launch) and the number of plots."""
    table = Table(title=title)
    for name, justify in (("round", "right"), ("munition", "left"), ("launch s", "right"),
                          ("flight s", "right"), ("first seen by", "left"),
                          ("after launch s", "right"), ("before impact s", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name in vis.sensor_name:
        table.add_column(f"{name}\nfirst s / plots", justify="right")
    first_sensor = vis.first_any_sensor
    for i in range(vis.round_id.size):
        launch = vis.launch_time_s[i]
        cells = [
            f"{vis.first_s[i, j] - launch:.1f} / {vis.count[i, j]}"
            if vis.count[i, j] else "— / 0"
            for j in range(len(vis.sensor_name))
        ]
        table.add_row(
            str(vis.round_id[i]), vis.munition[i], f"{launch:.1f}",
            f"{vis.impact_time_s[i] - launch:.1f}", first_sensor[i] or "never",
            _s(vis.after_launch_s[i]), _s(vis.before_impact_s[i]), *cells,
        )
    return table


def _asterix(batch: PlotBatch, infos: list[SensorInfo],
             epoch: str | None) -> tuple[bytes, AsterixEncoder]:
    """The plots as CAT 048 data blocks; a sensor id beyond SAC/SIC's 16 bits is an error."""
    try:
        return encode_plots(batch, infos, tod_offset_s=tod_offset(epoch))
    except ValueError as exc:
        _fail([f"--out: cannot write ASTERIX: {exc}"])
        raise


def plots(
    scenario: Annotated[str, typer.Argument(help="A built-in scenario name or a scenario file.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write: JSON Lines, "
                                             "or ASTERIX CAT 048 when it ends in .ast.")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's seed).", min=0)
    ] = None,
    truth_cues: Annotated[
        bool,
        typer.Option(
            "--truth-cues/--no-truth-cues",
            help="Cue fire-control radars at every round in flight (what a perfectly cued radar "
            "sees); without it they make no looks, as no engine cues them.",
        ),
    ] = False,
    no_truth: Annotated[
        bool, typer.Option("--no-truth", help="Leave truth_round_id out of the file (and of "
                           "sent JSON lines).")
    ] = False,
    send: Annotated[
        str | None, typer.Option("--send", help="Send the plots as UDP datagrams to "
                                 "udp://127.0.0.1:PORT, one plot each, at their report times.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="--send: asterix (CAT 048) or jsonl.")
    ] = "asterix",
    speed: Annotated[
        float, typer.Option(help="--send: time scale (1 = real time, 10 = ten times faster, "
                            "0 = as fast as possible).")
    ] = 1.0,
    drop: Annotated[
        float, typer.Option(help="--send: fraction of plot datagrams to drop, drawn from "
                            "--seed.")
    ] = 0.0,
) -> None:
    """Simulate a scenario's radar plots, write them to a file (--out) or send them as a paced
    UDP feed (--send), and print when each round is first detected."""
    if out is None and send is None:
        _fail(["--out FILE or --send udp://127.0.0.1:PORT is required"])
    port = None
    if send is not None:
        from counterram.sources.udp_sender import SendError, check_options, parse_send_url

        try:
            port = parse_send_url(send)
            check_options(fmt, speed, drop)
        except SendError as exc:
            _fail([str(exc)])
    if out is not None:
        problem = out_file_problem(out)
        if problem:
            _fail([problem])
    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        _fail([str(p) for p in exc.problems])
    from counterram.world import build_truth

    try:
        truth = build_truth(sc, seed=seed)
    except ValueError as exc:
        _fail([f"{scenario}: cannot build the scenario's flights: {exc}"])
    radars = radars_from_scenario(sc)
    scans = simulate_plots(truth, sc, seed=seed, truth_cues=truth_cues)
    batch, labels = merge_scans(scans)
    infos = [r.info for r in radars]
    run_seed = sc.seed if seed is None else seed
    if port is not None:
        _send(batch, None if no_truth else labels, infos, sc, port, fmt=fmt, speed=speed,
              drop=drop, seed=run_seed)
    if out is None:
        return
    try:
        if out.suffix.lower() == ASTERIX_SUFFIX:
            data, encoder = _asterix(batch, infos, sc.epoch)
            out.write_bytes(data)
            n = len(batch) - encoder.total_skipped
        else:
            n = write_plots(
                out, batch, infos, None if no_truth else labels,
                scenario=sc.name, seed=run_seed,
            )
    except OSError as exc:
        _fail([f"--out: cannot write {str(out)!r}: {exc.strerror or exc}"])
    vis = visibility(truth, batch, labels, radars)
    console = Console()
    console.print(visibility_table(vis, f"{sc.name}: first detection per round"))
    false = int((labels.round_id == FALSE_ALARM_ID).sum())
    detected = int(vis.detected.sum())
    console.print(
        f"{n} plots ({false} false alarms) from {len(radars)} radars in {len(scans)} scans; "
        f"{detected} of {vis.round_id.size} rounds detected; written to {out}"
    )
    if any(r.cued for r in radars) and not truth_cues:
        console.print("fire-control radars look only where cued: use --truth-cues to see what "
                      "a perfectly cued one would report")


def _send(batch: PlotBatch, labels: PlotTruth | None, infos: list[SensorInfo], sc: Scenario,
          port: int, *, fmt: str, speed: float, drop: float, seed: int) -> None:
    """Send the plots to 127.0.0.1:``port`` (:mod:`counterram.sources.udp_sender`) and print
    what was sent and dropped."""
    from counterram.sources.udp_sender import (
        asterix_datagrams,
        drop_mask,
        jsonl_datagrams,
        send_datagrams,
    )

    header = None
    skipped = 0
    if fmt == "asterix":
        try:
            datagrams, encoder = asterix_datagrams(batch, infos, tod_offset_s=tod_offset(sc.epoch))
        except ValueError as exc:
            _fail([f"--send: cannot send ASTERIX: {exc}"])
            raise
        skipped = encoder.total_skipped
    else:
        header, datagrams = jsonl_datagrams(batch, infos, labels, scenario=sc.name, seed=seed)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    pace = "as fast as possible" if speed == 0 else f"at {speed:g}× real time"
    console.print(f"sending {len(datagrams)} plots ({fmt}) to udp://127.0.0.1:{port} {pace}")
    stats = send_datagrams(datagrams, port, speed=speed, header=header,
                           drop=drop_mask(len(datagrams), drop, seed))
    rate = f"{stats.rate:,.0f}" if stats.wall_s > 0 else "—"
    line = (f"sent {stats.sent} plot datagrams, dropped {stats.dropped}"
            f"{f', {stats.headers} headers' if header is not None else ''} in "
            f"{stats.wall_s:.1f} s ({rate} datagrams/s, {stats.stream_s:.1f} s of plots; "
            f"at most {stats.late_max_s * 1e3:.0f} ms behind schedule)")
    if skipped:
        line += f"; {skipped} plots could not be encoded"
    if stats.errors:
        line += f"; {stats.errors} refused by the socket (no receiver?)"
    Console(highlight=False, soft_wrap=True).print(line)
