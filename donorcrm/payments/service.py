"""Online giving use cases: start payments and recurring gifts, and bring the ledger to the provider's state.

The ledger is driven by *state*, not by event order: every webhook (or sync) re-reads the payment from the
provider and `apply_payment` makes the ledger agree with it. Gifts are keyed by the provider payment id and
reversals by the refund or chargeback id, so applying the same state twice, or a refund before its
payment, books each thing once. Services take the session and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.campaigns.models import Campaign, Fund
from donorcrm.commitments.models import MONTHS_PER_PERIOD, Commitment, CommitmentStatus, Frequency
from donorcrm.config import get_settings
from donorcrm.db import utcnow
from donorcrm.donors.models import Donor, DonorCreate
from donorcrm.donors.service import create_donor
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.gifts.categories import EntryType, IncomeCategory
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import find_by_ref, is_reversed, record_gift, reverse_gift
from donorcrm.money import Money
from donorcrm.payments.models import ProviderPayment, ProviderSubscription
from donorcrm.payments.provider import PaymentProvider, channel_of
from donorcrm.payments.types import (
    OneOffRequest,
    PaymentState,
    PaymentStatus,
    RecurringRequest,
    Refund,
    StartedPayment,
    StartedRecurring,
    SubscriptionState,
    SubscriptionStatus,
)


@dataclass
class Applied:
    """What applying one provider state changed in the ledger."""

    booked: list[int] = field(default_factory=list)  # gift ids
    reversed: list[int] = field(default_factory=list)  # reversal row ids
    notes: list[str] = field(default_factory=list)

    def merge(self, other: Applied) -> None:
        self.booked += other.booked
        self.reversed += other.reversed
        self.notes += other.notes


def _webhook_url(provider: PaymentProvider) -> str | None:
    base = get_settings().payments_webhook_base_url.rstrip("/")
    return f"{base}/{provider.name.value}" if base else None


def _payment_row(session: Session, provider: str, payment_id: str, *, lock: bool = False) -> ProviderPayment | None:
    stmt = select(ProviderPayment).where(ProviderPayment.provider == provider, ProviderPayment.payment_id == payment_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalars().first()


def subscription_of_commitment(session: Session, commitment_id: int) -> ProviderSubscription | None:
    return session.execute(
        select(ProviderSubscription).where(ProviderSubscription.commitment_id == commitment_id)
    ).scalars().first()


def _subscription_row(session: Session, provider: str, subscription_id: str) -> ProviderSubscription | None:
    return session.execute(select(ProviderSubscription).where(
        ProviderSubscription.provider == provider, ProviderSubscription.subscription_id == subscription_id,
    )).scalars().first()


# --- starting gifts ----------------------------------------------------------------------------------------

def start_one_off(
    session: Session,
    provider: PaymentProvider,
    *,
    amount: Money,
    description: str,
    redirect_url: str,
    donor_id: int | None = None,
    new_donor: DonorCreate | None = None,
    campaign_id: int | None = None,
    fund_id: int | None = None,
    category: IncomeCategory | str = IncomeCategory.INDIVIDUAL_ONE_OFF,
    method: str | None = None,
    payment_method_ref: str | None = None,
    page: str | None = None,
    page_anonymous: bool = False,
    page_message: str | None = None,
) -> tuple[StartedPayment, int]:
    """Create a provider payment for a known donor or a new one; returns it and the donor id.

    Nothing reaches the ledger here: the gift is booked when the provider says the payment is paid.
    A gift made on a supporter's fundraising ``page`` goes to the page's campaign and, once paid, is
    credited to the page (with the giver's choice of anonymity and message for the honour roll).
    """
    if not amount.is_positive:
        raise ValidationError(f"a gift must be positive, got {amount}")
    if (donor_id is None) == (new_donor is None):
        raise ValidationError("give either donor_id or new_donor")
    page_meta: dict[str, str] = {}
    if page is not None:
        from donorcrm.campaigns.models import PageStatus
        from donorcrm.campaigns.service import get_page

        fundraising_page = get_page(session, page)
        if fundraising_page.status != PageStatus.APPROVED:
            raise InvalidState(f"page {page} is {fundraising_page.status}; only approved pages take gifts")
        if campaign_id is not None and campaign_id != fundraising_page.campaign_id:
            raise ValidationError(f"page {page} belongs to another campaign than campaign {campaign_id}")
        campaign_id = fundraising_page.campaign_id
        page_meta = {"page": page, **({"page_anonymous": "1"} if page_anonymous else {}),
                     **({"page_message": page_message[:300]} if page_message else {})}
    if donor_id is None:
        donor_id = int(create_donor(session, new_donor).id)  # type: ignore[arg-type]
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}")
    category = IncomeCategory(category)
    metadata = {"donor_id": str(donor_id), "category": category.value}
    if campaign_id is not None:
        metadata["campaign_id"] = str(campaign_id)
    if fund_id is not None:
        metadata["fund_id"] = str(fund_id)
    metadata.update(page_meta)
    started = provider.create_payment(OneOffRequest(
        amount=amount, description=description, redirect_url=redirect_url, webhook_url=_webhook_url(provider),
        method=method, payment_method_ref=payment_method_ref, email=donor.email, metadata=metadata,
    ))
    row = ProviderPayment(
        provider=provider.name.value, payment_id=started.payment_id, status=started.status.value,
        amount_minor=amount.minor, currency=amount.currency, method=method, category=category.value,
        donor_id=donor_id, campaign_id=campaign_id, fund_id=fund_id,
    )
    session.add(row)
    session.flush()
    audit.record(session, "payment.start", "provider_payment", row.id, after={
        "provider": provider.name.value, "payment_id": started.payment_id, "amount": str(amount), "donor_id": donor_id,
    })
    return started, donor_id


def start_recurring(
    session: Session,
    provider: PaymentProvider,
    *,
    donor_id: int,
    amount: Money,
    frequency: Frequency | str = Frequency.MONTHLY,
    description: str,
    redirect_url: str,
    campaign_id: int | None = None,
    fund_id: int | None = None,
    method: str | None = None,
    payment_method_ref: str | None = None,
    mandate_ref: str | None = None,
    starts_on: dt.date | None = None,
) -> tuple[Commitment, StartedRecurring]:
    """A commitment paid through the provider: Mollie starts with a first payment, Stripe with a subscription."""
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}")
    if not amount.is_positive:
        raise ValidationError(f"a recurring gift must be positive, got {amount}")
    frequency = Frequency(frequency)
    starts_on = starts_on or dt.date.today()
    commitment = Commitment(
        donor_id=donor_id, amount_minor=amount.minor, currency=amount.currency, frequency=frequency.value,
        collection_day=min(starts_on.day, 28), starts_on=starts_on, route=provider.name.value,
        status=CommitmentStatus.ACTIVE.value, campaign_id=campaign_id, fund_id=fund_id,
    )
    session.add(commitment)
    session.flush()
    months = MONTHS_PER_PERIOD[frequency]
    started = provider.start_recurring(RecurringRequest(
        amount=amount, interval_months=months, description=description, name=donor.display_name,
        email=donor.email, redirect_url=redirect_url, webhook_url=_webhook_url(provider),
        payment_method_ref=payment_method_ref, mandate_ref=mandate_ref, method=method, start_date=starts_on,
        metadata={"donor_id": str(donor_id), "commitment_id": str(commitment.id)},
    ))
    sub = ProviderSubscription(
        provider=provider.name.value, commitment_id=int(commitment.id),  # type: ignore[arg-type]
        customer_id=started.customer_id, mandate_id=started.mandate_id, subscription_id=started.subscription_id,
        first_payment_id=started.first_payment_id, interval_months=months, description=description[:200],
        status=(SubscriptionStatus.ACTIVE if started.subscription_id else SubscriptionStatus.PENDING).value,
    )
    session.add(sub)
    if started.first_payment_id:
        session.add(ProviderPayment(
            provider=provider.name.value, payment_id=started.first_payment_id, status=PaymentStatus.OPEN.value,
            amount_minor=amount.minor, currency=amount.currency, method=method,
            category=IncomeCategory.INDIVIDUAL_RECURRING.value, donor_id=donor_id, commitment_id=commitment.id,
            campaign_id=campaign_id, fund_id=fund_id, customer_id=started.customer_id,
        ))
    session.flush()
    audit.record(session, "commitment.start_online", "commitment", commitment.id, after={
        "provider": provider.name.value, "customer_id": started.customer_id,
        "subscription_id": started.subscription_id, "amount": str(amount), "frequency": frequency.value,
    })
    return commitment, started


def cancel_recurring(session: Session, provider: PaymentProvider, commitment_id: int, *,
                     reason: str = "cancelled by the charity") -> Commitment:
    """Stop the provider subscription and the commitment together."""
    commitment = session.get(Commitment, commitment_id)
    if commitment is None:
        raise NotFound(f"no commitment {commitment_id}")
    sub = subscription_of_commitment(session, commitment_id)
    if sub is None or sub.provider != provider.name.value:
        raise InvalidState(f"commitment {commitment_id} is not paid through {provider.name.value}")
    if sub.subscription_id:
        provider.cancel_recurring(sub.customer_id, sub.subscription_id)
    sub.status = SubscriptionStatus.CANCELED.value
    sub.updated_at = utcnow()
    _end_commitment(session, commitment, reason)
    return commitment


def _end_commitment(session: Session, commitment: Commitment, reason: str) -> None:
    if commitment.status == CommitmentStatus.CANCELLED:
        return
    before = commitment.status
    commitment.status = CommitmentStatus.CANCELLED.value
    commitment.status_reason = reason[:200]
    commitment.ends_on = commitment.ends_on or dt.date.today()
    commitment.updated_at = utcnow()
    session.add(commitment)
    audit.record(session, "commitment.cancel", "commitment", commitment.id,
                 before={"status": before}, after={"status": commitment.status, "reason": reason})


def refund_payment(session: Session, provider: PaymentProvider, payment_id: str, *,
                   amount: Money | None = None) -> Refund:
    """Refund from donorcrm: ask the provider, then book what it now reports (the same path as a webhook).

    The idempotency key is derived from the payment and amount, so a retry after a lost answer does not
    refund twice at providers that honour keys.
    """
    row = _payment_row(session, provider.name.value, payment_id)
    if row is None:
        raise NotFound(f"no {provider.name.value} payment {payment_id}")
    if row.status != PaymentStatus.PAID:
        raise InvalidState(f"payment {payment_id} is {row.status}, not paid")
    key = f"donorcrm-refund-{payment_id}-{amount.minor if amount else 'full'}"
    refund = provider.refund(payment_id, amount, idempotency_key=key)
    apply_payment(session, provider.get_payment(payment_id), provider=provider)
    return refund


# --- bringing the ledger to the provider's state -------------------------------------------------------------

def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _new_row(session: Session, state: PaymentState) -> ProviderPayment:
    """A payment we did not start (dashboard, another donation page, a subscription instalment)."""
    donor_id = _int(state.metadata.get("donor_id"))
    if donor_id is not None and session.get(Donor, donor_id) is None:
        donor_id = None
    category = state.metadata.get("category")
    if category not in set(IncomeCategory):
        category = None
    campaign_id = _int(state.metadata.get("campaign_id"))
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        campaign_id = None
    fund_id = _int(state.metadata.get("fund_id"))
    if fund_id is not None and session.get(Fund, fund_id) is None:
        fund_id = None
    row = ProviderPayment(
        provider=state.provider.value, payment_id=state.payment_id, status=state.status.value,
        amount_minor=state.amount.minor, currency=state.amount.currency, donor_id=donor_id, category=category,
        campaign_id=campaign_id, fund_id=fund_id,
    )
    session.add(row)
    return row


def _link_commitment(session: Session, row: ProviderPayment, state: PaymentState) -> Commitment | None:
    if row.commitment_id is None:
        sub = None
        if state.subscription_id:
            sub = _subscription_row(session, state.provider.value, state.subscription_id)
        if sub is None:
            commitment_id = _int(state.metadata.get("commitment_id"))
            if commitment_id is not None:
                sub = subscription_of_commitment(session, commitment_id)
        if sub is not None and sub.provider == state.provider.value:
            row.commitment_id = sub.commitment_id
    if row.commitment_id is None:
        return None
    commitment = session.get(Commitment, row.commitment_id)
    if commitment is not None:
        row.donor_id = row.donor_id or commitment.donor_id
        row.campaign_id = row.campaign_id or commitment.campaign_id
        row.fund_id = row.fund_id or commitment.fund_id
        row.category = row.category or IncomeCategory.INDIVIDUAL_RECURRING.value
    return commitment


def _credit_page(session: Session, gift: Gift, state: PaymentState, applied: Applied) -> None:
    """A gift given on a fundraising page counts for the page; when the page can no longer take it (closed,
    moved to another campaign) the gift stays booked to its campaign and the skipped credit is noted."""
    slug = state.metadata.get("page")
    if not slug:
        return
    from donorcrm.campaigns.service import credit_page

    try:
        credit_page(session, int(gift.id), slug, anonymous=state.metadata.get("page_anonymous") == "1",  # type: ignore[arg-type]
                    message=state.metadata.get("page_message") or None)
    except (NotFound, InvalidState, ValidationError) as exc:
        applied.notes.append(f"gift {gift.id} not credited to page {slug}: {exc}")
        audit.record(session, "payment.page_credit_skipped", "gift", gift.id, after={"page": slug, "why": str(exc)})


def apply_payment(session: Session, state: PaymentState, *, provider: PaymentProvider | None = None) -> Applied:
    """Make the ledger agree with one provider payment: its gift, refunds and chargebacks, each once."""
    applied = Applied()
    source = state.provider.value
    row = _payment_row(session, source, state.payment_id, lock=True) or _new_row(session, state)
    previous_status = row.status
    commitment = _link_commitment(session, row, state)
    row.status = state.status.value
    row.method = state.method or row.method
    row.customer_id = state.customer_id or row.customer_id
    row.subscription_id = state.subscription_id or row.subscription_id
    row.charge_ref = state.charge_ref or row.charge_ref
    row.paid_on = state.paid_on or row.paid_on
    row.payout_id = row.payout_id or state.settlement_id
    row.updated_at = utcnow()
    session.flush()

    ever_paid = state.status is PaymentStatus.PAID or bool(state.refunds) or bool(state.chargebacks)
    if ever_paid:
        gift = find_by_ref(session, source, state.payment_id)
        if gift is None:
            gift = record_gift(
                session, donor_id=row.donor_id, amount=state.amount,
                received_on=state.paid_on or dt.date.today(), channel=channel_of(state.method),
                category=row.category or IncomeCategory.INDIVIDUAL_ONE_OFF, source=source,
                external_ref=state.payment_id, fund_id=row.fund_id, campaign_id=row.campaign_id,
                commitment_id=row.commitment_id,
            )
            row.gift_id = gift.id
            applied.booked.append(int(gift.id))  # type: ignore[arg-type]
            _credit_page(session, gift, state, applied)
            if commitment is not None and state.status is PaymentStatus.PAID and commitment.consecutive_failures:
                commitment.consecutive_failures = 0
                session.add(commitment)
        elif row.gift_id is None and not is_reversed(session, int(gift.id)):  # type: ignore[arg-type]
            row.gift_id = gift.id

    for refund in sorted(state.refunds, key=lambda r: (r.created_on, r.refund_id)):
        if refund.is_effective:
            _reverse(session, row, refund.refund_id, refund.amount, EntryType.REFUND, refund.created_on, "refund",
                     applied)
        elif find_by_ref(session, source, refund.refund_id) is not None:  # booked while pending, then failed
            _reinstate(session, row, refund.refund_id, refund.amount, applied, why="refund failed")
    for cb in sorted(state.chargebacks, key=lambda c: (c.created_on, c.chargeback_id)):
        if _reverse(session, row, cb.chargeback_id, cb.amount, EntryType.CHARGEBACK, cb.created_on,
                    "chargeback", applied) and commitment is not None:
            _count_failure(session, commitment, f"chargeback {cb.chargeback_id}")
        if cb.reversed:
            _reinstate(session, row, cb.chargeback_id, cb.amount, applied, why="chargeback reversed")

    if (commitment is not None and state.status is PaymentStatus.FAILED
            and previous_status != PaymentStatus.FAILED and state.sequence == "recurring"):
        _count_failure(session, commitment, f"payment {state.payment_id} failed")
    if state.customer_id and state.sequence == "first":  # only Mollie first payments start subscriptions
        if state.status is PaymentStatus.PAID and provider is not None:
            _start_pending_subscription(session, provider, row, state, applied)
        elif state.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.EXPIRED):
            _first_payment_lost(session, row, state)
    session.add(row)
    session.flush()
    return applied


def _reverse(session: Session, row: ProviderPayment, ref: str, amount: Money, entry_type: EntryType,
             on: dt.date, what: str, applied: Applied) -> bool:
    """Reverse (part of) the live gift of a payment. A partial reversal undoes the gift and re-books the rest,
    because a ledger row reverses exactly one gift in full."""
    source = row.provider
    if find_by_ref(session, source, ref) is not None:
        return False
    live = session.get(Gift, row.gift_id) if row.gift_id else None
    if live is None or is_reversed(session, int(live.id)):  # type: ignore[arg-type]
        applied.notes.append(f"{what} {ref}: nothing left to reverse on {row.payment_id}")
        return False
    if amount.currency != live.currency:
        raise InvalidState(f"{what} {ref} is in {amount.currency}, the gift in {live.currency}")
    reversal = reverse_gift(session, int(live.id), entry_type=entry_type, on=on,  # type: ignore[arg-type]
                            reason=f"{source} {what}", source=source, external_ref=ref)
    applied.reversed.append(int(reversal.id))  # type: ignore[arg-type]
    rest = live.amount_minor - amount.minor
    row.gift_id = None
    if rest > 0:
        rebooked = record_gift(
            session, donor_id=live.donor_id, amount=Money(rest, live.currency), received_on=live.received_on,
            channel=live.channel, category=live.category, source=source, external_ref=f"{row.payment_id}/rest/{ref}",
            fund_id=live.fund_id, campaign_id=live.campaign_id, commitment_id=live.commitment_id,
            source_code=live.source_code, note=f"remainder after partial {what} {ref}",
        )
        row.gift_id = rebooked.id
        applied.booked.append(int(rebooked.id))  # type: ignore[arg-type]
    return True


def _reinstate(session: Session, row: ProviderPayment, ref: str, amount: Money, applied: Applied, *,
               why: str) -> None:
    """Money that came back after a reversal (a chargeback won, a refund that failed) is a gift again."""
    key = f"{ref}/reversed"
    if find_by_ref(session, row.provider, key) is not None:
        return
    template = find_by_ref(session, row.provider, row.payment_id)
    if template is None:
        return
    gift = record_gift(
        session, donor_id=template.donor_id, amount=amount, received_on=dt.date.today(), channel=template.channel,
        category=template.category, source=row.provider, external_ref=key, fund_id=template.fund_id,
        campaign_id=template.campaign_id, commitment_id=template.commitment_id,
        note=f"{why}: {ref}",
    )
    row.gift_id = row.gift_id or gift.id
    applied.booked.append(int(gift.id))  # type: ignore[arg-type]


def _count_failure(session: Session, commitment: Commitment, why: str) -> None:
    commitment.consecutive_failures += 1
    limit = get_settings().failures_before_pause
    if commitment.consecutive_failures >= limit and commitment.status == CommitmentStatus.ACTIVE:
        commitment.status = CommitmentStatus.PAUSED.value
        commitment.status_reason = f"{commitment.consecutive_failures} failures in a row; last: {why}"[:200]
    commitment.updated_at = utcnow()
    session.add(commitment)
    audit.record(session, "commitment.failure", "commitment", commitment.id,
                 after={"consecutive_failures": commitment.consecutive_failures, "why": why})


def _start_pending_subscription(session: Session, provider: PaymentProvider, row: ProviderPayment,
                                state: PaymentState, applied: Applied) -> None:
    """Mollie: the paid first payment gave a mandate; now the subscription can start."""
    sub = session.execute(select(ProviderSubscription).where(
        ProviderSubscription.provider == state.provider.value,
        ProviderSubscription.first_payment_id == state.payment_id,
    )).scalars().first()
    if sub is None or sub.subscription_id:
        return
    commitment = session.get(Commitment, sub.commitment_id)
    if commitment is None or commitment.status == CommitmentStatus.CANCELLED:
        return
    months = sub.interval_months
    paid = state.paid_on or dt.date.today()
    start = _add_months(paid, months)
    sub.mandate_id = state.mandate_id or sub.mandate_id
    sub.subscription_id = provider.create_subscription(sub.customer_id, sub.mandate_id, RecurringRequest(
        amount=Money(commitment.amount_minor, commitment.currency), interval_months=months,
        description=sub.description or f"Gift {commitment.id}", name="", email=None, redirect_url="",
        webhook_url=_webhook_url(provider), start_date=start,
        metadata={"donor_id": str(commitment.donor_id), "commitment_id": str(commitment.id)},
    ))
    sub.status = SubscriptionStatus.ACTIVE.value
    sub.updated_at = utcnow()
    session.add(sub)
    applied.notes.append(f"subscription {sub.subscription_id} started for commitment {commitment.id}")
    audit.record(session, "commitment.subscription", "commitment", commitment.id,
                 after={"provider": sub.provider, "subscription_id": sub.subscription_id, "mandate_id": sub.mandate_id})


def _first_payment_lost(session: Session, row: ProviderPayment, state: PaymentState) -> None:
    """A first payment that failed or expired never gave a mandate: the commitment cannot start."""
    sub = session.execute(select(ProviderSubscription).where(
        ProviderSubscription.provider == state.provider.value,
        ProviderSubscription.first_payment_id == state.payment_id,
    )).scalars().first()
    if sub is None or sub.subscription_id:
        return
    sub.status = SubscriptionStatus.CANCELED.value
    commitment = session.get(Commitment, sub.commitment_id)
    if commitment is not None:
        _end_commitment(session, commitment, f"first payment {state.status.value}")


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, 28))


def apply_subscription(session: Session, state: SubscriptionState) -> Applied:
    """Mirror a subscription cancelled or suspended at the provider onto its commitment."""
    applied = Applied()
    sub = _subscription_row(session, state.provider.value, state.subscription_id)
    if sub is None:
        commitment_id = _int(state.metadata.get("commitment_id"))
        sub = subscription_of_commitment(session, commitment_id) if commitment_id is not None else None
        if sub is None or sub.provider != state.provider.value:
            applied.notes.append(f"subscription {state.subscription_id} is not ours")
            return applied
        sub.subscription_id = state.subscription_id
    sub.status = state.status.value
    sub.mandate_id = state.mandate_id or sub.mandate_id
    sub.updated_at = utcnow()
    session.add(sub)
    commitment = session.get(Commitment, sub.commitment_id)
    if commitment is None:
        return applied
    if state.status in (SubscriptionStatus.CANCELED, SubscriptionStatus.COMPLETED):
        _end_commitment(session, commitment, f"subscription {state.status.value} at {state.provider.value}")
        applied.notes.append(f"commitment {commitment.id} ended")
    elif state.status is SubscriptionStatus.SUSPENDED and commitment.status == CommitmentStatus.ACTIVE:
        commitment.status = CommitmentStatus.PAUSED.value
        commitment.status_reason = f"subscription suspended at {state.provider.value}"
        commitment.updated_at = utcnow()
        session.add(commitment)
    session.flush()
    return applied
