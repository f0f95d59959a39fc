"""The preview app through Starlette's TestClient, over the real sample bulletin."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from composer.compose.model import Composition
from composer.errors import InputError, Location
from composer.preview.app import create_app
from composer.preview.hosts import LOOPBACK_NAMES
from composer.preview.payload import EMAIL_CSP, frame_html, state_payload
from composer.preview.state import PreviewState

from .conftest import FOURTEENFISH, HOSTILE, JUNE_ACTION, SPR, edit, line_of


@pytest.fixture
def client(preview_state: PreviewState) -> TestClient:
    return TestClient(create_app(preview_state))


def titles(segment: dict) -> list[str]:  # type: ignore[type-arg]
    return [s["title"] for s in segment["sections"]]


def test_state_lists_each_segment_with_its_sections(client: TestClient) -> None:
    data = client.get("/api/state").json()
    assert data["status"] == "ok"
    assert data["bulletin"] == "bulletins/2026-06-gpce.yaml"
    assert data["subject"].startswith("GPCE bulletin")
    assert data["preheader"]
    copies = {s["name"]: s for s in data["segments"]}
    assert list(copies) == [
        "lmc", "practice", "registrar", "lmc+practice", "lmc+registrar", "practice+registrar", "lmc+practice+registrar",
    ]  # fmt: skip
    both = copies["lmc+registrar"]
    assert both["combination"] and both["audience"] == ["lmc", "registrar"]
    assert FOURTEENFISH in titles(both) and JUNE_ACTION in titles(both)
    assert len(titles(both)) == len(set(titles(both)))
    segments = {n: s for n, s in copies.items() if not s["combination"]}
    assert FOURTEENFISH in titles(segments["registrar"])
    assert FOURTEENFISH not in titles(segments["lmc"]) + titles(segments["practice"])
    assert JUNE_ACTION in titles(segments["practice"]) and JUNE_ACTION in titles(segments["lmc"])
    assert JUNE_ACTION not in titles(segments["registrar"])
    assert all(SPR in titles(s) for s in segments.values())
    for segment in segments.values():
        assert 10_000 < segment["html_bytes"] < data["limits"]["clip_bytes"]
    assert data["limits"] == {"clip_bytes": 102_000, "warn_bytes": 90_000}


def test_findings_carry_the_anchor_of_their_section(client: TestClient) -> None:
    data = client.get("/api/state").json()
    assert data["counts"]["warnings"] == len(data["findings"]) - data["counts"]["errors"]
    vague = [f for f in data["findings"] if f["code"] == "vague-link-text"]
    assert vague, "the sample trips the link-text warning on purpose"
    sections = {s["name"]: {x["index"]: x for x in s["sections"]} for s in data["segments"]}
    for finding in vague:
        section = sections[finding["segment"]][finding["section"]]
        assert finding["anchor"] == section["anchor"]
        assert finding["title"] == section["title"]
        page = client.get(f"/email/{finding['segment']}/html").text
        assert f'id="{finding["anchor"]}"' in page


def test_email_is_filled_for_the_sample_and_locked_down(client: TestClient) -> None:
    res = client.get("/email/registrar/html", params={"r": "hostile"})
    assert res.status_code == 200
    assert res.headers["content-security-policy"] == EMAIL_CSP
    assert "script-src" not in EMAIL_CSP and "default-src 'none'" in EMAIL_CSP
    assert res.headers["cache-control"] == "no-store"
    body = res.text
    assert "%%BT." not in body
    assert html.escape(HOSTILE, quote=True) in body
    assert HOSTILE not in body
    assert "https://bulletin.example/u/preview" in body
    assert '<base target="_blank">' in body
    assert FOURTEENFISH in body


def test_plain_text_part_is_filled_raw(client: TestClient) -> None:
    res = client.get("/email/lmc/text", params={"r": "hostile"})
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/plain")
    assert f"Dear {HOSTILE}" in res.text
    assert "%%BT." not in res.text
    assert JUNE_ACTION in res.text


def test_blank_sample_reads_the_fallbacks(client: TestClient) -> None:
    text = client.get("/email/lmc/text", params={"r": "blank"}).text
    assert "Dear colleague" in text


def test_unknown_segment_and_sample_are_told_apart(client: TestClient) -> None:
    missing = client.get("/email/gps/html")
    assert missing.status_code == 404
    assert "lmc, practice, registrar" in missing.text
    bad = client.get("/email/lmc/html", params={"r": "nobody"})
    assert bad.status_code == 400
    assert "hostile" in bad.text


def test_page_and_its_assets_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert 'src="/static/preview.js"' in page.text
    for asset, kind in (("preview.js", "javascript"), ("preview.css", "text/css")):
        res = client.get(f"/static/{asset}")
        assert res.status_code == 200
        assert kind in res.headers["content-type"]
    js = client.get("/static/preview.js").text
    assert "allow-scripts" not in js.replace("No allow-scripts", "")
    assert ".innerHTML" not in js and "insertAdjacentHTML" not in js


def test_broken_yaml_keeps_the_last_good_render_and_names_the_line(
    client: TestClient, preview_state: PreviewState, bulletin_path: Path
) -> None:
    line = line_of(bulletin_path, f"headline: {JUNE_ACTION}")
    edit(bulletin_path, f"headline: {JUNE_ACTION}", "headline: New collective action: in June")
    preview_state.refresh()

    data = client.get("/api/state").json()
    assert data["version"] == 2
    assert data["status"] == "error"
    error = data["error"]
    assert error["file"] == "bulletins/2026-06-gpce.yaml"
    assert error["line"] == line
    assert "YAML" in error["reason"]
    assert error["message"].startswith(f"bulletins/2026-06-gpce.yaml, line {line}: YAML syntax error")
    assert [s["name"] for s in data["segments"] if not s["combination"]] == ["lmc", "practice", "registrar"]
    assert JUNE_ACTION in client.get("/email/lmc/html").text  # the last good render


def test_error_names_section_block_and_field(
    client: TestClient, preview_state: PreviewState, bulletin_path: Path
) -> None:
    edit(bulletin_path, f"headline: {JUNE_ACTION}", f"headlin: {JUNE_ACTION}")
    preview_state.refresh()
    error = client.get("/api/state").json()["error"]
    assert error["section"] == 2
    assert error["block"] == "collective_action"
    assert error["field"] == "headline"
    assert error["line"] is not None


def test_fixing_the_error_clears_the_banner(
    client: TestClient, preview_state: PreviewState, bulletin_path: Path
) -> None:
    before = edit(bulletin_path, "segments: [lmc, practice, registrar]", "segments: [lmc, practice, gps]")
    preview_state.refresh()
    assert client.get("/api/state").json()["status"] == "error"
    bulletin_path.write_text(before, encoding="utf-8")
    preview_state.refresh()
    data = client.get("/api/state").json()
    assert data["status"] == "ok" and data["error"] is None and data["version"] == 3


def test_nothing_composed_yet_shows_the_error_and_no_email(workspace, bulletin_path: Path) -> None:  # type: ignore[no-untyped-def]
    from composer.preview.state import BulletinSource

    edit(bulletin_path, "  - block: intro", "  - block: intro\n oops")
    state = PreviewState(BulletinSource(workspace, bulletin_path))
    state.refresh()
    client = TestClient(create_app(state))
    data = client.get("/api/state").json()
    assert data["status"] == "error"
    assert data["segments"] == [] and data["findings"] == []
    assert data["error"]["line"] is not None
    res = client.get("/email/lmc/html")
    assert res.status_code == 503
    assert "error" in res.text


class _Failing:
    """A source whose compose fails the way a bug would, not the way bad input does."""

    label = "bulletins/x.yaml"
    root = Path("/nonexistent")
    base_url = "https://bulletin.example"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def compose(self) -> Composition:
        raise self.exc


def test_an_unexpected_exception_is_reported_not_raised() -> None:
    state = PreviewState(_Failing(RuntimeError("mjml fell over")))
    snapshot = state.refresh()
    assert snapshot.error is not None
    assert snapshot.error.kind == "RuntimeError"
    assert "unexpected RuntimeError: mjml fell over" in snapshot.error.message
    assert state_payload(snapshot, "x")["status"] == "error"


def test_input_error_outside_the_workspace_keeps_its_path() -> None:
    exc = InputError("bad", Location(file="/elsewhere/b.yaml", line=3, field="subject"))
    snapshot = PreviewState(_Failing(exc)).refresh()
    assert snapshot.error is not None
    assert snapshot.error.file == "/elsewhere/b.yaml"
    assert snapshot.error.line == 3 and snapshot.error.field == "subject"


def test_event_stream_announces_the_version(client: TestClient, preview_state: PreviewState) -> None:
    preview_state.close()  # the stream sends the current version, then ends
    res = client.get("/events")
    assert res.headers["content-type"].startswith("text/event-stream")
    assert "event: version" in res.text
    assert f'data: {{"version": 1, "instance": "{preview_state.instance}"}}' in res.text
    assert client.get("/api/version").json() == {"version": 1, "instance": preview_state.instance}


def test_frame_html_puts_the_base_inside_head() -> None:
    assert frame_html('<html lang="en"><head><title>t</title></head>') == (
        '<html lang="en"><head><base target="_blank"><title>t</title></head>'
    )
    assert frame_html("<p>no head</p>").startswith('<base target="_blank">')


@pytest.mark.parametrize(
    ("host", "status"),
    [("127.0.0.1:8025", 200), ("localhost:8025", 200), ("[::1]:8025", 200), ("LOCALHOST", 200),
     ("rebind.example:8025", 400), ("127.0.0.1.nip.example", 400), ("", 400)],
)  # fmt: skip
def test_only_loopback_host_names_are_served(preview_state: PreviewState, host: str, status: int) -> None:
    client = TestClient(create_app(preview_state, allowed_hosts=LOOPBACK_NAMES))
    assert client.get("/api/version", headers={"host": host}).status_code == status
    assert client.get("/email/lmc/html", headers={"host": host}).status_code == status


def test_a_broken_bulletin_toml_is_shown_and_recovered_from(
    client: TestClient, preview_state: PreviewState, workspace_dir: Path
) -> None:
    config = workspace_dir / "bulletin.toml"
    before = edit(config, 'base_url = "https://bulletin.example"', 'base_url = "http://bulletin.example"')
    preview_state.refresh()
    data = client.get("/api/state").json()
    assert data["status"] == "error"
    assert data["error"]["kind"] == "ConfigError"
    assert "base_url" in data["error"]["message"] and "https://" in data["error"]["message"]
    assert data["segments"]  # the last good render stays
    config.write_text(before, encoding="utf-8")
    preview_state.refresh()
    assert client.get("/api/state").json()["status"] == "ok"
