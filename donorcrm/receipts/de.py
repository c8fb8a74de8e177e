"""Germany: Zuwendungsbestätigung (one gift) and Sammelbestätigung (a period, with its annex).

The wording follows the official model (BMF) for Geldzuwendungen to a body exempt under § 5 Abs. 1
Nr. 9 KStG; its text and order must not change. The amount appears in digits and in words.
"""

from __future__ import annotations

from donorcrm.money import Money
from donorcrm.receipts.common import (
    Charity,
    DonorInfo,
    Draft,
    Jurisdiction,
    LedgerGift,
    Line,
    ReceiptKind,
    year_gifts,
)
from donorcrm.receipts.words import german_amount

SIMPLIFIED_PROOF_LIMIT = Money(30_000, "EUR")  # up to EUR 300 a bank statement suffices

TITLE_SINGLE = (
    "Bestätigung über Geldzuwendungen/Mitgliedsbeitrag im Sinne des § 10b des Einkommensteuergesetzes an eine der "
    "in § 5 Abs. 1 Nr. 9 des Körperschaftsteuergesetzes bezeichneten Körperschaften, Personenvereinigungen oder "
    "Vermögensmassen"
)
TITLE_COLLECTIVE = (
    "Sammelbestätigung über Geldzuwendungen/Mitgliedsbeiträge im Sinne des § 10b des Einkommensteuergesetzes an "
    "eine der in § 5 Abs. 1 Nr. 9 des Körperschaftsteuergesetzes bezeichneten Körperschaften, "
    "Personenvereinigungen oder Vermögensmassen"
)
NO_OTHER_CONFIRMATIONS = (
    "Es wird bestätigt, dass über die in der Gesamtsumme enthaltenen Zuwendungen keine weiteren Bestätigungen, "
    "weder formelle Zuwendungsbestätigungen noch Beitragsquittungen oder ähnliches ausgestellt wurden und werden."
)
WAIVER_SEE_ANNEX = (
    "Ob es sich um den Verzicht auf Erstattung von Aufwendungen handelt, ist der Anlage zur Sammelbestätigung "
    "zu entnehmen."
)
LIABILITY_NOTICE = (
    "Hinweis: Wer vorsätzlich oder grob fahrlässig eine unrichtige Zuwendungsbestätigung erstellt oder veranlasst, "
    "dass Zuwendungen nicht zu den in der Zuwendungsbestätigung angegebenen steuerbegünstigten Zwecken verwendet "
    "werden, haftet für die entgangene Steuer (§ 10b Abs. 4 EStG, § 9 Abs. 3 KStG, § 9 Nr. 5 GewStG). Diese "
    "Bestätigung wird nicht als Nachweis für die steuerliche Berücksichtigung der Zuwendung anerkannt, wenn das "
    "Datum des Freistellungsbescheides länger als 5 Jahre bzw. das Datum der Feststellung der Einhaltung der "
    "satzungsmäßigen Voraussetzungen nach § 60a Abs. 1 AO länger als 3 Jahre seit Ausstellung des Bescheides "
    "zurückliegt (§ 63 Abs. 5 AO)."
)
KIND = "Geldzuwendung"


def bank_statement_suffices(amount: Money) -> bool:
    """Gifts up to EUR 300 may be proven to the tax office by the bank statement alone (§ 50 Abs. 4 EStDV)."""
    return amount <= SIMPLIFIED_PROOF_LIMIT


def exemption_text(charity: Charity) -> str:
    return (
        f"Wir sind wegen Förderung {charity.de_purpose} nach dem Freistellungsbescheid bzw. nach der Anlage zum "
        f"Körperschaftsteuerbescheid des Finanzamtes {charity.de_finanzamt}, StNr. {charity.de_steuernummer}, vom "
        f"{german_date(charity.de_notice_date)} für den letzten Veranlagungszeitraum "
        f"{charity.de_assessment_period} nach § 5 Abs. 1 Nr. 9 des Körperschaftsteuergesetzes von der "
        f"Körperschaftsteuer und nach § 3 Nr. 6 des Gewerbesteuergesetzes von der Gewerbesteuer befreit."
    )


def use_text(charity: Charity) -> str:
    return f"Es wird bestätigt, dass die Zuwendung nur zur Förderung {charity.de_purpose} verwendet wird."


def german_date(iso: str) -> str:
    if len(iso) == 10 and iso[4] == "-":
        return f"{iso[8:10]}.{iso[5:7]}.{iso[0:4]}"
    return iso


def confirmation(donor: DonorInfo, year: int, gifts: list[LedgerGift], charity: Charity) -> Draft | None:
    """Einzelbestätigung for one gift in the year, Sammelbestätigung with annex for several."""
    rows = year_gifts(gifts, year, "EUR")
    if not rows:
        return None
    lines = tuple(
        Line(gift_id=g.id, on=g.received_on, amount=g.amount, eligible=g.amount, advantage=Money.zero("EUR"),
             description=KIND, group="waiver" if g.expense_waiver else "no_waiver",
             note="ja" if g.expense_waiver else "nein")
        for g in rows
    )
    amount = sum((ln.amount for ln in lines), Money.zero("EUR"))
    single = len(lines) == 1
    figures = {
        "amount_words": german_amount(amount),
        "period": f"01.01.{year} – 31.12.{year}",
        "date_of_gift": lines[0].on.strftime("%d.%m.%Y") if single else "",
        "waiver": ("Ja" if rows[0].expense_waiver else "Nein") if single else "",
        "exemption": exemption_text(charity),
        "use": use_text(charity),
    }
    kind = ReceiptKind.DE_SINGLE if single else ReceiptKind.DE_COLLECTIVE
    return Draft(jurisdiction=Jurisdiction.DE, kind=kind, year=year, donor=donor, currency="EUR",
                 lines=lines, language="de", figures=figures)


def annex_total_matches(draft: Draft) -> bool:
    """The annex of a Sammelbestätigung must add up to the amount confirmed."""
    return sum(ln.amount.minor for ln in draft.lines) == draft.total.minor
