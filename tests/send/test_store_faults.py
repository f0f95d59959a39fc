"""A store error while the batches still in flight are settled is reported, not lost."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from composer.errors import StoreError, TransportError
from composer.send import send_bulletin
from composer.send.transports.base import Batch, Outcome, Transport
from composer.store.db import Store
from composer.store.models import DeliveryState
from composer.workspace import Workspace
from tests.send.conftest import add_contacts, make_composition


class TwoAtOnce(Transport):
    """Batch 1 fails after a moment; batch 2 goes out at once, and from then on the
    store refuses to record an answer (a disk that filled up, say)."""

    name = "two-at-once"
    max_batch = 1
    max_in_flight = 2

    def __init__(self, broken: threading.Event) -> None:
        super().__init__()
        self.broken = broken
        self.calls = 0
        self.lock = threading.Lock()

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> TwoAtOnce:
        raise AssertionError("made by the test")

    def _send_batch(self, batch: Batch) -> list[Outcome]:
        with self.lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            time.sleep(0.3)
            raise TransportError("connection reset", provider=self.name)
        self.broken.set()
        return [Outcome(r.key, DeliveryState.SENT, message_id="m-2") for r in batch.recipients]


def test_a_store_error_while_settling_is_logged_and_raised(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    add_contacts(workspace, [{"email": f"gp{i}@example.org", "segments": ["lmc"]} for i in range(4)])
    broken = threading.Event()
    store = Store(workspace.database_url())

    @event.listens_for(store.engine, "before_cursor_execute")
    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if broken.is_set() and statement.startswith("UPDATE deliveries") and "message_id" in statement:
            raise OperationalError(statement, None, Exception("database or disk is full"))

    try:
        with (
            caplog.at_level(logging.ERROR, logger="composer.send.loop"),
            pytest.raises(StoreError, match="disk is full"),
        ):
            send_bulletin(workspace, make_composition(), ["lmc"], transport=TwoAtOnce(broken), store=store)
    finally:
        store.close()
    assert "could not record batch" in caplog.text
