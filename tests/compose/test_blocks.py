"""Each block of the library, and the default layout, rendered through the engine.

Every case composes a one-section bulletin and checks that the block's words and links
reach both the HTML part and the plain-text part, and that optional fields left out
leave no trace ("None", empty brackets).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import dedent, indent

import pytest
import yaml

from composer.compose.merge import token
from composer.compose.model import SegmentRender
from composer.compose.pipeline import compose_bulletin
from composer.errors import InputError
from tests.compose.helpers import write_bulletin

REPO = Path(__file__).resolve().parents[2]
BLOCKS = sorted(p.parent.name for p in (REPO / "sections").glob("*/block.yaml"))

HEAD = """\
subject: Block test bulletin
preheader: One block on its own
issue_date: 2026-06-04
segments: [lmc]
sections:
"""


@dataclass(frozen=True)
class Case:
    block: str
    section: str  # the YAML of the section's fields, without "- block:"
    words: tuple[str, ...]  # must appear in both parts (whitespace-normalized)
    links: tuple[str, ...] = ()  # must be an href in HTML and written out in text
    html_only: tuple[str, ...] = field(default=())  # e.g. alt text, attribute values
    text_only: tuple[str, ...] = field(default=())  # e.g. the alt text, written out


CASES = [
    Case(
        "intro",
        """\
        greeting: "Dear {{ first_name }}"
        lead: |
          Welcome to the **June** issue. See [the contract page](https://www.bma.org.uk/contract).
        """,
        words=("Dear", "Welcome to the", "June", "issue.", "the contract page"),
        links=("https://www.bma.org.uk/contract",),
    ),
    Case(
        "article",
        """\
        headline: Neighbourhoods and IHOs
        image:
          src: https://bulletin.example/images/ihos.png
          alt: A map of neighbourhood teams
          width: 300
        body: |
          The BMA has published a new briefing on neighbourhoods.

          Questions can go to <info.healthcare.delivery@bma.org.uk>
        links:
          - text: Read the BMA briefing on neighbourhoods and IHOs
            url: https://www.bma.org.uk/ihos-briefing
        """,
        words=(
            "Neighbourhoods and IHOs",
            "The BMA has published a new briefing on neighbourhoods.",
            "info.healthcare.delivery@bma.org.uk",
            "Read the BMA briefing on neighbourhoods and IHOs",
        ),
        links=(
            "https://www.bma.org.uk/ihos-briefing",
            "mailto:info.healthcare.delivery@bma.org.uk",
        ),
        html_only=(
            'src="https://bulletin.example/images/ihos.png"',
            'alt="A map of neighbourhood teams"',
            'width="300"',
        ),
        text_only=("[Picture: A map of neighbourhood teams]",),
    ),
    Case(
        "collective_action",
        """\
        headline: New collective action for practices in June
        image:
          src: https://bulletin.example/images/action.png
          alt: Practices taking collective action
        body: |
          From 1 June, we are urging GP partnerships to take part.
        actions:
          - text: Read our Focus on guidance on medicines optimisation software
            url: https://www.bma.org.uk/focus-on-software
          - text: Access our collective action resources
            url: https://www.bma.org.uk/collective-action
        closing: |
          Taking part in this action does not breach your contract.
        """,
        words=(
            "New collective action for practices in June",
            "From 1 June, we are urging GP partnerships to take part.",
            "Read our Focus on guidance on medicines optimisation software",
            "Access our collective action resources",
            "Taking part in this action does not breach your contract.",
        ),
        links=(
            "https://www.bma.org.uk/focus-on-software",
            "https://www.bma.org.uk/collective-action",
        ),
        html_only=('alt="Practices taking collective action"',),
        text_only=("[Picture: Practices taking collective action]",),
    ),
    Case(
        "spr",
        """\
        headline: NHS Modernisation Bill and Single Patient Record
        intro: The Bill had its second reading on Monday 1 June.
        statement: |
          We have real concerns around patient data.

          It remains unclear what form the SPR will take.
        attribution_name: Dr David Wrigley
        attribution_role: GPC England deputy chair
        full_statement:
          text: Read the full statement by Dr David Wrigley
          url: https://www.bma.org.uk/spr-statement
        """,
        words=(
            "NHS Modernisation Bill and Single Patient Record",
            "The Bill had its second reading on Monday 1 June.",
            "We have real concerns around patient data.",
            "It remains unclear what form the SPR will take.",
            "Dr David Wrigley",
            "GPC England deputy chair",
            "Read the full statement by Dr David Wrigley",
        ),
        links=("https://www.bma.org.uk/spr-statement",),
    ),
    Case(
        "data_breach",
        """\
        headline: UK Biobank data breach
        body: UK Biobank has published its report.
        advice: If patients raise concerns they should be directed to UK Biobank.
        report:
          text: Read the UK Biobank report
          url: https://www.bma.org.uk/uk-biobank-report
        """,
        words=(
            "UK Biobank data breach",
            "UK Biobank has published its report.",
            "Advice to practices",  # the default advice_title
            "If patients raise concerns they should be directed to UK Biobank.",
            "Read the UK Biobank report",
        ),
        links=("https://www.bma.org.uk/uk-biobank-report",),
    ),
    Case(
        "elections",
        """\
        headline: GPCE officer elections
        intro: Elections will run to the following timeline.
        timeline:
          - label: Nominations open
            at: "2026-06-25 12:00"
          - label: Nominations close
            at: "2026-07-02 14:30"
          - label: Hustings and voting
            at: "2026-07-09 00:00"
            note: At the start of the GPC England meeting
        eligibility: GP BMA members based in England are eligible to stand.
        outro: Please look out for further updates.
        contact_email: elections@bma.org.uk
        """,
        words=(
            "GPCE officer elections",
            "Elections will run to the following timeline.",
            "Nominations open – midday on 25 June 2026",
            "Nominations close – 2:30pm on 2 July 2026",
            "Hustings and voting – 9 July 2026",
            "At the start of the GPC England meeting",
            "GP BMA members based in England are eligible to stand.",
            "Please look out for further updates.",
            "please email elections@bma.org.uk",  # contact_text default
        ),
        links=("mailto:elections@bma.org.uk",),
    ),
    Case(
        "petition",
        """\
        headline: GP registrars demand action on FourteenFish
        body: GPRC have launched a petition that calls for
        demands:
          - urgent mitigations for *platform* issues;
          - a reliable and sustainable service;
        closing: We encourage all GP registrars to sign.
        sign:
          text: Sign the GPRC petition about FourteenFish
          url: https://www.bma.org.uk/fourteenfish-petition
        """,
        words=(
            "GP registrars demand action on FourteenFish",
            "GPRC have launched a petition that calls for",
            "platform",
            "a reliable and sustainable service;",
            "We encourage all GP registrars to sign.",
            "Sign the GPRC petition about FourteenFish",
        ),
        links=("https://www.bma.org.uk/fourteenfish-petition",),
        html_only=("<em>platform</em>",),
    ),
    Case(
        "resources",
        """\
        headline: Useful links
        intro: More from GPC England.
        links:
          - text: The GPCE Collective Action page
            url: https://www.bma.org.uk/collective-action
          - text: See the latest update on X @BMA_GP
            url: https://x.com/BMA_GP
        """,
        words=(
            "Useful links",
            "More from GPC England.",
            "The GPCE Collective Action page",
            "See the latest update on X @BMA_GP",
        ),
        links=("https://www.bma.org.uk/collective-action", "https://x.com/BMA_GP"),
    ),
    Case(
        "signoff",
        """\
        closing: Best wishes
        name: Dr David Wrigley
        role: GPC England deputy chair
        contacts:
          - email: dwrigley@bma.org.uk
          - email: info.lmcqueries@bma.org.uk
            note: for LMC queries
        """,
        words=(
            "Best wishes",
            "Dr David Wrigley",
            "GPC England deputy chair",
            "Email: dwrigley@bma.org.uk",
            "Email: info.lmcqueries@bma.org.uk (for LMC queries)",
        ),
        links=("mailto:dwrigley@bma.org.uk", "mailto:info.lmcqueries@bma.org.uk"),
    ),
]


def bulletin_text(block: str, fields: str, extra_meta: str = "") -> str:
    body = indent(dedent(fields), "    ")
    return HEAD.replace("sections:\n", f"{extra_meta}sections:\n") + f"  - block: {block}\n{body}"


def render_one(workspace, workspace_dir: Path, block: str, fields: str) -> SegmentRender:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, bulletin_text(block, fields), name=f"{block}.yaml")
    composition = compose_bulletin(workspace, path)
    assert not composition.report.errors, composition.report.as_dict()
    return composition.renders["lmc"]


def normalized(text: str) -> str:
    return " ".join(text.split())


def visible_html(document: str) -> str:
    """The words of the HTML body: tags dropped, entities decoded, whitespace collapsed."""
    body = document.split("<body", 1)[1].split(">", 1)[1]
    return normalized(html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_the_library_has_every_block_the_june_bulletin_needs() -> None:
    needed = {"intro", "collective_action", "article", "spr", "data_breach", "elections",
              "petition", "resources", "signoff"}  # fmt: skip
    assert needed <= set(BLOCKS)
    assert {case.block for case in CASES} == set(BLOCKS), "every block needs a case below"


@pytest.mark.parametrize("name", BLOCKS)
def test_every_field_is_declared_with_help(name: str) -> None:
    declaration = yaml.safe_load(
        (REPO / "sections" / name / "block.yaml").read_text(encoding="utf-8")
    )
    assert declaration["description"].strip()
    names = [f["name"] for f in declaration["fields"]]
    assert declaration["title_field"] in names

    def check(fields: list[dict[str, object]]) -> None:
        for spec in fields:
            assert str(spec.get("help", "")).strip(), f"{name}.{spec['name']} has no help"
            if isinstance(spec.get("items"), list):
                check(spec["items"])  # type: ignore[arg-type]

    check(declaration["fields"])


@pytest.mark.parametrize("case", CASES, ids=[case.block for case in CASES])
def test_block_words_and_links_reach_both_parts(workspace, workspace_dir: Path, case: Case) -> None:
    render = render_one(workspace, workspace_dir, case.block, case.section)
    page, text = visible_html(render.html), normalized(render.text)
    for words in case.words:
        assert words in page, f"{words!r} missing from the HTML part"
        assert words in text, f"{words!r} missing from the text part"
    for url in case.links:
        assert f'href="{url}"' in render.html, f"{url} is not a link in the HTML part"
        assert url.removeprefix("mailto:") in text, f"{url} is not written out in the text part"
    for fragment in case.html_only:
        assert fragment in render.html
    for fragment in case.text_only:
        assert fragment in text
    assert f'data-block="{case.block}"' in render.html
    for part in (page, text):
        assert "None" not in part
        assert "()" not in part


def test_optional_fields_can_be_left_out(workspace, workspace_dir: Path) -> None:
    """The smallest valid section of each block renders, with no stray markup or words."""
    minimal = {
        "intro": 'greeting: "Dear colleagues"',
        "article": "headline: Plain item\nbody: Just words.",
        "collective_action": "headline: An action\nbody: Do this.",
        "spr": "headline: A statement\nstatement: We said this.\nattribution_name: Dr A Chair",
        "data_breach": "headline: A breach\nbody: It happened.\nadvice: Do that.",
        "elections": (
            "headline: Elections\nintro: Soon.\ntimeline:\n  - {label: Voting, at: '2026-07-09 09:00'}\n"
            "eligibility: Members may stand.\ncontact_email: elections@bma.org.uk"
        ),
        "petition": "headline: A petition\nbody: Please sign.\nsign: {text: Sign the petition on pay, url: 'https://www.bma.org.uk/p'}",
        "resources": "headline: Links\nlinks:\n  - {text: The BMA home page, url: 'https://www.bma.org.uk/'}",
        "signoff": "name: Dr A Chair\nrole: Chair",
    }
    assert set(minimal) == set(BLOCKS)
    for block, fields in minimal.items():
        render = render_one(workspace, workspace_dir, block, fields)
        page, text = visible_html(render.html), normalized(render.text)
        for part in (page, text):
            assert "None" not in part, block
            assert "()" not in part, block
        squeezed = re.sub(r"\s+", "", render.html)
        assert "<ul></ul>" not in squeezed and "<li></li>" not in squeezed, block


def test_markdown_merge_field_becomes_a_token_in_each_part(workspace, workspace_dir: Path) -> None:
    render = render_one(workspace, workspace_dir, "intro", 'greeting: "Dear {{ first_name }}"')
    assert f"Dear {token('first_name', 'html')}" in render.html
    assert f"Dear {token('first_name', 'text')}" in render.text


def test_elections_timeline_is_in_london_time(workspace, workspace_dir: Path) -> None:
    fields = (
        "headline: Elections\nintro: Soon.\ntimeline:\n"
        "  - {label: Nominations open, at: '2026-06-25T11:00:00+00:00'}\n"  # 12:00 BST
        "  - {label: Results, at: '2026-12-01 09:15'}\n"  # GMT
        "eligibility: Members may stand.\ncontact_email: elections@bma.org.uk"
    )
    render = render_one(workspace, workspace_dir, "elections", fields)
    for part in (visible_html(render.html), normalized(render.text)):
        assert "Nominations open – midday on 25 June 2026" in part
        assert "Results – 9:15am on 1 December 2026" in part


def test_user_text_is_escaped_in_html(workspace, workspace_dir: Path) -> None:
    render = render_one(
        workspace, workspace_dir, "signoff", "name: Dr <b>O'Brien</b> & Partners\nrole: Chair"
    )
    assert "<b>O" not in render.html
    assert "Dr <b>O'Brien</b> & Partners" in visible_html(render.html)
    assert "Dr <b>O'Brien</b> & Partners" in render.text


def test_decorative_image_has_empty_alt(workspace, workspace_dir: Path) -> None:
    fields = (
        "headline: An action\nbody: Do this.\n"
        "image: {src: 'https://bulletin.example/images/rule.png', alt: '', decorative: true}"
    )
    render = render_one(workspace, workspace_dir, "collective_action", fields)
    assert re.search(r'<img[^>]*alt=""', render.html)
    assert "[Picture" not in render.text


@pytest.mark.parametrize(
    ("block", "fields", "missing"),
    [
        (
            "elections",
            "headline: Elections\nintro: Soon.\neligibility: Members may stand.\ncontact_email: elections@bma.org.uk",
            "timeline",
        ),
        ("petition", "headline: A petition\nbody: Please sign.", "sign"),
        ("spr", "headline: A statement\nattribution_name: Dr A Chair", "statement"),
        ("data_breach", "headline: A breach\nbody: It happened.", "advice"),
    ],
)
def test_missing_required_field_is_named(
    workspace, workspace_dir: Path, block: str, fields: str, missing: str
) -> None:
    path = write_bulletin(workspace_dir, bulletin_text(block, fields), name=f"{block}.yaml")
    with pytest.raises(InputError) as info:
        compose_bulletin(workspace, path)
    err = info.value
    assert err.location.block == block
    assert err.location.section == 1
    assert err.location.field == missing
    assert str(path) in str(err)


def test_elections_step_without_a_date_is_named(workspace, workspace_dir: Path) -> None:
    fields = (
        "headline: Elections\nintro: Soon.\ntimeline:\n  - {label: Nominations open}\n"
        "eligibility: Members may stand.\ncontact_email: elections@bma.org.uk"
    )
    path = write_bulletin(workspace_dir, bulletin_text("elections", fields), name="elections.yaml")
    with pytest.raises(InputError) as info:
        compose_bulletin(workspace, path)
    assert info.value.location.block == "elections"
    assert "timeline" in str(info.value.location.field)
    assert "at" in str(info.value.location.field).split(".")


def test_layout_head_header_and_footer(workspace, workspace_dir: Path) -> None:
    render = render_one(workspace, workspace_dir, "intro", 'greeting: "Dear colleagues"')
    sender = workspace.sender
    doc = render.html
    assert re.search(r'<html[^>]* lang="en-GB"', doc)
    assert "<title>Block test bulletin</title>" in doc
    assert "One block on its own" in doc  # the preheader
    assert 'width="600"' in doc or "max-width:600px" in doc
    assert "@media" in doc  # responsive rules survive inlining
    view_online = f"{sender.base_url}/archive/intro.html"
    page, text = visible_html(doc), normalized(render.text)
    for part in (page, text):
        assert "GPC England bulletin" in part
        assert (
            "You are receiving this because you are on the GPC England bulletin list for Local Medical Committees."
            in part
        )
        assert normalized(sender.postal_address) in part
        assert "View this bulletin online" in part
        assert "4 June 2026" in part
        assert "Unsubscribe" in part
    assert f'href="{token("unsubscribe_url", "html")}"' in doc
    assert token("unsubscribe_url", "text") in render.text
    assert f'href="{view_online}"' in doc
    assert view_online in render.text
    assert render.text.startswith("Block test bulletin\n")


def test_archive_page_has_no_link_to_itself(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, bulletin_text("intro", 'greeting: "Dear colleagues"'))
    composition = compose_bulletin(workspace, path)
    archive = composition.archive_html
    assert "This is the web version of the GPC England bulletin." in visible_html(archive)
    assert "View this bulletin online" not in archive
    assert "View this bulletin online" in composition.renders["lmc"].html
    assert "Unsubscribe from the GPC England bulletin" in visible_html(archive)
