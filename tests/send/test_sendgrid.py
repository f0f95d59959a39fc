"""The SendGrid transport against the loopback SendGrid-compatible server."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

import pytest

from composer.errors import TransportAuthError, TransportError
from composer.send import send_bulletin
from composer.send.transports.base import Batch, PreparedRecipient
from composer.send.transports.sendgrid import SendGridTransport
from composer.tokens import TokenSigner
from composer.workspace import Workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.send.conftest import (
    API_KEY,
    add_contacts,
    bulk_contacts,
    free_port,
    ledger_rows,
    make_composition,
    render_for,
)


def transport(server: FakeSendGrid, **options: Any) -> SendGridTransport:
    api_key = options.pop("api_key", API_KEY)
    defaults: dict[str, Any] = {"host": server.url, "timeout": 2.0, "max_retries": 3, "backoff_base": 0.01}
    defaults.update(options)
    return SendGridTransport(api_key, **defaults)


def people(n: int, segment: str = "lmc", prefix: str = "gp") -> list[dict[str, Any]]:
    return [
        {"email": f"{prefix}{i}@example.org", "segments": [segment], "first_name": f"Pat{i}", "name": f"Dr Pat {i}"}
        for i in range(n)
    ]


def test_each_recipient_gets_one_personalization_with_its_tokens_and_headers(
    sg_workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    ids = add_contacts(
        sg_workspace,
        [
            {"email": "Ann@Example.org", "segments": ["lmc", "practice"], "first_name": "Ann", "name": "Dr Ann Lee", "organisation": "Lee Practice"},
            {"email": "bob@example.com", "segments": ["practice"], "first_name": None, "name": None},
            {"email": "cat@example.org", "segments": ["registrar"], "first_name": "Cat"},
        ],
    )
    summary = send_bulletin(sg_workspace, make_composition(), transport="sendgrid")
    assert (summary.sent, summary.failed, summary.unknown) == (3, 0, 0)
    assert sorted(fake_sendgrid.counts.items()) == [("ann@example.org", 1), ("bob@example.com", 1), ("cat@example.org", 1)]
    by_email = {a.email.lower(): a for a in fake_sendgrid.accepted}
    ann = by_email["ann@example.org"]
    signer = TokenSigner(sg_workspace.secret_keys())
    assert ann.custom_args == {"campaign_id": str(summary.campaign_id), "contact_id": str(ids[0])}
    url_part, mailto_part = ann.headers["List-Unsubscribe"].split(", ")
    assert url_part.startswith("<https://bulletin.example/u/") and mailto_part.startswith("<mailto:unsubscribe@bulletin.example?")
    claim = signer.read(url_part[len("<https://bulletin.example/u/") : -1])
    assert (claim.contact_id, claim.campaign_id) == (ids[0], summary.campaign_id)
    assert ann.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ann.html is not None and "Dear Ann," in ann.html and "(lmc+practice)" in ann.html  # the copy for both
    assert "Dear colleague," in (by_email["bob@example.com"].text or "")
    assert ann.substitutions["%%BT.email.t%%"] == "Ann@Example.org"
    rows = ledger_rows(sg_workspace)
    assert {r["state"] for r in rows} == {"sent"} and all(r["message_id"] for r in rows)


def test_batches_of_at_most_1000(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    bulk_contacts(sg_workspace, 2500, segment="practice")
    summary = send_bulletin(sg_workspace, make_composition(), ["practice"], transport="sendgrid")
    assert summary.sent == 2500
    assert [r.personalizations for r in fake_sendgrid.requests] == [1000, 1000, 500]
    assert fake_sendgrid.duplicates() == {}


def test_a_batch_over_the_limit_or_with_a_repeated_address_is_refused(fake_sendgrid: FakeSendGrid) -> None:
    render = render_for("lmc")

    def recipient(i: int, email: str) -> PreparedRecipient:
        return PreparedRecipient(i, email, i, {}, {})

    sg = transport(fake_sendgrid)
    twice = Batch(1, "k", "b", render, [recipient(1, "a@example.org"), recipient(2, "A@example.org ")])
    with pytest.raises(TransportError, match="same address"):
        sg.send(twice)
    too_many = Batch(1, "k", "b", render, [recipient(i, f"p{i}@example.org") for i in range(1001)])
    with pytest.raises(TransportError, match="over the limit of 1000"):
        sg.send(too_many)
    assert fake_sendgrid.requests == []


def post(server: FakeSendGrid, payload: Any, key: str = API_KEY) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.url + "/v3/mail/send",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            return response.status, {"X-Message-Id": response.headers.get("X-Message-Id"), "body": body}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def good_payload(n: int = 1) -> dict[str, Any]:
    return {
        "personalizations": [{"to": [{"email": f"p{i}@example.org"}]} for i in range(n)],
        "from": {"email": "gpc-bulletin@bulletin.example"},
        "subject": "Hello",
        "content": [{"type": "text/plain", "value": "hi"}, {"type": "text/html", "value": "<p>hi</p>"}],
    }


def test_fake_server_checks_requests_like_the_api(fake_sendgrid: FakeSendGrid) -> None:
    status, answer = post(fake_sendgrid, good_payload())
    assert status == 202 and answer["X-Message-Id"] and answer["body"] == b""
    status, answer = post(fake_sendgrid, good_payload(), key="wrong")
    assert status == 401
    dup = good_payload(2)
    dup["personalizations"][1]["to"][0]["email"] = "P0@example.org"
    status, answer = post(fake_sendgrid, dup)
    assert status == 400
    assert answer["errors"][0]["field"] == "personalizations.1.to"
    assert "unique" in answer["errors"][0]["message"]
    status, answer = post(fake_sendgrid, good_payload(1001))
    assert status == 400 and any(e["field"] == "personalizations" for e in answer["errors"])
    reversed_content = good_payload()
    reversed_content["content"].reverse()
    assert post(fake_sendgrid, reversed_content)[0] == 400
    no_subject = good_payload()
    del no_subject["subject"]
    assert post(fake_sendgrid, no_subject)[1]["errors"][0]["field"] == "subject"
    big = good_payload()
    big["personalizations"][0]["substitutions"] = {"%x%": "y" * 10_001}
    assert post(fake_sendgrid, big)[1]["errors"][0]["field"] == "personalizations.0.substitutions"
    reserved = good_payload()
    reserved["personalizations"][0]["headers"] = {"Reply-To": "x@example.org"}
    assert post(fake_sendgrid, reserved)[0] == 400
    sandbox = good_payload()
    sandbox["mail_settings"] = {"sandbox_mode": {"enable": True}}
    assert post(fake_sendgrid, sandbox)[0] == 200
    assert fake_sendgrid.counts == {"p0@example.org": 1}


def test_429_waits_until_the_reset_time(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(sg_workspace, people(3))
    waits: list[float] = []
    sg = transport(fake_sendgrid, sleep=waits.append)
    fake_sendgrid.fail_next(2, status=429, reset_in=0.5)
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=sg)
    assert summary.sent == 3 and sg.stats.rate_limited == 2
    assert len(waits) == 2 and all(0.05 <= w <= 0.6 for w in waits)


def test_5xx_is_retried_with_backoff_then_succeeds(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(sg_workspace, people(3))
    waits: list[float] = []
    sg = transport(fake_sendgrid, sleep=waits.append, backoff_base=0.1)
    fake_sendgrid.fail_next(3, status=503)
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=sg)
    assert summary.sent == 3 and sg.stats.retries == 3
    # exponential with jitter: each wait is in [base*2^n / 2, base*2^n]
    assert [0.05 <= waits[0] <= 0.1, 0.1 <= waits[1] <= 0.2, 0.2 <= waits[2] <= 0.4] == [True] * 3
    assert fake_sendgrid.duplicates() == {}


def test_5xx_past_the_retry_budget_marks_the_batch_failed_and_a_rerun_sends_it(
    sg_workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    add_contacts(sg_workspace, people(3))
    fake_sendgrid.fail_next(3, status=500)
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid, max_retries=2))
    assert (summary.sent, summary.failed) == (0, 3)
    assert "SendGrid HTTP 500" in summary.errors[0] and "gave up after 3 attempts" in summary.errors[0]
    assert {r["state"] for r in ledger_rows(sg_workspace)} == {"failed"}
    again = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert again.sent == 3
    assert sorted(fake_sendgrid.counts.values()) == [1, 1, 1]


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_after_the_request_was_taken_is_unknown_and_not_retried(
    sg_workspace: Workspace, fake_sendgrid: FakeSendGrid, status: int
) -> None:
    add_contacts(sg_workspace, people(3))
    fake_sendgrid.fail_next(1, kind="accept_then_status", status=status, json_body=False)
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert (summary.sent, summary.unknown) == (0, 3)
    assert f"HTTP {status} from a gateway" in summary.errors[0]
    assert sorted(fake_sendgrid.counts.values()) == [1, 1, 1]  # each took one copy, no more
    assert fake_sendgrid.stats()["requests"] == 1


def test_a_5xx_without_sendgrids_error_body_is_unknown(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(sg_workspace, people(2))
    fake_sendgrid.fail_next(1, status=500, json_body=False)
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert summary.unknown == 2 and fake_sendgrid.stats()["requests"] == 1


def test_a_502_is_unknown_even_with_a_json_body(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(sg_workspace, people(2))
    fake_sendgrid.fail_next(1, status=502)
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert summary.unknown == 2


def test_connection_refused_is_retried_then_failed(sg_workspace: Workspace) -> None:
    add_contacts(sg_workspace, people(2))
    waits: list[float] = []
    sg = SendGridTransport(API_KEY, host=f"http://127.0.0.1:{free_port()}", max_retries=2, backoff_base=0.01, sleep=waits.append)
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=sg)
    assert summary.failed == 2 and len(waits) == 2
    assert "could not send the request" in summary.errors[0]


def test_timeout_after_sending_is_unknown_and_not_resent_without_retry_unknown(
    sg_workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    add_contacts(sg_workspace, people(2))
    fake_sendgrid.fail_next(1, kind="stall", stall=1.5)
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid, timeout=0.3))
    assert summary.unknown == 2 and summary.unknown_total == 2
    assert "may or may not have accepted" in summary.errors[0]
    again = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert again.attempted == 0 and again.unknown_total == 2
    assert sorted(fake_sendgrid.counts.values()) == [1, 1]
    retried = send_bulletin(
        sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid), retry_unknown=True, unknown_grace=0
    )
    assert retried.sent == 2 and retried.totals == {"sent": 2}


def test_dropped_connection_after_the_request_is_unknown(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(sg_workspace, people(2))
    fake_sendgrid.fail_next(1, kind="drop_after")
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert summary.unknown == 2


def test_400_shows_sendgrids_errors_marks_that_batch_failed_and_goes_on(
    sg_workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    add_contacts(sg_workspace, [{"email": "not-an-address@localhost", "segments": ["lmc"]}, *people(2, "practice")])
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc", "practice"], transport=transport(fake_sendgrid))
    assert (summary.sent, summary.failed) == (2, 1)
    assert summary.errors[0].startswith("SendGrid HTTP 400: The to array is required")
    assert "(field personalizations.0.to)" in summary.errors[0]
    failed = [r for r in ledger_rows(sg_workspace) if r["state"] == "failed"]
    assert len(failed) == 1 and "personalizations.0.to" in failed[0]["error"]


def test_401_stops_at_once_and_marks_nothing_sent(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(sg_workspace, people(3))
    with pytest.raises(TransportAuthError) as info:
        send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid, api_key="SG.wrong"))
    message = str(info.value)
    assert "the SendGrid API key was refused" in message and "HTTP 401" in message and "authorization grant" in message
    assert {r["state"] for r in ledger_rows(sg_workspace)} == {"pending"}
    assert fake_sendgrid.counts == {}


def test_403_midway_stops_and_keeps_earlier_batches(sg_workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(sg_workspace, people(2, "lmc") + people(2, "practice", prefix="pm"))
    sg = transport(fake_sendgrid)
    original = sg._post
    first_answered = threading.Event()

    def post_then_refuse(payload: dict[str, Any]) -> Any:
        # Two batches may be in flight at once: let lmc's be answered before the key is
        # refused for practice's, so the outcome does not depend on thread timing.
        recipients = [p["to"][0]["email"] for p in payload["personalizations"]]
        if any(r.startswith("pm") for r in recipients):
            assert first_answered.wait(10)
            fake_sendgrid.fail_next(1, status=403)
            return original(payload)
        try:
            return original(payload)
        finally:
            first_answered.set()

    sg._post = post_then_refuse  # type: ignore[method-assign]
    with pytest.raises(TransportAuthError):
        send_bulletin(sg_workspace, make_composition(), ["lmc", "practice"], transport=sg)
    states = sorted((r["segment"], r["state"]) for r in ledger_rows(sg_workspace))
    assert states == [("lmc", "sent"), ("lmc", "sent"), ("practice", "pending"), ("practice", "pending")]


def test_sandbox_mode_delivers_nothing_and_marks_nobody_sent(workspace: Workspace, fake_sendgrid: FakeSendGrid) -> None:
    add_contacts(workspace, people(2))
    summary = send_bulletin(workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid, sandbox_mode=True))
    assert summary.sent == 0 and summary.failed == 2
    assert "sandbox" in summary.notes[0]
    assert fake_sendgrid.counts == {} and sum(fake_sendgrid.sandboxed.values()) == 2


def test_payload_has_asm_group_reply_to_and_text_before_html(fake_sendgrid: FakeSendGrid) -> None:
    sg = transport(fake_sendgrid, asm_group_id=4242)
    batch = Batch(7, "k", "b", render_for("lmc"), [PreparedRecipient(1, "a@example.org", 9, {"%%BT.name.h%%": "A"}, {})])
    payload = sg.build_payload(batch, list(batch.recipients))
    assert payload["asm"] == {"group_id": 4242}
    assert [c["type"] for c in payload["content"]] == ["text/plain", "text/html"]
    assert payload["reply_to"] == {"email": "info.gpc@bulletin.example"}
    assert payload["personalizations"][0]["custom_args"] == {"campaign_id": "7", "contact_id": "9"}
    assert "mail_settings" not in payload
    # explicit on every request, so the account's defaults never rewrite links or add a pixel
    assert payload["tracking_settings"] == {
        "click_tracking": {"enable": False, "enable_text": False},
        "open_tracking": {"enable": False},
        "subscription_tracking": {"enable": False},
    }


def test_tracking_follows_the_workspace_setting(sg_workspace: Workspace) -> None:
    import dataclasses

    config = sg_workspace.config.model_copy(update={"tracking": sg_workspace.config.tracking.model_copy(update={"clicks": True})})
    sg = SendGridTransport.from_workspace(dataclasses.replace(sg_workspace, config=config))
    batch = Batch(7, "k", "b", render_for("lmc"), [PreparedRecipient(1, "a@example.org", 9, {}, {})])
    settings = sg.build_payload(batch, list(batch.recipients))["tracking_settings"]
    assert settings["click_tracking"] == {"enable": True, "enable_text": True}
    assert settings["open_tracking"] == {"enable": False} and settings["subscription_tracking"] == {"enable": False}
    from composer.send.plan import tracking_summary

    assert tracking_summary(dataclasses.replace(sg_workspace, config=config), "sendgrid").startswith("SendGrid tracks clicks")
    assert tracking_summary(sg_workspace, "sendgrid").startswith("nothing")


def test_an_idn_domain_goes_as_punycode_and_a_non_ascii_local_part_fails_alone(
    sg_workspace: Workspace, fake_sendgrid: FakeSendGrid
) -> None:
    add_contacts(sg_workspace, [
        {"email": "ann@bücher.example", "segments": ["lmc"]},
        {"email": "josé@example.org", "segments": ["lmc"]},
    ])
    summary = send_bulletin(sg_workspace, make_composition(), ["lmc"], transport=transport(fake_sendgrid))
    assert (summary.sent, summary.failed) == (1, 1)
    assert set(fake_sendgrid.counts) == {"ann@xn--bcher-kva.example"}
    assert "SendGrid accepts such addresses and then drops" in summary.errors[0]
