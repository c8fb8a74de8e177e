"""Issuing, voiding and replacing receipts on a Session (the caller commits).

Reading the ledger into plain values, asking the jurisdiction's rules for a draft, numbering it and
storing it with its lines happen here; the PDF is drawn from the stored receipt, so a copy made years
later looks the same as the original.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.commitments.models import Commitment, PeriodicAgreement
from donorcrm.config import Settings, get_settings
from donorcrm.db import utcnow
from donorcrm.donors.models import Donor, DonorKind
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.gifts.categories import EntryType
from donorcrm.gifts.models import Gift
from donorcrm.money import Money
from donorcrm.receipts import bulk, nl, uk
from donorcrm.receipts import hooks as _hooks
from donorcrm.receipts.common import (
    CURRENCY,
    Charity,
    DonorInfo,
    Draft,
    Jurisdiction,
    LedgerGift,
    jurisdiction_for,
)
from donorcrm.receipts.models import (
    GiftAidDeclaration,
    GiftReceiptDetail,
    Receipt,
    ReceiptLine,
    ReceiptPdf,
    ReceiptStatus,
)
from donorcrm.receipts.numbering import format_number, take_serials
from donorcrm.receipts.rules import Context, draft_receipt

# Core tables for the batch paths: plain executemany, no ORM bulk machinery per row.
RECEIPT = Receipt.__table__  # type: ignore[attr-defined]
LINE = ReceiptLine.__table__  # type: ignore[attr-defined]
PDF = ReceiptPdf.__table__  # type: ignore[attr-defined]

# --- reading the ledger ------------------------------------------------------------------------------


DONOR_COLUMNS = (Donor.id, Donor.kind, Donor.organisation_name, Donor.salutation, Donor.initials, Donor.first_name,
                 Donor.name_infix, Donor.last_name, Donor.street, Donor.house_number, Donor.postcode, Donor.city,
                 Donor.country, Donor.language, Donor.email, Donor.birth_date)


def donor_info(d: Any) -> DonorInfo:
    """From a Donor or a row of DONOR_COLUMNS (the batch reads plain rows: no ORM state per donor)."""
    is_org = d.kind == DonorKind.ORGANISATION
    last = " ".join(p for p in (d.name_infix, d.last_name) if p)
    if is_org and d.organisation_name:
        name = d.organisation_name
    else:
        name = " ".join(p for p in (d.first_name or d.initials, d.name_infix, d.last_name) if p) or f"Donor {d.id}"
    return DonorInfo(
        id=d.id or 0, name=name, first_name=d.first_name or "", initials=d.initials or "",
        last_name=last, title=d.salutation or "", street=d.street or "", house_number=d.house_number or "",
        postcode=d.postcode or "", city=d.city or "", country=(d.country or "").upper(),
        language=d.language or "nl", email=d.email or "", birth_date=d.birth_date, is_organisation=is_org,
    )


def _in_year(year: int) -> Any:
    return and_(Gift.received_on >= dt.date(year, 1, 1), Gift.received_on < dt.date(year + 1, 1, 1))  # type: ignore[operator]


def ledger_gifts(session: Session, donor_ids: Sequence[int], year: int, *, unreceipted_only: bool = True,
                 ) -> dict[int, list[LedgerGift]]:
    """The year's positive gifts per donor, with reversal state and receipt details."""
    if not donor_ids:
        return {}
    rev = aliased(Gift)
    reversed_ = exists().where(rev.reverses_gift_id == Gift.id)
    stmt = (
        select(Gift.id, Gift.donor_id, Gift.received_on, Gift.amount_minor, Gift.currency, Gift.channel,
               Gift.category, Gift.commitment_id, reversed_.label("reversed"),
               GiftReceiptDetail.advantage_minor, GiftReceiptDetail.advantage_description,
               GiftReceiptDetail.expense_waiver, GiftReceiptDetail.sponsored)
        .outerjoin(GiftReceiptDetail, GiftReceiptDetail.gift_id == Gift.id)  # type: ignore[arg-type]
        .where(Gift.donor_id.in_(donor_ids), Gift.entry_type == EntryType.GIFT, _in_year(year))  # type: ignore[union-attr]
    )
    if unreceipted_only:
        stmt = stmt.where(~exists().where(ReceiptLine.live_gift_id == Gift.id))
    out: dict[int, list[LedgerGift]] = defaultdict(list)
    # Plain Core rows, and one Money per distinct amount (it is immutable): a monthly donor has twelve alike.
    amounts: dict[tuple[int, str], Money] = {}
    for (gift_id, donor_id, on, minor, cur, channel, category, commitment_id, rev_, adv_minor, adv_description,
         waiver, sponsored) in session.connection().execute(stmt).all():
        amount = amounts.get((minor, cur))
        if amount is None:
            amount = amounts[(minor, cur)] = Money(minor, cur)
        out[donor_id].append(LedgerGift(
            id=gift_id, received_on=on, amount=amount, channel=channel, category=category,
            commitment_id=commitment_id, reversed=bool(rev_), advantage=Money(adv_minor, cur) if adv_minor else None,
            advantage_description=adv_description or "", expense_waiver=bool(waiver), sponsored=bool(sponsored),
        ))
    return out


