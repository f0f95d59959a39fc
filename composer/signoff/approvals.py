"""Approvals bound to the exact content: who signed off which content hash, and whether
a send has the sign-off `[send] approvals_required` asks for.

An approval names a content hash (every variant's subject, preheader, HTML and text), so
a one-character edit after it leaves it standing for the earlier version only. Each keeps
the composition's manifest, so the refusal can say which sections changed since.

Who is who: an approval records the name typed (`--as`) and the OS user who ran the
command ('web' for a review link). The sender never counts as their own approver: an
approval made by the sender's OS user, or under a name that matches the sender's OS user
or account name, is not counted. On a machine account several people share, the OS user
cannot tell them apart, so approvals made from it never count for a send made from it;
officers who share an account approve through a review link instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from composer.compose import fingerprint
from composer.compose.model import Composition
from composer.errors import BulletinError, InputError
from composer.safetext import describe_control, first_control
from composer.store import audit
from composer.store.db import Store, current_actor
from composer.store.models import Approval

APPROVAL = "approval"
COMMENT = "comment"
SOURCE_CLI = "cli"
SOURCE_REVIEW = "review link"
MAX_NAME = 200
MAX_NOTE = 2000
_HONORIFICS = {"dr", "prof", "professor", "mr", "mrs", "ms", "miss", "mx", "sir", "dame"}


class NotApproved(BulletinError):
    """The send lacks the approvals bulletin.toml asks for (nothing was frozen or sent)."""

    exit_code = 1


@dataclass(frozen=True)
class ApprovalView:
    """One approval or comment, and how it stands against the current content."""

    id: int
    kind: str
    approver: str
    os_user: str
    source: str
    note: str | None
    content_hash: str
    created_at: datetime
    matches: bool
    changes: list[str] = field(default_factory=list)  # since its version, when it does not match


@dataclass(frozen=True)
class SignOff:
    """Whether the current content has the approvals a send needs."""

    required: int
    counted: list[str]  # distinct approvers of this exact content, the sender excluded
    not_counted: list[str]  # approvals of this content that are the sender's own
    earlier: list[ApprovalView]  # approvals of other versions

    @property
    def enough(self) -> bool:
        return len(self.counted) >= self.required


def clean_name(value: str, what: str = "the approver's name") -> str:
    """One line of 1-200 characters with no control characters."""
    name = " ".join(value.split())
    if not name:
        raise InputError(f"{what} is empty; give the name as it should stand in the record")
    if len(name) > MAX_NAME:
        raise InputError(f"{what} is {len(name)} characters; at most {MAX_NAME}")
    char = first_control(name)
    if char is not None:
        raise InputError(f"{what} holds the control character {describe_control(char)}")
    return name


def clean_note(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_NOTE:
        raise InputError(f"the note is {len(value)} characters; at most {MAX_NOTE}")
    char = first_control(value.replace("\n", " "), allow_tab=True)
    if char is not None:
        raise InputError(f"the note holds the control character {describe_control(char)}")
    return value.strip()


def person_key(name: str) -> str:
    """A name as compared: before the first comma (the role), case and titles ignored,
    letters only ("Dr Jane Smith, GPC England chair" → "jane smith")."""
    words = re.findall(r"[^\W\d_]+", name.split(",")[0].casefold())
    return " ".join(w for w in words if w not in _HONORIFICS)


def account_names(os_user: str) -> set[str]:
    """The names an OS user goes by: the login and the account's full name, compared as names."""
    names = {person_key(os_user)}
    try:
        import pwd  # POSIX only

        full = pwd.getpwnam(os_user).pw_gecos.split(",")[0]
    except (ImportError, KeyError, OSError):
        full = ""
    if full.strip():
        names.add(person_key(full))
    return names - {""}


