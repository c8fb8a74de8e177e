"""Getting receipts to donors: e-mail with the PDF for donors who agreed to receive them that way,
one merged print file for everyone else. Status per receipt; failed e-mails are retried."""

from __future__ import annotations

import datetime as dt
import io
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from sqlalchemy import exists, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm.config import Settings, get_settings
from donorcrm.db import session_scope, utcnow
from donorcrm.donors.models import Channel, Purpose
from donorcrm.donors.service import contactable_query
from donorcrm.receipts.models import (
    DeliveryChannel,
    DeliveryStatus,
    Receipt,
    ReceiptDelivery,
    ReceiptPdf,
    ReceiptStatus,
)

MAX_ATTEMPTS = 3

SUBJECTS = {
    "nl": "Uw jaaroverzicht giften {year} van {org}",
    "en": "Your {year} giving statement from {org}",
    "de": "Ihre Zuwendungsbestätigung {year} von {org}",
}
BODIES = {
    "nl": "Beste {name},\n\nHierbij ontvangt u het overzicht van uw giften in {year} voor uw belastingaangifte.\n"
          "Hartelijk dank voor uw steun.\n\n{org}\n",
    "en": "Dear {name},\n\nAttached is the statement of your gifts in {year} for your tax return.\n"
          "Thank you for your support.\n\n{org}\n",
    "de": "Guten Tag {name},\n\nanbei erhalten Sie die Zuwendungsbestätigung für Ihre Zuwendungen im Jahr {year}.\n"
          "Herzlichen Dank für Ihre Unterstützung.\n\n{org}\n",
}


def plan(session: Session, receipt_ids: Sequence[int] | None = None, *, year: int | None = None) -> dict[str, int]:
    """Give each live receipt without a delivery one: e-mail with consent and an address, else print."""
    stmt = select(Receipt.id, Receipt.donor_id, Receipt.donor_snapshot).where(
        Receipt.status == ReceiptStatus.ISSUED,
        # NOT EXISTS, not NOT IN: PostgreSQL cannot turn NOT IN into an anti-join and rescans every delivery
        # per receipt once the deliveries outgrow work_mem.
        ~exists().where(ReceiptDelivery.receipt_id == Receipt.id))
    if receipt_ids is not None:
        stmt = stmt.where(Receipt.id.in_(receipt_ids))  # type: ignore[union-attr]
    if year is not None:
        stmt = stmt.where(Receipt.year == year)
    rows = session.execute(stmt).all()
    if not rows:
        return {"email": 0, "print": 0}
    may_email = set(session.execute(contactable_query(Channel.EMAIL, Purpose.RECEIPTS)).scalars())
    values = []
    for rid, donor_id, snap in rows:
        email = (snap or {}).get("email") or ""
        channel = DeliveryChannel.EMAIL if donor_id in may_email and email else DeliveryChannel.PRINT
        values.append({"receipt_id": rid, "channel": channel, "address": email if channel == "email" else "",
                       "status": DeliveryStatus.PENDING, "attempts": 0})
    for start in range(0, len(values), 10_000):
        session.execute(insert(ReceiptDelivery), values[start:start + 10_000])
    return {"email": sum(v["channel"] == "email" for v in values), "print": sum(v["channel"] == "print" for v in values)}


def message_for(receipt: Receipt, pdf: bytes, to: str, settings: Settings) -> EmailMessage:
    lang = receipt.language if receipt.language in SUBJECTS else "en"
    if receipt.jurisdiction == "DE":
        lang = "de"
    name = (receipt.donor_snapshot or {}).get("name", "")
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = SUBJECTS[lang].format(year=receipt.year, org=settings.org_name)
    msg.set_content(BODIES[lang].format(name=name, year=receipt.year, org=settings.org_name))
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{receipt.number}.pdf")
    return msg


Connect = Callable[[Settings], smtplib.SMTP]


def smtp_connect(settings: Settings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    if settings.smtp_starttls:
        smtp.starttls()
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password)
    return smtp


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0


