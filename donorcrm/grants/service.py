"""Use cases on grants: funders, application to decision, instalments, reports, settlement and repayment.

Every stage change goes through one checked function and writes an audit row. Money received is booked in
the gift ledger (gift.grant_id, the funder's income category, the grant's restricted fund). Services never
commit; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.campaigns.models import Fund
from donorcrm.config import get_settings
from donorcrm.db import utcnow
from donorcrm.donors.models import Donor, DonorAccount, DonorCreate, DonorKind
from donorcrm.donors.service import add_account, create_donor
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.gifts.categories import EntryType, PaymentChannel
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import record_gift, reverse_gift
from donorcrm.grants import rules
from donorcrm.grants.models import (
    Funder,
    FunderKind,
    Grant,
    GrantInstalment,
    GrantReminder,
    GrantReport,
    GrantStage,
    InstalmentStatus,
    ReminderSubject,
    RepaymentClaim,
    ReportKind,
    ReportStatus,
)
from donorcrm.money import Money

LEDGER_SOURCE = "grant"  # gifts booked by this package (settlement corrections, manual receipts)

# --- funders -----------------------------------------------------------------------------------------


def create_funder(
    session: Session, *, name: str, kind: FunderKind | str, code: str, iban: str | None = None,
    donor_id: int | None = None, email: str | None = None, city: str | None = None,
    contact_name: str | None = None, note: str | None = None,
) -> Funder:
    """A funder is a donor of kind organisation plus its funder kind; pass donor_id to reuse an existing donor."""
    try:
        kind = FunderKind(kind)
    except ValueError:
        raise ValidationError(f"unknown funder kind {kind!r}; use one of {', '.join(FunderKind)}") from None
    code = code.strip().upper()
    if not code:
        raise ValidationError("a funder needs a code")
    if session.execute(select(Funder.id).where(Funder.code == code)).first():
        raise ValidationError(f"funder code {code} is taken")
    if donor_id is None:
        donor = create_donor(session, DonorCreate(
            kind=DonorKind.ORGANISATION, organisation_name=name, email=email, city=city,
            reference=f"funder:{code}",
        ))
        donor_id = donor.id
    else:
        donor = session.get(Donor, donor_id)
        if donor is None:
            raise NotFound(f"no donor {donor_id}")
        if donor.kind != DonorKind.ORGANISATION:
            raise ValidationError(f"donor {donor_id} is a person; a funder is an organisation")
    if iban:
        add_account(session, donor_id, iban, holder=name, source="grants")  # type: ignore[arg-type]
    funder = Funder(donor_id=donor_id, kind=kind, code=code, contact_name=contact_name,  # type: ignore[arg-type]
                    contact_email=email, note=note)
    session.add(funder)
    session.flush()
    audit.record(session, "funder.create", "funder", funder.id,
                 after={"name": name, "kind": str(kind), "code": code, "donor_id": donor_id})
    return funder


def get_funder(session: Session, funder_id: int) -> Funder:
    funder = session.get(Funder, funder_id)
    if funder is None:
        raise NotFound(f"no funder {funder_id}")
    return funder


def funder_name(session: Session, funder: Funder) -> str:
    donor = session.get(Donor, funder.donor_id)
    return donor.display_name if donor else funder.code


# --- applications and decisions ----------------------------------------------------------------------


@dataclass(frozen=True)
class GrantApplication:
    funder_id: int
    reference: str
    title: str
    requested: Money | None = None
    budget: Money | None = None
    purpose: str = ""
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    applied_on: dt.date | None = None  # given: the application is submitted; absent: a draft
    funder_reference: str | None = None
    note: str | None = None


def get_grant(session: Session, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(f"no grant {grant_id}")
    return grant


def find_grant(session: Session, id_or_reference: str | int) -> Grant:
    """By id, or by our reference."""
    text = str(id_or_reference).strip()
    found = session.execute(select(Grant).where(Grant.reference == text)).scalars().first()
    if found is None and text.isdigit():
        found = session.get(Grant, int(text))
    if found is None:
        raise NotFound(f"no grant {text}")
    return found


def _money(minor: int | None, currency: str) -> Money | None:
    return None if minor is None else Money(minor, currency)


def _check_period(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and end < start:
        raise ValidationError(f"period ends {end} before it starts {start}")


def create_application(session: Session, application: GrantApplication) -> Grant:
    funder = get_funder(session, application.funder_id)
    reference = application.reference.strip()
    if not reference or not application.title.strip():
        raise ValidationError("an application needs a reference and a title")
    if session.execute(select(Grant.id).where(Grant.reference == reference)).first():
        raise ValidationError(f"grant reference {reference} is taken")
    _check_period(application.period_start, application.period_end)
    currency = (application.requested or application.budget or Money.zero()).currency
    for amount in (application.requested, application.budget):
        if amount is not None and (amount.minor <= 0 or amount.currency != currency):
            raise ValidationError(f"amounts must be positive and in one currency, got {amount}")
    grant = Grant(
        funder_id=funder.id,  # type: ignore[arg-type]
        reference=reference, funder_reference=application.funder_reference, title=application.title.strip(),
        purpose=application.purpose, stage=GrantStage.APPLIED if application.applied_on else GrantStage.DRAFT,
        category=rules.category_for(funder.kind), currency=currency,
        requested_minor=application.requested.minor if application.requested else None,
        budget_minor=application.budget.minor if application.budget else None,
        period_start=application.period_start, period_end=application.period_end,
        applied_on=application.applied_on, note=application.note,
    )
    session.add(grant)
    session.flush()
    audit.record(session, "grant.create", "grant", grant.id, after={
        "reference": reference, "funder_id": funder.id, "stage": grant.stage,
        "requested": application.requested, "applied_on": application.applied_on,
    })
    return grant


def _move(session: Session, grant: Grant, target: GrantStage, **changes: Any) -> Grant:
    """The one place a grant changes stage: checked against the transition table and audit-logged."""
    rules.check_transition(grant.stage, target)
    before = {"stage": grant.stage, **{k: getattr(grant, k) for k in changes}}
    grant.stage = target
    for key, value in changes.items():
        setattr(grant, key, value)
    grant.updated_at = utcnow()
    session.add(grant)
    session.flush()
    audit.record(session, f"grant.{target}", "grant", grant.id, before=before,
                 after={"stage": target, **changes})
    return grant


def submit_application(session: Session, grant_id: int, *, on: dt.date) -> Grant:
    return _move(session, get_grant(session, grant_id), GrantStage.APPLIED, applied_on=on)


def withdraw(session: Session, grant_id: int, *, on: dt.date, reason: str = "") -> Grant:
    grant = get_grant(session, grant_id)
    return _move(session, grant, GrantStage.WITHDRAWN, decided_on=on,
                 note=_append_note(grant.note, f"withdrawn: {reason}" if reason else "withdrawn"))


def reject(session: Session, grant_id: int, *, on: dt.date, reason: str = "") -> Grant:
    grant = get_grant(session, grant_id)
    return _move(session, grant, GrantStage.REJECTED, decided_on=on,
                 note=_append_note(grant.note, f"rejected: {reason}" if reason else "rejected"))


def _append_note(note: str | None, line: str) -> str:
    return f"{note}\n{line}" if note else line


@dataclass(frozen=True)
class Award:
    """A positive decision (verlening, toekenning)."""

    awarded: Money
    decided_on: dt.date
    conditions: str = ""
    restricted: bool = True  # earmarked money goes to a restricted fund; a lottery's regular contribution is not
    fund_id: int | None = None  # an existing restricted fund; else one is made for the grant when restricted
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    cofunding_percent: str | None = None  # "25" means 25% of the project budget
    cofunding_amount: Money | None = None
    budget: Money | None = None  # the approved budget, when it differs from the application
    funder_reference: str | None = None


def award(session: Session, grant_id: int, decision: Award) -> Grant:
    grant = get_grant(session, grant_id)
    rules.check_transition(grant.stage, GrantStage.AWARDED)  # before anything is written
    if decision.awarded.minor <= 0 or decision.awarded.currency != grant.currency:
        raise ValidationError(f"awarded amount must be positive and in {grant.currency}, got {decision.awarded}")
    budget = decision.budget or _money(grant.budget_minor, grant.currency)
    basis_points = (rules.percent_to_basis_points(decision.cofunding_percent)
                    if decision.cofunding_percent not in (None, "") else None)
    rules.cofunding_required(basis_points=basis_points, fixed=decision.cofunding_amount, budget=budget,
                             currency=grant.currency)  # validates the combination
    start = decision.period_start or grant.period_start
    end = decision.period_end or grant.period_end
    _check_period(start, end)
    fund_id = decision.fund_id
    if fund_id is not None:
        fund = session.get(Fund, fund_id)
        if fund is None:
            raise NotFound(f"no fund {fund_id}")
        if not fund.restricted:
            raise ValidationError(f"fund {fund.code} is not restricted; earmarked grant money needs a restricted fund")
    elif decision.restricted:
        fund = Fund(code=f"GRANT-{grant.reference}"[:40], name=grant.title[:200], restricted=True,
                    purpose=(grant.purpose or grant.title)[:500])
        session.add(fund)
        session.flush()
        fund_id = fund.id
    return _move(
        session, grant, GrantStage.AWARDED, awarded_minor=decision.awarded.minor, decided_on=decision.decided_on,
        conditions=decision.conditions or None, fund_id=fund_id, period_start=start, period_end=end,
        cofunding_basis_points=basis_points,
        cofunding_minor=decision.cofunding_amount.minor if decision.cofunding_amount else None,
        budget_minor=budget.minor if budget else None,
        funder_reference=decision.funder_reference or grant.funder_reference,
    )


# --- instalments -------------------------------------------------------------------------------------


def _instalments(session: Session, grant_id: int) -> list[GrantInstalment]:
    return list(session.execute(
        select(GrantInstalment).where(GrantInstalment.grant_id == grant_id).order_by(GrantInstalment.seq)
    ).scalars())


def plan_instalments(session: Session, grant_id: int, planned: list[rules.PlannedInstalment]) -> list[GrantInstalment]:
    """Add instalments to an awarded grant; together with the ones not cancelled they stay within the award."""
    grant = get_grant(session, grant_id)
    if grant.stage not in rules.RECEIVING_STAGES:
        raise InvalidState(f"grant {grant.reference} is {grant.stage}; instalments follow an award")
    awarded = Money(grant.awarded_minor or 0, grant.currency)
    limit = _money(grant.settled_minor, grant.currency) or awarded
    existing = [i for i in _instalments(session, grant_id) if i.status != InstalmentStatus.CANCELLED]
    amounts = [Money(i.amount_minor, i.currency) for i in existing] + [p.amount for p in planned]
    problems = rules.schedule_problems(limit, amounts)
    problems += [rules.Problem(f"instalment due {p.due_on}", f"currency {p.amount.currency} is not {grant.currency}")
                 for p in planned if p.amount.currency != grant.currency]
    if problems:
        raise ValidationError(f"schedule for {grant.reference} not accepted: " + "; ".join(map(str, problems)),
                              problems)
    seq = max((i.seq for i in _instalments(session, grant_id)), default=0)
    rows = []
    for p in sorted(planned, key=lambda p: p.due_on):
        seq += 1
        rows.append(GrantInstalment(grant_id=grant_id, seq=seq, schedule_year=p.schedule_year, due_on=p.due_on,
                                    amount_minor=p.amount.minor, currency=p.amount.currency,
                                    condition=p.condition))
    session.add_all(rows)
    session.flush()
    audit.record(session, "grant.plan_instalments", "grant", grant_id, after={
        "instalments": [{"seq": r.seq, "due_on": r.due_on, "amount": str(Money(r.amount_minor, r.currency)),
                         "year": r.schedule_year} for r in rows],
    })
    return rows


def cancel_instalment(session: Session, instalment_id: int, *, reason: str) -> GrantInstalment:
    inst = _get_instalment(session, instalment_id)
    if inst.status != InstalmentStatus.PLANNED:
        raise InvalidState(f"instalment {instalment_id} is {inst.status}")
    inst.status = InstalmentStatus.CANCELLED
    session.add(inst)
    session.flush()
    audit.record(session, "grant.cancel_instalment", "grant_instalment", instalment_id,
                 before={"status": "planned"}, after={"status": "cancelled", "reason": reason})
    _close_reminders(session, ReminderSubject.INSTALMENT, instalment_id)
    return inst


def _get_instalment(session: Session, instalment_id: int) -> GrantInstalment:
    inst = session.get(GrantInstalment, instalment_id)
    if inst is None:
        raise NotFound(f"no instalment {instalment_id}")
    return inst


def receive_instalment(
    session: Session, instalment_id: int, *, received_on: dt.date, amount: Money | None = None,
    source: str = "bank", external_ref: str | None = None,
    channel: PaymentChannel | str = PaymentChannel.BANK_TRANSFER, note: str | None = None,
) -> Gift:
    """Book the funder's payment as a gift on the grant (its category and fund) and mark the instalment received.

    Idempotent on (source, external_ref) like every gift: the same bank line twice books once.
    """
    inst = _get_instalment(session, instalment_id)
    grant = get_grant(session, inst.grant_id)
    amount = amount or Money(inst.amount_minor, inst.currency)
    if inst.status == InstalmentStatus.RECEIVED:
        gift = session.get(Gift, inst.gift_id) if inst.gift_id else None
        if gift is not None and gift.source == source and gift.external_ref == external_ref and external_ref:
            return gift
        raise InvalidState(f"instalment {instalment_id} of {grant.reference} was received already")
    if inst.status != InstalmentStatus.PLANNED:
        raise InvalidState(f"instalment {instalment_id} is {inst.status}")
    _check_receiving(grant, amount)
    funder = get_funder(session, grant.funder_id)
    gift = record_gift(
        session, donor_id=funder.donor_id, amount=amount, received_on=received_on, channel=channel,
        category=grant.category, source=source, external_ref=external_ref, fund_id=grant.fund_id,
        grant_id=grant.id, note=note or f"{grant.reference} instalment {inst.seq}",
    )
    _mark_received(session, inst, gift)
    return gift


def _check_receiving(grant: Grant, amount: Money) -> None:
    if grant.stage not in rules.RECEIVING_STAGES:
        raise InvalidState(f"grant {grant.reference} is {grant.stage}; it receives no money")
    if amount.currency != grant.currency or amount.minor <= 0:
        raise ValidationError(f"a payment on {grant.reference} must be positive {grant.currency}, got {amount}")


def _mark_received(session: Session, inst: GrantInstalment, gift: Gift) -> None:
    taken = session.execute(
        select(GrantInstalment.id).where(GrantInstalment.gift_id == gift.id, GrantInstalment.id != inst.id)
    ).first()
    if taken:
        raise InvalidState(f"gift {gift.id} already pays instalment {taken[0]}")
    inst.status = InstalmentStatus.RECEIVED
    inst.gift_id = gift.id
    inst.received_on = gift.received_on
    session.add(inst)
    session.flush()
    audit.record(session, "grant.receive_instalment", "grant_instalment", inst.id,
                 before={"status": "planned"},
                 after={"status": "received", "gift_id": gift.id,
                        "amount": str(Money(gift.amount_minor, gift.currency))})
    _close_reminders(session, ReminderSubject.INSTALMENT, inst.id)


def link_gift(session: Session, instalment_id: int, gift_id: int) -> Gift:
    """Attach a gift booked elsewhere (an import, the bank matcher) to an instalment.

    Only the grant and fund links are filled in; the gift must already be in the grant's income category,
    from the funder (or without donor), and not linked to another grant.
    """
    inst = _get_instalment(session, instalment_id)
    grant = get_grant(session, inst.grant_id)
    gift = session.get(Gift, gift_id)
    if gift is None:
        raise NotFound(f"no gift {gift_id}")
    if gift.entry_type != EntryType.GIFT:
        raise InvalidState(f"gift {gift_id} is a reversal")
    if session.execute(select(Gift.id).where(Gift.reverses_gift_id == gift_id)).first():
        raise InvalidState(f"gift {gift_id} was reversed")
    if inst.status == InstalmentStatus.RECEIVED and inst.gift_id == gift_id:
        return gift
    if inst.status != InstalmentStatus.PLANNED:
        raise InvalidState(f"instalment {instalment_id} is {inst.status}")
    _check_receiving(grant, Money(gift.amount_minor, gift.currency))
    if gift.grant_id not in (None, grant.id):
        raise InvalidState(f"gift {gift_id} belongs to grant {gift.grant_id}")
    if gift.category != grant.category:
        raise InvalidState(f"gift {gift_id} is booked as {gift.category}, grant {grant.reference} is {grant.category}")
    funder = get_funder(session, grant.funder_id)
    if gift.donor_id not in (None, funder.donor_id):
        raise InvalidState(f"gift {gift_id} is from donor {gift.donor_id}, not from the funder")
    if gift.fund_id not in (None, grant.fund_id):
        raise InvalidState(f"gift {gift_id} is in fund {gift.fund_id}, the grant's fund is {grant.fund_id}")
    before = {"grant_id": gift.grant_id, "fund_id": gift.fund_id, "donor_id": gift.donor_id}
    gift.grant_id = grant.id
    gift.fund_id = grant.fund_id
    gift.donor_id = gift.donor_id or funder.donor_id
    session.add(gift)
    session.flush()
    audit.record(session, "gift.link_grant", "gift", gift_id, before=before,
                 after={"grant_id": grant.id, "fund_id": grant.fund_id, "donor_id": gift.donor_id})
    _mark_received(session, inst, gift)
    return gift


def ledger_income(session: Session, grant_id: int, currency: str = "EUR") -> Money:
    """Net ledger total on the grant: gifts less reversals (settlement corrections included)."""
    value = session.execute(
        select(func.coalesce(func.sum(Gift.amount_minor), 0)).where(Gift.grant_id == grant_id,
                                                                     Gift.currency == currency)
    ).scalar_one()
    return Money(int(value), currency)


# --- reports -----------------------------------------------------------------------------------------


def add_report(session: Session, grant_id: int, *, kind: ReportKind | str, due_on: dt.date,
               period_year: int | None = None, note: str | None = None) -> GrantReport:
    grant = get_grant(session, grant_id)
    if grant.stage not in rules.LIVE_STAGES:
        raise InvalidState(f"grant {grant.reference} is {grant.stage}; reports follow an award")
    try:
        kind = ReportKind(kind)
    except ValueError:
        raise ValidationError(f"unknown report kind {kind!r}; use one of {', '.join(ReportKind)}") from None
    report = GrantReport(grant_id=grant_id, kind=kind, due_on=due_on, period_year=period_year, note=note)
    session.add(report)
    session.flush()
    audit.record(session, "grant.add_report", "grant_report", report.id,
                 after={"grant_id": grant_id, "kind": str(kind), "due_on": due_on})
    return report


def _report_to(session: Session, report_id: int, allowed_from: set[str], status: ReportStatus,
               **changes: Any) -> GrantReport:
    report = session.get(GrantReport, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}")
    if report.status not in allowed_from:
        raise InvalidState(f"report {report_id} is {report.status}; cannot become {status}")
    before = {"status": report.status}
    report.status = status
    for key, value in changes.items():
        setattr(report, key, value)
    session.add(report)
    session.flush()
    audit.record(session, f"grant.report_{status}", "grant_report", report_id, before=before,
                 after={"status": status, **changes})
    if status in (ReportStatus.SUBMITTED, ReportStatus.WAIVED):
        _close_reminders(session, ReminderSubject.REPORT, report_id)
    return report


def submit_report(session: Session, report_id: int, *, on: dt.date) -> GrantReport:
    return _report_to(session, report_id, {ReportStatus.DUE}, ReportStatus.SUBMITTED, submitted_on=on)


def accept_report(session: Session, report_id: int, *, on: dt.date) -> GrantReport:
    return _report_to(session, report_id, {ReportStatus.SUBMITTED}, ReportStatus.ACCEPTED, accepted_on=on)


def waive_report(session: Session, report_id: int, *, reason: str) -> GrantReport:
    return _report_to(session, report_id, {ReportStatus.DUE}, ReportStatus.WAIVED, note=reason[:500])


# --- settlement and repayment ------------------------------------------------------------------------


def request_settlement(session: Session, grant_id: int, *, on: dt.date, claimed: Money | None = None) -> Grant:
    """Send the final account (activities, costs, income) and ask the funder to settle."""
    grant = get_grant(session, grant_id)
    if claimed is not None and (claimed.currency != grant.currency or claimed.minor < 0):
        raise ValidationError(f"claimed amount must be in {grant.currency} and not negative")
    return _move(session, grant, GrantStage.SETTLEMENT_REQUESTED, settlement_requested_on=on,
                 settlement_claimed_minor=claimed.minor if claimed else None)


@dataclass
class SettlementOutcome:
    grant: Grant
    settlement: rules.Settlement
    claim: RepaymentClaim | None = None
    final_instalment: GrantInstalment | None = None
    reversed_gift_ids: list[int] = field(default_factory=list)


def settle(session: Session, grant_id: int, *, settled: Money, on: dt.date) -> SettlementOutcome:
    """Fix the settled amount (vaststelling, at most the award).

    Advances above it become a repayment claim and the ledger is corrected so income equals the settled
    amount; a shortfall below it becomes one final instalment replacing the open ones. A settled grant may
    be settled again, lower only, within the revision period.
    """
    grant = get_grant(session, grant_id)
    awarded = Money(grant.awarded_minor or 0, grant.currency)
    revising = grant.stage in (GrantStage.SETTLED, GrantStage.CLOSED)
    if revising:
        previous = Money(grant.settled_minor or 0, grant.currency)
        if settled >= previous:
            raise InvalidState(f"{grant.reference} is settled at {previous}; a revision can only lower it")
        years = get_settings().grant_revision_years
        assert grant.settled_on is not None
        if on > _add_years(grant.settled_on, years):
            raise InvalidState(f"{grant.reference} was settled on {grant.settled_on}; "
                               f"it can no longer be revised after {years} years")
    income = ledger_income(session, grant_id, grant.currency)
    outcome = rules.settle_amounts(awarded, settled, income)
    open_instalments = [i for i in _instalments(session, grant_id) if i.status == InstalmentStatus.PLANNED]
    for inst in open_instalments:
        cancel_instalment(session, inst.id, reason="replaced by settlement")  # type: ignore[arg-type]
    # The revision period runs from the first settlement, so a revision keeps that date.
    _move(session, grant, GrantStage.SETTLED, settled_minor=settled.minor,
          settled_on=grant.settled_on if revising else on, closed_on=None)
    result = SettlementOutcome(grant=grant, settlement=outcome)
    if outcome.to_receive.minor > 0:
        result.final_instalment = plan_instalments(session, grant_id, [rules.PlannedInstalment(
            on + dt.timedelta(days=get_settings().grant_repayment_days), outcome.to_receive,
            "final payment after settlement")])[0]
    if outcome.to_repay.minor > 0:
        result.reversed_gift_ids = _correct_ledger(session, grant, outcome.to_repay, on)
        claim = RepaymentClaim(grant_id=grant_id, amount_minor=outcome.to_repay.minor, currency=grant.currency,
                               claimed_on=on, due_on=on + dt.timedelta(days=get_settings().grant_repayment_days))
        session.add(claim)
        session.flush()
        audit.record(session, "grant.repayment_claim", "grant_repayment", claim.id,
                     after={"grant_id": grant_id, "amount": str(outcome.to_repay), "due_on": claim.due_on})
        result.claim = claim
    return result


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _correct_ledger(session: Session, grant: Grant, repay: Money, on: dt.date) -> list[int]:
    """Lower the grant's ledger income by `repay`: reverse the latest gifts, rebook what stays."""
    reversal = aliased(Gift)
    rows = session.execute(
        select(Gift.id, Gift.amount_minor, Gift.channel)
        .where(Gift.grant_id == grant.id, Gift.entry_type == EntryType.GIFT, Gift.currency == grant.currency,
               ~select(reversal.id).where(reversal.reverses_gift_id == Gift.id).exists())
        .order_by(Gift.received_on.desc(), Gift.id.desc())
    ).all()
    plan = rules.correction_plan([(r.id, Money(r.amount_minor, grant.currency)) for r in rows], repay)
    channel_of = {r.id: r.channel for r in rows}
    round_no = session.execute(
        select(func.count()).select_from(RepaymentClaim).where(RepaymentClaim.grant_id == grant.id)
    ).scalar_one() + 1
    for gift_id in plan.reverse_gift_ids:
        reverse_gift(session, gift_id, entry_type=EntryType.CORRECTION, on=on,
                     reason=f"settlement of {grant.reference}"[:200], source=LEDGER_SOURCE,
                     external_ref=f"settlement:{grant.id}:{round_no}:reverse:{gift_id}")
    if plan.rebook.minor > 0:
        funder = get_funder(session, grant.funder_id)
        record_gift(session, donor_id=funder.donor_id, amount=plan.rebook, received_on=on,
                    channel=channel_of[plan.reverse_gift_ids[-1]], category=grant.category,
                    source=LEDGER_SOURCE, external_ref=f"settlement:{grant.id}:{round_no}:rebook",
                    fund_id=grant.fund_id, grant_id=grant.id,
                    note=f"{grant.reference}: part of the advances kept after settlement")
    return list(plan.reverse_gift_ids)


