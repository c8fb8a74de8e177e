"""Bequests: legacy pledges of living donors, legacy cases from the notice of death to the final
distribution, their recognition as income (RJ 650), the income forecast, follow-up tasks and the
"possible legacy?" check opened when a donor dies.

Owns the bequest_* tables. Distributions are ordinary ledger gifts (category individual_bequest) whose
bequest_id is the case id.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session


def _on_donor_death(session: Session, donor_id: int, on: dt.date | None, source: str) -> None:
    from donorcrm.bequests.service import on_donor_death

    on_donor_death(session, donor_id, on, source)


def _before_donor_merge(session: Session, survivor_id: int, duplicate_id: int) -> None:
    from donorcrm.bequests.service import before_donor_merge

    before_donor_merge(session, survivor_id, duplicate_id)


def register() -> None:
    """Hook the bequests package into the donor services (idempotent; called by donorcrm.plugins)."""
    from donorcrm.donors import service as donors

    if _on_donor_death not in donors.death_hooks:
        donors.death_hooks.append(_on_donor_death)
    if _before_donor_merge not in donors.before_merge_hooks:
        donors.before_merge_hooks.append(_before_donor_merge)

