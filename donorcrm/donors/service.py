"""Use cases on donors: create, update, bank accounts, consent, merge, death and GDPR erasure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.db import utcnow
from donorcrm.donors.models import (
    Channel,
    ConsentEvent,
    ConsentStatus,
    Donor,
    DonorAccount,
    DonorCreate,
    DonorStatus,
    Purpose,
)
from donorcrm.donors.rules import PERSONAL_FIELDS, erased_values
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.iban import bic_for, last4, mask_iban, normalise_iban

EDITABLE_FIELDS = tuple(DonorCreate.model_fields)

# Other packages register functions that scrub the personal data they hold (mandate holder names,
# receipt snapshots...) when a donor is erased, and that move their rows when donors merge.
ErasureHook = Callable[[Session, int], None]
MergeHook = Callable[[Session, int, int], None]
erasure_hooks: list[ErasureHook] = []
merge_hooks: list[MergeHook] = []
# Called before the links move, with (session, survivor_id, duplicate_id), to settle rows that would collide
# with a unique key once both donors' rows point at the survivor.
before_merge_hooks: list[MergeHook] = []
# Tables whose donor links their own package moves in a before-merge hook (the plain "point every link at the
# survivor" would break a unique key or rewrite history there).
merge_moved_by_hooks: set[str] = set()
# Called when a donor is marked deceased, with (session, donor_id, date of death, source such as "sepa:MD07"):
# bequests opens a "possible legacy?" check.
DeathHook = Callable[[Session, int, dt.date | None, str], None]
death_hooks: list[DeathHook] = []


def _load_plugins() -> None:
    from donorcrm import plugins

    plugins.install()


def _snapshot(donor: Donor) -> dict[str, Any]:
    return {f: getattr(donor, f) for f in EDITABLE_FIELDS if hasattr(donor, f)}


def get_donor(session: Session, donor_id: int) -> Donor:
    donor = session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}")
    return donor


def _check(data: dict[str, Any]) -> None:
    kind = data.get("kind") or "person"
    if kind == "organisation" and not data.get("organisation_name"):
        raise ValidationError("an organisation needs organisation_name")
    if kind == "person" and not (data.get("last_name") or data.get("organisation_name")):
        raise ValidationError("a person needs a last name")
    email = data.get("email")
    if email and ("@" not in email or email.startswith("@") or email.endswith("@")):
        raise ValidationError(f"not an e-mail address: {email!r}")
    country = data.get("country")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise ValidationError(f"country must be an ISO 3166 two-letter code, got {country!r}")


def create_donor(session: Session, data: DonorCreate) -> Donor:
    values = data.model_dump()
    if values.get("country"):
        values["country"] = values["country"].upper()
    _check(values)
    donor = Donor(**values)
    session.add(donor)
    session.flush()
    audit.record(session, "donor.create", "donor", donor.id, after=_snapshot(donor))
    return donor


def update_donor(session: Session, donor_id: int, changes: dict[str, Any]) -> Donor:
    donor = get_donor(session, donor_id)
    if donor.status in (DonorStatus.ERASED, DonorStatus.MERGED):
        raise InvalidState(f"donor {donor_id} is {donor.status} and cannot be edited")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"cannot edit {', '.join(sorted(unknown))}")
    before = _snapshot(donor)
    merged = {**before, **changes}
    _check(merged)
    for key, value in changes.items():
        setattr(donor, key, value)
    donor.updated_at = utcnow()
    session.add(donor)
    session.flush()
    old, new = audit.changes(before, _snapshot(donor))
    if new:
        audit.record(session, "donor.update", "donor", donor_id, before=old, after=new)
    return donor


def add_account(session: Session, donor_id: int, iban: str, *, holder: str | None = None,
                bic: str | None = None, source: str = "manual") -> DonorAccount:
    """Remember a donor's bank account (idempotent per donor and IBAN)."""
    get_donor(session, donor_id)
    compact = normalise_iban(iban)
    existing = session.execute(
        select(DonorAccount).where(DonorAccount.donor_id == donor_id, DonorAccount.iban == compact)
    ).scalars().first()
    if existing is not None:
        return existing
    account = DonorAccount(donor_id=donor_id, iban=compact, iban_last4=last4(compact),
                           bic=bic or bic_for(compact), holder=holder, source=source)
    session.add(account)
    session.flush()
    audit.record(session, "donor.add_account", "donor", donor_id, after={"iban": mask_iban(compact)})
    return account


def set_consent(session: Session, donor_id: int, channel: Channel | str, purpose: Purpose | str,
                granted: bool, *, at: dt.datetime | None = None, source: str = "") -> ConsentEvent:
    event = ConsentEvent(
        donor_id=donor_id, channel=Channel(channel), purpose=Purpose(purpose),
        status=ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN, at=at or utcnow(), source=source,
    )
    get_donor(session, donor_id)
    session.add(event)
    session.flush()
    audit.record(session, "donor.consent", "donor", donor_id,
                 after={"channel": str(channel), "purpose": str(purpose), "granted": granted, "source": source})
    return event


