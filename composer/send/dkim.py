"""DKIM signing (RFC 6376) with dkimpy for the SMTP and outbox transports, and its check.

`[dkim]` in bulletin.toml names the domain, the selector and the private key's file (the
key itself never goes in the toml). Every message is signed over the headers in
`SIGNED_HEADERS`; RFC 8058 section 3.2 requires both List-Unsubscribe headers to be
covered, or a receiver may ignore one-click unsubscribe. Canonicalization is
relaxed/simple (dkimpy's default): relaxed headers survive relays that refold them, and
our bodies are quoted-printable with CRLF line ends and no trailing white space, which
is what relaxed body canonicalization would forgive (at 4 ms a message in dkimpy).

dkimpy computes RSA in pure Python (about 7 ms a message: a third of what a connection to
Postfix sustains). The RSA step alone is handed to OpenSSL through `cryptography` for our
key: PKCS#1 v1.5 signatures are deterministic, so the two must give the same bytes, and
`DkimSigner` checks that once when it is made (and keeps dkimpy's own if they differ).
Two more costs are dkimpy's and avoidable, together as much as the rest: it parses the
PEM key again for every message (cached here: the parse is a pure function of the
bytes), and it splits the whole message into lines to find the body (handed the header
block alone here, with the body set as dkimpy would have rebuilt it, for a body whose
line ends are all CRLF, as ours are).
"""

from __future__ import annotations

import base64
import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dkim
import dkim.crypto
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from composer.errors import ConfigError
from composer.workspace import DkimSettings, Workspace

SIGNED_HEADERS = (
    "From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
    "List-Unsubscribe-Post", "List-Id", "MIME-Version", "Content-Type",
)  # fmt: skip
_INCLUDE = [h.lower().encode() for h in SIGNED_HEADERS]
_CANON = (b"relaxed", b"simple")

_PURE_SIGN = dkim.crypto.RSASSA_PKCS1_v1_5_sign
_OPENSSL: dict[int, rsa.RSAPrivateKey] = {}  # modulus → key, for the keys checked equal
_LOCK = threading.Lock()


def _sign_digest(digest: Any, private_key: dict[str, int]) -> bytes:
    """dkimpy's RSASSA-PKCS1-v1_5 step, by OpenSSL for a key checked to agree."""
    key = _OPENSSL.get(private_key["modulus"])
    if key is None or digest.name != "sha256":
        return bytes(_PURE_SIGN(digest, private_key))
    return key.sign(digest.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256()))


@dataclass(frozen=True)
class DnsRecord:
    """The TXT record a receiver looks the public key up in."""

    name: str
    value: str

    def zone_line(self) -> str:
        """The record as a zone-file line, the value split into 255-octet strings."""
        chunks = [self.value[i : i + 255] for i in range(0, len(self.value), 255)]
        return f'{self.name}. IN TXT ( {" ".join(f"{chr(34)}{c}{chr(34)}" for c in chunks)} )'


