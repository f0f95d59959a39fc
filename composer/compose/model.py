"""Plain data passed between compose stages and out to send and preview."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from composer.compose.mime import Envelope

if TYPE_CHECKING:
    from composer.compose.assets import Asset

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One result of the checks. `section` is 1-based in the bulletin source, when known."""

    severity: Severity
    code: str  # e.g. "html-size", "vague-link-text", "http-link"
    message: str
    segment: str | None = None
    section: int | None = None
    block: str | None = None
    anchor: str | None = None  # id of the section's element in the rendered HTML
    line: int | None = None  # in the bulletin source, when the finding is about one value

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @property
    def where(self) -> str:
        """`line 14, section 3 (quote)`: the place in the source, without the segment."""
        parts = [f"line {self.line}"] if self.line is not None else []
        if self.section is not None:
            parts.append(f"section {self.section}" + (f" ({self.block})" if self.block else ""))
        return ", ".join(parts)


@dataclass(frozen=True)
class Grouped:
    """One finding as staff read it: once, with every segment (copy) it was found in."""

    finding: Finding
    segments: tuple[str, ...]

    def label(self) -> str:
        where = self.finding.where
        text = f"{where}: {self.finding.message}" if where else self.finding.message
        return f"{text} [{', '.join(self.segments)}]" if self.segments else text


def group_findings(findings: Sequence[Finding]) -> list[Grouped]:
    """Each finding once, in order, with the segments it was found in (a vague link in a
    section every segment gets is one line, not one per segment)."""
    groups: dict[tuple[object, ...], tuple[Finding, list[str]]] = {}
    for finding in findings:
        key = (finding.severity, finding.code, finding.message, finding.section, finding.line)
        _, segments = groups.setdefault(key, (finding, []))
        if finding.segment and finding.segment not in segments:
            segments.append(finding.segment)
    return [Grouped(finding, tuple(segments)) for finding, segments in groups.values()]


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    sizes: dict[str, int]  # segment → encoded HTML part bytes

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "errors": [f.as_dict() for f in self.errors],
            "warnings": [f.as_dict() for f in self.warnings],
            "html_bytes": self.sizes,
        }


@dataclass(frozen=True)
class RenderedSection:
    index: int  # 1-based position in the bulletin source
    block: str
    title: str
    anchor: str


@dataclass(frozen=True)
class SegmentRender:
    """One variant's email: the copy for readers in every segment of `audience`.
    `segment` is the variant's name (`lmc`, `lmc+practice`). `html` and `text` still
    hold the merge tokens."""

    segment: str
    envelope: Envelope
    preheader: str
    html: str
    text: str
    sections: tuple[RenderedSection, ...]
    audience: tuple[str, ...] = ()  # empty in hand-built renders: read as (segment,)

    @property
    def segments(self) -> tuple[str, ...]:
        return self.audience or (self.segment,)


@dataclass(frozen=True)
class Composition:
    """The result of compose for one bulletin: what send, preview and the CLI use."""

    source: Path
    key: str  # the bulletin file stem, e.g. "2026-06-gpce": what a campaign is keyed by
    content_hash: str  # sha256 over every variant's subject, preheader, HTML and text (compose.fingerprint)
    renders: dict[str, SegmentRender]  # by variant name: the single segments first, then combinations
    archive_html: str  # the public "view online" page: no tokens, no personal data
    report: Report
    timings: dict[str, float] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # the bulletin's `segments:`; empty in hand-built compositions
    # Renders more variants later (send adds the combinations its recipients need).
    more: Callable[[Sequence[tuple[str, ...]]], Composition] | None = field(default=None, repr=False, compare=False)

    @property
    def segment_order(self) -> tuple[str, ...]:
        """The bulletin's segments in order (hand-built: the single-segment renders)."""
        return self.order or tuple(n for n, r in self.renders.items() if len(r.segments) == 1)

    @property
    def segments(self) -> list[str]:
        """The single segments composed (those a send may be asked for)."""
        return [n for n, r in self.renders.items() if len(r.segments) == 1]
    assets: dict[str, Asset] = field(default_factory=dict)  # pictures from the bulletin's folder, by src
    # Per section and per variant's texts, a digest: what an approval compares (compose.fingerprint).
    manifest: dict[str, Any] = field(default_factory=dict, compare=False)
    # The same content under the hash scheme before this one: a campaign keyed by it resumes.
    earlier_hashes: tuple[str, ...] = ()