def record_repayment(session: Session, claim_id: int, *, paid_on: dt.date, payment_ref: str | None = None
                     ) -> RepaymentClaim:
    """The claim was paid back. The ledger was already corrected at settlement, so no gift row moves here."""
    claim = session.get(RepaymentClaim, claim_id)
    if claim is None:
        raise NotFound(f"no repayment claim {claim_id}")
    if claim.paid_on is not None:
        raise InvalidState(f"repayment claim {claim_id} was paid on {claim.paid_on}")
    claim.paid_on = paid_on
    claim.payment_ref = payment_ref
    session.add(claim)
    session.flush()
    audit.record(session, "grant.repayment_paid", "grant_repayment", claim_id,
                 after={"paid_on": paid_on, "payment_ref": payment_ref})
    _close_reminders(session, ReminderSubject.REPAYMENT, claim_id)
    return claim


def close(session: Session, grant_id: int, *, on: dt.date) -> Grant:
    """Nothing left to receive or repay, no report outstanding."""
    grant = get_grant(session, grant_id)
    pos = position(session, grant_id)
    problems = []
    if pos.money.to_receive.minor:
        problems.append(f"{pos.money.to_receive} still to receive")
    if pos.money.to_repay.minor:
        problems.append(f"{pos.money.to_repay} still to repay")
    open_reports = session.execute(
        select(func.count()).select_from(GrantReport)
        .where(GrantReport.grant_id == grant_id, GrantReport.status == ReportStatus.DUE)
    ).scalar_one()
    if open_reports:
        problems.append(f"{open_reports} report(s) not submitted")
    if problems:
        raise InvalidState(f"{grant.reference} cannot close: " + "; ".join(problems))
    return _move(session, grant, GrantStage.CLOSED, closed_on=on)


