"""Where expectations come from: a small provider interface per source, registered in a list.

The matching service asks every registered source for what it expects, given the lines being matched
(so a source can query by the end-to-end ids, references and amounts it sees). Direct-debit runs, provider
payouts, grant instalments and bequest distributions live in other packages; their adapters here work on
plain dataclasses, and each package registers a loader that fills them from its own tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlmodel import Session

from donorcrm.gifts.categories import IncomeCategory, PaymentChannel
from donorcrm.money import Money

from .records import Line
from .rules import Expectation


@runtime_checkable
class ExpectationSource(Protocol):
    name: str

    def expectations(self, session: Session, lines: Sequence[Line]) -> Iterable[Expectation]:
        """What this source expects that any of these lines could settle."""
        ...


_SOURCES: list[ExpectationSource] = []


def register_source(source: ExpectationSource) -> None:
    """Add a source (once per name; registering a name again replaces it)."""
    _SOURCES[:] = [s for s in _SOURCES if s.name != source.name]
    _SOURCES.append(source)


def unregister_source(name: str) -> None:
    _SOURCES[:] = [s for s in _SOURCES if s.name != name]


def registered_sources() -> list[ExpectationSource]:
    return list(_SOURCES)


@dataclass
class StaticSource:
    """A fixed list of expectations: for tests, demos and imports of expectations from a file."""

    name: str
    items: list[Expectation] = field(default_factory=list)

    def expectations(self, session: Session, lines: Sequence[Line]) -> Iterable[Expectation]:
        return list(self.items)


# --------------------------------------------------------------------------------------------------
# Direct-debit runs and their collections


@dataclass(frozen=True)
class CollectionFacts:
    id: int
    end_to_end_id: str
    mandate_reference: str
    amount: Money
    donor_id: int | None
    commitment_id: int | None = None
    campaign_id: int | None = None
    fund_id: int | None = None
    due_on: dt.date | None = None
    gift_booked: bool = False  # True when the SEPA package books the gift itself at collection time
    debtor_name: str = ""


@dataclass(frozen=True)
class SepaRunFacts:
    id: int
    payment_info_id: str  # PmtInfId of the pain.008 batch: what the bank quotes on the batch credit
    message_id: str | None
    collection_date: dt.date | None
    collections: tuple[CollectionFacts, ...]


def collection_expectation(c: CollectionFacts) -> Expectation:
    return Expectation(
        kind="collection", ref=f"collection:{c.id}", amount=c.amount,
        label=f"collection {c.end_to_end_id}" + (f" ({c.debtor_name})" if c.debtor_name else ""),
        end_to_end_id=c.end_to_end_id, mandate_ref=c.mandate_reference, due_on=c.due_on, donor_id=c.donor_id,
        category=IncomeCategory.INDIVIDUAL_RECURRING, channel=PaymentChannel.SEPA_DD, campaign_id=c.campaign_id,
        fund_id=c.fund_id, commitment_id=c.commitment_id, books_gift=not c.gift_booked,
    )


def sepa_expectations(runs: Iterable[SepaRunFacts]) -> list[Expectation]:
    """A run's batch credit is expected with the run's total; its collections are its parts."""
    out = []
    for run in runs:
        parts = tuple(collection_expectation(c) for c in run.collections)
        total = sum((p.amount for p in parts), Money.zero(parts[0].amount.currency if parts else "EUR"))
        out.append(Expectation(
            kind="sepa_run", ref=f"sepa_run:{run.id}", amount=total,
            label=f"direct-debit run {run.payment_info_id} ({len(parts)} collections)",
            batch_ref=run.payment_info_id, count=len(parts), due_on=run.collection_date,
            category=IncomeCategory.INDIVIDUAL_RECURRING, channel=PaymentChannel.SEPA_DD,
            books_gift=any(p.books_gift for p in parts), parts=parts,
        ))
        if run.message_id and run.message_id != run.payment_info_id:
            out.append(Expectation(
                kind="sepa_run", ref=f"sepa_run:{run.id}", amount=total, label=out[-1].label,
                batch_ref=run.message_id, count=len(parts), due_on=run.collection_date,
                category=IncomeCategory.INDIVIDUAL_RECURRING, channel=PaymentChannel.SEPA_DD,
                books_gift=out[-1].books_gift, parts=parts,
            ))
    return out


@dataclass
class SepaSource:
    """Adapter: a loader returns the runs (with collections) that could be on these lines."""

    load: Callable[[Session, Sequence[Line]], Iterable[SepaRunFacts]]
    name: str = "sepa"

    def expectations(self, session: Session, lines: Sequence[Line]) -> Iterable[Expectation]:
        return sepa_expectations(self.load(session, lines))


# --------------------------------------------------------------------------------------------------
# Provider payouts, grant instalments, bequest distributions


@dataclass(frozen=True)
class PayoutFacts:
    id: str
    provider: str  # stripe, mollie, paypal
    reference: str  # what the provider puts in the bank transfer's description
    amount: Money
    paid_on: dt.date | None = None


def payout_expectations(payouts: Iterable[PayoutFacts]) -> list[Expectation]:
    """Payout gifts were booked when donors paid; the payout only settles the provider's balance."""
    return [Expectation(kind="payout", ref=f"payout:{p.id}", amount=p.amount, label=f"{p.provider} payout {p.id}",
                        reference_text=p.reference, due_on=p.paid_on, books_gift=False) for p in payouts]


