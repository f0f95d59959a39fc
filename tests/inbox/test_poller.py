"""`bulletin serve` reads `[inbox] url` every `[inbox] every`, one reader at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from composer.errors import ConfigError
from composer.inbox.poller import read_round
from composer.store import lease
from composer.store.db import Store
from composer.workspace import Workspace, load_workspace
from tests.inbox.conftest import mail, maildir, send_campaign
from tests.send.conftest import add_contacts, with_env
from tests.support import free_port, wait_healthy


def with_inbox(workspace: Workspace, url: Path, every: str = "10s") -> Workspace:
    path = workspace.root / "bulletin.toml"
    text = path.read_text(encoding="utf-8").split("\n[inbox]\n")[0]
    path.write_text(text + f'\n[inbox]\nurl = "{url}"\nevery = "{every}"\n', encoding="utf-8")
    return with_env(load_workspace(workspace.root), **workspace.env)


def bounce_box(workspace: Workspace, folder: Path) -> Path:
    add_contacts(workspace, [{"email": "dead@example.org", "segments": ["lmc"]}])
    sent = send_campaign(workspace, "2026-12-poller")["dead@example.org"]
    return maildir(folder, [mail(workspace, "exim-failed", sent, "dead@example.org")])


def test_a_round_is_skipped_while_another_reader_holds_the_lease(workspace: Workspace, tmp_path: Path) -> None:
    box = bounce_box(workspace, tmp_path / "Maildir")
    ws = with_inbox(workspace, box)
    store = Store(ws.database_url())
    holder = lease.acquire(store, "inbox", what="a read of the bounce mailbox")
    read_round(ws)
    assert len(list((box / "new").iterdir())) == 1  # untouched
    lease.release(store, "inbox", holder)
    read_round(ws)
    assert not list((box / "new").iterdir()) and len(list((box / ".processed" / "cur").iterdir())) == 1
    store.close()


def test_every_is_checked_when_the_workspace_loads(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"inbox\.every"):
        with_inbox(workspace, tmp_path, every="soon")
    with pytest.raises(ConfigError, match="at least 10s"):
        with_inbox(workspace, tmp_path, every="2s")


@pytest.mark.slow
def test_bulletin_serve_reads_the_inbox(workspace: Workspace, tmp_path: Path) -> None:
    box = bounce_box(workspace, tmp_path / "Maildir")
    ws = with_inbox(workspace, box)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "composer", "--workspace", str(ws.root), "serve", "--port", str(port)],
        env={**os.environ, **ws.env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        deadline = time.monotonic() + 30
        while list((box / "new").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not list((box / "new").iterdir())
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
    assert "reading the inbox every 10s" in output
    assert "inbox: read 1, handled 1 (1 suppressed for bouncing)" in output
