"""The editor in headless Chromium (Debian's package) through Playwright: a comms officer
edits the June sample in the preview page and saves; the file on disk keeps its comments
and changes only where they typed, and every affected segment recomposes."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from composer.compose.pipeline import compose_bulletin
from composer.preview.server import PreviewServer, build_preview
from composer.workspace import load_workspace
from tests.browser import NEEDS_CHROMIUM, chromium
from tests.conftest import TEST_SECRET
from tests.support import copy_workspace

from .conftest import ELECTIONS, JUNE_ACTION, SAMPLE, SPR, wait_until

pytestmark = [
    pytest.mark.browser,
    NEEDS_CHROMIUM,
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

NEW_HEADLINE = "Single patient record: what the Health Bill means for your records"
ENGAGEMENT = "GP engagement on the use of patient data"
PLAN_B = "GPC England vote to explore an alternative strategy for general practice"
ALT = "Three GPs talking in a practice meeting room"
FRAMES_LOADED = """() => [...document.querySelectorAll('#stage iframe')].length > 0 &&
    [...document.querySelectorAll('#stage iframe')].every(f => f.dataset.loadedSrc === f.getAttribute('src'))"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[PreviewServer, Path, Any]]:
    """`bulletin preview` on a fresh copy of the workspace (each test edits the file)."""
    root = copy_workspace(tmp_path / "ws")
    env = {**os.environ, "BULLETIN_SECRET_KEY": TEST_SECRET}
    env.pop("BULLETIN_DATABASE_URL", None)
    workspace = load_workspace(root, env=env)
    server = build_preview(workspace, root / SAMPLE, host="127.0.0.1", port=0)
    server.start()
    time.sleep(0.3)  # let the file watches settle before anything is saved
    try:
        yield server, root / SAMPLE, workspace
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, served: tuple[PreviewServer, Path, Any]) -> Iterator[Any]:
    server = served[0]
    ctx = browser.new_context(viewport={"width": 1700, "height": 1000})
    ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.url) else route.abort())
    tab = ctx.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(server.url)
    tab.wait_for_function(FRAMES_LOADED)
    yield tab
    ctx.close()
    assert errors == [], f"the page raised: {errors}"


def open_editor(page: Any) -> None:
    page.locator("#edit-toggle").click()
    expect(page.locator("#section-list li").first).to_be_visible()


def open_section(page: Any, title: str) -> None:
    page.locator(".section-item", has_text=title).locator(".section-open").click()
    expect(page.locator("#section-form h2")).to_contain_text(title[:30])


def frame_text(page: Any, segment: str) -> str:
    return str(page.frame_locator(f'#stage iframe[data-segment="{segment}"]').locator("body").inner_text())


def write_picture(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (240, 120), (11, 92, 173)).save(path, format="PNG")


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#") or " # " in line]


