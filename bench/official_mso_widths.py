"""Record the widths Outlook for Windows lays out by (the `<!--[if mso | IE]>` tables and
each picture's width) as official MJML writes them, for tests/compose/test_rendering.py.

Two bulletins: the June sample (each segment and the archive) and
tests/compose/data/every_block.yaml (the block shapes the sample does not use: an article
with a narrow and a full-width picture, a petition with demands and no closing, ...).
Each is composed in a temporary copy of the workspace, never in the checkout; only
tests/compose/data/official_mso_widths.json is written.

Needs node and official MJML 4, installed outside the repository; the test suite never
runs node. Run after a change to a block or layout that moves a width:

    mkdir /tmp/mjmlnode && (cd /tmp/mjmlnode && npm install mjml@4.18)
    NODE_PATH=/tmp/mjmlnode/node_modules .venv/bin/python bench/official_mso_widths.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer.compose.inline import mark_inline_styles  # noqa: E402
from composer.compose.render import SegmentRenderer  # noqa: E402
from composer.compose.source import load_bulletin  # noqa: E402
from composer.workspace import load_workspace  # noqa: E402
from tests.compose.mso import mso_widths  # noqa: E402
from tests.support import copy_workspace  # noqa: E402

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
EVERY_BLOCK = REPO / "tests" / "compose" / "data" / "every_block.yaml"
OUT = REPO / "tests" / "compose" / "data" / "official_mso_widths.json"
NODE = "const m=require('mjml');let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(m(s,{validationLevel:'skip'}).html));"


def official_html(mjml: str) -> str:
    return subprocess.run(["node", "-e", NODE], input=mjml, capture_output=True, text=True, check=True).stdout


def official_version() -> str:
    script = "process.stdout.write(require('mjml/package.json').version)"
    return subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout


def widths_of(root: Path, path: Path) -> dict[str, dict[str, list[int]]]:
    """{segment or "archive": {anchor: widths}} from official MJML, for one bulletin."""
    workspace = load_workspace(root, env={**os.environ, "BULLETIN_SECRET_KEY": "official-mso-widths"})
    renderer = SegmentRenderer(workspace, load_bulletin(workspace, path))
    segments: list[str | None] = [*renderer.bulletin.meta.segments, None]
    return {
        segment or "archive": mso_widths(official_html(mark_inline_styles(renderer.render_mjml(segment))))
        for segment in segments
    }


def as_json(recorded: dict[str, object]) -> str:
    """One anchor a line, so a changed width is a one-line diff."""
    lines = []
    for key, value in recorded.items():
        if not isinstance(value, dict):
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
            continue
        variants = [
            f"    {json.dumps(name)}: {{\n" + ",\n".join(f"      {json.dumps(a)}: {json.dumps(w)}" for a, w in per.items()) + "\n    }"
            for name, per in value.items()
        ]
        lines.append(f"  {json.dumps(key)}: {{\n" + ",\n".join(variants) + "\n  }")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> None:
    version = official_version()
    with tempfile.TemporaryDirectory(prefix="official-mso-") as tmp:
        root = copy_workspace(Path(tmp) / "workspace")
        shutil.copy2(EVERY_BLOCK, root / "bulletins" / EVERY_BLOCK.name)
        recorded: dict[str, object] = {
            "about": f"Written by bench/official_mso_widths.py from official MJML {version} (npm mjml, node); "
            "do not edit by hand",
            SAMPLE.stem: widths_of(root, root / SAMPLE),
            EVERY_BLOCK.stem: widths_of(root, root / "bulletins" / EVERY_BLOCK.name),
        }
    OUT.write_text(as_json(recorded), encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)} (official MJML {version})")


if __name__ == "__main__":
    main()
