"""United Kingdom: Gift Aid declarations, eligible gifts, the reclaim and the HMRC claim schedule.

The schedule follows HMRC's Gift Aid schedule spreadsheet column for column; every rule that HMRC
has changed over the years (basic rate, small-gift limit) comes from settings.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from donorcrm.errors import Problem
from donorcrm.money import Money, total
from donorcrm.receipts.common import (
    Charity,
    DonorInfo,
    Draft,
    Jurisdiction,
    LedgerGift,
    Line,
    ReceiptKind,
    year_gifts,
)

ORAL_CANCELLATION_DAYS = 30
CLAIM_WINDOW_YEARS = 4
AGGREGATE_LINE_LIMIT = Money(100_000, "GBP")  # no aggregated line over GBP 1,000
SMALL_DONATIONS_CASH_LIMIT = Money(3_000, "GBP")
SMALL_DONATIONS_CAP = Money(800_000, "GBP")

TAX_STATEMENT = (
    "I am a UK taxpayer and understand that if I pay less Income Tax and/or Capital Gains Tax than the "
    "amount of Gift Aid claimed on all my donations in that tax year it is my responsibility to pay any difference."
)


class DeclarationScope(StrEnum):
    SINGLE = "single"  # this one gift
    ALL = "all"  # past 4 years, present and future


class DeclarationMethod(StrEnum):
    WRITTEN = "written"
    ONLINE = "online"
    ORAL = "oral"


@dataclass(frozen=True)
class Declaration:
    id: int
    donor_id: int
    made_on: dt.date
    scope: DeclarationScope = DeclarationScope.ALL
    method: DeclarationMethod = DeclarationMethod.WRITTEN
    gift_id: int | None = None
    record_sent_on: dt.date | None = None  # oral: the written record sent to the donor
    cancelled_on: dt.date | None = None


def declaration_problems(d: Declaration, donor: DonorInfo) -> list[Problem]:
    """What HMRC needs on a declaration: name (initial or first name and surname), house and postcode."""
    where = f"declaration {d.id}"
    out = []
    if not (donor.first_name or donor.initials):
        out.append(Problem(where, "first name or initial missing"))
    if not donor.last_name:
        out.append(Problem(where, "surname missing"))
    if not house_name_or_number(donor):
        out.append(Problem(where, "house name or number missing"))
    if not postcode(donor.postcode):
        out.append(Problem(where, "UK postcode missing"))
    if d.scope == DeclarationScope.SINGLE and d.gift_id is None:
        out.append(Problem(where, "a single-gift declaration must name its gift"))
    return out


def covers(d: Declaration, gift: LedgerGift) -> bool:
    """Whether a declaration covers a gift.

    An oral declaration counts only once its written record went out, and cancelling within 30 days of
    that record undoes it from the start; other cancellations stop coverage from the cancellation date.
    """
    if d.scope == DeclarationScope.SINGLE:
        return d.gift_id == gift.id and not (d.cancelled_on and d.cancelled_on <= gift.received_on)
    if d.method == DeclarationMethod.ORAL:
        if d.record_sent_on is None:
            return False
        if d.cancelled_on and d.cancelled_on <= d.record_sent_on + dt.timedelta(days=ORAL_CANCELLATION_DAYS):
            return False
    if d.cancelled_on and gift.received_on >= d.cancelled_on:
        return False
    earliest = _years_back(d.made_on, CLAIM_WINDOW_YEARS)
    return gift.received_on >= earliest


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def benefit_allowed(gift: Money, benefit: Money) -> bool:
    """HMRC donor-benefit limits (from April 2019): 25% up to GBP 100, then GBP 25 + 5% of the rest, max 2,500."""
    if benefit.minor <= 0:
        return True
    if gift.minor <= 10_000:
        limit = gift.minor * 25 // 100
    else:
        limit = min(2_500 + (gift.minor - 10_000) * 5 // 100, 250_000)
    return benefit.minor <= limit


def reclaim(amount: Money, basic_rate: int = 20) -> Money:
    """Tax to reclaim: gift x rate / (100 - rate); at 20% that is 25p per GBP 1. Rounded down, never over-claimed."""
    return amount.scale(Decimal(basic_rate) / Decimal(100 - basic_rate), rounding=ROUND_DOWN)


def claim_deadline(gift_date: dt.date, year_end: str = "12-31") -> dt.date:
    """Last day to claim: 4 years after the end of the accounting period the gift fell in."""
    month, day = (int(x) for x in year_end.split("-"))
    end = dt.date(gift_date.year, month, day)
    if gift_date > end:
        end = dt.date(gift_date.year + 1, month, day)
    return end.replace(year=end.year + CLAIM_WINDOW_YEARS)


def eligible(gift: LedgerGift, declarations: list[Declaration], *, donor_is_person: bool = True) -> bool:
    """Gift Aid eligible: GBP, from a person, standing, under a declaration, within the benefit limits."""
    if gift.amount.currency != "GBP" or gift.reversed or not donor_is_person:
        return False
    if not benefit_allowed(gift.amount, gift.advantage_or_zero):
        return False
    return any(covers(d, gift) for d in declarations)


def giving_statement(
    donor: DonorInfo, year: int, gifts: list[LedgerGift], declarations: list[Declaration], charity: Charity,
    *, basic_rate: int = 20,
) -> Draft | None:
    """A donor's yearly statement: each gift, whether Gift Aid applies and what it adds."""
    rows = year_gifts(gifts, year, "GBP")
    if not rows:
        return None
    lines = []
    for g in rows:
        aided = eligible(g, declarations, donor_is_person=not donor.is_organisation)
        lines.append(Line(
            gift_id=g.id, on=g.received_on, amount=g.amount, eligible=g.amount if aided else Money.zero("GBP"),
            advantage=g.advantage_or_zero, description="Gift Aid" if aided else "gift",
            group="giftaid" if aided else "other",
            note=reclaim(g.amount, basic_rate).to_string() if aided else "",
        ))
    aided_total = total([ln.eligible for ln in lines], "GBP")
    figures = {
        "hmrc_ref": charity.hmrc_ref,
        "giftaid_total": aided_total.to_string(),
        "giftaid_reclaim": reclaim(aided_total, basic_rate).to_string(),
        "basic_rate": basic_rate,
    }
    return Draft(jurisdiction=Jurisdiction.UK, kind=ReceiptKind.UK_STATEMENT, year=year, donor=donor,
                 currency="GBP", lines=tuple(lines), language="en", figures=figures)


