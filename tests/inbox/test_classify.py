"""Every message of the corpus gets its class, with the status code the server wrote."""

from __future__ import annotations

import pytest

from composer.inbox.classify import Classifier, Kind
from composer.tokens import TokenSigner, verp_address
from tests.inbox.corpus import SHAPES, Shape, message

SIGNER = TokenSigner(["inbox-test-key"])
VERP = verp_address("bounces.bulletin.example", SIGNER.delivery_token(7, 123))
CLASSIFIER = Classifier(SIGNER, "unsubscribe@bulletin.example")


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_each_shape_is_classified(shape: Shape) -> None:
    found = CLASSIFIER.classify(message(shape, verp=VERP, rcpt="sam@example.org", token=SIGNER.make(55, 7)))
    assert found.kind is shape.kind
    if shape.status is not None:
        assert found.status == shape.status
    if shape.kind in (Kind.PERMANENT, Kind.TEMPORARY):
        assert found.delivery is not None and (found.delivery.campaign_id, found.delivery.delivery_id) == (7, 123)
    if shape.kind is Kind.UNSUBSCRIBE:
        assert found.unsubscribe is not None and (found.unsubscribe.contact_id, found.unsubscribe.campaign_id) == (55, 7)
    else:
        assert found.unsubscribe is None  # the returned headers' List-Unsubscribe never unsubscribes


@pytest.mark.parametrize("shape", [s for s in SHAPES if s.kind in (Kind.PERMANENT, Kind.TEMPORARY)], ids=lambda s: s.name)
def test_a_bounce_signed_by_another_key_names_no_delivery(shape: Shape) -> None:
    other = TokenSigner(["someone else's key"])
    forged = verp_address("bounces.bulletin.example", other.delivery_token(7, 123))
    found = CLASSIFIER.classify(message(shape, verp=forged, rcpt="sam@example.org", token="x"))
    assert found.delivery is None and not found.handled


def test_an_unsubscribe_token_from_another_key_is_not_an_unsubscribe() -> None:
    (shape,) = [s for s in SHAPES if s.name == "mailto-unsubscribe"]
    found = CLASSIFIER.classify(message(shape, verp=VERP, rcpt="sam@example.org", token=TokenSigner(["other"]).make(55, 7)))
    assert found.kind is Kind.OTHER