def agreements_of(session: Session, donor_ids: Sequence[int]) -> dict[int, list[nl.Agreement]]:
    rows = session.execute(
        select(PeriodicAgreement, Commitment.donor_id)
        .join(Commitment, Commitment.id == PeriodicAgreement.commitment_id)  # type: ignore[arg-type]
        .where(Commitment.donor_id.in_(donor_ids))  # type: ignore[attr-defined]
    )
    out: dict[int, list[nl.Agreement]] = defaultdict(list)
    for a, donor_id in rows:
        out[donor_id].append(agreement_value(a))
    return out


def agreement_value(a: PeriodicAgreement) -> nl.Agreement:
    return nl.Agreement(
        commitment_id=a.commitment_id, transaction_number=a.transaction_number,
        yearly_amount=Money(a.yearly_amount_minor, a.currency), first_year=a.first_year, signed_on=a.signed_on,
        term_years=a.term_years, ends_on_death=a.ends_on_death,
        end_conditions=frozenset(c for c in (a.end_conditions or "").split(",") if c),
        partner_name=a.partner_name, stopped_on=a.stopped_on, stop_reason=a.stop_reason,
    )


def declarations_of(session: Session, donor_ids: Sequence[int]) -> dict[int, list[uk.Declaration]]:
    out: dict[int, list[uk.Declaration]] = defaultdict(list)
    for d in session.execute(select(GiftAidDeclaration).where(GiftAidDeclaration.donor_id.in_(donor_ids))).scalars():  # type: ignore[attr-defined]
        out[d.donor_id].append(declaration_value(d))
    return out


def declaration_value(d: GiftAidDeclaration) -> uk.Declaration:
    return uk.Declaration(id=d.id or 0, donor_id=d.donor_id, made_on=d.made_on, scope=uk.DeclarationScope(d.scope),
                          method=uk.DeclarationMethod(d.method), gift_id=d.gift_id, record_sent_on=d.record_sent_on,
                          cancelled_on=d.cancelled_on)


# --- drafting and issuing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    donor_id: int
    jurisdiction: Jurisdiction


def drafts_for(session: Session, requests: Sequence[Request], year: int, settings: Settings,
               ) -> dict[Request, Draft | None]:
    """The drafts due for these donors, read with a handful of queries whatever the batch size."""
    charity = Charity.from_settings(settings)
    ids = sorted({r.donor_id for r in requests})
    donors = {d.id: d for d in session.connection().execute(select(*DONOR_COLUMNS).where(Donor.id.in_(ids))).all()}  # type: ignore[union-attr]
    gifts = ledger_gifts(session, ids, year)
    nl_ids = [r.donor_id for r in requests if r.jurisdiction == Jurisdiction.NL]
    uk_ids = [r.donor_id for r in requests if r.jurisdiction == Jurisdiction.UK]
    agreements = agreements_of(session, nl_ids) if nl_ids else {}
    declarations = declarations_of(session, uk_ids) if uk_ids else {}
    out: dict[Request, Draft | None] = {}
    for r in requests:
        donor = donors.get(r.donor_id)
        if donor is None:
            raise NotFound(f"no donor {r.donor_id}")
        ctx = Context(agreements=tuple(agreements.get(r.donor_id, ())),
                      declarations=tuple(declarations.get(r.donor_id, ())),
                      giftaid_basic_rate=settings.giftaid_basic_rate, us_all_donors=settings.receipt_us_all_donors)
        out[r] = draft_receipt(r.jurisdiction, donor_info(donor), year, gifts.get(r.donor_id, []), charity, ctx)
    return out


def _charity_snapshot(settings: Settings) -> dict[str, Any]:
    c = Charity.from_settings(settings)
    return {k: getattr(c, k) for k in c.__dataclass_fields__}


