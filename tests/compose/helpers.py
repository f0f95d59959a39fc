"""Helpers for compose tests: write a small bulletin into a test workspace."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

MINIMAL = """\
subject: Test bulletin
preheader: A short test preheader
issue_date: 2026-06-04
segments: [lmc, practice, registrar]
sections:
  - block: intro
    greeting: "Dear {{ first_name }}"
  - block: article
    audiences: [practice]
    headline: Practice news
    body: |
      Practices should read [the contract guidance](https://www.bma.org.uk/contract).
"""


def write_bulletin(root: Path, text: str = MINIMAL, name: str = "test.yaml") -> Path:
    path = root / "bulletins" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return path
