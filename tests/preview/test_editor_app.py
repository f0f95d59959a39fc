"""The editor's HTTP side through Starlette's TestClient: who may write, what may be
uploaded, where files land, and what a save does to the file and the preview."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from composer.preview.app import create_app
from composer.preview.hosts import LOOPBACK_NAMES
from composer.preview.state import PreviewState

from .conftest import SAMPLE, SPR

HOST = "127.0.0.1:8025"
ORIGIN = f"http://{HOST}"


@pytest.fixture
def client(preview_state: PreviewState) -> TestClient:
    app = create_app(preview_state, allowed_hosts=LOOPBACK_NAMES)
    return TestClient(app, base_url=ORIGIN)


@pytest.fixture
def opened(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/edit/session")
    assert response.status_code == 200
    return dict(response.json())


def headers(opened: dict[str, Any], **more: str) -> dict[str, str]:
    return {"X-Bulletin-Token": opened["token"], "Origin": ORIGIN, **more}


def png(width: int = 40, height: int = 20) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def spr_renamed(opened: dict[str, Any], headline: str) -> dict[str, Any]:
    doc = copy.deepcopy(opened["document"])
    next(s for s in doc["sections"] if s["block"] == "spr")["headline"] = headline
    return doc


def test_the_session_gives_the_file_blocks_segments_and_pictures(opened: dict[str, Any]) -> None:
    assert opened["file"] == SAMPLE
    assert [s["name"] for s in opened["segments"]] == ["lmc", "practice", "registrar"]
    assert {b["name"] for b in opened["blocks"]} >= {"article", "spr", "elections", "signoff"}
    assert [p["name"] for p in opened["pictures"]] == ["collective-action.png"]
    assert opened["document"]["sections"][0] == {"block": "intro", "greeting": "Dear {{ first_name }}", "_origin": 0}
    assert len(opened["base"]) == 64


def test_writes_need_the_session_token_and_our_own_origin(client: TestClient, opened: dict[str, Any], bulletin_path: Path) -> None:
    before = bulletin_path.read_text(encoding="utf-8")
    body = {"base": opened["base"], "document": spr_renamed(opened, "Changed")}
    no_token = client.post("/api/edit/save", json=body, headers={"Origin": ORIGIN})
    wrong_token = client.post("/api/edit/save", json=body, headers={"Origin": ORIGIN, "X-Bulletin-Token": "guess"})
    foreign = client.post("/api/edit/save", json=body, headers=headers(opened, Origin="http://evil.example"))
    no_origin = client.post("/api/edit/save", json=body, headers={"X-Bulletin-Token": opened["token"]})
    rebound = client.post("/api/edit/save", json=body, headers=headers(opened, Host="evil.example:8025"))
    assert [r.status_code for r in (no_token, wrong_token, foreign, no_origin)] == [403, 403, 403, 403]
    assert "not from this preview" in foreign.json()["message"]
    assert rebound.status_code == 400
    assert bulletin_path.read_text(encoding="utf-8") == before


def test_a_save_writes_the_file_and_the_preview_shows_it(
    client: TestClient, opened: dict[str, Any], bulletin_path: Path, preview_state: PreviewState
) -> None:
    version = preview_state.version
    body = {"base": opened["base"], "document": spr_renamed(opened, "A new SPR headline")}
    response = client.post("/api/edit/save", json=body, headers=headers(opened))
    assert response.status_code == 200, response.text
    text = bulletin_path.read_text(encoding="utf-8")
    assert "    headline: A new SPR headline\n" in text and SPR not in text
    assert response.json()["base"] != opened["base"]
    assert preview_state.version == version + 1
    comp = preview_state.snapshot().composition
    assert comp is not None and "A new SPR headline" in comp.renders["registrar"].html
    assert len(comp.renders) == 7, "a save composes every combination, as the preview does"

    stale = client.post("/api/edit/save", json=body, headers=headers(opened))
    assert stale.status_code == 409 and stale.json()["stale"] is True
    assert "changed on disk" in stale.json()["message"]


def test_a_save_that_would_not_compose_writes_nothing(client: TestClient, opened: dict[str, Any], bulletin_path: Path) -> None:
    before = bulletin_path.read_text(encoding="utf-8")
    doc = copy.deepcopy(opened["document"])
    del next(s for s in doc["sections"] if s["block"] == "spr")["headline"]
    response = client.post("/api/edit/save", json={"base": opened["base"], "document": doc}, headers=headers(opened))
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert problem["section"] == 5 and problem["field"] == "headline"
    assert problem["reason"] == "this required field is missing"
    assert bulletin_path.read_text(encoding="utf-8") == before


def test_a_draft_composes_without_writing(client: TestClient, opened: dict[str, Any], bulletin_path: Path) -> None:
    before = bulletin_path.read_text(encoding="utf-8")
    doc = spr_renamed(opened, "Draft headline")
    response = client.post("/api/edit/draft", json={"number": 1, "document": doc, "shown": ["lmc"]}, headers=headers(opened))
    assert response.status_code == 200
    payload = response.json()
    assert payload["draft"] == 1 and payload["status"] == "ok"
    assert sorted(s["name"] for s in payload["segments"]) == ["lmc", "practice", "registrar"]
    html = client.get("/email/lmc/html?r=partner&draft=1").text
    assert "Draft headline" in html
    assert SPR in client.get("/email/lmc/html?r=partner").text, "without ?draft the saved file is shown"
    assert bulletin_path.read_text(encoding="utf-8") == before


def test_a_section_check_gives_the_clis_message_and_markdown(client: TestClient, opened: dict[str, Any]) -> None:
    doc = copy.deepcopy(opened["document"])
    elections = next(i for i, s in enumerate(doc["sections"]) if s["block"] == "elections")
    doc["sections"][elections]["contact_email"] = "elections at bma"
    body = {"document": doc, "index": elections + 1, "markdown": ["intro", "eligibility"]}
    result = client.post("/api/edit/check", json=body, headers=headers(opened)).json()
    [problem] = result["problems"]
    assert problem["field"] == "contact_email" and problem["section"] == elections + 1
    assert problem["reason"].startswith("'elections at bma' is not a valid email address")
    assert problem["message"].startswith(f"{SAMPLE}, section {elections + 1} (block 'elections'), field 'contact_email': ")
    assert result["markdown"]["intro"].startswith("<p>Elections for the GPC England Chair")


def test_an_upload_is_checked_by_content_and_lands_in_the_picture_folder(
    client: TestClient, opened: dict[str, Any], bulletin_path: Path
) -> None:
    folder = bulletin_path.with_suffix("")
    octet = headers(opened, **{"Content-Type": "application/octet-stream"})
    ok = client.post("/api/edit/upload?name=../../Team photo.PNG", content=png(), headers=octet)
    assert ok.status_code == 200, ok.text
    assert ok.json()["picture"]["name"] == "team-photo.png"
    assert (folder / "team-photo.png").read_bytes() == png()
    again = client.post("/api/edit/upload?name=team photo.png", content=png(30, 30), headers=octet)
    assert again.json()["picture"]["name"] == "team-photo-2.png", "a different picture never replaces one"

    fake = client.post("/api/edit/upload?name=notes.png", content=b"not a picture at all", headers=octet)
    assert fake.status_code == 422 and "not a picture" in fake.json()["message"]
    huge = client.post("/api/edit/upload?name=big.png", content=b"\x89PNG" + b"0" * 1_000_001, headers=octet)
    assert huge.status_code == 413
    assert sorted(p.name for p in folder.iterdir()) == ["collective-action.png", "team-photo-2.png", "team-photo.png"]
    assert not list(bulletin_path.parent.parent.glob("Team*")), "nothing is written outside the folder"

    assert client.get("/api/edit/pictures/team-photo.png").content == png()
    assert client.get("/api/edit/pictures/..%2F..%2Fbulletin.toml").status_code == 404
    assert client.get("/api/edit/pictures/%2E%2E").status_code == 404


def test_the_editor_is_off_unless_the_preview_is_on_loopback(preview_state: PreviewState) -> None:
    client = TestClient(create_app(preview_state))
    assert client.get("/api/state").json()["editable"] is False
    assert client.get("/api/edit/session").status_code == 404


def test_no_upload_through_a_picture_folder_that_leads_out_of_the_workspace(
    client: TestClient, opened: dict[str, Any], bulletin_path: Path, tmp_path: Path
) -> None:
    folder = bulletin_path.with_suffix("")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)
    octet = headers(opened, **{"Content-Type": "application/octet-stream"})
    response = client.post("/api/edit/upload?name=team.png", content=png(), headers=octet)
    assert response.status_code == 422 and "outside the workspace" in response.json()["message"]
    assert list(outside.iterdir()) == []


def test_a_section_check_gives_every_problem_of_the_section(client: TestClient, opened: dict[str, Any]) -> None:
    doc = copy.deepcopy(opened["document"])
    index = next(i for i, s in enumerate(doc["sections"]) if s["block"] == "elections")
    section = doc["sections"][index]
    section["contact_email"] = "nobody"
    section["timeline"][1]["at"] = "the second of July"
    del section["intro"]
    body = {"document": doc, "index": index + 1, "markdown": []}
    found = client.post("/api/edit/check", json=body, headers=headers(opened)).json()["problems"]
    assert {p["field"] for p in found} == {"intro", "timeline[2].at", "contact_email"}
    assert all(p["section"] == index + 1 for p in found)
    at = next(p for p in found if p["field"] == "timeline[2].at")
    assert "13/07/2026" in at["reason"] or "YYYY-MM-DD" in at["reason"], at["reason"]


def test_a_picture_that_claims_to_be_enormous_is_refused(client: TestClient, opened: dict[str, Any], bulletin_path: Path) -> None:
    import struct
    import zlib

    data = bytearray(png())
    ihdr = 8 + 8  # the signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", 100_000, 100_000)
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])))
    octet = headers(opened, **{"Content-Type": "application/octet-stream"})
    response = client.post("/api/edit/upload?name=bomb.png", content=bytes(data), headers=octet)
    assert response.status_code == 422 and "megapixels" in response.json()["message"]
    assert not (bulletin_path.with_suffix("") / "bomb.png").exists()


def test_a_write_must_be_json_within_the_size_limit(client: TestClient, opened: dict[str, Any]) -> None:
    form = client.post("/api/edit/save", content=b"base=x", headers=headers(opened, **{"Content-Type": "application/x-www-form-urlencoded"}))
    assert form.status_code == 400
    huge = client.post(
        "/api/edit/draft", content=b'{"document": "' + b"x" * 9_000_000 + b'"}', headers=headers(opened, **{"Content-Type": "application/json"})
    )
    assert huge.status_code == 413
    referer = client.post(
        "/api/edit/check",
        json={"document": opened["document"], "index": 1, "markdown": []},
        headers={"X-Bulletin-Token": opened["token"], "Referer": f"{ORIGIN}/"},
    )
    assert referer.status_code == 200, "a browser that sends no Origin is known by its Referer"


def test_a_file_that_is_not_yaml_just_now_is_not_opened(client: TestClient, bulletin_path: Path) -> None:
    bulletin_path.write_text("subject: [unclosed\n", encoding="utf-8")
    response = client.get("/api/edit/session")
    assert response.status_code == 422
    assert "not valid YAML just now" in response.json()["message"]


def test_a_save_keeps_a_windows_files_line_ends(client: TestClient, bulletin_path: Path) -> None:
    bulletin_path.write_bytes(bulletin_path.read_bytes().replace(b"\n", b"\r\n"))
    opened = client.get("/api/edit/session").json()
    body = {"base": opened["base"], "document": spr_renamed(opened, "Changed on Windows")}
    assert client.post("/api/edit/save", json=body, headers=headers(opened)).status_code == 200
    data = bulletin_path.read_bytes()
    assert b"    headline: Changed on Windows\r\n" in data
    assert data.count(b"\r\n") == data.count(b"\n")


def test_a_draft_keeps_every_character_staff_type(client: TestClient, opened: dict[str, Any]) -> None:
    headline = "📢 Single patient record — “what it means” for £ and é"
    doc = spr_renamed(opened, headline)
    response = client.post("/api/edit/draft", json={"number": 1, "document": doc, "shown": []}, headers=headers(opened))
    assert response.json()["status"] == "ok", response.json()["error"]
    assert headline in client.get("/email/lmc/html?r=partner&draft=1").text


def test_a_copys_digest_changes_with_either_part_and_only_then(preview_state: PreviewState) -> None:
    from dataclasses import replace

    from composer.preview.payload import state_payload

    snapshot = preview_state.snapshot()
    comp = snapshot.composition
    assert comp is not None
    before = {s["name"]: s["digest"] for s in state_payload(snapshot, "b", "i")["segments"]}
    renders = {**comp.renders, "lmc": replace(comp.renders["lmc"], text=comp.renders["lmc"].text + "\nmore")}
    after = {s["name"]: s["digest"] for s in state_payload(replace(snapshot, composition=replace(comp, renders=renders)), "b", "i")["segments"]}
    assert after["lmc"] != before["lmc"]
    assert {k: v for k, v in after.items() if k != "lmc"} == {k: v for k, v in before.items() if k != "lmc"}


def test_the_base_of_the_file_on_disk_is_told_without_a_new_session(client: TestClient, opened: dict[str, Any], bulletin_path: Path) -> None:
    assert client.get("/api/edit/base").json() == {"base": opened["base"]}
    bulletin_path.write_text(bulletin_path.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
    assert client.get("/api/edit/base").json()["base"] != opened["base"]
    for _ in range(100):
        client.get("/api/edit/base")
    body = {"document": opened["document"], "index": 1, "markdown": []}
    assert client.post("/api/edit/check", json=body, headers=headers(opened)).status_code == 200, "the token is still known"
