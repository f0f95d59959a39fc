"""GET and POST /u/{token}: one-click (RFC 8058), the page, tokens, escaping, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from composer.identity import AddressHasher
from composer.store import suppressions
from composer.store.db import Store
from composer.store.models import AuditEntry, Contact, Suppression
from composer.tokens import TokenSigner
from composer.web.app import create_app
from tests.web.conftest import add_contact

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def hasher(serve_workspace) -> AddressHasher:  # type: ignore[no-untyped-def]
    return AddressHasher(serve_workspace.secret_keys())


def suppressed(store: Store, hasher: AddressHasher, email: str) -> Suppression | None:
    with store.session() as s:
        return suppressions.find(s, hasher, email)


def test_one_click_urlencoded(client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher) -> None:
    cid = add_contact(store, "dana@example.org")
    response = client.post(
        f"/u/{signer.make(cid, 3)}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "location" not in response.headers
    row = suppressed(store, hasher, "dana@example.org")
    assert row is not None
    assert (row.reason, row.source, row.campaign_id) == ("unsubscribed", "one-click", 3)


def test_one_click_multipart(client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher) -> None:
    cid = add_contact(store, "dana@example.org")
    response = client.post(f"/u/{signer.make(cid, 3)}", files={"List-Unsubscribe": (None, "One-Click")})
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert response.status_code == 200
    assert "location" not in response.headers
    row = suppressed(store, hasher, "dana@example.org")
    assert row is not None and row.source == "one-click"


def test_get_shows_masked_address_and_does_not_suppress(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    cid = add_contact(store, "dana@example.org", first_name="Dana")
    for _ in range(3):  # scanners fetch links, sometimes more than once
        response = client.get(f"/u/{signer.make(cid, 1)}")
        assert response.status_code == 200
    html = response.text
    assert "d•••@example.org" in html
    assert "dana@example.org" not in html
    assert '<html lang="en-GB">' in html
    assert 'method="post"' in html and "<button" in html
    assert suppressed(store, hasher, "dana@example.org") is None
    with store.session() as s:
        assert s.scalars(select(AuditEntry)).first() is None


def test_page_form_suppresses_and_confirms(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    cid = add_contact(store, "dana@example.org")
    response = client.post(f"/u/{signer.make(cid, 1)}", data={"confirm": "unsubscribe"})
    assert response.status_code == 200
    assert "You have been unsubscribed" in response.text
    assert "d•••@example.org" in response.text
    row = suppressed(store, hasher, "dana@example.org")
    assert row is not None and row.source == "page"


def test_post_is_idempotent_and_audited_with_its_source(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    cid = add_contact(store, "dana@example.org")
    url = f"/u/{signer.make(cid, 5)}"
    assert client.post(url, data=ONE_CLICK).status_code == 200
    assert client.post(url, data=ONE_CLICK).status_code == 200
    assert client.post(url, data={"confirm": "unsubscribe"}).status_code == 200
    with store.session() as s:
        assert len(s.scalars(select(Suppression)).all()) == 1
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    suppress_entries = [e for e in entries if e.action == "suppress"]
    assert len(suppress_entries) == 1
    assert suppress_entries[0].detail["source"] == "one-click"
    unsub = [e for e in entries if e.action == "unsubscribe"]
    assert [(e.detail["source"], e.detail["outcome"]) for e in unsub] == [
        ("one-click", "suppressed"),
        ("one-click", "already-suppressed"),
        ("page", "already-suppressed"),
    ]
    assert all(e.contact_id == cid and e.actor == "web" for e in unsub)
    assert all("dana" not in str(e.detail) for e in entries)


def test_post_without_the_one_click_body_changes_nothing(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    cid = add_contact(store, "dana@example.org")
    url = f"/u/{signer.make(cid, 1)}"
    assert client.post(url).status_code == 400
    assert client.post(url, data={"List-Unsubscribe": "Two-Click"}).status_code == 400
    assert client.post(url, content=b"List-Unsubscribe=One-Click", headers={"content-type": "text/plain"}).status_code == 400
    assert suppressed(store, hasher, "dana@example.org") is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_forged_or_tampered_token_is_400_and_reveals_nothing(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher, method: str
) -> None:
    cid = add_contact(store, "dana@example.org")
    good = signer.make(cid, 1)
    payload = good.rpartition(".")[0]
    forged_other = signer.make(cid + 1, 1).rpartition(".")[2]
    attacker = TokenSigner(["not-the-server-key"]).make(cid, 1)
    for bad in (f"{payload}.{forged_other}", good[:-2] + "xx", "garbage", attacker, "W10.abc"):
        response = getattr(client, method)(f"/u/{bad}", **({"data": ONE_CLICK} if method == "post" else {}))
        assert response.status_code == 400
        assert "example.org" not in response.text
        assert "d•••" not in response.text
    assert suppressed(store, hasher, "dana@example.org") is None


def test_rotated_key_still_verifies_but_a_dropped_key_does_not(
    serve_workspace, store: Store, hasher: AddressHasher, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from composer.workspace import load_workspace

    cid = add_contact(store, "dana@example.org")
    old_token = TokenSigner(["the-old-key"]).make(cid, 1)

    monkeypatch.setenv("BULLETIN_SECRET_KEY", "the-new-key")
    monkeypatch.delenv("BULLETIN_OLD_SECRET_KEYS", raising=False)
    dropped = load_workspace(serve_workspace.root)
    with TestClient(create_app(dropped, store)) as c:
        assert c.get(f"/u/{old_token}").status_code == 400
        assert c.post(f"/u/{old_token}", data=ONE_CLICK).status_code == 400
    assert suppressed(store, hasher, "dana@example.org") is None

    monkeypatch.setenv("BULLETIN_OLD_SECRET_KEYS", "some-other-key, the-old-key")
    rotated = load_workspace(serve_workspace.root)
    with TestClient(create_app(rotated, store)) as c:
        assert c.get(f"/u/{old_token}").status_code == 200
        assert c.post(f"/u/{old_token}", data=ONE_CLICK).status_code == 200
    assert suppressed(store, AddressHasher(rotated.secret_keys()), "dana@example.org") is not None


def test_html_in_contact_fields_is_escaped(client: TestClient, store: Store, signer: TokenSigner) -> None:
    cid = add_contact(
        store,
        "<b>x</b>@<script>alert(1)</script>.example.org",
        first_name="<img src=x onerror=alert(1)>",
        name="Dr <b>O'Brien</b> & Partners",
    )
    token = signer.make(cid, 1)
    for response in (client.get(f"/u/{token}"), client.post(f"/u/{token}", data={"confirm": "unsubscribe"})):
        assert response.status_code == 200
        assert "<script>" not in response.text
        assert "<img" not in response.text
    page = client.get(f"/u/{token}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.example.org" in page


def test_erased_contact_answers_politely(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    cid = add_contact(store, "gone@example.org", first_name="Gone")
    deleted = add_contact(store, "deleted@example.org")
    with store.session() as s:
        contact = s.get(Contact, cid)
        assert contact is not None
        contact.email = ""
        contact.first_name = None
        s.delete(s.get(Contact, deleted))
    for who in (cid, deleted, 999_999):
        token = signer.make(who, 1)
        page = client.get(f"/u/{token}")
        assert page.status_code == 200
        assert "@" not in page.text.split("<main", 1)[1]
        done = client.post(f"/u/{token}", data=ONE_CLICK)
        assert done.status_code == 200
        assert "@" not in done.text.split("<main", 1)[1]
    with store.session() as s:
        assert s.scalars(select(Suppression)).first() is None


def test_store_error_on_unsubscribe_is_503(
    serve_workspace, store: Store, signer: TokenSigner, hasher: AddressHasher  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import OperationalError

    cid = add_contact(store, "dana@example.org")

    def fail(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO SUPPRESSIONS"):
            raise OperationalError(statement, parameters, Exception("database is locked"))

    sa_event.listen(store.engine, "before_cursor_execute", fail)
    try:
        with TestClient(create_app(serve_workspace, store)) as c:
            response = c.post(f"/u/{signer.make(cid, 1)}", data=ONE_CLICK)
    finally:
        sa_event.remove(store.engine, "before_cursor_execute", fail)
    assert response.status_code == 503
    assert suppressed(store, hasher, "dana@example.org") is None


def test_form_body_over_the_cap_is_413(client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher) -> None:
    cid = add_contact(store, "dana@example.org")
    response = client.post(f"/u/{signer.make(cid, 1)}", data={**ONE_CLICK, "pad": "x" * 100_000})
    assert response.status_code == 413
    assert suppressed(store, hasher, "dana@example.org") is None


def test_generic_unsubscribe_page_and_health(client: TestClient) -> None:
    info = client.get("/unsubscribe")
    assert info.status_code == 200
    assert "unsubscribe link" in info.text
    assert client.get("/healthz").text == "ok\n"
    assert info.headers["referrer-policy"] == "no-referrer"
    assert info.headers["cache-control"] == "no-store"


def test_healthz_is_503_when_the_store_is_down(serve_workspace, store: Store) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import OperationalError

    def fail(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        raise OperationalError(statement, parameters, Exception("server closed the connection"))

    with TestClient(create_app(serve_workspace, store)) as c:
        sa_event.listen(store.engine, "before_cursor_execute", fail)
        try:
            assert c.get("/healthz").status_code == 503
        finally:
            sa_event.remove(store.engine, "before_cursor_execute", fail)
        assert c.get("/healthz").status_code == 200


def test_pages_use_the_layout_theme_colours(serve_workspace, store: Store) -> None:  # type: ignore[no-untyped-def]
    theme = serve_workspace.layouts_dir / "default" / "theme.yaml"
    theme.parent.mkdir(parents=True, exist_ok=True)
    theme.write_text(
        "brand: '#7a1f5c'\ntext: 'red; } body { display:none'\n"
        "font_family: 'x; } body { display:none'\nlink: '#0b3d91'\n"
    )
    with TestClient(create_app(serve_workspace, store)) as c:
        html = c.get("/unsubscribe").text
    assert "background: #7a1f5c" in html
    assert "color: #0b3d91" in html
    assert "display:none" not in html
    assert "color: #1a1a1a" in html  # the unusable text colour fell back


def test_pages_fall_back_to_navy_without_a_theme(serve_workspace, store: Store) -> None:  # type: ignore[no-untyped-def]
    theme = serve_workspace.layouts_dir / "default" / "theme.yaml"
    theme.unlink(missing_ok=True)
    with TestClient(create_app(serve_workspace, store)) as c:
        html = c.get("/unsubscribe").text
    assert "background: #1b2f5c" in html


def test_concurrent_one_clicks_for_one_address_all_succeed(
    serve_workspace, store: Store, signer: TokenSigner, hasher: AddressHasher  # type: ignore[no-untyped-def]
) -> None:
    import threading

    from composer.tokens import UnsubscribeClaim
    from composer.web.unsubscribe import Unsubscriber

    cid = add_contact(store, "dana@example.org")
    unsubscriber = Unsubscriber(store, hasher)
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def run() -> None:
        barrier.wait()
        try:
            unsubscriber.unsubscribe(UnsubscribeClaim(cid, 1), "one-click")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with store.session() as s:
        assert len(s.scalars(select(Suppression)).all()) == 1


def test_old_token_of_an_erased_contact_does_not_touch_a_newcomer_with_the_same_id(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    from tests.web.conftest import add_campaign, add_delivery

    campaign = add_campaign(store)
    old_id = add_contact(store, "erased@example.org")
    add_delivery(store, hasher, campaign, old_id, "erased@example.org")
    token = signer.make(old_id, campaign)
    with store.session() as s:  # `lists forget`: the contact row goes, the ledger keeps no id
        s.delete(s.get(Contact, old_id))
    with store.session() as s:  # SQLite can hand the same id to the next contact
        s.add(Contact(id=old_id, email="newcomer@example.org", email_norm="newcomer@example.org"))
    page = client.get(f"/u/{token}")
    assert page.status_code == 200
    assert "n•••@example.org" not in page.text
    assert client.post(f"/u/{token}", data=ONE_CLICK).status_code == 200
    assert suppressed(store, hasher, "newcomer@example.org") is None


def test_token_for_a_campaign_the_contact_was_in_works(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    from tests.web.conftest import add_campaign, add_delivery

    campaign = add_campaign(store)
    cid = add_contact(store, "dana@example.org")
    add_delivery(store, hasher, campaign, cid, "dana@example.org")
    token = signer.make(cid, campaign)
    assert "d•••@example.org" in client.get(f"/u/{token}").text
    assert client.post(f"/u/{token}", data=ONE_CLICK).status_code == 200
    assert suppressed(store, hasher, "dana@example.org") is not None


def test_chunked_form_body_over_the_cap_is_413(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    """No Content-Length to check: the middleware counts the bytes as they arrive."""
    cid = add_contact(store, "dana@example.org")

    def body():  # type: ignore[no-untyped-def]
        yield b"List-Unsubscribe=One-Click&pad="
        for _ in range(10):
            yield b"x" * 10_000

    response = client.post(
        f"/u/{signer.make(cid, 1)}",
        content=body(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert suppressed(store, hasher, "dana@example.org") is None


def test_a_test_copy_link_says_so_and_changes_nothing(
    client: TestClient, store: Store, signer: TokenSigner, hasher: AddressHasher
) -> None:
    add_contact(store, "dana@example.org")
    token = signer.make(0, 0)  # what `bulletin send --test-to` puts in its copies
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and "test copy" in page.text
    for body in ({"confirm": "unsubscribe"}, ONE_CLICK):
        response = client.post(f"/u/{token}", data=body)
        assert response.status_code == 200
        assert "test copy" in response.text and "You have been unsubscribed" not in response.text
    assert suppressed(store, hasher, "dana@example.org") is None
    with store.session() as s:
        assert s.scalars(select(Suppression)).first() is None
