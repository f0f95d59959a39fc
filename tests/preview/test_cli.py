"""`bulletin preview` through CliRunner and as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from composer.cli import cli
from composer.cli.preview_cmd import preview
from composer.errors import BulletinError
from composer.preview import server as preview_server
from composer.preview.server import bind_socket, is_loopback

from .conftest import SAMPLE, edit, line_of


def test_every_option_has_help() -> None:
    assert preview.help
    for param in preview.params:
        if isinstance(param, click.Option):
            assert param.help, f"--{param.name} has no help text"
    result = CliRunner().invoke(cli, ["preview", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--host", "--no-open"):
        assert option in result.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("192.0.2.10", False), ("::", False), ("preview.example", False)],
)  # fmt: skip
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_busy_port_is_one_clear_message() -> None:
    taken = bind_socket("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        with pytest.raises(BulletinError, match=rf"127\.0\.0\.1:{port}.*--port"):
            bind_socket("127.0.0.1", port)
    finally:
        taken.close()


def test_non_loopback_host_warns_and_the_browser_opens(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Listen on loopback whatever --host says: the test is about the warning, and it must
    # not expose a port on this machine's other addresses.
    real_bind = preview_server.bind_socket
    monkeypatch.setattr(preview_server, "bind_socket", lambda host, port: real_bind("127.0.0.1", 0))
    served: list[str] = []
    monkeypatch.setattr(preview_server.PreviewServer, "serve_forever", lambda self: served.append(self.url))
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url))

    result = CliRunner().invoke(
        cli, ["--workspace", str(workspace_dir), "preview", str(workspace_dir / SAMPLE), "--host", "192.0.2.10"]
    )
    assert result.exit_code == 0, result.output
    assert "Warning: listening on 192.0.2.10" in result.output
    assert "contact data" in result.output
    assert opened == served and served[0].startswith("http://127.0.0.1:")


def test_loopback_host_has_no_warning_and_no_open(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview_server.PreviewServer, "serve_forever", lambda self: self.sock.close())
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url))
    result = CliRunner().invoke(
        cli, ["--workspace", str(workspace_dir), "preview", str(workspace_dir / SAMPLE), "--port", "0", "--no-open"]
    )
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    assert "Previewing bulletins/2026-06-gpce.yaml at http://127.0.0.1:" in result.output
    assert opened == []


def _start(workspace_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "BULLETIN_WORKSPACE": str(workspace_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "composer", "preview", SAMPLE, "--no-open", "--port", "0"],
        cwd=workspace_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("Previewing "), line + (proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
    url = line.split(" at ", 1)[1].split()[0]
    return proc, url


def _get(url: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(url, timeout=5) as res:
        return json.loads(res.read())


@pytest.mark.slow
def test_process_serves_and_stops_on_ctrl_c_with_a_page_open(workspace_dir: Path) -> None:
    proc, url = _start(workspace_dir)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert _get(url + "api/state")["status"] == "ok"
        # An open page holds an event stream; Ctrl+C must not wait for it.
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        stream = socket.create_connection((host, int(port)), timeout=5)
        # The real server answers only to loopback names (no DNS rebinding).
        rebind = urllib.request.Request(url + "api/state", headers={"Host": f"rebind.example:{port}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(rebind, timeout=5)
        assert refused.value.code == 400
        stream.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        received = b""
        while b"event: version" not in received:
            chunk = stream.recv(4096)
            assert chunk, received
            received += chunk
        assert received.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=8) == 0
        assert time.monotonic() - started < 5
        stream.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_process_starts_with_a_broken_bulletin_and_recovers(workspace_dir: Path) -> None:
    path = workspace_dir / SAMPLE
    line = line_of(path, "  - block: spr")
    before = edit(path, "  - block: spr", "  - block: spr\n   bad: [")
    proc, url = _start(workspace_dir)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    try:
        state = _get(url + "api/state")
        assert state["status"] == "error"
        assert state["error"]["file"] == SAMPLE
        assert state["error"]["line"] in (line, line + 1)
        path.write_text(before, encoding="utf-8")
        deadline = time.monotonic() + 8
        while _get(url + "api/state")["status"] != "ok":
            assert time.monotonic() < deadline, "the fix was not picked up"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        reader.start()
        proc.wait(timeout=8)
        reader.join(timeout=2)
    assert "Compose failed:" in errors[0]
    assert f"{SAMPLE}, line" in errors[0]
