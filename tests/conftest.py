"""Shared fixtures: a throwaway workspace and a store on SQLite and, when available, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, WORKSPACE_PARTS, copy_workspace

__all__ = ["REPO", "TEST_SECRET", "WORKSPACE_PARTS"]
TEST_SECRET = "test-secret-key-not-for-production"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the golden files under tests/golden from the current output.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def workspace_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's workspace data in a temporary folder."""
    root = copy_workspace(tmp_path / "ws")
    monkeypatch.setenv("BULLETIN_SECRET_KEY", TEST_SECRET)
    monkeypatch.delenv("BULLETIN_OLD_SECRET_KEYS", raising=False)
    monkeypatch.delenv("BULLETIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("BULLETIN_WORKSPACE", raising=False)
    return root


@pytest.fixture
def workspace(workspace_dir: Path):  # type: ignore[no-untyped-def]
    from composer.workspace import load_workspace

    return load_workspace(workspace_dir)


def _postgres_url() -> str | None:
    return os.environ.get("BULLETIN_TEST_DATABASE_URL") or None


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty store: SQLite always; PostgreSQL when configured.

    Each PostgreSQL test gets its own schema, so concurrent runs do not collide.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = _postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need BULLETIN_TEST_DATABASE_URL (set by .ci/run)")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store_workspace(workspace_dir: Path, store_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A workspace whose store is `store_url` (SQLite or PostgreSQL)."""
    from composer.workspace import load_workspace

    monkeypatch.setenv("BULLETIN_DATABASE_URL", store_url)
    return load_workspace(workspace_dir)
