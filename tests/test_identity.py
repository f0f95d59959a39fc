"""Address identity: one normalized form (and so one hash) per person."""

from __future__ import annotations

from composer.identity import AddressHasher, needs_smtputf8, normalize_email, wire_address


def test_an_internationalised_domain_has_one_form() -> None:
    assert normalize_email("User@Bücher.example") == "user@xn--bcher-kva.example"
    assert normalize_email("user@XN--BCHER-KVA.example") == "user@xn--bcher-kva.example"
    hasher = AddressHasher(["k"])
    assert hasher.hash("user@bücher.example") == hasher.hash("USER@xn--bcher-kva.EXAMPLE")


def test_a_non_ascii_local_part_stays_and_is_nfc() -> None:
    assert normalize_email("Jose\u0301@bücher.example") == "jos\u00e9@xn--bcher-kva.example"


def test_a_domain_idna_refuses_is_kept_so_matching_stays_total() -> None:
    assert normalize_email("a@ex\u00e4mple..example") == "a@ex\u00e4mple..example"


def test_wire_form_punycodes_the_domain_and_flags_a_non_ascii_local_part() -> None:
    assert wire_address("Ann@Bücher.example") == "Ann@xn--bcher-kva.example"
    assert not needs_smtputf8("ann@bücher.example")
    assert needs_smtputf8("josé@example.org")
