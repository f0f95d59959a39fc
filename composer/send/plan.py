"""What a send would do, worked out without changing anything: the --dry-run view and
the summary the confirmation prompt shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from composer.compose.model import Composition, group_findings
from composer.compose.variants import every_audience, split_name, variant_name
from composer.errors import InputError
from composer.identity import AddressHasher
from composer.send.campaign import (
    Audience,
    audience,
    check_content,
    find_campaign,
    same_content,
)
from composer.send.transports.base import Transport
from composer.signoff.approvals import SignOff, sign_off
from composer.signoff.errata import ErrataSource, errata_audience
from composer.store import ledger, ledger_reads
from composer.store.db import Store
from composer.store.models import DeliveryState
from composer.workspace import Workspace


@dataclass
class SegmentPlan:
    segment: str
    members: int
    suppressed: int
    in_earlier_segment: int
    recipients: int  # after suppressions, once per person
    already_sent: int
    unknown: int
    to_send: int  # what this run would send
    html_bytes: int | None


@dataclass
class VariantPlan:
    """One copy of the bulletin (`lmc`, `lmc+practice`) and who gets it in this campaign."""

    variant: str
    recipients: int  # frozen with this copy, plus newcomers who would be
    already_sent: int
    to_send: int
    html_bytes: int | None = None
    subject: str | None = None  # when compose rendered it


@dataclass
class SendPlan:
    """What a send would do, computed without changing anything."""

    key: str
    subject: str
    from_: str
    transport: str
    segments: list[SegmentPlan]
    warnings: list[str]
    campaign_id: int | None
    retry_unknown: bool
    test_to: str | None = None
    tracking: str = ""
    variants: list[VariantPlan] = field(default_factory=list)  # the copies that occur
    # Who the plan counted; the send freezes these rather than reading them again.
    audience: Audience | None = field(default=None, repr=False, compare=False)
    signoff: SignOff | None = None  # the approvals this content has (None for a test send)
    errata: ErrataSource | None = None  # --recipients-of: where the recipients come from
    frozen: bool = False  # a scheduled send: its recipients were frozen when it was scheduled

    @property
    def to_send(self) -> int:
        return sum(s.to_send for s in self.segments)

    @property
    def unknown(self) -> int:
        return sum(s.unknown for s in self.segments)

    @property
    def already_sent(self) -> int:
        return sum(s.already_sent for s in self.segments)


def tracking_summary(workspace: Workspace, transport: str) -> str:
    """What the send lets the ESP track, in words for the summary."""
    tracking = workspace.config.tracking
    if transport != "sendgrid" or not (tracking.opens or tracking.clicks):
        return "nothing (no open pixel, links go straight to their sites)"
    tracked = [name for name, on in (("opens", tracking.opens), ("clicks", tracking.clicks)) if on]
    who = "kept per person" if tracking.per_person else "counted, not who"
    return "SendGrid tracks " + " and ".join(tracked) + f" ({who}; [tracking] in bulletin.toml)"


def chosen_segments(composition: Composition, segments: Sequence[str] | None) -> list[str]:
    known = composition.segments
    if not segments:
        return known
    chosen: list[str] = []
    for name in segments:
        if name not in known:
            raise InputError(
                f"segment '{name}' is not one this bulletin goes to (it goes to: {', '.join(known)})"
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def transport_name(workspace: Workspace, transport: str | Transport | None) -> str:
    if isinstance(transport, Transport):
        return transport.name
    return transport or workspace.config.send.transport or "outbox"


@dataclass
class _LedgerView:
    """What the campaign's ledger already holds, by segment, by copy and by state."""

    by_state: dict[tuple[str, str], int] = field(default_factory=dict)
    by_copy: dict[tuple[str, str], int] = field(default_factory=dict)
    sendable: dict[str, int] = field(default_factory=dict)
    sendable_copies: dict[str, int] = field(default_factory=dict)
    hashes: set[str] = field(default_factory=set)
    contacts: set[int] = field(default_factory=set)


def _ledger_view(session: Session, campaign_id: int, retry_unknown: bool) -> _LedgerView:
    # Rows a crash left claimed go back to pending when the send starts; rows it left in
    # flight become unknown.
    states = (*ledger.sendable_states(retry_unknown), ledger.CLAIMED)
    if retry_unknown:
        states = (*states, ledger.IN_FLIGHT)
    hashes, contacts = ledger_reads.known(session, campaign_id)
    return _LedgerView(
        by_state=ledger_reads.segment_state_counts(session, campaign_id),
        by_copy=ledger_reads.variant_state_counts(session, campaign_id),
        sendable=ledger.sendable_counts(session, campaign_id, states),
        sendable_copies=ledger.sendable_counts(session, campaign_id, states, by_variant=True),
        hashes=hashes,
        contacts=contacts,
    )


