"""The June 2026 sample, segment by segment, against reviewed golden files.

Each segment is kept three ways in tests/golden/2026-06-gpce: the MJML that Jinja writes,
the HTML with a line break before each block tag (`tests.golden.pretty_html`), and the
plain text, so a changed block shows as a few changed lines. After a deliberate change to
a block or layout: `make golden` (pytest --update-golden), then review
`git diff tests/golden` before committing. The sample is composed in a copy of the
workspace, never in the checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.compose.pipeline import compose_bulletin
from tests.golden import PARTS, SAMPLE, SEGMENTS, golden_diff, golden_parts, pretty_html
from tests.support import REPO, copy_workspace

GOLDEN = REPO / "tests" / "golden" / "2026-06-gpce"

# Which sample sections each segment must (and must not) show: the "done means".
EXPECTED = {
    "New collective action for practices in June": {"lmc", "practice"},
    "May 2026 GP collective action": {"lmc", "practice"},
    "UK Biobank data breach": {"lmc", "practice"},
    "NHS Modernisation Bill and Single Patient Record": {"lmc", "practice", "registrar"},
    "GPCE officer elections": {"lmc", "practice", "registrar"},
    "GP Registrars and trainers demand action on FourteenFish": {"registrar"},
    "Rebuild General Practice petition": {"lmc", "practice", "registrar"},
}
EXPECTED_WARNINGS = {"vague-link-text", "subject-length"}


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workspace(tmp_path_factory.mktemp("golden") / "ws")


@pytest.fixture(scope="module")
def composition(sample_root: Path):  # type: ignore[no-untyped-def]
    from composer.workspace import load_workspace

    return compose_bulletin(load_workspace(sample_root), sample_root / SAMPLE)


@pytest.fixture(scope="module")
def parts(sample_root: Path) -> dict[str, str]:
    return golden_parts(sample_root)


@pytest.mark.parametrize("segment", SEGMENTS)
@pytest.mark.parametrize("part", PARTS)
def test_matches_golden(parts: dict[str, str], segment: str, part: str, update_golden: bool) -> None:
    name = f"{segment}.{part}"
    path = GOLDEN / name
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(parts[name], encoding="utf-8")
        return
    problem = golden_diff(parts[name], path)
    assert problem is None, problem


def test_the_golden_files_are_all_there_is(update_golden: bool) -> None:
    """Nothing stale: a part no longer written would go unreviewed for ever."""
    if update_golden:
        for stale in sorted(set(GOLDEN.iterdir()) - {GOLDEN / f"{s}.{p}" for s in SEGMENTS for p in PARTS}):
            stale.unlink()
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(f"{s}.{p}" for s in SEGMENTS for p in PARTS)


def test_composing_the_sample_leaves_the_checkout_alone(sample_root: Path, parts: dict[str, str]) -> None:
    assert (sample_root / ".bulletin" / "cache").is_dir()  # the copy got the Jinja cache
    assert sample_root.resolve() != REPO.resolve()


def test_pretty_html_only_adds_line_breaks() -> None:
    html = '<table><tr><td style="a:b">Hello <a href="x">there</a></td></tr></table>\n<p>x</p>'
    pretty = pretty_html(html)
    assert pretty.replace("\n", "") == html.replace("\n", "")
    assert pretty.splitlines() == ["", "<table>", "<tr>", '<td style="a:b">Hello <a href="x">there</a>', "</td>", "</tr>", "</table>", "", "<p>x", "</p>"]
    assert pretty_html("<p>a</p><p>b</p>") != pretty_html("<p>a</p>\n<p>b</p>")


def test_a_one_word_change_in_a_block_fails_with_a_readable_diff(tmp_path: Path) -> None:
    root = copy_workspace(tmp_path / "ws")
    source = root / SAMPLE
    text = source.read_text(encoding="utf-8")
    assert text.count("intransigence") == 1
    source.write_text(text.replace("intransigence", "stubbornness"), encoding="utf-8")
    changed = golden_parts(root)
    for part in PARTS:
        problem = golden_diff(changed[f"lmc.{part}"], GOLDEN / f"lmc.{part}")
        assert problem is not None, f"lmc.{part} did not notice the change"
        diff = problem.splitlines()[1:]
        removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
        added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
        assert len(removed) == len(added) <= 3, problem  # the paragraph, not the page
        assert any("intransigence" in line for line in removed), problem
        assert any("stubbornness" in line for line in added), problem
        assert max(len(line) for line in diff) < 2_000, "a diff line too long to review"


@pytest.mark.parametrize(("title", "audiences"), EXPECTED.items())
def test_each_section_reaches_exactly_its_segments(composition, title: str, audiences: set[str]) -> None:  # type: ignore[no-untyped-def]
    for segment in SEGMENTS:
        render = composition.renders[segment]
        titles = [s.title for s in render.sections]
        shown = any(t.startswith(title) for t in titles)
        assert shown == (segment in audiences), f"'{title}' in {segment}: {titles}"
        in_text = title.split(" –")[0] in render.text
        assert in_text == (segment in audiences)


@pytest.mark.parametrize("variant", ["lmc+practice", "lmc+registrar", "practice+registrar", "lmc+practice+registrar"])
def test_a_combination_has_each_section_of_its_segments_once(composition, variant: str) -> None:  # type: ignore[no-untyped-def]
    render = composition.renders[variant]
    titles = [s.title for s in render.sections]
    assert len(titles) == len(set(titles))
    for title, audiences in EXPECTED.items():
        assert any(t.startswith(title) for t in titles) == bool(audiences & set(variant.split("+"))), (title, variant)
    assert composition.report.sizes[variant] < 80_000


def test_registrars_get_a_preheader_about_what_they_get(composition) -> None:  # type: ignore[no-untyped-def]
    registrar = composition.renders["registrar"].preheader
    assert "FourteenFish" in registrar and "collective action" not in registrar.lower()
    assert "collective action" in composition.renders["lmc+registrar"].preheader  # the first segment's


def test_checks_pass_with_only_the_expected_warnings(composition) -> None:  # type: ignore[no-untyped-def]
    report = composition.report
    assert report.errors == []
    assert {w.code for w in report.warnings} <= EXPECTED_WARNINGS
    assert any(w.code == "vague-link-text" for w in report.warnings)  # the seed's "here" links


def test_every_html_part_is_well_under_gmail_clip(composition) -> None:  # type: ignore[no-untyped-def]
    for segment in SEGMENTS:
        assert composition.report.sizes[segment] < 80_000, composition.report.sizes


def test_words_from_the_source_survive(composition) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(composition.renders["practice"].text.split())
    for phrase in (
        "remove or ignore any non-contractual medicines optimisation software",
        "Taking part in this action is lawful.",
        "Dr David Wrigley",
        "midday on 25 June 2026",
        "info.lmcqueries@bma.org.uk",
    ):
        assert phrase in text
