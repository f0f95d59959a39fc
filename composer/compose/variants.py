"""Variants: one copy of a bulletin per set of segments a reader is in.

A reader's *audience* is the set of segments they belong to. Their copy holds every
section whose audiences meet that set (any overlap), in bulletin order, each once. A
variant's name is its segments joined with `+` in the bulletin's `segments:` order
(`lmc+practice`); a single segment's variant is named after the segment.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import combinations

SEPARATOR = "+"

Audience = tuple[str, ...]  # segment names in the bulletin's order, never empty


def audience_of(segments: Iterable[str], order: Sequence[str]) -> Audience:
    """The segments in `order` that are among `segments` (others are ignored)."""
    wanted = set(segments)
    return tuple(name for name in order if name in wanted)


def variant_name(audience: Iterable[str], order: Sequence[str]) -> str:
    """`lmc+practice`: the audience's segments in the bulletin's order."""
    return SEPARATOR.join(audience_of(audience, order))


def split_name(name: str) -> tuple[str, ...]:
    """The segments a variant name joins (`lmc+practice` → `('lmc', 'practice')`)."""
    return tuple(name.split(SEPARATOR))


def every_audience(segments: Sequence[str]) -> list[Audience]:
    """Every non-empty set of `segments`: the single segments first, then pairs, ..."""
    return [combo for size in range(1, len(segments) + 1) for combo in combinations(segments, size)]


def meets(section_audiences: Collection[str], audience: Collection[str]) -> bool:
    """Whether a section goes to a reader in `audience`: any segment in common."""
    return any(segment in section_audiences for segment in audience)


def pick_text(value: str | Mapping[str, str], audience: Audience) -> str:
    """A per-segment text (subject, preheader) for one audience.

    A plain string is everyone's. A mapping gives the audience's own entry when it names
    the combination (`lmc+practice: ...`), else its first segment's (in the bulletin's
    order); with neither, "".
    """
    if isinstance(value, str):
        return value
    own = value.get(SEPARATOR.join(audience))
    return own if own is not None else value.get(audience[0], "")
