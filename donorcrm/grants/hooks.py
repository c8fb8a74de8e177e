"""How grants react to donor events: a merge of two funders is refused, an erasure scrubs contact details."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from donorcrm.errors import InvalidState
from donorcrm.grants.models import Funder


def before_donor_merge(session: Session, survivor_id: int, duplicate_id: int) -> None:
    """Funder rows are one per donor; two funders must not silently fold into one."""
    funders = session.execute(select(Funder.code).where(Funder.donor_id.in_([survivor_id, duplicate_id]))  # type: ignore[attr-defined]
                              ).scalars().all()
    if len(funders) > 1:
        raise InvalidState(f"donors {survivor_id} and {duplicate_id} are both funders ({', '.join(funders)}); "
                           "move the grants to one funder first")


def on_donor_erased(session: Session, donor_id: int) -> None:
    """The funder's contact person is personal data; the funder itself (an organisation) stays."""
    for funder in session.execute(select(Funder).where(Funder.donor_id == donor_id)).scalars():
        funder.contact_name = None
        funder.contact_email = None
        session.add(funder)


def register() -> None:
    """Hook grants into the donor services (idempotent; called by donorcrm.plugins)."""
    from donorcrm.donors import service as donors

    if before_donor_merge not in donors.before_merge_hooks:
        donors.before_merge_hooks.append(before_donor_merge)
    if on_donor_erased not in donors.erasure_hooks:
        donors.erasure_hooks.append(on_donor_erased)
