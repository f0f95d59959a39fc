"""Compose a bulletin: load and validate everything, then render each segment and check it.

`compose_bulletin` is what the CLI, send and preview call. `write_outputs` puts the
results on disk in one step (a temporary folder renamed into place).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from composer.compose import checks, fingerprint
from composer.compose.assets import PUBLIC_NAME, write_assets
from composer.compose.merge import Recipient, fill, substitutions, token
from composer.compose.mime import build_message, encoded_size
from composer.compose.model import Composition, Finding, Report, SegmentRender
from composer.compose.render import SegmentRenderer, Timer
from composer.compose.source import load_bulletin
from composer.compose.variants import SEPARATOR, audience_of, every_audience, variant_name
from composer.errors import InputError, Location, did_you_mean
from composer.tokens import list_unsubscribe_headers, unsubscribe_url
from composer.workspace import Workspace

# Not a signed token: `bulletin serve` answers it with its "link not recognised" page.
SAMPLE_TOKEN = "sample"  # noqa: S105 - a placeholder, not a secret


def sample_recipient(workspace: Workspace) -> Recipient:
    """A fictitious reader for the sample .eml and size checks (reserved domain)."""
    return Recipient(
        email="sample.reader@example.org",
        unsubscribe_url=unsubscribe_url(workspace.sender.base_url, SAMPLE_TOKEN),
        first_name="Alex",
        name="Dr Alex Example",
        organisation="Example Medical Practice",
    )


def archive_values(workspace: Workspace) -> dict[str, str]:
    """Merge values for the public page: no person, a generic unsubscribe page."""
    generic = Recipient(
        email="",
        unsubscribe_url=f"{workspace.sender.base_url}/unsubscribe",
        first_name="colleague",
        name="colleague",
        organisation="",
    )
    return substitutions(generic)


def compose_bulletin(
    workspace: Workspace,
    path: Path,
    segments: list[str] | tuple[str, ...] | None = None,
    variants: Sequence[Sequence[str]] | None = None,
    text: str | None = None,
) -> Composition:
    """Phase one loads and validates; phase two renders and checks each variant.

    `segments` are the single segments to compose (default: all of the bulletin's).
    `variants` are the combinations to render beside them (sets of segments); by
    default every combination of `segments`, as compose and preview offer them.
    `text`, when given, is composed in place of the file's contents (an unsaved draft).
    """
    timer = Timer()
    started = time.perf_counter()
    bulletin = load_bulletin(workspace, path, text)
    order = tuple(bulletin.meta.segments)
    chosen = list(segments) if segments else list(order)
    for name in chosen:
        if name not in order:
            raise InputError(
                f"unknown segment '{name}'{did_you_mean(name, order)} (this bulletin goes to: {', '.join(order)})",
                Location(file=path, field="segments"),
            )
    renderer = SegmentRenderer(workspace, bulletin, timer)
    timer.add("load", started)
    wanted = every_audience(audience_of(chosen, order)) if variants is None else [(name,) for name in audience_of(chosen, order)]
    findings: list[Finding] = checks.check_bulletin(bulletin, urlsplit(workspace.sender.base_url).hostname)
    findings += checks.check_pictures(bulletin, renderer.assets)
    renders, sizes = _render_variants(workspace, renderer, [*wanted, *(variants or ())], findings)
    # The hash covers every variant, so the ones not asked for are rendered too (not checked,
    # not written); `more` reuses them.
    unasked = {
        variant_name(a, order): renderer.render_variant(a)
        for a in every_audience(order)
        if variant_name(a, order) not in renders
    }

    started = time.perf_counter()
    archive_html, _ = renderer.render_archive()
    archive_html = fill(archive_html, archive_values(workspace))
    timer.add("archive", started)
    composition = Composition(
        source=path,
        key=bulletin.key,
        content_hash=fingerprint.content_hash({**unasked, **renders}),
        renders=renders,
        archive_html=archive_html,
        report=Report(findings=tuple(_dedupe(findings, renders)), sizes=sizes),
        timings=dict(timer.totals),
        order=order,
        assets=renderer.assets,
        manifest=fingerprint.manifest(bulletin.sections, {**unasked, **renders}),
        earlier_hashes=(fingerprint.legacy_content_hash({**unasked, **renders}, bulletin),),
    )
    return _with_more(composition, workspace, renderer, unasked)


def _render_variants(
    workspace: Workspace,
    renderer: SegmentRenderer,
    audiences: Sequence[Sequence[str]],
    findings: list[Finding],
    rendered: dict[str, SegmentRender] | None = None,
) -> tuple[dict[str, SegmentRender], dict[str, int]]:
    """Render (or take from `rendered`) and check each audience's copy once; appends
    their findings."""
    bulletin, timer = renderer.bulletin, renderer.timer
    order = bulletin.meta.segments
    sample = substitutions(sample_recipient(workspace))
    renders: dict[str, SegmentRender] = {}
    sizes: dict[str, int] = {}
    for given in audiences:
        audience = audience_of(given, order)
        unknown = sorted(set(given) - set(audience))
        if unknown or not audience:
            raise InputError(
                f"no variant for '{SEPARATOR.join(given)}': '{', '.join(unknown) or '(none)'}' is not a "
                f"segment of this bulletin (it goes to: {', '.join(order)})",
                Location(file=bulletin.path, field="segments"),
            )
        name = variant_name(audience, order)
        if name in renders:
            continue
        render = (rendered or {}).get(name) or renderer.render_variant(audience)
        renders[name] = render
        started = time.perf_counter()
        sizes[name] = encoded_size(fill(render.html, sample))
        timer.add("mime", started)
        started = time.perf_counter()
        findings.extend(checks.check_segment(name, render.html, sizes[name], bulletin))
        timer.add("checks", started)
    return renders, sizes


def _with_more(
    composition: Composition, workspace: Workspace, renderer: SegmentRenderer, unasked: dict[str, SegmentRender]
) -> Composition:
    """`composition.more(audiences)`: the same composition with these variants added."""

    def more(audiences: Sequence[Sequence[str]]) -> Composition:
        findings = list(composition.report.findings)
        renders, sizes = _render_variants(
            workspace,
            renderer,
            [a for a in audiences if variant_name(a, composition.order) not in composition.renders],
            findings,
            unasked,
        )
        if not renders:
            return composition
        all_renders = {**composition.renders, **renders}
        report = Report(findings=tuple(_dedupe(findings, all_renders)), sizes={**composition.report.sizes, **sizes})
        return _with_more(replace(composition, renders=all_renders, report=report), workspace, renderer, unasked)

    return replace(composition, more=more)


def _dedupe(findings: list[Finding], renders: dict[str, SegmentRender]) -> list[Finding]:
    """Each finding once. A combination's finding that one of its own segments already
    has (the same section's link, say) is that segment's, so it is listed only there."""
    seen: set[tuple[object, ...]] = set()
    out: list[Finding] = []
    for finding in findings:
        key = (finding.severity, finding.code, finding.message, finding.segment, finding.section)
        if key in seen:
            continue
        seen.add(key)
        render = renders.get(finding.segment or "")
        if render is not None and len(render.segments) > 1 and any(
            (finding.severity, finding.code, finding.message, single, finding.section) in seen
            for single in render.segments
        ):
            continue
        out.append(finding)
    return out


def default_out_dir(workspace: Workspace, path: Path) -> Path:
    return workspace.out_dir / path.stem


def write_outputs(workspace: Workspace, composition: Composition, out_dir: Path) -> list[Path]:
    """Write every file to a temporary folder, then rename it into place.

    `<variant>.html` and `.txt` are the sample reader's copy, `<variant>.eml` the whole
    message, for each single segment (`lmc`) and combination (`lmc+practice`); `archive.html` is the public page; `report.json` the checks.
    """
    out_dir = out_dir.resolve()
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        recipient = sample_recipient(workspace)
        subs = substitutions(recipient)
        sender = workspace.sender
        headers = list_unsubscribe_headers(sender.base_url, sender.unsubscribe_mailto, SAMPLE_TOKEN)
        for name, render in composition.renders.items():
            html = fill(render.html, subs)
            text = fill(render.text, subs)
            (tmp / f"{name}.html").write_text(html, encoding="utf-8")
            (tmp / f"{name}.txt").write_text(text, encoding="utf-8")
            message = build_message(render.envelope, to=recipient.email, html=html, text=text, headers=headers)
            (tmp / f"{name}.eml").write_bytes(bytes(message))
        (tmp / "archive.html").write_text(composition.archive_html, encoding="utf-8")
        write_assets(composition.assets, tmp)
        report = {
            "bulletin": str(composition.source),
            "key": composition.key,
            "content_hash": composition.content_hash,
            "segments": {
                name: {
                    "audience": list(r.segments),
                    "subject": r.envelope.subject,
                    "preheader": r.preheader,
                    "sections": [s.title for s in r.sections],
                    "html_bytes": composition.report.sizes.get(name),
                }
                for name, r in composition.renders.items()
            },
            **composition.report.as_dict(),
        }
        (tmp / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp makes 0700; the outputs are for sharing
        _swap_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(out_dir.iterdir())


_FOLDER_LITTER = {".DS_Store", "Thumbs.db", "desktop.ini"}  # left by Finder and Explorer


def _earlier_output(out_dir: Path) -> set[str]:
    """The file names an earlier compose wrote into `out_dir`, read from its report.json."""
    try:
        report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    segments = report.get("segments") if isinstance(report, dict) else None
    if not isinstance(segments, dict):
        return set()
    names = {"report.json", "archive.html"}
    names.update(f"{segment}.{ext}" for segment in segments for ext in ("html", "txt", "eml"))
    return names


def _only_published_pictures(folder: Path) -> bool:
    """`assets/` as compose writes it: pictures named by their content, nothing else."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    return all(p.is_file() and not p.is_symlink() and PUBLIC_NAME.fullmatch(p.name) for p in folder.iterdir())


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a folder that compose did not write: the swap deletes the old
    folder whole, and `--out .` or `--out ~/Desktop` must not take the user's files."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise InputError("is a file, not a folder; choose a folder for the output", Location(file=out_dir))
    ours = _earlier_output(out_dir)
    foreign = sorted(
        p.name
        for p in out_dir.iterdir()
        if p.name not in _FOLDER_LITTER
        and not (p.name == "assets" and _only_published_pictures(p))
        and (p.name not in ours or p.is_symlink() or not p.is_file())
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise InputError(
            f"this folder holds files that 'bulletin compose' did not write ({shown}), and compose "
            "replaces its output folder whole. Choose a new or empty folder with --out",
            Location(file=out_dir),
        )


def _swap_into_place(new: Path, target: Path) -> None:
    """Replace `target` with `new`; the old folder is removed only after the rename."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(target)


__all__ = ["compose_bulletin", "default_out_dir", "sample_recipient", "token", "write_outputs"]