def send_emails(engine: Engine, *, settings: Settings | None = None, max_attempts: int = MAX_ATTEMPTS,
                batch: int = 200, connect: Connect = smtp_connect) -> SendResult:
    """Send pending and failed e-mails (up to max_attempts each); each outcome is committed as it happens."""
    settings = settings or get_settings()
    result = SendResult()
    smtp: smtplib.SMTP | None = None
    tried: set[int] = set()
    try:
        while True:
            with session_scope(engine) as s:
                rows = s.execute(
                    select(ReceiptDelivery, Receipt, ReceiptPdf)
                    .join(Receipt, Receipt.id == ReceiptDelivery.receipt_id)  # type: ignore[arg-type]
                    .join(ReceiptPdf, ReceiptPdf.receipt_id == Receipt.id)  # type: ignore[arg-type]
                    .where(ReceiptDelivery.channel == DeliveryChannel.EMAIL,
                           ReceiptDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.FAILED]),  # type: ignore[attr-defined]
                           ReceiptDelivery.attempts < max_attempts,
                           ~ReceiptDelivery.id.in_(tried or {0}))  # type: ignore[union-attr]
                    .order_by(ReceiptDelivery.id).limit(batch)  # type: ignore[arg-type]
                ).all()
                if not rows:
                    return result
                for delivery, receipt, pdf in rows:
                    tried.add(delivery.id)
                    delivery.attempts += 1
                    try:
                        if smtp is None:
                            smtp = connect(settings)
                        smtp.send_message(message_for(receipt, pdf.data, delivery.address, settings))
                        delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, utcnow(), None
                        result.sent += 1
                    except (OSError, smtplib.SMTPException) as exc:
                        delivery.status, delivery.last_error = DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}"[:500]
                        result.failed += 1
                        smtp = _drop(smtp)
                    s.add(delivery)
                    s.commit()
    finally:
        _drop(smtp)


def _drop(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return None


def write_print_file(engine: Engine, out_dir: Path, *, year: int | None = None,
                     now: dt.datetime | None = None) -> tuple[Path | None, int]:
    """Merge every pending print receipt into one PDF (sorted by postcode for the mail house); mark them sent."""
    now = now or utcnow()
    with session_scope(engine) as s:
        stmt = (select(ReceiptDelivery, Receipt, ReceiptPdf)
                .join(Receipt, Receipt.id == ReceiptDelivery.receipt_id)  # type: ignore[arg-type]
                .join(ReceiptPdf, ReceiptPdf.receipt_id == Receipt.id)  # type: ignore[arg-type]
                .where(ReceiptDelivery.channel == DeliveryChannel.PRINT,
                       ReceiptDelivery.status == DeliveryStatus.PENDING))
        if year is not None:
            stmt = stmt.where(Receipt.year == year)
        rows = s.execute(stmt).all()
        if not rows:
            return None, 0
        rows.sort(key=lambda r: ((r[1].donor_snapshot or {}).get("postcode") or "", r[1].number))
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"receipts-print-{now:%Y%m%d-%H%M%S}.pdf"
        writer = PdfWriter()
        for _, _, pdf in rows:
            writer.append(PdfReader(io.BytesIO(pdf.data)))
        with path.open("wb") as fh:
            writer.write(fh)
        for delivery, _, _ in rows:
            delivery.status, delivery.sent_at, delivery.print_file, delivery.attempts = (
                DeliveryStatus.SENT, now, path.name, delivery.attempts + 1)
            s.add(delivery)
        return path, len(rows)


def delivery_counts(session: Session, year: int | None = None) -> dict[str, int]:
    from sqlalchemy import func

    stmt = (select(ReceiptDelivery.channel, ReceiptDelivery.status, func.count())
            .join(Receipt, Receipt.id == ReceiptDelivery.receipt_id)  # type: ignore[arg-type]
            .group_by(ReceiptDelivery.channel, ReceiptDelivery.status))
    if year is not None:
        stmt = stmt.where(Receipt.year == year)
    return {f"{c}:{st}": n for c, st, n in session.execute(stmt).all()}
