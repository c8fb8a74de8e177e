"""Use cases of the legacy pipeline on a Session: pledges, cases and their stages, distributions booked in
the ledger, recognition per year, the forecast, follow-up tasks and the "possible legacy?" check.

Services never commit; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.bequests import rules
from donorcrm.bequests.models import (
    BequestCase,
    BequestCheck,
    BequestContact,
    BequestDocument,
    BequestEstimate,
    BequestPledge,
    BequestStageEvent,
    BequestTask,
    CheckStatus,
    ContactRole,
    DocumentKind,
    PledgeStatus,
    TaskStatus,
)
from donorcrm.bequests.rules import DutchForm, LegacyKind, Stage
from donorcrm.config import get_settings
from donorcrm.db import utcnow
from donorcrm.donors.models import Donor, DonorStatus
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.gifts.categories import IncomeCategory, PaymentChannel
from donorcrm.gifts.models import Gift
from donorcrm.money import Money

GIFT_SOURCE = "bequest"


def _today() -> dt.date:
    return utcnow().date()


# --- pledges ------------------------------------------------------------------------------------------


def create_pledge(session: Session, donor_id: int, *, learned_on: dt.date, learned_how: str = "conversation",
                  kind: LegacyKind | str | None = None, estimate: Money | None = None,
                  confirmed: bool = False, steward: str | None = None, note: str | None = None) -> BequestPledge:
    """Record that a living donor told us (or we believe) they remember us in their will."""
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}")
    if donor.status != DonorStatus.ACTIVE:
        raise InvalidState(f"donor {donor_id} is {donor.status}; a pledge is for living donors")
    pledge = BequestPledge(
        donor_id=donor_id, learned_on=learned_on, learned_how=learned_how,
        status=PledgeStatus.CONFIRMED if confirmed else PledgeStatus.INTENDED,
        kind=LegacyKind(kind) if kind else None,
        estimated_minor=estimate.minor if estimate else None, currency=estimate.currency if estimate else "EUR",
        steward=steward, note=note,
    )
    session.add(pledge)
    session.flush()
    audit.record(session, "bequest.pledge", "bequest_pledge", pledge.id,
                 after={"donor_id": donor_id, "learned_on": learned_on, "how": learned_how})
    return pledge


def record_pledge_contact(session: Session, pledge_id: int, on: dt.date,
                          next_contact_on: dt.date | None = None) -> BequestPledge:
    pledge = _pledge(session, pledge_id)
    pledge.last_contact_on = on
    pledge.next_contact_on = next_contact_on
    session.add(pledge)
    session.flush()
    return pledge


def withdraw_pledge(session: Session, pledge_id: int, on: dt.date, reason: str = "") -> BequestPledge:
    pledge = _pledge(session, pledge_id)
    if pledge.status not in (PledgeStatus.INTENDED, PledgeStatus.CONFIRMED):
        raise InvalidState(f"pledge {pledge_id} is {pledge.status}")
    pledge.status = PledgeStatus.WITHDRAWN
    session.add(pledge)
    session.flush()
    audit.record(session, "bequest.pledge_withdrawn", "bequest_pledge", pledge_id, after={"on": on, "reason": reason})
    return pledge


def pledges_for_donor(session: Session, donor_id: int) -> list[BequestPledge]:
    """For the donor profile: every pledge, newest first."""
    return list(session.execute(
        select(BequestPledge).where(BequestPledge.donor_id == donor_id)
        .order_by(BequestPledge.learned_on.desc(), BequestPledge.id.desc())  # type: ignore[attr-defined]
    ).scalars())


def _pledge(session: Session, pledge_id: int) -> BequestPledge:
    pledge = session.get(BequestPledge, pledge_id)
    if pledge is None:
        raise NotFound(f"no pledge {pledge_id}")
    return pledge


def _live_pledge(session: Session, donor_id: int) -> BequestPledge | None:
    return session.execute(
        select(BequestPledge).where(
            BequestPledge.donor_id == donor_id,
            BequestPledge.status.in_([PledgeStatus.INTENDED, PledgeStatus.CONFIRMED]),  # type: ignore[attr-defined]
        ).order_by(BequestPledge.id.desc())  # type: ignore[attr-defined]
    ).scalars().first()


# --- cases --------------------------------------------------------------------------------------------


def get_case(session: Session, case_id: int) -> BequestCase:
    case = session.get(BequestCase, case_id)
    if case is None:
        raise NotFound(f"no legacy case {case_id}")
    return case


def find_case(session: Session, key: str) -> BequestCase:
    """A case by id or by reference (as typed on the command line)."""
    if key.isdigit():
        return get_case(session, int(key))
    case = session.execute(select(BequestCase).where(BequestCase.reference == key)).scalars().first()
    if case is None:
        raise NotFound(f"no legacy case {key}")
    return case


def open_case(
    session: Session,
    *,
    notified_on: dt.date,
    kind: LegacyKind | str,
    donor_id: int | None = None,
    deceased_name: str | None = None,
    deceased_on: dt.date | None = None,
    dutch_form: DutchForm | str | None = None,
    share_bp: int | None = None,
    item: str | None = None,
    condition: str | None = None,
    estimate: Money | None = None,
    estimate_source: str = "notification",
    estimate_reliable: bool = False,
    currency: str = "EUR",
    note: str | None = None,
) -> BequestCase:
    """Open a case on the notice of a death. The deceased may be a donor (then marked deceased, their pledge
    and any open "possible legacy?" check linked) or someone we never knew."""
    try:
        kind = LegacyKind(kind)
        form = DutchForm(dutch_form) if dutch_form else None
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    problems = []
    if kind == LegacyKind.RESIDUARY and not (share_bp and 0 < share_bp <= 10_000):
        problems.append("a residuary legacy needs a share between 0.01% and 100% (share_bp 1..10000)")
    if share_bp is not None and not 0 < share_bp <= 10_000:
        problems.append("share_bp must be between 1 and 10000")
    if kind == LegacyKind.SPECIFIC and not item:
        problems.append("a specific legacy needs the item")
    if kind == LegacyKind.CONTINGENT and not condition:
        problems.append("a contingent legacy needs its condition")
    if deceased_on and deceased_on > notified_on:
        problems.append("the death cannot come after the notification")
    donor = None
    if donor_id is not None:
        donor = session.get(Donor, donor_id)
        if donor is None:
            raise NotFound(f"no donor {donor_id}")
        deceased_name = deceased_name or donor.display_name
    if not deceased_name:
        problems.append("the deceased needs a name (or a donor)")
    if problems:
        raise ValidationError("; ".join(problems))
    pledge = None
    if donor is not None:
        if donor.status == DonorStatus.ACTIVE:
            from donorcrm.donors.service import mark_deceased

            mark_deceased(session, donor.id, deceased_on, source="bequest")  # type: ignore[arg-type]
        pledge = _live_pledge(session, donor.id)  # type: ignore[arg-type]
        if pledge is None:
            pledge = session.execute(select(BequestPledge).where(
                BequestPledge.donor_id == donor.id, BequestPledge.status == PledgeStatus.DECEASED,
            ).order_by(BequestPledge.id.desc())).scalars().first()  # type: ignore[attr-defined]
        if pledge is not None and pledge.status != PledgeStatus.DECEASED:
            pledge.status = PledgeStatus.DECEASED
            session.add(pledge)
    case = BequestCase(
        reference=f"tmp-{uuid.uuid4().hex[:16]}", donor_id=donor_id, pledge_id=pledge.id if pledge else None,
        deceased_name=deceased_name, deceased_on=deceased_on, notified_on=notified_on, kind=kind,
        dutch_form=form, share_bp=share_bp, item=item, condition=condition, stage=Stage.NOTIFIED,
        stage_since=notified_on, currency=currency, note=note,
    )
    session.add(case)
    session.flush()
    case.reference = f"L{notified_on.year}-{case.id:05d}"
    session.add(BequestStageEvent(case_id=case.id, from_stage=None, to_stage=Stage.NOTIFIED,  # type: ignore[arg-type]
                                  entered_on=notified_on, actor=audit.current_actor()))
    if estimate is not None:
        set_estimate(session, case.id, estimate, on=notified_on, source=estimate_source,  # type: ignore[arg-type]
                     reliable=estimate_reliable)
    if donor is not None:
        for check in session.execute(select(BequestCheck).where(
                BequestCheck.donor_id == donor.id, BequestCheck.status == CheckStatus.OPEN)).scalars():
            check.status, check.case_id, check.closed_on = CheckStatus.CASE_OPENED, case.id, notified_on
            session.add(check)
    session.flush()
    audit.record(session, "bequest.open", "bequest_case", case.id, after={
        "reference": case.reference, "donor_id": donor_id, "kind": str(kind), "notified_on": notified_on})
    return case


def add_contact(session: Session, case_id: int, role: ContactRole | str, name: str, **details: Any) -> BequestContact:
    get_case(session, case_id)
    try:
        role = ContactRole(role)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    allowed = {"organisation", "email", "phone", "address", "share_bp", "birth_date", "donor_id"}
    unknown = set(details) - allowed
    if unknown:
        raise ValidationError(f"unknown contact fields: {', '.join(sorted(unknown))}")
    contact = BequestContact(case_id=case_id, role=role, name=name, **details)
    session.add(contact)
    session.flush()
    audit.record(session, "bequest.contact", "bequest_case", case_id, after={"role": str(role), "name": name})
    return contact


def contacts(session: Session, case_id: int, role: ContactRole | str | None = None) -> list[BequestContact]:
    stmt = select(BequestContact).where(BequestContact.case_id == case_id)
    if role is not None:
        stmt = stmt.where(BequestContact.role == str(role))
    return list(session.execute(stmt.order_by(BequestContact.id)).scalars())


def add_document(session: Session, case_id: int, kind: DocumentKind | str, received_on: dt.date,
                 note: str | None = None) -> BequestDocument:
    """Note a document received. The deed of distribution (or the estate accounts) fixes the latest date
    the legacy is recognised as income."""
    case = get_case(session, case_id)
    try:
        kind = DocumentKind(kind)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    doc = BequestDocument(case_id=case_id, kind=kind, received_on=received_on, note=note)
    session.add(doc)
    if kind in (DocumentKind.DEED_OF_DISTRIBUTION, DocumentKind.ESTATE_ACCOUNTS):
        if case.deed_on is None or received_on < case.deed_on:
            case.deed_on = received_on
            session.add(case)
    session.flush()
    audit.record(session, "bequest.document", "bequest_case", case_id,
                 after={"kind": str(kind), "received_on": received_on})
    return doc


def documents(session: Session, case_id: int) -> list[BequestDocument]:
    return list(session.execute(select(BequestDocument).where(BequestDocument.case_id == case_id)
                                .order_by(BequestDocument.received_on, BequestDocument.id)).scalars())


def set_estimate(session: Session, case_id: int, amount: Money, *, on: dt.date, source: str,
                 reliable: bool = False) -> BequestEstimate:
    """A new estimate of our whole share (gross of any usufruct). `reliable` says it can be relied on for
    the annual accounts (an executor's inventory, a fixed pecuniary sum), which recognises it as income."""
    case = get_case(session, case_id)
    if amount.currency != case.currency:
        raise ValidationError(f"case {case.reference} is in {case.currency}, not {amount.currency}")
    if amount.minor < 0:
        raise ValidationError("an estimate cannot be negative")
    if case.stage in rules.TERMINAL:
        raise InvalidState(f"case {case.reference} is {case.stage}")
    row = BequestEstimate(case_id=case_id, estimated_on=on, amount_minor=amount.minor, reliable=reliable,
                          source=source, actor=audit.current_actor())
    session.add(row)
    before = {"estimate": case.estimated_minor, "reliable": case.estimate_reliable}
    if case.estimated_on is None or on >= case.estimated_on:
        case.estimated_minor, case.estimated_on = amount.minor, on
        case.estimate_source, case.estimate_reliable = source, reliable
        case.updated_at = utcnow()
        session.add(case)
    session.flush()
    audit.record(session, "bequest.estimate", "bequest_case", case_id, before=before,
                 after={"estimate": amount.minor, "reliable": reliable, "on": on, "source": source})
    return row


def set_usufruct(session: Session, case_id: int, value: Money, ends_on: dt.date | None = None) -> BequestCase:
    """The value of a life tenant's usufruct on our share; it lowers the recognised value until it ends."""
    case = get_case(session, case_id)
    if value.currency != case.currency or value.minor < 0:
        raise ValidationError("the usufruct value must be a non-negative amount in the case's currency")
    before = {"usufruct": case.usufruct_minor, "ends_on": case.usufruct_ends_on}
    case.usufruct_minor, case.usufruct_ends_on = value.minor, ends_on
    session.add(case)
    session.flush()
    audit.record(session, "bequest.usufruct", "bequest_case", case_id, before=before,
                 after={"usufruct": value.minor, "ends_on": ends_on})
    return case


def life_tenant_died(session: Session, case_id: int, on: dt.date) -> BequestCase:
    case = get_case(session, case_id)
    if case.usufruct_ends_on is not None:
        raise InvalidState(f"the usufruct of case {case.reference} ended on {case.usufruct_ends_on}")
    return set_usufruct(session, case_id, Money(case.usufruct_minor, case.currency), ends_on=on)


# --- stages: one function per transition -----------------------------------------------------------------


def _move(session: Session, case: BequestCase, target: Stage, on: dt.date, note: str | None = None) -> BequestCase:
    rules.check_transition(case.stage, target, case.resume_stage)
    if on < case.stage_since:
        raise ValidationError(f"case {case.reference} entered {case.stage} on {case.stage_since}; "
                              f"it cannot move on {on}")
    before = case.stage
    if target == Stage.DISPUTED:
        case.resume_stage = case.stage
    elif case.stage == Stage.DISPUTED:
        case.resume_stage = None
    case.stage, case.stage_since = target, on
    if target in rules.TERMINAL:
        case.closed_on = on
    case.updated_at = utcnow()
    session.add(case)
    session.add(BequestStageEvent(case_id=case.id, from_stage=before, to_stage=target,  # type: ignore[arg-type]
                                  entered_on=on, actor=audit.current_actor(), note=note))
    for task in session.execute(select(BequestTask).where(
            BequestTask.case_id == case.id, BequestTask.status == TaskStatus.OPEN)).scalars():
        task.status, task.done_on = TaskStatus.SUPERSEDED, on
        session.add(task)
    session.flush()
    audit.record(session, "bequest.stage", "bequest_case", case.id, before={"stage": before},
                 after={"stage": str(target), "on": on, "note": note})
    return case


def receive_documents(session: Session, case_id: int, on: dt.date, note: str | None = None) -> BequestCase:
    """Will, death certificate and certificate of inheritance are in."""
    return _move(session, get_case(session, case_id), Stage.DOCUMENTS, on, note)


def start_administration(session: Session, case_id: int, on: dt.date, note: str | None = None) -> BequestCase:
    return _move(session, get_case(session, case_id), Stage.ADMINISTRATION, on, note)


def start_interim_distributions(session: Session, case_id: int, on: dt.date,
                                note: str | None = None) -> BequestCase:
    return _move(session, get_case(session, case_id), Stage.INTERIM, on, note)


def receive_estate_accounts(session: Session, case_id: int, on: dt.date, *, deed: bool = True,
                            note: str | None = None) -> BequestCase:
    """The estate accounts arrived; with `deed` they come with the deed of distribution (recognition date)."""
    case = _move(session, get_case(session, case_id), Stage.ESTATE_ACCOUNTS, on, note)
    add_document(session, case_id, DocumentKind.DEED_OF_DISTRIBUTION if deed else DocumentKind.ESTATE_ACCOUNTS, on)
    return case


def start_final_distribution(session: Session, case_id: int, on: dt.date, note: str | None = None) -> BequestCase:
    return _move(session, get_case(session, case_id), Stage.FINAL, on, note)


def close_case(session: Session, case_id: int, on: dt.date, note: str | None = None) -> BequestCase:
    """All money is in: from now on the case's income is exactly what was received."""
    return _move(session, get_case(session, case_id), Stage.CLOSED, on, note)


def dispute_case(session: Session, case_id: int, on: dt.date, note: str | None = None) -> BequestCase:
    return _move(session, get_case(session, case_id), Stage.DISPUTED, on, note)


def resolve_dispute(session: Session, case_id: int, on: dt.date, to: Stage | str | None = None,
                    note: str | None = None) -> BequestCase:
    """End a dispute: back to the stage it interrupted, or forward from there."""
    case = get_case(session, case_id)
    if case.stage != Stage.DISPUTED:
        raise InvalidState(f"case {case.reference} is not disputed")
    return _move(session, case, Stage(to or case.resume_stage), on, note)


def renounce_case(session: Session, case_id: int, on: dt.date, note: str | None = None) -> BequestCase:
    """The charity declined the legacy (verwerping) or it lapsed."""
    return _move(session, get_case(session, case_id), Stage.RENOUNCED, on, note)


def stage_history(session: Session, case_id: int) -> list[BequestStageEvent]:
    return list(session.execute(select(BequestStageEvent).where(BequestStageEvent.case_id == case_id)
                                .order_by(BequestStageEvent.entered_on, BequestStageEvent.id)).scalars())


# --- money ------------------------------------------------------------------------------------------------


def record_distribution(
    session: Session,
    case_id: int,
    amount: Money,
    received_on: dt.date,
    *,
    final: bool = False,
    channel: PaymentChannel | str = PaymentChannel.BANK_TRANSFER,
    source: str = GIFT_SOURCE,
    external_ref: str | None = None,
    fund_id: int | None = None,
    note: str | None = None,
) -> Gift:
    """Book a distribution from the estate as a gift (individuals: bequest) linked to the case.

    An advance moves a case in administration to interim distributions; the final payment moves it to the
    final distribution. Both follow the stage order, so an advance cannot arrive for a case we have only
    just been notified of without first recording its documents and administration.
    """
    case = get_case(session, case_id)
    if case.stage in rules.TERMINAL:
        raise InvalidState(f"case {case.reference} is {case.stage}; no distribution can be booked")
    if amount.currency != case.currency:
        raise ValidationError(f"case {case.reference} is in {case.currency}, not {amount.currency}")
    if final and case.stage not in (Stage.FINAL, Stage.DISPUTED):
        _move(session, case, Stage.FINAL, received_on, "final distribution received")
    elif not final and case.stage in (Stage.NOTIFIED, Stage.DOCUMENTS, Stage.ADMINISTRATION):
        _move(session, case, Stage.INTERIM, received_on, "advance received")
    return _record_gift(session, case, amount, received_on, channel=channel, source=source,
                        external_ref=external_ref, fund_id=fund_id, note=note)


def _record_gift(session: Session, case: BequestCase, amount: Money, received_on: dt.date, **kw: Any) -> Gift:
    from donorcrm.gifts.service import record_gift

    note = kw.pop("note", None) or f"legacy {case.reference}"
    return record_gift(session, donor_id=case.donor_id, amount=amount, received_on=received_on,
                       category=IncomeCategory.INDIVIDUAL_BEQUEST, bequest_id=case.id, note=note, **kw)


def link_gift(session: Session, case_id: int, gift_id: int) -> Gift:
    """Attach a bequest gift booked elsewhere (a bank import, a CSV) to its case."""
    case = get_case(session, case_id)
    gift = session.get(Gift, gift_id)
    if gift is None:
        raise NotFound(f"no gift {gift_id}")
    if gift.category != IncomeCategory.INDIVIDUAL_BEQUEST:
        raise ValidationError(f"gift {gift_id} is {gift.category}, not a bequest")
    if gift.bequest_id == case_id:
        return gift
    if gift.bequest_id is not None:
        raise InvalidState(f"gift {gift_id} belongs to legacy case {gift.bequest_id}")
    if gift.currency != case.currency:
        raise ValidationError(f"gift {gift_id} is in {gift.currency}, the case in {case.currency}")
    rows = [gift, *session.execute(select(Gift).where(Gift.reverses_gift_id == gift_id)).scalars()]
    for row in rows:
        row.bequest_id = case_id
        session.add(row)
    session.flush()
    audit.record(session, "bequest.link_gift", "bequest_case", case_id, after={"gift_id": gift_id})
    return gift


def received_by_case(session: Session, case_ids: list[int] | None = None,
                     up_to: dt.date | None = None) -> dict[int, int]:
    """Net received per case (distributions minus their reversals), aggregated in the database."""
    stmt = (select(Gift.bequest_id, func.sum(Gift.amount_minor))
            .where(Gift.bequest_id.is_not(None))  # type: ignore[union-attr]
            .group_by(Gift.bequest_id))
    if case_ids is not None:
        stmt = stmt.where(Gift.bequest_id.in_(case_ids))  # type: ignore[union-attr]
    if up_to is not None:
        stmt = stmt.where(Gift.received_on <= up_to)
    return {int(k): int(v) for k, v in session.execute(stmt)}


def received(session: Session, case_id: int) -> Money:
    case = get_case(session, case_id)
    return Money(received_by_case(session, [case_id]).get(case_id, 0), case.currency)


# --- recognition --------------------------------------------------------------------------------------


def recognition_facts(session: Session, case_ids: list[int] | None = None) -> dict[int, rules.RecognitionFacts]:
    """Everything recognition needs, for many cases in three queries."""
    cstmt = select(BequestCase)
    if case_ids is not None:
        cstmt = cstmt.where(BequestCase.id.in_(case_ids))  # type: ignore[union-attr]
    cases = {c.id: c for c in session.execute(cstmt).scalars()}
    estimates: dict[int, list[rules.Estimate]] = defaultdict(list)
    estmt = select(BequestEstimate).order_by(BequestEstimate.estimated_on, BequestEstimate.id)
    if case_ids is not None:
        estmt = estmt.where(BequestEstimate.case_id.in_(case_ids))  # type: ignore[attr-defined]
    for e in session.execute(estmt).scalars():
        estimates[e.case_id].append(rules.Estimate(e.estimated_on, e.amount_minor, e.reliable))
    receipts: dict[int, list[rules.Receipt]] = defaultdict(list)
    gstmt = (select(Gift.bequest_id, Gift.received_on, func.sum(Gift.amount_minor))
             .where(Gift.bequest_id.is_not(None))  # type: ignore[union-attr]
             .group_by(Gift.bequest_id, Gift.received_on))
    if case_ids is not None:
        gstmt = gstmt.where(Gift.bequest_id.in_(case_ids))  # type: ignore[union-attr]
    for cid, on, amount in session.execute(gstmt):
        receipts[int(cid)].append(rules.Receipt(on, int(amount)))
    return {
        cid: rules.RecognitionFacts(
            estimates=tuple(estimates[cid]), receipts=tuple(receipts[cid]), deed_on=c.deed_on,
            usufruct_minor=c.usufruct_minor, usufruct_ends_on=c.usufruct_ends_on, ended_on=c.closed_on,
        )
        for cid, c in cases.items()
    }


@dataclass(frozen=True)
class CaseRecognition:
    case_id: int
    reference: str
    deceased_name: str
    stage: str
    currency: str
    year: rules.YearRecognition


def recognition(session: Session, year: int) -> list[CaseRecognition]:
    """Per case: income recognised in the year, cash received, and what was recognised but not yet received
    at the year end (the receivable in the balance sheet). Cases without any movement or balance are left out."""
    facts = recognition_facts(session)
    cases = {c.id: c for c in session.execute(select(BequestCase).order_by(BequestCase.id)).scalars()}
    out = []
    for cid, c in cases.items():
        yr = rules.recognition_for_year(facts[cid], year)  # type: ignore[index]
        if yr.recognised_minor == 0 and yr.received_minor == 0 and yr.receivable_minor == 0:
            continue
        out.append(CaseRecognition(cid, c.reference, c.deceased_name, c.stage, c.currency, yr))  # type: ignore[arg-type]
    return out


# --- forecast ------------------------------------------------------------------------------------------


def learned_durations(session: Session) -> dict[Stage, int]:
    """Stage durations from the stage history of closed cases, defaults (or the settings' overrides) where
    too few closed cases went through a stage."""
    settings = get_settings()
    defaults = rules.parse_stage_values(settings.bequest_stage_days, rules.DEFAULT_DURATION_DAYS)
    closed = select(BequestCase.id).where(BequestCase.stage == Stage.CLOSED)
    visits: dict[int, list[rules.StageVisit]] = defaultdict(list)
    for ev in session.execute(select(BequestStageEvent).where(BequestStageEvent.case_id.in_(closed))  # type: ignore[attr-defined]
                              .order_by(BequestStageEvent.entered_on, BequestStageEvent.id)).scalars():
        visits[ev.case_id].append(rules.StageVisit(Stage(ev.to_stage), ev.entered_on))
    return rules.learn_durations(visits.values(), defaults, settings.bequest_min_cases_to_learn)


def forecast_cases(session: Session, on: dt.date) -> list[rules.ForecastCase]:
    open_cases = list(session.execute(select(BequestCase).where(
        BequestCase.stage.in_([str(s) for s in rules.OPEN_STAGES]))  # type: ignore[attr-defined]
        .order_by(BequestCase.id)).scalars())
    got = received_by_case(session, [c.id for c in open_cases], up_to=on)  # type: ignore[misc]
    out = []
    for c in open_cases:
        waiting = c.kind == LegacyKind.LIFE_INTEREST and c.usufruct_ends_on is None
        # The expected amount is our share once the usufruct ends; while a tenant lives it waits undated.
        out.append(rules.ForecastCase(
            case_id=c.id, stage=Stage(c.stage), stage_since=c.stage_since, kind=LegacyKind(c.kind),  # type: ignore[arg-type]
            estimate_minor=c.estimated_minor, received_minor=got.get(c.id, 0),  # type: ignore[arg-type]
            resume=Stage(c.resume_stage) if c.resume_stage else None, waits_for_life_tenant=waiting,
        ))
    return out


def compute_forecast(session: Session, on: dt.date | None = None, quarters: int = 12) -> rules.Forecast:
    """Expected bequest income per quarter for the next `quarters` quarters (3 years by default)."""
    on = on or _today()
    probabilities = rules.parse_stage_values(get_settings().bequest_stage_probabilities,
                                             rules.DEFAULT_PROBABILITY_BP)
    if any(p > 10_000 for p in probabilities.values()):
        raise ValidationError("a stage probability cannot exceed 10000 basis points")
    return rules.forecast(forecast_cases(session, on), on, learned_durations(session), probabilities,
                          quarters=quarters)


# --- follow-up ------------------------------------------------------------------------------------------


def create_follow_up_tasks(session: Session, on: dt.date) -> list[BequestTask]:
    """Create a task for every case that has sat too long in its stage (one open task per case and kind;
    after a task is done the clock restarts from its completion)."""
    open_cases = list(session.execute(select(BequestCase).where(
        BequestCase.stage.in_([str(s) for s in rules.OPEN_STAGES]))).scalars())  # type: ignore[attr-defined]
    tasks: dict[tuple[int, str], list[BequestTask]] = defaultdict(list)
    for t in session.execute(select(BequestTask).where(BequestTask.case_id.in_(  # type: ignore[attr-defined]
            [c.id for c in open_cases]))).scalars():
        tasks[(t.case_id, t.kind)].append(t)
    created = []
    grace = get_settings().bequest_task_grace_days
    for case in open_cases:
        rule = rules.FOLLOW_UP.get(Stage(case.stage))
        if rule is None:
            continue
        mine = tasks[(case.id, rule.task)]  # type: ignore[index]
        if any(t.status == TaskStatus.OPEN for t in mine):
            continue
        since = max([case.stage_since, *[t.done_on for t in mine if t.done_on and t.stage == case.stage]])
        due = rules.follow_up_due(case.stage, since, on, grace_days=grace)
        if due is None:
            continue
        task = BequestTask(case_id=case.id, kind=due.task, text=due.text, stage=case.stage,  # type: ignore[arg-type]
                           created_on=on, due_on=due.due_on)
        session.add(task)
        created.append(task)
    session.flush()
    if created:
        audit.record(session, "bequest.follow_up", "bequest_task", None, after={"created": len(created), "on": on})
    return created


def complete_task(session: Session, task_id: int, on: dt.date) -> BequestTask:
    task = session.get(BequestTask, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status != TaskStatus.OPEN:
        raise InvalidState(f"task {task_id} is {task.status}")
    task.status, task.done_on = TaskStatus.DONE, on
    session.add(task)
    session.flush()
    audit.record(session, "bequest.task_done", "bequest_task", task_id, after={"on": on})
    return task


def open_tasks(session: Session, case_id: int | None = None) -> list[BequestTask]:
    stmt = select(BequestTask).where(BequestTask.status == TaskStatus.OPEN)
    if case_id is not None:
        stmt = stmt.where(BequestTask.case_id == case_id)
    return list(session.execute(stmt.order_by(BequestTask.due_on, BequestTask.id)).scalars())


# --- "possible legacy?" -------------------------------------------------------------------------------


def open_possible_legacy_check(session: Session, donor_id: int, source: str, on: dt.date | None = None
                               ) -> BequestCheck | None:
    """Open a "possible legacy?" check for a donor who died (idempotent: one open check per donor).

    Returns the open check, or None when the donor already has a legacy case (nothing left to check).
    A known pledger's check is high priority.
    """
    on = on or _today()
    existing = session.execute(select(BequestCheck).where(
        BequestCheck.donor_id == donor_id, BequestCheck.status == CheckStatus.OPEN)).scalars().first()
    if existing is not None:
        return existing
    has_case = session.execute(select(func.count()).select_from(BequestCase)
                               .where(BequestCase.donor_id == donor_id)).scalar_one()
    if has_case:
        return None
    pledge = _live_pledge(session, donor_id)
    if pledge is not None:
        pledge.status = PledgeStatus.DECEASED
        session.add(pledge)
    check = BequestCheck(donor_id=donor_id, source=source[:60], opened_on=on,
                         priority="high" if pledge is not None else "normal",
                         note="known pledger" if pledge is not None else None)
    session.add(check)
    session.flush()
    audit.record(session, "bequest.check_open", "bequest_check", check.id,
                 after={"donor_id": donor_id, "source": source, "priority": check.priority})
    return check


def close_check_no_legacy(session: Session, check_id: int, on: dt.date, note: str | None = None) -> BequestCheck:
    check = session.get(BequestCheck, check_id)
    if check is None:
        raise NotFound(f"no check {check_id}")
    if check.status != CheckStatus.OPEN:
        raise InvalidState(f"check {check_id} is {check.status}")
    check.status, check.closed_on, check.note = CheckStatus.NO_LEGACY, on, note or check.note
    session.add(check)
    session.flush()
    audit.record(session, "bequest.check_closed", "bequest_check", check_id, after={"on": on, "note": note})
    return check


def open_checks(session: Session) -> list[BequestCheck]:
    return list(session.execute(select(BequestCheck).where(BequestCheck.status == CheckStatus.OPEN)
                                .order_by(BequestCheck.priority, BequestCheck.opened_on)).scalars())


def before_donor_merge(session: Session, survivor_id: int, duplicate_id: int) -> None:
    """Two duplicates can each have an open check; the survivor keeps one (the database allows one)."""
    mine = session.execute(select(BequestCheck).where(
        BequestCheck.donor_id == survivor_id, BequestCheck.status == CheckStatus.OPEN)).scalars().first()
    theirs = session.execute(select(BequestCheck).where(
        BequestCheck.donor_id == duplicate_id, BequestCheck.status == CheckStatus.OPEN)).scalars().first()
    if mine is None or theirs is None:
        return
    if theirs.priority == "high":
        mine.priority = "high"
    theirs.status, theirs.closed_on = CheckStatus.MERGED, _today()
    session.add_all([mine, theirs])
    session.flush()


def on_donor_death(session: Session, donor_id: int, on: dt.date | None, source: str) -> None:
    """Death hook of donorcrm.donors.service.mark_deceased."""
    if source == "bequest":  # the death came from opening a case: no check needed
        return
    open_possible_legacy_check(session, donor_id, source or "deceased", on or _today())


def list_cases(session: Session, stage: Stage | str | None = None) -> list[BequestCase]:
    stmt = select(BequestCase)
    if stage is not None:
        try:
            stage = Stage(stage)
        except ValueError:
            raise ValidationError(f"unknown stage {stage!r}; one of {', '.join(s.value for s in Stage)}") from None
        stmt = stmt.where(BequestCase.stage == stage)
    return list(session.execute(stmt.order_by(BequestCase.notified_on, BequestCase.id)).scalars())

