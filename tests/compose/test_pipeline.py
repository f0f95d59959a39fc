"""The compose pipeline: parts, tokens, escaping, dates, checks and atomic output."""

from __future__ import annotations

import email
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from composer.compose import markdown
from composer.compose.merge import Recipient, fill, substitutions, token
from composer.compose.mime import build_message
from composer.compose.pipeline import compose_bulletin, write_outputs
from composer.compose.templates import uk_datetime
from composer.errors import InputError
from tests.compose.helpers import MINIMAL, write_bulletin

HOSTILE = "Dr <b>O'Brien</b> & Partners"


def test_sections_go_only_to_their_audiences(workspace, workspace_dir: Path) -> None:
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir))
    assert "Practice news" in comp.renders["practice"].html
    assert "Practice news" in comp.renders["practice"].text
    for other in ("lmc", "registrar"):
        assert "Practice news" not in comp.renders[other].html
        assert "Practice news" not in comp.renders[other].text


def test_merge_fields_stay_tokens_until_send(workspace, workspace_dir: Path) -> None:
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir))
    render = comp.renders["lmc"]
    assert token("first_name", "html") in render.html
    assert token("first_name", "text") in render.text
    assert token("unsubscribe_url", "html") in render.html  # the footer link
    assert token("first_name", "text") not in render.html


def test_hostile_name_reads_the_same_in_both_parts(workspace, workspace_dir: Path) -> None:
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir))
    render = comp.renders["lmc"]
    subs = substitutions(Recipient(email="d@example.org", unsubscribe_url="https://bulletin.example/u/x", first_name=HOSTILE))
    message = build_message(render.envelope, to="d@example.org", html=fill(render.html, subs), text=fill(render.text, subs))
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    html_part = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text_part = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Dear {HOSTILE}" in text_part
    assert "Dear Dr &lt;b&gt;O&#x27;Brien&lt;/b&gt; &amp; Partners" in html_part
    assert "<b>O'Brien</b>" not in html_part
    from bs4 import BeautifulSoup

    assert f"Dear {HOSTILE}" in BeautifulSoup(html_part, "lxml").get_text()


def test_css_is_inlined_and_media_queries_kept(workspace, workspace_dir: Path) -> None:
    html = compose_bulletin(workspace, write_bulletin(workspace_dir)).renders["lmc"].html
    assert "@media" in html
    assert 'style="' in html
    assert 'lang="en-GB"' in html
    assert "<mj-" not in html


def test_archive_has_no_tokens_and_no_person(workspace, workspace_dir: Path) -> None:
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir))
    assert "%%BT." not in comp.archive_html
    assert "Dear colleague" in comp.archive_html
    assert "Practice news" in comp.archive_html  # every section, once
    assert "/u/" not in comp.archive_html


def test_content_hash_changes_with_the_words(workspace, workspace_dir: Path) -> None:
    first = compose_bulletin(workspace, write_bulletin(workspace_dir))
    again = compose_bulletin(workspace, write_bulletin(workspace_dir))
    changed = compose_bulletin(workspace, write_bulletin(workspace_dir, MINIMAL.replace("Practice news", "Practice update")))
    assert first.content_hash == again.content_hash
    assert first.content_hash != changed.content_hash


def test_markdown_text_writes_links_out_and_wraps() -> None:
    text = markdown.to_text("See [the guidance](https://www.bma.org.uk/g) or email [us](mailto:info@example.org).\n\n* one\n* two")
    flat = " ".join(text.split())
    assert "the guidance (https://www.bma.org.uk/g)" in flat
    assert "us (info@example.org)" in flat
    assert "• one\n• two" in text
    long = markdown.to_text("word " * 40)
    assert max(len(line) for line in long.splitlines()) <= markdown.TEXT_WIDTH == 78


def test_markdown_raw_html_is_not_passed_through() -> None:
    assert "<script>" not in markdown.to_html("<script>alert(1)</script>")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 6, 25, 12, 0, tzinfo=ZoneInfo("Europe/London")), "midday on 25 June 2026"),
        (datetime(2026, 7, 2, 11, 0, tzinfo=ZoneInfo("UTC")), "midday on 2 July 2026"),  # BST
        (datetime(2026, 12, 2, 14, 30, tzinfo=ZoneInfo("UTC")), "2:30pm on 2 December 2026"),  # GMT
        (datetime(2026, 7, 9, 0, 0, tzinfo=ZoneInfo("Europe/London")), "9 July 2026"),
    ],
)
def test_uk_datetime_in_london_time(value: datetime, expected: str) -> None:
    assert uk_datetime(value) == expected


def test_checks_flag_vague_links_http_and_long_subject(workspace, workspace_dir: Path) -> None:
    text = MINIMAL.replace("subject: Test bulletin", "subject: " + "Long subject " * 8).replace(
        "[the contract guidance](https://www.bma.org.uk/contract)",
        "[here](https://www.bma.org.uk/contract) and [the old page](http://www.bma.org.uk/old)",
    )
    report = compose_bulletin(workspace, write_bulletin(workspace_dir, text)).report
    codes = {(f.code, f.section) for f in report.warnings}
    assert ("vague-link-text", 2) in codes
    assert ("http-link", 2) in codes
    assert ("subject-length", None) in codes
    assert not report.errors


