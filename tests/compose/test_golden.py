"""The June 2026 sample, segment by segment, against reviewed golden files.

After a deliberate change to a block or layout: `make golden` (pytest --update-golden),
then review `git diff tests/golden` before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.compose.pipeline import compose_bulletin

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "bulletins/2026-06-gpce.yaml"
GOLDEN = REPO / "tests" / "golden" / "2026-06-gpce"
SEGMENTS = ("lmc", "practice", "registrar")

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
def composition():  # type: ignore[no-untyped-def]
    from composer.workspace import load_workspace

    return compose_bulletin(load_workspace(REPO), REPO / SAMPLE)


@pytest.mark.parametrize("segment", SEGMENTS)
@pytest.mark.parametrize("part", ["html", "txt"])
def test_matches_golden(composition, segment: str, part: str, update_golden: bool) -> None:  # type: ignore[no-untyped-def]
    render = composition.renders[segment]
    actual = render.html if part == "html" else render.text
    path = GOLDEN / f"{segment}.{part}"
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; run `make golden` and review the diff"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{segment}.{part} differs from {path}; if intended, run `make golden` and review"


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
