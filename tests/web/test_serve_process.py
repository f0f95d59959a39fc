"""`bulletin serve` for real: uvicorn on loopback in a subprocess, two workers, SQLite."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from composer.identity import AddressHasher
from composer.store import suppressions
from composer.store.db import Store
from composer.tokens import TokenSigner
from tests.conftest import TEST_SECRET
from tests.support import free_port, wait_healthy
from tests.web.conftest import add_contact, body_of, event, make_keys


@pytest.mark.slow
def test_bulletin_serve_on_loopback_with_two_workers(workspace_dir: Path, tmp_path: Path) -> None:
    keys = make_keys()
    db = tmp_path / "serve.db"
    env = {
        **os.environ,
        "BULLETIN_SECRET_KEY": TEST_SECRET,
        "BULLETIN_DATABASE_URL": f"sqlite:///{db}",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": keys.public_b64,
    }
    env.pop("BULLETIN_OLD_SECRET_KEYS", None)
    store = Store(env["BULLETIN_DATABASE_URL"])
    cid = add_contact(store, "dana@example.org")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), "serve",
         "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(base, proc)
        token = TokenSigner([TEST_SECRET]).make(cid, 1)
        assert httpx.get(f"{base}/u/{token}").status_code == 200
        response = httpx.post(
            f"{base}/u/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
        assert response.headers.get("server") is None
        body = body_of([event("spamreport", "eve@example.org", "ev-1")]) + b"\r\n"
        assert httpx.post(f"{base}/webhooks/sendgrid", content=body, headers=keys.headers(body)).status_code == 200
        bad = dict(keys.headers(body))
        bad["X-Twilio-Email-Event-Webhook-Signature"] = "@@@"
        assert httpx.post(f"{base}/webhooks/sendgrid", content=body, headers=bad).status_code == 403
        huge = b"[" + b" " * (6 * 1024 * 1024) + b"]"
        assert httpx.post(f"{base}/webhooks/sendgrid", content=huge, headers=keys.headers(huge)).status_code == 413
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode()
    hasher = AddressHasher([TEST_SECRET])
    with store.session() as s:
        dana = suppressions.find(s, hasher, "dana@example.org")
        eve = suppressions.find(s, hasher, "eve@example.org")
    store.close()
    assert dana is not None and dana.source == "one-click"
    assert eve is not None and eve.reason == "complained"
    assert "dana@example.org" not in output and "eve@example.org" not in output
    assert token not in output


def test_serve_warns_when_the_webhook_key_is_missing(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from composer.cli import cli

    calls: list[dict[str, object]] = []
    monkeypatch.delenv("SENDGRID_WEBHOOK_PUBLIC_KEY", raising=False)
    monkeypatch.setenv("BULLETIN_WORKSPACE", "/nonexistent")  # serve sets it; restored after
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    result = CliRunner().invoke(cli, ["--workspace", str(workspace_dir), "serve", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY" in result.output
    assert "403" in result.output
    assert calls == [
        {
            "app": "composer.web.asgi:create_from_env",
            "factory": True,
            "host": "127.0.0.1",
            "port": 8000,
            "workers": 3,
            "log_level": "info",
            "proxy_headers": True,
            "server_header": False,
            "access_log": False,
            "http": "composer.web.server:GuardedH11Protocol",
            "timeout_keep_alive": 5,
            "h11_max_incomplete_event_size": 16 * 1024,
        }
    ]
    assert os.environ["BULLETIN_WORKSPACE"] == str(workspace_dir.resolve())


def test_every_serve_option_has_help() -> None:
    from composer.cli.serve_cmd import serve

    assert serve.help
    for param in serve.params:
        assert getattr(param, "help", None), param.name


def _serve_exits(workspace_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`bulletin serve` in a real process; it must stop before it listens."""
    port = free_port()
    return subprocess.run(
        [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), "serve", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def test_serve_stops_at_start_on_an_unusable_webhook_key(workspace_dir: Path) -> None:
    not_base64 = _serve_exits(workspace_dir, {"SENDGRID_WEBHOOK_PUBLIC_KEY": "-----BEGIN PUBLIC KEY----- oops"})
    assert not_base64.returncode == 2, not_base64.stderr
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 DER public key" in not_base64.stderr
    assert "Event Webhook" in not_base64.stderr and "Traceback" not in not_base64.stderr
    assert "bulletin serve:" not in not_base64.stderr  # it never got as far as listening

    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    rsa_der = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    not_ec = _serve_exits(workspace_dir, {"SENDGRID_WEBHOOK_PUBLIC_KEY": base64.b64encode(rsa_der).decode()})
    assert not_ec.returncode == 2, not_ec.stderr
    assert "not an elliptic-curve (ECDSA) key" in not_ec.stderr


def test_serve_stops_at_start_on_a_theme_that_is_not_a_mapping(workspace_dir: Path) -> None:
    theme = workspace_dir / "layouts" / "default" / "theme.yaml"
    theme.write_text("brand: [unclosed\n", encoding="utf-8")
    result = _serve_exits(workspace_dir, {})
    assert result.returncode == 2, result.stderr
    assert "layouts/default/theme.yaml, line 1" in result.stderr and "YAML syntax error: the list opened with '['" in result.stderr
