"""Each SMTP and outbox recipient's ledger state is what really happened to that message,
and addresses are written in a form servers and RFC 2047 allow."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller

from composer.send import send_bulletin
from composer.workspace import Workspace
from tests.send.conftest import (
    SmtpSink,
    add_contacts,
    free_port,
    ledger_rows,
    make_composition,
    with_env,
)


class Recorder:
    """An SMTP server that records messages, and drops the line at RCPT for one address."""

    def __init__(self, drop_at_rcpt: str | None = None) -> None:
        self.drop_at_rcpt = drop_at_rcpt
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == self.drop_at_rcpt:
            server.transport.close()
            return "250 OK"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def serve(handler: Recorder, **options: Any) -> tuple[Controller, str]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, f"smtp://127.0.0.1:{port}?timeout=5"


def to_header(data: bytes) -> bytes:
    return next(line for line in data.split(b"\r\n") if line.startswith(b"To: "))


def test_an_internationalised_domain_goes_as_punycode_in_the_envelope_and_the_header(
    workspace: Workspace, smtp_sink: SmtpSink
) -> None:
    add_contacts(workspace, [{"email": "ann@bücher.example", "segments": ["lmc"]}])
    summary = send_bulletin(with_env(workspace, BULLETIN_SMTP_URL=smtp_sink.url), make_composition(), ["lmc"], transport="smtp")
    assert summary.sent == 1
    (_, rcpts, data), = smtp_sink.messages
    assert rcpts == ["ann@xn--bcher-kva.example"]
    assert to_header(data) == b"To: ann@xn--bcher-kva.example"


def test_a_non_ascii_local_part_goes_as_utf8_where_the_server_offers_smtputf8(workspace: Workspace) -> None:
    handler = Recorder()
    controller, url = serve(handler, enable_SMTPUTF8=True)
    try:
        add_contacts(workspace, [{"email": "josé@example.org", "segments": ["lmc"]}])
        summary = send_bulletin(with_env(workspace, BULLETIN_SMTP_URL=url), make_composition(), ["lmc"], transport="smtp")
    finally:
        controller.stop()
    assert summary.sent == 1
    (rcpts, data), = handler.messages
    assert rcpts == ["josé@example.org"]
    assert to_header(data) == "To: josé@example.org".encode()  # UTF-8 (RFC 6532), no =?utf-8?…?=


def test_a_line_dropped_at_rcpt_is_failed_not_unknown_and_a_rerun_sends_it(workspace: Workspace) -> None:
    handler = Recorder(drop_at_rcpt="gp1@example.org")
    controller, url = serve(handler)
    try:
        add_contacts(workspace, [{"email": f"gp{i}@example.org", "segments": ["lmc"]} for i in range(3)])
        ws = with_env(workspace, BULLETIN_SMTP_URL=url)
        summary = send_bulletin(ws, make_composition(), ["lmc"], transport="smtp")
        states = {r["email"]: (r["state"], r["error"] or "") for r in ledger_rows(ws)}
        assert (summary.sent, summary.failed, summary.unknown) == (2, 1, 0)
        assert states["gp1@example.org"][0] == "failed"
        assert "before the message was sent" in states["gp1@example.org"][1]
        handler.drop_at_rcpt = None
        again = send_bulletin(ws, make_composition(), ["lmc"], transport="smtp")
    finally:
        controller.stop()
    assert again.sent == 1
    assert sorted(r for rcpts, _ in handler.messages for r in rcpts) == [f"gp{i}@example.org" for i in range(3)]


def test_one_outbox_write_error_fails_that_file_alone(workspace: Workspace) -> None:
    ids = add_contacts(workspace, [{"email": f"gp{i}@example.org", "segments": ["lmc"]} for i in range(3)])
    folder = workspace.outbox_dir / "2026-06-test"
    (folder / f"lmc-{ids[1]:08d}.eml").mkdir(parents=True)  # in the way of the second file
    summary = send_bulletin(workspace, make_composition(), ["lmc"], transport="outbox")
    assert (summary.sent, summary.failed, summary.unknown) == (2, 1, 0)
    states = {r["email"]: (r["state"], r["error"] or "") for r in ledger_rows(workspace)}
    assert states["gp1@example.org"][0] == "failed" and "could not write" in states["gp1@example.org"][1]
    assert {states[f"gp{i}@example.org"][0] for i in (0, 2)} == {"sent"}
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_non_ascii_local_part_fails_alone_where_the_server_lacks_smtputf8(workspace: Workspace) -> None:
    handler = Recorder()
    controller, url = serve(handler, enable_SMTPUTF8=False)
    try:
        people_ = ["a@example.org", "jos\u00e9@example.org", "b@example.org"]
        add_contacts(workspace, [{"email": e, "segments": ["lmc"]} for e in people_])
        ws = with_env(workspace, BULLETIN_SMTP_URL=url)
        summary = send_bulletin(ws, make_composition(), ["lmc"], transport="smtp")
    finally:
        controller.stop()
    assert (summary.sent, summary.failed, summary.unknown) == (2, 1, 0)
    assert sorted(r for rcpts, _ in handler.messages for r in rcpts) == ["a@example.org", "b@example.org"]
    states = {r["email"]: (r["state"], r["error"] or "") for r in ledger_rows(ws)}
    assert states["jos\u00e9@example.org"][0] == "failed" and "SMTPUTF8" in states["jos\u00e9@example.org"][1]
