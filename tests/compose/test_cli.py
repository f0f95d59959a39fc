"""The compose and check commands, through CliRunner and a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from composer.cli import COMMANDS, cli
from tests.compose.helpers import MINIMAL, write_bulletin


def run(workspace_dir: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--workspace", str(workspace_dir), *args])


def test_compose_writes_every_file(workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir)
    result = run(workspace_dir, "compose", str(path))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = workspace_dir / "out" / "test"
    for segment in ("lmc", "practice", "registrar"):
        for suffix in ("html", "txt", "eml"):
            assert (out / f"{segment}.{suffix}").is_file()
    assert (out / "archive.html").is_file() and (out / "report.json").is_file()


def test_compose_one_segment_to_a_chosen_folder(workspace_dir: Path, tmp_path: Path) -> None:
    path = write_bulletin(workspace_dir)
    result = run(workspace_dir, "compose", str(path), "--segment", "registrar", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert sorted(p.name for p in (tmp_path / "o").glob("*.html")) == ["archive.html", "registrar.html"]


def test_check_exits_1_on_errors_and_0_on_warnings(workspace_dir: Path) -> None:
    ok = write_bulletin(workspace_dir, MINIMAL.replace("[the contract guidance]", "[here]"), name="ok.yaml")
    result = run(workspace_dir, "check", str(ok))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "does not say where it goes" in result.output  # type: ignore[attr-defined]
    bad = write_bulletin(workspace_dir, MINIMAL.replace("{{ first_name }}", "{{ fist_name }}"), name="bad.yaml")
    result = run(workspace_dir, "check", str(bad))
    assert result.exit_code == 1
    assert "fist_name" in result.output  # type: ignore[attr-defined]


def test_bad_input_is_one_message_with_exit_2(workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("block: article", "block: nope"))
    result = run(workspace_dir, "compose", str(path))
    assert result.exit_code == 2
    assert "section 2 (block 'nope')" in result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    assert not (workspace_dir / "out" / "test").exists()  # nothing half-written


def test_subprocess_exit_codes_and_no_traceback(workspace_dir: Path) -> None:
    env = {**os.environ, "BULLETIN_SECRET_KEY": "x" * 32}
    bad = write_bulletin(workspace_dir, MINIMAL.replace("segments: [lmc", "segments: [lmc\n  bad: ["), name="bad.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), "compose", str(bad)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert proc.returncode == 2
    assert "bad.yaml, line" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), "--debug", "compose", str(bad)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    good = write_bulletin(workspace_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), "compose", str(good)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_missing_workspace_is_a_config_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path), "compose", "x.yaml"])
    assert result.exit_code == 2
    assert "bulletin.toml" in result.output


def _all_commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        found.append((name, command))
        if isinstance(command, click.Group):
            found.extend((f"{name} {sub}", command.commands[sub]) for sub in command.commands)
    return found


@pytest.mark.parametrize(("name", "command"), _all_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_and_option_has_help(name: str, command: click.Command) -> None:
    assert command.help and command.help.strip(), f"'{name}' has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"'{name} {param.opts[0]}' has no help text"
