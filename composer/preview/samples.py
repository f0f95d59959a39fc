"""Made-up recipients for the preview's picker.

A preview never reads the contact store: it must work on a laptop with no database and
must not put a real person's details on a screen that someone else may be looking at.
Every address is at a reserved domain (RFC 2606). One name is hostile on purpose, so
staff can see that merge fields are escaped in HTML and left raw in the plain text.
"""

from __future__ import annotations

from dataclasses import dataclass

from composer.compose.merge import Recipient, fill, substitutions


@dataclass(frozen=True)
class SampleRecipient:
    key: str
    label: str
    email: str
    first_name: str | None = None
    name: str | None = None
    organisation: str | None = None

    def recipient(self, unsubscribe_url: str) -> Recipient:
        return Recipient(
            email=self.email,
            unsubscribe_url=unsubscribe_url,
            first_name=self.first_name,
            name=self.name,
            organisation=self.organisation,
        )

    def as_dict(self) -> dict[str, str | None]:
        return {
            "key": self.key,
            "label": self.label,
            "email": self.email,
            "first_name": self.first_name,
            "name": self.name,
            "organisation": self.organisation,
        }


SAMPLES: tuple[SampleRecipient, ...] = (
    SampleRecipient(
        key="partner",
        label="Dr Priya Shah, GP partner",
        email="priya.shah@practice.example",
        first_name="Priya",
        name="Dr Priya Shah",
        organisation="Riverside Medical Practice",
    ),
    SampleRecipient(
        key="hostile",
        label="Dr <b>O'Brien</b> & Partners (escaping test)",
        email="obrien.partners@surgery.example",
        first_name="Dr <b>O'Brien</b> & Partners",
        name="Dr <b>O'Brien</b> & Partners",
        organisation="O'Brien & Partners <Surgery>",
    ),
    SampleRecipient(
        key="registrar",
        label="Sam Okafor, GP registrar",
        email="sam.okafor@example.org",
        first_name="Sam",
        name="Sam Okafor",
        organisation="North Deanery GP Training Scheme",
    ),
    SampleRecipient(
        key="blank",
        label="Address only (fallback values)",
        email="no-name@example.net",
    ),
)

DEFAULT_SAMPLE = SAMPLES[0].key


def find_sample(key: str | None) -> SampleRecipient | None:
    """The sample with this key; the default one when `key` is empty."""
    wanted = key or DEFAULT_SAMPLE
    return next((s for s in SAMPLES if s.key == wanted), None)


def preview_unsubscribe_url(base_url: str) -> str:
    """A dummy unsubscribe link on the workspace's public site: never a real token."""
    return f"{base_url.rstrip('/')}/u/preview"


def personalise(content: str, sample: SampleRecipient, unsubscribe_url: str) -> str:
    """Fill the merge tokens of one part (HTML or text) the way send will."""
    return fill(content, substitutions(sample.recipient(unsubscribe_url)))