def test_edit_the_june_sample_and_save(page: Any, served: tuple[PreviewServer, Path, Any], tmp_path: Path) -> None:
    _, bulletin, workspace = served
    original = bulletin.read_text(encoding="utf-8")
    open_editor(page)

    # Clicking the SPR in the email opens its form and outlines it in the email.
    page.frame_locator('#stage iframe[data-segment="lmc"]').get_by_text(SPR).first.click()
    expect(page.locator("#section-form h2")).to_contain_text(SPR)
    headline = page.locator('#section-form [data-field-path="headline"] input')
    expect(headline).to_have_value(SPR)
    assert page.frame_locator('#stage iframe[data-segment="lmc"]').locator("[data-bt-selected]").count() > 0

    # Typing recomposes the draft: the panes show the new headline before any save.
    headline.fill(NEW_HEADLINE)
    page.wait_for_function("() => document.body.dataset.draft !== ''")
    page.wait_for_function(FRAMES_LOADED)
    wait_until(lambda: NEW_HEADLINE in frame_text(page, "lmc"), what="the draft in the lmc pane")
    # A pane scrolled out of sight follows once it is scrolled to.
    page.locator('#stage iframe[data-segment="registrar"]').scroll_into_view_if_needed()
    wait_until(lambda: NEW_HEADLINE in frame_text(page, "registrar"), what="the draft in the registrar pane")
    assert bulletin.read_text(encoding="utf-8") == original, "nothing is written before Save"

    # A message from the same validation as the CLI shows on the field as you type.
    headline.fill("")
    expect(page.locator('#section-form [data-field-path="headline"] .field-error')).to_have_text("this required field is missing")
    headline.fill(NEW_HEADLINE)
    expect(page.locator('#section-form [data-field-path="headline"] .field-error')).to_be_hidden()

    # A new timeline step, with the date picker writing the accepted form.
    open_section(page, ELECTIONS)
    page.get_by_role("button", name="Add timeline row").click()
    page.locator('[data-field-path="timeline[5].label"] input').fill("Results announced")
    page.locator('[data-field-path="timeline[5].at"] input').fill("2026-07-10T12:00")

    # Move a section up, and leave the June action out of the LMC copy.
    item = page.locator(".section-item", has_text=ENGAGEMENT)
    item.get_by_role("button", name=f"Move “{ENGAGEMENT}” up").click()
    open_section(page, JUNE_ACTION)
    page.locator('#section-form [data-field-path="audiences"] input[data-audience="lmc"]').uncheck()

    # A picture uploaded into the bulletin's folder, with its alt text beside it.
    open_section(page, PLAN_B)
    picture = tmp_path / "Practice team.png"
    write_picture(picture)
    page.locator('[data-field-path="image.src"] input[type="file"]').set_input_files(str(picture))
    expect(page.locator('[data-field-path="image.src"] select')).to_have_value("practice-team.png")
    page.locator('[data-field-path="image.alt"] input').fill(ALT)

    page.locator("#save").click()
    expect(page.locator("#save-status")).to_contain_text("Saved at")

    saved = bulletin.read_text(encoding="utf-8")
    assert (bulletin.parent / "2026-06-gpce" / "practice-team.png").is_file()
    assert comments(saved) == comments(original), "every comment is kept, in order"
    removed = Counter(original.splitlines()) - Counter(saved.splitlines())
    added = Counter(saved.splitlines()) - Counter(original.splitlines())
    assert removed == Counter({f"    headline: {SPR}": 1, "    audiences: [practice, lmc]": 1}), removed
    assert added == Counter(
        {
            f"    headline: '{NEW_HEADLINE}'": 1,
            "    audiences: [practice]": 1,
            "      - label: Results announced": 1,
            '        at: "2026-07-10 12:00"': 1,
            "    image:": 1,
            "      src: practice-team.png": 1,
            f"      alt: {ALT}": 1,
        }
    ), added
    data = yaml.safe_load(saved)
    titles = [s.get("headline") for s in data["sections"]]
    assert titles.index(ENGAGEMENT) == titles.index("UK Biobank data breach") - 1

    # What compose writes from the file now: each affected segment changed as edited.
    composed = compose_bulletin(workspace, bulletin)
    for segment in ("lmc", "practice", "registrar"):
        html = composed.renders[segment].html
        assert NEW_HEADLINE in html and SPR not in html
        assert "Results announced" in html
        assert f'alt="{ALT}"' in html
    assert JUNE_ACTION not in composed.renders["lmc"].html
    assert JUNE_ACTION in composed.renders["practice"].html

    # And the panes show the saved file, not a draft.
    page.wait_for_function("() => document.body.dataset.draft === ''")
    page.wait_for_function(FRAMES_LOADED)
    wait_until(lambda: JUNE_ACTION not in frame_text(page, "lmc"), what="the saved lmc copy")
    assert JUNE_ACTION in frame_text(page, "practice")


