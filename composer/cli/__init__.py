"""The `bulletin` command: a thin click layer over the library.

Each verb lives in its own module and is imported only when it runs, so that
`bulletin compose` never pays for SQLAlchemy or the SendGrid client.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from composer.errors import BulletinError, InputError

# verb → "module:attribute"; each module defines one click command or group.
COMMANDS: dict[str, str] = {
    "compose": "composer.cli.compose_cmd:compose",
    "check": "composer.cli.compose_cmd:check",
    "lists": "composer.cli.lists_cmd:lists",
    "send": "composer.cli.send_cmd:send",
    "campaigns": "composer.cli.send_cmd:campaigns",
    "campaign": "composer.cli.send_cmd:campaign",
    "report": "composer.cli.report_cmd:report",
    "serve": "composer.cli.serve_cmd:serve",
    "preview": "composer.cli.preview_cmd:preview",
    "import": "composer.cli.import_cmd:import_",
    "blocks": "composer.cli.blocks_cmd:blocks",
    "new": "composer.cli.blocks_cmd:new",
    "inbox": "composer.cli.mail_cmd:inbox",
    "dkim": "composer.cli.mail_cmd:dkim",
    "approve": "composer.cli.signoff_cmd:approve",
    "approvals": "composer.cli.signoff_cmd:approvals",
    "review": "composer.cli.signoff_cmd:review",
    "schedule": "composer.cli.signoff_cmd:schedule",
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

    def invoke(self, ctx: click.Context) -> Any:
        """Turn library errors into one clear message and an exit code, no traceback."""
        try:
            return super().invoke(ctx)
        except BulletinError as exc:
            if _debug(ctx):
                raise
            # Paths as staff know them: relative to the workspace once it is known.
            shown = exc.describe(_root(ctx)) if isinstance(exc, InputError) else str(exc)
            raise UserFacingError(shown, exc.exit_code) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if _debug(ctx):
                raise
            raise UserFacingError(
                f"unexpected {exc.__class__.__name__}: {exc}\n"
                "Run again with --debug for the full traceback.",
                1,
            ) from exc


class UserFacingError(click.ClickException):
    """A message for the person at the terminal, with the library's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        from composer.safetext import printable

        # Messages quote values from files and providers: escape what would drive a terminal.
        click.secho(f"Error: {printable(self.format_message(), keep_newlines=True)}", fg="red", err=True)


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(AppContext)
    return bool(obj and obj.debug)


def _root(ctx: click.Context) -> Path | None:
    obj = ctx.find_object(AppContext)
    return obj.loaded_root if obj else None


class AppContext:
    """What every verb gets: the workspace root option and the debug flag."""

    def __init__(self, workspace: Path | None, debug: bool) -> None:
        self.workspace_root = workspace
        self.debug = debug
        self.loaded_root: Path | None = None  # the workspace's folder, once it is loaded

    def workspace(self) -> Any:
        from composer.workspace import load_workspace

        loaded = load_workspace(self.workspace_root)
        self.loaded_root = Path(loaded.root)
        return loaded


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
    """Entry point for the console script."""
    cli.main(args=argv, prog_name="bulletin")