# --- HMRC claim schedule ----------------------------------------------------------------------------

SCHEDULE_COLUMNS = (
    "Title", "First name or initial", "Last name", "House name or number", "Postcode",
    "Aggregated donations", "Sponsored event", "Donation date", "Donation amount",
)


@dataclass(frozen=True)
class ClaimGift:
    """A gift to claim with the donor details HMRC wants."""

    gift: LedgerGift
    donor: DonorInfo


@dataclass(frozen=True)
class ScheduleRow:
    title: str
    first_name: str
    last_name: str
    house: str
    postcode: str
    aggregated: str
    sponsored: str
    date: str
    amount: str
    gift_ids: tuple[int, ...] = ()

    def cells(self) -> list[str]:
        return [self.title, self.first_name, self.last_name, self.house, self.postcode, self.aggregated,
                self.sponsored, self.date, self.amount]


def postcode(text: str | None) -> str:
    """Upper case with one space before the inward code: "sw1a1aa" -> "SW1A 1AA"; "" if not a UK postcode."""
    compact = re.sub(r"\s+", "", (text or "").upper())
    if not re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}", compact):
        return ""
    return f"{compact[:-3]} {compact[-3:]}"


def house_name_or_number(donor: DonorInfo) -> str:
    if donor.house_number:
        return donor.house_number.strip()
    m = re.match(r"\s*(\d+[A-Za-z]?)\b", donor.street or "")
    if m:
        return m.group(1)
    return (donor.street or "").strip()


def _clip(text: str, limit: int, where: str, what: str, problems: list[Problem]) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        problems.append(Problem(where, f"{what} longer than {limit} characters, shortened"))
        return text[:limit]
    return text


def claim_schedule(
    items: list[ClaimGift], *, aggregate_small: bool = False, small_limit: Money = Money(2000, "GBP"),
) -> tuple[list[ScheduleRow], list[Problem]]:
    """Rows for HMRC's schedule, in date order; small gifts aggregated in lines of at most GBP 1,000 on request."""
    rows: list[ScheduleRow] = []
    problems: list[Problem] = []
    small: list[ClaimGift] = []
    for item in sorted(items, key=lambda i: (i.gift.received_on, i.gift.id)):
        g, d = item.gift, item.donor
        if aggregate_small and g.amount <= small_limit and not g.sponsored:
            small.append(item)
            continue
        where = f"gift {g.id}"
        title = (d.title or "").strip()
        if len(title) > 4:
            title = ""  # HMRC allows 4 characters; an unfit title is left out rather than cut
        first = _clip(d.first_name or d.initials, 35, where, "first name", problems)
        last = _clip(d.last_name, 35, where, "last name", problems)
        house = _clip(house_name_or_number(d), 40, where, "house name or number", problems)
        pc = postcode(d.postcode)
        if not pc:
            problems.append(Problem(where, f"no UK postcode for donor {d.id}"))
        rows.append(ScheduleRow(title, first, last, house, pc, "", "Yes" if g.sponsored else "",
                                g.received_on.strftime("%d/%m/%y"), g.amount.to_string(), (g.id,)))
    batch: list[ClaimGift] = []

    def close_batch() -> None:
        amount = total([b.gift.amount for b in batch], "GBP")
        last_date = max(b.gift.received_on for b in batch)
        rows.append(ScheduleRow("", "", "", "", "", f"{len(batch)} small donations"[:35], "",
                                last_date.strftime("%d/%m/%y"), amount.to_string(),
                                tuple(b.gift.id for b in batch)))
        batch.clear()

    for item in small:
        if batch and total([b.gift.amount for b in batch], "GBP") + item.gift.amount > AGGREGATE_LINE_LIMIT:
            close_batch()
        batch.append(item)
    if batch:
        close_batch()
    return rows, problems


def schedule_csv(rows: list[ScheduleRow]) -> str:
    """The schedule as CSV with HMRC's column headings, for pasting into the schedule spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SCHEDULE_COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    return out.getvalue()


def small_donations_topup_base(cash_small_gifts: Money, giftaid_gifts: Money) -> Money:
    """Small donations scheme: the yearly base is at most min(GBP 8,000, 10 x the Gift Aid gifts of that year)."""
    cap = min(SMALL_DONATIONS_CAP, giftaid_gifts * 10)
    return min(cash_small_gifts, cap)
