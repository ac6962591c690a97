"""The ``billport`` command: one module per command group, imported only when needed.

``billport token`` loads the token command's module and nothing else; ``billport --help``
(which shows every command's summary) loads them all.
"""

from __future__ import annotations

import importlib
import sys

import click

from billport import __version__
from billport.errors import BillportError

# command name -> "module:attribute" under billport.cli
COMMANDS = {
    "serve": "server:serve",
    "worker": "server:worker",
    "seed": "data:seed",
    "token": "token:token",
    "clients": "clients:clients",
    "scenario": "sandbox:scenario",
    "requests": "sandbox:requests",
    "invoices": "invoices:invoices",
    "line-items": "line_items:line_items",
    "export": "export:export",
    "reconcile": "reconcile:reconcile",
    "import": "imports:import_command",
    "resellers": "resellers:resellers",
    "doctor": "doctor:doctor",
    "verify": "sync:verify",
    "sync": "sync:sync",
}


class BillportGroup(click.Group):
    """Loads each command's module on first use, and turns domain errors into a one-line
    message and a non-zero exit code.

    The code is the error's ``exit_code`` when it has one (the client's: 3 authentication,
    4 remote failure), else 2 like a usage error. Reconciliation mismatches exit 1.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module, _, attribute = COMMANDS[name].partition(":")
            command = getattr(importlib.import_module(f"billport.cli.{module}"), attribute)
            self.add_command(command, name)
        return super().get_command(ctx, name)

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
