"""The service's HTML pages: Jinja2 with autoescape, in the bulletin's colours.

Colours come from the default layout's `theme.yaml` (read by `compose.theme`, which
stops with the file and line when it is not a YAML mapping) when it has them, else from a
navy and white palette. Every value taken from the theme must look like a CSS colour, so a
theme file cannot inject CSS into the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from composer.compose.theme import THEME, load_theme

TEMPLATES = Path(__file__).parent / "templates"
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Branding:
    """What the pages need to look like the bulletin."""

    list_name: str
    organisation: str
    language: str
    primary: str = "#1b2f5c"  # navy: header band, button
    on_primary: str = "#ffffff"
    text: str = "#1a1a1a"
    background: str = "#ffffff"
    page: str = "#f2f4f8"
    link: str = "#1b4f9c"
    button: str = "#1b2f5c"
    on_button: str = "#ffffff"
    focus: str = "#ffbf47"  # a yellow focus ring that reads on navy and on white
    font_family: str = "Arial, Helvetica, sans-serif"


# theme.yaml key → Branding field. The first key present wins.
_THEME_KEYS: dict[str, tuple[str, ...]] = {
    "primary": ("brand", "primary", "heading"),
    "on_primary": ("brand_text", "on_primary"),
    "button": ("button", "brand", "primary"),
    "on_button": ("button_text", "brand_text", "on_primary"),
    "text": ("text",),
    "background": ("surface", "background"),
    "page": ("page_background", "page"),
    "link": ("link",),
    "focus": ("brand_accent", "focus"),
}
# No quotes: autoescaping turns them into entities, which CSS inside <style> does not read.
_FONT = re.compile(r"^[A-Za-z0-9 ,-]{1,200}$")


def load_branding(layouts_dir: Path, list_name: str, organisation: str, language: str) -> Branding:
    """Branding from `layouts/default/theme.yaml` (brand, text, surface, link...) when usable."""
    colours = _theme_colours(layouts_dir / "default" / THEME)
    chosen: dict[str, str] = {}
    for name, keys in _THEME_KEYS.items():
        for key in keys:
            value = colours.get(key)
            if isinstance(value, str) and _COLOUR.match(value.strip()):
                chosen[name] = value.strip()
                break
    font = colours.get("font_family")
    if isinstance(font, str) and _FONT.match(font.strip()):
        chosen["font_family"] = font.strip()
    return Branding(list_name=list_name, organisation=organisation, language=language, **chosen)


def _theme_colours(path: Path) -> dict[str, Any]:
    data = load_theme(path)
    merged: dict[str, Any] = {}
    for section in ("colors", "colours"):
        nested = data.get(section)
        if isinstance(nested, dict):
            merged.update({str(k): v for k, v in nested.items()})
    merged.update({k: v for k, v in data.items() if not isinstance(v, dict)})
    return merged


def make_environment() -> Environment:
    """Autoescape on for every template: contact fields are shown on these pages."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
    """Renders the service's pages with the branding filled in."""

    def __init__(self, branding: Branding) -> None:
        self.branding = branding
        self.env = make_environment()

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(brand=self.branding, **context)
