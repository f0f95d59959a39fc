"""Engines and sessions for the store; opening a store brings its schema to head."""

from __future__ import annotations

import getpass
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from composer.errors import StoreError
from composer.identity import redact_addresses

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    Statement parameters are kept out of error messages: they hold addresses and names,
    and a StoreError's message reaches the terminal and `bulletin serve`'s log.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if "///" in url and path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(path))
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten with zeros, not left in free pages: erasure must
            # erase on disk too. Set here, not left to how the SQLite library was built.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds personal data, and
    SQLite gives its -wal and -shm files the database file's permissions."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # SQLite will say what is wrong when it opens the file
    os.close(fd)


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (never drops data on the way up)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def is_current(engine: Engine) -> bool:
    """Whether the database is already at the head revision (cheap check before upgrade)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        current = MigrationContext.configure(conn).get_current_heads()
    return set(current) == set(script.get_heads())


class Store:
    """An open store: an engine plus a session factory, migrated to head."""

    def __init__(self, url: str, *, migrate: bool = True, **engine_kwargs: Any) -> None:
        self.url = url
        try:
            self.engine = make_engine(url, **engine_kwargs)
            if migrate and not is_current(self.engine):
                upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store at {safe_url(url)}: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"the store refused a change: {exc.__class__.__name__}: {exc}") from exc
        finally:
            session.close()

    def flush_to_disk(self, *, timeout: float = 10.0) -> bool:
        """After an erasure on SQLite, copy the write-ahead log into the database file and
        empty the log (`wal_checkpoint(TRUNCATE)`), so that the erased rows' old versions
        are nowhere on disk. Readers (a running `bulletin serve`) can make a checkpoint
        stop short; it is retried until it completes or `timeout` passes. Returns whether
        it completed (always True on PostgreSQL, which manages its own files)."""
        if self.engine.dialect.name != "sqlite":
            return True
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            with self.engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            if busy is not None and busy[0] == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def close(self) -> None:
        self.engine.dispose()


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


def current_actor() -> str:
    """The OS user running the command, for the audit log."""
    try:
        return getpass.getuser()
    except Exception:
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def current_command() -> str:
    """The command line as typed, for the audit log, with anything that looks like an
    address replaced: `lists suppress jane@example.org` must not put the address there."""
    argv = list(sys.argv)
    if argv:
        argv[0] = Path(argv[0]).name
    return redact_addresses(" ".join(argv))[:300]
