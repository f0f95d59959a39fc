"""Phase two of compose: render one segment, Jinja → MJML → HTML → inlined CSS, and text."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from markupsafe import Markup

from composer.compose import assets as pictures
from composer.compose.compact import compact_html
from composer.compose.inline import inline_css, mark_inline_styles
from composer.compose.mime import Envelope
from composer.compose.model import RenderedSection, SegmentRender
from composer.compose.source import LoadedBulletin, LoadedSection
from composer.compose.templates import get_template, make_environment, prepare_fields, render
from composer.compose.theme import THEME, load_theme
from composer.compose.variants import Audience, variant_name
from composer.errors import InputError, Location
from composer.workspace import Workspace

LAYOUT_MJML = "layout.mjml.j2"
LAYOUT_TEXT = "layout.txt.j2"


@dataclass
class Timer:
    """Seconds spent per stage, summed over calls."""

    totals: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, started: float) -> None:
        self.totals[stage] = self.totals.get(stage, 0.0) + time.perf_counter() - started


class SegmentRenderer:
    """Compiles every template a bulletin needs up front, then renders segments."""

    def __init__(
        self, workspace: Workspace, bulletin: LoadedBulletin, timer: Timer | None = None, asset_base: str | None = None
    ) -> None:
        self.workspace = workspace
        self.bulletin = bulletin
        self.timer = timer or Timer()
        # Pictures from the bulletin's folder, published under base_url (the preview
        # passes its own address so it shows the local files).
        self.assets = pictures.collect_assets(bulletin)
        self.asset_base = asset_base or workspace.sender.base_url
        tz = workspace.sender.timezone
        cache = _cache_dir(workspace)
        self.html_env = make_environment(workspace.sections_dir, workspace.layouts_dir, part="html", tz=tz, cache_dir=cache)
        self.text_env = make_environment(workspace.sections_dir, workspace.layouts_dir, part="text", tz=tz, cache_dir=cache)
        layout = bulletin.meta.layout
        layout_dir = workspace.layouts_dir / layout
        if not layout_dir.is_dir():
            raise InputError(
                f"unknown layout '{layout}' (no folder {layout_dir})",
                Location(file=bulletin.path, line=bulletin.document.line_of("layout"), field="layout"),
            )
        where = Location(file=layout_dir)
        self.layout_html = get_template(self.html_env, f"layouts/{layout}/{LAYOUT_MJML}", workspace.layouts_dir, where)
        self.layout_text = get_template(self.text_env, f"layouts/{layout}/{LAYOUT_TEXT}", workspace.layouts_dir, where)
        self.theme = load_theme(layout_dir / THEME)
        self.block_templates: dict[str, tuple[Any, Any]] = {}
        for section in bulletin.sections:
            name = section.block.name
            if name in self.block_templates:
                continue
            loc = Location(section=section.index, block=name)
            self.block_templates[name] = (
                get_template(self.html_env, f"sections/{section.block.mjml_template}", workspace.sections_dir, loc),
                get_template(self.text_env, f"sections/{section.block.text_template}", workspace.sections_dir, loc),
            )

    # -- shared context -----------------------------------------------------------

    def envelope(self, audience: Audience | None = None) -> Envelope:
        """The envelope of one audience's copy (the first segment's subject by default)."""
        sender = self.workspace.sender
        meta = self.bulletin.meta
        audience = audience or (meta.segments[0],)
        from_name, from_email = sender.from_name, sender.from_email
        if meta.from_:
            name, addr = parseaddr(meta.from_)
            from_name, from_email = name or from_name, addr
        return Envelope(
            subject=self.bulletin.subject_for(audience),
            from_name=from_name,
            from_email=from_email,
            reply_to=meta.reply_to or sender.reply_to,
            list_id=sender.list_id,
        )

    def view_online_url(self) -> str:
        return f"{self.workspace.sender.base_url}/archive/{self.bulletin.key}.html"

    def _base_context(self, audience: Audience | None) -> dict[str, Any]:
        """What every template sees. `segment` is the reader's first segment (None for the
        archive); `segments` all of theirs."""
        meta = self.bulletin.meta
        segments = [self.bulletin.segments[name] for name in audience or ()]
        texts = audience or (meta.segments[0],)
        return {
            "bulletin": {
                "subject": self.bulletin.subject_for(texts),
                "preheader": self.bulletin.preheader_for(texts),
                "issue_date": meta.issue_date,
                "key": self.bulletin.key,
            },
            "sender": self.workspace.sender,
            "segment": segments[0] if segments else None,
            "segments": segments,
            "theme": self.theme,
            "view_online_url": self.view_online_url(),
        }

    # -- rendering ----------------------------------------------------------------

    def render_segment(self, segment: str) -> SegmentRender:
        return self.render_variant((segment,))

    def render_variant(self, audience: Audience) -> SegmentRender:
        """The copy for a reader in every segment of `audience` (bulletin order)."""
        name = variant_name(audience, self.bulletin.meta.segments)
        sections = self.bulletin.sections_for_audience(audience)
        mjml, text = self._render_document(sections, audience)
        started = time.perf_counter()
        html = self._mjml_to_html(mjml, name)
        self.timer.add("mjml", started)
        started = time.perf_counter()
        html = compact_html(finish_html(inline_css(html), self.theme))
        self.timer.add("inline", started)
        return SegmentRender(
            segment=name,
            envelope=self.envelope(audience),
            preheader=self.bulletin.preheader_for(audience),
            html=html,
            text=text,
            sections=tuple(RenderedSection(s.index, s.block.name, s.title, s.anchor) for s in sections),
            audience=audience,
        )

    def render_mjml(self, segment: str | None) -> str:
        """One segment's MJML (the archive's for None), as Jinja writes it before MJML and
        premailer: the goldens keep it, and official MJML is given it to compare widths."""
        if segment is None:
            return self._render_document(list(self.bulletin.sections), None)[0]
        audience = (segment,)
        mjml, _text = self._render_document(self.bulletin.sections_for_audience(audience), audience)
        return mjml

    def render_archive(self) -> tuple[str, str]:
        """The whole bulletin, every section once, for the public view-online page."""
        mjml, text = self._render_document(list(self.bulletin.sections), None)
        return compact_html(finish_html(inline_css(self._mjml_to_html(mjml, "archive")), self.theme)), text

    def _render_document(self, sections: list[LoadedSection], audience: Audience | None) -> tuple[str, str]:
        started = time.perf_counter()
        base = self._base_context(audience)
        mjml_parts: list[str] = []
        text_parts: list[str] = []
        for section in sections:
            mjml_tpl, text_tpl = self.block_templates[section.block.name]
            where = Location(file=self.bulletin.path, line=section.line, section=section.index, block=section.block.name)
            info = {"index": section.index, "anchor": section.anchor, "block": section.block.name, "title": section.title}
            values = self._with_pictures(section)
            html_ctx = {**base, **prepare_fields(values, section.block.fields, "html"), "section": info}
            text_ctx = {**base, **prepare_fields(values, section.block.fields, "text"), "section": info}
            marker = (
                f'<mj-raw><a id="{section.anchor}" data-section="{section.index}" '
                f'data-block="{section.block.name}"></a></mj-raw>'
            )
            mjml_parts.append(marker + "\n" + render(mjml_tpl, html_ctx, where))
            text_parts.append(render(text_tpl, text_ctx, where).strip("\n"))
        reason = self._footer_reason(audience)
        layout_where = Location(file=self.layout_html.filename)
        mjml = render(
            self.layout_html,
            {**base, "content": Markup("\n".join(mjml_parts)), "footer_reason": reason},  # noqa: S704 - rendered by our autoescaping env
            layout_where,
        )
        text = render(self.layout_text, {**base, "content": "\n\n".join(text_parts), "footer_reason": reason}, layout_where)
        self.timer.add("jinja", started)
        return mjml, _tidy_text(text)

    def _with_pictures(self, section: LoadedSection) -> Any:
        """The section's values with each local picture at its public address and height."""
        update: dict[str, Any] = {}
        for name in pictures.image_fields(section):
            image = getattr(section.values, name)
            asset = self.assets.get(image.src)
            if asset is not None:
                update[name] = image.model_copy(update={
                    "src": pictures.public_url(self.asset_base, asset),
                    "width": pictures.displayed_width(image.width),
                    "height": image.height or pictures.displayed_height(asset, image.width),
                })  # fmt: skip
        return section.values.model_copy(update=update) if update else section.values

    def _footer_reason(self, audience: Audience | None) -> str:
        name = self.workspace.sender.name
        if not audience:
            return f"This is the web version of the {name}."
        lists = [self.bulletin.segments[s].description for s in audience]
        if len(lists) == 1:
            return f"You are receiving this because you are on the {name} list for {lists[0]}."
        joined = ", ".join(lists[:-1]) + " and " + lists[-1]
        return f"You are receiving this because you are on the {name} lists for {joined}; this copy has the sections for each, once."

    def _mjml_to_html(self, mjml: str, label: str) -> str:
        from mjml import mjml2html

        try:
            return str(mjml2html(mark_inline_styles(mjml), disable_comments=True))
        except ValueError as exc:
            raise InputError(
                f"MJML could not be rendered for {label}: {exc}. Check the MJML in the layout and the blocks it uses",
                Location(file=self.layout_html.filename),
            ) from None


