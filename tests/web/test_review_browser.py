"""The review page in headless Chromium (Debian's package) against `bulletin serve`'s app
under uvicorn on loopback: every copy renders in its frame, and a reviewer approves by name."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from composer.compose.pipeline import compose_bulletin
from composer.signoff import approvals
from composer.store.db import Store
from composer.tokens import ReviewSigner
from composer.workspace import Workspace
from tests.browser import NEEDS_CHROMIUM, chromium
from tests.support import free_port

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
pytestmark = [
    pytest.mark.browser,
    NEEDS_CHROMIUM,
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(workspace: Workspace) -> Iterator[str]:
    import uvicorn

    from composer.web.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(workspace), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def test_a_reviewer_sees_every_copy_and_approves_by_name(workspace: Workspace, server: str) -> None:
    composition = compose_bulletin(workspace, workspace.root / SAMPLE, variants=())
    token = ReviewSigner(workspace.secret_keys()).make(composition.key, composition.content_hash, int(time.time()) + 3600)
    with chromium() as browser:
        page: Any = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server}/review/{token}")
        frames = page.locator("iframe")
        assert frames.count() == 14  # 7 copies, desktop and mobile
        first = page.frame_locator("iframe.desktop").first
        sync_api.expect(first.locator("body")).to_contain_text("colleague")
        assert page.locator("iframe.mobile").first.bounding_box()["width"] == pytest.approx(375, abs=2)
        page.fill("#approve-name", "Dr Jane Smith, GPC England chair")
        page.click("text=I approve this version")
        sync_api.expect(page.locator("h1")).to_have_text("Approval recorded")
        assert errors == []
    store = Store(workspace.database_url())
    try:
        (view,) = approvals.listing(store, composition)
    finally:
        store.close()
    assert view.approver == "Dr Jane Smith, GPC England chair" and view.source == "review link" and view.matches
