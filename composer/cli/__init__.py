"""The `bulletin` command: a thin click layer over the library.

Each verb lives in its own module and is imported only when it runs, so that
`bulletin compose` never pays for SQLAlchemy or the SendGrid client.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from composer.errors import BulletinError

# verb → "module:attribute"; each module defines one click command or group.
COMMANDS: dict[str, str] = {
    "compose": "composer.cli.compose_cmd:compose",
    "check": "composer.cli.compose_cmd:check",
    "lists": "composer.cli.lists_cmd:lists",
    "send": "composer.cli.send_cmd:send",
    "campaigns": "composer.cli.send_cmd:campaigns",
    "campaign": "composer.cli.send_cmd:campaign",
    "serve": "composer.cli.serve_cmd:serve",
    "preview": "composer.cli.preview_cmd:preview",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


class AppContext:
    """What every verb gets: the workspace root option and the debug flag."""

    def __init__(self, workspace: Path | None, debug: bool) -> None:
        self.workspace_root = workspace
        self.debug = debug

    def workspace(self) -> Any:
        from composer.workspace import load_workspace

        return load_workspace(self.workspace_root)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BULLETIN_WORKSPACE",
    help="Workspace folder (with bulletin.toml). Default: the nearest one above the current folder.",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.version_option(package_name="bulletin")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, debug: bool) -> None:
    """Compose, check, preview and send the GPC England email bulletin."""
    ctx.obj = AppContext(workspace, debug)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI and turns BulletinError into a message and exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="bulletin", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BulletinError as exc:
        if debug:
            raise
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        click.secho(
            f"Unexpected error: {exc.__class__.__name__}: {exc}\n"
            "Run again with --debug for the full traceback.",
            fg="red",
            err=True,
        )
        sys.exit(1)
    sys.exit(0)


