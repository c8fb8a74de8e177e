"""Settings read from the environment (prefix DONORCRM_), with defaults that run out of the box.

Rules whose legal basis changes over time are settings here rather than constants in code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DONORCRM_{name}", default)


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///donorcrm.db"
    currency: str = "EUR"
    # The charity's identity, printed on mandates, receipts and SEPA files.
    org_name: str = "Stichting Vluchtelingenhulp Demo"
    org_street: str = "Postbus 2894"
    org_postcode: str = "1000 CW"
    org_city: str = "Amsterdam"
    org_country: str = "NL"
    org_rsin: str = "002956217"
    creditor_id: str = "NL98ZZZ999999999999"
    creditor_iban: str = "NL91ABNA0417164300"
    creditor_bic: str = "ABNANL2A"
    # SEPA
    prenotification_days: int = 14
    first_as_frst: bool = False
    max_transactions_per_file: int = 0  # 0 = no cap
    failures_before_pause: int = 3
    # Tax receipts: the charity's registrations per jurisdiction (empty = not registered there, no receipts).
    org_hmrc_ref: str = ""  # HMRC charities reference (Gift Aid)
    org_ein: str = ""  # US employer identification number (501(c)(3))
    org_cra_number: str = ""  # Canada Revenue Agency registration number, e.g. 123456789RR0001
    org_de_finanzamt: str = ""  # Finanzamt that issued the Freistellungsbescheid
    org_de_steuernummer: str = ""
    org_de_notice_date: str = ""  # date of the Freistellungsbescheid, ISO yyyy-mm-dd
    org_de_assessment_period: str = ""  # letzter Veranlagungszeitraum, e.g. "2024"
    org_de_purpose: str = "der Hilfe für politisch, rassisch oder religiös Verfolgte, für Flüchtlinge"
    receipt_signatory: str = "J. de Vries, penningmeester"
    receipt_place: str = "Amsterdam"  # "place issued" on Canadian receipts
    receipt_logo: str = ""  # path to a PNG/JPG printed top left; empty = the name only
    receipt_us_all_donors: bool = True  # annual summary to every US donor, not only where the law asks
    receipt_job_date: str = "01-15"  # MM-DD on which the January job issues last year's receipts
    giftaid_basic_rate: int = 20  # percent; reclaim = gift x rate / (100 - rate)
    giftaid_small_gift_limit_minor: int = 2000  # aggregated small gifts: each at most this (pence)
    giftaid_year_end: str = "12-31"  # MM-DD end of the charity's accounting period (claim deadline)
    # Outgoing mail (receipts by e-mail)
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "giften@example.org"
    sepa_months_ahead: int = 1  # a run collects the periods of the month this many months after the run date
    sepa_pain008_version: str = "pain.008.001.02"  # or pain.008.001.08 where the bank asks for it
    sepa_retries: int = 1  # extra attempts after a retryable return (AM04, MS03)
    sepa_remittance: str = "Gift"  # remittance text; the period is appended
    sepa_prenotify_changes_only: bool = False  # skip notices when amount and day did not change
    sepa_suspicious_iban_donors: int = 3  # dry run: flag an IBAN shared by this many donors
    sepa_suspicious_amount_minor: int = 100_000  # dry run: flag single debits of this much or more
    sepa_run_day: int = 10  # day of the month the scheduler starts the collection run
    # Online giving (payments). Keys are secrets: kept out of repr() and so out of logs and tracebacks.
    stripe_api_key: str = field(default="", repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = "https://api.stripe.com"
    mollie_api_key: str = field(default="", repr=False)
    mollie_api_endpoint: str = "https://api.mollie.com"
    payments_webhook_base_url: str = ""  # public URL of the webhook app, e.g. https://giving.example.org/hooks
    webhook_tolerance_seconds: int = 300  # Stripe signature timestamp tolerance
    provider_timeout_seconds: int = 20
    # Bank reconciliation: a line is booked automatically when its best candidate scores at least
    # bank_auto_score (0-100) and no other target scores within bank_auto_margin of it.
    bank_auto_score: int = 90
    bank_auto_margin: int = 30
    # Bequests (policy, not law): overrides of the stage probabilities and durations used by the forecast,
    # as "stage=value,..." (probabilities in basis points, durations in days); closed cases needed before a
    # stage's duration is learned; days given to act on a follow-up task.
    bequest_stage_probabilities: str = ""
    bequest_stage_days: str = ""
    bequest_min_cases_to_learn: int = 5
    bequest_task_grace_days: int = 14
    # Grants: remind this many days ahead, escalate after this many days overdue; repayment term after
    # settlement; a settled subsidy may still be lowered for this many years (Awb 4:49).
    grant_reminder_days: int = 30
    grant_escalation_days: int = 14
    grant_repayment_days: int = 42
    grant_revision_years: int = 5
    # Paths
    data_dir: Path = field(default_factory=lambda: Path("."))
    session_timeout_minutes: int = 30
    # Reports: whether SYBUNT ("some year but unfortunately not this") also lists last year's donors.
    sybunt_includes_last_year: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        base = cls()
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"DONORCRM_{f.name.upper()}")
            if raw is None:
                continue
            current = getattr(base, f.name)
            if isinstance(current, bool):
                values[f.name] = _bool(raw)
            elif isinstance(current, int):
                values[f.name] = int(raw)
            elif isinstance(current, Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        return replace(base, **values)  # type: ignore[arg-type]


def get_settings() -> Settings:
    return Settings.from_env()


def database_url() -> str:
    return _env("DATABASE_URL", Settings.database_url)
