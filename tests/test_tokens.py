"""Unsubscribe tokens and merge substitutions: the shared fast paths equal the reference."""

from __future__ import annotations

import html
import random
from urllib.parse import quote

import pytest

from composer.compose.merge import FALLBACKS, MERGE_FIELDS, Recipient, substitutions, token
from composer.tokens import InvalidToken, TokenSigner, unsubscribe_mailto


@pytest.mark.parametrize("keys", [["one"], ["new", "old", "older"]])
def test_tokens_are_itsdangerous_tokens(keys: list[str]) -> None:
    signer = TokenSigner(keys)
    assert signer._fast  # the fast path agreed with itsdangerous's dumps
    for contact_id in (0, 1, 99, 123_456_789, 2**40):
        for campaign_id in (0, 1, 7777):
            made = signer.make(contact_id, campaign_id)
            assert made == signer._make_slow(contact_id, campaign_id)
            claim = signer.read(made)
            assert (claim.contact_id, claim.campaign_id) == (contact_id, campaign_id)


def test_rotated_keys_verify_and_unknown_keys_do_not() -> None:
    old = TokenSigner(["old"]).make(5, 6)
    assert TokenSigner(["new", "old"]).read(old).contact_id == 5
    with pytest.raises(InvalidToken):
        TokenSigner(["new"]).read(old)
    with pytest.raises(InvalidToken):
        TokenSigner(["new"]).read(old[:-2] + "xx")


def test_mailto_subject_is_what_quote_would_make() -> None:
    made = TokenSigner(["k"]).make(3, 4)
    assert unsubscribe_mailto("u@bulletin.example", made) == f"mailto:u@bulletin.example?subject={quote('unsubscribe ' + made)}"
    assert unsubscribe_mailto("u@bulletin.example", "a b") == "mailto:u@bulletin.example?subject=unsubscribe%20a%20b"


def test_substitutions_escape_exactly_as_html_escape() -> None:
    rng = random.Random(3)
    alphabet = ["a", "Z", " ", "<", ">", "&", '"', "'", "é", "\t", "%%BT.name.h%%", "=", "\u2028", "&amp;"]
    for _ in range(500):
        values = {field: rng.choice([None, "", "  ", "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))])
                  for field in ("first_name", "name", "organisation")}  # fmt: skip
        subs = substitutions(Recipient(email="p@example.org", unsubscribe_url="https://bulletin.example/u/x", **values))
        for field in MERGE_FIELDS:
            raw = values.get(field)
            expected = (FALLBACKS.get(field, "") if raw is None or raw.strip() == "" else raw) if field in values else None
            if expected is None:
                continue
            assert subs[token(field, "text")] == expected
            assert subs[token(field, "html")] == html.escape(expected, quote=True)
