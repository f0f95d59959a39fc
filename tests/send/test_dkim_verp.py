"""DKIM signing, VERP envelope senders and several connections, against aiosmtpd."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import dkim
import pytest

from composer.errors import ConfigError
from composer.send import send_bulletin
from composer.send.dkim import SIGNED_HEADERS, DkimSigner, public_key_record, verify
from composer.send.pacing import DomainThrottle
from composer.tokens import TokenSigner, verp_tokens
from composer.workspace import Workspace, load_workspace
from tests.send.conftest import SmtpSink, add_contacts, ledger_rows, make_composition, with_env

SELECTOR = "bulletin"
DOMAIN = "bulletin.example"


def make_key(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / "bulletin.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    return key


def configure(workspace: Workspace, extra: str) -> Workspace:
    """The workspace with `extra` appended to its bulletin.toml."""
    path = workspace.root / "bulletin.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return with_env(load_workspace(workspace.root), **workspace.env)


@pytest.fixture
def signed_workspace(workspace: Workspace, smtp_sink: SmtpSink) -> Workspace:
    make_key(workspace.root / "dkim")
    ws = configure(
        workspace,
        f'[dkim]\ndomain = "{DOMAIN}"\nselector = "{SELECTOR}"\nprivate_key_file = "dkim/bulletin.pem"\n',
    )
    text = (ws.root / "bulletin.toml").read_text(encoding="utf-8")
    text = text.replace('per_domain_rate = { "nhs.net" = 50 }',
                        'per_domain_rate = { "nhs.net" = 50 }\nconnections = 3\nbounce_domain = "bounces.bulletin.example"')  # fmt: skip
    (ws.root / "bulletin.toml").write_text(text, encoding="utf-8")
    return with_env(load_workspace(ws.root), **workspace.env, BULLETIN_SMTP_URL=smtp_sink.url)


def test_every_message_is_dkim_signed_over_both_list_unsubscribe_headers_and_verifies(
    signed_workspace: Workspace, smtp_sink: SmtpSink
) -> None:
    add_contacts(signed_workspace, [{"email": f"gp{i}@example.org", "segments": ["lmc"]} for i in range(40)])
    summary = send_bulletin(signed_workspace, make_composition(), ["lmc"], transport="smtp")
    assert summary.sent == 40 and "3 connections" in summary.transport
    record = public_key_record(signed_workspace.root / "dkim" / "bulletin.pem", DOMAIN, SELECTOR)
    for _, _, data in smtp_sink.messages:
        assert data.startswith(b"DKIM-Signature: ")
        assert verify(data, record=record).ok
        sig = dkim.DKIM(data)
        assert sig.verify(dnsfunc=lambda name, timeout=5: record.value.encode())
        signed = {h.strip().lower() for h in sig.signature_fields[b"h"].decode().replace("\r\n", "").split(":")}
        assert {h.lower() for h in SIGNED_HEADERS} <= signed
        assert {"list-unsubscribe", "list-unsubscribe-post"} <= signed
    tampered = smtp_sink.messages[0][2].replace(b"Subject: ", b"Subject: RE: ", 1)
    assert not verify(tampered, record=record).ok


def test_envelope_sender_is_a_signed_verp_address_per_delivery(signed_workspace: Workspace, smtp_sink: SmtpSink) -> None:
    add_contacts(signed_workspace, [{"email": f"gp{i}@example.org", "segments": ["lmc"]} for i in range(12)])
    summary = send_bulletin(signed_workspace, make_composition(), ["lmc"], transport="smtp")
    rows = {r["email"]: r for r in ledger_rows(signed_workspace)}
    signer = TokenSigner(signed_workspace.secret_keys())
    for mail_from, (rcpt,), data in smtp_sink.messages:
        local, _, domain = mail_from.partition("@")
        assert domain == "bounces.bulletin.example" and len(local) <= 64  # RFC 5321 4.5.3.1.1
        (token,) = verp_tokens(mail_from.encode())
        claim = signer.read_delivery_token(token)
        assert (claim.campaign_id, claim.delivery_id) == (summary.campaign_id, rows[rcpt]["id"])
        assert b"From: GPC England <gpc-bulletin@bulletin.example>" in data  # the From stays the sender's
    other = TokenSigner(["some other workspace's key"])
    with pytest.raises(Exception, match="signature"):
        other.read_delivery_token(token)


def test_several_connections_send_each_message_once_and_share_the_domain_throttle(
    signed_workspace: Workspace, smtp_sink: SmtpSink
) -> None:
    add_contacts(signed_workspace, [{"email": f"gp{i}@nhs.net", "segments": ["lmc"]} for i in range(30)]
                 + [{"email": f"gp{i}@example.org", "segments": ["lmc"]} for i in range(120)])  # fmt: skip
    started = time.monotonic()
    summary = send_bulletin(signed_workspace, make_composition(), ["lmc"], transport="smtp")
    elapsed = time.monotonic() - started
    assert summary.sent == 150
    recipients = [r for _, rcpts, _ in smtp_sink.messages for r in rcpts]
    assert len(recipients) == len(set(recipients)) == 150
    assert all(r["state"] == "sent" for r in ledger_rows(signed_workspace))
    # 30 messages to nhs.net at 50/s across three connections: at least 29/50 s, not a third of it.
    assert elapsed >= 29 / 50


def test_domain_throttle_holds_across_threads() -> None:
    times: list[float] = []
    lock = threading.Lock()
    throttle = DomainThrottle({"nhs.net": 100})

    def worker() -> None:
        for _ in range(10):
            throttle.wait("a@nhs.net")
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    assert times[-1] - times[0] >= 39 / 100 * 0.95  # 40 messages at 100/s


def test_a_key_in_the_toml_or_a_missing_key_file_is_a_clear_error(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match="never the key itself"):
        configure(workspace, '[dkim]\ndomain = "d.example"\nselector = "s"\nprivate_key_file = "-----BEGIN RSA PRIVATE KEY-----"\n')


def test_missing_key_file_names_the_path(workspace: Workspace) -> None:
    ws = configure(workspace, '[dkim]\ndomain = "d.example"\nselector = "s"\nprivate_key_file = "dkim/none.pem"\n')
    with pytest.raises(ConfigError, match=r"none\.pem"):
        DkimSigner.from_workspace(ws)


def test_the_openssl_signature_is_the_pure_python_one(tmp_path: Path) -> None:
    key = make_key(tmp_path).read_bytes()
    message = b"From: a@bulletin.example\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n"
    fast = DkimSigner(DOMAIN, SELECTOR, key)
    assert fast._fast
    signed = fast.sign(message)
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: fast.dns_record().value.encode())


def test_outbox_files_are_signed_too(workspace: Workspace) -> None:
    make_key(workspace.root / "dkim")
    ws = configure(workspace, f'[dkim]\ndomain = "{DOMAIN}"\nselector = "{SELECTOR}"\nprivate_key_file = "dkim/bulletin.pem"\n')
    add_contacts(ws, [{"email": "gp@example.org", "segments": ["lmc"]}])
    summary = send_bulletin(ws, make_composition(key="2026-06-outbox"), ["lmc"], transport="outbox")
    assert summary.sent == 1
    (path,) = (ws.outbox_dir / "2026-06-outbox").glob("*.eml")
    record = public_key_record(ws.root / "dkim" / "bulletin.pem", DOMAIN, SELECTOR)
    assert verify(path.read_bytes(), record=record).ok


def test_bulletin_dkim_verifies_a_sample_and_prints_the_record(workspace: Workspace, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from composer.cli import cli

    key = make_key(workspace.root / "dkim")
    configure(workspace, f'[dkim]\ndomain = "{DOMAIN}"\nselector = "{SELECTOR}"\nprivate_key_file = "dkim/bulletin.pem"\n')
    public = tmp_path / "public.pem"
    subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(public)], check=True, capture_output=True)
    args = ["--workspace", str(workspace.root), "dkim", str(workspace.root / "bulletins" / "2026-06-gpce.yaml"), "--public-key"]
    result = CliRunner().invoke(cli, [*args, str(public)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f'{SELECTOR}._domainkey.{DOMAIN}  TXT  "v=DKIM1; k=rsa; p=' in result.output
    assert "list-unsubscribe, list-unsubscribe-post" in result.output and "Verified against the public key file" in result.output
    other = make_key(tmp_path / "other")
    result = CliRunner().invoke(cli, [*args, str(other)])
    assert result.exit_code == 1 and "does not verify" in result.output


def test_signing_the_header_block_gives_dkimpys_own_signature(tmp_path: Path) -> None:
    """The signer hands dkimpy the header block and the body apart; the signature must be
    the one dkimpy makes from the whole message (t= aside: the two may fall in different
    seconds), for a body with awkward line ends too."""
    import re

    key = make_key(tmp_path).read_bytes()
    signer = DkimSigner(DOMAIN, SELECTOR, key)
    include = [h.lower().encode() for h in SIGNED_HEADERS]
    for body in (b"line one\r\n.dot\r\n\r\n\r\n", b"no final break", b"bare\nline feed\r\n"):
        message = b"From: a@bulletin.example\r\nTo: b@example.org\r\nSubject: x\r\n folded\r\n\r\n" + body
        ours = signer._sign_with(message, probe=True)
        theirs = dkim.DKIM(message, linesep=b"\r\n").sign(
            SELECTOR.encode(), DOMAIN.encode(), key, canonicalize=(b"relaxed", b"simple"), include_headers=include
        )
        assert ours == re.sub(rb"t=[0-9]+;", b"", theirs)
