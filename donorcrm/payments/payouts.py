"""Payout reconciliation: which provider payments reached the bank, in which payout, at what cost.

Importing a Stripe payout (its balance transactions) or a Mollie settlement (its payments, refunds,
chargebacks and period costs) links each payment to the payout, records fees as costs, and remembers
lines for payments we do not know. Importing again updates rather than duplicates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm import audit
from donorcrm.db import session_scope
from donorcrm.gifts.service import find_by_ref
from donorcrm.money import Money
from donorcrm.payments.models import ProviderFee, ProviderPayment, ProviderPayout, ProviderPayoutLine
from donorcrm.payments.provider import PaymentProvider
from donorcrm.payments.types import LineKind, PaymentStatus, Payout


@dataclass
class PayoutImport:
    payouts: int = 0
    lines: int = 0
    matched: int = 0
    unmatched: int = 0
    fees: int = 0


def _find_payment(session: Session, provider: str, payment_id: str | None, charge_ref: str | None) -> ProviderPayment | None:
    stmt = select(ProviderPayment).where(ProviderPayment.provider == provider)
    if payment_id:
        found = session.execute(stmt.where(ProviderPayment.payment_id == payment_id)).scalars().first()
        if found is not None:
            return found
    if charge_ref:
        return session.execute(stmt.where(ProviderPayment.charge_ref == charge_ref)).scalars().first()
    return None


def record_payout(session: Session, payout: Payout) -> PayoutImport:
    """Store one payout with its lines and fees; idempotent by provider ids."""
    source = payout.provider.value
    result = PayoutImport(payouts=1)
    row = session.execute(select(ProviderPayout).where(
        ProviderPayout.provider == source, ProviderPayout.payout_id == payout.payout_id)).scalars().first()
    if row is None:
        row = ProviderPayout(provider=source, payout_id=payout.payout_id, status=payout.status,
                             amount_minor=payout.amount.minor, currency=payout.amount.currency)
    row.status, row.amount_minor, row.paid_on, row.reference = (
        payout.status, payout.amount.minor, payout.paid_on, payout.reference)
    session.add(row)
    for line in payout.lines:
        payment = None
        matched = False
        if line.kind is LineKind.PAYMENT:
            payment = _find_payment(session, source, line.payment_id, line.charge_ref)
            matched = payment is not None
            if payment is not None:
                payment.payout_id = payout.payout_id
                session.add(payment)
        elif line.kind in (LineKind.REFUND, LineKind.CHARGEBACK):
            matched = find_by_ref(session, source, line.object_id) is not None or (
                line.payment_id is not None and _find_payment(session, source, line.payment_id, None) is not None)
        else:
            matched = True  # fees and adjustments are not gifts
        payment_id = payment.payment_id if payment is not None else line.payment_id
        stored = session.execute(select(ProviderPayoutLine).where(
            ProviderPayoutLine.provider == source, ProviderPayoutLine.payout_id == payout.payout_id,
            ProviderPayoutLine.object_id == line.object_id)).scalars().first()
        if stored is None:
            stored = ProviderPayoutLine(provider=source, payout_id=payout.payout_id, kind=line.kind.value,
                                        object_id=line.object_id, gross_minor=line.gross.minor,
                                        currency=line.gross.currency)
        stored.payment_id, stored.fee_minor, stored.matched = payment_id, line.fee.minor, matched
        stored.gross_minor = line.gross.minor
        session.add(stored)
        result.lines += 1
        result.matched += matched
        result.unmatched += not matched
        if line.fee.minor:
            result.fees += _fee(session, source, f"{payout.payout_id}:{line.object_id}", payout, payment_id,
                                f"{line.kind.value} fee", line.fee)
    for label, cost in payout.period_costs:
        result.fees += _fee(session, source, f"{payout.payout_id}:{label}", payout, None, label, cost)
    session.flush()
    audit.record(session, "payout.import", "provider_payout", row.id, after={
        "provider": source, "payout_id": payout.payout_id, "amount": str(payout.amount), "lines": result.lines,
        "unmatched": result.unmatched,
    })
    return result


def _fee(session: Session, source: str, ref: str, payout: Payout, payment_id: str | None, description: str,
         amount: Money) -> int:
    fee = session.execute(select(ProviderFee).where(
        ProviderFee.provider == source, ProviderFee.external_ref == ref)).scalars().first()
    new = fee is None
    if fee is None:
        fee = ProviderFee(provider=source, external_ref=ref[:160], amount_minor=amount.minor, currency=amount.currency)
    fee.payout_id, fee.payment_id, fee.description = payout.payout_id, payment_id, description[:200]
    fee.amount_minor, fee.incurred_on = amount.minor, payout.paid_on
    session.add(fee)
    return int(new)


def import_payouts(engine: Engine, provider: PaymentProvider, since: dt.datetime) -> PayoutImport:
    """Fetch payouts since a moment and store each in its own transaction (an interrupted run resumes)."""
    total = PayoutImport()
    for payout in provider.payouts_since(since):
        with session_scope(engine) as s:
            one = record_payout(s, payout)
        total.payouts += one.payouts
        total.lines += one.lines
        total.matched += one.matched
        total.unmatched += one.unmatched
        total.fees += one.fees
    return total


@dataclass(frozen=True)
class PayoutCheck:
    payout_id: str
    paid_on: dt.date | None
    amount: Money  # what reached the bank
    gross: Money  # sum of lines
    fees: Money  # per-line fees plus period costs
    difference: Money  # amount - (gross - fees): zero when the payout is fully explained


@dataclass
class Reconciliation:
    provider: str
    not_paid_out: list[tuple[str, Money, dt.date | None]] = field(default_factory=list)
    unknown_in_payouts: list[tuple[str, str, str, Money]] = field(default_factory=list)  # payout, kind, id, gross
    payouts: list[PayoutCheck] = field(default_factory=list)
    fees_total: Money | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "not_paid_out": [{"payment_id": p, "amount": str(a), "paid_on": str(d) if d else None}
                             for p, a, d in self.not_paid_out],
            "unknown_in_payouts": [{"payout_id": po, "kind": k, "object_id": o, "gross": str(g)}
                                   for po, k, o, g in self.unknown_in_payouts],
            "payouts": [{"payout_id": c.payout_id, "paid_on": str(c.paid_on) if c.paid_on else None,
                         "amount": str(c.amount), "gross": str(c.gross), "fees": str(c.fees),
                         "difference": str(c.difference)} for c in self.payouts],
            "fees_total": str(self.fees_total) if self.fees_total is not None else None,
        }


def reconcile(session: Session, provider: str, currency: str = "EUR") -> Reconciliation:
    """Paid payments not yet in a payout, payout lines we cannot place, and whether each payout adds up."""
    rec = Reconciliation(provider=provider)
    for p in session.execute(select(ProviderPayment).where(
            ProviderPayment.provider == provider, ProviderPayment.status == PaymentStatus.PAID.value,
            ProviderPayment.payout_id.is_(None)).order_by(ProviderPayment.paid_on)).scalars():  # type: ignore[union-attr]
        rec.not_paid_out.append((p.payment_id, Money(p.amount_minor, p.currency), p.paid_on))
    for line in session.execute(select(ProviderPayoutLine).where(
            ProviderPayoutLine.provider == provider, ProviderPayoutLine.matched.is_(False))  # type: ignore[attr-defined]
            .order_by(ProviderPayoutLine.id)).scalars():
        rec.unknown_in_payouts.append((line.payout_id, line.kind, line.object_id,
                                       Money(line.gross_minor, line.currency)))
    gross_by = {k: int(v or 0) for k, v in session.execute(
        select(ProviderPayoutLine.payout_id, func.sum(ProviderPayoutLine.gross_minor))
        .where(ProviderPayoutLine.provider == provider).group_by(ProviderPayoutLine.payout_id)).all()}
    fees_by = {k: int(v or 0) for k, v in session.execute(
        select(ProviderFee.payout_id, func.sum(ProviderFee.amount_minor))
        .where(ProviderFee.provider == provider).group_by(ProviderFee.payout_id)).all()}
    for po in session.execute(select(ProviderPayout).where(ProviderPayout.provider == provider)
                              .order_by(ProviderPayout.paid_on, ProviderPayout.id)).scalars():
        gross = Money(gross_by.get(po.payout_id, 0), po.currency)
        fees = Money(fees_by.get(po.payout_id, 0), po.currency)
        amount = Money(po.amount_minor, po.currency)
        rec.payouts.append(PayoutCheck(po.payout_id, po.paid_on, amount, gross, fees, amount - (gross - fees)))
    total_fees = session.execute(select(func.coalesce(func.sum(ProviderFee.amount_minor), 0)).where(
        ProviderFee.provider == provider, ProviderFee.currency == currency)).scalar_one()
    rec.fees_total = Money(int(total_fees), currency)
    return rec