# --- positions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantPosition:
    grant_id: int
    reference: str
    stage: str
    money: rules.MoneyPosition
    cofunding: rules.CofundingPosition


def position(session: Session, grant_id: int) -> GrantPosition:
    from donorcrm.grants.cofunding import cofunding_position

    grant = get_grant(session, grant_id)
    cur = grant.currency
    open_minor, paid_minor = session.execute(
        select(
            func.coalesce(func.sum(case((RepaymentClaim.paid_on.is_(None), RepaymentClaim.amount_minor),  # type: ignore[union-attr]
                                        else_=0)), 0),
            func.coalesce(func.sum(case((RepaymentClaim.paid_on.is_(None), 0),  # type: ignore[union-attr]
                                        else_=RepaymentClaim.amount_minor)), 0),
        ).where(RepaymentClaim.grant_id == grant_id)
    ).one()
    money = rules.money_position(
        Money(grant.awarded_minor or 0, cur), ledger_income=ledger_income(session, grant_id, cur),
        settled=_money(grant.settled_minor, cur), claims_open=Money(int(open_minor), cur),
        claims_paid=Money(int(paid_minor), cur),
    )
    return GrantPosition(grant.id, grant.reference, grant.stage, money,  # type: ignore[arg-type]
                         cofunding_position(session, grant_id))


