"""compose → send (outbox) → List-Unsubscribe from a sent .eml → one-click → next send skips.

The whole path a real unsubscribe takes: the header written by send is the one a mail
client would POST to, and the suppression it makes is the one the next send honours.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from composer.identity import normalize_email
from composer.store.db import Store
from composer.store.models import Contact, SegmentMember
from composer.web.app import create_app

PEOPLE = {
    "dana@example.org": "Dana",
    "eli@example.org": "Eli",
    "fran@example.org": "Fran",
}


def _recipients(folder: Path) -> dict[str, email.message.EmailMessage]:
    out: dict[str, email.message.EmailMessage] = {}
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        out[str(msg["To"]).strip().lower()] = msg
    return out


def test_one_click_from_a_sent_eml_stops_the_next_send(store_workspace) -> None:  # type: ignore[no-untyped-def]
    from composer.compose.pipeline import compose_bulletin
    from composer.send import send_bulletin

    workspace = store_workspace
    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            for address, first in PEOPLE.items():
                contact = Contact(email=address, email_norm=normalize_email(address), first_name=first)
                s.add(contact)
                s.flush()
                s.add(SegmentMember(contact_id=contact.id, segment="practice", source="test"))

        june = workspace.bulletins_dir / "2026-06-gpce.yaml"
        first = compose_bulletin(workspace, june)
        summary = send_bulletin(workspace, first, segments=["practice"], transport="outbox", yes=True, store=store)
        assert summary.sent == 3
        sent = _recipients(workspace.outbox_dir / first.key)
        assert set(sent) == set(PEOPLE)

        dana = sent["dana@example.org"]
        assert dana["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        urls = re.findall(r"<([^>]+)>", str(dana["List-Unsubscribe"]))
        https = [u for u in urls if u.startswith("https://")]
        assert len(https) == 1 and any(u.startswith("mailto:") for u in urls)
        link = urlsplit(https[0])
        assert f"{link.scheme}://{link.netloc}" == workspace.sender.base_url

        with TestClient(create_app(workspace, store), follow_redirects=False) as client:
            # A scanner fetching the link first changes nothing...
            assert client.get(link.path).status_code == 200
            # ...the mail client's RFC 8058 POST unsubscribes, with no redirect.
            response = client.post(link.path, files={"List-Unsubscribe": (None, "One-Click")})
            assert response.status_code == 200
            assert "location" not in response.headers

        july = workspace.bulletins_dir / "2026-07-gpce.yaml"
        shutil.copy2(june, july)
        shutil.copytree(june.with_suffix(""), july.with_suffix(""))  # its pictures
        second = compose_bulletin(workspace, july)
        assert second.key != first.key
        summary = send_bulletin(workspace, second, segments=["practice"], transport="outbox", yes=True, store=store)
        assert summary.sent == 2
        assert set(_recipients(workspace.outbox_dir / second.key)) == {
            "eli@example.org",
            "fran@example.org",
        }
    finally:
        store.close()
