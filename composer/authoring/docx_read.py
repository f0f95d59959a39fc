"""Read a Word draft (.docx) into plain paragraphs: style, spans with bold/italic/link,
list kind, images with alt text, and the things a bulletin cannot hold.

python-docx opens the package; the body is walked with lxml so that hyperlinks (whose
`r:id` points into word/_rels/document.xml.rels), images (`a:blip r:embed`, alt text in
`wp:docPr/@descr`) and tracked changes are all seen.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from composer.authoring.changes import (
    Comment,
    Revision,
    W,
    accept_changes,
    comment_anchors,
    first_words,
    read_comments,
    review_comments,
    tracked_changes,
)
from composer.errors import InputError, Location

_W = f"{{{W}}}"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = {
    "w": W,
    "r": R,
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "v": "urn:schemas-microsoft-com:vml",
}
# Compiled with our own namespaces: python-docx's elements override .xpath().
_STYLE = etree.XPath("string(w:pPr/w:pStyle/@w:val)", namespaces=NS)
_NUM_ID = etree.XPath("string(w:pPr/w:numPr/w:numId/@w:val)", namespaces=NS)
_ILVL = etree.XPath("string(w:pPr/w:numPr/w:ilvl/@w:val)", namespaces=NS)
_ABSTRACT = etree.XPath("string(w:num[@w:numId=$num]/w:abstractNumId/@w:val)", namespaces=NS)
_FORMAT = etree.XPath(
    "string(w:abstractNum[@w:abstractNumId=$abstract]/w:lvl[@w:ilvl=$level]/w:numFmt/@w:val)", namespaces=NS
)
EMU_PER_PX = 9525
COMMENTS_RELTYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False
    href: str | None = None


@dataclass(frozen=True)
class DraftImage:
    data: bytes
    extension: str
    alt: str
    width_px: int | None


@dataclass
class Para:
    """One paragraph of the draft, in order."""

    index: int
    style: str
    spans: list[Span]
    list_kind: str | None = None  # "bullet" or "number"
    images: list[DraftImage] = field(default_factory=list)
    comment_ids: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans).strip()

    @property
    def heading_level(self) -> int:
        found = re.fullmatch(r"Heading ([1-9])", self.style)
        return int(found[1]) if found else 0

    @property
    def links(self) -> list[tuple[str, str]]:
        """(text, url) of each hyperlink, adjacent runs of one link joined."""
        out: list[tuple[str, str]] = []
        for span in self.spans:
            if span.href and out and out[-1][1] == span.href and not span.text.startswith(" "):
                out[-1] = (out[-1][0] + span.text, span.href)
            elif span.href:
                out.append((span.text, span.href))
        return [(t.strip(), u) for t, u in out if t.strip()]


@dataclass
class Draft:
    """What the reader found: paragraphs, comments, revisions, and what has no place."""

    paragraphs: list[Para]
    comments: dict[str, Comment]
    revisions: list[Revision]  # unresolved changes and review comments
    accepted: int  # changes accepted with --accept-changes
    unplaced: list[str]  # "a table after "…"", etc.
    title: str
    created: date | None
    summary: str


def open_docx(path: Path) -> Any:
    """The python-docx Document, or one clear message for a file that is not a Word draft."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not path.is_file():
        raise InputError("no such file", Location(file=path))
    if not zipfile.is_zipfile(path):
        raise InputError("not a Word .docx file (it is not a zip package); save the draft as .docx", Location(file=path))
    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise InputError(f"not a readable Word .docx file ({exc})", Location(file=path)) from None


def read_draft(path: Path, accept: bool = False, ignore_comments: bool = False) -> Draft:
    """Read the draft; revisions lists what is still unresolved after the flags are applied."""
    document = open_docx(path)
    body = document.element.body
    revisions = [] if accept else tracked_changes(body)
    accepted = accept_changes(body) if accept else 0
    comments = read_comments(_comments_xml(document))
    anchors = comment_anchors(body)
    if not ignore_comments:
        revisions += review_comments(comments, anchors)
    reader = _BodyReader(document, anchors)
    paragraphs = reader.read(body)
    props = document.core_properties
    created = props.created.date() if props.created else None
    return Draft(paragraphs, comments, revisions, accepted, reader.unplaced, props.title or "", created, props.subject or "")


def _comments_xml(document: Any) -> bytes | None:
    for rel in document.part.rels.values():
        if rel.reltype == COMMENTS_RELTYPE:
            return bytes(rel.target_part.blob)
    return None


