"""The Dutch periodic-gift agreement document from the stored agreement, its commitment and donor."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from donorcrm.commitments.models import Commitment, PeriodicAgreement
from donorcrm.config import Settings, get_settings
from donorcrm.donors.models import Donor
from donorcrm.errors import NotFound
from donorcrm.receipts import nl, pdf
from donorcrm.receipts.common import Charity
from donorcrm.receipts.service import agreement_value, donor_info


def agreement_document(session: Session, transaction_number: str,
                       settings: Settings | None = None) -> nl.AgreementDocument:
    row = session.execute(
        select(PeriodicAgreement, Donor)
        .join(Commitment, Commitment.id == PeriodicAgreement.commitment_id)  # type: ignore[arg-type]
        .join(Donor, Donor.id == Commitment.donor_id)  # type: ignore[arg-type]
        .where(PeriodicAgreement.transaction_number == transaction_number)
    ).first()
    if row is None:
        raise NotFound(f"no periodic-gift agreement {transaction_number}")
    agreement, donor = row
    return nl.agreement_document(agreement_value(agreement), donor_info(donor),
                                 Charity.from_settings(settings or get_settings()))


def agreement_pdf(session: Session, transaction_number: str,
                  settings: Settings | None = None) -> tuple[bytes, list[str]]:
    """The document ready to sign, and the fields still empty (an agreement with gaps must not be signed)."""
    doc = agreement_document(session, transaction_number, settings)
    return pdf.render_agreement(doc), doc.missing()
