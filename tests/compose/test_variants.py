"""Variants: a reader in several segments gets one copy with every section meant for any
of them, once, in bulletin order; subjects and preheaders may be given per segment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from composer.cli import cli
from composer.compose.pipeline import compose_bulletin, write_outputs
from composer.compose.variants import every_audience, meets, pick_text, variant_name
from composer.errors import InputError
from tests.compose.helpers import write_bulletin

THREE = """\
subject: Test bulletin
preheader: Everyone's preheader
issue_date: 2026-06-04
segments: [lmc, practice, registrar]
sections:
  - block: intro
    greeting: "Dear {{ first_name }}"
  - block: article
    audiences: [practice]
    headline: Practice only
    body: For practices.
  - block: article
    audiences: [registrar, lmc]
    headline: Registrars and LMCs
    body: For registrars and LMCs.
  - block: article
    audiences: [lmc]
    headline: LMC only
    body: For LMCs.
"""


def titles(render) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.title for s in render.sections]


def test_every_audience_and_names_follow_the_bulletin_order() -> None:
    order = ["lmc", "practice", "registrar"]
    names = [variant_name(a, order) for a in every_audience(order)]
    assert names == [
        "lmc", "practice", "registrar", "lmc+practice", "lmc+registrar",
        "practice+registrar", "lmc+practice+registrar",
    ]  # fmt: skip
    assert variant_name({"registrar", "lmc"}, order) == "lmc+registrar"
    assert meets(("practice", "lmc"), ("lmc", "registrar"))
    assert not meets(("practice",), ("lmc", "registrar"))


def test_pick_text_takes_the_combination_then_the_first_segment() -> None:
    texts = {"lmc": "For LMCs", "registrar": "For registrars", "lmc+registrar": "For both"}
    assert pick_text("Plain", ("lmc", "practice")) == "Plain"
    assert pick_text(texts, ("lmc",)) == "For LMCs"
    assert pick_text(texts, ("lmc", "registrar")) == "For both"
    assert pick_text(texts, ("lmc", "practice")) == "For LMCs"
    assert pick_text(texts, ("practice", "registrar")) == ""  # practice has none


def test_compose_renders_every_combination_with_each_section_once(workspace, workspace_dir: Path) -> None:
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir, THREE))
    assert list(comp.renders) == [
        "lmc", "practice", "registrar", "lmc+practice", "lmc+registrar",
        "practice+registrar", "lmc+practice+registrar",
    ]  # fmt: skip
    assert titles(comp.renders["lmc"]) == ["Dear ‹first_name›", "Registrars and LMCs", "LMC only"]
    both = comp.renders["lmc+practice"]
    assert both.audience == ("lmc", "practice")
    assert titles(both) == ["Dear ‹first_name›", "Practice only", "Registrars and LMCs", "LMC only"]
    for phrase in ("For practices.", "For registrars and LMCs.", "For LMCs."):
        assert both.text.count(phrase) == 1
        assert both.html.count(phrase) == 1
    assert titles(comp.renders["practice+registrar"]) == ["Dear ‹first_name›", "Practice only", "Registrars and LMCs"]
    assert "lists for Local Medical Committees and GP partners and practice managers" in " ".join(both.text.split())
    assert set(comp.report.sizes) == set(comp.renders)


def test_combinations_do_not_change_the_content_hash(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, THREE)
    every = compose_bulletin(workspace, path)
    singles = compose_bulletin(workspace, path, variants=())
    assert list(singles.renders) == ["lmc", "practice", "registrar"]
    assert singles.content_hash == every.content_hash
    assert singles.more is not None
    more = singles.more([("registrar", "practice")])
    assert list(more.renders) == ["lmc", "practice", "registrar", "practice+registrar"]
    assert more.renders["practice+registrar"].html == every.renders["practice+registrar"].html
    assert more.content_hash == every.content_hash


def test_the_content_hash_covers_every_variant_whichever_were_composed(workspace, workspace_dir: Path) -> None:
    """`send --segment lmc` composes only lmc; its campaign must still be the full send's."""
    path = write_bulletin(workspace_dir, THREE)
    every = compose_bulletin(workspace, path)
    one = compose_bulletin(workspace, path, segments=["lmc"], variants=())
    assert list(one.renders) == ["lmc"]
    assert one.content_hash == every.content_hash
    # A section only registrars get changes the hash, though the lmc copy is the same.
    edited = compose_bulletin(
        workspace, write_bulletin(workspace_dir, THREE.replace("For registrars and LMCs.", "For registrars and LMCs!")),
        segments=["practice"], variants=(),
    )  # fmt: skip
    assert edited.renders["practice"].html == every.renders["practice"].html
    assert edited.content_hash != every.content_hash


