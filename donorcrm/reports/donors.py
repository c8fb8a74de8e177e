"""Finding a donor and everything we hold about them, for the admin's donor pages.

Bank accounts come back masked; `reveal_iban` shows one in full to a role allowed to see bank details
and writes that to the audit trail.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.audit import AuditLog
from donorcrm.auth import Permission, may
from donorcrm.commitments.models import Commitment
from donorcrm.donors.models import ConsentEvent, Donor, DonorAccount
from donorcrm.errors import NotFound, PermissionDenied, ValidationError
from donorcrm.gifts.models import Gift
from donorcrm.gifts.summary import DonorYear
from donorcrm.iban import mask_iban

SEARCH_FIELDS = ("auto", "name", "email", "postcode", "number", "iban4")
_POSTCODE = re.compile(r"^\s*(\d{4})\s*([A-Za-z]{2})\s*$")


@dataclass(frozen=True)
class DonorHit:
    id: int
    name: str
    email: str | None
    postcode: str | None
    city: str | None
    status: str
    reference: str | None


def _name(d: Donor) -> str:
    return d.display_name


def _hit(d: Donor) -> DonorHit:
    return DonorHit(d.id or 0, _name(d), d.email, d.postcode, d.city, d.status, d.reference)


def search_donors(session: Session, text: str, *, by: str = "auto", limit: int = 50) -> list[DonorHit]:
    """Donors matching a name (prefix of last or organisation name, "first last", "infix last" or
    "first infix last"), an e-mail
    address, a postcode, a donor number (id or reference) or the last four digits of an IBAN."""
    if by not in SEARCH_FIELDS:
        raise ValidationError(f"search by one of {', '.join(SEARCH_FIELDS)}")
    q = text.strip()
    if not q:
        return []
    if by == "auto":
        if "@" in q:
            by = "email"
        elif _POSTCODE.match(q):
            by = "postcode"
        elif q.isdigit():
            by = "number+iban4" if len(q) == 4 else "number"
        else:
            by = "name"
    # Each way of matching is its own indexed query returning its first page; OR-ing them into one
    # statement lets the planner fall back to reading the whole donor table.
    queries = []
    base = select(Donor.last_name, Donor.id)
    if by == "email":
        queries.append(base.where(func.lower(Donor.email) == q.lower()))
    if by == "postcode":
        m = _POSTCODE.match(q)
        variants = {q, q.upper()}
        if m:
            variants |= {f"{m[1]} {m[2].upper()}", f"{m[1]}{m[2].upper()}"}
        queries.append(base.where(Donor.postcode.in_(sorted(variants))))  # type: ignore[union-attr]
    if by.startswith("number"):
        if q.isdigit():
            queries.append(base.where(Donor.id == int(q)))
        queries.append(base.where(Donor.reference == q))
    if by.endswith("iban4") and len(q) == 4:
        queries.append(base.where(Donor.id.in_(  # type: ignore[union-attr]
            select(DonorAccount.donor_id).where(DonorAccount.iban_last4 == q.upper()))))
    if by == "name":
        sqlite = session.get_bind().dialect.name == "sqlite"
        words = q.lower().split()
        queries.append(base.where(_prefix(Donor.last_name, q.lower(), sqlite)))
        queries.append(base.where(_prefix(Donor.organisation_name, q.lower(), sqlite)))
        if len(words) > 1:  # "first last", "first infix last" and "infix last" (van, de, van der...)
            queries.append(base.where(_prefix(Donor.last_name, " ".join(words[1:]), sqlite),
                                      func.lower(Donor.first_name) == words[0]))
            queries.append(base.where(_prefix(Donor.last_name, words[-1], sqlite),
                                      func.lower(Donor.first_name) == words[0]))
            queries.append(base.where(_prefix(Donor.last_name, words[-1], sqlite),
                                      func.lower(Donor.name_infix) == " ".join(words[:-1])))
    found: set[tuple[str, int]] = set()
    for query in queries:
        rows = session.execute(query.order_by(Donor.last_name, Donor.id).limit(limit))
        found.update((name or "", int(i)) for name, i in rows)
    page = [i for _, i in sorted(found)[:limit]]
    if not page:
        return []
    donors = {d.id: d for d in session.execute(select(Donor).where(Donor.id.in_(page))).scalars()}  # type: ignore[union-attr]
    return [_hit(donors[i]) for i in page]


def _prefix(column, prefix: str, sqlite: bool):  # type: ignore[no-untyped-def]
    """lower(column) starts with `prefix`, in a form the lower-cased index serves on each engine."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    cond = func.lower(column).like(escaped + "%", escape="\\")
    if sqlite and ord(prefix[-1]) < 0x10FFFF:
        # SQLite's LIKE cannot use an expression index; a byte range on the same expression can.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        cond = and_(func.lower(column) >= prefix, func.lower(column) < upper, cond)
    return cond


