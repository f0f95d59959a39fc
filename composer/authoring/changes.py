"""Tracked changes and review comments in a Word draft: find them, list them, accept them.

Word keeps insertions as `w:ins`, deletions as `w:del` (their words in `w:delText`) and
moves as `w:moveFrom`/`w:moveTo` in word/document.xml; comments live in word/comments.xml,
anchored by `w:commentRangeStart` / `w:commentReference`. python-docx's `Paragraph.text`
skips inserted runs, so a draft with changes must be settled before it is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{W}}}"
CHANGE_KINDS = {"ins": "insertion", "del": "deletion", "moveFrom": "move (from)", "moveTo": "move (to)"}
AUDIENCE_HINT = re.compile(r"^\s*audiences?\s*:\s*(?P<names>[a-z_, ]+?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Revision:
    """One tracked change or comment, as a person reviewing the draft would list it."""

    kind: str
    author: str
    date: str
    paragraph: str  # the first words of the paragraph it is in
    text: str  # the changed words, or the comment's words

    def line(self) -> str:
        when = f" on {self.date[:16].replace('T', ' ')}" if self.date else ""
        return f'{self.kind} by {self.author or "unknown"}{when} in "{self.paragraph}…": "{self.text}"'


@dataclass(frozen=True)
class Comment:
    id: str
    author: str
    date: str
    text: str

    @property
    def audiences(self) -> list[str] | None:
        """The segments an "audiences: registrar" comment names; None for a review comment."""
        found = AUDIENCE_HINT.match(self.text)
        if not found:
            return None
        return [n.strip().lower() for n in found["names"].split(",") if n.strip()]


def first_words(paragraph: etree._Element, count: int = 8) -> str:
    words = "".join(paragraph.itertext()).split()
    return " ".join(words[:count])


def _changed_text(element: etree._Element) -> str:
    tags = (f"{_W}t", f"{_W}delText")
    return "".join(t.text or "" for t in element.iter(*tags)).strip()


def tracked_changes(body: etree._Element) -> list[Revision]:
    """Every insertion, deletion and move in the body, in document order."""
    found: list[Revision] = []
    tags = [f"{_W}{kind}" for kind in CHANGE_KINDS]
    for element in body.iter(*tags):
        parent = element.getparent()
        if parent is not None and parent.tag == f"{_W}rPr":
            continue  # a paragraph-mark change: it carries no words of its own
        paragraph = next(element.iterancestors(f"{_W}p"), element)
        found.append(
            Revision(
                kind=CHANGE_KINDS[etree.QName(element).localname],
                author=element.get(f"{_W}author", ""),
                date=element.get(f"{_W}date", ""),
                paragraph=first_words(paragraph),
                text=_changed_text(element),
            )
        )
    return found


def accept_changes(body: etree._Element) -> int:
    """Accept every change in place: deletions and moved-away words go, insertions stay."""
    count = 0
    for tag in ("del", "moveFrom"):
        for element in list(body.iter(f"{_W}{tag}")):
            element.getparent().remove(element)
            count += 1
    for tag in ("ins", "moveTo"):
        for element in list(body.iter(f"{_W}{tag}")):
            parent = element.getparent()
            if parent.tag == f"{_W}rPr":
                parent.remove(element)
                continue
            index = parent.index(element)
            for offset, child in enumerate(list(element)):
                parent.insert(index + offset, child)
            parent.remove(element)
            count += 1
    for tag in ("moveFromRangeStart", "moveFromRangeEnd", "moveToRangeStart", "moveToRangeEnd"):
        for element in list(body.iter(f"{_W}{tag}")):
            element.getparent().remove(element)
    return count


def read_comments(xml: bytes | None) -> dict[str, Comment]:
    if not xml:
        return {}
    root = etree.fromstring(xml)
    comments = {}
    for node in root.iter(f"{_W}comment"):
        words = " ".join(" ".join(t.text or "" for t in p.iter(f"{_W}t")) for p in node.iter(f"{_W}p"))
        cid = node.get(f"{_W}id", "")
        comments[cid] = Comment(cid, node.get(f"{_W}author", ""), node.get(f"{_W}date", ""), words.strip())
    return comments


def comment_anchors(body: etree._Element) -> dict[str, etree._Element]:
    """Comment id → the paragraph where its range starts (or its reference sits)."""
    anchors: dict[str, etree._Element] = {}
    for element in body.iter(f"{_W}commentRangeStart", f"{_W}commentReference"):
        cid = element.get(f"{_W}id", "")
        paragraph = next(element.iterancestors(f"{_W}p"), None)
        if paragraph is not None and cid not in anchors:
            anchors[cid] = paragraph
    return anchors


def review_comments(comments: dict[str, Comment], anchors: dict[str, etree._Element]) -> list[Revision]:
    """Comments that are not audience hints, as revisions to list."""
    return [
        Revision("comment", c.author, c.date, first_words(anchors[c.id]) if c.id in anchors else "", c.text)
        for c in comments.values()
        if c.audiences is None
    ]