def test_a_combination_repeats_no_finding_of_its_segments(workspace, workspace_dir: Path) -> None:
    text = THREE.replace("body: For LMCs.", "body: \"For LMCs, [here](https://www.bma.org.uk/lmc).\"")
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir, text))
    vague = [f.segment for f in comp.report.warnings if f.code == "vague-link-text"]
    assert vague == ["lmc"]


def test_compose_writes_files_for_combinations(workspace, workspace_dir: Path, tmp_path: Path) -> None:
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir, THREE), ["lmc", "practice"])
    assert list(comp.renders) == ["lmc", "practice", "lmc+practice"]
    out = tmp_path / "out"
    write_outputs(workspace, comp, out)
    assert (out / "lmc+practice.html").exists() and (out / "lmc+practice.eml").exists()
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["segments"]["lmc+practice"]["audience"] == ["lmc", "practice"]
    assert report["segments"]["lmc+practice"]["sections"][1] == "Practice only"
    write_outputs(workspace, comp, out)  # its own earlier output, combinations included, is replaceable


PER_SEGMENT = THREE.replace(
    "subject: Test bulletin\npreheader: Everyone's preheader\n",
    "subject:\n  lmc: LMC subject\n  practice: Practice subject\n  registrar: Registrar subject\n"
    "  practice+lmc: Both subject\n"
    "preheader:\n  registrar: Registrar preheader\n  lmc: LMC preheader\n",
)


def test_subject_and_preheader_per_segment(workspace, workspace_dir: Path) -> None:
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir, PER_SEGMENT))
    subject = {n: r.envelope.subject for n, r in comp.renders.items()}
    assert subject["registrar"] == "Registrar subject"
    assert subject["lmc+practice"] == "Both subject"  # written practice+lmc: the same variant
    assert subject["lmc+registrar"] == "LMC subject"  # the first segment's
    assert subject["practice+registrar"] == "Practice subject"
    assert comp.renders["registrar"].preheader == "Registrar preheader"
    assert comp.renders["lmc+registrar"].preheader == "LMC preheader"
    assert "Registrar preheader" in comp.renders["registrar"].html
    assert "LMC preheader" not in comp.renders["registrar"].html
    missing = [f.message for f in comp.report.warnings if f.code == "preheader-missing"]
    assert missing == ["there is no preheader for practice; inboxes will show the first words of the email instead"]


@pytest.mark.parametrize(
    ("replace", "line", "field", "says"),
    [
        ("  registrar: Registrar subject\n", 4, "subject.registar", "'registar' is not a segment"),
        ("  practice+lmc: Both subject\n", 5, "subject.lmc+gp", "'lmc+gp' is not a segment"),
    ],
)
def test_a_mapping_naming_an_unknown_segment(workspace, workspace_dir: Path, replace: str, line: int, field: str, says: str) -> None:  # type: ignore[no-untyped-def]
    key = field.split(".", 1)[1]
    text = PER_SEGMENT.replace(replace, replace.replace(replace.split(":")[0].strip(), key, 1))
    path = write_bulletin(workspace_dir, text)
    with pytest.raises(InputError) as info:
        compose_bulletin(workspace, path)
    err = info.value
    assert says in err.reason and "lmc, practice, registrar" in err.reason
    assert err.location.file == path and err.location.line == line and err.location.field == field
    result = CliRunner().invoke(cli, ["--workspace", str(workspace_dir), "compose", str(path)])
    assert result.exit_code == 2
    assert "bulletins/test.yaml, line" in result.output and f"line {line}" in result.output and "Traceback" not in result.output


def test_a_subject_mapping_must_cover_every_segment(workspace, workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, PER_SEGMENT.replace("  practice: Practice subject\n", ""))
    with pytest.raises(InputError) as info:
        compose_bulletin(workspace, path)
    assert "no entry for segment 'practice'" in info.value.reason
    assert info.value.location.line == 1 and info.value.location.field == "subject"


@pytest.mark.parametrize(
    ("subject", "line", "field", "says"),
    [
        ("subject:\n  lmc: [LMC]\n  practice: P\n  registrar: R\n", 2, "subject.lmc", "must be one line of text"),
        ("subject: 5\n", 1, "subject", "a mapping of segment to text"),
    ],
)
def test_a_subject_that_is_neither_text_nor_a_mapping_of_texts(
    workspace, workspace_dir: Path, subject: str, line: int, field: str, says: str
) -> None:  # type: ignore[no-untyped-def]
    path = write_bulletin(workspace_dir, THREE.replace("subject: Test bulletin\n", subject))
    with pytest.raises(InputError) as info:
        compose_bulletin(workspace, path)
    assert says in info.value.reason
    assert info.value.location.line == line and info.value.location.field == field
