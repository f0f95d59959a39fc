"""Issue #12 part 3: messages a comms officer can act on, each tested for its text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from composer.cli import cli
from composer.compose.pipeline import compose_bulletin
from composer.errors import InputError, InputErrors
from tests.compose.helpers import MINIMAL, write_bulletin

ELECTIONS = """\
subject: Elections
issue_date: {issue}
segments: [lmc]
sections:
  - block: elections
    headline: GPCE officer elections
    intro: Elections are coming.
    timeline:
      - label: Nominations open
        at: {at}
    eligibility: Members may stand.
    contact_email: elections@example.org
"""


def compose_error(workspace, path: Path) -> InputError:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        compose_bulletin(workspace, path)
    return info.value


def run(workspace_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--workspace", str(workspace_dir), *args])


# --- dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ['"13/07/2026 12:00"', "13/07/2026 12:00", "13 July 2026 12:00", "13 July 2026 midday",
     "2026-07-13 12:00", "2026-07-13T12:00", "Monday 13 July 2026 at 12pm", "midday on 13 July 2026"],
)  # fmt: skip
def test_a_timeline_step_takes_uk_dates(workspace, workspace_dir: Path, written: str) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, ELECTIONS.format(issue="2026-07-01", at=written))
    comp = compose_bulletin(workspace, path)
    assert (
        "midday on Monday 13 July 2026" in comp.renders["lmc"].text
        or "midday on 13 July 2026" in comp.renders["lmc"].text
    )


@pytest.mark.parametrize("written", ["13/07/2026", "13 July 2026", "2026-07-13", "13th July 2026"])
def test_the_issue_date_takes_uk_dates(workspace, workspace_dir: Path, written: str) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, ELECTIONS.format(issue=written, at="2026-07-13 12:00"))
    bulletin = compose_bulletin(workspace, path)
    assert bulletin.key == "test"


def test_a_date_that_cannot_be_read_names_the_forms_that_work(
    workspace, workspace_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, ELECTIONS.format(issue="2026-07-01", at="next thursday"))
    err = compose_error(workspace, path)
    assert err.location.field == "timeline[1].at" and err.location.line == 10
    assert err.reason == (
        "'next thursday' cannot be read as a date and time; write it like 13/07/2026 12:00, "
        "13 July 2026 12:00, 13 July 2026 midday or 2026-07-13 12:00"
    )


def test_an_american_date_says_the_day_comes_first(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir, ELECTIONS.format(issue="07/13/2026", at="2026-07-13 12:00")
    )
    err = compose_error(workspace, path)
    assert err.location.field == "issue_date" and err.location.line == 2
    assert err.reason == (
        "'07/13/2026' cannot be read as a date (there is no month 13: the day comes first); "
        "write it like 13/07/2026, 13 July 2026 or 2026-07-13"
    )


def test_a_day_the_month_does_not_have(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir, ELECTIONS.format(issue="2026-07-01", at="31/06/2026 12:00")
    )
    assert "(June 2026 has no day 31)" in compose_error(workspace, path).reason


# --- every problem at once ----------------------------------------------------------


TWO_MISTAKES = (
    MINIMAL.replace("block: article", "block: petiton").replace(
        "segments: [lmc, practice, registrar]", "segments: [lmc, practise, registrar]"
    )
    + """\
  - block: article
    headlne: Typo
    body: Text.