@dataclass(frozen=True)
class InstalmentFacts:
    """An instalment we expect from a grant maker, or a distribution from an estate."""

    id: int
    kind: str  # "grant_instalment" or "bequest_distribution"
    amount: Money
    donor_id: int | None  # the fund, ministry or lottery (grants); the deceased (bequests)
    category: str
    reference: str | None = None
    payer_iban: str | None = None
    due_on: dt.date | None = None
    grant_id: int | None = None
    bequest_id: int | None = None
    label: str = ""


def instalment_expectations(items: Iterable[InstalmentFacts]) -> list[Expectation]:
    return [Expectation(
        kind=i.kind, ref=f"{i.kind}:{i.id}", amount=i.amount, label=i.label or f"{i.kind.replace('_', ' ')} {i.id}",
        reference_text=i.reference, payer_iban=i.payer_iban, due_on=i.due_on, donor_id=i.donor_id,
        category=i.category, grant_id=i.grant_id, bequest_id=i.bequest_id, books_gift=True,
    ) for i in items]


@dataclass
class PayoutSource:
    load: Callable[[Session, Sequence[Line]], Iterable[PayoutFacts]]
    name: str = "payouts"

    def expectations(self, session: Session, lines: Sequence[Line]) -> Iterable[Expectation]:
        return payout_expectations(self.load(session, lines))


@dataclass
class InstalmentSource:
    load: Callable[[Session, Sequence[Line]], Iterable[InstalmentFacts]]
    name: str = "instalments"

    def expectations(self, session: Session, lines: Sequence[Line]) -> Iterable[Expectation]:
        return instalment_expectations(self.load(session, lines))


# --------------------------------------------------------------------------------------------------
# Returns: handed to the return policy of recurring giving


ReturnHandler = Callable[[Session, Expectation, str | None, dt.date], None]
_RETURN_HANDLERS: list[ReturnHandler] = []


def register_return_handler(handler: ReturnHandler) -> None:
    """Called for every booked return with the collection, the reason code and the booking date."""
    if handler not in _RETURN_HANDLERS:
        _RETURN_HANDLERS.append(handler)


def unregister_return_handler(handler: ReturnHandler) -> None:
    if handler in _RETURN_HANDLERS:
        _RETURN_HANDLERS.remove(handler)


def return_handlers() -> list[ReturnHandler]:
    return list(_RETURN_HANDLERS)


# --------------------------------------------------------------------------------------------------
# Bookings of expected money: told back to the package that expected it


BookingHandler = Callable[[Session, Expectation, int | None, dt.date], None]
_BOOKING_HANDLERS: dict[str, list[BookingHandler]] = {}


def register_booking_handler(kind: str, handler: BookingHandler) -> None:
    """Called when a line settles an expectation of this kind, with the gift booked for it (if any).

    The grants package marks the instalment received (link_gift), the direct-debit package its collection
    paid, the payments package its payout reconciled.
    """
    handlers = _BOOKING_HANDLERS.setdefault(kind, [])
    if handler not in handlers:
        handlers.append(handler)


def unregister_booking_handler(kind: str, handler: BookingHandler) -> None:
    if handler in _BOOKING_HANDLERS.get(kind, []):
        _BOOKING_HANDLERS[kind].remove(handler)


def booking_handlers(kind: str) -> list[BookingHandler]:
    return list(_BOOKING_HANDLERS.get(kind, []))
