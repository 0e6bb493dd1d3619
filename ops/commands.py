"""What every `jalon` command shares: an OpsError (or a refusal) ends it with one line on
stderr and exit code 1, never a traceback."""
from __future__ import annotations

import functools

import typer

from ops.broker import OpsError


def reported(command):
    """The command, its OpsError printed as `jalon: <reason>` with exit code 1."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except OpsError as exc:
            typer.echo(f"jalon: {exc}", err=True)
            raise typer.Exit(1) from None
    return run