def test_checks_error_on_unknown_merge_field_and_missing_alt(workspace, workspace_dir: Path) -> None:
    text = MINIMAL.replace("Dear {{ first_name }}", "Dear {{ firstname }}") + """\
  - block: article
    headline: With a picture
    image:
      src: https://bulletin.example/images/x.png
    body: Some words.
"""
    report = compose_bulletin(workspace, write_bulletin(workspace_dir, text)).report
    errors = {(f.code, f.section) for f in report.errors}
    assert ("unknown-merge-field", 1) in errors
    assert ("image-alt", 3) in errors


def test_check_errors_on_html_over_gmail_clip(workspace, workspace_dir: Path) -> None:
    body = "\n\n".join(f"Paragraph {i} " + "with quite a lot of words in it " * 12 for i in range(250))
    text = MINIMAL + "  - block: article\n    headline: Very long\n    body: |\n" + "\n".join("      " + line for line in body.splitlines()) + "\n"
    report = compose_bulletin(workspace, write_bulletin(workspace_dir, text)).report
    assert any(f.code == "html-size" and f.severity == "error" for f in report.errors)
    assert all(size > 102_000 for size in report.sizes.values())


def test_write_outputs_replaces_the_folder_whole(workspace, workspace_dir: Path) -> None:
    out = workspace_dir / "out" / "test"
    out.mkdir(parents=True)
    (out / "stale.html").write_text("old", encoding="utf-8")
    # an earlier compose's output, for a segment this bulletin no longer has
    (out / "report.json").write_text('{"segments": {"stale": {}}}', encoding="utf-8")
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir))
    write_outputs(workspace, comp, out)
    names = sorted(p.name for p in out.iterdir())
    assert "stale.html" not in names
    assert {"lmc.html", "lmc.txt", "lmc.eml", "archive.html", "report.json"} <= set(names)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["html_bytes"]["lmc"] > 0
    eml = email.message_from_bytes((out / "lmc.eml").read_bytes(), policy=email.policy.default)
    assert eml["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert eml.get_content_type() == "multipart/alternative"
    assert not list(out.parent.glob(".test.*"))  # no temporary folders left behind


@pytest.mark.parametrize("other", ["notes.txt", "budget.xlsx", "photos/"])
def test_write_outputs_never_replaces_a_folder_of_other_files(workspace, workspace_dir: Path, other: str) -> None:
    out = workspace_dir / "Desktop"
    out.mkdir()
    if other.endswith("/"):
        (out / other).mkdir()
    else:
        (out / other).write_text("precious", encoding="utf-8")
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir))
    with pytest.raises(InputError, match="did not write"):
        write_outputs(workspace, comp, out)
    assert (out / other.rstrip("/")).exists()
    # nor once an earlier compose's output shares the folder with them
    (out / other.rstrip("/")).rename(workspace_dir / "moved")
    write_outputs(workspace, comp, out)
    (workspace_dir / "moved").rename(out / other.rstrip("/"))
    with pytest.raises(InputError, match="did not write"):
        write_outputs(workspace, comp, out)
    assert (out / other.rstrip("/")).exists()
    # nor the workspace itself (`--out .`)
    with pytest.raises(InputError, match="did not write"):
        write_outputs(workspace, comp, workspace_dir)
    assert (workspace_dir / "bulletin.toml").exists()
    assert not list(workspace_dir.glob(".Desktop.*"))


def test_web_font_import_is_flagged(workspace, workspace_dir: Path) -> None:
    theme = workspace_dir / "layouts" / "default" / "theme.yaml"
    text = theme.read_text(encoding="utf-8")
    theme.write_text(text.replace('font_family: "', 'font_family: "Roboto, '), encoding="utf-8")
    report = compose_bulletin(workspace, write_bulletin(workspace_dir)).report
    flagged = [f for f in report.warnings if f.code == "external-resource"]
    assert flagged and "fonts.googleapis.com" in flagged[0].message


def test_quoted_printable_lines_stay_within_76_even_with_trailing_whitespace() -> None:
    import quopri

    from composer.compose.mime import quoted_printable

    # binascii.b2a_qp alone overruns 76 when whitespace comes right before a line break.
    data = ("x" * 74 + " \n" + "é" * 40 + "\t\n" + "=" * 100 + "\n").encode("utf-8")
    encoded = quoted_printable(data)
    assert max(len(line) for line in encoded.split(b"\r\n")) <= 76
    assert quopri.decodestring(encoded).replace(b"\r\n", b"\n") == data


def test_reported_size_is_the_encoded_html_part_of_the_message(workspace, workspace_dir: Path) -> None:
    from composer.compose.mime import encoded_html_size
    from composer.compose.pipeline import sample_recipient

    comp = compose_bulletin(workspace, write_bulletin(workspace_dir))
    render = comp.renders["lmc"]
    subs = substitutions(sample_recipient(workspace))
    message = build_message(render.envelope, to="a@example.org", html=fill(render.html, subs), text=fill(render.text, subs))
    assert comp.report.sizes["lmc"] == encoded_html_size(message)
    assert comp.report.sizes["lmc"] > len(fill(render.html, subs).encode("utf-8"))  # QP adds soft breaks