def plan_send(
    workspace: Workspace,
    composition: Composition,
    segments: Sequence[str] | None = None,
    transport: str | Transport | None = None,
    *,
    retry_unknown: bool = False,
    test_to: str | None = None,
    store: Store | None = None,
    frozen: bool = False,
    recipients_of: str | None = None,
    include_unknown: bool = False,
) -> SendPlan:
    """Who would get what: read-only (the store is opened, and migrated if new). `frozen`:
    the campaign's recipients were frozen earlier (a scheduled send): nobody is added.
    `recipients_of`: an errata, to exactly that campaign's readers (composer.signoff.errata)."""
    chosen = chosen_segments(composition, segments)
    name = transport_name(workspace, transport)
    own_store = store is None
    store = store or Store(workspace.database_url())
    try:
        with store.session() as session:
            who, errata = _audience(session, workspace, composition, chosen, recipients_of, include_unknown)
            campaign = find_campaign(session, composition.key, composition.content_hash)
            if campaign is not None and test_to is None:
                check_content(session, campaign, composition)
            if campaign is not None and not same_content(campaign, composition):
                campaign = None
            view = _ledger_view(session, campaign.id, retry_unknown) if campaign is not None else _LedgerView()
        new_by_segment: dict[str, int] = {}
        new_by_copy: dict[str, int] = {}
        for c in [] if frozen else who.candidates:
            if not c.in_ledger(view.hashes, view.contacts):
                new_by_segment[c.segment] = new_by_segment.get(c.segment, 0) + 1
                new_by_copy[c.variant] = new_by_copy.get(c.variant, 0) + 1
        envelope = next(iter(composition.renders.values())).envelope
        return SendPlan(
            key=composition.key,
            subject=("[TEST] " if test_to else "") + envelope.subject,
            from_=f"{envelope.from_name} <{envelope.from_email}>",
            transport=name,
            segments=_segment_plans(composition, chosen, who, view, new_by_segment, test_to is not None),
            warnings=_warnings(composition),
            campaign_id=campaign.id if campaign is not None else None,
            retry_unknown=retry_unknown,
            test_to=test_to,
            tracking=tracking_summary(workspace, name),
            variants=_variant_plans(composition, chosen, who, view.by_copy, view.sendable_copies, new_by_copy, test_to is not None),
            audience=None if frozen else who,
            signoff=None if test_to else sign_off(store, composition, workspace.config.send.approvals_required),
            errata=errata,
            frozen=frozen,
        )
    finally:
        if own_store:
            store.close()


def _audience(
    session: Session,
    workspace: Workspace,
    composition: Composition,
    chosen: list[str],
    recipients_of: str | None,
    include_unknown: bool,
) -> tuple[Audience, ErrataSource | None]:
    hasher = AddressHasher(workspace.secret_keys())
    if recipients_of is None:
        return audience(session, hasher, chosen, composition.segment_order), None
    if chosen != composition.segments:
        raise InputError("an errata (--recipients-of) goes to the earlier campaign's readers; leave out --segment")
    return errata_audience(session, hasher, recipients_of, composition.key, composition.segment_order, include_unknown)


def _segment_plans(
    composition: Composition, chosen: list[str], who: Audience, view: _LedgerView, new: dict[str, int], test: bool
) -> list[SegmentPlan]:
    plans = []
    for seg in chosen:
        count = who.counts[seg]
        unknown = view.by_state.get((seg, DeliveryState.UNKNOWN), 0) + view.by_state.get((seg, DeliveryState.IN_FLIGHT), 0)
        plans.append(
            SegmentPlan(
                segment=seg,
                members=count.members,
                suppressed=count.suppressed,
                in_earlier_segment=count.in_earlier_segment,
                recipients=count.recipients,
                already_sent=view.by_state.get((seg, DeliveryState.SENT), 0),
                unknown=unknown,
                to_send=1 if test else view.sendable.get(seg, 0) + new.get(seg, 0),
                html_bytes=composition.report.sizes.get(seg),
            )
        )
    return plans


def _variant_plans(
    composition: Composition,
    chosen: list[str],
    who: Audience,
    by_copy: dict[tuple[str, str], int],
    sendable: dict[str, int],
    new: dict[str, int],
    test: bool,
) -> list[VariantPlan]:
    """Per copy that occurs: who has it in the ledger or would, and what this run sends.
    A test sends one of each copy the audience holds (each single segment, when nobody
    is on the lists yet)."""
    frozen: dict[str, int] = {}
    for (variant, _), n in by_copy.items():
        frozen[variant] = frozen.get(variant, 0) + n
    if test:
        names = list(dict.fromkeys(c.variant for c in who.candidates)) or chosen
    else:
        names = list(dict.fromkeys([*frozen, *new]))
    plans = [
        VariantPlan(
            variant=name,
            recipients=frozen.get(name, 0) + new.get(name, 0),
            already_sent=by_copy.get((name, "sent"), 0),
            to_send=1 if test else sendable.get(name, 0) + new.get(name, 0),
            html_bytes=composition.report.sizes.get(name),
        )
        for name in names
    ]
    order = composition.segment_order
    rank = {variant_name(a, order): i for i, a in enumerate(every_audience(order))}
    return sorted(plans, key=lambda p: (rank.get(p.variant, len(rank)), p.variant))


def with_copies(composition: Composition, plan: SendPlan) -> Composition:
    """`composition` with every copy the plan sends rendered and checked (a send composes
    only the single segments; the combinations its recipients need are added here), and
    the plan's sizes and warnings brought up to date."""
    missing = [v.variant for v in plan.variants if v.variant not in composition.renders and (v.to_send or plan.test_to)]
    if missing:
        if composition.more is None:
            raise InputError(f"this composition has no copy for {', '.join(missing)}; compose every variant first")
        composition = composition.more([split_name(name) for name in missing])
    for variant in plan.variants:
        variant.html_bytes = composition.report.sizes.get(variant.variant)
        render = composition.renders.get(variant.variant)
        variant.subject = render.envelope.subject if render is not None else None
    plan.warnings = _warnings(composition)
    return composition


def _warnings(composition: Composition) -> list[str]:
    """Compose warnings, each once, with the segments it was found in."""
    return [group.label() for group in group_findings(composition.report.warnings)]
