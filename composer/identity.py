"""How an address is matched: normalized form and keyed hash.

Matching is case-insensitive on the whole address (what staff expect; no provider treats
two case-variants as two people in practice). The hash is HMAC-SHA256 keyed by the
workspace secret, so a leaked table of hashes cannot be reversed by hashing a list of
guessed addresses without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Sequence


def normalize_email(address: str) -> str:
    """The form used for matching and de-duplication: trimmed, lower-cased, and in
    Unicode NFC, so that `josé` typed with a combining accent (as macOS and some exports
    write it) is the same person as `josé` with a precomposed é."""
    folded = address.strip().lower()
    return folded if folded.isascii() else unicodedata.normalize("NFC", folded)


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


def mask_email(address: str) -> str:
    """`d•••@example.org`: enough for a person to recognise their address, no more."""
    local, _, domain = address.partition("@")
    if not domain:
        return "•••"
    return f"{local[:1]}•••@{domain}"
