"""The expectation sources over the real tables: direct-debit runs, provider payouts, grant instalments.

Each loader looks only at what the lines being matched quote (batch ids, end-to-end ids, references),
in a few set-based queries. `register()` installs them with their booking and return handlers; it is
called from `donorcrm.plugins.install()`, so `donorcrm bank match` uses them without further setup.

Bequest cases carry no expected distribution amounts, so they have no source: a distribution waits in
suspense and is booked to the case by hand (a part with `bequest_id`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlmodel import Session

from donorcrm.money import Money

from . import sources
from .records import Line
from .rules import Expectation
from .sources import CollectionFacts, InstalmentFacts, PayoutFacts, SepaRunFacts

_CHUNK = 5000
GRANT_LOOKBACK_DAYS = 365  # instalments paid this long after their due date are still recognised


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _id_of(ref: str) -> int:
    return int(ref.rsplit(":", 1)[1])


# Expectations from the tables carry the owning package in their ref ("sepa:collection:12"), so the
# handlers below act only on them and leave expectations from other sources (a file, a test) alone.
RUN, COLLECTION, INSTALMENT, PAYOUT = "sepa:sepa_run:", "sepa:collection:", "grants:grant_instalment:", "payments:payout:"


def _owned(e: Expectation) -> Expectation:
    """The same expectation (and parts) with a ref naming the package whose table it comes from."""
    owner = {"sepa_run": "sepa", "collection": "sepa", "grant_instalment": "grants", "payout": "payments"}[e.kind]
    return replace(e, ref=f"{owner}:{e.ref}", parts=tuple(_owned(p) for p in e.parts))


# --------------------------------------------------------------------------------------------------
# Direct debits


def _collection_facts(row: object) -> CollectionFacts:
    r = row  # a Row of the sepa_collection table
    return CollectionFacts(
        id=r.id, end_to_end_id=r.end_to_end_id, mandate_reference=r.mandate_reference,  # type: ignore[attr-defined]
        amount=Money(r.amount_minor, r.currency), donor_id=r.donor_id,  # type: ignore[attr-defined]
        commitment_id=r.commitment_id, due_on=r.due_on, debtor_name=r.debtor_name,  # type: ignore[attr-defined]
        gift_booked=True,  # the direct-debit package books collection gifts itself (source sepa, end-to-end id)
    )


@dataclass
class SepaTablesSource:
    """Runs whose payment-information id a line quotes (one batch credit per pain.008 file), and single
    collections whose end-to-end id a line quotes (returns, or a bank that books each collection)."""

    name: str = "sepa"

    def expectations(self, session: Session, lines: Sequence[Line]) -> Iterable[Expectation]:
        from donorcrm.sepa.models import Collection, CollectionStatus, RunStatus, SepaFile, SepaRun

        col = Collection.__table__  # type: ignore[attr-defined]
        live = [str(CollectionStatus.PRESENTED), str(CollectionStatus.CONFIRMED)]
        batch_refs = sorted({line.batch_ref for line in lines if line.batch_ref})
        message_ids = sorted({r[:-2] if r.endswith("-P") else r for r in batch_refs})
        runs: list[SepaRunFacts] = []
        seen: set[str] = set()
        for part in _chunks(message_ids):
            files = session.execute(
                select(SepaFile.id, SepaFile.run_id, SepaFile.message_id, SepaFile.due_on)
                .join(SepaRun, SepaRun.id == SepaFile.run_id)
                .where(SepaFile.message_id.in_(part),  # type: ignore[attr-defined]
                       SepaRun.status.in_([str(RunStatus.WRITTEN), str(RunStatus.CONFIRMED)]))  # type: ignore[attr-defined]
            ).all()
            if not files:
                continue
            by_file: dict[int, list[CollectionFacts]] = {f.id: [] for f in files}
            for row in session.execute(select(col).where(col.c.file_id.in_(list(by_file)), col.c.status.in_(live))
                                       .order_by(col.c.id)):
                by_file[row.file_id].append(_collection_facts(row))
                seen.add(row.end_to_end_id)
            runs.extend(SepaRunFacts(id=f.run_id, payment_info_id=f"{f.message_id}-P", message_id=f.message_id,
                                     collection_date=f.due_on, collections=tuple(by_file[f.id]))
                        for f in files if by_file[f.id])
        out = [_owned(e) for e in sources.sepa_expectations(runs)]
        e2e = sorted({line.end_to_end_id for line in lines if line.end_to_end_id} - seen)
        for part in _chunks(e2e):
            for row in session.execute(select(col).where(col.c.end_to_end_id.in_(part), col.c.status.in_(live))):
                out.append(_owned(sources.collection_expectation(_collection_facts(row))))
        return out


def _settle_run(session: Session, expectation: Expectation, gift_id: int | None, day: dt.date) -> None:
    """The run's batch credit is on the statement: confirm its collections (books their gifts once)."""
    if not expectation.ref.startswith(RUN):
        return
    from donorcrm.sepa import service as sepa
    from donorcrm.sepa.models import SepaRun

    run_id = _id_of(expectation.ref)
    done: set[str] = session.info.setdefault("bank_settled_collections", set())
    run = session.get(SepaRun, run_id)
    if run is not None:
        sepa.confirm_run(session, run_id)
    done.update(p.ref for p in expectation.parts)


