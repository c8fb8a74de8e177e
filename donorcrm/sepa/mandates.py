"""Mandates: create (IBAN checked, BIC derived), amend, cancel, expire after 36 months unused, list.

IBANs are masked in everything this module returns for display.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from schwifty import IBAN
from sqlalchemy import func, select, update
from sqlmodel import Session

from donorcrm import audit
from donorcrm.commitments.rules import MANDATE_EXPIRY_MONTHS, add_months, mandate_expires_on
from donorcrm.config import Settings, get_settings
from donorcrm.db import utcnow
from donorcrm.donors.service import add_account
from donorcrm.errors import InvalidState, NotFound, ValidationError
from donorcrm.iban import bic_for, mask_iban, normalise_iban
from donorcrm.sepa.models import Mandate, MandateKind, MandateStatus

# The mandate reference (UMR): 1..35 characters of the SEPA set, no leading or double slash.
_REFERENCE = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")


def check_reference(reference: str) -> str:
    ref = reference.strip()
    if not _REFERENCE.match(ref) or ref.startswith("/") or "//" in ref:
        raise ValidationError(f"invalid mandate reference {reference!r}: 1-35 SEPA characters, no leading or double '/'")
    return ref


def get_mandate(session: Session, mandate_id: int) -> Mandate:
    found = session.get(Mandate, mandate_id)
    if found is None:
        raise NotFound(f"no mandate {mandate_id}")
    return found


def find_by_reference(session: Session, reference: str, creditor_id: str | None = None) -> Mandate:
    creditor_id = creditor_id or get_settings().creditor_id
    found = session.execute(select(Mandate).where(
        Mandate.creditor_id == creditor_id, Mandate.reference == reference)).scalars().first()
    if found is None:
        raise NotFound(f"no mandate {reference}")
    return found


def _bank_of(iban: str) -> str:
    parsed = IBAN(iban)
    return f"{parsed.country_code}:{parsed.bank_code}"


def create_mandate(
    session: Session,
    *,
    donor_id: int,
    iban: str,
    holder: str,
    signed_on: dt.date,
    commitment_id: int | None = None,
    reference: str | None = None,
    kind: str = MandateKind.RECURRENT,
    bic: str | None = None,
    settings: Settings | None = None,
) -> Mandate:
    """A new mandate; the reference is generated (DCRM-000000123) when none is given."""
    settings = settings or get_settings()
    compact = normalise_iban(iban)
    if not holder.strip():
        raise ValidationError("the account holder is required")
    kind = MandateKind(kind)
    ref = check_reference(reference) if reference else None
    if ref is not None and session.execute(select(Mandate.id).where(
            Mandate.creditor_id == settings.creditor_id, Mandate.reference == ref)).first():
        raise ValidationError(f"mandate reference {ref} is already used")
    mandate = Mandate(
        donor_id=donor_id, commitment_id=commitment_id, reference=ref or f"tmp-{utcnow().timestamp()}",
        creditor_id=settings.creditor_id, creditor_name=settings.org_name, kind=kind, iban=compact,
        bic=bic or bic_for(compact), holder=holder.strip()[:140], signed_on=signed_on,
    )
    session.add(mandate)
    session.flush()
    if ref is None:
        mandate.reference = f"DCRM-{mandate.id:09d}"
        session.add(mandate)
        session.flush()
    add_account(session, donor_id, compact, holder=mandate.holder, bic=mandate.bic, source="mandate")
    audit.record(session, "mandate.create", "sepa_mandate", mandate.id, after={
        "reference": mandate.reference, "iban": mask_iban(compact), "donor_id": donor_id})
    return mandate


def amend(session: Session, mandate_id: int, *, iban: str | None = None, reference: str | None = None,
          holder: str | None = None) -> Mandate:
    """Change the IBAN or reference; the next collection carries the original values as an amendment."""
    m = get_mandate(session, mandate_id)
    if m.status != MandateStatus.ACTIVE:
        raise InvalidState(f"mandate {m.reference} is {m.status}")
    before = {"reference": m.reference, "iban": mask_iban(m.iban)}
    if reference is not None and reference.strip() != m.reference:
        ref = check_reference(reference)
        if session.execute(select(Mandate.id).where(
                Mandate.creditor_id == m.creditor_id, Mandate.reference == ref)).first():
            raise ValidationError(f"mandate reference {ref} is already used")
        if m.original_reference is None and m.last_presented_on is not None:
            m.original_reference = m.reference
        m.reference = ref
    if iban is not None:
        compact = normalise_iban(iban)
        if compact != m.iban:
            if m.last_presented_on is not None:
                if m.original_iban is None:
                    m.original_iban = m.iban
                if _bank_of(compact) != _bank_of(m.original_iban):
                    m.amended_to_other_bank = True
            m.iban = compact
            m.bic = bic_for(compact)
            add_account(session, m.donor_id, compact, holder=holder or m.holder, bic=m.bic, source="mandate")
    if holder:
        m.holder = holder.strip()[:140]
    m.updated_at = utcnow()
    session.add(m)
    session.flush()
    audit.record(session, "mandate.amend", "sepa_mandate", m.id, before=before,
                 after={"reference": m.reference, "iban": mask_iban(m.iban)})
    return m


def cancel(session: Session, mandate_id: int, *, reason: str, on: dt.date | None = None) -> Mandate:
    m = get_mandate(session, mandate_id)
    if m.status == MandateStatus.CANCELLED:
        return m
    if m.status != MandateStatus.ACTIVE:
        raise InvalidState(f"mandate {m.reference} is {m.status}")
    return _end(session, m, MandateStatus.CANCELLED, reason, on or dt.date.today())


def _end(session: Session, m: Mandate, status: str, reason: str, on: dt.date) -> Mandate:
    m.status = status
    m.status_reason = reason[:200]
    m.ended_on = on
    m.updated_at = utcnow()
    session.add(m)
    session.flush()
    audit.record(session, f"mandate.{status}", "sepa_mandate", m.id, after={"reason": reason, "on": on})
    return m


def cancel_all_for_donor(session: Session, donor_id: int, *, reason: str, on: dt.date) -> int:
    ids = session.execute(select(Mandate.id).where(
        Mandate.donor_id == donor_id, Mandate.status == MandateStatus.ACTIVE)).scalars().all()
    for mid in ids:
        cancel(session, mid, reason=reason, on=on)
    return len(ids)


def _active_anchors(session: Session, *, anchored_from: dt.date | None = None,
                    anchored_to: dt.date | None = None) -> list[tuple[int, dt.date, dt.date | None]]:
    """Active mandates whose expiry anchor (last presented due date, else signature date) lies in a range;
    the range only narrows the read through an index, the callers decide with the exact rule."""
    anchor = expiry_anchor()
    stmt = select(Mandate.id, Mandate.signed_on, Mandate.last_presented_on).where(
        Mandate.status == MandateStatus.ACTIVE)
    if anchored_from is not None:
        stmt = stmt.where(anchor >= anchored_from)
    if anchored_to is not None:
        stmt = stmt.where(anchor <= anchored_to)
    return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def expiry_anchor():  # type: ignore[no-untyped-def]
    """The date the 36 months are counted from, in SQL (indexed as ix_sepa_mandate_anchor)."""
    return func.coalesce(Mandate.last_presented_on, Mandate.signed_on)


# add_months clips to the month's end, so an anchor up to three days past the naive bound can still
# expire by a given day (29 Feb + 36 months = 28 Feb).
_CLIP_DAYS = dt.timedelta(days=3)


def expire_unused(session: Session, on: dt.date, months: int = MANDATE_EXPIRY_MONTHS) -> int:
    """Mark expired every active mandate whose 36 months without a presented collection are over."""
    ids = [mid for mid, signed, last in _active_anchors(session, anchored_to=add_months(on, -months) + _CLIP_DAYS)
           if mandate_expires_on(signed, last, months) <= on]
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        session.execute(update(Mandate).where(Mandate.id.in_(chunk)).values(  # type: ignore[attr-defined]
            status=MandateStatus.EXPIRED, status_reason=f"no collection presented for {months} months",
            ended_on=on, updated_at=utcnow()))
    if ids:
        audit.record(session, "mandate.expire", "sepa_mandate", None, after={"count": len(ids), "on": on})
    return len(ids)


@dataclass(frozen=True)
class MandateView:
    id: int
    reference: str
    donor_id: int
    commitment_id: int | None
    holder: str
    iban: str  # masked
    bic: str | None
    kind: str
    status: str
    signed_on: dt.date
    last_presented_on: dt.date | None
    expires_on: dt.date | None
    amendment_pending: bool

    def as_dict(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items()}


def view(m: Mandate, months: int = MANDATE_EXPIRY_MONTHS) -> MandateView:
    expires = mandate_expires_on(m.signed_on, m.last_presented_on, months) if m.status == MandateStatus.ACTIVE else None
    return MandateView(
        id=m.id, reference=m.reference, donor_id=m.donor_id, commitment_id=m.commitment_id,  # type: ignore[arg-type]
        holder=m.holder, iban=mask_iban(m.iban), bic=m.bic, kind=m.kind, status=m.status, signed_on=m.signed_on,
        last_presented_on=m.last_presented_on, expires_on=expires,
        amendment_pending=bool(m.original_reference or m.original_iban or m.amended_to_other_bank),
    )


def expiring(session: Session, on: dt.date, months: int = MANDATE_EXPIRY_MONTHS) -> list[MandateView]:
    """The warning list: active mandates that expire within one month after ``on``."""
    horizon = add_months(on, 1)
    # Expiry is monotone in the anchor: anchors up to add_months(on, -months) expire by `on` already.
    candidates = _active_anchors(session, anchored_from=add_months(on, -months) + dt.timedelta(days=1),
                                 anchored_to=add_months(horizon, -months) + _CLIP_DAYS)
    ids = [mid for mid, signed, last in candidates if on < mandate_expires_on(signed, last, months) <= horizon]
    out: list[MandateView] = []
    for start in range(0, len(ids), 1000):
        rows = session.execute(select(Mandate).where(Mandate.id.in_(ids[start:start + 1000]))).scalars()  # type: ignore[attr-defined]
        out.extend(view(m, months) for m in rows)
    return sorted(out, key=lambda v: (v.expires_on or on, v.id))


def list_mandates(session: Session, *, status: str | None = None, donor_id: int | None = None,
                  limit: int = 100) -> list[MandateView]:
    q = select(Mandate).order_by(Mandate.id).limit(limit)
    if status:
        q = q.where(Mandate.status == status)
    if donor_id:
        q = q.where(Mandate.donor_id == donor_id)
    return [view(m) for m in session.execute(q).scalars()]


def active_mandate_for(session: Session, commitment_id: int) -> Mandate | None:
    return session.execute(select(Mandate).where(
        Mandate.commitment_id == commitment_id, Mandate.status == MandateStatus.ACTIVE,
    ).order_by(Mandate.id.desc())).scalars().first()  # type: ignore[union-attr]
