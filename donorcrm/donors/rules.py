"""Pure rules about donors: consent state, who may be contacted, what erasure leaves behind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from donorcrm.donors.models import ConsentStatus, DonorStatus


@dataclass(frozen=True, slots=True)
class ConsentFact:
    channel: str
    purpose: str
    status: str
    at: dt.datetime


def consent_state(events: Iterable[ConsentFact], channel: str, purpose: str, now: dt.datetime) -> bool:
    """Granted if the latest event for this channel and purpose at or before `now` is a grant."""
    latest: ConsentFact | None = None
    for e in events:
        if e.channel != channel or e.purpose != purpose or e.at > now:
            continue
        if latest is None or e.at >= latest.at:
            latest = e
    return latest is not None and latest.status == ConsentStatus.GRANTED


CONTACTABLE_STATUSES = frozenset({DonorStatus.ACTIVE})

# Fields that identify a person; erasure clears them. Country and language stay: they say which
# receipt rules applied, and are not enough to identify anyone.
PERSONAL_FIELDS = (
    "salutation", "initials", "first_name", "name_infix", "last_name", "organisation_name", "street",
    "house_number", "postcode", "city", "email", "phone", "birth_date", "reference",
)


def erased_values(donor_id: int) -> dict[str, object]:
    values: dict[str, object] = dict.fromkeys(PERSONAL_FIELDS)
    values["last_name"] = f"Erased donor {donor_id}"
    return values
