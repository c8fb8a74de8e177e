"""Restricted funds: spending booked in the finance system, and each fund's balance (income − spending).

Spending arrives as a CSV export (one booking per row). Every row is checked and every problem reported
with its line number; by default a file with any problem writes nothing, so a finance team fixes the export
and imports it again. Re-importing the same bookings is harmless: rows are keyed on the booking reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.campaigns.models import Fund
from donorcrm.db import utcnow
from donorcrm.errors import MoneyError, NotFound, Problem, ValidationError
from donorcrm.gifts.models import Gift
from donorcrm.grants.models import FundSpending, Grant
from donorcrm.money import Locale, Money


def _fund(session: Session, fund_id: int) -> Fund:
    fund = session.get(Fund, fund_id)
    if fund is None:
        raise NotFound(f"no fund {fund_id}")
    return fund


def record_spending(
    session: Session, *, fund_id: int, amount: Money, spent_on: dt.date, description: str,
    grant_id: int | None = None, source: str = "manual", external_ref: str | None = None,
) -> FundSpending:
    """One booking against a restricted fund; a credit note is a negative amount. Idempotent on the reference."""
    fund = _fund(session, fund_id)
    if not fund.restricted:
        raise ValidationError(f"fund {fund.code} is not restricted; spending is tracked for restricted funds")
    if amount.minor == 0:
        raise ValidationError("a booking of zero is not spending")
    if not description.strip():
        raise ValidationError("spending needs a description")
    if external_ref is not None:
        found = session.execute(select(FundSpending).where(
            FundSpending.source == source, FundSpending.external_ref == external_ref)).scalars().first()
        if found is not None:
            if found.amount_minor != amount.minor or found.fund_id != fund_id:
                raise ValidationError(f"{source} booking {external_ref} was imported with other values")
            return found
    if grant_id is not None:
        grant = session.get(Grant, grant_id)
        if grant is None:
            raise NotFound(f"no grant {grant_id}")
        if grant.fund_id != fund_id:
            raise ValidationError(f"grant {grant.reference} is not paid into fund {fund.code}")
    row = FundSpending(fund_id=fund_id, grant_id=grant_id, spent_on=spent_on, amount_minor=amount.minor,
                       currency=amount.currency, description=description.strip()[:300], source=source,
                       external_ref=external_ref, created_by=audit.current_actor())
    session.add(row)
    session.flush()
    audit.record(session, "fund.spend", "fund", fund_id, after={
        "spending_id": row.id, "amount": str(amount), "spent_on": spent_on, "ref": external_ref})
    return row


@dataclass(frozen=True, slots=True)
class FundBalance:
    fund_id: int
    code: str
    name: str
    income: Money
    spending: Money

    @property
    def balance(self) -> Money:
        return self.income - self.spending


def fund_balance(session: Session, fund_id: int, *, until: dt.date | None = None,
                 currency: str = "EUR") -> FundBalance:
    """Ledger income into the fund (gifts less reversals) minus spending from it, optionally up to a date."""
    fund = _fund(session, fund_id)
    income_q = select(func.coalesce(func.sum(Gift.amount_minor), 0)).where(
        Gift.fund_id == fund_id, Gift.currency == currency)
    spend_q = select(func.coalesce(func.sum(FundSpending.amount_minor), 0)).where(
        FundSpending.fund_id == fund_id, FundSpending.currency == currency)
    if until is not None:
        income_q = income_q.where(Gift.received_on <= until)
        spend_q = spend_q.where(FundSpending.spent_on <= until)
    return FundBalance(
        fund_id, fund.code, fund.name,
        Money(int(session.execute(income_q).scalar_one()), currency),
        Money(int(session.execute(spend_q).scalar_one()), currency),
    )


# --- CSV import --------------------------------------------------------------------------------------

# Accepted column names (lower case), English and Dutch as finance systems export them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "datum", "boekdatum", "spent_on"),
    "fund": ("fund", "fonds", "fund_code", "project"),
    "amount": ("amount", "bedrag"),
    "description": ("description", "omschrijving"),
    "reference": ("reference", "ref", "boekstuk", "boekstuknummer", "kenmerk", "booking"),
    "grant": ("grant", "subsidie", "grant_reference"),
}
REQUIRED = ("date", "fund", "amount", "description", "reference")


@dataclass
class SpendingImport:
    rows: int = 0
    written: int = 0
    already_imported: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse_date(text: str) -> dt.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date {text!r} is not YYYY-MM-DD or DD-MM-YYYY")


def _header_map(header: list[str]) -> tuple[dict[str, int], list[Problem]]:
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lower().lstrip("\ufeff")
        for column, aliases in COLUMNS.items():
            if key in aliases and column not in where:
                where[column] = i
    missing = [c for c in REQUIRED if c not in where]
    problems = [Problem("line 1", f"missing column {c} (one of: {', '.join(COLUMNS[c])})") for c in missing]
    return where, problems


def import_spending_csv(
    session: Session, text: str, *, source: str = "finance", locale: Locale | str = Locale.NL,
    currency: str = "EUR", partial: bool = False,
) -> SpendingImport:
    """Validate every row, then book the valid ones: all of them, or (with partial) those without problems.

    Columns: date, fund (code), amount, description, reference (booking number, unique per source), and
    optionally grant (our grant reference, whose fund must be the row's fund). Comma or semicolon separated.
    """
    result = SpendingImport()
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if header is None:
        result.problems.append(Problem("file", "empty"))
        return result
    where, problems = _header_map(header)
    if problems:
        result.problems.extend(problems)
        return result
    funds = {code: (fid, restricted) for fid, code, restricted in session.execute(
        select(Fund.id, Fund.code, Fund.restricted)).all()}
    seen_refs: set[str] = set()
    valid: list[tuple[dict[str, object], str]] = []
    grants_cache: dict[str, Grant | None] = {}
    for line_no, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        result.rows += 1
        here = f"line {line_no}"
        row_problems: list[Problem] = []

        def cell(column: str, raw: list[str] = raw) -> str:
            i = where.get(column)
            return raw[i].strip() if i is not None and i < len(raw) else ""

        values: dict[str, object] = {}
        try:
            values["spent_on"] = _parse_date(cell("date"))
        except ValueError as exc:
            row_problems.append(Problem(here, str(exc)))
        fund_code = cell("fund")
        fund = funds.get(fund_code)
        if fund is None:
            row_problems.append(Problem(here, f"unknown fund {fund_code!r}"))
        elif not fund[1]:
            row_problems.append(Problem(here, f"fund {fund_code} is not restricted"))
        else:
            values["fund_id"] = fund[0]
        try:
            amount = Money.parse(cell("amount"), currency, locale)
            if amount.minor == 0:
                row_problems.append(Problem(here, "amount is zero"))
            values["amount"] = amount
        except MoneyError as exc:
            row_problems.append(Problem(here, str(exc)))
        description = cell("description")
        if not description:
            row_problems.append(Problem(here, "description is empty"))
        values["description"] = description
        ref = cell("reference")
        if not ref:
            row_problems.append(Problem(here, "reference is empty"))
        elif ref in seen_refs:
            row_problems.append(Problem(here, f"reference {ref} appears twice in the file"))
        seen_refs.add(ref)
        grant_ref = cell("grant")
        values["grant_id"] = None
        if grant_ref:
            if grant_ref not in grants_cache:
                grants_cache[grant_ref] = session.execute(
                    select(Grant).where(Grant.reference == grant_ref)).scalars().first()
            grant = grants_cache[grant_ref]
            if grant is None:
                row_problems.append(Problem(here, f"unknown grant {grant_ref!r}"))
            elif fund is not None and grant.fund_id != fund[0]:
                row_problems.append(Problem(here, f"grant {grant_ref} is not paid into fund {fund_code}"))
            else:
                values["grant_id"] = grant.id
        if row_problems:
            result.problems.extend(row_problems)
            continue
        valid.append((values, ref))

    existing = _existing_refs(session, source, [ref for _v, ref in valid])
    to_write = []
    for values, ref in valid:
        if ref not in existing:
            to_write.append((values, ref))
        elif existing[ref] != (values["fund_id"], values["amount"].minor):  # type: ignore[attr-defined]
            result.problems.append(Problem(f"reference {ref}", "imported before with other values"))
        else:
            result.already_imported += 1
    if result.problems and not partial:
        return result
    # Every row is validated above, so they go in with one executemany and one audit row for the file.
    now, actor = utcnow(), audit.current_actor()
    records = [{
        "fund_id": v["fund_id"], "grant_id": v["grant_id"], "spent_on": v["spent_on"],
        "amount_minor": v["amount"].minor, "currency": v["amount"].currency,  # type: ignore[attr-defined]
        "description": str(v["description"])[:300], "source": source, "external_ref": ref,
        "created_at": now, "created_by": actor,
    } for v, ref in to_write]
    if records:
        session.execute(insert(FundSpending), records)
        audit.record(session, "fund.spend_import", "fund", None, after={
            "rows": len(records), "source": source,
            "funds": sorted({int(r["fund_id"]) for r in records}),  # type: ignore[call-overload]
            "total": str(Money(sum(int(r["amount_minor"]) for r in records), currency)),  # type: ignore[call-overload]
        })
    result.written = len(records)
    return result


def _existing_refs(session: Session, source: str, refs: list[str]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for i in range(0, len(refs), 5000):
        part = refs[i:i + 5000]
        for ref, fund_id, minor in session.execute(
            select(FundSpending.external_ref, FundSpending.fund_id, FundSpending.amount_minor)
            .where(FundSpending.source == source, FundSpending.external_ref.in_(part))  # type: ignore[union-attr]
        ).all():
            found[ref] = (fund_id, minor)
    return found
