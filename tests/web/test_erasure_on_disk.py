"""`lists forget` leaves no trace of the person in the SQLite files, even while
`bulletin serve` is running and reading the same store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from composer.store.db import Store
from composer.tokens import TokenSigner
from tests.conftest import TEST_SECRET
from tests.support import free_port, wait_healthy

PERSON = ("ann.lovelace@example.org", "Augusta", "Lovelace")


def _run(workspace_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def _traces(db: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(f"{db}{suffix}")
        if not path.exists():
            continue
        data = path.read_bytes().lower()
        hits = [needle for needle in PERSON if needle.lower().encode() in data]
        if hits:
            found[path.name] = hits
    return found


@pytest.mark.slow
def test_forget_leaves_nothing_in_the_db_wal_or_shm_while_serve_runs(workspace_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "serve.db"
    env = {**os.environ, "BULLETIN_SECRET_KEY": TEST_SECRET, "BULLETIN_DATABASE_URL": f"sqlite:///{db}"}
    env.pop("BULLETIN_OLD_SECRET_KEYS", None)
    people = ["Email,First Name,Last Name", f"{PERSON[0]},{PERSON[1]},{PERSON[2]}"]
    people += [f"gp{i}@example.org,Pat{i},Smith{i}" for i in range(200)]
    (tmp_path / "people.csv").write_text("\n".join(people) + "\n")
    imported = _run(workspace_dir, env, "lists", "import", str(tmp_path / "people.csv"), "--segment", "lmc")
    assert imported.returncode == 0, imported.stderr
    store = Store(env["BULLETIN_DATABASE_URL"])
    store.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    stop = threading.Event()

    def readers() -> None:  # the service reads the store the whole time
        signer = TokenSigner([TEST_SECRET])
        with httpx.Client() as client:
            while not stop.is_set():
                for cid in range(1, 20):
                    client.get(f"{base}/u/{signer.make(cid, 1)}")

    try:
        wait_healthy(base, proc)
        thread = threading.Thread(target=readers, daemon=True)
        thread.start()
        for i in range(3):  # unsubscribes write to the store while serve holds it open
            token = TokenSigner([TEST_SECRET]).make(i + 2, 1)
            httpx.post(f"{base}/u/{token}", content=b"List-Unsubscribe=One-Click",
                       headers={"content-type": "application/x-www-form-urlencoded"})
        assert _traces(db) or Path(f"{db}-wal").exists()
        forgotten = _run(workspace_dir, env, "lists", "forget", PERSON[0], "--yes")
        assert forgotten.returncode == 0, forgotten.stderr
        traces = _traces(db)
        stop.set()
        thread.join(10)
    finally:
        stop.set()
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    assert traces == {}, f"the erased person is still on disk: {traces}"
