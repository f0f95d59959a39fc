"""Record the Outlook-only (`<!--[if mso]>`) table widths that official MJML 4 writes for the
June sample, as test data for tests/compose/test_rendering.py.

Needs node and official MJML (`npm install mjml@4` in a folder, then
`NODE_PATH=that/node_modules`); the test suite itself never runs node. Run after a change
to a block or layout that moves a section's padding:

    NODE_PATH=/tmp/mjmlnode/node_modules .venv/bin/python bench/official_mso_widths.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer.compose.inline import mark_inline_styles  # noqa: E402
from composer.compose.render import SegmentRenderer  # noqa: E402
from composer.compose.source import load_bulletin  # noqa: E402
from composer.workspace import load_workspace  # noqa: E402
from tests.compose.mso import mso_widths  # noqa: E402

SAMPLE = REPO / "bulletins" / "2026-06-gpce.yaml"
OUT = REPO / "tests" / "compose" / "data" / "official_mso_widths.json"
NODE = "const m=require('mjml');let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(m(s,{validationLevel:'skip'}).html));"


def official_html(mjml: str) -> str:
    return subprocess.run(["node", "-e", NODE], input=mjml, capture_output=True, text=True, check=True).stdout


def main() -> None:
    workspace = load_workspace(REPO)
    bulletin = load_bulletin(workspace, SAMPLE)
    renderer = SegmentRenderer(workspace, bulletin)
    widths: dict[str, dict[str, list[int]]] = {}
    for segment in [*bulletin.segments, None]:
        mjml, _ = renderer._render_document(bulletin.sections_for(segment) if segment else list(bulletin.sections), segment)
        widths[segment or "archive"] = mso_widths(official_html(mark_inline_styles(mjml)))
    lines = [
        f"  {json.dumps(name)}: {{\n" + ",\n".join(f"    {json.dumps(a)}: {json.dumps(w)}" for a, w in per.items()) + "\n  }"
        for name, per in widths.items()
    ]
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
