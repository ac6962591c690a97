"""``billport scenario show|set|reset`` and ``billport requests``, against a running server."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson

from billport.billing.ids import check_tenant_id
from billport.cli.admin_client import AdminClient, admin_token, server_url
from billport.cli.options import build_settings
from billport.errors import InvalidRequest

F = TypeVar("F", bound=Callable[..., Any])


def admin_options(func: F) -> F:
    """``--server``, ``--admin-token`` and ``--data-dir`` (where to find the admin token)."""
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="The server's data dir, to read its admin token. [env: BILLPORT_DATA_DIR]",
    )(func)
    func = click.option(
        "--admin-token",
        default=None,
        help="Admin token. [env: BILLPORT_ADMIN_TOKEN; default: read from the data dir]",
    )(func)
    func = click.option(
        "--server",
        default=None,
        help="Base URL of the server. [default: BILLPORT_PUBLIC_URL, else http://HOST:PORT]",
    )(func)
    return func


def _client(server: str | None, token: str | None, data_dir: str | None) -> AdminClient:
    settings = build_settings(data_dir=data_dir)
    return AdminClient(server_url(settings, server), admin_token(settings, token))


def _echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def _scenario_path(tenant: str | None) -> str:
    """The admin path; a tenant id that is not one (``../x``) never reaches a URL."""
    return f"/tenants/{check_tenant_id(tenant, '--tenant')}/scenario" if tenant else "/scenario"


@click.group()
def scenario() -> None:
    """Show, set or reset the sandbox scenario of a running server."""


@scenario.command("show")
@admin_options
@click.option("--tenant", default=None, help="The scenario in force for this partner tenant.")
def scenario_show(
    server: str | None, admin_token: str | None, data_dir: str | None, tenant: str | None
) -> None:
    """Print the scenario in force (and where it comes from) as JSON."""
    with _client(server, admin_token, data_dir) as client:
        _echo_json(client.call("GET", _scenario_path(tenant)))


@scenario.command("set")
@admin_options
@click.option("--tenant", default=None, help="Set this partner tenant's own scenario.")
@click.argument("source", type=click.File("rb"))
def scenario_set(
    server: str | None,
    admin_token: str | None,
    data_dir: str | None,
    tenant: str | None,
    source: Any,
) -> None:
    """Replace the scenario with the JSON document in SOURCE (a file, or - for stdin)."""
    raw = source.read()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        name = getattr(source, "name", "-")
        where = "stdin" if name in ("-", "<stdin>") or not isinstance(name, str) else name
        raise InvalidRequest(f"{where} is not valid JSON: {exc}") from None
    with _client(server, admin_token, data_dir) as client:
        _echo_json(client.call("PUT", _scenario_path(tenant), json=document))


@scenario.command("reset")
@admin_options
@click.option("--tenant", default=None, help="Only drop this tenant's own scenario.")
def scenario_reset(
    server: str | None, admin_token: str | None, data_dir: str | None, tenant: str | None
) -> None:
    """Drop run-time scenarios (all of them, or one tenant's): back to the settings."""
    with _client(server, admin_token, data_dir) as client:
        _echo_json(client.call("DELETE", _scenario_path(tenant)))


def _log_line(row: dict[str, Any]) -> str:
    extra = []
    if row["fault"]:
        extra.append(f"fault={row['fault']}")
    if row["retryAfter"] is not None:
        extra.append(f"retry-after={row['retryAfter']}")
    if row["injectedDelayMs"]:
        extra.append(f"delay={row['injectedDelayMs']}ms")
    status = row["status"] or "dropped"
    return (
        f"{row['time']}  {row['client'][:36]:<36}  {row['method']:<6} {status!s:>7}  "
        f"{row['latencyMs']:>6}ms  {row['path']}  {' '.join(extra)}".rstrip()
    )


def _report_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for client in report["clients"]:
        verdict = "PASS" if client["compliant"] else "FAIL"
        lines.append(
            f"{verdict}  {client['client']}: {client['requests']} requests, "
            f"{client['retriesChecked']} retries after a Retry-After, "
            f"{len(client['violations'])} too early"
        )
        for v in client["violations"]:
            lines.append(
                f"      {v['resource']}: told to wait {v['retryAfter']}s at {v['toldAt']}, "
                f"came back after {v['waitedSeconds']}s"
            )
    return lines or ["no requests logged"]


@click.command()
@admin_options
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--client", "client_id", default=None, help="Only this client (token azp/appid).")
@click.option("--compliance", "only_report", is_flag=True, help="Only the compliance report.")
@click.option("--check", is_flag=True, help="Exit with status 1 when a client is not compliant.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON of both.")
def requests(
    server: str | None,
    admin_token: str | None,
    data_dir: str | None,
    limit: int,
    client_id: str | None,
    only_report: bool,
    check: bool,
    as_json: bool,
) -> None:
    """The request log of a running server and its client-compliance report.

    The report checks, for every response that carried Retry-After (running operations,
    429, 503), that the client's next call to the same resource came at least that late.
    """
    params = {"client": client_id} if client_id else {}
    with _client(server, admin_token, data_dir) as client:
        log = (
            None
            if only_report
            else client.call("GET", "/requests", params={**params, "limit": limit})
        )
        report = client.call("GET", "/compliance", params=params)
    if as_json:
        _echo_json({"requests": log, "compliance": report} if log is not None else report)
    else:
        if log is not None:
            for row in log["value"]:
                click.echo(_log_line(row))
            click.echo("")
        for line in _report_lines(report):
            click.echo(line)
    if check and not report["compliant"]:
        sys.exit(1)
