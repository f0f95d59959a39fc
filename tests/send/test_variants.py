"""A person in two segments gets one message with every section of both, once each,
through the outbox and through SendGrid, from a real composition."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from composer.compose.pipeline import compose_bulletin
from composer.send import send_bulletin
from composer.workspace import Workspace
from tests.compose.helpers import write_bulletin
from tests.compose.test_variants import THREE
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import add_contacts, ledger_rows, with_env
from tests.send.test_sendgrid import transport

PRIYA = {"email": "priya@example.org", "segments": ["lmc", "practice"], "first_name": "Priya"}
OTHERS = [
    {"email": "lena@example.org", "segments": ["lmc"], "first_name": "Lena"},
    {"email": "sam@example.org", "segments": ["registrar"], "first_name": "Sam"},
]
# Each section of THREE, by a phrase only it holds; Priya (lmc and practice) needs all three.
LMC = ("For registrars and LMCs.", "For LMCs.")
PRACTICE = ("For practices.", "For registrars and LMCs.")


def composed(workspace: Workspace, root: Path):  # type: ignore[no-untyped-def]
    # As `bulletin send` does: the single segments only; the send adds lmc+practice.
    return compose_bulletin(workspace, write_bulletin(root, THREE), variants=())


HEADLINES = ("Practice only", "Registrars and LMCs", "LMC only")  # in the bulletin's order


def assert_every_section_once(html: str, text: str) -> None:
    for phrase in dict.fromkeys(LMC + PRACTICE):
        assert html.count(phrase) == 1, phrase
        assert text.count(phrase) == 1, phrase
    for part in (html, text):
        assert [part.count(h) for h in HEADLINES] == [1, 1, 1], part
        assert sorted(HEADLINES, key=part.index) == list(HEADLINES), "sections out of the bulletin's order"
    assert "Dear Priya" in html and "Dear Priya" in text


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())


def test_outbox_gives_a_person_in_two_segments_every_section_once(store_workspace: Workspace) -> None:
    add_contacts(store_workspace, [PRIYA, *OTHERS])
    summary = send_bulletin(store_workspace, composed(store_workspace, store_workspace.root), transport="outbox")
    assert summary.sent == 3
    assert {v.variant: v.to_send for v in summary.plan.variants} == {"lmc": 1, "registrar": 1, "lmc+practice": 1}
    rows = {r["email"]: r["variant"] for r in ledger_rows(store_workspace)}
    assert rows["priya@example.org"] == "lmc+practice"
    messages = [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in (store_workspace.outbox_dir / "test").glob("*.eml")
    ]
    mine = [m for m in messages if m["To"] == "priya@example.org"]
    assert len(mine) == 1
    assert_every_section_once(body(mine[0], "html"), body(mine[0], "plain"))  # type: ignore[arg-type]
    (lena,) = [m for m in messages if m["To"] == "lena@example.org"]
    assert "For practices." not in body(lena, "plain")  # type: ignore[arg-type]


def test_sendgrid_gives_a_person_in_two_segments_every_section_once(
    workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    from tests.send.conftest import API_KEY

    ws = with_env(workspace, SENDGRID_API_KEY=API_KEY, BULLETIN_SENDGRID_API_HOST=fake_sendgrid.url)
    add_contacts(ws, [PRIYA, *OTHERS])
    summary = send_bulletin(ws, composed(ws, ws.root), transport=transport(fake_sendgrid))
    assert (summary.sent, summary.failed, summary.unknown) == (3, 0, 0)
    assert fake_sendgrid.counts["priya@example.org"] == 1
    (priya,) = [a for a in fake_sendgrid.accepted if a.email == "priya@example.org"]
    assert priya.html is not None and priya.text is not None
    assert_every_section_once(priya.html, priya.text)
