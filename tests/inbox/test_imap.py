"""`bulletin inbox imaps://...` against a real Dovecot on loopback (tests/dovecot.py)."""

from __future__ import annotations

import datetime
import imaplib
import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.errors import ConfigError
from composer.inbox.run import read_inbox
from composer.workspace import Workspace
from tests.dovecot import MAIL_USER, Dovecot, dovecot, unavailable
from tests.inbox.conftest import mail, send_campaign
from tests.send.conftest import add_contacts, with_env
from tests.support import free_port

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")


def certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="bulletin-imap-cert-"))  # readable by Dovecot's user
    folder.chmod(0o755)
    try:
        cert, key = certificate(folder)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test CA; verification stays on
        with dovecot(free_port(), cert, key) as instance:
            yield instance
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def deliver(server: Dovecot, messages: list[bytes]) -> None:
    for i, raw in enumerate(messages):
        path = server.maildir() / "new" / f"1796205600.M{i}P1.imap.test"
        path.write_bytes(raw)
        shutil.chown(path, MAIL_USER)


def folder_state(server: Dovecot, folder: str) -> list[tuple[bool, bytes]]:
    """(seen, subject line) of each message in the folder, by IMAP."""
    conn = imaplib.IMAP4_SSL("localhost", server.port, ssl_context=ssl.create_default_context())
    conn.login(server.user, server.password)
    conn.select(f'"{folder}"', readonly=True)
    _, data = conn.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    found = [(b"\\Seen" in item[0], item[1].strip()) for item in data if isinstance(item, tuple)]
    conn.logout()
    return found


def test_imap_bounces_and_an_unsubscribe_are_handled_and_moved_the_rest_stays_unread(
    workspace: Workspace, server: Dovecot
) -> None:
    people = ["dead@example.org", "full@example.org", "leaving@example.org", "away@example.org"]
    add_contacts(workspace, [{"email": e, "segments": ["lmc"]} for e in people])
    sent = send_campaign(workspace, "2026-12-imap")
    deliver(server, [
        mail(workspace, "gmail-failed", sent["dead@example.org"], "dead@example.org"),
        mail(workspace, "exchange-delayed", sent["full@example.org"], "full@example.org"),
        mail(workspace, "mailto-unsubscribe", sent["leaving@example.org"], "leaving@example.org"),
        mail(workspace, "exchange-out-of-office", sent["away@example.org"], "away@example.org"),
        mail(workspace, "spam", sent["away@example.org"], "away@example.org"),
    ])  # fmt: skip
    ws = with_env(workspace, BULLETIN_INBOX_PASSWORD=server.password)
    report = read_inbox(ws, server.url)
    assert (report.read, report.handled, report.suppressed, report.left_alone) == (5, 3, 1, 2)
    inbox = folder_state(server, "INBOX")
    assert [seen for seen, _ in inbox] == [False, False]  # left alone, and still unread
    assert all(b"Automatic reply" in s or b"Congratulations" in s for _, s in inbox)
    processed = folder_state(server, "processed")
    assert len(processed) == 3 and all(seen for seen, _ in processed)

    again = read_inbox(ws, server.url)
    assert (again.read, again.handled) == (2, 0)


def test_imap_wrong_password_is_a_clear_error(workspace: Workspace, server: Dovecot) -> None:
    with pytest.raises(ConfigError, match="refused the login"):
        read_inbox(with_env(workspace, BULLETIN_INBOX_PASSWORD="wrong"), server.url)
    with pytest.raises(ConfigError, match="BULLETIN_INBOX_PASSWORD"):
        read_inbox(workspace, server.url)
