"""SMTP against a real aiosmtpd on loopback, the outbox, the fast MIME path, and escaping."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from composer.compose.merge import Recipient, fill, substitutions
from composer.compose.mime import build_message
from composer.errors import ConfigError, TransportAuthError, TransportError
from composer.send import send_bulletin
from composer.send.message import MessageFactory
from composer.send.transports.smtp import (
    DomainThrottle,
    SmtpConfig,
    SmtpTransport,
    parse_smtp_url,
    smtp_config,
)
from composer.tokens import TokenSigner, list_unsubscribe_headers
from composer.workspace import Workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import (
    SmtpSink,
    add_contacts,
    free_port,
    ledger_rows,
    make_composition,
    render_for,
    with_env,
)
from tests.send.test_sendgrid import people, transport

HOSTILE = "Dr <b>O'Brien</b> & Partners"


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> tuple[str, str]:
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert html is not None and text is not None
    return html.get_content(), text.get_content()


def test_smtp_sends_each_recipient_one_message_with_headers_and_merge_fields(
    workspace: Workspace, smtp_sink: SmtpSink
) -> None:
    ids = add_contacts(
        workspace,
        [{"email": f"gp{i}@example.org", "segments": ["lmc"], "first_name": f"Pat{i}", "organisation": f"Surgery {i}"} for i in range(5)],
    )
    ws = with_env(workspace, BULLETIN_SMTP_URL=smtp_sink.url)
    summary = send_bulletin(ws, make_composition(), ["lmc"], transport="smtp")
    assert summary.sent == 5
    assert sorted(rcpt for _, rcpts, _ in smtp_sink.messages for rcpt in rcpts) == [f"gp{i}@example.org" for i in range(5)]
    signer = TokenSigner(ws.secret_keys())
    for mail_from, (rcpt,), data in smtp_sink.messages:
        assert mail_from == "gpc-bulletin@bulletin.example"
        msg = parse(data)
        i = int(rcpt[2])
        assert msg["To"] == rcpt
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url, mailto = (u.strip(" <>") for u in msg["List-Unsubscribe"].split(","))
        claim = signer.read(url.rsplit("/u/", 1)[1])
        assert (claim.contact_id, claim.campaign_id) == (ids[i], summary.campaign_id)
        assert mailto.startswith("mailto:unsubscribe@bulletin.example?subject=unsubscribe%20")
        html, text = parts(msg)
        assert f"Dear Pat{i}," in html and f"at Surgery {i}" in text and "%%BT" not in html + text
        assert url in html and url in text  # the footer link is the same token
    message_ids = [r["message_id"] for r in ledger_rows(ws)]
    assert len(set(message_ids)) == 5 and all(m.startswith("<") for m in message_ids)


def test_smtp_refused_recipient_is_failed_with_the_reply(workspace: Workspace, smtp_sink: SmtpSink) -> None:
    add_contacts(workspace, people(3))
    smtp_sink.refuse.add("gp1@example.org")
    summary = send_bulletin(with_env(workspace, BULLETIN_SMTP_URL=smtp_sink.url), make_composition(), ["lmc"], transport="smtp")
    assert (summary.sent, summary.failed) == (2, 1)
    assert summary.errors == ["SMTP 550: 5.1.1 mailbox unavailable"]
    probe = SmtpTransport(parse_smtp_url(smtp_sink.url))
    with probe:
        assert probe._idle and probe._idle[0].has_extn("pipelining")  # the pipelined path ran


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_auth_refused_stops_with_a_clear_message(workspace: Workspace) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = auth_data.login == b"bulletin" and auth_data.password == b"right"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    port = free_port()
    controller = Controller(
        Sink(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False, auth_required=True
    )
    controller.start()
    try:
        add_contacts(workspace, people(2))
        bad = with_env(workspace, BULLETIN_SMTP_URL=f"smtp://bulletin:wrong@127.0.0.1:{port}?timeout=5")
        with pytest.raises(TransportAuthError, match="refused the username and password"):
            send_bulletin(bad, make_composition(), ["lmc"], transport="smtp")
        assert {r["state"] for r in ledger_rows(bad)} == {"pending"}
        good = with_env(workspace, BULLETIN_SMTP_URL=f"smtp://bulletin:right@127.0.0.1:{port}")
        assert send_bulletin(good, make_composition(), ["lmc"], transport="smtp").sent == 2
    finally:
        controller.stop()


def test_smtp_server_down_is_a_clear_transport_error(workspace: Workspace) -> None:
    add_contacts(workspace, people(1))
    ws = with_env(workspace, BULLETIN_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(TransportError, match=r"cannot connect to 127\.0\.0\.1"):
        send_bulletin(ws, make_composition(), ["lmc"], transport="smtp")
    assert {r["state"] for r in ledger_rows(ws)} == {"pending"}


def test_smtp_url_forms() -> None:
    assert parse_smtp_url("smtp://u%40x:p%3Aw@mail.example:2525") == SmtpConfig(
        "mail.example", 2525, "none", "u@x", "p:w"
    )
    assert parse_smtp_url("smtps://mail.example").security == "ssl"
    assert parse_smtp_url("smtps://mail.example").port == 465
    assert parse_smtp_url("smtp://mail.example:587?starttls=true").security == "starttls"
    with pytest.raises(ConfigError, match="BULLETIN_SMTP_URL"):
        parse_smtp_url("http://mail.example")


def test_smtp_settings_from_bulletin_toml(workspace: Workspace) -> None:
    config = smtp_config(workspace)
    assert (config.host, config.port, config.security) == ("127.0.0.1", 2525, "none")
    assert config.per_domain_rate == {"nhs.net": 50}


def test_per_domain_throttle_spaces_messages_to_a_shared_domain() -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    throttle = DomainThrottle({"nhs.net": 10}, sleep=sleep, clock=lambda: clock[0])
    for address in ["a@nhs.net", "b@gp.nhs.net", "c@example.org", "d@NHS.net"]:
        throttle.wait(address)
    assert waits == pytest.approx([0.1, 0.1])  # b and d waited; c (another domain) did not


def test_fast_message_matches_build_message() -> None:
    render = render_for("practice")
    signer = TokenSigner(["k"])
    token = signer.make(12, 3)
    recipient = Recipient(
        email="pat@example.org", unsubscribe_url=f"https://bulletin.example/u/{token}", first_name="Pät", name=HOSTILE
    )
    subs = substitutions(recipient)
    headers = list_unsubscribe_headers("https://bulletin.example", "unsubscribe@bulletin.example", token)
    fast, message_id = MessageFactory(render, subject_prefix="[TEST] ").build("pat@example.org", subs, headers)
    slow = build_message(
        render.envelope, to="pat@example.org", html=fill(render.html, subs), text=fill(render.text, subs),
        headers=headers, subject_prefix="[TEST] ",
    )  # fmt: skip
    a, b = parse(fast), parse(slow.as_bytes())
    assert parts(a) == parts(b)
    for name in ("Subject", "From", "To", "Reply-To", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version"):
        assert a[name] == b[name], name
    assert a["Message-ID"] == message_id
    assert all(len(line) <= 998 for line in fast.split(b"\r\n"))
    assert b"\n" not in fast.replace(b"\r\n", b"")


def test_hostile_name_is_escaped_in_html_and_raw_in_text_on_every_transport(
    workspace: Workspace, smtp_sink: SmtpSink, fake_sendgrid: FakeSendGrid
) -> None:
    add_contacts(workspace, [{"email": "obrien@example.org", "segments": ["lmc"], "name": HOSTILE, "organisation": HOSTILE}])
    escaped = "Dr &lt;b&gt;O&#x27;Brien&lt;/b&gt; &amp; Partners"
    # outbox
    send_bulletin(workspace, make_composition(key="k-outbox"), ["lmc"], transport="outbox")
    (eml,) = (workspace.outbox_dir / "k-outbox").glob("*.eml")
    html, text = parts(parse(eml.read_bytes()))
    assert f"For {escaped} at {escaped}" in html and "<b>O'Brien</b>" not in html
    assert f"For {HOSTILE} at {HOSTILE}" in text
    # smtp
    send_bulletin(with_env(workspace, BULLETIN_SMTP_URL=smtp_sink.url), make_composition(key="k-smtp"), ["lmc"], transport="smtp")
    html, text = parts(parse(smtp_sink.messages[0][2]))
    assert escaped in html and HOSTILE in text and "<b>O'Brien</b>" not in html
    # sendgrid: the server applies the substitutions as SendGrid does
    send_bulletin(workspace, make_composition(key="k-sg"), ["lmc"], transport=transport(fake_sendgrid))
    (accepted,) = fake_sendgrid.accepted
    assert accepted.html is not None and accepted.text is not None
    assert escaped in accepted.html and "<b>O'Brien</b>" not in accepted.html and HOSTILE in accepted.text


def test_outbox_writes_whole_files_only(workspace: Workspace) -> None:
    add_contacts(workspace, people(3))
    send_bulletin(workspace, make_composition(), ["lmc"], transport="outbox")
    folder = workspace.outbox_dir / "2026-06-test"
    assert sorted(p.name for p in folder.iterdir()) == [f"lmc-{i:08d}.eml" for i in (1, 2, 3)]
    for path in folder.iterdir():
        msg = parse(path.read_bytes())
        assert msg["List-Unsubscribe"] and parts(msg)[0].startswith("<!doctype html>")
        assert path.stat().st_mode & 0o077 == 0  # one person's copy: the owner's alone


def test_qp_body_decodes_to_the_filled_content_for_awkward_input() -> None:
    import quopri
    import random

    from composer.compose.merge import token
    from composer.send.message import QPBody

    rng = random.Random(5)
    alphabet = ["a", "b", " ", "=", "é", "\u2013", "\n", "\t", ".", "<", ">", "&", "x" * 90]
    fields = ["first_name", "name", "email", "unsubscribe_url", "organisation"]
    for _ in range(300):
        pieces = []
        for _ in range(rng.randint(0, 12)):
            pieces.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))))
            if rng.random() < 0.6:
                pieces.append(token(rng.choice(fields), rng.choice(["html", "text"])))
        content = "".join(pieces)
        subs = substitutions(
            Recipient(
                email="p@example.org",
                unsubscribe_url="https://bulletin.example/u/" + "T" * rng.randint(1, 200),
                name="".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) or None,
                first_name="Zoë ",
            )
        )
        encoded = QPBody(content).render(subs)
        assert all(len(line) <= 76 for line in encoded.split(b"\r\n")), encoded
        expected = b"\n".join(fill(content, subs).encode().splitlines())
        if fill(content, subs).endswith(("\n", "\r")):
            expected += b"\n"
        assert quopri.decodestring(encoded).replace(b"\r\n", b"\n") == expected


def test_smtp_connection_lost_mid_message_is_unknown_and_the_rest_go_through(workspace: Workspace) -> None:
    from aiosmtpd.controller import Controller

    received: list[str] = []

    class DropsOne:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if envelope.rcpt_tos == ["gp1@example.org"]:
                server.transport.close()  # the line drops before the reply to the final dot
                return "250 OK"
            received.extend(envelope.rcpt_tos)
            return "250 OK"

    port = free_port()
    controller = Controller(DropsOne(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        add_contacts(workspace, people(3))
        ws = with_env(workspace, BULLETIN_SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=5")
        summary = send_bulletin(ws, make_composition(), ["lmc"], transport="smtp")
    finally:
        controller.stop()
    assert (summary.sent, summary.unknown) == (2, 1)
    assert sorted(received) == ["gp0@example.org", "gp2@example.org"]
    states = {r["email"]: r["state"] for r in ledger_rows(ws)}
    assert states == {"gp0@example.org": "sent", "gp1@example.org": "unknown", "gp2@example.org": "sent"}


def _self_signed(tmp: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, written as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_smtp_over_tls_with_auth(workspace: Workspace, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # the client trusts our test CA, verification stays on
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    got: list[tuple[bool, str]] = []

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
            got.append((tls, envelope.rcpt_tos[0]))
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    port = free_port()
    options: dict[str, Any] = {"authenticator": authenticator, "auth_required": True}
    if mode == "starttls":
        options.update(tls_context=server_ctx, require_starttls=True)
    else:
        # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS from the start.
        options.update(ssl_context=server_ctx, auth_require_tls=False)
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        add_contacts(workspace, people(2))
        url = (
            f"smtp://bulletin:s3cret@127.0.0.1:{port}?starttls=true"
            if mode == "starttls"
            else f"smtps://bulletin:s3cret@127.0.0.1:{port}"
        )
        summary = send_bulletin(with_env(workspace, BULLETIN_SMTP_URL=url), make_composition(), ["lmc"], transport="smtp")
    finally:
        controller.stop()
    assert summary.sent == 2
    assert sorted(got) == [(True, "gp0@example.org"), (True, "gp1@example.org")]


def test_lines_starting_with_a_dot_survive_smtp(workspace: Workspace, smtp_sink: SmtpSink) -> None:
    import dataclasses

    add_contacts(workspace, people(1))
    composition = make_composition(segments=("lmc",))
    render = composition.renders["lmc"]
    dotted = dataclasses.replace(render, text=".leading dot\n..two dots\n.\nend\n" + render.text)
    composition = dataclasses.replace(composition, renders={"lmc": dotted})
    send_bulletin(with_env(workspace, BULLETIN_SMTP_URL=smtp_sink.url), composition, ["lmc"], transport="smtp")
    (_, _, data), = smtp_sink.messages
    _, text = parts(parse(data))
    assert text.startswith(".leading dot\r\n..two dots\r\n.\r\nend\r\n") or text.startswith(".leading dot\n..two dots\n.\nend\n")
