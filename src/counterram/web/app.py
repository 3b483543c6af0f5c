"""The web view's HTTP interface: the page, the site, the picture, the event stream, the controls.

Why it exists: one FastAPI app serves every feed (simulation, replay, live). Reading is open to
whoever can reach the server (it binds 127.0.0.1 unless told otherwise); changing what is shown
— pause, speed, seek, start a run — needs the token printed at start-up, sent as
``Authorization: Bearer TOKEN`` (or ``X-Counterram-Token``): none is 401, a wrong one 403. A
control's input is validated before it is acted on, and a bad one is a 4xx whose body says what
is wrong (``{"detail": "..."}``); a control the feed has not (seek on a simulation, anything
live) is 409.

Routes: ``GET /`` the page, ``/static/…`` its files (Leaflet among them), ``GET /api/site`` the
site (:mod:`counterram.web.site`), ``GET /api/picture`` the current picture,
``GET /api/stream`` the server-sent events (:mod:`counterram.web.hub`: the picture first, then
every step), ``POST /api/control/{pause,speed,seek,start}``.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from pathlib import Path
from typing import Any, Protocol

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sse_starlette.sse import EventSourceResponse

from counterram.web.hub import Hub
from counterram.web.replay_clock import MAX_SPEED, MIN_SPEED

__all__ = ["STATIC", "ControlError", "Controls", "create_app", "leaflet_missing"]

STATIC = Path(__file__).resolve().parent / "static"
LEAFLET_DIR = STATIC / "vendor" / "leaflet"


class ControlError(Exception):
    """A control the feed cannot carry out (409 with the message)."""


class Controls(Protocol):
    """What the feed lets the controls change; each method may raise :class:`ControlError`."""

    def pause(self, paused: bool) -> None: ...

    def speed(self, speed: float) -> None: ...

    def seek(self, time_s: float) -> float: ...

    def start(self, seed: int | None) -> int: ...


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PauseRequest(_Strict):
    paused: bool


class SpeedRequest(_Strict):
    speed: float = Field(ge=MIN_SPEED, le=MAX_SPEED, description="× the wall clock")

    @field_validator("speed", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


class SeekRequest(_Strict):
    time_s: float

    @field_validator("time_s", mode="before")
    @classmethod
    def _finite(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("must be a finite number of seconds")
        return v


class StartRequest(_Strict):
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)


def leaflet_missing() -> str | None:
    """Why the page cannot draw its map (Leaflet not fetched at install), or None."""
    needed = [LEAFLET_DIR / "leaflet.js", LEAFLET_DIR / "leaflet.css"]
    if all(p.is_file() for p in needed):
        return None
    return (f"Leaflet is missing from {LEAFLET_DIR}: it is fetched from the npm registry when "
            "counterram is installed, which needs Node.js's npm. Install npm (e.g. apt-get "
            "install npm) and reinstall counterram (pip install . or pip install -e .).")


def _readable(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            parts.append("body: not JSON")
            continue
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def create_app(hub: Hub, site: dict[str, Any], controls: Controls, token: str,
               *, tiles: str | None = None) -> FastAPI:
    """The app over ``hub`` (module docstring); ``tiles`` an optional tile URL template for a
    local tile server (``…/{z}/{x}/{y}.png``)."""
    app = FastAPI(title="counterram web view", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _readable(exc)}, status_code=422)

    def authorised(authorization: str | None = Header(default=None),
                   x_counterram_token: str | None = Header(default=None)) -> None:
        given = x_counterram_token
        if given is None and authorization is not None:
            scheme, _, value = authorization.partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else None
        if not given:
            raise HTTPException(401, "this control needs the token printed when the server "
                                "started (Authorization: Bearer TOKEN)",
                                headers={"WWW-Authenticate": "Bearer"})
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(403, "wrong token")

    def act(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except ControlError as exc:
            raise HTTPException(409, str(exc)) from None

    @app.get("/", response_class=HTMLResponse, response_model=None)
    def index() -> Any:
        missing = leaflet_missing()
        if missing is not None:
            return HTMLResponse(
                "<!doctype html><meta charset=utf-8><title>counterram: Leaflet missing</title>"
                f"<h1>The map cannot be drawn</h1><p>{missing}</p>", status_code=503)
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/api/site")
    def get_site() -> dict[str, Any]:
        return {**site, "tiles": tiles}

    @app.get("/api/picture")
    def get_picture() -> dict[str, Any]:
        return hub.picture()

    @app.get("/api/stream")
    async def stream(request: Request) -> EventSourceResponse:
        sub, seq, first = hub.subscribe(asyncio.get_running_loop())

        async def messages() -> Any:
            last = seq
            try:
                yield {"data": first}
                while True:
                    if sub.behind:
                        last, data = hub.resync(sub)
                        yield {"data": data}
                        continue
                    try:
                        number, data = await asyncio.wait_for(sub.queue.get(), timeout=1.0)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        continue
                    if number <= last:
                        continue
                    last = number
                    yield {"data": data}
            finally:
                hub.unsubscribe(sub)

        return EventSourceResponse(messages(), ping=15)

    @app.post("/api/control/pause", dependencies=[Depends(authorised)])
    def pause(body: PauseRequest) -> dict[str, Any]:
        act(controls.pause, body.paused)
        return {"ok": True, "paused": body.paused}

    @app.post("/api/control/speed", dependencies=[Depends(authorised)])
    def speed(body: SpeedRequest) -> dict[str, Any]:
        act(controls.speed, body.speed)
        return {"ok": True, "speed": body.speed}

    @app.post("/api/control/seek", dependencies=[Depends(authorised)])
    def seek(body: SeekRequest) -> dict[str, Any]:
        return {"ok": True, "time_s": act(controls.seek, body.time_s)}

    @app.post("/api/control/start", dependencies=[Depends(authorised)])
    def start(body: StartRequest | None = None) -> dict[str, Any]:
        return {"ok": True, "seed": act(controls.start, None if body is None else body.seed)}

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
