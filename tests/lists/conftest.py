"""Fixtures for the lists tests: an open store (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from composer.lists.base import Lists, open_lists


@pytest.fixture
def lists(store_workspace) -> Iterator[Lists]:  # type: ignore[no-untyped-def]
    opened = open_lists(store_workspace)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def lite_lists(workspace) -> Iterator[Lists]:  # type: ignore[no-untyped-def]
    """SQLite only, for tests about files rather than the database."""
    opened = open_lists(workspace)
    try:
        yield opened
    finally:
        opened.close()