class _BodyReader:
    """Walks w:body once; remembers what it could not place."""

    def __init__(self, document: Any, anchors: dict[str, etree._Element]) -> None:
        self.document = document
        self.part = document.part
        self.unplaced: list[str] = []
        self.comment_of: dict[int, list[str]] = {}
        for cid, paragraph in anchors.items():
            self.comment_of.setdefault(id(paragraph), []).append(cid)
        self.last_words = "the start"
        self.style_names = {s.style_id: str(s.name) for s in document.styles}

    def read(self, body: etree._Element) -> list[Para]:
        paragraphs: list[Para] = []
        for child in body:
            tag = etree.QName(child).localname
            if tag == "p":
                para = self._paragraph(child, len(paragraphs))
                paragraphs.append(para)
                if para.text:
                    self.last_words = f'"{first_words(child, 6)}"'
            elif tag == "tbl":
                self.unplaced.append(f"a table after {self.last_words}")
            elif tag == "sdt":
                content = child.find("w:sdtContent", NS)
                for inner in content if content is not None else []:
                    if etree.QName(inner).localname == "p":
                        paragraphs.append(self._paragraph(inner, len(paragraphs)))
        return paragraphs

    def _paragraph(self, p: etree._Element, index: int) -> Para:
        style = self._style(p)
        para = Para(index=index, style=style, spans=[], comment_ids=self.comment_of.get(id(p), []))
        para.list_kind = self._list_kind(p, style)
        self._walk(p, para, None)
        return para

    def _style(self, p: etree._Element) -> str:
        style_id = str(_STYLE(p))
        if not style_id:
            return "Normal"
        return self.style_names.get(style_id, style_id)

    def _list_kind(self, p: etree._Element, style: str) -> str | None:
        if "List Number" in style:
            return "number"
        if "List Bullet" in style:
            return "bullet"
        num_id = str(_NUM_ID(p))
        if not num_id or num_id == "0":
            return "bullet" if style == "List Paragraph" else None
        level = str(_ILVL(p)) or "0"
        return _numbering_kind(self.document, num_id, level)

    def _walk(self, element: etree._Element, para: Para, href: str | None) -> None:
        for child in element:
            tag = etree.QName(child).localname
            if tag == "r":
                self._run(child, para, href)
            elif tag == "hyperlink":
                self._walk(child, para, self._target(child))
            elif tag in ("ins", "moveTo", "smartTag", "fldSimple", "customXml"):
                self._walk(child, para, href)
            elif tag == "sdt":
                content = child.find("w:sdtContent", NS)
                if content is not None:
                    self._walk(content, para, href)
            # w:del / w:moveFrom (when not accepted, they are listed as revisions),
            # bookmarks, comment ranges and proofing marks carry no words of the bulletin.

    def _target(self, link: etree._Element) -> str | None:
        rid = link.get(f"{{{R}}}id")
        if rid and rid in self.part.rels:
            return str(self.part.rels[rid].target_ref)
        return None

    def _run(self, run: etree._Element, para: Para, href: str | None) -> None:
        bold = _on(run, "b")
        italic = _on(run, "i")
        for child in run:
            tag = etree.QName(child).localname
            if tag == "t":
                para.spans.append(Span(child.text or "", bold, italic, href))
            elif tag == "tab" or tag in ("br", "cr"):
                para.spans.append(Span(" ", bold, italic, href))
            elif tag == "drawing":
                self._drawing(child, para)
            elif tag in ("object", "pict"):
                kind = "a text box" if child.find(".//v:textbox", NS) is not None else "an embedded object"
                self.unplaced.append(f"{kind} in paragraph {self._where(para)}")
            elif tag in ("footnoteReference", "endnoteReference"):
                self.unplaced.append(f"a footnote in paragraph {self._where(para)}")

    def _where(self, para: Para) -> str:
        return f'"{" ".join(para.text.split()[:6])}"' if para.text else f"after {self.last_words}"

    def _drawing(self, drawing: etree._Element, para: Para) -> None:
        if drawing.find(".//wps:txbx", NS) is not None:
            self.unplaced.append(f"a text box in paragraph {self._where(para)}")
            return
        blip = drawing.find(".//a:blip", NS)
        rid = blip.get(f"{{{R}}}embed") if blip is not None else None
        if not rid or rid not in self.part.rels:
            self.unplaced.append(f"a drawing or chart in paragraph {self._where(para)}")
            return
        image_part = self.part.rels[rid].target_part
        doc_pr = drawing.find(".//wp:docPr", NS)
        extent = drawing.find(".//wp:extent", NS)
        width = int(int(extent.get("cx")) / EMU_PER_PX) if extent is not None and extent.get("cx") else None
        ext = Path(str(image_part.partname)).suffix.lstrip(".").lower() or "png"
        alt = (doc_pr.get("descr") or "") if doc_pr is not None else ""
        para.images.append(DraftImage(bytes(image_part.blob), "jpg" if ext == "jpeg" else ext, alt.strip(), width))


def _on(run: etree._Element, prop: str) -> bool:
    node = run.find(f"w:rPr/w:{prop}", NS)
    return node is not None and node.get(f"{_W}val", "true") not in ("0", "false", "none")


def _numbering_kind(document: Any, num_id: str, level: str) -> str:
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return "bullet"
    abstract = str(_ABSTRACT(numbering, num=num_id))
    fmt = str(_FORMAT(numbering, abstract=abstract, level=level))
    return "bullet" if fmt in ("", "bullet", "none") else "number"