@dataclass(frozen=True)
class Stored:
    """A receipt just written, with what is needed to draw it without reading it back."""

    id: int
    number: str
    issued_on: dt.date
    draft: Draft
    figures: dict[str, Any]


RECEIPT_COLUMNS = ("number", "series", "year", "serial", "jurisdiction", "kind", "donor_id", "donor_snapshot",
                   "language", "currency", "total_minor", "eligible_minor", "advantage_minor", "figures",
                   "issued_on", "issued_at", "issued_by", "run_id", "replaces_id", "status", "needs_correction")
LINE_COLUMNS = ("receipt_id", "gift_id", "live_gift_id", "received_on", "amount_minor", "eligible_minor",
                "advantage_minor", "description", "group_key", "note")


def store_drafts(session: Session, drafts: Sequence[Draft], settings: Settings, *, issued_on: dt.date | None = None,
                 run_id: int | None = None, replaces: dict[int, Receipt] | None = None) -> list[Stored]:
    """Number and store drafts (same order back). `replaces` maps a draft index to the receipt it replaces.

    Plain tuples in one executemany per table (no ORM objects, no per-row RETURNING): a January run
    writes a receipt and its lines per donor, and per-row machinery would cost more than drawing the
    page. The ids are read back by serial, which the counter lock makes ours alone.
    """
    if not drafts:
        return []
    issued_on = issued_on or dt.date.today()
    actor = audit.current_actor()
    now = utcnow()
    charity = _charity_snapshot(settings)
    by_series: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, d in enumerate(drafts):
        by_series[(d.jurisdiction.value, d.year)].append(i)
    serials: list[int] = [0] * len(drafts)
    ranges = []
    for (series, year), idx in sorted(by_series.items()):
        taken = take_serials(session, series, year, len(idx))
        ranges.append((series, year, taken))
        for i, serial in zip(idx, taken, strict=True):
            serials[i] = serial
    rows = []
    numbers = []
    all_figures = []
    for i, d in enumerate(drafts):
        original = (replaces or {}).get(i)
        figures = dict(d.figures, charity=charity)
        if original is not None:
            figures["replaces_number"] = original.number
        all_figures.append(figures)
        series = d.jurisdiction.value
        number = format_number(series, d.year, serials[i])
        numbers.append(number)
        rows.append((number, series, d.year, serials[i], series, d.kind.value, d.donor.id, d.donor.snapshot(),
                     d.language, d.currency, d.total.minor, d.eligible_total.minor, d.advantage_total.minor, figures,
                     issued_on, now, actor, run_id, original.id if original is not None else None,
                     ReceiptStatus.ISSUED.value, False))
    conn = session.connection()
    bulk.insert_rows(conn, RECEIPT, RECEIPT_COLUMNS, rows)
    id_of: dict[tuple[str, int, int], int] = {}
    for series, year, taken in ranges:
        for serial, rid in conn.execute(
                select(RECEIPT.c.serial, RECEIPT.c.id).where(
                    RECEIPT.c.series == series, RECEIPT.c.year == year,
                    RECEIPT.c.serial.between(taken.start, taken.stop - 1))):
            id_of[(series, year, serial)] = rid
    ids = [id_of[(d.jurisdiction.value, d.year, serials[i])] for i, d in enumerate(drafts)]
    bulk.insert_rows(conn, LINE, LINE_COLUMNS, [
        (rid, ln.gift_id, ln.gift_id, ln.on, ln.amount.minor, ln.eligible.minor, ln.advantage.minor,
         ln.description[:300], ln.group[:60], ln.note[:500])
        for rid, d in zip(ids, drafts, strict=True) for ln in d.lines
    ])
    audit.record(session, "receipt.issue", "receipt", ids[0] if len(ids) == 1 else None, after={
        "numbers": numbers[:50], "count": len(numbers), "run_id": run_id})
    return [Stored(rid, number, issued_on, d, f)
            for rid, number, d, f in zip(ids, numbers, drafts, all_figures, strict=True)]


def draw(stored: Sequence[Stored]) -> list[tuple[int, bytes]]:
    """The documents of freshly stored receipts, drawn from memory (no transaction needed)."""
    from donorcrm.receipts import pdf

    return [(s.id, pdf.render_receipt(pdf.view_of_draft(s.draft, s.number, s.issued_on, s.figures))) for s in stored]


