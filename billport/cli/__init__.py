"""The ``billport`` command: one module per command group."""

from __future__ import annotations

import sys

import click

from billport import __version__
from billport.errors import BillportError


class BillportGroup(click.Group):
    """Turns domain errors into a one-line message and a non-zero exit code.

    The code is the error's ``exit_code`` when it has one (the client's: 3 authentication,
    4 remote failure), else 2 like a usage error. Reconciliation mismatches exit 1.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BillportError as exc:
            click.echo(f"billport: error: {exc.message}", err=True)
            sys.exit(getattr(exc, "exit_code", 2))


@click.group(cls=BillportGroup)
@click.version_option(__version__, prog_name="billport")
def main() -> None:
    """billport: Microsoft CSP partner billing APIs, self-hosted, and their client."""


def _register() -> None:
    from billport.cli import data, export, invoices, reconcile, sandbox, server, token

    main.add_command(server.serve)
    main.add_command(server.worker)
    main.add_command(data.seed)
    main.add_command(token.token)
    main.add_command(sandbox.scenario)
    main.add_command(sandbox.requests)
    main.add_command(invoices.invoices)
    main.add_command(export.export)
    main.add_command(reconcile.reconcile)


_register()
