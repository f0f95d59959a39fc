"""The preview in headless Chromium (Debian's package) through Playwright, against the real
server on a free loopback port, composing the real sample bulletin."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from composer.preview.server import PreviewServer, build_preview
from tests.browser import NEEDS_CHROMIUM, chromium
from tests.conftest import REPO, TEST_SECRET
from tests.support import copy_workspace

from .conftest import (
    ELECTIONS,
    FOURTEENFISH,
    HOSTILE,
    JUNE_ACTION,
    SAMPLE,
    SPR,
    edit,
    line_of,
    wait_until,
)

ARTIFACTS = REPO / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    NEEDS_CHROMIUM,
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

ALL_FRAMES_LOADED = """() => [...document.querySelectorAll('#stage iframe')].length > 0 &&
    [...document.querySelectorAll('#stage iframe')].every(f => f.dataset.loadedSrc === f.getAttribute('src'))"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PreviewServer, Path]]:
    """`bulletin preview` on a copy of the workspace, as the command builds it."""
    from composer.workspace import load_workspace

    root = copy_workspace(tmp_path_factory.mktemp("preview") / "ws")
    env = {**os.environ, "BULLETIN_SECRET_KEY": TEST_SECRET}
    env.pop("BULLETIN_DATABASE_URL", None)
    workspace = load_workspace(root, env=env)
    server = build_preview(workspace, root / SAMPLE, host="127.0.0.1", port=0)
    server.start()
    time.sleep(0.3)  # let the file watches settle before a test saves anything
    try:
        yield server, root / SAMPLE
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def context(browser: Any, served: tuple[PreviewServer, Path]) -> Iterator[Any]:
    server, _ = served
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    # Only the preview itself: the email's images and fonts point at the internet.
    ctx.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(server.url) else route.abort(),
    )
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any, served: tuple[PreviewServer, Path]) -> Iterator[Any]:
    server, _ = served
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(server.url)
    tab.wait_for_function(ALL_FRAMES_LOADED)
    yield tab
    tab.close()
    assert errors == [], f"the page raised: {errors}"


def frames_loaded(page: Any) -> None:
    page.wait_for_function(ALL_FRAMES_LOADED)


def frame_text(page: Any, segment: str, width: str = "desktop") -> str:
    locator = page.frame_locator(f'#stage iframe[data-segment="{segment}"][data-width="{width}"]')
    return str(locator.locator("body").inner_text())


def restore(served: tuple[PreviewServer, Path], original: str) -> None:
    """Put the sample back and wait until the server has composed it cleanly."""
    server, path = served
    if path.read_text(encoding="utf-8") == original:
        return
    version = server.state.version
    path.write_text(original, encoding="utf-8")
    wait_until(
        lambda: server.state.version > version and server.state.snapshot().error is None,
        timeout=10,
        what="the restored sample to compose",
    )


def test_each_segment_shows_its_own_sections(page: Any) -> None:
    frames = page.locator("#stage iframe")
    assert frames.count() == 3  # all side by side is the first view
    expected = {
        "lmc": {JUNE_ACTION, SPR, ELECTIONS},
        "practice": {JUNE_ACTION, SPR, ELECTIONS},
        "registrar": {FOURTEENFISH, SPR, ELECTIONS},
    }
    for segment, titles in expected.items():
        page.locator(f'#segment-buttons button[data-segment="{segment}"]').click()
        expect(page.locator("#stage iframe")).to_have_count(1)
        frames_loaded(page)
        text = frame_text(page, segment)
        for title in titles:
            assert title in text, f"{title!r} missing from {segment}"
        if segment == "registrar":
            assert JUNE_ACTION not in text
        else:
            assert FOURTEENFISH not in text
        assert "%%BT." not in text
        subject = page.locator("#subject").inner_text()
        assert subject.startswith("GPCE bulletin")


def test_combinations_are_offered_beside_the_segments(page: Any) -> None:
    buttons = page.locator("#segment-buttons button")
    names = [buttons.nth(i).get_attribute("data-segment") for i in range(buttons.count())]
    assert names == [
        "lmc", "practice", "registrar", "lmc+practice", "lmc+registrar",
        "practice+registrar", "lmc+practice+registrar", "all",
    ]  # fmt: skip
    page.locator('#segment-buttons button[data-segment="lmc+registrar"]').click()
    expect(page.locator("#stage iframe")).to_have_count(1)
    frames_loaded(page)
    text = frame_text(page, "lmc+registrar")
    for title in (JUNE_ACTION, FOURTEENFISH, SPR, ELECTIONS):
        assert text.count(title) == 1, title
    page.locator('#segment-buttons button[data-segment="all"]').click()
    expect(page.locator("#stage iframe")).to_have_count(3)  # side by side: the single segments


