"""``billport serve`` and ``billport worker``."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import TYPE_CHECKING

import click

from billport.cli.options import blob_options, build_settings, setting_help, store_options

if TYPE_CHECKING:
    import socket

    from billport.cli.tls import TlsFiles
    from billport.runtime import Runtime
    from billport.settings import Settings


@click.command()
@store_options
@blob_options
@click.option("--host", default=None, help=setting_help("host", "Bind address."))
@click.option("--port", type=int, default=None, help=setting_help("port", "Port."))
@click.option("--public-url", default=None, help="Base URL used in Location and download links.")
@click.option(
    "--worker/--no-worker", default=None, help="Run an in-process export worker (default on)."
)
@click.option(
    "--demo", is_flag=True, help="Seed the demo dataset if the store is empty; print a token."
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help=setting_help("scenario", "Sandbox scenario JSON file: the server-wide default."),
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the port (each with its in-process worker).",
)
@click.option(
    "--tls", is_flag=True, help="Serve HTTPS with a local CA and certificate in <data dir>/tls."
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Serve HTTPS with this certificate (PEM, chain included) instead; needs --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="The unencrypted PEM private key of --tls-cert.",
)
def serve(
    data_dir: str | None,
    database_url: str | None,
    host: str | None,
    port: int | None,
    public_url: str | None,
    worker: bool | None,
    demo: bool,
    scenario_file: str | None,
    workers: int,
    tls: bool,
    tls_cert: str | None,
    tls_key: str | None,
    **blob_flags: str | None,
) -> None:
    """Run the API server (FastAPI on uvicorn)."""
    from billport.cli.listen import listening_socket
    from billport.cli.tls import serving_tls

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if workers > 1 and not hasattr(os, "fork"):
        raise click.UsageError("--workers needs a system with fork() (Linux, macOS)")

    settings = build_settings(
        data_dir=data_dir,
        database_url=database_url,
        host=host,
        port=port,
        public_url=public_url,
        worker=worker,
        scenario=f"@{scenario_file}" if scenario_file else None,
        **blob_flags,
    )
    # Before the store and the banner: a taken port is its own error (exit code 5).
    sock = listening_socket(settings.host, settings.port)
    try:
        secure = serving_tls(settings, local=tls, cert=tls_cert, key=tls_key, echo=click.echo)
        _serve(settings, sock, demo, secure, workers)
    finally:
        sock.close()


def _serve(
    settings: Settings, sock: socket.socket, demo: bool, tls: TlsFiles | None, workers: int
) -> None:
    """Open the store, print the banner (``--demo``) and run the app on ``sock``: in this
    process, or in ``workers`` forked ones (billport.cli.server_processes)."""
    from billport.runtime import open_runtime

    runtime = open_runtime(settings)
    if demo:
        from billport.seed.demo import announce_demo, ensure_demo

        created = ensure_demo(runtime.db, settings, runtime.clock)  # secrets exist only now
        announce_demo(_announced(runtime, sock, tls), click.echo, created or ())
    if workers == 1:
        _run_app(runtime, sock, tls)
        return
    from billport.cli.server_processes import ServerProcesses

    runtime.db.dispose()  # each child opens its own: no connection crosses a fork
    click.echo(f"Starting {workers} server processes on one port")

    def serve_one() -> None:
        _run_app(open_runtime(settings), sock, tls)

    code = ServerProcesses(workers, serve_one, lambda line: click.echo(line, err=True)).run()
    if code:
        sys.exit(code)


def _run_app(runtime: Runtime, sock: socket.socket, tls: TlsFiles | None) -> None:
    """Run the app over ``runtime`` with uvicorn on ``sock`` until it stops."""
    from billport.cli.listen import serve_on
    from billport.cli.tls import uvicorn_options
    from billport.server.access_log import log_config
    from billport.server.app import create_app
    from billport.server.protocol import protocol_options

    settings = runtime.settings
    app = create_app(settings, runtime=runtime)
    try:
        serve_on(
            app,
            sock,
            log_level="info",
            log_config=log_config(),  # no SAS signature or token in the log
            timeout_keep_alive=settings.keep_alive_seconds,
            **uvicorn_options(tls),
            **protocol_options(),  # 414/431 for an over-long request head, never a reset
        )
    finally:
        runtime.db.dispose()


def _announced(runtime: Runtime, sock: socket.socket, tls: TlsFiles | None) -> Runtime:
    """``runtime`` as the demo banner sees it: its example URLs say https under TLS."""
    from billport.cli.listen import display

    if tls is None or runtime.settings.public_url:
        return runtime
    url = f"https://{display(*sock.getsockname()[:2])}"
    return dataclasses.replace(runtime, settings=runtime.settings.replace(public_url=url))


@click.command()
@store_options
@blob_options
@click.option("--once", is_flag=True, help="Drain the queue, then exit.")
@click.option("--name", default=None, help="Worker name shown in leases (default host:pid).")
def worker(
    data_dir: str | None,
    database_url: str | None,
    once: bool,
    name: str | None,
    **blob_flags: str | None,
) -> None:
    """Run a standalone export worker."""
    from billport.jobs.worker import run_standalone

    settings = build_settings(data_dir=data_dir, database_url=database_url, **blob_flags)
    run_standalone(settings, once=once, name=name)
