"""What the preview page reads: the state as JSON, and the email framed for the iframe.

The email is served with a CSP that allows no script, no font, no connection and only
https and data: images, so an email can never run code in the preview.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from composer.compose.checks import GMAIL_CLIP_BYTES, HTML_WARN_BYTES
from composer.compose.model import Composition, Finding
from composer.preview.samples import SAMPLES
from composer.preview.state import Snapshot
from composer.timestamps import iso

# The gauge uses the same limits as the checks: Gmail clips an HTML part over about
# 102 KB as encoded in the message, and the checks warn from 90 KB.
CLIP_BYTES = GMAIL_CLIP_BYTES
WARN_BYTES = HTML_WARN_BYTES

# The email: no script, no font, no fetch, no frame; inline styles and https/data images.
EMAIL_CSP = "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
# The page itself: only its own files.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
NO_STORE = {"Cache-Control": "no-store"}

_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def frame_html(html: str) -> str:
    """The email as the iframe shows it: links open in a new tab, not inside the frame."""
    base = '<base target="_blank">'
    match = _HEAD.search(html)
    if match is None:
        return base + html
    return html[: match.end()] + base + html[match.end() :]


def _finding(finding: Finding, composition: Composition) -> dict[str, Any]:
    """A finding for the page, with the anchor of its section when compose knew it."""
    data: dict[str, Any] = {
        "severity": finding.severity,
        "code": finding.code,
        "message": finding.message,
        "segment": finding.segment,
        "section": finding.section,
        "block": finding.block,
        "anchor": finding.anchor,
        "line": finding.line,  # in the bulletin source, when the finding is about one value
    }
    if finding.anchor is None and finding.section is not None:
        segments = [finding.segment] if finding.segment else list(composition.renders)
        for name in segments:
            render = composition.renders.get(name or "")
            match = next((s for s in render.sections if s.index == finding.section), None) if render else None
            if match is not None:
                data["anchor"] = match.anchor
                data["title"] = match.title
                break
    elif finding.section is not None:
        for render in composition.renders.values():
            match = next((s for s in render.sections if s.index == finding.section), None)
            if match is not None:
                data["title"] = match.title
                break
    return data


def state_payload(snapshot: Snapshot, label: str, instance: str = "") -> dict[str, Any]:
    """Everything the page needs but the email bodies, as JSON."""
    comp = snapshot.composition
    payload: dict[str, Any] = {
        "version": snapshot.version,
        "instance": instance,
        "status": "error" if snapshot.error else ("ok" if comp else "empty"),
        "bulletin": label,
        "error": snapshot.error.as_dict() if snapshot.error else None,
        "composed_at": iso(snapshot.composed_at, timespec="seconds"),
        "attempted_at": iso(snapshot.attempted_at, timespec="seconds"),
        "duration_ms": round(snapshot.duration_ms, 1) if snapshot.duration_ms is not None else None,
        "limits": {"clip_bytes": CLIP_BYTES, "warn_bytes": WARN_BYTES},
        "samples": [s.as_dict() for s in SAMPLES],
        "key": None,
        "subject": None,
        "preheader": None,
        "segments": [],
        "findings": [],
        "counts": {"errors": 0, "warnings": 0},
    }
    if comp is None:
        return payload
    first = next(iter(comp.renders.values()), None)
    payload.update(
        key=comp.key,
        subject=first.envelope.subject if first else None,
        preheader=first.preheader if first else None,
        segments=[
            {
                "name": name,
                # A combination is the copy for someone in each of its segments.
                "audience": list(render.segments),
                "combination": len(render.segments) > 1,
                "subject": render.envelope.subject,
                "preheader": render.preheader,
                "html_bytes": comp.report.sizes.get(name),
                # The page reloads a pane only when its email changed (an edit to an
                # lmc-only section leaves the other panes alone): both parts count.
                "digest": hashlib.sha256(f"{render.html}\x00{render.text}".encode()).hexdigest()[:16],
                "sections": [
                    {"index": s.index, "block": s.block, "title": s.title, "anchor": s.anchor}
                    for s in render.sections
                ],
            }
            for name, render in comp.renders.items()
        ],
        findings=[_finding(f, comp) for f in (*comp.report.errors, *comp.report.warnings)],
        counts={"errors": len(comp.report.errors), "warnings": len(comp.report.warnings)},
    )
    return payload
