"""Helpers for the lists tests."""

from __future__ import annotations

from pathlib import Path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a CSV exactly as given (no newline translation)."""
    path.write_bytes(text.encode(encoding))
    return path
