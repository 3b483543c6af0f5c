"""The ``--tak URL`` option of ``run``, ``engine`` and ``replay``: a Cursor-on-Target feed.

One place that turns the option's URLs into a :class:`~counterram.sinks.cot.CotSink` (a bad
URL is one line naming the option and the allowed forms, exit code 2, never a traceback) and
prints what each destination got at the end.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from counterram.sinks.cot import CotSink
from counterram.sinks.cot_transport import ALLOWED_FORMS, TakUrlError, parse_tak_url

__all__ = ["TakOption", "cot_sink", "print_tak"]

TakOption = Annotated[
    list[str] | None,
    typer.Option("--tak", metavar="URL", help="Send Cursor on Target to a TAK server or client "
                 "(repeatable): tcp://HOST:PORT, udp://HOST:PORT or tls://HOST:PORT"
                 "[?cert=FILE&key=FILE&ca=FILE] (docs/cot.md)."),
]


def cot_sink(urls: Sequence[str] | None, error: Callable[[str], NoReturn]) -> CotSink | None:
    """The CoT sink of the ``--tak`` URLs (None without any); ``error(message)`` on a bad one."""
    if not urls:
        return None
    for url in urls:
        try:
            parse_tak_url(url)
        except TakUrlError as exc:
            error(f"--tak {url!r}: {exc}; allowed: {ALLOWED_FORMS}")
    try:
        return CotSink(list(urls))
    except (ssl.SSLError, OSError, ValueError) as exc:  # a certificate or key that won't load
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        error(f"--tak: cannot set up TLS: {reason}")


def print_tak(sink: CotSink | None, console: Console | None = None) -> None:
    """One line per destination: sent, dropped, unsent, reconnections."""
    if sink is None:
        return
    console = console or Console(highlight=False)
    for stats in sink.stats:
        console.print(stats.describe(), highlight=False)