def test_a_stale_save_is_refused_and_reload_offered(page: Any, served: tuple[PreviewServer, Path, Any]) -> None:
    _, bulletin, _ = served
    open_editor(page)
    open_section(page, SPR)
    page.locator('#section-form [data-field-path="headline"] input').fill(NEW_HEADLINE)

    # Meanwhile someone saves the file in a text editor.
    edited = bulletin.read_text(encoding="utf-8").replace("layout: default", "layout: default  # checked by Sam")
    bulletin.write_text(edited, encoding="utf-8")
    # The page hears of it from the preview's reload and says so before any save.
    expect(page.locator("#save-status")).to_have_text("Changed on disk")

    page.locator("#save").click()
    notice = page.locator("#editor-notice")
    expect(notice).to_contain_text("changed on disk")
    assert bulletin.read_text(encoding="utf-8") == edited, "the other edit is not overwritten"

    page.locator("#reload-file").click()
    expect(page.locator("#save-status")).to_have_text("Saved")
    open_section(page, SPR)
    expect(page.locator('#section-form [data-field-path="headline"] input')).to_have_value(SPR)


def test_remove_with_undo_duplicate_and_add_from_the_catalogue(page: Any, served: tuple[PreviewServer, Path, Any]) -> None:
    _, bulletin, _ = served
    open_editor(page)
    count = page.locator(".section-item").count()
    page.locator(".section-item", has_text=SPR).get_by_role("button", name=f"Remove “{SPR}”").click()
    expect(page.locator(".section-item")).to_have_count(count - 1)
    page.locator("#undo-remove").click()
    expect(page.locator(".section-item")).to_have_count(count)
    expect(page.locator(".section-item").nth(4)).to_contain_text(SPR)

    page.locator(".section-item", has_text=ELECTIONS).get_by_role("button", name=f"Duplicate “{ELECTIONS}”").click()
    expect(page.locator(".section-item", has_text=ELECTIONS)).to_have_count(2)

    # A block from the catalogue: its form comes from its block.yaml, help text and all.
    page.locator("#add-block").select_option("article")
    expect(page.locator("#add-block-about")).to_contain_text("news item")
    page.locator("#add-section-button").click()
    form = page.locator("#section-form")
    expect(form.locator('[data-field-path="headline"] .help')).to_have_text("The heading of the item, in sentence case.")
    # Every problem of the section at once, each on its own field.
    expect(form.locator('[data-field-path="headline"] .field-error')).to_have_text("this required field is missing")
    expect(form.locator('[data-field-path="body"] .field-error')).to_have_text("this required field is missing")
    form.locator('[data-field-path="headline"] input').fill("Practice manager survey")
    expect(form.locator('[data-field-path="headline"] .field-error')).to_be_hidden()
    form.locator('[data-field-path="body"] textarea').fill("Tell us how the year went.")
    expect(form.locator('[data-markdown-path="body"]')).to_contain_text("Tell us how the year went.")
    page.locator("#save").click()
    expect(page.locator("#save-status")).to_contain_text("Saved at")
    data = yaml.safe_load(bulletin.read_text(encoding="utf-8"))
    blocks = [s["block"] for s in data["sections"]]
    assert blocks.count("elections") == 2
    assert {"block": "article", "headline": "Practice manager survey", "body": "Tell us how the year went."} in data["sections"]


