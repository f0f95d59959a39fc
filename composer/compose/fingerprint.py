"""What a bulletin's content is, as a hash and as a list of parts that can be compared.

The content hash is what a campaign is keyed by and what an approval signs: every
variant's subject, preheader, HTML and text (every combination of the bulletin's
segments, not only those a send happens to compose), so one edit anywhere changes it and
`send --segment lmc` then a full send is still one campaign.

The manifest says, per section and per variant's subject and preheader, a digest of what
it holds, so that an approval of an earlier version can say which sections changed since.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from composer.compose.model import SegmentRender
from composer.compose.source import LoadedBulletin, LoadedSection
from composer.compose.variants import every_audience, variant_name

Manifest = dict[str, Any]  # {"sections": [[index, title, digest], ...], "texts": {variant: digest}}


def content_hash(renders: Mapping[str, SegmentRender]) -> str:
    """sha256 over every variant's name, subject, preheader, HTML and text, by name."""
    digest = hashlib.sha256()
    for name in sorted(renders):
        render = renders[name]
        for part in (name, render.envelope.subject, render.preheader, render.html, render.text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
    return digest.hexdigest()


def legacy_content_hash(renders: Mapping[str, SegmentRender], bulletin: LoadedBulletin) -> str:
    """The hash campaigns were keyed by before December 2026 (every single segment's parts,
    and each combination's subject and preheader), as a send of the whole bulletin made
    it: a campaign started then resumes under the new hash (composer.send.campaign)."""
    digest = hashlib.sha256()
    for name in sorted(n for n, r in renders.items() if len(r.segments) == 1):
        render = renders[name]
        for part in (name, render.envelope.subject, render.preheader, render.html, render.text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
    order = bulletin.meta.segments
    for audience in every_audience(order):
        if len(audience) > 1:
            for part in (variant_name(audience, order), bulletin.subject_for(audience), bulletin.preheader_for(audience)):
                digest.update(part.encode("utf-8"))
                digest.update(b"\x00")
    return digest.hexdigest()


def _digest(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def manifest(sections: Iterable[LoadedSection], renders: Mapping[str, SegmentRender]) -> Manifest:
    """Each section's digest (its block, audiences and every field as written) and each
    variant's subject and preheader digest."""
    return {
        "sections": [
            [s.index, s.title, _digest([s.block.name, list(s.audiences), s.values.model_dump(mode="json")])]
            for s in sections
        ],
        "texts": {name: _digest([r.envelope.subject, r.preheader]) for name, r in sorted(renders.items())},
    }


def differences(old: Manifest | None, new: Manifest) -> list[str]:
    """What changed from `old` to `new`, in words ("section 3 (Elections) changed")."""
    if not old:
        return ["no record of what the earlier version held"]
    out: list[str] = []
    before = {key: (index, digest) for index, key, digest in _numbered(old)}
    after = {key: (index, digest) for index, key, digest in _numbered(new)}
    # A section whose title changed is the same section when it stands where the old one did.
    unmatched_old = {before[key][0]: key for key in before.keys() - after.keys()}
    for key, (index, digest) in after.items():
        if key in before:
            if before[key][1] != digest:
                out.append(f"section {index} ({key[0]}) changed")
        elif index in unmatched_old:
            out.append(f"section {index} ({key[0]}) changed (it was '{unmatched_old.pop(index)[0]}')")
        else:
            out.append(f"section {index} ({key[0]}) is new")
    out.extend(f"the section '{key[0]}' was removed" for _, key in sorted(unmatched_old.items()))
    old_texts, new_texts = old.get("texts") or {}, new.get("texts") or {}
    changed = sorted(name for name in new_texts if old_texts.get(name) not in (None, new_texts[name]))
    if changed:
        out.append("the subject or preheader changed for " + ", ".join(changed))
    return out or ["no section's text changed: the layout, a block's template or a picture did"]


def _numbered(m: Manifest) -> list[tuple[int, tuple[str, int], str]]:
    """Sections keyed by (title, how many earlier sections share the title), so two
    sections called 'Article' are told apart and an inserted section shifts no other."""
    seen: dict[str, int] = {}
    out = []
    for index, title, digest in m.get("sections") or []:
        n = seen.get(title, 0)
        seen[title] = n + 1
        out.append((int(index), (str(title), n), str(digest)))
    return out
