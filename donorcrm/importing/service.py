"""Import services: validate every row, write the valid ones in the caller's transaction, report the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.campaigns.models import Campaign, Fund
from donorcrm.donors.models import Donor, DonorCreate
from donorcrm.donors.service import add_account, create_donor, set_consent
from donorcrm.errors import Problem
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import GiftRow, record_gifts_bulk
from donorcrm.importing import csvfile
from donorcrm.importing.rows import (
    DONOR_COLUMNS,
    DONOR_REQUIRED,
    GIFT_COLUMNS,
    GIFT_REQUIRED,
    DonorRow,
    GiftImportRow,
    validate_donor,
    validate_gift,
)
from donorcrm.money import Locale

SOURCE = "csv"


@dataclass
class ImportResult:
    written: int = 0
    already_present: int = 0
    problems: list[Problem] = field(default_factory=list)


def _lookup(session: Session, column, values: set[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out: dict[str, int] = {}
    items = sorted(values)
    model = column.class_
    for i in range(0, len(items), 1000):
        part = items[i : i + 1000]
        for key, ident in session.execute(select(column, model.id).where(column.in_(part))):
            out[key] = ident
    return out


R = TypeVar("R", DonorRow, GiftImportRow)


def _valid_rows(path: Path, required: tuple[str, ...], known: tuple[str, ...],
                validate: Callable[[int, dict[str, str | None]], tuple[R | None, list[Problem]]],
                problems: list[Problem]) -> list[R]:
    """Rows that pass validation, each reference once; every other line becomes a problem."""
    valid: list[R] = []
    seen: set[str] = set()
    for line, raw in csvfile.rows(path, required, known):
        if isinstance(raw, Problem):
            problems.append(raw)
            continue
        row, found = validate(line, raw)
        if row is None:
            problems.extend(found)
        elif row.reference in seen:
            problems.append(Problem(f"line {line}", f"reference {row.reference!r} repeats an earlier line"))
        else:
            seen.add(row.reference)
            valid.append(row)
    return valid


def import_donors(session: Session, path: Path) -> ImportResult:
    result = ImportResult()
    valid = _valid_rows(path, DONOR_REQUIRED, DONOR_COLUMNS, validate_donor, result.problems)
    existing = _lookup(session, Donor.reference, {r.reference for r in valid})
    for row in valid:
        if row.reference in existing:
            result.already_present += 1
            continue
        donor = create_donor(session, DonorCreate(reference=row.reference, **row.fields))  # type: ignore[arg-type]
        assert donor.id is not None
        if row.iban:
            add_account(session, donor.id, row.iban, source=SOURCE)
        for channel, granted in row.consents.items():
            set_consent(session, donor.id, channel, "fundraising", granted, source=f"import {path.name}")
        result.written += 1
    audit.record(session, "import.donors", "import", path.name,
                 after={"written": result.written, "already_present": result.already_present,
                        "rejected": len(result.problems)})
    return result


def import_gifts(session: Session, path: Path, locale: Locale | str = Locale.PLAIN) -> ImportResult:
    result = ImportResult()
    valid = _valid_rows(path, GIFT_REQUIRED, GIFT_COLUMNS, lambda n, raw: validate_gift(n, raw, Locale(locale)),
                        result.problems)

    donors = _lookup(session, Donor.reference, {r.donor_reference for r in valid})
    campaigns = _lookup(session, Campaign.code, {r.campaign_code for r in valid if r.campaign_code})
    funds = _lookup(session, Fund.code, {r.fund_code for r in valid if r.fund_code})
    booked: dict[str, tuple[int, str]] = {}
    refs = sorted(r.reference for r in valid)
    for i in range(0, len(refs), 1000):
        for ref, minor, cur in session.execute(
            select(Gift.external_ref, Gift.amount_minor, Gift.currency)
            .where(Gift.source == SOURCE, Gift.external_ref.in_(refs[i : i + 1000]))  # type: ignore[union-attr]
        ):
            booked[ref] = (minor, cur)

    to_write: list[GiftRow] = []
    for r in valid:
        where = f"line {r.line}"
        if r.donor_reference not in donors:
            result.problems.append(Problem(where, f"unknown donor reference {r.donor_reference!r}"))
            continue
        if r.campaign_code and r.campaign_code not in campaigns:
            result.problems.append(Problem(where, f"unknown campaign {r.campaign_code!r}"))
            continue
        if r.fund_code and r.fund_code not in funds:
            result.problems.append(Problem(where, f"unknown fund {r.fund_code!r}"))
            continue
        if r.reference in booked:
            if booked[r.reference] != (r.amount.minor, r.amount.currency):
                result.problems.append(Problem(where, f"reference {r.reference!r} was imported before with"
                                                      " another amount"))
            else:
                result.already_present += 1
            continue
        to_write.append(GiftRow(
            donor_id=donors[r.donor_reference], amount_minor=r.amount.minor, currency=r.amount.currency,
            received_on=r.received_on, channel=r.channel, category=r.category, source=SOURCE,
            external_ref=r.reference, campaign_id=campaigns.get(r.campaign_code or ""),
            fund_id=funds.get(r.fund_code or ""), source_code=r.source_code, note=r.note,
        ))
    result.written = record_gifts_bulk(session, to_write, skip_existing=False)
    audit.record(session, "import.gifts", "import", path.name,
                 after={"written": result.written, "already_present": result.already_present,
                        "rejected": len(result.problems)})
    return result
