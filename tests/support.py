"""Helpers shared by the tests and the bench scripts: a workspace copy, a free loopback
port, and waiting for `bulletin serve` to answer."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKSPACE_PARTS = ("bulletin.toml", "sections", "layouts", "lists", "bulletins")


def copy_workspace(dest: Path, parts: Iterable[str] = WORKSPACE_PARTS) -> Path:
    """Copy the repository's workspace data (not .bulletin/, out/, rejects files) to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in parts:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("*.rejects.csv"))
        elif src.is_file():
            shutil.copy2(src, dest / part)
    return dest


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until `bulletin serve` at `base` answers /healthz with 200."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bulletin serve exited early with {proc.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("bulletin serve did not become healthy in time")