def test_a_new_block_folder_gets_its_form_with_no_code(page: Any, served: tuple[PreviewServer, Path, Any]) -> None:
    import shutil

    _, bulletin, _ = served
    sections = bulletin.parent.parent / "sections"
    shutil.copytree(sections / "article", sections / "notice")
    declaration = (sections / "notice" / "block.yaml").read_text(encoding="utf-8")
    declaration = declaration.split("\nfields:", 1)[1].split("\nimport:", 1)[0]
    (sections / "notice" / "block.yaml").write_text(
        "description: A short notice for practices, with an optional picture.\ntitle_field: headline\nfields:"
        + declaration.replace("The heading of the item", "What the notice is about"),
        encoding="utf-8",
    )
    open_editor(page)
    page.locator("#add-block").select_option("notice")
    expect(page.locator("#add-block-about")).to_have_text("A short notice for practices, with an optional picture.")
    page.locator("#add-section-button").click()
    form = page.locator("#section-form")
    expect(form.locator('[data-field-path="headline"] .help')).to_contain_text("What the notice is about")
    expect(form.locator('[data-field-path="body"] textarea')).to_be_visible()
    expect(form.locator('[data-field-path="image.src"] select')).to_be_visible()
    expect(form.get_by_role("button", name="Add links row")).to_be_visible()


def test_axe_finds_nothing_in_the_form_of_any_block(page: Any) -> None:
    """axe-core (from the pinned axe-playwright-python) over the editor with each kind of
    block's form open. Only violations count: the panel's sticky bar makes axe unsure
    of some backgrounds, which it lists as incomplete."""
    axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
    open_editor(page)
    blocks = page.locator("#add-block option").evaluate_all("options => options.map(o => o.value)")
    assert len(blocks) >= 9
    found: list[str] = []
    for block in blocks:
        page.locator("#add-block").select_option(block)
        page.locator("#add-section-button").click()
        expect(page.locator("#section-form .section-fields")).to_be_visible()
        results = axe_playwright.Axe().run(page, context="#editor").response
        found += [f"{block}: {v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in results["violations"]]
    assert found == [], "\n".join(found)


def test_an_upload_that_is_not_a_picture_is_refused_in_words(page: Any, served: tuple[PreviewServer, Path, Any], tmp_path: Path) -> None:
    _, bulletin, _ = served
    fake = tmp_path / "minutes.png"
    fake.write_text("These are the minutes of the meeting, not a picture.", encoding="utf-8")
    open_editor(page)
    open_section(page, PLAN_B)
    page.locator('[data-field-path="image.src"] input[type="file"]').set_input_files(str(fake))
    expect(page.locator('[data-field-path="image.src"] .upload-note')).to_contain_text("not a picture")
    assert sorted(p.name for p in (bulletin.parent / "2026-06-gpce").iterdir()) == ["collective-action.png"]


def test_the_link_button_makes_the_selected_words_a_link(page: Any) -> None:
    open_editor(page)
    open_section(page, PLAN_B)
    body = page.locator('#section-form [data-field-path="body"] textarea')
    body.fill("Read the BMA briefing today.")
    body.evaluate("area => area.setSelectionRange(5, 21)")  # "the BMA briefing"
    page.once("dialog", lambda dialog: dialog.accept("https://www.bma.org.uk/briefing"))
    page.locator('#section-form [data-field-path="body"]').get_by_role("button", name="Link…").click()
    expect(body).to_have_value("Read [the BMA briefing](https://www.bma.org.uk/briefing) today.")
    preview = page.locator('#section-form [data-markdown-path="body"] a')
    expect(preview).to_have_attribute("href", "https://www.bma.org.uk/briefing")
    expect(preview).to_have_text("the BMA briefing")


def test_a_combination_can_be_looked_at_while_drafting(page: Any) -> None:
    open_editor(page)
    open_section(page, SPR)
    page.locator('#section-form [data-field-path="headline"] input').fill(NEW_HEADLINE)
    page.wait_for_function("() => document.body.dataset.draft !== ''")
    page.locator('#segment-buttons button[data-segment="lmc+practice"]').click()
    frame = page.locator('#stage iframe[data-segment="lmc+practice"]').first
    expect(frame).to_be_visible()
    wait_until(lambda: NEW_HEADLINE in frame_text(page, "lmc+practice"), what="the draft's lmc+practice copy")
    expect(page.locator('#segment-buttons button[data-segment="practice+registrar"]')).to_have_count(1)
