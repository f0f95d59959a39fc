"""Turn a contact into a `PreparedRecipient`: unsubscribe token, merge values, headers."""

from __future__ import annotations

from composer.compose.merge import substitutions_for
from composer.send.transports.base import PreparedRecipient
from composer.tokens import TokenSigner, list_unsubscribe_headers, unsubscribe_url
from composer.workspace import Workspace


class RecipientPreparer:
    """Makes each person's copy data for one campaign (campaign id 0 for a test send)."""

    def __init__(self, workspace: Workspace, campaign_id: int) -> None:
        self.campaign_id = campaign_id
        self._signer = TokenSigner(workspace.secret_keys())
        self._base_url = workspace.sender.base_url
        self._mailto = workspace.sender.unsubscribe_mailto

    def prepare(
        self,
        key: int,
        email: str,
        contact_id: int,
        *,
        first_name: str | None = None,
        name: str | None = None,
        organisation: str | None = None,
    ) -> PreparedRecipient:
        token = self._signer.make(contact_id, self.campaign_id)
        values = {
            "email": email,
            "unsubscribe_url": unsubscribe_url(self._base_url, token),
            "first_name": first_name,
            "name": name,
            "organisation": organisation,
        }
        return PreparedRecipient(
            key=key,
            email=email,
            contact_id=contact_id,
            substitutions=substitutions_for(values),
            headers=list_unsubscribe_headers(self._base_url, self._mailto, token),
        )