# --- what is due -------------------------------------------------------------------------------------


def due_items(session: Session, *, until: dt.date) -> list[rules.DueItem]:
    """Open reports, planned instalments and unpaid repayments due on or before `until` (overdue included)."""
    items: list[rules.DueItem] = []
    live = [str(s) for s in rules.LIVE_STAGES]
    for report, reference in session.execute(
        select(GrantReport, Grant.reference).join(Grant, Grant.id == GrantReport.grant_id)
        .where(GrantReport.status == ReportStatus.DUE, GrantReport.due_on <= until, Grant.stage.in_(live))  # type: ignore[attr-defined]
    ).all():
        year = f" {report.period_year}" if report.period_year else ""
        items.append(rules.DueItem(ReminderSubject.REPORT, report.id, report.grant_id, report.due_on,
                                   f"{reference}: {report.kind}{year} report to send"))
    for inst, reference in session.execute(
        select(GrantInstalment, Grant.reference).join(Grant, Grant.id == GrantInstalment.grant_id)
        .where(GrantInstalment.status == InstalmentStatus.PLANNED, GrantInstalment.due_on <= until,
               Grant.stage.in_(live))  # type: ignore[attr-defined]
    ).all():
        items.append(rules.DueItem(
            ReminderSubject.INSTALMENT, inst.id, inst.grant_id, inst.due_on,
            f"{reference}: instalment {inst.seq} of {Money(inst.amount_minor, inst.currency).format()} to receive"
            + (f" ({inst.condition})" if inst.condition else ""),
        ))
    for claim, reference in session.execute(
        select(RepaymentClaim, Grant.reference).join(Grant, Grant.id == RepaymentClaim.grant_id)
        .where(RepaymentClaim.paid_on.is_(None), RepaymentClaim.due_on <= until)  # type: ignore[union-attr]
    ).all():
        items.append(rules.DueItem(
            ReminderSubject.REPAYMENT, claim.id, claim.grant_id, claim.due_on,
            f"{reference}: repay {Money(claim.amount_minor, claim.currency).format()} to the funder",
        ))
    items.sort(key=lambda i: (i.due_on, i.grant_id, str(i.subject), i.subject_id))
    return items


