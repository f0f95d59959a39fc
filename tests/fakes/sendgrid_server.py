"""A SendGrid-compatible `POST /v3/mail/send` on loopback, for tests and the benchmark.

It is a real HTTP server (http.server in a thread) that checks requests the way the v3
API does: the bearer key, a JSON body, the required fields, at most 1000 personalizations
and 1000 recipients, no address twice in one request, `substitutions` and `custom_args`
at most 10,000 bytes each, no reserved header names. It answers 202 with `X-Message-Id`
and an empty body (200 in sandbox mode), and 400 with `{"errors":[{"message","field",
"help"}]}` like the real API.

It can be told to misbehave for the next N requests or for a fraction of them: answer a
status (429 with `X-RateLimit-Reset`, 5xx, 401), stall past the client's timeout, or drop
the connection. It records every accepted recipient, so tests can assert exactly-once.

Scheduled sends as SendGrid's "Cancel Scheduled Sends" API has them: `POST /v3/mail/batch`
makes a batch id (201), `GET /v3/mail/batch/{id}` validates one, mail/send takes `send_at`
(a Unix time at most 72 hours ahead) with a known `batch_id`, and `POST
/v3/user/scheduled_sends` `{"batch_id", "status": "cancel"|"pause"}` (201) cancels or
pauses a batch, refused later than 10 minutes before its `send_at`; `GET` lists them.
`delivered()` is what would reach inboxes: accepted messages minus cancelled batches.

Run it alone for the benchmark: `python -m tests.fakes.sendgrid_server --key KEY` prints
its URL; `GET /_fake/stats` returns counts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_ARGS_BYTES = 10_000
MAX_BODY_BYTES = 30 * 1024 * 1024
MAX_SCHEDULE_AHEAD = 72 * 3600  # send_at at most 72 hours ahead
CANCEL_DEADLINE = 600  # a batch cannot be cancelled or paused within 10 minutes of its send_at
RESERVED_HEADERS = {
    "to", "from", "subject", "reply-to", "content-type", "cc", "bcc", "x-sg-id", "x-sg-eid",
    "received", "dkim-signature", "content-transfer-encoding",
}  # fmt: skip
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class Fault:
    """What to do instead of a normal answer.

    kind: "status" (answer `status`), "stall" (read the request, accept it, then answer
    only after `stall` seconds), "drop" (close without reading or answering),
    "drop_after" (read and accept the request, then close without answering), or
    "accept_then_status" (accept the request, then answer `status`: a proxy in front of
    SendGrid whose upstream took the request and whose answer was lost, as a 502/504).
    `json_body` False answers the status with an HTML page instead of SendGrid's
    `{"errors": [...]}` body, as a load balancer or proxy does.
    """

    kind: str = "status"
    status: int = 500
    json_body: bool = True
    reset_in: float = 1.0  # for 429: X-RateLimit-Reset = now + reset_in
    stall: float = 5.0
    message: str | None = None  # for "status": the error message in the JSON body


@dataclass
class Accepted:
    email: str
    custom_args: dict[str, str]
    substitutions: dict[str, str]
    headers: dict[str, str]
    subject: str
    message_id: str
    html: str | None = None
    text: str | None = None
    send_at: int | None = None
    batch_id: str | None = None


@dataclass
class RequestLog:
    status: int | str
    personalizations: int
    errors: list[dict[str, Any]] = field(default_factory=list)


def _error(message: str, field: str | None) -> dict[str, Any]:
    return {"message": message, "field": field, "help": HELP}


def _json_bytes(value: Any) -> int:
    """Bytes of `value` as compact JSON; for a flat str→str object a cheap upper bound first."""
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        rough = 2 + sum(2 * (len(k) + len(v)) * 2 + 6 for k, v in value.items())
        if rough <= MAX_ARGS_BYTES:
            return rough
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _check_headers(headers: Any, where: str) -> list[dict[str, Any]]:
    if headers is None:
        return []
    if not isinstance(headers, dict):
        return [_error("The headers parameter must be an object of key/value pairs.", where)]
    errors = []
    for name, value in headers.items():
        if not isinstance(value, str):
            errors.append(_error(f"The header {name} value must be a string.", f"{where}.{name}"))
        if name.lower() in RESERVED_HEADERS:
            errors.append(
                _error(f"The {name} header is reserved and cannot be set in the headers parameter.", where)
            )
    return errors


def validate(payload: Any) -> list[dict[str, Any]]:
    """The errors SendGrid's v3 mail/send would return for this body (empty: accepted)."""
    if not isinstance(payload, dict):
        return [_error("The request body must be a JSON object.", None)]
    errors: list[dict[str, Any]] = []
    ps = payload.get("personalizations")
    if not isinstance(ps, list) or not ps:
        errors.append(
            _error("The personalizations field is required and must have at least one personalization.", "personalizations")
        )
        ps = []
    if len(ps) > MAX_PERSONALIZATIONS:
        errors.append(_error("You may not have more than 1000 personalizations per API request.", "personalizations"))
    seen: set[str] = set()
    total = 0
    for i, p in enumerate(ps):
        where = f"personalizations.{i}"
        if not isinstance(p, dict):
            errors.append(_error("Each personalization must be an object.", where))
            continue
        to = p.get("to")
        if not isinstance(to, list) or not to or not all(
            isinstance(r, dict) and isinstance(r.get("email"), str) and _EMAIL.match(r["email"]) for r in to
        ):
            errors.append(
                _error(
                    "The to array is required for all personalization objects, and must have at "
                    "least one email object with a valid email address.",
                    f"{where}.to",
                )
            )
            to = []
        for kind in ("to", "cc", "bcc"):
            for r in (p.get(kind) or []) if kind != "to" else to:
                if not isinstance(r, dict) or not isinstance(r.get("email"), str):
                    continue
                total += 1
                addr = r["email"].lower()
                if addr in seen:
                    errors.append(
                        _error(
                            "Each email address in the personalization block should be unique between "
                            f"to, cc, and bcc. We found the first duplicate instance of [{r['email']}] "
                            f"in the {where}.{kind} field.",
                            f"{where}.{kind}",
                        )
                    )
                seen.add(addr)
        for name in ("substitutions", "custom_args"):
            value = p.get(name)
            if value is None:
                continue
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                errors.append(_error(f"The {name} values must be strings.", f"{where}.{name}"))
            elif _json_bytes(value) > MAX_ARGS_BYTES:
                errors.append(_error(f"The {name} for each personalization must total less than 10000 bytes.", f"{where}.{name}"))
        errors.extend(_check_headers(p.get("headers"), f"{where}.headers"))
    if total > MAX_RECIPIENTS:
        errors.append(_error("The total number of recipients must be no more than 1000 per request.", "personalizations"))
    sender = payload.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("email"), str) or not _EMAIL.match(sender["email"]):
        errors.append(
            _error(
                "The from object must be provided for every email send. It is an object that "
                "requires an email parameter, but may also contain a name parameter.",
                "from",
            )
        )
    reply_to = payload.get("reply_to")
    if reply_to is not None and (not isinstance(reply_to, dict) or not _EMAIL.match(str(reply_to.get("email", "")))):
        errors.append(_error("The reply_to email does not contain a valid address.", "reply_to.email"))
    subject = payload.get("subject")
    every_has_subject = bool(ps) and all(isinstance(p, dict) and p.get("subject") for p in ps)
    if not (isinstance(subject, str) and subject) and not every_has_subject:
        errors.append(
            _error(
                "The subject is required. You can get around this requirement if you use a template "
                "with a subject defined or if every personalization has a subject.",
                "subject",
            )
        )
    content = payload.get("content")
    if payload.get("template_id") is None:
        if not isinstance(content, list) or not content:
            errors.append(_error("Unless a valid template_id is provided, the content parameter is required.", "content"))
            content = []
        types = []
        for i, c in enumerate(content):
            if not isinstance(c, dict) or not isinstance(c.get("type"), str):
                errors.append(_error("Each content object needs a type.", f"content.{i}.type"))
                continue
            if not isinstance(c.get("value"), str) or not c["value"]:
                errors.append(_error("The content value must be a string at least one character in length.", f"content.{i}.value"))
            types.append(c["type"])
        if "text/plain" in types and types.index("text/plain") != 0:
            errors.append(
                _error(
                    "If present, text/plain and text/html may only be provided in order of "
                    "text/plain first and then text/html.",
                    "content",
                )
            )
    errors.extend(_check_headers(payload.get("headers"), "headers"))
    asm = payload.get("asm")
    if asm is not None and (not isinstance(asm, dict) or not isinstance(asm.get("group_id"), int)):
        errors.append(_error("The asm group_id must be an integer.", "asm.group_id"))
    errors.extend(_check_tracking(payload.get("tracking_settings")))
    send_at = payload.get("send_at")
    if send_at is not None and (not isinstance(send_at, int) or isinstance(send_at, bool)):
        errors.append(_error("The send_at parameter must be a UNIX timestamp (an integer).", "send_at"))
    elif send_at is not None and send_at > time.time() + MAX_SCHEDULE_AHEAD:
        errors.append(_error("The send_at parameter cannot be more than 72 hours in the future.", "send_at"))
    return errors