def test_mobile_width_and_both(page: Any) -> None:
    page.get_by_role("button", name="Mobile 375 px").click()
    frames_loaded(page)
    mobile = page.locator('#stage iframe[data-width="mobile"]')
    assert mobile.count() == 3 and page.locator('#stage iframe[data-width="desktop"]').count() == 0
    sizes = mobile.first.evaluate(
        "f => [f.clientWidth, f.contentWindow.innerWidth, f.contentDocument.documentElement.clientWidth]"
    )
    assert sizes == [375, 375, 375]
    page.get_by_role("button", name="Both").click()
    frames_loaded(page)
    assert page.locator("#stage iframe").count() == 6
    desktop = page.locator('#stage iframe[data-width="desktop"]').first
    assert desktop.evaluate("f => [f.clientWidth, f.contentWindow.innerWidth]") == [600, 600]


def test_every_segment_renders_in_standards_mode(page: Any) -> None:
    """Without a doctype browsers and webmail render the email in quirks mode."""
    frames = page.locator("#stage iframe")
    modes = {f.get_attribute("data-segment"): f.evaluate("f => f.contentDocument.compatMode") for f in frames.all()}
    assert modes and set(modes.values()) == {"CSS1Compat"}, modes


EDGES = """f => {
    const doc = f.contentDocument;
    const left = el => Math.round(el.getBoundingClientRect().left);
    return {
        text: [...doc.querySelectorAll('.prose > div')].filter(d => !d.closest('.inset')).map(left),
        boxes: [...doc.querySelectorAll('.inset .mj-column-per-100, table.box')].map(left),
        pictures: [...doc.querySelectorAll('.picture img')].map(left),
    };
}"""


def test_mobile_edges_line_up(page: Any) -> None:
    """At 375 px text, pictures and boxed sections share one left edge (16 px)."""
    page.get_by_role("button", name="Mobile 375 px").click()
    frames_loaded(page)
    for frame in page.locator('#stage iframe[data-width="mobile"]').all():
        edges = frame.evaluate(EDGES)
        assert edges["text"] and edges["boxes"], edges
        assert {x for xs in edges.values() for x in xs} == {16}, (frame.get_attribute("data-segment"), edges)


def test_the_sample_picture_shows_from_the_bulletin_folder(page: Any) -> None:
    frame = page.locator('#stage iframe[data-segment="lmc"]').first
    picture = frame.evaluate(
        """f => { const img = f.contentDocument.querySelector('.picture img');
                 return img && [img.complete, img.naturalWidth, new URL(img.src).pathname]; }"""
    )
    assert picture and picture[0] and picture[1] == 1200, picture
    assert picture[2].startswith("/assets/") and picture[2].endswith(".png")


def test_plain_text_tab_and_the_sample_recipient(page: Any) -> None:
    page.locator("#recipient").select_option("hostile")
    frames_loaded(page)
    greeting = page.frame_locator('#stage iframe[data-segment="lmc"]').locator("body")
    expect(greeting).to_contain_text(f"Dear {HOSTILE}")  # shown as typed, not as markup
    assert page.frame_locator('#stage iframe[data-segment="lmc"]').locator("b", has_text="O'Brien").count() == 0

    page.get_by_role("button", name="Plain text").click()
    plain = page.locator('#stage pre.plain[data-segment="registrar"]')
    expect(plain).to_contain_text(FOURTEENFISH)
    expect(plain).to_contain_text(f"Dear {HOSTILE}")
    assert page.locator("#stage iframe").count() == 0
    assert page.get_by_role("button", name="Mobile 375 px").is_disabled()


def test_checks_panel_links_to_the_section(page: Any) -> None:
    expect(page.locator("#checks-summary")).to_contain_text("warning")
    expect(page.locator(".gauge")).to_have_count(7)  # one per copy: combinations are the heaviest
    assert page.locator('.gauge[data-segment="lmc"]').get_attribute("data-level") in {"ok", "warn"}
    link = page.locator(".finding a.goto", has_text="UK Biobank").first
    anchor = link.get_attribute("data-anchor")
    assert page.locator("#stage").evaluate("s => s.scrollTop") == 0
    link.click()
    page.wait_for_function(
        """a => [...document.querySelectorAll('#stage iframe')].some(
             f => f.contentDocument.getElementById(a)?.dataset.btHighlight === '1')""",
        arg=anchor,
    )
    # The stage scrolls (smoothly) until the section is at its top.
    page.wait_for_function(
        """a => {
          const stage = document.querySelector('#stage');
          const f = [...stage.querySelectorAll('iframe')].find(f => f.contentDocument.getElementById(a));
          const el = f.contentDocument.getElementById(a);
          const offset = f.getBoundingClientRect().top + el.getBoundingClientRect().top
                       - stage.getBoundingClientRect().top;
          return stage.scrollTop > 1000 && offset >= 0 && offset < 60;
        }""",
        arg=anchor,
    )


