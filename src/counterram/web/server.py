"""Serving the web view: where it listens, its token, and uvicorn in front or in a thread.

Why it exists: the three ways in (``counterram serve SCENARIO``, ``serve --replay``,
``engine … --serve``) share how the server starts. It binds its socket itself (127.0.0.1 by
default; any other host gets a warning, since the page then shows the site to the network; a
port in use is a one-line error, not a traceback; port 0 picks a free one), makes the control
token, prints where to look, and runs uvicorn on that socket: in the foreground for ``serve``,
in a thread beside the engine for ``engine --serve``.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
from typing import Any

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "WebServer", "bind", "host_warning", "is_loopback",
           "new_token"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8017


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_warning(host: str) -> str | None:
    """The warning for listening beyond this machine, or None on loopback."""
    if is_loopback(host):
        return None
    return (f"listening on {host}: anyone who can reach it sees the site and the air picture "
            "(the controls still need the token); the default is 127.0.0.1")


def bind(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (OSError when it cannot be had)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def new_token() -> str:
    """A fresh control token (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class WebServer:
    """uvicorn serving ``app`` on ``sock`` (from :func:`bind`)."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        import uvicorn

        self.sock = sock
        config = uvicorn.Config(app, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C or SIGTERM)."""
        self.server.run(sockets=[self.sock])

    def start(self) -> None:
        """Serve in a daemon thread (the caller's thread goes on)."""
        self._thread = threading.Thread(target=self.run, name="counterram-web", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop a server started with :meth:`start`."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait(self) -> None:
        """Block until the server thread ends; Ctrl-C stops it."""
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            self.stop()