def create_reminders(session: Session, *, today: dt.date, horizon_days: int | None = None,
                     escalate_after_days: int | None = None) -> list[GrantReminder]:
    """Reminders for what falls due within the horizon, and escalations of what is long overdue.

    Idempotent: a subject gets each level once, so running the job twice a day adds nothing.
    """
    settings = get_settings()
    horizon = settings.grant_reminder_days if horizon_days is None else horizon_days
    escalate = settings.grant_escalation_days if escalate_after_days is None else escalate_after_days
    items = due_items(session, until=today + dt.timedelta(days=horizon))
    existing = {(s, i, lv) for s, i, lv in session.execute(
        select(GrantReminder.subject, GrantReminder.subject_id, GrantReminder.level)
    ).all()}
    created = []
    for decision in rules.select_reminders(items, today, horizon_days=horizon, escalate_after_days=escalate,
                                           existing=existing):
        created.append(GrantReminder(
            grant_id=decision.item.grant_id, subject=decision.item.subject, subject_id=decision.item.subject_id,
            level=decision.level, due_on=decision.item.due_on, message=decision.message(today)[:300],
            created_on=today,
        ))
    session.add_all(created)
    session.flush()
    if created:
        audit.record(session, "grant.reminders", "grant_reminder", None,
                     after={"created": len(created), "on": today})
    return created


