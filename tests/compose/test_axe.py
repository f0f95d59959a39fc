"""axe-core on every copy of the June sample and on the archive page, in Debian's
Chromium through Playwright, as a reader's mail client would lay them out.

axe.min.js comes from the axe-playwright-python package (pinned in constraints.txt);
nothing is fetched when the test runs. It failed with `image-alt` and `color-contrast`
when tried on a copy with the picture's alt text removed and the muted grey lightened.
`region` and `landmark-one-main` are left out: an
email is a fragment inside the mail client's page, which has the landmarks.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from composer.compose.pipeline import compose_bulletin, write_outputs
from tests.browser import NEEDS_CHROMIUM, chromium

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
EVERY_BLOCK = Path(__file__).parent / "data" / "every_block.yaml"
ALLOWED = {"region", "landmark-one-main"}

pytestmark = [
    pytest.mark.browser,
    NEEDS_CHROMIUM,
]

sync_api = pytest.importorskip("playwright.sync_api")
axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture(scope="module")
def june_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every copy and the archive as compose writes them, in a copy of the workspace."""
    from composer.workspace import load_workspace
    from tests.conftest import TEST_SECRET
    from tests.support import copy_workspace

    root = copy_workspace(tmp_path_factory.mktemp("axe") / "ws")
    workspace = load_workspace(root, env={"BULLETIN_SECRET_KEY": TEST_SECRET})
    out = root / "out"
    write_outputs(workspace, compose_bulletin(workspace, root / SAMPLE), out)
    # The block shapes the sample does not use (a linked picture, a petition without a
    # closing, ...); their pictures are https addresses, which the page does not load.
    shutil.copy2(EVERY_BLOCK, root / "bulletins" / EVERY_BLOCK.name)
    write_outputs(workspace, compose_bulletin(workspace, root / "bulletins" / EVERY_BLOCK.name), out / "every_block")
    return out


@pytest.fixture(scope="module")
def page(june_files: Path) -> Iterator[Any]:
    """A 600 px page that loads the published pictures from the output folder and
    nothing from any network."""

    def route(route: Any, request: Any) -> None:
        url = request.url
        picture = june_files / "assets" / url.rsplit("/", 1)[-1]
        if url.startswith("file://"):
            route.continue_()
        elif "/assets/" in url and picture.is_file():
            route.fulfill(path=str(picture))
        else:
            route.abort()

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 600, "height": 900})
        context.route("**/*", route)
        yield context.new_page()


def _described(violation: dict[str, Any]) -> str:
    nodes = "; ".join(f"{n['target']} {n.get('failureSummary', '')!r}" for n in violation["nodes"][:3])
    return f"{violation['id']} ({violation['impact']}): {violation['help']} at {nodes}"


def _axe_findings(page: Any, documents: list[Path], pictures: bool) -> dict[str, list[str]]:
    axe = axe_playwright.Axe()
    found: dict[str, list[str]] = {}
    for document in documents:
        page.goto(document.as_uri())
        assert page.evaluate("document.compatMode") == "CSS1Compat", document.name
        if pictures:
            assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)"), document.name
        results = axe.run(page).response
        assert results["passes"] or results["violations"], "axe ran no rule"
        # "incomplete" is what axe could not decide (a contrast over a picture, say):
        # a person would have to look, so it counts too.
        violations = [
            _described(v) for kind in ("violations", "incomplete") for v in results[kind] if v["id"] not in ALLOWED
        ]
        if violations:
            found[document.stem] = violations
    return found


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{name}: {v}" for name, vs in found.items() for v in vs)


def test_axe_finds_nothing_in_any_copy_or_the_archive(page: Any, june_files: Path) -> None:
    documents = sorted(june_files.glob("*.html"))
    assert {"lmc", "registrar", "lmc+practice+registrar", "archive"} <= {p.stem for p in documents}
    found = _axe_findings(page, documents, pictures=True)
    assert found == {}, _report(found)


def test_axe_finds_nothing_in_the_shapes_the_sample_lacks(page: Any, june_files: Path) -> None:
    documents = sorted((june_files / "every_block").glob("*.html"))
    assert {p.stem for p in documents} == {"lmc", "archive"}
    found = _axe_findings(page, documents, pictures=False)
    assert found == {}, _report(found)
