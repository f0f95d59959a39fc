"""Markdown previews in the form read as the email will, merge fields shown as ‹names›."""

from __future__ import annotations

from composer.editor.drafts import markdown_previews


def test_markdown_previews_are_the_emails_html_with_merge_fields_named() -> None:
    section = {
        "block": "petition",
        "body": "Dear {{ first_name }}, **sign** [here](https://example.org/sign).",
        "demands": ["one *thing*", "two"],
        "closing": "   ",
    }
    found = markdown_previews(section, ["body", "demands[2]", "closing", "missing"])
    assert found == {
        "body": '<p>Dear ‹first_name›, <strong>sign</strong> <a href="https://example.org/sign">here</a>.</p>',
        "demands[2]": "<p>two</p>",
    }


def test_raw_html_in_markdown_is_shown_as_text_not_markup() -> None:
    found = markdown_previews({"body": "<script>alert(1)</script> <b>x</b>"}, ["body"])
    assert "<script>" not in found["body"] and "&lt;script&gt;" in found["body"]