def store_documents(session: Session, documents: Sequence[tuple[int, bytes]]) -> None:
    """Keep each document once, with its hash on the receipt."""
    if not documents:
        return
    now = utcnow()
    rows = [(rid, hashlib.sha256(data).hexdigest(), data, now) for rid, data in documents]
    conn = session.connection()
    bulk.insert_rows(conn, PDF, ("receipt_id", "sha256", "data", "created_at"), rows)
    bulk.update_rows(conn, RECEIPT, ("pdf_sha256",), ("id",), [(digest, rid) for rid, digest, _, _ in rows],
                     still_null=("pdf_sha256",))


def live_receipt(session: Session, donor_id: int, year: int, jurisdiction: Jurisdiction | str) -> Receipt | None:
    return session.execute(
        select(Receipt).where(Receipt.donor_id == donor_id, Receipt.year == year,
                              Receipt.jurisdiction == str(jurisdiction), Receipt.status == ReceiptStatus.ISSUED)
    ).scalars().first()


def issue_receipt(session: Session, donor_id: int, year: int, *, jurisdiction: Jurisdiction | str | None = None,
                  settings: Settings | None = None, render: bool = True,
                  issued_on: dt.date | None = None) -> Receipt | None:
    """Issue the receipt due to one donor for a year; None if none is due.

    A donor with a live receipt for that year gets no second one: new gifts flag it for correction.
    """
    settings = settings or get_settings()
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}")
    j = Jurisdiction(jurisdiction) if jurisdiction else jurisdiction_for(donor.country, Charity.from_settings(settings))
    if j is None:
        return None
    req = Request(donor_id, j)
    draft = drafts_for(session, [req], year, settings)[req]
    if draft is None:
        return None
    existing = live_receipt(session, donor_id, year, j)
    if existing is not None:
        _hooks.flag_receipts_of_gifts(session, [ln.gift_id for ln in existing_lines(session, existing.id)],
                                      "gifts received after this receipt was issued")
        session.expire(existing)
        return None
    stored = store_drafts(session, [draft], settings, issued_on=issued_on)
    if render:
        store_documents(session, draw(stored))
    return session.get(Receipt, stored[0].id)


def existing_lines(session: Session, receipt_id: int | None) -> list[ReceiptLine]:
    return list(session.execute(
        select(ReceiptLine).where(ReceiptLine.receipt_id == receipt_id).order_by(ReceiptLine.received_on, ReceiptLine.id)  # type: ignore[arg-type]
    ).scalars())


def render_and_store(session: Session, receipts: Iterable[Receipt], settings: Settings) -> None:
    """Draw stored receipts that have no document yet (the recovery path: read back from the database)."""
    from donorcrm.receipts import pdf

    receipts = list(receipts)
    lines = lines_by_receipt(session, [r.id for r in receipts if r.id is not None])
    store_documents(session, [(r.id, pdf.render_receipt(pdf.view_of(r, lines.get(r.id, []))))
                              for r in receipts if r.id is not None])


def lines_by_receipt(session: Session, receipt_ids: Sequence[int]) -> dict[int, list[ReceiptLine]]:
    out: dict[int, list[ReceiptLine]] = defaultdict(list)
    if not receipt_ids:
        return out
    for ln in session.execute(
        select(ReceiptLine).where(ReceiptLine.receipt_id.in_(receipt_ids))  # type: ignore[attr-defined]
        .order_by(ReceiptLine.received_on, ReceiptLine.id)  # type: ignore[arg-type]
    ).scalars():
        out[ln.receipt_id].append(ln)
    return out


def get_receipt(session: Session, receipt: int | str) -> Receipt:
    """By id or by number ("NL-2025-000012")."""
    if isinstance(receipt, str) and not receipt.isdigit():
        found = session.execute(select(Receipt).where(Receipt.number == receipt)).scalars().first()
    else:
        found = session.get(Receipt, int(receipt))
    if found is None:
        raise NotFound(f"no receipt {receipt}")
    return found


def receipt_pdf(session: Session, receipt: int | str) -> bytes:
    """The stored document; for a voided receipt a copy marked cancelled (the original stays on file)."""
    from donorcrm.receipts import pdf

    r = get_receipt(session, receipt)
    stored = session.get(ReceiptPdf, r.id)
    if r.status == ReceiptStatus.VOIDED:
        return pdf.render_receipt(pdf.view_of(r, existing_lines(session, r.id)), cancelled=True)
    if stored is None:
        raise NotFound(f"receipt {r.number} has no document yet")
    return stored.data


@dataclass(frozen=True)
class VoidResult:
    voided: Receipt
    replacement: Receipt | None


