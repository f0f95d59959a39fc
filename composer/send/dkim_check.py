"""`bulletin dkim`: sign a composed sample as a send would, verify it, and say what to publish."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from composer.compose.model import Composition
from composer.errors import ConfigError
from composer.identity import wire_address
from composer.send.dkim import DkimSigner, DnsRecord, Verification, public_key_record, verify
from composer.send.message import MessageFactory
from composer.send.prepare import RecipientPreparer
from composer.workspace import Workspace

SAMPLE_ADDRESS = "sample.reader@example.org"
NO_DKIM = (
    "bulletin.toml has no [dkim] table. Make a key (openssl genrsa -out dkim/bulletin.pem 2048), "
    'then add [dkim] with domain = "<your From domain>", selector = "bulletin" and '
    'private_key_file = "dkim/bulletin.pem"'
)


@dataclass(frozen=True)
class DkimCheck:
    record: DnsRecord  # what to publish
    verification: Verification
    signed_headers: tuple[str, ...]
    segment: str


def check_dkim(workspace: Workspace, composition: Composition, public_key: Path | None = None) -> DkimCheck:
    """Sign the first copy's sample message and verify it (against `public_key`, or DNS)."""
    signer = DkimSigner.from_workspace(workspace)
    if signer is None:
        raise ConfigError(NO_DKIM)
    segment, render = next(iter(composition.renders.items()))
    person = RecipientPreparer(workspace, campaign_id=0).prepare(0, SAMPLE_ADDRESS, 0, first_name="Sam")
    data, _ = MessageFactory(render).build(wire_address(person.email), person.substitutions, person.headers)
    signed = signer.sign(data)
    expected = signer.dns_record()
    record = public_key_record(public_key, signer.domain, signer.selector) if public_key else None
    result = verify(signed, record=record)
    headers = _signed_headers(signed)
    return DkimCheck(record=expected, verification=result, signed_headers=headers, segment=segment)


def _signed_headers(signed: bytes) -> tuple[str, ...]:
    header = signed.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").replace("\r\n", "")
    h = header.split(" h=", 1)[1].split(";", 1)[0] if " h=" in header else ""
    return tuple(name.strip() for name in h.split(":") if name.strip())
