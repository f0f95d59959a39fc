"""`make demo` end to end: compose, import and send through the outbox; a re-run sends nothing."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path


def run_demo(root: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_")}
    proc = subprocess.run(
        [sys.executable, "-m", "composer.demo"], cwd=root, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_demo_sends_once_per_person_and_a_rerun_sends_nothing(workspace_dir: Path) -> None:
    first = run_demo(workspace_dir)
    assert "0 error(s)" in first
    emls = sorted((workspace_dir / "outbox" / "2026-06-gpce").glob("*.eml"))
    assert emls, first
    recipients = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["To"] for p in emls]
    normalized = [str(r).strip().lower() for r in recipients]
    assert len(normalized) == len(set(normalized))  # one copy per person, even in two segments
    assert all(r.split("@")[1].endswith(("example.org", "example.com", ".example")) for r in normalized)
    message = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    assert message["List-Unsubscribe"].startswith("<https://bulletin.example/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Tom Hughes is on the lmc and the registrar lists (Priya on lmc and practice): one
    # copy each, with the sections of both lists.
    assert "lmc+registrar: 1" in first and "lmc+practice: 1" in first
    (tom,) = [
        m for m in (email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in emls)
        if str(m["To"]).lower() == "tom.hughes@example.org"
    ]
    text = str(tom.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    for title in ("New collective action for practices in June", "GP Registrars and trainers demand action on FourteenFish"):
        assert text.count(title) == 1, title

    second = run_demo(workspace_dir)
    assert "0 new message(s)" in second
    assert sorted((workspace_dir / "outbox" / "2026-06-gpce").glob("*.eml")) == emls
