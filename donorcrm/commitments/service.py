"""Use cases on commitments: create, change the amount from a date, pause, resume, cancel, end, and attach
a Dutch periodic-gift agreement. Services never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.commitments.models import (
    Commitment,
    CommitmentAmount,
    CommitmentStatus,
    Frequency,
    PaymentRoute,
    PeriodicAgreement,
)
from donorcrm.commitments.rules import AgreementTerms, CommitmentTerms, amount_on, check_agreement
from donorcrm.db import utcnow
from donorcrm.errors import InvalidState, NotFound, Problem, ValidationError
from donorcrm.money import Money


@dataclass(frozen=True)
class CommitmentCreate:
    donor_id: int
    amount: Money
    starts_on: dt.date
    frequency: str = Frequency.MONTHLY
    collection_day: int = 1
    ends_on: dt.date | None = None
    route: str = PaymentRoute.SEPA
    fund_id: int | None = None
    campaign_id: int | None = None


def get_commitment(session: Session, commitment_id: int) -> Commitment:
    found = session.get(Commitment, commitment_id)
    if found is None:
        raise NotFound(f"no commitment {commitment_id}")
    return found


def create_commitment(session: Session, data: CommitmentCreate) -> Commitment:
    problems = []
    if not data.amount.is_positive:
        problems.append("the amount must be positive")
    if not 1 <= data.collection_day <= 28:
        problems.append("the collection day must be between 1 and 28")
    if data.ends_on is not None and data.ends_on < data.starts_on:
        problems.append("the end lies before the start")
    try:
        Frequency(data.frequency)
        PaymentRoute(data.route)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise ValidationError("; ".join(problems))
    c = Commitment(
        donor_id=data.donor_id, amount_minor=data.amount.minor, currency=data.amount.currency,
        frequency=Frequency(data.frequency), collection_day=data.collection_day, starts_on=data.starts_on,
        ends_on=data.ends_on, route=PaymentRoute(data.route), fund_id=data.fund_id, campaign_id=data.campaign_id,
    )
    session.add(c)
    session.flush()
    session.add(CommitmentAmount(commitment_id=c.id, effective_from=data.starts_on, amount_minor=data.amount.minor))
    session.flush()
    audit.record(session, "commitment.create", "commitment", c.id, after={
        "donor_id": data.donor_id, "amount": str(data.amount), "frequency": str(data.frequency)})
    return c


def change_amount(session: Session, commitment_id: int, amount: Money, effective_from: dt.date) -> Commitment:
    """A new amount from ``effective_from`` on; the history row stays so earlier periods keep theirs."""
    c = get_commitment(session, commitment_id)
    if not amount.is_positive or amount.currency != c.currency:
        raise ValidationError(f"invalid amount {amount}")
    row = session.execute(select(CommitmentAmount).where(
        CommitmentAmount.commitment_id == commitment_id, CommitmentAmount.effective_from == effective_from,
    )).scalars().first()
    before = c.amount_minor
    if row is None:
        session.add(CommitmentAmount(commitment_id=commitment_id, effective_from=effective_from,
                                     amount_minor=amount.minor))
    else:
        row.amount_minor = amount.minor
        session.add(row)
    session.flush()
    history = tuple((r.effective_from, r.amount_minor) for r in _amounts(session, commitment_id))
    c.amount_minor = amount_on(terms_of(session, c)._replace(amounts=history), dt.date.today())
    c.updated_at = utcnow()
    session.add(c)
    session.flush()
    audit.record(session, "commitment.change_amount", "commitment", commitment_id,
                 before={"amount_minor": before}, after={"amount_minor": amount.minor, "from": effective_from})
    return c


def _amounts(session: Session, commitment_id: int) -> list[CommitmentAmount]:
    return list(session.execute(select(CommitmentAmount).where(
        CommitmentAmount.commitment_id == commitment_id).order_by(CommitmentAmount.effective_from)).scalars())


_TRANSITIONS: dict[str, set[str]] = {
    CommitmentStatus.PAUSED: {CommitmentStatus.ACTIVE},
    CommitmentStatus.ACTIVE: {CommitmentStatus.PAUSED},
    CommitmentStatus.CANCELLED: {CommitmentStatus.ACTIVE, CommitmentStatus.PAUSED},
    CommitmentStatus.ENDED: {CommitmentStatus.ACTIVE, CommitmentStatus.PAUSED},
}


def _move(session: Session, commitment_id: int, to: str, reason: str | None,
          ends_on: dt.date | None = None) -> Commitment:
    c = get_commitment(session, commitment_id)
    if c.status not in _TRANSITIONS[to]:
        raise InvalidState(f"commitment {commitment_id} is {c.status}; cannot become {to}")
    before = c.status
    c.status = to
    c.status_reason = reason
    if to == CommitmentStatus.ACTIVE:
        c.consecutive_failures = 0
    if ends_on is not None:
        c.ends_on = ends_on
    c.updated_at = utcnow()
    session.add(c)
    session.flush()
    audit.record(session, f"commitment.{to}", "commitment", commitment_id,
                 before={"status": before}, after={"status": to, "reason": reason})
    return c


def pause(session: Session, commitment_id: int, reason: str | None = None) -> Commitment:
    return _move(session, commitment_id, CommitmentStatus.PAUSED, reason)


def resume(session: Session, commitment_id: int) -> Commitment:
    return _move(session, commitment_id, CommitmentStatus.ACTIVE, None)


def cancel(session: Session, commitment_id: int, reason: str | None = None, on: dt.date | None = None) -> Commitment:
    return _move(session, commitment_id, CommitmentStatus.CANCELLED, reason, ends_on=on)


def end(session: Session, commitment_id: int, on: dt.date, reason: str | None = None) -> Commitment:
    return _move(session, commitment_id, CommitmentStatus.ENDED, reason, ends_on=on)


def terms_of(session: Session, commitment: Commitment) -> CommitmentTerms:
    amounts = tuple((r.effective_from, r.amount_minor) for r in _amounts(session, commitment.id))  # type: ignore[arg-type]
    return CommitmentTerms(
        id=commitment.id, donor_id=commitment.donor_id, status=commitment.status,  # type: ignore[arg-type]
        frequency=commitment.frequency, collection_day=commitment.collection_day, starts_on=commitment.starts_on,
        ends_on=commitment.ends_on, amount_minor=commitment.amount_minor, currency=commitment.currency,
        amounts=amounts,
    )


def attach_agreement(
    session: Session, commitment_id: int, *, transaction_number: str, yearly_amount: Money, first_year: int,
    signed_on: dt.date, term_years: int | None = 5, ends_on_death: bool = True, partner_name: str | None = None,
) -> PeriodicAgreement:
    """Attach a periodieke-gift agreement after checking §2 (term, fixed yearly amount, unique number)."""
    c = get_commitment(session, commitment_id)
    terms = AgreementTerms(transaction_number, yearly_amount.minor, first_year, term_years, signed_on, ends_on_death)
    problems = check_agreement(terms, terms_of(session, c))
    taken = session.execute(select(PeriodicAgreement.id).where(
        PeriodicAgreement.transaction_number == transaction_number)).first()
    if taken is not None:
        problems.append(Problem("transaction_number", f"{transaction_number} is already used"))
    if problems:
        raise ValidationError("the periodic-gift agreement does not qualify", problems)
    agreement = PeriodicAgreement(
        commitment_id=commitment_id, transaction_number=transaction_number, yearly_amount_minor=yearly_amount.minor,
        currency=yearly_amount.currency, first_year=first_year, term_years=term_years, signed_on=signed_on,
        ends_on_death=ends_on_death, partner_name=partner_name,
    )
    session.add(agreement)
    session.flush()
    audit.record(session, "commitment.agreement", "commitment", commitment_id,
                 after={"transaction_number": transaction_number, "yearly": str(yearly_amount)})
    return agreement


