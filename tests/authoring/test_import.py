"""`bulletin import` on the June draft as comms staff write it, and on drafts under review."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml
from click.testing import CliRunner
from docx.oxml import parse_xml

from composer.authoring.dates import dated_step
from composer.cli import cli
from composer.compose.pipeline import compose_bulletin
from composer.workspace import load_workspace
from tests.authoring.june_docx import IMAGE_ALT, JUNE, build_document, build_docx

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def run(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--workspace", str(root), *args], catch_exceptions=False)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def plain(text: str) -> str:
    """Words only: Markdown links, emphasis and escapes taken out, spaces squeezed."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<(?:mailto:)?([^>]+)>", r"\1", text)
    text = text.replace("**", "").replace("\\", "")
    return " ".join(text.split())


@pytest.fixture
def imported(workspace_dir: Path, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    draft = build_docx(tmp_path / "june.docx")
    result = run(workspace_dir, "import", str(draft), "--out", str(workspace_dir / "bulletins/2026-06-word.yaml"))
    assert result.exit_code == 0, result.output
    out = workspace_dir / "bulletins/2026-06-word.yaml"
    return out, yaml.safe_load(out.read_text(encoding="utf-8"))


def test_june_draft_imports_into_the_blocks_of_the_hand_written_sample(workspace_dir: Path, imported: Any) -> None:
    _, data = imported
    sample = yaml.safe_load((workspace_dir / "bulletins/2026-06-gpce.yaml").read_text(encoding="utf-8"))
    assert [s["block"] for s in data["sections"]] == [s["block"] for s in sample["sections"]]
    assert [s.get("audiences") for s in data["sections"]] == [s.get("audiences") for s in sample["sections"]]
    assert [s.get("headline") for s in data["sections"]] == [s.get("headline") for s in sample["sections"]]
    assert data["subject"] == sample["subject"]
    elections = next(s for s in data["sections"] if s["block"] == "elections")
    assert elections["timeline"] == [
        {"label": "Nominations open", "at": "2026-06-25 12:00"},
        {"label": "Nominations close", "at": "2026-07-02 12:00"},
        {"label": "Candidate statements shared with committee", "at": "2026-07-02 00:00"},
        {"label": "Hustings and voting", "at": "2026-07-09 00:00", "note": "At the start of the GPC England meeting"},
    ]
    signoff = data["sections"][-1]
    assert signoff["contacts"][1] == {"email": "info.lmcqueries@bma.org.uk", "note": "for LMC queries"}


def test_every_sentence_and_link_of_the_draft_is_kept(imported: Any) -> None:
    out, data = imported
    source = out.read_text(encoding="utf-8")
    words = plain(" ".join(strings(data)))
    for _, text in JUNE:
        if text in ("", "IMAGE") or dated_step(text):
            continue  # dated lines are timeline steps, checked in the test above
        for url in re.findall(r"\]\(([^)]+)\)", text):
            assert url.removeprefix("mailto:") in source, url
        for sentence in re.split(r"(?<=[.;:?!])\s+", plain(text.removeprefix("BOOKMARK"))):
            sentence = re.sub(r"\s*\[[a-z, ]+\]$", "", sentence)  # the audience hint is not a sentence
            sentence = sentence.removeprefix("— ").removeprefix("Email: ")
            for piece in re.split(r"\s+and\s+(?=read about BMA)|\s*\(|\)\s*|, (?=GPC England deputy chair)|\s+–\s+", sentence):
                piece = piece.strip(" ()")
                # dates live in the timeline; "Email:" is the sign-off's label
                if piece and piece != "Email:" and not re.fullmatch(r"(midday on )?\d+ \w+ 2026", piece):
                    assert piece.lower() in words.lower(), piece
    assert "_Hlk" not in source  # the bookmark vanished


def test_the_picture_goes_to_the_assets_folder_with_its_alt_text(imported: Any) -> None:
    out, data = imported
    image = data["sections"][1]["image"]
    assert image["alt"] == IMAGE_ALT
    assert image["src"] == "new-collective-action-for-practices-in-june.png"
    assert (out.parent / "2026-06-word" / image["src"]).read_bytes().startswith(b"\x89PNG")


def test_the_import_composes_with_no_errors(workspace_dir: Path, imported: Any) -> None:
    out, _ = imported
    composition = compose_bulletin(load_workspace(workspace_dir), out)
    assert composition.report.errors == []
    html = composition.renders["lmc"].html
    assert "https://www.bma.org.uk/bma-media-centre" in html and "mailto:elections@bma.org.uk" in html


def test_the_command_prints_the_report_and_the_next_step(workspace_dir: Path, tmp_path: Path) -> None:
    draft = build_docx(tmp_path / "june.docx")
    result = run(workspace_dir, "import", str(draft), "--out", str(workspace_dir / "bulletins/x.yaml"))
    assert re.search(r"GPCE officer elections\s+elections\s+has dated lines\s+all", result.output)
    assert re.search(r"UK Biobank data breach\s+data_breach\s+heading has 'breach'\s+practice, lmc", result.output)
    assert re.search(r"demand action on Fourte\s+petition\s+.*registrar", result.output)
    assert result.output.rstrip().endswith("bulletin preview " + str(workspace_dir / "bulletins/x.yaml")) or (
        "Next: bulletin preview" in result.output and result.output.rstrip().endswith("bulletins/x.yaml")
    )
    again = run(workspace_dir, "import", str(draft), "--out", str(workspace_dir / "bulletins/x.yaml"))
    assert again.exit_code == 2 and "already exists" in again.output
    assert run(workspace_dir, "import", str(draft), "--out", str(workspace_dir / "bulletins/x.yaml"), "--force").exit_code == 0


def _tracked(tmp_path: Path) -> Path:
    document = build_document()
    paragraphs = [p for p in document.paragraphs if p.text.startswith("From 1 June")]
    p = paragraphs[0]._p
    p.append(parse_xml(
        f'<w:ins {W_NS} w:id="901" w:author="Jane Editor" w:date="2026-06-02T10:15:00Z">'
        "<w:r><w:t xml:space=\"preserve\"> Please act now.</w:t></w:r></w:ins>"
    ))
    p.insert(1, parse_xml(
        f'<w:del {W_NS} w:id="902" w:author="Sam Reviewer" w:date="2026-06-03T08:00:00Z">'
        "<w:r><w:delText xml:space=\"preserve\">Draft only: </w:delText></w:r></w:del>"
    ))
    path = tmp_path / "tracked.docx"
    document.save(str(path))
    return path


def test_tracked_changes_are_refused_each_listed(workspace_dir: Path, tmp_path: Path) -> None:
    result = run(workspace_dir, "import", str(_tracked(tmp_path)))
    assert result.exit_code == 2
    assert "the draft still has 2 unresolved change(s) or comment(s):" in result.output
    assert 'deletion by Sam Reviewer on 2026-06-03 08:00 in "From 1 June, we are urging GP partnerships…": "Draft only:"' in result.output
    assert 'insertion by Jane Editor on 2026-06-02 10:15 in "From 1 June, we are urging GP partnerships…": "Please act now."' in result.output
    assert "--accept-changes" in result.output
    assert not (workspace_dir / "bulletins/tracked.yaml").exists()


def test_accept_changes_keeps_insertions_and_removes_deletions(workspace_dir: Path, tmp_path: Path) -> None:
    result = run(workspace_dir, "import", str(_tracked(tmp_path)), "--accept-changes")
    assert result.exit_code == 0, result.output
    assert "Accepted 2 tracked change(s): insertions kept, deletions removed." in result.output
    text = (workspace_dir / "bulletins/tracked.yaml").read_text(encoding="utf-8")
    assert "the mitigations the profession needs. Please act now." in text
    assert "Draft only" not in text


def test_review_comments_are_refused_unless_ignored(workspace_dir: Path, tmp_path: Path) -> None:
    document = build_document()
    target = next(p for p in document.paragraphs if p.text.startswith("Taking part in this action is"))
    document.add_comment(target.runs, text="Is this legally checked?", author="Legal Team", initials="LT")
    path = tmp_path / "commented.docx"
    document.save(str(path))
    refused = run(workspace_dir, "import", str(path))
    assert refused.exit_code == 2
    assert 'comment by Legal Team' in refused.output
    assert '"Taking part in this action is lawful. We…": "Is this legally checked?"' in refused.output
    accepted = run(workspace_dir, "import", str(path), "--ignore-comments")
    assert accepted.exit_code == 0, accepted.output
    assert "Review comments were left out" in accepted.output


@pytest.mark.parametrize(
    ("run_xml", "reported"),
    [
        ('<w:footnoteReference w:id="1"/>', 'could not place a footnote in paragraph "Dear colleagues"'),
        ("<w:object/>", 'could not place an embedded object in paragraph "Dear colleagues"'),
        ('<w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox/></v:shape></w:pict>',
         'could not place a text box in paragraph "Dear colleagues"'),
    ],
)
def test_footnotes_objects_and_text_boxes_are_reported(workspace_dir: Path, tmp_path: Path, run_xml: str, reported: str) -> None:
    document = build_document()
    document.paragraphs[0]._p.append(parse_xml(f"<w:r {W_NS}>{run_xml}</w:r>"))
    path = tmp_path / "odd.docx"
    document.save(str(path))
    result = run(workspace_dir, "import", str(path))
    assert result.exit_code == 0, result.output
    assert reported in result.output


def test_what_cannot_be_placed_is_reported(workspace_dir: Path, tmp_path: Path) -> None:
    document = build_document()
    document.add_table(rows=2, cols=2)
    path = tmp_path / "table.docx"
    document.save(str(path))
    result = run(workspace_dir, "import", str(path))
    assert result.exit_code == 0, result.output
    assert 'could not place a table after "Email: info.gpc@bma.org.uk (for GPs' in result.output


@pytest.mark.parametrize("content", [b"not a word file", b"PK\x03\x04 truncated zip"])
def test_a_file_that_is_not_a_docx_gets_one_message(workspace_dir: Path, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "draft.docx"
    path.write_bytes(content)
    result = run(workspace_dir, "import", str(path))
    assert result.exit_code == 2
    assert "not a Word .docx file" in result.output and "Traceback" not in result.output


def test_a_zip_that_is_not_a_word_document(workspace_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "draft.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    result = run(workspace_dir, "import", str(path))
    assert result.exit_code == 2 and "not a readable Word .docx file" in result.output


def test_an_unknown_audience_hint_names_the_section(workspace_dir: Path, tmp_path: Path) -> None:
    draft = [("Heading 2", "Hello [partners]"), ("Normal", "Some words.")]
    result = run(workspace_dir, "import", str(build_docx(tmp_path / "d.docx", draft)))
    assert result.exit_code == 2
    assert "section 'Hello': unknown audience partners in its heading (segments: lmc, practice, registrar)" in result.output


def test_numbered_lists_and_italic_survive(tmp_path: Path, workspace_dir: Path) -> None:
    document = docx.Document()
    document.add_heading("Things to do", level=2)
    document.add_paragraph("First ", style="List Number").add_run("now").italic = True
    document.add_paragraph("Second", style="List Number")
    document.save(str(tmp_path / "n.docx"))
    result = run(workspace_dir, "import", str(tmp_path / "n.docx"))
    assert result.exit_code == 0, result.output
    body = yaml.safe_load((workspace_dir / "bulletins/n.yaml").read_text())["sections"][0]["body"]
    assert body == "1. First *now*\n\n1. Second\n"
