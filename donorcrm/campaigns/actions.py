"""Petition signers and e-mail action participants: imported as contacts, deduplicated against donors,
with the consent they gave; and the funnel from signature to lasting gift."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.campaigns.models import ActionParticipation, CampaignKind
from donorcrm.campaigns.service import get_campaign
from donorcrm.donors.models import ConsentEvent, ConsentStatus, Donor, DonorCreate, DonorStatus
from donorcrm.donors.service import create_donor, set_consent
from donorcrm.errors import Problem, ValidationError
from donorcrm.gifts.categories import EntryType
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import has_reversal
from donorcrm.importing import csvfile
from donorcrm.importing.rows import parse_date, parse_flag

COLUMNS = ("email", "first_name", "name_infix", "last_name", "postcode", "city", "country", "signed_at",
           "consent_email", "consent_post", "consent_phone")
REQUIRED = ("email",)
ACTION_KINDS = {CampaignKind.PETITION, CampaignKind.EMAIL_ACTION, CampaignKind.EVENT}


@dataclass
class ActionImportResult:
    participants: int = 0
    new_contacts: int = 0
    matched_donors: int = 0
    already_present: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.participants


def _find_donor(session: Session, email: str, last_name: str | None, postcode: str | None) -> Donor | None:
    live = Donor.status.in_([DonorStatus.ACTIVE, DonorStatus.DECEASED])  # type: ignore[attr-defined]
    found = session.execute(select(Donor).where(func.lower(Donor.email) == email.lower(), live)
                            .order_by(Donor.id)).scalars().first()
    if found is None and last_name and postcode:
        found = session.execute(
            select(Donor).where(func.lower(Donor.last_name) == last_name.lower(),
                                func.replace(func.upper(Donor.postcode), " ", "") == postcode.upper().replace(" ", ""),
                                live).order_by(Donor.id)).scalars().first()
    return found


def import_participants(session: Session, path: Path, campaign_code: str) -> ActionImportResult:
    """Valid rows become participations (once per person and action); new people become contacts."""
    campaign = get_campaign(session, campaign_code)
    if campaign.kind not in ACTION_KINDS:
        raise ValidationError(f"campaign {campaign_code} is a {campaign.kind}, not a petition or action")
    result = ActionImportResult()
    source = f"action {campaign_code}"
    for line, raw in csvfile.rows(path, REQUIRED, COLUMNS):
        where = f"line {line}"
        if isinstance(raw, Problem):
            result.problems.append(raw)
            continue
        data = {k: (v or "").strip() for k, v in raw.items()}
        email = data["email"]
        if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
            result.problems.append(Problem(where, f"not an e-mail address: {email!r}"))
            continue
        try:
            signed = parse_date(data["signed_at"]) if data.get("signed_at") else (campaign.starts_on or dt.date.today())
            consents = {ch: parse_flag(data.get(f"consent_{ch}", "")) for ch in ("email", "post", "phone")}
        except ValueError as exc:
            result.problems.append(Problem(where, str(exc)))
            continue
        at = dt.datetime.combine(signed, dt.time(12), tzinfo=dt.UTC)
        donor = _find_donor(session, email, data.get("last_name"), data.get("postcode"))
        new = donor is None
        if donor is None:
            donor = create_donor(session, DonorCreate(
                first_name=data.get("first_name") or None, name_infix=data.get("name_infix") or None,
                last_name=data.get("last_name") or email.split("@")[0], email=email,
                postcode=data.get("postcode") or None, city=data.get("city") or None,
                country=(data.get("country") or "NL").upper(), acquisition_campaign_id=campaign.id))
        assert donor.id is not None
        if session.execute(select(ActionParticipation.id).where(ActionParticipation.campaign_id == campaign.id,
                                                                ActionParticipation.donor_id == donor.id)).first():
            result.already_present += 1
            continue
        session.add(ActionParticipation(campaign_id=campaign.id, donor_id=donor.id, at=at, source=path.name,  # type: ignore[arg-type]
                                        new_contact=new))
        for channel, flag in consents.items():
            if flag is not None:
                set_consent(session, donor.id, channel, "fundraising", flag, at=at, source=source)
        session.flush()
        result.participants += 1
        result.new_contacts += int(new)
        result.matched_donors += int(not new)
    audit.record(session, "import.action", "campaign", campaign.id,
                 after={"file": path.name, "participants": result.participants, "new": result.new_contacts,
                        "rejected": len(result.problems)})
    return result


@dataclass(frozen=True)
class Funnel:
    campaign: str
    signers: int
    new_contacts: int
    contactable: int  # e-mail fundraising consent granted (latest event) at the time of the report
    first_gift: int  # first-ever gift within N days after signing
    still_giving: int  # of those, a gift a year or more after their first gift
    within_days: int


def funnel(session: Session, campaign_code: str, within_days: int = 90, now: dt.datetime | None = None) -> Funnel:
    """Signers → contactable → first gift within N days → still giving after a year, in SQL."""
    campaign = get_campaign(session, campaign_code)
    now = now or dt.datetime.now(dt.UTC)
    part = select(ActionParticipation.donor_id, ActionParticipation.at, ActionParticipation.new_contact) \
        .where(ActionParticipation.campaign_id == campaign.id).subquery()
    signers, new = session.execute(
        select(func.count(), func.count().filter(part.c.new_contact.is_(True)))
        .select_from(part)).one()

    latest = (select(ConsentEvent.donor_id, func.max(ConsentEvent.at).label("at"))
              .where(ConsentEvent.channel == "email", ConsentEvent.purpose == "fundraising", ConsentEvent.at <= now)
              .group_by(ConsentEvent.donor_id).subquery())
    ev = aliased(ConsentEvent)
    contactable = session.execute(
        select(func.count(func.distinct(part.c.donor_id))).select_from(part)
        .join(latest, latest.c.donor_id == part.c.donor_id)
        .join(ev, (ev.donor_id == latest.c.donor_id) & (ev.at == latest.c.at) & (ev.channel == "email")
              & (ev.purpose == "fundraising"))
        .where(ev.status == ConsentStatus.GRANTED)).scalar_one()

    spans = session.execute(
        select(part.c.at, func.min(Gift.received_on), func.max(Gift.received_on))
        .select_from(part).join(Gift, Gift.donor_id == part.c.donor_id)
        .where(Gift.entry_type == EntryType.GIFT, ~has_reversal())
        .group_by(part.c.donor_id, part.c.at)
    ).all()
    converted = still = 0
    for at, first, last in spans:
        if at.date() <= first <= at.date() + dt.timedelta(days=within_days):
            converted += 1
            still += int(last >= first + dt.timedelta(days=365))
    return Funnel(campaign.code, int(signers), int(new), int(contactable), converted, still, within_days)
