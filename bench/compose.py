"""Benchmark compose: each stage per segment in process, and the whole `bulletin compose`.

Composes a temporary copy of the workspace (as tests/support.py does), never the
checkout: nothing is written into the repository. When node and npm are present, renders
the same MJML with official MJML in the same run and prints the ratio; it uses
`NODE_PATH` when that holds `mjml`, else installs npm `mjml@4` once into a cache folder
outside the repository. Not a timed test. Prints the encoded HTML part of every copy too.

    .venv/bin/python bench/compose.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support import copy_workspace  # noqa: E402

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
NODE_DIR = Path(tempfile.gettempdir()) / "bulletin-bench-mjml"
ENV = {**os.environ, "BULLETIN_SECRET_KEY": "bench-compose-not-a-secret"}
NODE_SCRIPT = """
const mjml = require('mjml');
const fs = require('fs');
const src = fs.readFileSync(process.argv[2], 'utf8');
const runs = parseInt(process.argv[3], 10);
for (let i = 0; i < 5; i++) mjml(src, {validationLevel: 'soft'});
const times = [];
let out;
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  out = mjml(src, {validationLevel: 'soft'});
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({median_ms: times[Math.floor(times.length / 2)], bytes: out.html.length}));
"""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def stage_timings(root: Path, runs: int) -> tuple[dict[str, dict[str, float]], str, dict[str, int]]:
    """Median seconds per stage per segment, after one warm-up compose; and every copy's
    encoded HTML part."""
    from mjml import mjml2html

    from composer.compose import checks
    from composer.compose.compact import compact_html
    from composer.compose.inline import inline_css, mark_inline_styles
    from composer.compose.merge import fill, substitutions
    from composer.compose.mime import encoded_size
    from composer.compose.pipeline import compose_bulletin, sample_recipient
    from composer.compose.render import SegmentRenderer, finish_html
    from composer.compose.source import load_bulletin
    from composer.workspace import load_workspace

    workspace = load_workspace(root, env=ENV)
    sizes = compose_bulletin(workspace, root / SAMPLE).report.sizes  # warms caches, as a preview would be
    started = time.perf_counter()
    bulletin = load_bulletin(workspace, root / SAMPLE)
    renderer = SegmentRenderer(workspace, bulletin)
    load_time = time.perf_counter() - started
    subs = substitutions(sample_recipient(workspace))
    results: dict[str, dict[str, float]] = {}
    lmc_mjml = ""
    for segment in bulletin.meta.segments:
        samples: dict[str, list[float]] = {k: [] for k in ("jinja+text", "mjml", "inline+finish", "checks", "size")}
        for _ in range(runs):
            t = time.perf_counter()
            mjml, _text = renderer._render_document(bulletin.sections_for_audience((segment,)), (segment,))
            samples["jinja+text"].append(time.perf_counter() - t)
            t = time.perf_counter()
            html = str(mjml2html(mark_inline_styles(mjml), disable_comments=True))
            samples["mjml"].append(time.perf_counter() - t)
            t = time.perf_counter()
            html = compact_html(finish_html(inline_css(html), renderer.theme))
            samples["inline+finish"].append(time.perf_counter() - t)
            t = time.perf_counter()
            size = encoded_size(fill(html, subs))
            samples["size"].append(time.perf_counter() - t)
            t = time.perf_counter()
            checks.check_segment(segment, html, size, bulletin)
            samples["checks"].append(time.perf_counter() - t)
        results[segment] = {k: statistics.median(v) for k, v in samples.items()}
        results[segment]["total"] = sum(results[segment].values())
        if segment == "lmc":
            lmc_mjml = mjml
    results["_load"] = {"load+validate+compile": load_time}
    return results, lmc_mjml, dict(sizes)


def whole_process(root: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "composer", "--workspace", str(root), "compose", str(root / SAMPLE),
                        "--out", str(root / "out")], check=True, capture_output=True, env=ENV)  # fmt: skip
        times.append(time.perf_counter() - t)
    return times


def official_mjml(mjml: str, runs: int) -> dict[str, float] | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("official MJML: skipped (node/npm not found)")
        return None
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    given = [Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p]
    if any((p / "mjml").is_dir() for p in given):
        pass
    elif not (NODE_DIR / "node_modules" / "mjml").is_dir():
        print(f"installing npm mjml@4 into {NODE_DIR} ...", flush=True)
        (NODE_DIR / "package.json").write_text('{"private": true}\n', encoding="utf-8")
        proc = subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "mjml@4"],
                              cwd=NODE_DIR, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
        if proc.returncode != 0:
            print(f"official MJML: skipped (npm install failed: {proc.stderr.strip()[:200]})")
            return None
    (NODE_DIR / "bench.js").write_text(NODE_SCRIPT, encoding="utf-8")
    (NODE_DIR / "lmc.mjml").write_text(mjml, encoding="utf-8")
    proc = subprocess.run([node, "bench.js", "lmc.mjml", str(runs)], cwd=NODE_DIR, capture_output=True,
                          text=True, check=True, timeout=600)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-compose-") as tmp:
        root = copy_workspace(Path(tmp) / "workspace")
        results, lmc_mjml, sizes = stage_timings(root, args.runs)
        process = whole_process(root, 5)
    print(f"Compose stages per segment (median of {args.runs}, warm):")
    for segment, stages in results.items():
        print(f"  {segment}:")
        for stage, seconds in stages.items():
            print(f"    {stage:22} {ms(seconds)}")
    print("HTML part as encoded (quoted-printable), per copy:")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"  {name:24} {size / 1000:5.1f} KB")
    print(f"Whole `bulletin compose` process, 3 segments and 4 combinations: median {statistics.median(process):.3f} s, "
          f"min {min(process):.3f} s (target <= 1 s)")  # fmt: skip
    official = official_mjml(lmc_mjml, args.runs)
    if official:
        ours = results["lmc"]["total"] * 1000
        print(f"Official MJML 4 (node) render of the lmc MJML: {official['median_ms']:.2f} ms")
        print(f"Ours, lmc through every stage: {ours:.2f} ms -> ratio {ours / official['median_ms']:.2f} (target <= 0.5)")


if __name__ == "__main__":
    main()