"""
)


def test_every_mistake_is_reported_at_once_sorted_by_line(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, TWO_MISTAKES)
    err = compose_error(workspace, path)
    assert isinstance(err, InputErrors)
    assert [(e.location.line, e.location.field) for e in err.errors] == [
        (4, "segments"), (8, "block"), (13, "headline"), (14, "headlne"),
    ]  # fmt: skip
    result = run(workspace_dir, "compose", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: 4 problems in bulletins/test.yaml:",
        "  line 4, field 'segments': unknown segment 'practise'; did you mean 'practice'? (known: lmc, practice, registrar)",
        "  line 8, section 2 (block 'petiton'), field 'block': unknown block 'petiton'; did you mean 'petition'? "
        "(the blocks: article, collective_action, data_breach, elections, intro, petition, resources, signoff, spr; "
        "`bulletin blocks` describes them)",
        "  line 13, section 3 (block 'article'), field 'headline': this required field is missing",
        "  line 14, section 3 (block 'article'), field 'headlne': block 'article' has no field 'headlne'; did you "
        "mean 'headline'? (its fields: headline, image, body, links)",
    ]


def test_a_problem_is_data_for_the_editor(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, TWO_MISTAKES)
    data = compose_error(workspace, path).as_data(workspace_dir)
    assert data["problems"][1] == {
        "message": "unknown block 'petiton'; did you mean 'petition'? (the blocks: article, collective_action, "
        "data_breach, elections, intro, petition, resources, signoff, spr; `bulletin blocks` describes them)",
        "file": "bulletins/test.yaml", "line": 8, "column": None, "section": 2, "block": "petiton",
        "field": "block", "row": None,
    }  # fmt: skip


def test_the_preview_banner_gets_every_problem(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from composer.preview.state import ComposeFailure

    failure = ComposeFailure.from_exception(
        compose_error(workspace, write_bulletin(workspace_dir, TWO_MISTAKES)), workspace_dir
    )
    assert failure.reason == "4 problems, each listed below"
    assert [(p["line"], p["field"]) for p in failure.problems] == [
        (4, "segments"),
        (8, "block"),
        (13, "headline"),
        (14, "headlne"),
    ]
    assert failure.message.startswith(
        "4 problems in bulletins/test.yaml:\n  line 4, field 'segments': unknown segment"
    )


def test_an_unknown_audience_suggests_the_segment(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir, MINIMAL.replace("audiences: [practice]", "audiences: [practise]")
    )
    assert compose_error(workspace, path).reason == (
        "unknown segment 'practise'; did you mean 'practice'? (this bulletin goes to: lmc, practice, registrar)"
    )


def test_an_unknown_field_inside_a_list_item_suggests_its_name(
    workspace, workspace_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    text = ELECTIONS.format(issue="2026-07-01", at="2026-07-13 12:00").replace(
        "- label:", "- lable:"
    )
    err = compose_error(workspace, write_bulletin(workspace_dir, text))
    reasons = {e.location.field: e.reason for e in err.errors}  # type: ignore[attr-defined]
    assert reasons["timeline[1].lable"] == (
        "there is no field 'lable' here; did you mean 'label'? (the fields here: label, at, note)"
    )


def test_an_unknown_merge_field_suggests_the_known_one(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, MINIMAL.replace("{{ first_name }}", "{{ firstname }}"))
    result = run(workspace_dir, "check", str(path))
    assert result.exit_code == 1
    assert (
        "error: line 7, section 1 (intro): field 'greeting' uses an unknown merge field {{ firstname }}; did you mean "
        "'first_name'? (known: first_name, name, organisation, email, unsubscribe_url)"
    ) in result.output


# --- YAML syntax ----------------------------------------------------------------------

SIGNOFF = (
    MINIMAL
    + """\
  - block: signoff
    name: Dr Katie Bramall
    role: "GPC England chair”
    contacts:
      - email: info.lmc@bma.org.uk
  - block: article
    headline: "Later news"
    body: Text.
