"""`make demo`: the main job on embedded defaults (SQLite store, outbox transport).

Composes the June 2026 sample for every segment and combination, imports the sample
lists, and sends the bulletin to them through the outbox (one .eml per recipient; a
person on two lists gets the copy for both). Run it twice: the second
run imports nothing new and sends nothing new, because the ledger remembers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from composer.errors import BulletinError

if TYPE_CHECKING:
    from composer.workspace import Workspace

SAMPLE = Path("bulletins/2026-06-gpce.yaml")


def run(root: Path) -> None:
    from composer.compose.pipeline import compose_bulletin, default_out_dir, write_outputs
    from composer.lists.base import open_lists
    from composer.lists.importer import import_file
    from composer.send import send_bulletin
    from composer.workspace import load_workspace

    workspace = load_workspace(root)
    print(f"Workspace {workspace.root}")
    print(f"Store     {workspace.database_url()}")
    print(f"Outbox    {workspace.outbox_dir}\n")

    composition = compose_bulletin(workspace, root / SAMPLE)
    out = default_out_dir(workspace, SAMPLE)
    write_outputs(workspace, composition, out)
    report = composition.report
    print(f"1. Composed {SAMPLE} for {', '.join(composition.renders)} into {out}/")
    for segment, size in report.sizes.items():
        titles = ", ".join(s.title for s in composition.renders[segment].sections[1:4])
        print(f"   {segment:22} {size / 1000:5.1f} KB HTML  ({len(composition.renders[segment].sections)} sections: {titles}, ...)")
    print(f"   checks: {len(report.errors)} error(s), {len(report.warnings)} warning(s) (see {out}/report.json)\n")

    lists = open_lists(workspace)
    try:
        print("2. Imported the sample lists:")
        for segment in lists.segments:
            path = workspace.lists_dir / "sample" / f"{segment}.csv"
            result = import_file(lists, path, segment)
            counts = ", ".join(f"{k} {v}" for k, v in result.counts().items())
            print(f"   {segment:10} {counts}")
        print()
        summary = send_bulletin(workspace, composition, transport="outbox", yes=True, store=lists.store)
    finally:
        lists.close()
    totals = ", ".join(f"{k} {v}" for k, v in sorted(summary.totals.items()))
    print(f"3. Sent through the outbox: {summary.sent} new message(s) this run; campaign {summary.campaign_id}: {totals}")
    print(f"   one .eml per recipient in {workspace.outbox_dir / composition.key}/")
    copies = ", ".join(f"{v.variant}: {v.to_send}" for v in summary.plan.variants if v.to_send)
    if copies:
        print(f"   copies sent: {copies}")
        print("   (someone on two lists, such as lmc+registrar, gets one copy with the sections of both)")
    if summary.sent == 0:
        print("   (nothing new to send: everyone on the lists already has this bulletin)")
    print("\n4. The report of this send (bulletin report " + composition.key + "):")
    show_report(workspace, composition.key)
    print("\nNext: bulletin preview bulletins/2026-06-gpce.yaml   ·   bulletin serve   ·   bulletin lists stats")


def show_report(workspace: Workspace, key: str) -> None:
    """The demo's last step: `bulletin report` of the campaign it sent. Outbox copies
    count as sent; with no provider there are no delivery events, and nothing is faked."""
    from composer.results.report import campaign_report
    from composer.results.terminal import show

    show(campaign_report(workspace, key))


def main() -> None:
    # The demo runs on embedded defaults whatever the shell says.
    os.environ.pop("BULLETIN_DATABASE_URL", None)
    try:
        run(Path.cwd())
    except BulletinError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