@dataclass(frozen=True)
class AccountView:
    id: int
    iban_masked: str
    bic: str | None
    holder: str | None
    source: str


@dataclass(frozen=True)
class ConsentView:
    channel: str
    purpose: str
    status: str
    at: dt.datetime
    source: str


@dataclass(frozen=True)
class AuditView:
    at: dt.datetime
    actor: str
    action: str
    before: dict | None
    after: dict | None


@dataclass(frozen=True)
class Profile:
    donor: Donor
    yearly: list[tuple[int, str, int, int]]  # (year, currency, amount_minor, gifts) of non-reversed gifts
    lifetime_minor: int
    gifts: list[Gift]
    gift_count: int
    commitments: list[Commitment]
    accounts: list[AccountView]
    consents: list[ConsentView]  # full history, newest first
    audit: list[AuditView]
    extra: dict[str, list[dict]] = field(default_factory=dict)  # sections other packages add


def profile(session: Session, donor_id: int, *, gift_limit: int = 100) -> Profile:
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}")
    dy = DonorYear.__table__  # type: ignore[attr-defined]
    yearly = [(int(y), c, int(a), int(n)) for y, c, a, n in session.execute(
        select(dy.c.year, dy.c.currency, dy.c.amount_minor, dy.c.gifts).where(dy.c.donor_id == donor_id)
        .order_by(dy.c.year.desc()))]
    gifts = list(session.execute(
        select(Gift).where(Gift.donor_id == donor_id).order_by(Gift.received_on.desc(), Gift.id.desc())
        .limit(gift_limit)).scalars())
    gift_count = session.execute(select(func.count()).select_from(Gift).where(Gift.donor_id == donor_id)).scalar_one()
    commitments = list(session.execute(
        select(Commitment).where(Commitment.donor_id == donor_id).order_by(Commitment.starts_on.desc())).scalars())
    accounts = [AccountView(a.id or 0, mask_iban(a.iban), a.bic, a.holder, a.source) for a in session.execute(
        select(DonorAccount).where(DonorAccount.donor_id == donor_id).order_by(DonorAccount.id)).scalars()]
    consents = [ConsentView(e.channel, e.purpose, e.status, e.at, e.source) for e in session.execute(
        select(ConsentEvent).where(ConsentEvent.donor_id == donor_id)
        .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())).scalars()]
    trail = [AuditView(a.at, a.actor, a.action, a.before, a.after) for a in session.execute(
        select(AuditLog).where(AuditLog.entity == "donor", AuditLog.entity_id == str(donor_id))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(200)).scalars()]
    return Profile(donor, yearly, sum(a for _, c, a, _ in yearly if c == "EUR"), gifts, int(gift_count),
                   commitments, accounts, consents, trail)


def reveal_iban(session: Session, account_id: int, *, role: str, actor: str | None = None) -> str:
    """The full IBAN of one account, for finance; every look is written to the audit trail."""
    if not may(role, Permission.VIEW_BANK_DETAILS):
        raise PermissionDenied("your role may not see bank details")
    account = session.get(DonorAccount, account_id)
    if account is None:
        raise NotFound(f"no bank account {account_id}")
    audit.record(session, "donor.iban_revealed", "donor", account.donor_id,
                 after={"account_id": account_id, "iban": mask_iban(account.iban)}, actor=actor)
    return account.iban