def _settle_collection(session: Session, expectation: Expectation, gift_id: int | None, day: dt.date) -> None:
    """One collection credited on its own: book its gift as the direct-debit package does, once."""
    if not expectation.ref.startswith(COLLECTION) or expectation.ref in session.info.get(
            "bank_settled_collections", ()):
        return
    from donorcrm.gifts import service as gifts
    from donorcrm.gifts.categories import IncomeCategory, PaymentChannel
    from donorcrm.sepa.models import Collection, CollectionStatus

    col = session.get(Collection, _id_of(expectation.ref))
    if col is None or col.status != CollectionStatus.PRESENTED:
        return
    gift = gifts.record_gift(
        session, donor_id=col.donor_id, amount=Money(col.amount_minor, col.currency), received_on=col.due_on,
        channel=PaymentChannel.SEPA_DD, category=IncomeCategory.INDIVIDUAL_RECURRING, source="sepa",
        external_ref=col.end_to_end_id, commitment_id=col.commitment_id, campaign_id=expectation.campaign_id,
        fund_id=expectation.fund_id)
    col.gift_id = gift.id
    col.status = CollectionStatus.CONFIRMED
    session.add(col)
    session.flush()


def _apply_return(session: Session, expectation: Expectation, reason: str | None, day: dt.date) -> None:
    """A returned collection on the statement: the direct-debit return policy decides what follows."""
    if not expectation.ref.startswith(COLLECTION):
        return
    from donorcrm.sepa.returns import apply_return

    apply_return(session, _id_of(expectation.ref), reason or "MS02", day, source="camt.053",
                 source_ref=expectation.end_to_end_id)


# --------------------------------------------------------------------------------------------------
# Provider payouts


def load_payouts(session: Session, lines: Sequence[Line]) -> list[PayoutFacts]:
    """Payouts whose amount some credit line has (a payout is settled by the bank allocation that names it)."""
    from donorcrm.payments.models import ProviderPayout

    amounts = sorted({line.amount.minor for line in lines if line.amount.minor > 0})
    out: list[PayoutFacts] = []
    for i in range(0, len(amounts), _CHUNK):
        for p in session.execute(select(ProviderPayout).where(
                ProviderPayout.amount_minor.in_(amounts[i:i + _CHUNK]),  # type: ignore[attr-defined]
                ProviderPayout.status.not_in(["failed", "canceled", "cancelled"]))).scalars():  # type: ignore[attr-defined]
            out.append(PayoutFacts(id=str(p.id), provider=p.provider, reference=p.reference or p.payout_id,
                                   amount=Money(p.amount_minor, p.currency), paid_on=p.paid_on))
    return out


# --------------------------------------------------------------------------------------------------
# Grant instalments


def load_instalments(session: Session, lines: Sequence[Line]) -> list[InstalmentFacts]:
    from donorcrm.grants import service as grants
    from donorcrm.grants.models import Grant

    days = [line.booked_on or line.value_on for line in lines if line.amount.minor > 0]
    days = [d for d in days if d]
    if not days:
        return []
    expected = grants.expected_instalments(session, min(days) - dt.timedelta(days=GRANT_LOOKBACK_DAYS))
    if not expected:
        return []
    grant_ids = sorted({e.grant_id for e in expected})
    category = dict(session.execute(select(Grant.id, Grant.category).where(Grant.id.in_(grant_ids))).all())  # type: ignore[union-attr]
    return [InstalmentFacts(
        id=e.instalment_id, kind="grant_instalment", amount=e.amount, donor_id=e.donor_id,
        category=category[e.grant_id], reference=e.reference, payer_iban=e.iban, due_on=e.due_on,
        grant_id=e.grant_id, label=f"instalment of grant {e.reference} ({e.funder_name})",
    ) for e in expected]


def _settle_instalment(session: Session, expectation: Expectation, gift_id: int | None, day: dt.date) -> None:
    """The bank booked the funder's gift on the grant; the grant marks the instalment received."""
    if gift_id is None or not expectation.ref.startswith(INSTALMENT):
        return
    from donorcrm.grants import service as grants

    grants.link_gift(session, _id_of(expectation.ref), gift_id)


# --------------------------------------------------------------------------------------------------


@dataclass
class _OwnedRefs:
    """A source whose expectations get the owning package in their refs."""

    inner: sources.ExpectationSource

    @property
    def name(self) -> str:
        return self.inner.name

    def expectations(self, session: Session, lines: Sequence[Line]) -> Iterable[Expectation]:
        return [_owned(e) for e in self.inner.expectations(session, lines)]


def register() -> None:
    """Install the sources and handlers (idempotent: registering again replaces by name)."""
    sources.register_source(SepaTablesSource())
    sources.register_source(_OwnedRefs(sources.PayoutSource(load=load_payouts)))
    sources.register_source(_OwnedRefs(sources.InstalmentSource(load=load_instalments, name="grants")))
    sources.register_return_handler(_apply_return)
    sources.register_booking_handler("sepa_run", _settle_run)
    sources.register_booking_handler("collection", _settle_collection)
    sources.register_booking_handler("grant_instalment", _settle_instalment)
