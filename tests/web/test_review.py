"""Review links: every copy side by side with no personal data, noindex and no caching;
expiry, tampering, another hash, and GET never approving; the forms are POST-only with a
CSRF token, rate-limited, and approve only the link's own content."""

from __future__ import annotations

import re
import time
from pathlib import Path

from starlette.testclient import TestClient

from composer.compose.pipeline import compose_bulletin
from composer.signoff import approvals
from composer.store.db import Store
from composer.tokens import ReviewSigner
from composer.web import review
from composer.workspace import Workspace

SAMPLE = Path("bulletins/2026-06-gpce.yaml")


def link(ws: Workspace, *, expires_in: float = 3600, content_hash: str | None = None, key: str = "2026-06-gpce") -> str:
    composition = compose_bulletin(ws, ws.root / SAMPLE, variants=())
    token = ReviewSigner(ws.secret_keys()).make(key, content_hash or composition.content_hash, int(time.time() + expires_in))
    return f"/review/{token}"


def recorded(ws: Workspace, store: Store) -> list[approvals.ApprovalView]:
    return approvals.listing(store, compose_bulletin(ws, ws.root / SAMPLE, variants=()))


def form_of(page: str) -> dict[str, str]:
    return {
        "csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1),  # type: ignore[union-attr]
        "content_hash": re.search(r'name="content_hash" value="([^"]+)"', page).group(1),  # type: ignore[union-attr]
    }


def test_the_page_shows_every_copy_with_generic_values_noindex_no_store(client: TestClient, serve_workspace: Workspace) -> None:
    page = client.get(link(serve_workspace))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "noindex" in page.headers["x-robots-tag"] and '<meta name="robots" content="noindex' in page.text
    for name in ("lmc", "practice", "registrar", "lmc+practice", "lmc+practice+registrar"):
        assert "<h3 id=\"copy-" in page.text and f">{name}</h3>" in page.text
    assert page.text.count('class="desktop"') == 7 and page.text.count('class="mobile"') == 7
    assert "Dear colleague" in page.text  # the archive's generic values
    assert "%%BT." not in page.text and "sample.reader@example.org" not in page.text


def test_get_never_approves_and_post_approves_by_name(client: TestClient, serve_workspace: Workspace, store: Store) -> None:
    url = link(serve_workspace)
    for _ in range(3):
        client.get(url)
    client.get(url + "/approve")  # not a route for GET
    assert recorded(serve_workspace, store) == []
    page = client.get(url)
    done = client.post(url + "/approve", data={**form_of(page.text), "name": "Dr Jane Smith, GPC England chair"})
    assert done.status_code == 200 and "Approval recorded" in done.text
    (view,) = recorded(serve_workspace, store)
    assert (view.approver, view.source, view.os_user, view.matches) == ("Dr Jane Smith, GPC England chair", "review link", "web", True)
    comment = client.post(url + "/comment", data={**form_of(page.text), "name": "Raj", "note": "Section 3: say 'from 1 July'."})
    assert comment.status_code == 200
    assert [v.kind for v in recorded(serve_workspace, store)] == ["approval", "comment"]
    assert "Section 3: say" in client.get(url).text  # the comment is shown on the page


def test_no_csrf_token_or_another_links_token_is_refused(client: TestClient, serve_workspace: Workspace, store: Store) -> None:
    url = link(serve_workspace)
    other = link(serve_workspace, expires_in=7200)
    fields = form_of(client.get(other).text)
    assert client.post(url + "/approve", data={"content_hash": fields["content_hash"], "name": "X"}).status_code == 400
    assert client.post(url + "/approve", data={**fields, "name": "X"}).status_code == 400  # the other link's token
    assert recorded(serve_workspace, store) == []


def test_expired_tampered_and_another_hash(client: TestClient, serve_workspace: Workspace, store: Store) -> None:
    assert client.get(link(serve_workspace, expires_in=-1)).status_code == 410
    good = link(serve_workspace)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 404
    # A genuine link for another hash: an earlier version, nothing to approve.
    earlier = link(serve_workspace, content_hash="0" * 64)
    page = client.get(earlier)
    assert page.status_code == 409 and "earlier version" in page.text
    # Even with a valid form token for that link, it approves neither that hash nor the current one.
    csrf = ReviewSigner(serve_workspace.secret_keys()).form_token(earlier.removeprefix("/review/"))
    current = form_of(client.get(good).text)["content_hash"]
    assert client.post(earlier + "/approve", data={"csrf": csrf, "content_hash": "0" * 64, "name": "M"}).status_code == 409
    assert client.post(earlier + "/approve", data={"csrf": csrf, "content_hash": current, "name": "M"}).status_code == 400
    assert recorded(serve_workspace, store) == []


def test_after_an_edit_the_link_is_for_an_earlier_version(client: TestClient, serve_workspace: Workspace, store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(review, "COMPOSE_TTL", 0.0)
    url = link(serve_workspace)
    fields = form_of(client.get(url).text)
    source = serve_workspace.root / SAMPLE
    source.write_text(source.read_text(encoding="utf-8").replace("GPCE officer elections", "GPCE officer election"), encoding="utf-8")
    page = client.get(url)
    assert page.status_code == 409 and "This link is for an earlier version" in page.text
    assert client.post(url + "/approve", data={**fields, "name": "Dr Jane Smith"}).status_code == 409
    assert recorded(serve_workspace, store) == []


def test_posts_are_rate_limited(client: TestClient, serve_workspace: Workspace) -> None:
    url = link(serve_workspace)
    answers = [client.post(url + "/comment", data={"name": "x"}).status_code for _ in range(review.POST_LIMIT + 2)]
    assert answers[: review.POST_LIMIT] == [400] * review.POST_LIMIT
    assert answers[review.POST_LIMIT :] == [429, 429]


def test_cli_review_prints_a_link_the_service_answers(client: TestClient, serve_workspace: Workspace) -> None:
    from click.testing import CliRunner

    from composer.cli import cli

    result = CliRunner().invoke(cli, ["--workspace", str(serve_workspace.root), "review", str(serve_workspace.root / SAMPLE), "--expires", "2h"])
    assert result.exit_code == 0, result.output
    url = result.output.splitlines()[0]
    assert url.startswith(serve_workspace.sender.base_url + "/review/")
    assert client.get(url.removeprefix(serve_workspace.sender.base_url)).status_code == 200
    bad = CliRunner().invoke(cli, ["--workspace", str(serve_workspace.root), "review", str(serve_workspace.root / SAMPLE), "--expires", "forever"])
    assert bad.exit_code == 2


def test_cli_review_refuses_a_bulletin_serve_cannot_find(serve_workspace: Workspace, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from composer.cli import cli

    elsewhere = tmp_path / "2026-06-gpce.yaml"
    elsewhere.write_text((serve_workspace.root / SAMPLE).read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--workspace", str(serve_workspace.root), "review", str(elsewhere)])
    assert result.exit_code == 2 and "put the bulletin there first" in result.output
