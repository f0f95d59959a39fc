"""The bulletin's links with where they sit: the section title and the link's own text,
so a report can say "Rebuild General Practice petition: 'Sign the petition'" rather than
a bare URL.

Read from the composed HTML of every copy: each section starts with its anchor
(`<a id="section-N-..." data-section="N">`), and each `<a href>` after it belongs to it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path

from composer.errors import BulletinError
from composer.store.tallies import clean_link
from composer.workspace import Workspace

UNSUBSCRIBE_LABEL = "Unsubscribe link"


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    section: str
    text: str


class _Anchors(HTMLParser):
    def __init__(self, titles: dict[int, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.titles = titles
        self.section = ""
        self.found: dict[str, Link] = {}
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        values = dict(attrs)
        number = values.get("data-section")
        if number and number.isdigit():
            self.section = self.titles.get(int(number), self.section)
        if values.get("href"):
            self._href, self._text = values["href"], []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or self._href is None:
            return
        href, self._href = self._href, None
        if href.startswith(("mailto:", "#")):
            return
        text = " ".join("".join(self._text).split())
        if "%%BT.unsubscribe_url" in href:
            href, text = "", UNSUBSCRIBE_LABEL
        url = clean_link(href) or ""
        if url not in self.found:
            self.found[url] = Link(url=url, section=self.section, text=text or "(a picture)")


def catalogue(workspace: Workspace, key: str, content_hash: str | None = None) -> dict[str, Link]:
    """The links of bulletin `key`, by URL as a click tally keeps it. Empty when the
    bulletin file is gone or no longer composes: the report then shows bare URLs.

    Composing takes about a second, so the catalogue is kept in the state folder under
    the campaign's `content_hash` and read from there the next time: the links as the
    bulletin had them at the first report (usually just after the send).
    """
    cache = workspace.folder("state") / "report-links" / f"{content_hash}.json" if content_hash else None
    if cache is not None and cache.is_file():
        try:
            return {url: Link(**link) for url, link in json.loads(cache.read_text(encoding="utf-8")).items()}
        except (OSError, ValueError, TypeError):
            pass  # a damaged cache is composed again
    found = _compose(workspace, key)
    if cache is not None and found:
        _write(cache, {url: asdict(link) for url, link in found.items()})
    return found


def _compose(workspace: Workspace, key: str) -> dict[str, Link]:
    from composer.compose.pipeline import compose_bulletin

    source = workspace.bulletins_dir / f"{key}.yaml"
    if not source.is_file():
        return {}
    try:
        # The single segments: a combination's links are theirs together.
        composition = compose_bulletin(workspace, Path(source), variants=())
    except BulletinError:
        return {}
    found: dict[str, Link] = {}
    for render in composition.renders.values():
        parser = _Anchors({s.index: s.title for s in render.sections})
        parser.feed(render.html)
        for url, link in parser.found.items():
            found.setdefault(url, link)
    return found


def _write(target: Path, data: dict[str, dict[str, str]]) -> None:
    """Write the cache through a temporary file and a rename; a failure only costs time."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        Path(name).replace(target)
    except OSError:
        return


def describe(url: str | None, links: dict[str, Link], base_url: str) -> Link:
    """A clicked URL with its section and text; our unsubscribe links as one."""
    url = url or ""
    if url.startswith(base_url.rstrip("/") + "/u/"):
        return Link(url=url, section="", text=UNSUBSCRIBE_LABEL)
    found = links.get(url)
    return found if found is not None else Link(url=url, section="", text="")
