"""`bulletin lists …` as a person uses it: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from composer.cli import cli
from tests.lists.helpers import write

REPO = Path(__file__).resolve().parents[2]


def run(root: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--workspace", str(root), "lists", *args], input=input)


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exc_info is None or isinstance(result.exc_info[1], SystemExit)


def import_samples(root: Path) -> None:
    for segment in ("lmc", "practice", "registrar"):
        result = run(root, "import", str(root / "lists" / "sample" / f"{segment}.csv"), "--segment", segment)
        assert result.exit_code == 0, result.output


def test_import_prints_the_summary_table(workspace_dir: Path) -> None:
    result = run(workspace_dir, "import", str(workspace_dir / "lists/sample/lmc.csv"), "-s", "lmc")
    assert result.exit_code == 0, result.output
    for word in ("added", "updated", "unchanged", "suppressed", "invalid", "UTF-8", "comma"):
        assert word in result.output
    assert "│    10 │" in result.output


def test_bad_rows_exit_2_list_every_line_and_show_no_traceback(workspace_dir: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "Email,Name\ngood@example.org,A\nnope,B\n,C\ngood@EXAMPLE.org,D\n")
    result = run(workspace_dir, "import", str(path), "-s", "lmc")
    assert result.exit_code == 2
    no_traceback(result)
    for line, words in ((3, "invalid email address 'nope'"), (4, "no email address"), (5, "duplicate of line 2")):
        assert any(str(line) in row and words in row for row in result.output.splitlines()), result.output
    assert "3 of 4 rows are invalid, so nothing was imported" in result.output
    stats = run(workspace_dir, "stats")
    assert "0 contacts" in stats.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["import", "missing.csv", "-s", "lmc"], 2, "file not found"),
        (["import", "lists/segments.yaml", "-s", "nope"], 2, "unknown segment 'nope'"),
        (["import", "lists/segments.yaml", "-s", "lmc"], 2, "no email column"),
        (["show", "-s", "nope"], 2, "unknown segment"),
        (["remove", "x@example.org", "-s", "lmc"], 1, "not on any list"),
        (["unsuppress", "x@example.org"], 1, "is not suppressed"),
        (["suppress", "not an address"], 2, "not an email address"),
        (["person", "no-at-sign"], 2, "not an email address"),
        (["export", "/no/such/folder/out.csv"], 2, "the folder does not exist"),
    ],
)
def test_bad_input_is_one_clear_message_and_an_exit_code(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, message: str
) -> None:
    monkeypatch.chdir(workspace_dir)
    result = run(workspace_dir, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert result.output.count("Error:") == 1
    no_traceback(result)


def test_show_stats_export_and_suppress(workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables to the terminal width
    import_samples(workspace_dir)
    show = run(workspace_dir, "show", "--segment", "practice", "--limit", "0")
    assert show.exit_code == 0 and "Riverside Medical Centre" in show.output
    assert "Dr <b>O'Brien</b> & Partners" in show.output  # printed as text, not markup
    assert "lmc, practice" in show.output
    assert "10 contacts." in show.output

    suppressed = run(workspace_dir, "suppress", "Zoe.Adeyemi@nhs.example", "--reason", "unsubscribed")
    assert suppressed.exit_code == 0 and "Suppressed" in suppressed.output
    again = run(workspace_dir, "suppress", "zoe.adeyemi@nhs.example")
    assert "already suppressed (unsubscribed" in again.output

    stats = run(workspace_dir, "stats")
    assert stats.exit_code == 0
    lmc_line = next(line for line in stats.output.splitlines() if line.startswith("│ lmc"))
    assert lmc_line.split("│")[3:6] == ["      10 ", "      9 ", "          1 "]

    out = tmp_path / "export.csv"
    exported = run(workspace_dir, "export", str(out), "--segment", "lmc")
    assert exported.exit_code == 0 and "Exported 9 contacts" in exported.output
    refused = run(workspace_dir, "export", str(out))
    assert refused.exit_code == 2 and "--force" in refused.output

    lifted = run(workspace_dir, "unsuppress", "zoe.adeyemi@nhs.example")
    assert lifted.exit_code == 0 and "it was: unsubscribed" in lifted.output
    removed = run(workspace_dir, "remove", "PRIYA.SHAH@nhs.example", "--segment", "lmc")
    assert removed.exit_code == 0 and "still in practice" in removed.output


def test_forget_asks_first_and_person_prints_json(workspace_dir: Path) -> None:
    import_samples(workspace_dir)
    declined = run(workspace_dir, "forget", "priya.shah@nhs.example", input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    before = run(workspace_dir, "person", "priya.shah@nhs.example")
    data = json.loads(before.stdout)
    assert data["contact"]["email"] == "priya.shah@nhs.example"
    assert [m["segment"] for m in data["segments"]] == ["lmc", "practice"]

    erased = run(workspace_dir, "forget", "priya.shah@nhs.example", input="y\n")
    assert erased.exit_code == 0, erased.output
    assert "deleted the contact, 2 segment memberships" in erased.output
    assert "lmc.csv, practice.csv" in erased.output  # where else to delete it

    after = json.loads(run(workspace_dir, "person", "PRIYA.SHAH@nhs.example").stdout)
    assert after["contact"] is None and after["suppression"]["reason"] == "erased"
    blocked = run(workspace_dir, "unsuppress", "priya.shah@nhs.example")
    assert blocked.exit_code == 2 and "never lifted" in blocked.output
    reimport = run(workspace_dir, "import", str(workspace_dir / "lists/sample/lmc.csv"), "-s", "lmc")
    assert "1 person left out" in reimport.output


def test_every_lists_command_has_help_text() -> None:
    from composer.cli.lists_cmd import lists

    assert lists.help
    for name, command in lists.commands.items():
        assert command.help and len(command.help) > 20, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.name}"
        result = CliRunner().invoke(cli, ["lists", name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_real_process_exit_codes_and_no_traceback(workspace_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_")}
    env["BULLETIN_SECRET_KEY"] = "subprocess-test-key"
    bad = write(tmp_path / "bad.csv", "Email\nnot-an-address\n")

    def bulletin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), "lists", *args],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False,
        )

    refused = bulletin("import", str(bad), "--segment", "lmc")
    assert refused.returncode == 2
    assert "line 2" in refused.stderr or "│    2 │" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    ok = bulletin("import", str(workspace_dir / "lists/sample/registrar.csv"), "--segment", "registrar")
    assert ok.returncode == 0, ok.stderr
    assert "UTF-8 with BOM" in ok.stdout
    debug = subprocess.run(
        [sys.executable, "-m", "composer", "--debug", "--workspace", str(workspace_dir), "lists",
         "import", str(bad), "--segment", "lmc"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_dry_run_and_skip_invalid_say_what_they_did(workspace_dir: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.csv", "Email;Name\na@example.org;A\nbroken;B\n", encoding="cp1252")
    dry = run(workspace_dir, "import", str(path), "-s", "registrar", "--dry-run", "--skip-invalid")
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing changed" in dry.output
    assert "semicolon" in dry.output
    assert "1 invalid row would be written to a rejects file" in dry.output
    assert not (tmp_path / "mixed.rejects.csv").exists()
    assert "0 contacts" in run(workspace_dir, "stats").output

    real = run(workspace_dir, "import", str(path), "-s", "registrar", "--skip-invalid")
    assert real.exit_code == 0, real.output
    assert "Wrote 1 rejected row to" in real.output and "mixed.rejects.csv" in real.output
    assert (tmp_path / "mixed.rejects.csv").exists()
    assert "1 contact: 1 active" in run(workspace_dir, "stats").output