def void_receipt(session: Session, receipt: int | str, *, reason: str, replace: bool = True,
                 settings: Settings | None = None) -> VoidResult:
    """Void a receipt (it stays on file, cancelled) and, by default, issue its replacement from the ledger."""
    if not reason.strip():
        raise ValidationError("a void needs a reason")
    settings = settings or get_settings()
    r = get_receipt(session, receipt)
    if r.status != ReceiptStatus.ISSUED:
        raise InvalidState(f"receipt {r.number} is {r.status}")
    r.status = ReceiptStatus.VOIDED
    r.voided_at = utcnow()
    r.voided_by = audit.current_actor()
    r.void_reason = reason[:300]
    session.add(r)
    session.flush()
    session.execute(update(ReceiptLine).where(ReceiptLine.receipt_id == r.id).values(live_gift_id=None))  # type: ignore[arg-type]
    audit.record(session, "receipt.void", "receipt", r.id, after={"number": r.number, "reason": reason})
    replacement = None
    if replace:
        req = Request(r.donor_id, Jurisdiction(r.jurisdiction))
        draft = drafts_for(session, [req], r.year, settings)[req]
        if draft is not None:
            stored = store_drafts(session, [draft], settings, replaces={0: r})
            store_documents(session, draw(stored))
            replacement = session.get(Receipt, stored[0].id)
            assert replacement is not None
            audit.record(session, "receipt.replace", "receipt", r.id,
                         after={"number": r.number, "replacement": replacement.number})
    return VoidResult(r, replacement)


def flag_corrections(session: Session, year: int | None = None) -> int:
    """Sweep: flag live receipts holding a gift that has been reversed (catches bulk-booked reversals)."""
    rev = aliased(Gift)
    stmt = (select(ReceiptLine.gift_id).join(rev, rev.reverses_gift_id == ReceiptLine.live_gift_id)
            .join(Receipt, Receipt.id == ReceiptLine.receipt_id)  # type: ignore[arg-type]
            .where(Receipt.needs_correction.is_(False)))  # type: ignore[attr-defined]
    if year is not None:
        stmt = stmt.where(Receipt.year == year)
    ids = list(session.execute(stmt).scalars())
    return _hooks.flag_receipts_of_gifts(session, ids, "a gift on this receipt was reversed after issue") if ids else 0


def currency_of(j: Jurisdiction) -> str:
    return CURRENCY[j]


def set_gift_detail(session: Session, gift_id: int, *, advantage: Money | None = None, description: str = "",
                    expense_waiver: bool | None = None, sponsored: bool | None = None) -> GiftReceiptDetail:
    """Record what a donor received for a gift, the German expense waiver or a UK sponsored event."""
    gift = session.get(Gift, gift_id)
    if gift is None:
        raise NotFound(f"no gift {gift_id}")
    if advantage is not None and advantage.currency != gift.currency:
        raise ValidationError(f"advantage in {advantage.currency}, gift in {gift.currency}")
    row = session.get(GiftReceiptDetail, gift_id) or GiftReceiptDetail(gift_id=gift_id)
    if advantage is not None:
        row.advantage_minor = advantage.minor
        row.advantage_description = description[:300]
    if expense_waiver is not None:
        row.expense_waiver = expense_waiver
    if sponsored is not None:
        row.sponsored = sponsored
    session.add(row)
    session.flush()
    audit.record(session, "gift.receipt_detail", "gift", gift_id, after={
        "advantage": str(advantage) if advantage else None, "description": description,
        "expense_waiver": expense_waiver, "sponsored": sponsored})
    return row


def agreement_stopped(session: Session, transaction_number: str) -> int:
    """After a periodic gift stopped: if it stopped within five years without an agreed end condition,
    its payments count as ordinary gifts, also in earlier years, so every live overview that shows them
    as periodic is flagged for correction. Returns how many receipts were flagged."""
    row = session.execute(
        select(PeriodicAgreement).where(PeriodicAgreement.transaction_number == transaction_number)
    ).scalars().first()
    if row is None:
        raise NotFound(f"no periodic-gift agreement {transaction_number}")
    if nl.agreement_holds(agreement_value(row)):
        return 0
    gift_ids = list(session.execute(
        select(ReceiptLine.live_gift_id).where(ReceiptLine.group_key == f"periodic:{transaction_number}",
                                              ReceiptLine.live_gift_id.is_not(None))  # type: ignore[union-attr]
    ).scalars())
    if not gift_ids:
        return 0
    return _hooks.flag_receipts_of_gifts(
        session, gift_ids, f"periodic gift {transaction_number} stopped within five years: its gifts are ordinary")
