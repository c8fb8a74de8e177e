"""Builders shared by the receipt integration tests: settings with every registration, donors and gifts."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace

from pypdf import PdfReader
from sqlmodel import Session

from donorcrm.config import Settings
from donorcrm.donors.models import DonorCreate
from donorcrm.donors.service import create_donor
from donorcrm.gifts.service import record_gift
from donorcrm.money import Money

SETTINGS = replace(
    Settings(), org_rsin="002956217", org_hmrc_ref="XR12345", org_ein="12-3456789", org_cra_number="123456789RR0001",
    org_de_finanzamt="Berlin für Körperschaften I", org_de_steuernummer="27/640/12345",
    org_de_notice_date="2024-03-01", org_de_assessment_period="2022", receipt_place="Amsterdam",
)

ADDRESSES = {
    "NL": dict(street="Dorpsstraat", house_number="12", postcode="3512 AB", city="Utrecht", language="nl"),
    "GB": dict(street="Baker Street", house_number="221B", postcode="NW1 6XE", city="London", language="en"),
    "US": dict(street="Elm Street", house_number="5", postcode="10001", city="New York", language="en"),
    "CA": dict(street="King St W", house_number="100", postcode="M5X 1A9", city="Toronto", language="en"),
    "DE": dict(street="Hauptstraße", house_number="3", postcode="10115", city="Berlin", language="de"),
}
CURRENCY = {"NL": "EUR", "GB": "GBP", "US": "USD", "CA": "CAD", "DE": "EUR"}


def donor(session: Session, country: str = "NL", **kw: object) -> int:
    data: dict = dict(first_name="Anna", last_name="Jansen", country=country, email=None,
                      birth_date=dt.date(1970, 5, 1), **ADDRESSES[country])
    data.update(kw)
    return create_donor(session, DonorCreate(**data)).id  # type: ignore[return-value]


def gift(session: Session, donor_id: int, minor: int, on: dt.date, currency: str = "EUR", **kw: object) -> int:
    kw.setdefault("channel", "bank_transfer")
    kw.setdefault("category", "individual_one_off")
    return record_gift(session, donor_id=donor_id, amount=Money(minor, currency), received_on=on,  # type: ignore[arg-type]
                       **kw).id


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split())  # wrapped lines read as one


def pdf_pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)
