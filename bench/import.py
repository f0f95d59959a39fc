"""Import speed: 100,000 generated contacts into a fresh SQLite store, then `lists stats`.

Targets (issue 3): at least 20,000 rows/s on SQLite, and `lists stats` on 100k contacts
in under a second. Prints rows/s, peak memory and the stats time.

    .venv/bin/python bench/import.py [--rows N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support import copy_workspace  # noqa: E402

FIRST = ["Priya", "Tom", "Siobhán", "Zoë", "José", "Alex", "Renata", "Michael", "Helen", "David"]
LAST = ["Shah", "Hughes", "O'Brien", "Adeyemi", "García", "Clarke", "Nowak", "Osei", "Fraser", "Okafor"]
ORGS = ["Riverside Medical Centre", "Dr O'Brien & Partners", "Hillview Surgery, Lowdale", "Elm Tree Practice"]
DOMAINS = [f"practice{i}.nhs.example" for i in range(400)] + ["example.org", "example.com"]


def ascii_fold(text: str) -> str:
    """`García` → `garcia`: real addresses (nhs.net and the like) are ASCII."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(20261124)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "First name", "Surname", "Practice", "Role", "Practice code"])
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            writer.writerow([
                f"{ascii_fold(first)[0]}.{ascii_fold(last).replace(chr(39), '')}{i}@{rng.choice(DOMAINS)}",
                first, last, rng.choice(ORGS), "GP partner", f"Z{i % 90000:05d}",
            ])


def max_rss_mib() -> float:
    # tracemalloc would slow the import several-fold; the kernel's high-water mark does not.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workspace(root: Path, url: str | None) -> object:
    from composer.workspace import load_workspace

    copy_workspace(root, parts=("bulletin.toml", "lists"))
    env = {"BULLETIN_SECRET_KEY": "bench-secret-key"}
    if url:
        env["BULLETIN_DATABASE_URL"] = url
    return load_workspace(root, env=env)


def suppress_some(lists: object, source: Path, every: int) -> int:
    from composer.store import suppressions

    with source.open(encoding="utf-8", newline="") as handle:
        addresses = [row[0] for row in csv.reader(handle)][1::every]
    with lists.store.session() as session:  # type: ignore[attr-defined]
        for address in addresses:
            suppressions.suppress(session, lists.hasher, address, reason="unsubscribed", source="bench")  # type: ignore[attr-defined]
    return len(addresses)


def erase_one(lists: object, source: Path) -> None:
    from composer.lists.erasure import forget

    with source.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        next(rows)  # the first data row is among the unsubscribed; take the second
        forget(lists, next(rows)[0])  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to generate (default 100,000)")
    parser.add_argument("--database-url", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    from composer.lists.base import open_lists
    from composer.lists.importer import import_file
    from composer.lists.query import stats

    with tempfile.TemporaryDirectory(prefix="bulletin-bench-") as tmp:
        root = Path(tmp)
        source = root / "contacts.csv"
        make_csv(source, args.rows)
        ws = workspace(root / "ws", args.database_url)
        lists = open_lists(ws)  # type: ignore[arg-type]
        try:
            rss_before = max_rss_mib()
            started = time.perf_counter()
            report = import_file(lists, source, "practice")
            elapsed = time.perf_counter() - started
            rss_after = max_rss_mib()
            assert report.added == args.rows, report.counts()

            # 1% unsubscribe and one person is erased, so the re-import and stats do their
            # suppression matching, including hashing every address (for the erasure).
            unsubscribed = suppress_some(lists, source, every=100)
            erase_one(lists, source)

            started = time.perf_counter()
            again = import_file(lists, source, "practice")
            second = time.perf_counter() - started
            assert again.added == 0 and again.suppressed == unsubscribed + 1, again.counts()

            started = time.perf_counter()
            result = stats(lists)
            stats_time = time.perf_counter() - started
            assert result.contacts == args.rows - 1
            assert result.suppressed_contacts == unsubscribed
        finally:
            lists.close()

    rate = args.rows / elapsed
    print(f"import of {args.rows:,} new rows:  {elapsed:6.2f} s  {rate:9,.0f} rows/s  (target >= 20,000)")
    print(f"re-import, 1% now suppressed: {second:6.2f} s  {args.rows / second:9,.0f} rows/s")
    print(
        f"peak memory (max RSS):        {rss_after:6.0f} MiB, of which the import added "
        f"{rss_after - rss_before:.0f} MiB"
    )
    print(f"lists stats on {args.rows:,}:      {stats_time:6.3f} s  (target < 1 s)")
    if rate < 20_000 or stats_time >= 1:
        sys.exit(1)


if __name__ == "__main__":
    main()
