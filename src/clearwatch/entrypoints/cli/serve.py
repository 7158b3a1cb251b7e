"""`clearwatch serve`: the HTTP API (uvicorn) over the store the environment names.

Nothing else needs starting: on the embedded default the store is created on first use, and a
PostgreSQL store must have been initialised (`clearwatch init`). The server keeps no state of
its own, so several may serve one PostgreSQL, each with the same access-token key. uvicorn's
access log prints the request line and status only, never a header: no token reaches the log.
With `CLEARWATCH_SERVE_WORKER_USER` set, each server process also sweeps deadlines and runs the
delivery worker in the background (`entrypoints/api/cases_jobs.py`), and stops them with itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from clearwatch.bootstrap import Application
from clearwatch.config import SERVE_WORKER_USER
from clearwatch.entrypoints.cli.common import EXIT_USAGE, application, console, fail

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
API_FACTORY = "clearwatch.entrypoints.api.app:app_from_environment"


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", exists=True, dir_okay=False, help="PEM certificate: TLS."),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option("--tls-key", exists=True, dir_okay=False, help="PEM key of --tls-cert."),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Server processes (same store).")
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log each request's line.")
    ] = True,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) on the store the environment names."""
    import uvicorn

    if (tls_cert is None) != (tls_key is None):
        raise fail("--tls-cert and --tls-key go together", EXIT_USAGE)
    wired = application()
    wired.ensure_store()  # a PostgreSQL store never initialised is refused now, not per request
    scheme = "http" if tls_cert is None else "https"
    console.print(
        Text.assemble(
            ("clearwatch API", "green"),
            f" on {scheme}://{host}:{port} (OpenAPI at /docs; store at "
            f"{wired.settings.shown_database_url})",
        )
    )
    _say_background(wired)
    if tls_cert is None and host not in LOOPBACK_HOSTS:
        console.print(
            Text("warning: serving without TLS beyond this machine: tokens cross in clear")
        )
    if workers == 1:
        from clearwatch.entrypoints.api.app import create_app, served_for_life
        from clearwatch.entrypoints.api.cases_jobs import serve_jobs

        target: object = served_for_life(create_app(wired, jobs=serve_jobs(wired)))
    else:
        wired.dispose()
        target = API_FACTORY  # each process builds its own application from the environment
    uvicorn.run(
        target,  # type: ignore[arg-type]
        factory=workers > 1,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        proxy_headers=False,  # the client address logged is the peer's, not a header's claim
        server_header=False,
        access_log=access_log,
        log_level="info",
    )


def _say_background(wired: Application) -> None:
    """Which background jobs run, as whom: an operator sees at start what the server does."""
    settings = wired.settings
    if settings.serve_worker_user is None:
        console.print(Text(f"background sweep and delivery off ({SERVE_WORKER_USER} unset)"))
        return
    every = {"sweep": settings.serve_sweep_seconds, "delivery": settings.serve_deliver_seconds}
    running = ", ".join(f"{name} every {s} s" for name, s in every.items() if s > 0) or "none"
    console.print(Text(f"background as {settings.serve_worker_user}: {running}"))
