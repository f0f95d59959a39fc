"""How an address is matched: normalized form and keyed hash.

Matching is case-insensitive on the whole address (what staff expect; no provider treats
two case-variants as two people in practice), and an internationalised domain has one
form: its ASCII (punycode, IDNA 2008 with UTS #46 mapping) spelling, so
`user@bücher.example` and `user@xn--bcher-kva.example` are one person, one hash and one
suppression. The hash is HMAC-SHA256 keyed by the
workspace secret, so a leaked table of hashes cannot be reversed by hashing a list of
guessed addresses without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import idna


def normalize_email(address: str) -> str:
    """The form used for matching and de-duplication: trimmed, lower-cased, in Unicode
    NFC (so `josé` typed with a combining accent, as macOS and some exports write it, is
    the same person as `josé` with a precomposed é), with the domain in its ASCII form."""
    folded = address.strip().lower()
    if folded.isascii():
        return folded
    local, at, domain = unicodedata.normalize("NFC", folded).rpartition("@")
    return f"{local}{at}{ascii_domain(domain)}" if at else folded


@lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str:
    """`bücher.example` → `xn--bcher-kva.example`; a domain IDNA refuses is kept as given
    (address validation at import reports it; matching must still be total)."""
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain


def wire_address(address: str) -> str:
    """The address as it goes into an envelope or a header: the domain in ASCII, the local
    part as given. It is all ASCII unless the local part is not, which only a server that
    offers SMTPUTF8 (RFC 6531) can carry."""
    local, at, domain = address.strip().rpartition("@")
    return f"{local}{at}{ascii_domain(domain)}" if at else address.strip()


def needs_smtputf8(address: str) -> bool:
    """Whether the address can travel only with SMTPUTF8 (a non-ASCII local part)."""
    return not wire_address(address).isascii()


class AddressHasher:
    """HMAC of normalized addresses under the current key and, for lookups, older keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._keys = [k.encode("utf-8") for k in keys]

    @property
    def rotated(self) -> bool:
        """Whether older keys are held too (rows may then carry an older key's hash)."""
        return len(self._keys) > 1

    @property
    def key_count(self) -> int:
        """How many keys are held: how many hashes `candidates` gives per address."""
        return len(self._keys)

    def hash(self, address: str) -> str:
        """The hash under the current key: what new rows store."""
        return self._digest(self._keys[0], address)

    def candidates(self, address: str) -> list[str]:
        """Hashes under every key, current first: what lookups match, across a key rotation."""
        return [self._digest(key, address) for key in self._keys]

    @staticmethod
    def _digest(key: bytes, address: str) -> str:
        norm = normalize_email(address).encode("utf-8")
        return hmac.new(key, norm, hashlib.sha256).hexdigest()


# An address inside free text or JSON: what can stand either side of the @ in practice,
# stopped by white space, quotes, brackets and the punctuation that separates list items.
_ADDRESS_IN_TEXT = re.compile(r"[^\s<>()\[\]{}\"',;:]+@[^\s<>()\[\]{}\"',;:]+")


def addresses_in(value: object) -> set[str]:
    """Every address found in a value (a string, or JSON data: dicts, lists, strings),
    normalized: the only fair test of whether a record is about a person. A substring
    search is not (`ann@example.org` is inside `joann@example.org`)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.update(normalize_email(m.rstrip(".")) for m in _ADDRESS_IN_TEXT.findall(item))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


_ADDRESS_LIKE = re.compile(r"[^\s@]+@[^\s@]+")
_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls")


def redact_addresses(text: str) -> str:
    """Anything that looks like an address replaced by `<address>`: for what the store
    keeps about a command (its command line, the name of the file it read), which must
    not hold an address."""
    return _ADDRESS_LIKE.sub("<address>", text)


def redact_file_name(name: str) -> str:
    """`jane.doe@example.org.csv` → `<address>.csv`: the name stays recognisable."""
    for suffix in _FILE_SUFFIXES:
        if name.lower().endswith(suffix) and "@" in name:
            return redact_addresses(name[: -len(suffix)]) + name[-len(suffix):]
    return redact_addresses(name)


def mask_email(address: str) -> str:
    """`d•••@example.org`: enough for a person to recognise their address, no more."""
    local, _, domain = address.partition("@")
    if not domain:
        return "•••"
    return f"{local[:1]}•••@{domain}"
