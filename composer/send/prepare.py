"""Turn a contact into a `PreparedRecipient`: unsubscribe token, merge values, headers."""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import urlsafe_b64encode
from collections.abc import Callable, Sequence

from itsdangerous import URLSafeSerializer

from composer.compose.merge import FALLBACKS, MERGE_FIELDS, token
from composer.send.transports.base import PreparedRecipient
from composer.tokens import SALT, TokenSigner, list_unsubscribe_headers, unsubscribe_url
from composer.workspace import Workspace

_PLACEHOLDER = "BTXTOKENXBT"
_TOKENS = tuple((field, token(field, "html"), token(field, "text")) for field in MERGE_FIELDS)
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def fast_substitutions(values: dict[str, str | None]) -> dict[str, str]:
    """Exactly `composer.compose.merge.substitutions(Recipient(**values))`, built with the
    token names made once and one-pass escaping (`html.escape(quote=True)`); a test
    compares the two on awkward input."""
    subs: dict[str, str] = {}
    for field, html_token, text_token in _TOKENS:
        raw = values.get(field)
        value = FALLBACKS.get(field, "") if raw is None or raw.strip() == "" else raw
        subs[html_token] = value.translate(_ESCAPE)
        subs[text_token] = value
    return subs
_URL_SAFE = re.compile(r"[A-Za-z0-9._-]+")  # what urllib.parse.quote leaves as it is


def token_maker(keys: Sequence[str]) -> Callable[[int, int], str]:
    """A function that makes the same tokens as `TokenSigner(keys).make`, about ten times
    faster: the signing key is derived once instead of per token.

    The token is itsdangerous's URL-safe form, base64(JSON) "." base64(HMAC-SHA256); zlib
    compression never wins for two small integers, so itsdangerous never uses it here.
    The fast form is checked against `TokenSigner` before use, and `TokenSigner` is used
    if they ever differ (a different itsdangerous, say).
    """
    reference = TokenSigner(keys)
    signer = URLSafeSerializer(
        list(reversed(keys)), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    ).make_signer(SALT)
    key = signer.derive_key()
    sep = signer.sep.encode() if isinstance(signer.sep, str) else signer.sep

    def fast(contact_id: int, campaign_id: int) -> str:
        # int() makes the JSON text exactly what json.dumps writes for two integers.
        payload = urlsafe_b64encode(f"[{int(contact_id)},{int(campaign_id)}]".encode()).rstrip(b"=")
        signature = urlsafe_b64encode(hmac.digest(key, payload, "sha256")).rstrip(b"=")
        return (payload + sep + signature).decode("ascii")

    probes = [(1, 0), (0, 0), (123456789, 42), (7, 2**40)]
    if all(fast(c, k) == reference.make(c, k) for c, k in probes):
        return fast
    return reference.make


class RecipientPreparer:
    """Makes each person's copy data for one campaign (campaign id 0 for a test send)."""

    def __init__(self, workspace: Workspace, campaign_id: int) -> None:
        self.campaign_id = campaign_id
        self._make_token = token_maker(workspace.secret_keys())
        self._base_url = workspace.sender.base_url
        self._mailto = workspace.sender.unsubscribe_mailto
        # list_unsubscribe_headers percent-quotes the token for the mailto: URI, which is
        # slow; a URL-safe token quotes to itself, so fill a template made once instead.
        self._headers = list_unsubscribe_headers(self._base_url, self._mailto, _PLACEHOLDER)

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
        token = self._make_token(contact_id, self.campaign_id)
        values = {
            "email": email,
            "unsubscribe_url": unsubscribe_url(self._base_url, token),
            "first_name": first_name,
            "name": name,
            "organisation": organisation,
        }
        if _URL_SAFE.fullmatch(token):
            headers = {name: value.replace(_PLACEHOLDER, token) for name, value in self._headers.items()}
        else:
            headers = list_unsubscribe_headers(self._base_url, self._mailto, token)
        return PreparedRecipient(
            key=key,
            email=email,
            contact_id=contact_id,
            substitutions=fast_substitutions(values),
            headers=headers,
        )
