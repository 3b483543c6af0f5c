"""The ``counterram`` command: a thin layer over the Python API, one sub-command per job."""

from __future__ import annotations

from typing import Annotated

import typer

from counterram import __version__
from counterram.commands.campaign import campaign
from counterram.commands.engine_live import engine_live
from counterram.commands.munitions import munitions
from counterram.commands.plan import plan
from counterram.commands.plots import plots
from counterram.commands.replay import replay
from counterram.commands.run import run
from counterram.commands.scenario import scenario_app, scenarios, validate
from counterram.commands.serve import serve
from counterram.commands.trajectory import trajectory
from counterram.commands.truth import truth

app = typer.Typer(
    name="counterram",
    help=(
        "Counter-rocket, artillery and mortar (C-RAM) kill chain in simulation: threats, radars, "
        "tracking, warning and engagement. Simulation and decision support only."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"counterram {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """counterram: C-RAM kill chain simulation and decision support."""


app.command("run")(run)
app.command("engine")(engine_live)
app.command("replay")(replay)
app.command("campaign")(campaign)
app.command("plan")(plan)
app.command("trajectory")(trajectory)
app.command("munitions")(munitions)
app.command("scenarios")(scenarios)
app.command("validate")(validate)
app.add_typer(scenario_app, name="scenario")
app.command("truth")(truth)
app.command("plots")(plots)
app.command("serve")(serve)

if __name__ == "__main__":  # pragma: no cover
    app()
