"""serve's background jobs keep running when a round fails (composer.web.jobs)."""

from __future__ import annotations

import logging
import threading

import pytest

from composer.web.jobs import Every


def test_a_failed_round_is_logged_and_the_next_round_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    rounds: list[int] = []
    second = threading.Event()

    def job() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the mailbox server is down")
        second.set()

    with caplog.at_level(logging.ERROR, logger="bulletin.jobs"):
        every = Every("inbox", 0.01, job).start()
        assert second.wait(5)
        every.stop()
    assert len(rounds) >= 2
    assert "inbox: a round failed; it is tried again" in caplog.text and "the mailbox server is down" in caplog.text
    assert not every._thread.is_alive()
