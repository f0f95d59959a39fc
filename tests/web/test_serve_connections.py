"""`bulletin serve` against slow and vanishing clients: real uvicorn on loopback, raw sockets.

Half-sent headers and trickled bodies must not hold a connection open for ever, and a
client that leaves mid-body must not log a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from composer.store.db import Store
from composer.tokens import TokenSigner
from composer.web.server import BODY_TIMEOUT, HEADER_TIMEOUT
from tests.conftest import TEST_SECRET
from tests.support import free_port, wait_healthy
from tests.web.conftest import add_contact, make_keys

GRACE = 3.0  # scheduling slack on a busy two-core machine


@dataclass
class Served:
    port: int
    token: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> str:
        """Stop the server (Ctrl+C) and return everything it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()[0].decode()


@pytest.fixture
def served(workspace_dir: Path, tmp_path: Path) -> Iterator[Served]:
    """A running `bulletin serve` (one worker) with one contact's token."""
    env = {
        **os.environ,
        "BULLETIN_SECRET_KEY": TEST_SECRET,
        "BULLETIN_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": make_keys().public_b64,
    }
    env.pop("BULLETIN_OLD_SECRET_KEYS", None)
    store = Store(env["BULLETIN_DATABASE_URL"])
    token = TokenSigner([TEST_SECRET]).make(add_contact(store, "dana@example.org"), 1)
    store.close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "composer", "--workspace", str(workspace_dir), "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Served(port, token, proc)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield server
    finally:
        server.stop()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=HEADER_TIMEOUT + BODY_TIMEOUT + 2 * GRACE)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.slow
def test_half_sent_headers_are_closed_after_the_header_timeout(served: Served) -> None:
    port = served.port
    sockets = [_connect(port) for _ in range(20)]
    started = time.monotonic()
    for sock in sockets:
        sock.sendall(b"POST /webhooks/sendgrid HTTP/1.1\r\nHost: bulletin.example\r\nContent-Le")
    for sock in sockets:
        _read_until_closed(sock)
        sock.close()
    assert time.monotonic() - started < HEADER_TIMEOUT + GRACE


@pytest.mark.slow
def test_a_trickled_body_gets_408_after_the_body_timeout(served: Served) -> None:
    port, token = served.port, served.token
    body = b"List-Unsubscribe=One-Click&pad=" + b"x" * 40  # 71 bytes at 2 a second: 35 s
    sock = _connect(port)
    sock.sendall(
        f"POST /u/{token} HTTP/1.1\r\nHost: bulletin.example\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    started = time.monotonic()
    answer = b""
    sock.settimeout(0.5)
    for byte in body:
        try:
            sock.sendall(bytes([byte]))
            answer += sock.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        if answer:
            break
        if time.monotonic() - started > BODY_TIMEOUT + GRACE:
            break
    sock.settimeout(GRACE)
    with contextlib.suppress(TimeoutError):
        answer += _read_until_closed(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < BODY_TIMEOUT + GRACE


@pytest.mark.slow
def test_a_client_leaving_mid_body_logs_no_traceback(served: Served) -> None:
    port, token = served.port, served.token
    for path in (f"/u/{token}", "/webhooks/sendgrid"):
        sock = _connect(port)
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: bulletin.example\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "X-Twilio-Email-Event-Webhook-Signature: c2ln\r\n"
            "X-Twilio-Email-Event-Webhook-Timestamp: 1\r\n"
            "Content-Length: 1000\r\n\r\nList-Unsub".encode()
        )
        time.sleep(0.3)
        sock.close()
    time.sleep(0.5)
    output = served.stop()
    assert "Exception in ASGI application" not in output and "Traceback" not in output, output