def test_dark_background_simulation(page: Any) -> None:
    page.get_by_label("Dark background (simulation)").check()
    frame = page.locator("#stage iframe").first
    assert "invert(1)" in frame.evaluate("f => getComputedStyle(f).filter")
    assert frame.evaluate("f => f.contentDocument.documentElement.classList.contains('bt-dark-sim')")
    expect(page.locator("#dark-note")).to_be_visible()


def test_saving_the_bulletin_updates_the_open_page(page: Any, served: tuple[PreviewServer, Path]) -> None:
    _, path = served
    page.evaluate("window.__notReloaded = true")
    original = edit(path, f"headline: {JUNE_ACTION}", "headline: Collective action for practices, edited live")
    try:
        started = time.monotonic()
        body = page.frame_locator('#stage iframe[data-segment="practice"]').locator("body")
        expect(body).to_contain_text("Collective action for practices, edited live", timeout=5000)
        elapsed = time.monotonic() - started
        assert page.evaluate("window.__notReloaded") is True  # no manual or full reload
        assert JUNE_ACTION not in frame_text(page, "practice")
        assert elapsed < 3, f"the page took {elapsed:.1f} s to update"
    finally:
        restore(served, original)
    expect(page.frame_locator('#stage iframe[data-segment="practice"]').locator("body")).to_contain_text(JUNE_ACTION)


def test_broken_yaml_shows_the_banner_with_the_line(page: Any, served: tuple[PreviewServer, Path]) -> None:
    _, path = served
    line = line_of(path, f"headline: {JUNE_ACTION}")
    original = edit(path, f"headline: {JUNE_ACTION}", "headline: New collective action: in June")
    try:
        banner = page.locator("#error-banner")
        expect(banner).to_be_visible(timeout=5000)
        expect(banner.locator('[data-part="file"] dd')).to_have_text(SAMPLE)
        expect(banner.locator('[data-part="line"] dd')).to_have_text(str(line))
        expect(banner).to_contain_text("Line")
        expect(banner).to_contain_text("YAML syntax error")
        expect(banner).to_contain_text("last good version")
        assert banner.get_attribute("data-message").startswith(f"{SAMPLE}, line {line}: YAML")
        # The last good render stays.
        assert JUNE_ACTION in frame_text(page, "practice")
        expect(page.locator("#status")).to_contain_text("Compose failed")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "preview-error.png"))
    finally:
        restore(served, original)
    expect(page.locator("#error-banner")).to_be_hidden(timeout=5000)


def test_every_problem_is_listed_in_the_banner(page: Any, served: tuple[PreviewServer, Path]) -> None:
    _, path = served
    block_line = line_of(path, "block: petition")
    original = edit(path, "block: petition", "block: petiton")
    edit(path, f"headline: {ELECTIONS}", f"headlne: {ELECTIONS}")
    try:
        problems = page.locator("#banner-problems li")
        expect(problems).to_have_count(3, timeout=5000)  # the typo, and the headline it left missing
        expect(page.locator("#banner-reason")).to_have_text("3 problems, each listed below")
        expect(problems.nth(2)).to_contain_text(
            f"line {block_line}, section 10, field 'block': unknown block 'petiton'; did you mean 'petition'?"
        )
        expect(problems.nth(1)).to_contain_text("field 'headlne': block 'elections' has no field 'headlne'; did you mean 'headline'?")
    finally:
        restore(served, original)
    expect(page.locator("#error-banner")).to_be_hidden(timeout=5000)


def test_screenshot(page: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "preview.png"))
    page.locator('#segment-buttons button[data-segment="registrar"]').click()
    page.get_by_role("button", name="Both").click()
    frames_loaded(page)
    page.screenshot(path=str(ARTIFACTS / "preview-registrar-both.png"))
    assert (ARTIFACTS / "preview.png").stat().st_size > 10_000


def test_dark_and_plain_text_screenshots(page: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_label("Dark background (simulation)").check()
    page.locator('#segment-buttons button[data-segment="practice"]').click()
    page.get_by_role("button", name="Mobile 375 px").click()
    frames_loaded(page)
    page.screenshot(path=str(ARTIFACTS / "preview-dark-mobile.png"))
    page.get_by_role("button", name="Plain text").click()
    expect(page.locator("pre.plain")).to_contain_text(JUNE_ACTION)
    page.screenshot(path=str(ARTIFACTS / "preview-text.png"))