def _close_reminders(session: Session, subject: ReminderSubject, subject_id: int | None) -> None:
    """What was done needs no more reminding: its open reminders are acknowledged by whoever did it."""
    for reminder in session.execute(select(GrantReminder).where(
        GrantReminder.subject == subject, GrantReminder.subject_id == subject_id,
        GrantReminder.acknowledged_at.is_(None),  # type: ignore[union-attr]
    )).scalars():
        reminder.acknowledged_at = utcnow()
        reminder.acknowledged_by = audit.current_actor()
        session.add(reminder)


def acknowledge_reminder(session: Session, reminder_id: int) -> GrantReminder:
    reminder = session.get(GrantReminder, reminder_id)
    if reminder is None:
        raise NotFound(f"no reminder {reminder_id}")
    if reminder.acknowledged_at is None:
        reminder.acknowledged_at = utcnow()
        reminder.acknowledged_by = audit.current_actor()
        session.add(reminder)
        session.flush()
    return reminder


# --- for bank reconciliation -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectedInstalment:
    """A payment a funder should make, for the bank matcher."""

    grant_id: int
    instalment_id: int
    funder_name: str
    iban: str | None  # the funder's account if known (first of its donor's accounts)
    amount: Money
    due_on: dt.date
    reference: str  # our grant reference; the funder's own case number follows when known
    funder_reference: str | None
    donor_id: int