def record(
    store: Store,
    composition: Composition,
    approver: str,
    *,
    kind: str = APPROVAL,
    note: str | None = None,
    source: str = SOURCE_CLI,
    os_user: str | None = None,
) -> ApprovalView:
    """Record an approval (or a comment) of `composition`'s exact content, with the audit
    entry, in one transaction."""
    approver = clean_name(approver)
    note = clean_note(note)
    if kind == COMMENT and not note:
        raise InputError("the comment is empty")
    if kind == APPROVAL and composition.report.errors:
        raise InputError(
            f"compose found {len(composition.report.errors)} error(s) in '{composition.key}'; a bulletin "
            "that cannot be sent cannot be approved. Run 'bulletin check' and fix it first"
        )
    user = os_user or current_actor()
    with store.session() as session:
        row = Approval(
            kind=kind, key=composition.key, content_hash=composition.content_hash, approver=approver,
            os_user=user[:100], source=source, note=note, manifest=composition.manifest,
        )  # fmt: skip
        session.add(row)
        session.flush()
        audit.record(
            session,
            "approve" if kind == APPROVAL else "review-comment",
            detail={"key": composition.key, "content_hash": composition.content_hash, "approval_id": row.id,
                    "approver": approver, "source": source},
            actor=user,
        )  # fmt: skip
        return _view(row, composition)


def _view(row: Approval, composition: Composition) -> ApprovalView:
    matches = row.content_hash == composition.content_hash
    return ApprovalView(
        id=row.id, kind=row.kind, approver=row.approver, os_user=row.os_user, source=row.source, note=row.note,
        content_hash=row.content_hash, created_at=row.created_at, matches=matches,
        changes=[] if matches else fingerprint.differences(row.manifest, composition.manifest),
    )  # fmt: skip


def listing(store: Store, composition: Composition) -> list[ApprovalView]:
    """Every approval and comment of this bulletin, oldest first, each against the current content."""
    with store.session() as session:
        rows = session.scalars(select(Approval).where(Approval.key == composition.key).order_by(Approval.id))
        return [_view(row, composition) for row in rows]


def sign_off(store: Store, composition: Composition, required: int, sender: str | None = None) -> SignOff:
    """Who counts towards `required` for a send of this content by OS user `sender`."""
    sender = sender or current_actor()
    own = account_names(sender)
    counted: dict[str, str] = {}
    not_counted: list[str] = []
    earlier: list[ApprovalView] = []
    for view in listing(store, composition):
        if view.kind != APPROVAL:
            continue
        if not view.matches:
            earlier.append(view)
        elif required and (view.os_user == sender or person_key(view.approver) in own):
            not_counted.append(view.approver)
        else:
            counted.setdefault(person_key(view.approver) or view.approver, view.approver)
    return SignOff(required, list(counted.values()), not_counted, earlier)


def refuse_unless_approved(status: SignOff, key: str, path: str, doing: str = "sending") -> None:
    """Raise NotApproved, saying who approved what and what changed, unless `status` is enough."""
    if status.enough:
        return
    lines = [
        f"not {doing} '{key}': bulletin.toml asks for {status.required} approval(s) of this exact "
        f"content by someone other than the sender, and it has {len(status.counted)}"
        + (f" ({', '.join(status.counted)})" if status.counted else "")
        + ". Nothing was frozen or sent."
    ]
    if status.not_counted:
        lines.append(f"Not counted: {', '.join(status.not_counted)} (the sender cannot approve their own send).")
    for view in status.earlier[-5:]:
        lines.append(
            f"{view.approver} approved an earlier version ({view.content_hash[:12]}, "
            f"{view.created_at:%Y-%m-%d %H:%M} UTC); since then: {'; '.join(view.changes)}."
        )
    lines.append(
        f"Ask an approver to run 'bulletin approve {path} --as \"NAME, ROLE\"', or send them the link "
        f"from 'bulletin review {path}'; 'bulletin approvals {path}' shows where it stands."
    )
    raise NotApproved("\n".join(lines))