def contactable_query(channel: Channel | str, purpose: Purpose | str, now: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    """SELECT of donor ids we may contact on this channel for this purpose now (latest consent wins)."""
    now = now or utcnow()
    latest = (
        select(ConsentEvent.donor_id, func.max(ConsentEvent.at).label("at"))
        .where(ConsentEvent.channel == str(channel), ConsentEvent.purpose == str(purpose),
               ConsentEvent.at <= now)
        .group_by(ConsentEvent.donor_id)
        .subquery()
    )
    ev = aliased(ConsentEvent)
    stmt = (
        select(Donor.id)
        .join(latest, latest.c.donor_id == Donor.id)
        .join(ev, and_(ev.donor_id == latest.c.donor_id, ev.at == latest.c.at,
                       ev.channel == str(channel), ev.purpose == str(purpose)))
        .where(Donor.status == DonorStatus.ACTIVE, ev.status == ConsentStatus.GRANTED)
    )
    if Channel(channel) == Channel.EMAIL:
        stmt = stmt.where(Donor.email.is_not(None))  # type: ignore[union-attr]
    elif Channel(channel) in (Channel.PHONE, Channel.SMS):
        stmt = stmt.where(Donor.phone.is_not(None))  # type: ignore[union-attr]
    elif Channel(channel) == Channel.POST:
        stmt = stmt.where(Donor.street.is_not(None))  # type: ignore[union-attr]
    return stmt.distinct()


def may_contact(session: Session, channel: Channel | str, purpose: Purpose | str,
                now: dt.datetime | None = None) -> list[int]:
    """Whom may we contact on this channel about this purpose today: donor ids."""
    return sorted(session.execute(contactable_query(channel, purpose, now)).scalars())


def mark_deceased(session: Session, donor_id: int, on: dt.date | None = None, *, source: str = "") -> Donor:
    donor = get_donor(session, donor_id)
    if donor.status == DonorStatus.DECEASED:
        return donor
    if donor.status != DonorStatus.ACTIVE:
        raise InvalidState(f"donor {donor_id} is {donor.status}")
    donor.status = DonorStatus.DECEASED
    donor.deceased_on = on
    donor.updated_at = utcnow()
    session.add(donor)
    session.flush()
    audit.record(session, "donor.deceased", "donor", donor_id, after={"on": on, "source": source})
    _load_plugins()
    for hook in death_hooks:
        hook(session, donor_id, on, source)
    return donor


def _donor_fk_columns(session: Session) -> list[tuple[Any, Any]]:
    """Every (table, column) in the schema that points at donor.id, except the donor table itself."""
    from donorcrm.models import metadata

    out = []
    for table in metadata.sorted_tables:
        if table.name == "donor":
            continue
        for column in table.columns:
            if any(fk.column.table.name == "donor" for fk in column.foreign_keys):
                out.append((table, column))
    return out


def merge_donors(session: Session, survivor_id: int, duplicate_id: int) -> Donor:
    """Fold a duplicate into the survivor: gifts, consents, accounts and every other link move over."""
    if survivor_id == duplicate_id:
        raise ValidationError("cannot merge a donor into itself")
    survivor, duplicate = get_donor(session, survivor_id), get_donor(session, duplicate_id)
    for d in (survivor, duplicate):
        if d.status in (DonorStatus.ERASED, DonorStatus.MERGED):
            raise InvalidState(f"donor {d.id} is {d.status} and cannot be merged")
    _load_plugins()
    for hook in before_merge_hooks:
        hook(session, survivor_id, duplicate_id)
    # Accounts the survivor already has would collide with the unique (donor, iban) key.
    survivor_ibans = set(session.execute(
        select(DonorAccount.iban).where(DonorAccount.donor_id == survivor_id)).scalars())
    for acc in session.execute(select(DonorAccount).where(DonorAccount.donor_id == duplicate_id)).scalars():
        if acc.iban in survivor_ibans:
            session.delete(acc)
    session.flush()
    moved: dict[str, int] = {}
    for table, column in _donor_fk_columns(session):
        if table.name in merge_moved_by_hooks:
            continue
        result = session.execute(update(table).where(column == duplicate_id).values({column.name: survivor_id}))
        if result.rowcount:
            moved[f"{table.name}.{column.name}"] = result.rowcount
    # Donors pointing at the duplicate as their organisation now point at the survivor.
    session.execute(update(Donor).where(Donor.organisation_id == duplicate_id).values(organisation_id=survivor_id))
    _load_plugins()
    for hook in merge_hooks:
        hook(session, survivor_id, duplicate_id)
    # Fill the survivor's empty fields from the duplicate.
    filled = {}
    for f in PERSONAL_FIELDS:
        if f == "reference":
            continue
        if getattr(survivor, f) in (None, "") and getattr(duplicate, f) not in (None, ""):
            filled[f] = getattr(duplicate, f)
            setattr(survivor, f, getattr(duplicate, f))
    duplicate.status = DonorStatus.MERGED
    duplicate.merged_into_id = survivor_id
    duplicate.updated_at = survivor.updated_at = utcnow()
    session.add_all([survivor, duplicate])
    session.flush()
    audit.record(session, "donor.merge", "donor", survivor_id,
                 before={"duplicate_id": duplicate_id}, after={"moved": moved, "filled": filled})
    return survivor


def erase_donor(session: Session, donor_id: int, *, reason: str = "GDPR request") -> Donor:
    """Anonymise a donor irreversibly. Gifts stay (with the donor id) so totals and books stay right."""
    donor = get_donor(session, donor_id)
    if donor.status == DonorStatus.ERASED:
        return donor
    for key, value in erased_values(donor_id).items():
        setattr(donor, key, value)
    donor.status = DonorStatus.ERASED
    donor.erased_at = utcnow()
    donor.updated_at = donor.erased_at
    session.add(donor)
    for acc in session.execute(select(DonorAccount).where(DonorAccount.donor_id == donor_id)).scalars():
        session.delete(acc)
    # Earlier audit rows about this donor held their personal data: keep the fact, drop the content.
    from donorcrm.audit import AuditLog

    session.execute(
        update(AuditLog).where(AuditLog.entity == "donor", AuditLog.entity_id == str(donor_id))
        .values(before=None, after={"erased": True})
    )
    _load_plugins()
    for hook in erasure_hooks:
        hook(session, donor_id)
    session.flush()
    audit.record(session, "donor.erase", "donor", donor_id, after={"reason": reason})
    return donor