def _check_tracking(settings: Any) -> list[dict[str, Any]]:
    """tracking_settings: each setting an object whose `enable` (and `enable_text`) is a boolean."""
    if settings is None:
        return []
    if not isinstance(settings, dict):
        return [_error("The tracking_settings must be an object.", "tracking_settings")]
    errors = []
    for name, value in settings.items():
        where = f"tracking_settings.{name}"
        if name not in ("click_tracking", "open_tracking", "subscription_tracking", "ganalytics"):
            errors.append(_error(f"Unknown tracking setting {name}.", where))
        elif not isinstance(value, dict) or not all(
            isinstance(value.get(k), bool) for k in ("enable", "enable_text") if k in value
        ) or "enable" not in value:
            errors.append(_error("The enable value must be a boolean.", f"{where}.enable"))
    return errors


def _sandbox(payload: dict[str, Any]) -> bool:
    sandbox = (payload.get("mail_settings") or {}).get("sandbox_mode") or {}
    return bool(isinstance(sandbox, dict) and sandbox.get("enable"))


class FakeSendGrid:
    """The server. Use as a context manager; `url` is the base to give the client."""

    def __init__(
        self,
        api_key: str = "SG.test-key",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_details: bool = True,
        render: bool = False,
        seed: int = 0,
    ) -> None:
        self.api_key = api_key
        self.keep_details = keep_details
        self.render = render
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._processed: list[dict[str, Any]] = []
        self._fractions: list[tuple[float, Fault]] = []
        self.latency = 0.0  # seconds to wait before each answer, like a distant API
        self._rng = random.Random(seed)
        self.accepted: list[Accepted] = []
        self.counts: Counter[str] = Counter()
        self.sandboxed: Counter[str] = Counter()
        self.requests: list[RequestLog] = []
        self.batches: dict[str, str | None] = {}  # batch id → None, "cancel" or "pause"
        self.batch_send_at: dict[str, int] = {}  # batch id → the earliest send_at sent with it
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeSendGrid:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-sendgrid", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, n: int = 1, kind: str = "status", **options: Any) -> None:
        """Misbehave on the next `n` requests (see `Fault`)."""
        with self._lock:
            self._faults.extend([Fault(kind=kind, **options)] * n)

    def fail_fraction(self, fraction: float, kind: str = "status", **options: Any) -> None:
        """Also misbehave this way on about `fraction` of requests from now on; several
        calls add up (0 turns every fraction off)."""
        with self._lock:
            if fraction > 0:
                self._fractions.append((fraction, Fault(kind=kind, **options)))
            else:
                self._fractions.clear()

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.pop(0)
            draw = self._rng.random()
            for fraction, fault in self._fractions:
                if draw < fraction:
                    return fault
                draw -= fraction
        return None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": len(self.requests),
                "accepted": sum(self.counts.values()),
                "distinct": len(self.counts),
                "duplicates": sum(n - 1 for n in self.counts.values() if n > 1),
                "rejected": sum(1 for r in self.requests if r.status == 400),
            }

    def processed_events(self) -> list[dict[str, Any]]:
        """The Event Webhook's `processed` event for every message SendGrid took, with its
        custom_args as top-level keys, as SendGrid posts them: what the ledger's
        reconciliation of `unknown` rows reads."""
        with self._lock:
            return list(self._processed)

    def delivered(self) -> list[Accepted]:
        """What would reach inboxes: accepted messages minus those in cancelled or paused batches."""
        with self._lock:
            return [a for a in self.accepted if not (a.batch_id and self.batches.get(a.batch_id))]

    def _new_batch(self) -> str:
        batch_id = secrets.token_hex(16)
        with self._lock:
            self.batches[batch_id] = None
        return batch_id

    def _set_batch_status(self, body: Any) -> tuple[int, dict[str, Any]]:
        """POST /v3/user/scheduled_sends: (status, answer)."""
        if not isinstance(body, dict) or body.get("status") not in ("cancel", "pause"):
            return 400, {"errors": [_error("status must be either cancel or pause", "status")]}
        batch_id = body.get("batch_id")
        with self._lock:
            if batch_id not in self.batches:
                return 400, {"errors": [_error("invalid batch id", "batch_id")]}
            if self.batches[batch_id] is not None:
                return 400, {"errors": [_error("batch already has a status; update it with PATCH", "batch_id")]}
            send_at = self.batch_send_at.get(batch_id)
            if send_at is not None and time.time() > send_at - CANCEL_DEADLINE:
                return 400, {"errors": [_error(
                    "a batch cannot be cancelled or paused later than 10 minutes before its send_at time", "batch_id"
                )]}  # fmt: skip
            self.batches[batch_id] = body["status"]
        return 201, {"batch_id": batch_id, "status": body["status"]}

    def duplicates(self) -> dict[str, int]:
        with self._lock:
            return {email: n for email, n in self.counts.items() if n > 1}

    # -- handling --------------------------------------------------------------------

    def _accept(self, payload: dict[str, Any], message_id: str) -> None:
        subject = str(payload.get("subject") or "")
        batch_id, send_at = payload.get("batch_id"), payload.get("send_at")
        if batch_id is not None and isinstance(send_at, int):
            with self._lock:
                self.batch_send_at[batch_id] = min(send_at, self.batch_send_at.get(batch_id, send_at))
        contents = {c.get("type"): c.get("value", "") for c in payload.get("content") or []}
        with self._lock:
            for p in payload["personalizations"]:
                subs = p.get("substitutions") or {}
                for r in p["to"]:
                    self.counts[r["email"].lower()] += 1
                    self._processed.append({
                        "email": r["email"], "event": "processed", "timestamp": int(time.time()),
                        "sg_event_id": secrets.token_urlsafe(16),
                        "sg_message_id": f"{message_id}.filter-{len(self._processed)}",
                        **(p.get("custom_args") or {}),
                    })
                    if not self.keep_details:
                        continue
                    item = Accepted(
                        email=r["email"],
                        custom_args=p.get("custom_args") or {},
                        substitutions=subs,
                        headers=p.get("headers") or {},
                        subject=str(p.get("subject") or subject),
                        message_id=message_id,
                        send_at=send_at if isinstance(send_at, int) else None,
                        batch_id=batch_id,
                    )
                    if self.render:
                        item.html = _substitute(contents.get("text/html", ""), subs)
                        item.text = _substitute(contents.get("text/plain", ""), subs)
                    self.accepted.append(item)

    def _log(self, status: int | str, personalizations: int, errors: list[dict[str, Any]] | None = None) -> None:
        with self._lock:
            self.requests.append(RequestLog(status, personalizations, errors or []))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "FakeSendGrid/1.0"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _answer(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            def _answer_fault(self, fault: Fault, headers: dict[str, str]) -> None:
                if not fault.json_body:
                    page = f"<html><body><h1>{fault.status} Bad Gateway</h1></body></html>".encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                message = fault.message or {401: "The provided authorization grant is invalid, expired, or revoked",
                           403: "access forbidden", 429: "too many requests"}.get(fault.status, "internal error")  # fmt: skip
                self._answer(fault.status, {"errors": [_error(message, None)]}, headers)

            def _drop(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {fake.api_key}":
                    return True
                fake._log(401, 0)
                self._answer(401, {"errors": [_error("The provided authorization grant is invalid, expired, or revoked", None)]})
                return False

            def do_GET(self) -> None:
                path = self.path.rstrip("/")
                if path == "/_fake/stats":
                    self._answer(200, fake.stats())
                    return
                known = path.startswith("/v3/mail/batch/") or path == "/v3/user/scheduled_sends"
                if not known:
                    self._answer(404, {"errors": [_error("not found", None)]})
                elif not self._authorized():
                    return
                elif path == "/v3/user/scheduled_sends":
                    with fake._lock:
                        listed = [{"batch_id": b, "status": st} for b, st in fake.batches.items() if st]
                    self._answer(200, listed)  # type: ignore[arg-type]
                elif path.rsplit("/", 1)[1] in fake.batches:
                    self._answer(200, {"batch_id": path.rsplit("/", 1)[1]})
                else:
                    self._answer(400, {"errors": [_error("invalid batch id", "batch_id")]})

            def _scheduling(self, path: str) -> None:
                if not self._authorized():
                    return
                if path == "/v3/mail/batch":
                    self._answer(201, {"batch_id": fake._new_batch()})
                    return
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                status, answer = fake._set_batch_status(body)
                self._answer(status, answer)

            def do_POST(self) -> None:
                path = self.path.rstrip("/")
                if path in ("/v3/mail/batch", "/v3/user/scheduled_sends"):
                    self._scheduling(path)
                    return
                if path != "/v3/mail/send":
                    self._answer(404, {"errors": [_error("not found", None)]})
                    return
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    fake._log(401, 0)
                    self._answer(
                        401,
                        {"errors": [_error("The provided authorization grant is invalid, expired, or revoked", None)]},
                    )
                    return
                fault = fake._next_fault()
                if fake.latency:
                    time.sleep(fake.latency)
                if fault is not None and fault.kind == "drop":
                    fake._log("drop", 0)
                    self._drop()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    fake._log(413, 0)
                    self._answer(413, {"errors": [_error("The request is too large.", None)]})
                    return
                raw = self.rfile.read(length)
                if fault is not None and fault.kind == "status":
                    fake._log(fault.status, 0)
                    headers = {}
                    if fault.status == 429:
                        headers = {
                            "X-RateLimit-Limit": "600",
                            "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": f"{time.time() + fault.reset_in:.3f}",
                        }
                    self._answer_fault(fault, headers)
                    return
                if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                    fake._log(400, 0)
                    self._answer(400, {"errors": [_error("Content-Type should be application/json.", None)]})
                    return
                try:
                    payload = json.loads(raw)
                except ValueError:
                    fake._log(400, 0)
                    self._answer(400, {"errors": [_error("Bad Request", None)]})
                    return
                errors = validate(payload)
                if isinstance(payload, dict) and payload.get("batch_id") is not None and payload["batch_id"] not in fake.batches:
                    errors.append(_error("invalid batch id", "batch_id"))
                count = len(payload.get("personalizations") or []) if isinstance(payload, dict) else 0
                if errors:
                    fake._log(400, count, errors)
                    self._answer(400, {"errors": errors})
                    return
                message_id = secrets.token_urlsafe(16)
                if _sandbox(payload):
                    with fake._lock:
                        for p in payload["personalizations"]:
                            for r in p["to"]:
                                fake.sandboxed[r["email"].lower()] += 1
                    fake._log(200, count)
                    self._answer(200)
                    return
                fake._accept(payload, message_id)
                if fault is not None and fault.kind == "accept_then_status":
                    fake._log(f"accepted then {fault.status}", count)
                    self._answer_fault(fault, {})
                    return
                if fault is not None and fault.kind == "drop_after":
                    fake._log("drop_after", count)
                    self._drop()
                    return
                if fault is not None and fault.kind == "stall":
                    fake._log("stall", count)
                    time.sleep(fault.stall)
                    with contextlib.suppress(OSError):
                        self._answer(202, None, {"X-Message-Id": message_id})
                    return
                fake._log(202, count)
                self._answer(202, None, {"X-Message-Id": message_id})

        return Handler


def _substitute(content: str, subs: dict[str, str]) -> str:
    """SendGrid substitutions are literal replacements, applied in one pass."""
    if not subs:
        return content
    pattern = re.compile("|".join(re.escape(k) for k in sorted(subs, key=len, reverse=True)))
    return pattern.sub(lambda m: subs[m.group(0)], content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", default="SG.test-key", help="the API key to accept")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    server = FakeSendGrid(args.key, port=args.port, keep_details=False)
    server.latency = args.latency
    print(server.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._server.serve_forever()


if __name__ == "__main__":
    main()
