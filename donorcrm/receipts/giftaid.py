"""Gift Aid on a Session: declarations (made, record sent, cancelled) and claims to HMRC.

A claim takes every eligible, unclaimed gift in a date range that is still inside HMRC's four-year
window, writes the schedule rows and records each gift as claimed, so no gift is claimed twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.config import Settings, get_settings
from donorcrm.donors.models import Donor
from donorcrm.errors import InvalidState, NotFound, Problem, ValidationError
from donorcrm.gifts.categories import EntryType
from donorcrm.gifts.models import Gift
from donorcrm.money import Money
from donorcrm.receipts import uk
from donorcrm.receipts.common import LedgerGift
from donorcrm.receipts.models import GiftAidClaim, GiftAidClaimLine, GiftAidDeclaration, GiftReceiptDetail
from donorcrm.receipts.service import declaration_value, declarations_of, donor_info


def add_declaration(
    session: Session, donor_id: int, *, made_on: dt.date, scope: uk.DeclarationScope | str = uk.DeclarationScope.ALL,
    method: uk.DeclarationMethod | str = uk.DeclarationMethod.WRITTEN, gift_id: int | None = None,
    record_sent_on: dt.date | None = None,
) -> GiftAidDeclaration:
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}")
    info = donor_info(donor)
    row = GiftAidDeclaration(
        donor_id=donor_id, made_on=made_on, scope=uk.DeclarationScope(scope), method=uk.DeclarationMethod(method),
        gift_id=gift_id, record_sent_on=record_sent_on, donor_name=info.name[:200],
        house=uk.house_name_or_number(info)[:100], postcode=uk.postcode(info.postcode),
    )
    problems = uk.declaration_problems(declaration_value(row), info)
    if problems:
        raise ValidationError("the Gift Aid declaration is incomplete", problems)
    session.add(row)
    session.flush()
    audit.record(session, "giftaid.declare", "donor", donor_id,
                 after={"declaration": row.id, "scope": row.scope, "method": row.method, "made_on": made_on})
    return row


def record_sent(session: Session, declaration_id: int, on: dt.date) -> GiftAidDeclaration:
    """An oral declaration counts once its written record went to the donor (30-day cancellation starts)."""
    row = _get(session, declaration_id)
    row.record_sent_on = on
    session.add(row)
    audit.record(session, "giftaid.record_sent", "donor", row.donor_id, after={"declaration": row.id, "on": on})
    return row


def cancel_declaration(session: Session, declaration_id: int, on: dt.date, note: str = "") -> GiftAidDeclaration:
    row = _get(session, declaration_id)
    if row.cancelled_on is not None:
        raise InvalidState(f"declaration {declaration_id} was cancelled on {row.cancelled_on}")
    row.cancelled_on, row.cancel_note = on, note[:300] or None
    session.add(row)
    audit.record(session, "giftaid.cancel", "donor", row.donor_id, after={"declaration": row.id, "on": on})
    return row


def _get(session: Session, declaration_id: int) -> GiftAidDeclaration:
    row = session.get(GiftAidDeclaration, declaration_id)
    if row is None:
        raise NotFound(f"no Gift Aid declaration {declaration_id}")
    return row


@dataclass(frozen=True)
class ClaimResult:
    claim: GiftAidClaim | None
    rows: list[uk.ScheduleRow]
    problems: list[Problem]
    csv: str
    gifts: Money
    tax: Money


def claimable(session: Session, date_from: dt.date, date_to: dt.date, *, today: dt.date | None = None,
              settings: Settings | None = None) -> tuple[list[uk.ClaimGift], list[Problem]]:
    """Eligible, unclaimed GBP gifts of the period still inside the claim window."""
    settings = settings or get_settings()
    today = today or dt.date.today()
    rev = aliased(Gift)
    rows = session.execute(
        select(Gift, Donor, GiftReceiptDetail)
        .join(Donor, Donor.id == Gift.donor_id)  # type: ignore[arg-type]
        .outerjoin(GiftReceiptDetail, GiftReceiptDetail.gift_id == Gift.id)  # type: ignore[arg-type]
        .where(Gift.entry_type == EntryType.GIFT, Gift.currency == "GBP",
               Gift.received_on >= date_from, Gift.received_on <= date_to,  # type: ignore[operator]
               ~exists().where(rev.reverses_gift_id == Gift.id),
               ~exists().where(GiftAidClaimLine.gift_id == Gift.id))
        .order_by(Gift.received_on, Gift.id)  # type: ignore[arg-type]
    ).all()
    decls = declarations_of(session, sorted({d.id for _, d, _ in rows if d.id is not None}))
    items, problems = [], []
    for g, d, detail in rows:
        info = donor_info(d)
        lg = LedgerGift(id=g.id, received_on=g.received_on, amount=Money(g.amount_minor, "GBP"), channel=g.channel,
                        advantage=Money(detail.advantage_minor, "GBP") if detail else None,
                        sponsored=bool(detail and detail.sponsored))
        if not uk.eligible(lg, decls.get(d.id, []), donor_is_person=not info.is_organisation):
            continue
        if uk.claim_deadline(g.received_on, settings.giftaid_year_end) < today:
            problems.append(Problem(f"gift {g.id}", "older than the four-year claim window; not claimed"))
            continue
        items.append(uk.ClaimGift(lg, info))
    return items, problems


def make_claim(session: Session, date_from: dt.date, date_to: dt.date, *, aggregate_small: bool = False,
               today: dt.date | None = None, settings: Settings | None = None, dry_run: bool = False) -> ClaimResult:
    """Build the HMRC schedule for the period and record the gifts as claimed (unless dry_run)."""
    settings = settings or get_settings()
    items, problems = claimable(session, date_from, date_to, today=today, settings=settings)
    rows, row_problems = uk.claim_schedule(
        items, aggregate_small=aggregate_small, small_limit=Money(settings.giftaid_small_gift_limit_minor, "GBP"))
    problems += row_problems
    gifts = sum((i.gift.amount for i in items), Money.zero("GBP"))
    tax = uk.reclaim(gifts, settings.giftaid_basic_rate)
    claim = None
    if items and not dry_run:
        claim = GiftAidClaim(from_date=date_from, to_date=date_to, gifts_minor=gifts.minor, tax_minor=tax.minor,
                             rows=len(rows), created_by=audit.current_actor())
        session.add(claim)
        session.flush()
        session.add_all([GiftAidClaimLine(claim_id=claim.id, gift_id=i.gift.id, amount_minor=i.gift.amount.minor)
                         for i in items])
        session.flush()
        audit.record(session, "giftaid.claim", "giftaid_claim", claim.id,
                     after={"from": date_from, "to": date_to, "gifts": str(gifts), "tax": str(tax)})
    return ClaimResult(claim, rows, problems, uk.schedule_csv(rows), gifts, tax)