"""
)


def test_a_straight_quote_closed_by_a_curly_one_is_named_on_its_own_line(
    workspace, workspace_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    err = compose_error(workspace, write_bulletin(workspace_dir, SIGNOFF))
    assert err.location.line == 15
    assert err.reason == (
        'YAML syntax error: this value opens with a straight quote " but closes with a curly one ”, so YAML '
        'reads on looking for a straight " (it gave up on line 19). Type the closing quote as ", or leave '
        "out both quotes"
    )


def test_a_tab_is_called_a_tab(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir, MINIMAL.replace("    headline: Practice news", "\theadline: Practice news")
    )
    err = compose_error(workspace, path)
    assert err.location.line == 10
    assert err.reason == (
        "YAML syntax error: this line is indented with a tab; YAML indents with spaces only. Replace the tab "
        "with spaces (and set the editor to type spaces for Tab)"
    )


def test_an_unclosed_bracket_is_reported_where_it_opened(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir,
        MINIMAL.replace(
            "segments: [lmc, practice, registrar]", "segments: [lmc, practice, registrar"
        ),
    )
    err = compose_error(workspace, path)
    assert err.location.line == 4
    assert err.reason == (
        "YAML syntax error: the list opened with '[' on this line is never closed (YAML gave up on line 5: "
        "did not find expected ',' or ']'); add the closing ']' where the list ends"
    )


def test_an_unclosed_quote_is_reported_where_it_opened(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir, MINIMAL.replace("headline: Practice news", 'headline: "Practice news')
    )
    err = compose_error(workspace, path)
    assert err.location.line == 10
    assert err.reason.startswith(
        "YAML syntax error: the quoted text that opens on this line has no closing quote"
    )


def test_a_second_colon_in_a_value_says_to_quote_it(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir, MINIMAL.replace("headline: Practice news", "headline: Update: June news")
    )
    err = compose_error(workspace, path)
    assert err.location.line == 10
    assert 'put the whole value in quotes (title: "Update: June")' in err.reason


def test_curly_quotes_round_a_whole_value_are_warned_of(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir, MINIMAL.replace("headline: Practice news", "headline: “Practice news”")
    )
    result = run(workspace_dir, "check", str(path))
    assert result.exit_code == 0, result.output
    assert (
        "warning: line 10, section 2 (article): field 'headline' is wrapped in curly quotes, which show in the "
        'email as typed; if they were meant as YAML quotes, type straight ones ("...") or leave them out'
    ) in result.output
    assert (
        "line 10"
        not in run(workspace_dir, "check", str(write_bulletin(workspace_dir, MINIMAL))).output
    )


# --- compose and check reports -----------------------------------------------------------


def test_compose_exits_1_on_check_errors_but_writes_the_outputs(workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("{{ first_name }}", "{{ firstname }}"))
    result = run(workspace_dir, "compose", str(path))
    assert result.exit_code == 1
    assert (
        "The outputs in out/test/ are written for inspection only: fix the errors above before sending"
        in result.output
    )
    report = json.loads(
        (workspace_dir / "out" / "test" / "report.json").read_text(encoding="utf-8")
    )
    assert report["errors"] and (workspace_dir / "out" / "test" / "lmc.html").is_file()


def test_a_clean_compose_exits_0(workspace_dir: Path) -> None:
    result = run(workspace_dir, "compose", str(write_bulletin(workspace_dir, MINIMAL)))
    assert result.exit_code == 0, result.output
    assert "inspection only" not in result.output


def test_warnings_are_grouped_across_segments(workspace_dir: Path) -> None:
    text = MINIMAL.replace("    audiences: [practice]\n", "").replace(
        "[the contract guidance](https://www.bma.org.uk/contract)",
        "[here](http://www.bma.org.uk/contract)",
    )
    for command in ("compose", "check"):
        result = run(workspace_dir, command, str(write_bulletin(workspace_dir, text)))
        lines = [line for line in result.output.splitlines() if "warning:" in line]
        assert lines == [
            "  warning: section 2 (article): the link 'here' uses http://; use https:// [lmc, practice, registrar]",
            "  warning: section 2 (article): the link text 'here' does not say where it goes; screen-reader users "
            "hear links out of context [lmc, practice, registrar]",
        ], result.output
        assert "0 errors, 2 warnings" in result.output


def test_a_long_headline_is_warned_of(workspace_dir: Path) -> None:
    headline = "GPC England " * 15  # 180 characters
    path = write_bulletin(
        workspace_dir, MINIMAL.replace("headline: Practice news", f"headline: {headline.strip()}")
    )
    result = run(workspace_dir, "check", str(path))
    assert (
        "warning: line 10, section 2 (article): the headline is 179 characters; keep it under 100 so it reads "
        "at a glance (put the detail in the text)"
    ) in result.output
    short = run(workspace_dir, "check", str(write_bulletin(workspace_dir, MINIMAL)))
    assert "headline is" not in short.output


def test_a_mistyped_top_level_field_is_suggested(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    err = compose_error(
        workspace, write_bulletin(workspace_dir, MINIMAL.replace("subject:", "subjet:"))
    )
    assert [(e.location.line, e.location.field, e.reason) for e in err.errors] == [  # type: ignore[attr-defined]
        (1, "subjet", "a bulletin has no field 'subjet'; did you mean 'subject'? (its fields: subject, preheader, "
         "issue_date, from, reply_to, segments, layout, sections)"),
        (None, "subject", "this required field is missing"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("replace", "with_", "line", "says"),
    [
        ("    body: |", "   body: |", 11,
         "this line does not line up with the list that begins on line 6: each item starts with '- ' at the same "
         "indentation, and the fields of an item line up under its first field"),
        ("    headline: Practice news", "    headline: Practice news\n    Fine", 11,
         "this line has no ':' after its name (write name: value), or it is a list item without its '- '"),
        ("headline: Practice news", 'headline: "The "new" contract"', 10,
         'the text in "…" holds another ", which ends it early; type the inner quotes curly (“hi”), or wrap the '
         "whole value in single quotes"),
        ("headline: Practice news", "headline: 'GPs' news'", 10,
         "the text in '…' holds another ', which ends it early; write an apostrophe inside '…' as two ('It''s'), "
         "or wrap the whole value in double quotes"),
    ],
)  # fmt: skip
def test_layout_and_quoting_mistakes_in_plain_words(
    workspace, workspace_dir: Path, replace: str, with_: str, line: int, says: str
) -> None:  # type: ignore[no-untyped-def]
    err = compose_error(workspace, write_bulletin(workspace_dir, MINIMAL.replace(replace, with_)))
    assert err.location.line == line
    assert err.reason.startswith(f"YAML syntax error: {says}"), err.reason


def test_a_field_given_twice_is_refused_not_silently_dropped(
    workspace, workspace_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(
        workspace_dir,
        MINIMAL.replace(
            "    headline: Practice news", "    headline: Practice news\n    headline: Other"
        ),
    )
    err = compose_error(workspace, path)
    assert (err.location.line, err.location.field) == (11, "headline")
    assert err.reason == (
        "'headline' is given twice here (first on line 10); YAML would keep only this one and drop the first "
        "without a word: remove one, or merge the two"
    )


def test_bulletin_blocks_suggests_a_mistyped_block(workspace_dir: Path) -> None:
    result = run(workspace_dir, "blocks", "petiton")
    assert result.exit_code == 2
    assert "Error: unknown block 'petiton'; did you mean 'petition'?" in result.output


@pytest.mark.parametrize(
    ("replace", "with_", "field", "says"),
    [
        ("headline: Practice news", "headline: 2026", "headline",
         'must be text; YAML read 2026 as a number, so put it in quotes ("2026")'),
        ("headline: Practice news", "headline:\n      - a\n      - b", "headline", "must be one piece of text, not a list"),
        ("headline: Practice news", "headline: News\n    image: {src: x.png, alt: X, width: 900}", "image.width",
         "900 is too large: at most 600"),
        ("headline: Practice news", "headline: News\n    links: https://www.bma.org.uk/", "links",
         "must be a list: [a, b] on one line, or one item a line, each starting with '- '"),
        ("headline: Practice news", "headline: News\n    links:\n      - https://www.bma.org.uk/", "links[1]",
         "must be fields indented under this one (text: …, url: …), not a single value"),
    ],
)  # fmt: skip
def test_a_wrong_kind_of_value_in_plain_words(
    workspace, workspace_dir: Path, replace: str, with_: str, field: str, says: str
) -> None:  # type: ignore[no-untyped-def]
    err = compose_error(workspace, write_bulletin(workspace_dir, MINIMAL.replace(replace, with_)))
    assert {e.location.field: e.reason for e in err.errors}[field] == says  # type: ignore[attr-defined]


def test_check_json_gives_every_problem_as_data(workspace_dir: Path) -> None:
    result = run(workspace_dir, "check", "--json", str(write_bulletin(workspace_dir, TWO_MISTAKES)))
    assert result.exit_code == 2
    problems = json.loads(result.output)["problems"]
    assert [(p["file"], p["line"], p["field"]) for p in problems] == [
        ("bulletins/test.yaml", 4, "segments"),
        ("bulletins/test.yaml", 8, "block"),
        ("bulletins/test.yaml", 13, "headline"),
        ("bulletins/test.yaml", 14, "headlne"),
    ]


@pytest.mark.parametrize(
    ("with_", "says"),
    [
        ("headline:Practice news", "there is no space after the ':' of 'headline'; write headline: Practice news"),
        ("headline: @GPCEngland news", "a value cannot start with '@' unquoted (YAML reserves it); put the whole "
         'value in quotes ("@GPCEngland news")'),
        ("headline: *New* contract", "a value cannot start with '*' unquoted (YAML reserves it); put the whole "
         'value in quotes ("*New* contract")'),
    ],
)  # fmt: skip
def test_values_yaml_reads_otherwise(workspace, workspace_dir: Path, with_: str, says: str) -> None:  # type: ignore[no-untyped-def]
    err = compose_error(workspace, write_bulletin(workspace_dir, MINIMAL.replace("headline: Practice news", with_)))
    assert err.location.line == 10
    assert err.reason == f"YAML syntax error: {says}"


def test_a_hash_after_the_colon_is_a_comment_and_says_so(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    err = compose_error(workspace, write_bulletin(workspace_dir, MINIMAL.replace("headline: Practice news", "headline: #1 news")))
    assert (err.location.line, err.location.field) == (10, "headline")
    assert err.reason == (
        "is empty: YAML reads a '#' after ': ' as the start of a comment, so the text after it was left out; "
        'put the whole value in quotes (headline: "#1 for GP practices")'
    )


def test_a_time_of_day_stays_text(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, MINIMAL.replace("headline: Practice news", "headline: 12:00"))
    comp = compose_bulletin(workspace, path)
    assert "12:00" in comp.renders["practice"].text and "720" not in comp.renders["practice"].text


def test_every_mistake_in_a_block_declaration_at_once(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    declaration = workspace_dir / "sections" / "article" / "block.yaml"
    declaration.write_text(
        "description: x\nfields:\n  - name: headline\n    tpye: string\n  - name: body\n    type: markdwon\n",
        encoding="utf-8",
    )
    err = compose_error(workspace, write_bulletin(workspace_dir, MINIMAL))
    assert [(e.location.file, e.location.line, e.location.field, e.reason) for e in err.errors] == [  # type: ignore[attr-defined]
        (declaration, 3, "fields[1].type", "this required field is missing"),
        (declaration, 4, "fields[1].tpye",
         "there is no field 'tpye' here; did you mean 'type'? (the fields here: name, type, required, default, help, items)"),
        (declaration, 6, "fields[2].type",
         "'markdwon' is not one of string, markdown, url, email, date, datetime, boolean, integer, image, link, list; "
         "did you mean 'markdown'?"),
    ]  # fmt: skip


def test_audiences_written_with_commas_are_a_list(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, MINIMAL.replace("audiences: [practice]", "audiences: practice, lmc"))
    comp = compose_bulletin(workspace, path)
    assert "Practice news" in comp.renders["lmc"].text and "Practice news" not in comp.renders["registrar"].text


def test_every_missing_picture_at_once(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    picture = "    image:\n      src: {src}\n      alt: A picture\n"
    text = MINIMAL.replace("    headline: Practice news\n", "    headline: Practice news\n" + picture.format(src="one.png"))
    text += "  - block: article\n    headline: More\n" + picture.format(src="two.png") + "    body: Words.\n"
    err = compose_error(workspace, write_bulletin(workspace_dir, text))
    assert [(e.location.line, e.reason) for e in err.errors] == [  # type: ignore[attr-defined]
        (12, "no picture 'one.png': put the file in bulletins/test/ (PNG, JPEG or GIF)"),
        (19, "no picture 'two.png': put the file in bulletins/test/ (PNG, JPEG or GIF)"),
    ]