_IMG = re.compile(r"<img\b[^>]*>")
_IMG_STYLE = re.compile(r'style="([^"]*)"')
_BUTTON_CELL_VALIGN = re.compile(r'(<td\b[^>]*?) vertical-align="[^"]*"')


def finish_html(html: str, theme: dict[str, Any]) -> str:
    """Correct what MJML writes and mail clients or validators trip over.

    - `height="auto"` on <img> is not valid HTML (height is a number of pixels): dropped;
      a pixel height stays as the attribute (Outlook needs it) while the CSS height
      becomes `auto`, so a picture scaled down on a phone keeps its proportions.
    - A blocked image shows its alt text in the img's font: give it the body's font,
      size and muted colour rather than the client's 13 px Times.
    - mj-button writes a `vertical-align` attribute on its cell, which HTML does not have.
    """
    alt_style = f"font-family:{theme.get('font_family', 'sans-serif')};line-height:20px;color:{theme.get('muted', '#4a5566')};"

    def image(match: re.Match[str]) -> str:
        tag = match.group(0).replace(' height="auto"', "")
        return _IMG_STYLE.sub(lambda m: 'style="' + re.sub(r"\bheight:\s*\d+px", "height:auto", m.group(1)) + alt_style + '"', tag, count=1)

    return _BUTTON_CELL_VALIGN.sub(r"\1", _IMG.sub(image, html))


def _cache_dir(workspace: Workspace) -> Path | None:
    """`.bulletin/cache/jinja`, or no cache if the workspace is read-only."""
    path = workspace.state_dir / "cache" / "jinja"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    joined = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", joined) + "\n"