class DkimSigner:
    """Signs whole messages (bytes with CRLF line ends) for one domain and selector."""

    def __init__(self, domain: str, selector: str, private_key_pem: bytes, *, source: str = "the key") -> None:
        self.domain = domain
        self.selector = selector
        self._pem = private_key_pem
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"[dkim] {source}: not an unencrypted PEM private key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError(f"[dkim] {source}: the key must be RSA (receivers do not all check Ed25519)")
        if key.key_size < 1024:
            raise ConfigError(f"[dkim] {source}: a {key.key_size}-bit key is too short (RFC 8301: at least 1024)")
        self._key = key
        self._fast = self._check_openssl(key)

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> DkimSigner | None:
        """The signer `[dkim]` describes, or None when bulletin.toml has no `[dkim]`."""
        settings: DkimSettings | None = workspace.config.dkim
        if settings is None:
            return None
        path = (workspace.root / settings.private_key_file).resolve()
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"[dkim] private_key_file {path}: cannot read it ({exc.strerror})") from None
        return cls(settings.domain, settings.selector, pem, source=f"private_key_file {path}")

    def _check_openssl(self, key: rsa.RSAPrivateKey) -> bool:
        probe = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: probe\r\n\r\nprobe\r\n"
        parsed = dkim.crypto.parse_pem_private_key(self._pem)
        with _LOCK:
            _OPENSSL.pop(parsed["modulus"], None)
            pure = self._sign_with(probe, probe=True)
            _OPENSSL[parsed["modulus"]] = key
            fast = self._sign_with(probe, probe=True)
            if fast != pure:
                del _OPENSSL[parsed["modulus"]]
                return False
        return True

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header first."""
        return self._sign_with(message) + message

    def _sign_with(self, message: bytes, *, probe: bool = False) -> bytes:
        head, blank, body = message.partition(b"\r\n\r\n")
        if blank and body.count(b"\n") == body.count(b"\r\n"):
            signer = dkim.DKIM(head + blank, linesep=b"\r\n")
            signer.body = body  # what dkimpy's rfc822_parse would make of it: the same bytes
        else:
            signer = dkim.DKIM(message, linesep=b"\r\n")
        header = signer.sign(
            self.selector.encode(), self.domain.encode(), self._pem,
            canonicalize=_CANON, include_headers=_INCLUDE,
        )  # fmt: skip
        # The probe's two signatures may fall in different seconds: compare them without t=.
        return re.sub(rb"t=[0-9]+;", b"", header) if probe else bytes(header)

    def dns_record(self) -> DnsRecord:
        return dns_record(self.domain, self.selector, self._key.public_key())


def dns_record(domain: str, selector: str, public_key: rsa.RSAPublicKey) -> DnsRecord:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return DnsRecord(
        name=f"{selector}._domainkey.{domain}",
        value=f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}",
    )


def public_key_record(path: Path, domain: str, selector: str) -> DnsRecord:
    """The TXT record for a PEM public key file (or a private key's public half)."""
    data = path.read_bytes()
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            public = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise ConfigError(f"{path}: not a PEM public (or private) key") from None
    if not isinstance(public, rsa.RSAPublicKey):
        raise ConfigError(f"{path}: not an RSA key")
    return dns_record(domain, selector, public)


@dataclass(frozen=True)
class Verification:
    ok: bool
    where: str  # "DNS" or the public key file
    detail: str


DnsLookup = Callable[..., bytes | None]


def verify(message: bytes, *, record: DnsRecord | None = None, dns: DnsLookup | None = None) -> Verification:
    """Verify the message's DKIM signature against `record` (a given public key) or DNS."""
    if record is not None:
        expected = record.name.encode().lower()

        def lookup(name: bytes, timeout: int = 5) -> bytes | None:
            return record.value.encode() if name.rstrip(b".").lower() == expected else None

        where, dnsfunc = "the public key file", lookup
    else:
        where, dnsfunc = "DNS", dns or dkim.dnsplug.get_txt
    logs: list[str] = []
    verifier = dkim.DKIM(message, logger=_Collect(logs))
    try:
        ok = bool(verifier.verify(dnsfunc=dnsfunc))
    except dkim.DKIMException as exc:
        return Verification(False, where, str(exc))
    if ok:
        return Verification(True, where, "signature verified")
    if any("missing public key" in line for line in logs):
        return Verification(False, where, "no DKIM public key is published there yet (or DNS is unreachable)")
    return Verification(False, where, "the signature does not verify with that public key")


class _Collect:
    """A logger for dkimpy that keeps its messages for the report."""

    def __init__(self, into: list[str]) -> None:
        self.into = into

    def _keep(self, msg: object, *args: object) -> None:
        self.into.append(str(msg) % args if args else str(msg))

    debug = info = warning = error = _keep


dkim.RSASSA_PKCS1_v1_5_sign = _sign_digest  # see the module docstring
dkim.parse_pem_private_key = functools.lru_cache(maxsize=8)(dkim.crypto.parse_pem_private_key)
