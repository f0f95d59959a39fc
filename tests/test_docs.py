"""Docs that cannot go stale (as sqlite-utils' tests/test_docs.py does for its CLI).

The module table in docs/ARCHITECTURE.md names every module under composer/ and nothing
that is gone; every command and option of `bulletin` appears in the README or docs/*.md.

A table row names one module (`composer/errors.py`) or a folder (`composer/compose/`).
In a folder row, the backticked names outside parentheses are its modules (`yamlsource`,
`models.py`) or sub-folders (`transports/`), and the names in the parentheses right
after a sub-folder are that sub-folder's modules. Other backticks (functions, classes)
sit inside the parentheses after a module.
"""

from __future__ import annotations

import re

import click
import pytest

from composer.cli import cli
from tests.support import REPO

COMPOSER = REPO / "composer"
ARCHITECTURE = REPO / "docs" / "ARCHITECTURE.md"
_TOKEN = re.compile(r"`([^`]+)`|\(|\)")
_MODULE_NAME = re.compile(r"[a-z_][a-z0-9_]*(?:\.py)?")


def _module_files() -> set[str]:
    found = set()
    for path in COMPOSER.rglob("*.py"):
        rel = path.relative_to(REPO).as_posix()
        if path.name == "__init__.py" or "/migrations/versions/" in rel:
            continue
        found.add(rel)
    return found


def _table_rows() -> list[tuple[str, str]]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Packages and who owns what", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`composer"):
            rows.append((cells[0].strip("`"), cells[1]))
    return rows


def _as_path(folder: str, name: str) -> str:
    if name.endswith("/"):
        return folder + name
    return folder + (name if name.endswith(".py") else name + ".py")


def _folder_row(folder: str, cell: str) -> set[str]:
    """The module and folder paths a folder row names (see the module docstring)."""
    named: set[str] = set()
    depth, last_top = 0, ""
    for match in _TOKEN.finditer(cell):
        token = match.group(0)
        if token in "()":
            depth += 1 if token == "(" else -1
            continue
        name = match.group(1)
        if depth == 0 and (name.endswith("/") or _MODULE_NAME.fullmatch(name)):
            named.add(_as_path(folder, name))
            last_top = name
        elif depth == 1 and last_top.endswith("/") and _MODULE_NAME.fullmatch(name):
            named.add(_as_path(folder + last_top, name))
    return named


def _named_paths() -> set[str]:
    named: set[str] = set()
    for first, description in _table_rows():
        if "<" in first:  # composer/cli/<area>_cmd.py: the modules are in the description
            named |= _folder_row(first.rsplit("/", 1)[0] + "/", description)
        elif first.endswith("/"):
            named.add(first)
            named |= _folder_row(first, description)
        else:
            named.add(first)
    return named


def test_the_module_table_names_every_module() -> None:
    missing = sorted(_module_files() - _named_paths())
    assert not missing, f"docs/ARCHITECTURE.md's module table does not name: {missing}"


def test_the_module_table_names_nothing_that_is_gone() -> None:
    gone = sorted(p for p in _named_paths() if not (REPO / p).exists())
    assert not gone, f"docs/ARCHITECTURE.md's module table names what does not exist: {gone}"


def _docs_text() -> str:
    parts = [(REPO / "README.md").read_text(encoding="utf-8")]
    parts += [p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md"))]
    return "\n".join(parts)


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    """Every command under `group`, with its full name, the LazyGroup's lazy ones included."""
    ctx = click.Context(group, info_name=prefix)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{prefix} {name} cannot be loaded"
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
    return found


COMMANDS = _commands(cli, "bulletin")


def test_every_command_has_help() -> None:
    undocumented = [name for name, command in COMMANDS if not (command.help or "").strip()]
    assert not undocumented


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_and_option_is_in_the_docs(name: str, command: click.Command) -> None:
    docs = _docs_text()
    assert f"`{name}" in docs, f"`{name}` is not in README.md or docs/*.md"
    options = [
        opt
        for param in command.params
        if isinstance(param, click.Option)
        for opt in param.opts + param.secondary_opts
        if opt.startswith("--") and opt != "--help"
    ]
    missing = [opt for opt in options if not re.search(rf"{re.escape(opt)}(?![\w-])", docs)]
    assert not missing, f"{name}: options not in README.md or docs/*.md: {missing}"


def test_the_group_options_are_in_the_docs() -> None:
    docs = _docs_text()
    for param in cli.params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert re.search(rf"{re.escape(opt)}(?![\w-])", docs), opt


def test_the_table_helpers_read_a_folder_row() -> None:
    cell = "`runner` (`send_bulletin`), `transports/` (`base`, `smtp`), `models.py` (`x`)"
    assert _folder_row("composer/send/", cell) == {
        "composer/send/runner.py",
        "composer/send/transports/",
        "composer/send/transports/base.py",
        "composer/send/transports/smtp.py",
        "composer/send/models.py",
    }
