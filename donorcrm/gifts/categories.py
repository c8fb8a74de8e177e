"""Income categories of the annual accounts (Dutch RJ 650 order) and payment channels."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class IncomeCategory(StrEnum):
    INDIVIDUAL_ONE_OFF = "individual_one_off"
    INDIVIDUAL_RECURRING = "individual_recurring"
    INDIVIDUAL_BEQUEST = "individual_bequest"
    INDIVIDUAL_CROWDFUNDING = "individual_crowdfunding"
    COMPANY = "company"
    LOTTERY = "lottery"
    GOVERNMENT = "government"
    AFFILIATED_NONPROFIT = "affiliated_nonprofit"
    OTHER_NONPROFIT = "other_nonprofit"


class PaymentChannel(StrEnum):
    SEPA_DD = "sepa_dd"
    IDEAL = "ideal"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    PAYPAL = "paypal"
    OTHER = "other"


class EntryType(StrEnum):
    GIFT = "gift"
    REFUND = "refund"  # asked by the donor (SEPA MD06, provider refund)
    CHARGEBACK = "chargeback"  # card dispute
    RETURN = "return"  # SEPA return or reject
    CORRECTION = "correction"  # booked in error


REVERSAL_TYPES = frozenset({EntryType.REFUND, EntryType.CHARGEBACK, EntryType.RETURN, EntryType.CORRECTION})


@dataclass(frozen=True)
class AccountsLine:
    """One line of "Geworven baten" in the statement of income and expenditure."""

    order: int
    key: str
    english: str
    dutch: str


ACCOUNTS_LINES: tuple[AccountsLine, ...] = (
    AccountsLine(1, "individuals", "Income from individuals", "Baten van particulieren"),
    AccountsLine(2, "companies", "Income from companies", "Baten van bedrijven"),
    AccountsLine(3, "lottery", "Income from lottery organisations", "Baten van loterijorganisaties"),
    AccountsLine(4, "government", "Government subsidies", "Baten van subsidies van overheden"),
    AccountsLine(
        5, "affiliated_nonprofits", "Income from affiliated non-profits",
        "Baten van verbonden organisaties zonder winststreven",
    ),
    AccountsLine(
        6, "other_nonprofits", "Income from other non-profits",
        "Baten van andere organisaties zonder winststreven",
    ),
)

TOTAL_LABEL = ("Total raised income", "Som van de geworven baten")

_LINE_OF: dict[IncomeCategory, str] = {
    IncomeCategory.INDIVIDUAL_ONE_OFF: "individuals",
    IncomeCategory.INDIVIDUAL_RECURRING: "individuals",
    IncomeCategory.INDIVIDUAL_BEQUEST: "individuals",
    IncomeCategory.INDIVIDUAL_CROWDFUNDING: "individuals",
    IncomeCategory.COMPANY: "companies",
    IncomeCategory.LOTTERY: "lottery",
    IncomeCategory.GOVERNMENT: "government",
    IncomeCategory.AFFILIATED_NONPROFIT: "affiliated_nonprofits",
    IncomeCategory.OTHER_NONPROFIT: "other_nonprofits",
}

CATEGORY_LABELS: dict[IncomeCategory, tuple[str, str]] = {
    IncomeCategory.INDIVIDUAL_ONE_OFF: ("Individuals: one-off gifts", "Particulieren: eenmalige giften"),
    IncomeCategory.INDIVIDUAL_RECURRING: ("Individuals: recurring gifts", "Particulieren: periodieke/structurele giften"),
    IncomeCategory.INDIVIDUAL_BEQUEST: ("Individuals: bequests", "Particulieren: nalatenschappen"),
    IncomeCategory.INDIVIDUAL_CROWDFUNDING: ("Individuals: crowdfunding", "Particulieren: crowdfunding"),
    IncomeCategory.COMPANY: ("Companies", "Bedrijven"),
    IncomeCategory.LOTTERY: ("Lottery organisations", "Loterijorganisaties"),
    IncomeCategory.GOVERNMENT: ("Government subsidies", "Subsidies van overheden"),
    IncomeCategory.AFFILIATED_NONPROFIT: ("Affiliated non-profits", "Verbonden organisaties zonder winststreven"),
    IncomeCategory.OTHER_NONPROFIT: ("Other non-profits", "Andere organisaties zonder winststreven"),
}


def accounts_line(category: IncomeCategory | str) -> AccountsLine:
    key = _LINE_OF[IncomeCategory(category)]
    return next(line for line in ACCOUNTS_LINES if line.key == key)


def is_individual(category: IncomeCategory | str) -> bool:
    return _LINE_OF[IncomeCategory(category)] == "individuals"


def parse_category(text: str) -> IncomeCategory:
    """Accept the enum value, or a line key such as "lottery"; anything else is an error."""
    value = text.strip().lower().replace("-", "_").replace(" ", "_")
    aliases = {
        "individuals": IncomeCategory.INDIVIDUAL_ONE_OFF,
        "one_off": IncomeCategory.INDIVIDUAL_ONE_OFF,
        "recurring": IncomeCategory.INDIVIDUAL_RECURRING,
        "bequest": IncomeCategory.INDIVIDUAL_BEQUEST,
        "crowdfunding": IncomeCategory.INDIVIDUAL_CROWDFUNDING,
        "companies": IncomeCategory.COMPANY,
        "lottery_organisations": IncomeCategory.LOTTERY,
        "affiliated_nonprofits": IncomeCategory.AFFILIATED_NONPROFIT,
        "other_nonprofits": IncomeCategory.OTHER_NONPROFIT,
    }
    if value in aliases:
        return aliases[value]
    return IncomeCategory(value)
