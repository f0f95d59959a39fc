"""The checks that compose and `bulletin check` run on every segment.

Errors stop a send: Gmail clips an HTML part over about 102 KB as encoded in the
message; an image with no alt text, a missing `lang`, an unknown merge field, or an
empty or malformed link all reach readers broken. Warnings are for staff to judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, SoupStrainer, Tag

from composer.compose import assets as pictures
from composer.compose.blocks import FieldSpec, check_url
from composer.compose.markdown import image_sources
from composer.compose.merge import MERGE_FIELDS, WRITER_FIELD
from composer.compose.model import Finding, Severity
from composer.compose.problems import COMMENTED, field_label, field_path
from composer.compose.source import LoadedBulletin, LoadedSection
from composer.compose.yamlsource import YamlDocument
from composer.errors import did_you_mean

GMAIL_CLIP_BYTES = 102_000
HTML_WARN_BYTES = 90_000
SUBJECT_MAX = 78
PREHEADER_MAX = 110
# A headline is read at a glance: past about 100 characters it wraps to three or four
# lines on a phone and stops working as a headline.
HEADLINE_MAX = 100

VAGUE_LINK_TEXT = {
    "here", "click here", "read more", "more", "click", "this", "this link", "link",
    "learn more", "find out more", "see more", "go", "click this link", "read here",
}  # fmt: skip
_TOKEN = re.compile(r"^%%BT\.[a-z_]+\.h%%$")
_EXTERNAL_CSS = re.compile(r"""(?:@import\s+url\(|<link\b[^>]*href=)["']?(https?://[^"')\s>]+)""", re.I)
_ATTRS = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""  # a tag's attributes, quoted ">" included
_LINKS_AND_IMAGES = re.compile(rf"<a\b{_ATTRS}>.*?</a\s*>|<img\b{_ATTRS}>", re.S | re.I)
_HTML_LANG = re.compile(r"<html\b[^>]*\slang=\"[^\"]+\"", re.I)

# What `bulletin new` leaves for staff to fill in; check_placeholders reports each one.
FILL_IN = "FILL IN"
PLACEHOLDER_URL = "https://fill-in.example/"
PLACEHOLDER_DATE = date(1900, 1, 1)



def _finding(
    severity: Severity, code: str, message: str, *, segment: str | None = None,
    section: LoadedSection | None = None, line: int | None = None,
) -> Finding:
    """A finding that names the segment and, when known, the section and its block."""
    return Finding(
        severity, code, message, segment=segment,
        section=section.index if section else None,
        block=section.block.name if section else None,
        anchor=section.anchor if section else None,
        line=line,
    )  # fmt: skip


def check_bulletin(bulletin: LoadedBulletin, own_host: str | None = None) -> list[Finding]:
    """Checks on the source that do not depend on a segment.

    `own_host` is the host of the workspace's base_url: images elsewhere are warned about.
    """
    findings: list[Finding] = []
    meta = bulletin.meta
    for label, subject in _texts(meta.subject):
        if len(subject) > SUBJECT_MAX:
            findings.append(_finding("warning", "subject-length",
                f"the subject{label} is {len(subject)} characters; over {SUBJECT_MAX} is cut short in many inboxes"))  # fmt: skip
    for label, preheader in _texts(meta.preheader):
        if len(preheader) > PREHEADER_MAX:
            findings.append(_finding("warning", "preheader-length",
                f"the preheader{label} is {len(preheader)} characters; keep it to {PREHEADER_MAX}"))  # fmt: skip
    without = [s for s in meta.segments if not bulletin.preheader_for((s,))]
    if without:
        whom = "" if len(without) == len(meta.segments) else f" for {', '.join(without)}"
        findings.append(_finding("warning", "preheader-missing", f"there is no preheader{whom}; inboxes will show the first words of the email instead"))
    for section in bulletin.sections:
        findings.extend(_check_section_source(section, bulletin.document))
        findings.extend(_check_markdown_images(section, own_host, bulletin.document))
    findings.extend(check_placeholders(bulletin))
    findings.extend(check_curly_quotes(bulletin))
    for segment in meta.segments:
        if not bulletin.sections_for(segment):
            findings.append(_finding("warning", "empty-segment", f"no section goes to segment '{segment}'", segment=segment))
    return findings


def _texts(value: str | dict[str, str]) -> list[tuple[str, str]]:
    """(" for lmc", text) per entry of a per-segment text; ("", text) for a plain one."""
    if isinstance(value, str):
        return [("", value)]
    return [(f" for {key}", text) for key, text in value.items()]
def _line(document: YamlDocument, section: LoadedSection, label: str) -> int | None:
    """The line of a section's field, from its label (`links[2].url`)."""
    return document.line_of("sections", section.index - 1, *field_path(label))


def check_placeholders(bulletin: LoadedBulletin) -> Iterator[Finding]:
    """Errors for what `bulletin new` left to fill in: FILL IN text, the placeholder link and date."""
    doc = bulletin.document
    if bulletin.meta.issue_date == PLACEHOLDER_DATE:
        yield _finding("error", "placeholder", "issue_date is still the placeholder 1900-01-01: give the date of this issue",
                       line=doc.line_of("issue_date"))  # fmt: skip
    for field in ("subject", "preheader"):
        if FILL_IN in getattr(bulletin.meta, field):
            yield _finding("error", "placeholder", f"the {field} still says {FILL_IN}: write it", line=doc.line_of(field))
    for section in bulletin.sections:
        for path, value in _values(section.values.model_dump()):
            if isinstance(value, datetime | date) and (value.date() if isinstance(value, datetime) else value) == PLACEHOLDER_DATE:
                what = "the placeholder date 1900-01-01: give the real date"
            elif isinstance(value, str) and (FILL_IN in value or value == PLACEHOLDER_URL):
                what = f"a placeholder ({value.strip()[:60]}): fill it in"
            else:
                continue
            yield _finding("error", "placeholder", f"field '{path}' is still {what}", section=section,
                           line=_line(doc, section, path))  # fmt: skip


def check_curly_quotes(bulletin: LoadedBulletin) -> Iterator[Finding]:
    """A value typed wholly in curly quotes (“…”, as Word types them) keeps its quotes:
    they show in the email. YAML only treats straight quotes as quoting."""
    by_index = {s.index: s for s in bulletin.sections}
    for path, line in bulletin.document.commented:  # an optional field, left out without a word
        section = by_index.get(int(path[1]) + 1) if len(path) > 2 and path[0] == "sections" and isinstance(path[1], int) else None
        yield _finding("warning", "comment-as-value", f"field '{field_label(path[2:] if section else path)}' {COMMENTED}",
                       section=section, line=line)  # fmt: skip
    for path, line in bulletin.document.curly:
        section = by_index.get(int(path[1]) + 1) if len(path) > 2 and path[0] == "sections" and isinstance(path[1], int) else None
        label = field_label(path[2:] if section else path)
        yield _finding("warning", "curly-quotes",
            f"field '{label}' is wrapped in curly quotes, which show in the email as typed; if they were "
            'meant as YAML quotes, type straight ones ("...") or leave them out', section=section, line=line)  # fmt: skip


def _values(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _values(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            yield from _values(item, f"{path}[{index}]")
    else:
        yield path, value


def _check_section_source(section: LoadedSection, document: YamlDocument) -> Iterator[Finding]:
    for field, value in _strings(section.values.model_dump()):
        for match in WRITER_FIELD.finditer(value):
            if match.group(1) not in MERGE_FIELDS:
                yield _finding("error", "unknown-merge-field",
                    f"field '{field}' uses an unknown merge field {{{{ {match.group(1)} }}}}"
                    f"{did_you_mean(match.group(1), MERGE_FIELDS)} (known: {', '.join(MERGE_FIELDS)})",
                    section=section, line=_line(document, section, field))  # fmt: skip
    for field, image in _images(section.values.model_dump()):
        if not image.get("alt") and not image.get("decorative"):
            yield _finding("error", "image-alt",
                f"the image in field '{field}' has no alt text; describe it, or set decorative: true",
                section=section, line=_line(document, section, field))  # fmt: skip
    title_field = section.block.declaration.title_field
    headline = getattr(section.values, title_field, None) if title_field else None
    if title_field and isinstance(headline, str) and len(headline) > HEADLINE_MAX:
        yield _finding("warning", "headline-length",
            f"the {title_field} is {len(headline)} characters; keep it under {HEADLINE_MAX} so it reads at "
            "a glance (put the detail in the text)", section=section, line=_line(document, section, title_field))  # fmt: skip
    if not any(value.strip() for _, value in _strings(section.values.model_dump())):
        yield _finding("warning", "empty-section", "this section has no text", section=section)


def image_source_problem(src: str, own_host: str | None) -> tuple[Severity, str] | None:
    """What is wrong with an image source, as (severity, message), or None.

    Every image is fetched by the reader's mail client when the email is opened, so it
    must be an https URL (a relative path or file: has nothing to resolve against; data:
    is blocked by most clients and counts towards Gmail's clip; a protocol-relative
    //host URL is fetched over http by some clients) and should live on our own host,
    since any other host learns who opened the email and when.
    """
    src = src.strip()
    parts = urlsplit(src)
    if src.startswith("//"):
        return "error", f"the image '{src}' has a protocol-relative address; write it as an https:// URL"
    if parts.scheme == "data":
        return "error", "an image is embedded as a data: URL; put it on the website and use its https:// URL"
    if parts.scheme != "https" or not parts.hostname:
        return "error", (f"the image '{src[:200]}' is not an https:// URL; images must be https "
                         "URLs, or use a block's image field")  # fmt: skip
    if own_host and parts.hostname.lower() != own_host.lower():
        return "warning", (f"the image {src} is on {parts.hostname}, not {own_host}; that host "
                           "learns who opened the email and when")  # fmt: skip
    return None


def _check_markdown_images(section: LoadedSection, own_host: str | None, document: YamlDocument) -> Iterator[Finding]:
    for field, text in _markdown_strings(section.block.fields, section.values.model_dump()):
        for src in image_sources(text):
            problem = image_source_problem(src, own_host)
            if problem is not None:
                severity, message = problem
                code = "image-src" if severity == "error" else "image-host"
                yield _finding(severity, code, f"field '{field}': {message}", section=section,
                               line=_line(document, section, field))  # fmt: skip


def _markdown_strings(specs: list[FieldSpec], values: dict[str, object], path: str = "") -> Iterator[tuple[str, str]]:
    """The Markdown fields among `values`, as declared by `specs`, with their field labels."""
    for spec in specs:
        value, label = values.get(spec.name), f"{path}.{spec.name}" if path else spec.name
        if spec.type == "markdown" and isinstance(value, str):
            yield label, value
        elif spec.type == "list" and isinstance(value, list):
            for index, item in enumerate(value, start=1):
                if spec.items == "markdown" and isinstance(item, str):
                    yield f"{label}[{index}]", item
                elif isinstance(spec.items, list) and isinstance(item, dict):
                    yield from _markdown_strings(spec.items, item, f"{label}[{index}]")


def _strings(value: object) -> Iterator[tuple[str, str]]:
    """The string leaves of a section's values, with their field paths."""
    return ((path, leaf) for path, leaf in _values(value) if isinstance(leaf, str))


def _images(value: object, path: str = "") -> Iterator[tuple[str, dict[str, object]]]:
    if isinstance(value, dict):
        if "src" in value and "alt" in value:
            yield path, value
            return
        for key, item in value.items():
            yield from _images(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            yield from _images(item, f"{path}[{index}]")


def check_segment(
    segment: str, html: str, encoded_size: int, bulletin: LoadedBulletin
) -> list[Finding]:
    """Checks on one segment's rendered, inlined HTML."""
    findings: list[Finding] = []
    if encoded_size > GMAIL_CLIP_BYTES:
        findings.append(_finding("error", "html-size",
            f"the HTML part is {encoded_size:,} bytes as encoded; Gmail clips over {GMAIL_CLIP_BYTES:,}", segment=segment))  # fmt: skip
    elif encoded_size > HTML_WARN_BYTES:
        findings.append(_finding("warning", "html-size",
            f"the HTML part is {encoded_size:,} bytes as encoded; Gmail clips at {GMAIL_CLIP_BYTES:,}", segment=segment))  # fmt: skip

    if not _HTML_LANG.search(html):
        findings.append(_finding("error", "lang", "the <html> element has no lang attribute", segment=segment))
    # The checks read only links, images and the section markers (empty <a id> anchors
    # the engine puts before each block). Cutting those out first and parsing just them
    # keeps document order and costs a fifth of parsing MJML's ~700 layout elements.
    pieces = "".join(m.group(0) for m in _LINKS_AND_IMAGES.finditer(html))
    soup = BeautifulSoup(pieces, "lxml", parse_only=SoupStrainer(["a", "img"]))
    blocks = {s.anchor: s for s in bulletin.sections}
    current: LoadedSection | None = None
    for element in soup.find_all(["a", "img"]):
        if not isinstance(element, Tag):
            continue
        anchor = element.get("id")
        if element.get("data-section") and isinstance(anchor, str) and anchor in blocks:
            current = blocks[anchor]
            continue
        if element.name == "img":
            if element.get("alt") is None:
                findings.append(_finding("error", "image-alt",
                    f"an image ({element.get('src')}) has no alt attribute", segment=segment, section=current))  # fmt: skip
            continue
        if element.name == "a":
            findings.extend(_check_link(element, segment, current))
    for match in _EXTERNAL_CSS.finditer(html):
        findings.append(_finding("warning", "external-resource",
            f"the HTML loads {match.group(1)} when opened, which tells that host who read the "
            "email and when; use system fonts (MJML imports Google Fonts for Roboto, Open Sans, "
            "Lato, Ubuntu and Droid Sans)", segment=segment))  # fmt: skip
    if "{{" in html or "{%" in html:
        findings.append(_finding("error", "template-leftover",
            "the HTML still contains '{{' or '{%': a merge field or template tag was not filled", segment=segment))  # fmt: skip
    return findings


def _check_link(element: Tag, segment: str, section: LoadedSection | None) -> Iterator[Finding]:
    href = element.get("href")
    text = " ".join(element.get_text(" ").split())
    label = f"'{text}'" if text else "(no text)"
    if element.get("id") and href is None:
        return
    if not isinstance(href, str) or not href.strip() or href.strip() == "#":
        yield _finding("error", "link-empty", f"the link {label} has no address", segment=segment, section=section)
        return
    href = href.strip()
    if not _TOKEN.match(href):
        try:
            check_url(href)
        except ValueError as exc:
            yield _finding("error", "link-malformed", f"the link {label}: {exc}", segment=segment, section=section)
            return
    if urlsplit(href).scheme == "http":
        yield _finding("warning", "http-link", f"the link {label} uses http://; use https://", segment=segment, section=section)
    normalized = re.sub(r"[^\w\s]", "", text).strip().lower()
    if normalized in VAGUE_LINK_TEXT or (normalized.endswith(" here") and len(normalized.split()) <= 6):
        yield _finding("warning", "vague-link-text",
            f"the link text {label} does not say where it goes; screen-reader users hear links out of context",
            segment=segment, section=section)  # fmt: skip


def check_pictures(bulletin: LoadedBulletin, found: dict[str, pictures.Asset]) -> list[Finding]:
    """Each picture from the bulletin's folder: sharp enough for its width, light enough to load."""
    findings: list[Finding] = []
    for section in bulletin.sections:
        for name in pictures.image_fields(section):
            image = getattr(section.values, name)
            asset = found.get(image.src)
            if asset is None:
                continue
            shown = pictures.displayed_width(image.width)
            where = f"{name} '{image.src}'"
            if asset.width < shown:
                findings.append(_finding("error", "image-too-narrow",
                    f"{where} is {asset.width} px wide but shown {shown} px wide: it will look blurred; "
                    f"use one at least {2 * shown} px wide", section=section))  # fmt: skip
            elif asset.width < 2 * shown:
                findings.append(_finding("warning", "image-not-sharp",
                    f"{where} is {asset.width} px wide, shown {shown} px: phones and Retina screens need "
                    f"{2 * shown} px to look sharp", section=section))  # fmt: skip
            if asset.size > pictures.MAX_BYTES:
                findings.append(_finding("error", "image-too-heavy",
                    f"{where} weighs {asset.size // 1000:,} KB; keep it under {pictures.WARN_BYTES // 1000} KB "
                    "(save as JPEG, or PNG with fewer colours)", section=section))  # fmt: skip
            elif asset.size > pictures.WARN_BYTES:
                findings.append(_finding("warning", "image-heavy",
                    f"{where} weighs {asset.size // 1000:,} KB; over {pictures.WARN_BYTES // 1000} KB slows the "
                    "email on a phone connection", section=section))  # fmt: skip
            if image.alt is None:
                findings.append(_finding("error", "image-alt-missing",
                    f"{where} has no alt text: say what it shows (alt: \"\" only if decorative: true)",
                    section=section))  # fmt: skip
    return findings
