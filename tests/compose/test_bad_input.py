"""Bad input gets one message naming the file, line, section, block and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.compose.pipeline import compose_bulletin
from composer.errors import InputError
from tests.compose.helpers import MINIMAL, write_bulletin


def compose_error(workspace, path: Path) -> InputError:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        compose_bulletin(workspace, path)
    return info.value


def test_yaml_syntax_error_names_file_and_line(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("    headline: Practice news", "    headline: [Practice news"))
    err = compose_error(workspace, path)
    assert str(path) in str(err)
    assert err.location.line is not None and 10 <= err.location.line <= 13
    assert "YAML syntax error" in str(err)


def test_unknown_block_names_section_and_line(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("block: article", "block: artcle"))
    err = compose_error(workspace, path)
    assert err.location.section == 2
    assert err.location.line == 8
    assert err.location.field == "block"
    assert "unknown block 'artcle'" in str(err)
    assert "article" in str(err)  # it lists the blocks that exist
    assert "section 2 (block 'artcle')" in str(err)


def test_missing_required_field(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("    headline: Practice news\n", ""))
    err = compose_error(workspace, path)
    assert err.location.section == 2 and err.location.block == "article"
    assert err.location.field == "headline"
    assert err.location.line == 8
    assert "required field is missing" in str(err)


def test_mistyped_field_names_its_own_line(workspace, workspace_dir: Path) -> None:
    text = """\
    subject: Elections
    issue_date: 2026-06-04
    segments: [lmc]
    sections:
      - block: elections
        headline: GPCE officer elections
        intro: Elections are coming.
        timeline:
          - label: Nominations open
            at: 2026-06-25 12:00
          - label: Nominations close
            at: next thursday
        eligibility: Members may stand.
        contact_email: elections@example.org
    """
    path = write_bulletin(workspace_dir, text)
    err = compose_error(workspace, path)
    assert err.location.field == "timeline[2].at"
    assert err.location.line == 12
    assert err.location.section == 1 and err.location.block == "elections"


def test_unknown_field_lists_the_known_ones(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("    headline: Practice news", "    headline: Practice news\n    headlne: typo"))
    err = compose_error(workspace, path)
    assert err.location.field == "headlne"
    assert err.location.line == 11
    assert "headline" in err.reason


def test_unknown_segment_in_audiences(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("audiences: [practice]", "audiences: [practise]"))
    err = compose_error(workspace, path)
    assert err.location.field == "audiences"
    assert err.location.section == 2
    assert err.location.line == 9
    assert "unknown segment 'practise'" in str(err)


def test_unknown_segment_in_metadata(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("[lmc, practice, registrar]", "[lmc, gp]"))
    err = compose_error(workspace, path)
    assert err.location.line == 4 and err.location.field == "segments"
    assert "unknown segment 'gp'" in str(err)


def test_template_error_names_template_file_and_line(workspace, workspace_dir: Path) -> None:
    template = workspace_dir / "sections" / "article" / "template.mjml.j2"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines.insert(1, "{{ no_such_variable }}")
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = write_bulletin(workspace_dir)
    err = compose_error(workspace, path)
    assert "template.mjml.j2" in str(err)
    assert err.location.line == 2
    assert err.location.section == 2 and err.location.block == "article"
    assert "no_such_variable" in str(err)


def test_template_syntax_error_is_found_before_rendering(workspace, workspace_dir: Path) -> None:
    template = workspace_dir / "sections" / "article" / "template.txt.j2"
    template.write_text("{% if %}\n", encoding="utf-8")
    path = write_bulletin(workspace_dir)
    err = compose_error(workspace, path)
    assert "template.txt.j2" in str(err) and err.location.line == 1
    assert "syntax" in str(err)


def test_bad_url_in_link_field(workspace, workspace_dir: Path) -> None:
    text = MINIMAL + """\
  - block: resources
    headline: Resources
    links:
      - text: The BMA's GP campaign webpage
        url: www.bma.org.uk/gp
"""
    path = write_bulletin(workspace_dir, text)
    err = compose_error(workspace, path)
    assert err.location.section == 3 and err.location.block == "resources"
    assert err.location.field is not None and err.location.field.endswith("url")
    assert err.location.line == 17
    assert "https://" in str(err)


def test_impossible_date_names_file_line_and_field(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("2026-06-04", "2026-13-04"))
    err = compose_error(workspace, path)
    assert str(path) in str(err)
    assert err.location.line == MINIMAL.splitlines().index("issue_date: 2026-06-04") + 1
    assert err.location.field == "issue_date"
    assert "'2026-13-04' is not a valid date" in str(err)


def test_an_alias_inside_its_own_anchor_is_a_clear_error(workspace, workspace_dir: Path) -> None:
    text = MINIMAL.replace("sections:\n", "sections: &all\n  - *all\n")
    path = write_bulletin(workspace_dir, text)
    err = compose_error(workspace, path)
    assert str(path) in str(err)
    assert err.location.line == text.splitlines().index("sections: &all") + 1
    assert "alias to itself" in str(err)


@pytest.mark.parametrize(
    ("theme", "line", "words"),
    [
        ('brand: "#1b2a4a"\nlink: [unclosed\n', 2, "the list opened with '[' on this line is never closed"),
        ("- brand\n- link\n", 1, "a theme is a mapping"),
    ],
)
def test_a_bad_theme_names_its_file_and_line(workspace, workspace_dir: Path, theme: str, line: int, words: str) -> None:  # type: ignore[no-untyped-def]
    """One reader for compose and serve: it used to stop compose but be ignored by serve."""
    from composer.web.pages import load_branding

    path = workspace_dir / "layouts" / "default" / "theme.yaml"
    path.write_text(theme, encoding="utf-8")
    err = compose_error(workspace, write_bulletin(workspace_dir, MINIMAL))
    assert err.location.file == path and err.location.line == line and words in str(err)
    with pytest.raises(InputError) as served:
        load_branding(workspace.layouts_dir, "GPCE bulletin", "BMA", "en-GB")
    assert str(served.value) == str(err)
