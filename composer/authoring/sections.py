"""Split a read draft into the bulletin's parts: the intro before the first heading, one
section per Heading 1/2, the trailing heading-less list of links, and the sign-off."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from composer.authoring.docx_read import Draft, Para

HINT = re.compile(r"\s*\[(?P<names>[A-Za-z_, ]+)\]\s*$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CLOSINGS = ("best wishes", "kind regards", "regards", "with thanks", "thank you", "yours sincerely", "many thanks")


@dataclass
class DraftSection:
    heading: str
    paragraphs: list[Para]
    audiences: list[str] | None = None
    hint_source: str = ""  # "heading" or "comment"


@dataclass(frozen=True)
class Contact:
    email: str
    note: str | None


@dataclass
class Signoff:
    name: str
    role: str
    closing: str | None
    contacts: list[Contact]


@dataclass
class Outline:
    subject: str
    intro: DraftSection | None
    sections: list[DraftSection]
    resources: list[tuple[str, str]] = field(default_factory=list)
    signoff: Signoff | None = None


def outline(draft: Draft) -> Outline:
    """Group paragraphs under their headings; take the intro, resources and sign-off apart."""
    subject = draft.title
    intro = DraftSection("", [])
    sections: list[DraftSection] = []
    current = intro
    for para in draft.paragraphs:
        if para.style == "Title" and not sections and para.text:
            subject = subject or para.text
        elif para.heading_level in (1, 2) and para.text:
            current = _new_section(para, draft)
            sections.append(current)
        elif para.text or para.images:
            current.paragraphs.append(para)
    for section in sections:
        comment_hints(section, draft)
    last = sections[-1] if sections else intro
    signoff = _take_signoff(last)
    resources = _take_trailing_links(last)
    return Outline(subject, intro if intro.paragraphs else None, sections, resources, signoff)


def _new_section(para: Para, draft: Draft) -> DraftSection:
    heading = para.text
    section = DraftSection(heading, [])
    hint = HINT.search(heading)
    if hint:
        section.heading = heading[: hint.start()].strip()
        section.audiences = _names(hint["names"])
        section.hint_source = "heading"
    for cid in para.comment_ids:
        _comment_hint(section, draft, cid)
    return section


def comment_hints(section: DraftSection, draft: Draft) -> None:
    """An "audiences: …" comment on any paragraph of the section sets its audiences."""
    for para in section.paragraphs:
        for cid in para.comment_ids:
            _comment_hint(section, draft, cid)


def _comment_hint(section: DraftSection, draft: Draft, cid: str) -> None:
    comment = draft.comments.get(cid)
    if comment is not None and comment.audiences is not None and section.audiences is None:
        section.audiences = comment.audiences
        section.hint_source = "comment"


def _names(text: str) -> list[str]:
    return [n.strip().lower() for n in text.split(",") if n.strip()]


def _take_signoff(section: DraftSection) -> Signoff | None:
    paras = section.paragraphs
    end = len(paras)
    while end and paras[end - 1].text.lower().startswith("email"):
        end -= 1
    contacts = [_contact(p) for p in paras[end:]]
    if not contacts or end < 2:
        return None
    name, role = paras[end - 2].text, paras[end - 1].text
    start = end - 2
    closing = None
    if start and paras[start - 1].text.rstrip(",").lower() in CLOSINGS:
        closing = paras[start - 1].text
        start -= 1
    del paras[start:]
    return Signoff(name, role, closing, [c for c in contacts if c is not None])


def _contact(para: Para) -> Contact | None:
    mailto = next((u[7:].split("?")[0] for _, u in para.links if u.lower().startswith("mailto:")), None)
    found = EMAIL.search(para.text)
    email = mailto or (found[0] if found else None)
    if email is None:
        return None
    note = re.search(r"\(([^)]*)\)\s*$", para.text)
    return Contact(email, note[1].strip() if note else None)


def _take_trailing_links(section: DraftSection) -> list[tuple[str, str]]:
    """A run of list items made of links at the very end of the last section."""
    paras = section.paragraphs
    start = len(paras)
    while start and paras[start - 1].list_kind and paras[start - 1].links:
        start -= 1
    if start == len(paras):
        return []
    links: list[tuple[str, str]] = []
    for para in paras[start:]:
        found = para.links
        if len(found) == 1:
            links.append((para.text, found[0][1]))
        else:
            links += [(text[:1].upper() + text[1:], url) for text, url in found]
    del paras[start:]
    return links
