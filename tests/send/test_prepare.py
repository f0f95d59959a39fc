"""Per-recipient preparation: tokens and headers are exactly what the shared helpers make."""

from __future__ import annotations

from composer.send.prepare import RecipientPreparer
from composer.tokens import TokenSigner, list_unsubscribe_headers, unsubscribe_url
from composer.workspace import Workspace


def test_prepared_recipient_matches_the_shared_helpers(workspace: Workspace) -> None:
    prepared = RecipientPreparer(workspace, campaign_id=12).prepare(5, "pat@example.org", 34, first_name="Pat")
    token = TokenSigner(workspace.secret_keys()).make(34, 12)
    sender = workspace.sender
    assert prepared.headers == list_unsubscribe_headers(sender.base_url, sender.unsubscribe_mailto, token)
    assert prepared.substitutions["%%BT.unsubscribe_url.t%%"] == unsubscribe_url(sender.base_url, token)
    assert prepared.substitutions["%%BT.first_name.h%%"] == "Pat"
    assert (prepared.key, prepared.contact_id) == (5, 34)
