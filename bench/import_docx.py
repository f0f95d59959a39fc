"""Benchmark `bulletin import`: the June draft, and a draft ten times as long.

Builds both drafts with the test fixture (tests/authoring/june_docx.py), imports each in
process into a temporary copy of the workspace, and prints the wall time and the CPU time
(best of --runs) and the CPU ratio long/June. Targets: June under 1 s; the ratio within 12.

    .venv/bin/python bench/import_docx.py [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer.authoring.importer import import_draft  # noqa: E402
from composer.workspace import load_workspace  # noqa: E402
from tests.authoring.june_docx import JUNE, build_docx  # noqa: E402
from tests.support import copy_workspace  # noqa: E402

BODY_END = next(i for i, (style, _) in enumerate(JUNE) if style == "List Bullet" and "campaign webpage" in _)


def long_draft(times: int) -> list[tuple[str, str]]:
    """The June sections `times` over, each copy's headings numbered, one intro and sign-off."""
    body = JUNE[1:BODY_END]
    out = JUNE[:1]
    for n in range(times):
        out += [(s, f"{t} {n + 1}" if s == "Heading 2" and "[" not in t else t) for s, t in body]
    return out + JUNE[BODY_END:]


def measure(root: Path, draft: Path, runs: int) -> tuple[float, float]:
    workspace = load_workspace(root)
    best_wall, best_cpu = float("inf"), float("inf")
    for run in range(runs):
        out = root / "bulletins" / f"bench-{draft.stem}-{run}.yaml"
        wall, cpu = time.perf_counter(), time.process_time()
        import_draft(workspace, draft, out, force=True)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_workspace(Path(tmp) / "ws")
        june = build_docx(Path(tmp) / "june.docx")
        longer = build_docx(Path(tmp) / "june10.docx", long_draft(10))
        measure(root, june, 1)  # warm: imports, block declarations
        wall, cpu = measure(root, june, args.runs)
        wall10, cpu10 = measure(root, longer, args.runs)
    print(f"June draft ({len(JUNE)} paragraphs): {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU")
    print(f"10x draft ({len(long_draft(10))} paragraphs): {wall10 * 1000:.0f} ms wall, {cpu10 * 1000:.0f} ms CPU")
    print(f"CPU ratio 10x / June: {cpu10 / cpu:.1f} (target within 12)")


if __name__ == "__main__":
    main()