def expected_instalments(session: Session, on_or_after: dt.date) -> list[ExpectedInstalment]:
    """Planned instalments of grants that can still receive money, due on or after the date, oldest first.

    Pass an early date (e.g. a few months back) to include overdue instalments that may arrive late.
    """
    first_iban = (
        select(func.min(DonorAccount.iban)).where(DonorAccount.donor_id == Funder.donor_id)
        .correlate(Funder).scalar_subquery()
    )
    rows = session.execute(
        select(GrantInstalment, Grant.reference, Grant.funder_reference, Donor.organisation_name, Funder.donor_id,
               Funder.code, first_iban)
        .join(Grant, Grant.id == GrantInstalment.grant_id)
        .join(Funder, Funder.id == Grant.funder_id)
        .join(Donor, Donor.id == Funder.donor_id)
        .where(GrantInstalment.status == InstalmentStatus.PLANNED, GrantInstalment.due_on >= on_or_after,
               Grant.stage.in_([str(s) for s in rules.RECEIVING_STAGES]))  # type: ignore[attr-defined]
        .order_by(GrantInstalment.due_on, GrantInstalment.id)
    ).all()
    return [
        ExpectedInstalment(
            grant_id=inst.grant_id, instalment_id=inst.id, funder_name=org or code, iban=iban,  # type: ignore[arg-type]
            amount=Money(inst.amount_minor, inst.currency), due_on=inst.due_on, reference=ref,
            funder_reference=fref, donor_id=donor_id,
        )
        for inst, ref, fref, org, donor_id, code, iban in rows
    ]
