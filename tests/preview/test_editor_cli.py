"""`bulletin preview` tells staff the page is where they edit, and when it is not."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from composer.cli import cli
from composer.preview import server as preview_server

from .conftest import SAMPLE


def run_preview(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    real_bind = preview_server.bind_socket
    # Listen on loopback whatever --host says: no port is opened on other addresses.
    monkeypatch.setattr(preview_server, "bind_socket", lambda host, port: real_bind("127.0.0.1", 0))
    monkeypatch.setattr(preview_server.PreviewServer, "serve_forever", lambda self: self.sock.close())
    result = CliRunner().invoke(cli, ["--workspace", str(workspace_dir), "preview", str(workspace_dir / SAMPLE), "--no-open", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_on_loopback_the_preview_says_edit_is_on_the_page(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = run_preview(workspace_dir, monkeypatch)
    assert "Press Edit on the page to change the bulletin; Save writes the file." in output


def test_elsewhere_the_preview_says_the_editor_is_off(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = run_preview(workspace_dir, monkeypatch, "--host", "192.0.2.10")
    assert "The editor is off." in output
    assert "Press Edit" not in output


def test_the_app_of_a_server_on_loopback_has_the_editor(preview_state) -> None:  # type: ignore[no-untyped-def]
    sock = preview_server.bind_socket("127.0.0.1", 0)
    server = preview_server.PreviewServer(preview_state, sock)
    try:
        paths = {getattr(r, "path", "") for r in server._server.config.app.routes}  # type: ignore[attr-defined]
        assert "/api/edit/save" in paths
    finally:
        sock.close()
