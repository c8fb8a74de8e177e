"""Exact money: integer minor units plus an ISO 4217 currency.

Floats never enter: parsing goes through Decimal with an explicit locale,
and arithmetic refuses to mix currencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum

from donorcrm.errors import MoneyError

# Minor-unit exponents of the currencies a charity meets; ISO 4217.
MINOR_UNITS: dict[str, int] = {
    "EUR": 2, "GBP": 2, "USD": 2, "CAD": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2,
    "PLN": 2, "CZK": 2, "HUF": 2, "AUD": 2, "NZD": 2, "JPY": 0, "ISK": 0, "KRW": 0,
    "BHD": 3, "KWD": 3, "JOD": 3,
}


class Locale(StrEnum):
    """Which characters separate decimals and thousands in the text being parsed."""

    NL = "nl"  # 1.234,56  (also de, fr, es, it)
    EN = "en"  # 1,234.56  (also en-GB, en-US, en-CA)
    PLAIN = "plain"  # 1234.56, no grouping: machine formats (Mollie, camt, CSV exports)


_SEPARATORS = {Locale.NL: (",", "."), Locale.EN: (".", ","), Locale.PLAIN: (".", None)}


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}") from None


def _check_currency(currency: str) -> str:
    if currency in MINOR_UNITS:  # fast path: every known code is valid (Money is built millions of times)
        return currency
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise MoneyError(f"currency must be a 3-letter ISO code, got {currency!r}")
    minor_units(currency)
    return currency


_ZEROS: dict[str, Money] = {}


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in minor units (cents) of one currency."""

    minor: int
    currency: str = "EUR"

    def __post_init__(self) -> None:
        # Exact-type and known-code fast paths first: a receipt run builds tens of Money per donor.
        if type(self.minor) is not int and (isinstance(self.minor, bool) or not isinstance(self.minor, int)):
            raise MoneyError(f"minor units must be an int, got {type(self.minor).__name__}")
        if self.currency not in MINOR_UNITS:
            _check_currency(self.currency)

    # --- construction -------------------------------------------------------
    @classmethod
    def zero(cls, currency: str = "EUR") -> Money:
        """Zero of a currency; Money is immutable, so one instance per currency serves every caller."""
        if cls is not Money or not isinstance(currency, str):
            return cls(0, currency)
        found = _ZEROS.get(currency)
        if found is None:
            found = _ZEROS[currency] = cls(0, currency)
        return found

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str = "EUR") -> Money:
        """From a decimal amount in major units; refuses sub-minor precision instead of rounding it away."""
        if isinstance(value, float):
            raise MoneyError("floats are not accepted for money; pass a Decimal or a string")
        try:
            dec = Decimal(value)
        except (InvalidOperation, ValueError):
            raise MoneyError(f"not an amount: {value!r}") from None
        if not dec.is_finite():
            raise MoneyError(f"not an amount: {value!r}")
        exp = minor_units(_check_currency(currency))
        scaled = dec.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{value} has more than {exp} decimals for {currency}")
        return cls(int(scaled), currency)

    @classmethod
    def parse(cls, text: str, currency: str = "EUR", locale: Locale | str = Locale.PLAIN) -> Money:
        """Parse human or machine text such as "1.234,56" (nl), "1,234.56" (en) or "1234.56" (plain).

        Grouping separators must sit every three digits; anything else is an error rather than a guess,
        so "12.50" read as Dutch is refused instead of becoming 1250 euro.
        """
        loc = Locale(locale)
        decimal_sep, group_sep = _SEPARATORS[loc]
        raw = text.strip() if isinstance(text, str) else None
        if not raw:
            raise MoneyError(f"empty amount {text!r}")
        for symbol in ("€", "£", "$", currency):
            raw = raw.replace(symbol, "")
        raw = raw.replace("\u00a0", "").replace(" ", "")
        sign = ""
        if raw[:1] in "+-":
            sign, raw = ("-" if raw[0] == "-" else ""), raw[1:]
        digits = r"\d+"
        if group_sep:
            digits = r"(?:\d{1,3}(?:" + re.escape(group_sep) + r"\d{3})+|\d+)"
        pattern = digits + r"(?:" + re.escape(decimal_sep) + r"(\d+))?"
        if not re.fullmatch(pattern, raw):
            raise MoneyError(f"cannot read {text!r} as an amount in {loc.value} notation")
        if group_sep:
            raw = raw.replace(group_sep, "")
        raw = raw.replace(decimal_sep, ".")
        return cls.from_decimal(sign + raw, currency)

    # --- views --------------------------------------------------------------
    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_units(self.currency))

    def to_string(self) -> str:
        """Plain machine form with the currency's decimals, e.g. "1234.50" (what Mollie and XML want)."""
        exp = minor_units(self.currency)
        return f"{self.decimal:.{exp}f}"

    def format(self, locale: Locale | str = Locale.NL, symbol: bool = True) -> str:
        """Human form: "€ 1.234,56" (nl) or "€1,234.56" (en)."""
        loc = Locale(locale)
        exp = minor_units(self.currency)
        body = f"{abs(self.decimal):,.{exp}f}"  # en grouping
        if loc is Locale.NL:
            body = body.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        elif loc is Locale.PLAIN:
            body = body.replace(",", "")
        sign = "-" if self.minor < 0 else ""
        if not symbol:
            return sign + body
        sym = {"EUR": "€", "GBP": "£", "USD": "$", "CAD": "CA$"}.get(self.currency, self.currency)
        if loc is Locale.NL:
            return f"{sign}{sym} {body}"
        return f"{sign}{sym}{body}"

    def __str__(self) -> str:
        return f"{self.currency} {self.to_string()}"

    # --- arithmetic ---------------------------------------------------------
    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __radd__(self, other: object) -> Money:
        if other == 0:  # lets sum() start from 0
            return self
        return self.__add__(other)  # type: ignore[arg-type]

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise MoneyError("money multiplies by integers only; use allocate() or scale() for fractions")
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def scale(self, ratio: Decimal | str, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Multiply by an exact ratio (e.g. Gift Aid's 25/100) rounding to whole minor units."""
        value = (Decimal(self.minor) * Decimal(ratio)).quantize(Decimal(1), rounding=rounding)
        return Money(int(value), self.currency)

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split into parts proportional to integer weights; the parts always add up to the whole."""
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise MoneyError("allocate needs non-negative weights with a positive total")
        total = sum(weights)
        parts = [self.minor * w // total for w in weights]
        remainder = self.minor - sum(parts)
        for i in range(abs(remainder)):
            parts[i % len(parts)] += 1 if remainder > 0 else -1
        return [Money(p, self.currency) for p in parts]

    def _cmp(self, other: Money) -> tuple[int, int]:
        return self.minor, self._same(other).minor

    def __lt__(self, other: Money) -> bool:
        a, b = self._cmp(other)
        return a < b

    def __le__(self, other: Money) -> bool:
        a, b = self._cmp(other)
        return a <= b

    def __gt__(self, other: Money) -> bool:
        a, b = self._cmp(other)
        return a > b

    def __ge__(self, other: Money) -> bool:
        a, b = self._cmp(other)
        return a >= b

    def __bool__(self) -> bool:
        return self.minor != 0

    @property
    def is_positive(self) -> bool:
        return self.minor > 0


def total(amounts: list[Money] | tuple[Money, ...], currency: str = "EUR") -> Money:
    """Sum that also works for an empty list; refuses other currencies like Money + Money does."""
    minor = 0
    for a in amounts:
        if not isinstance(a, Money):
            raise MoneyError(f"cannot combine Money with {type(a).__name__}")
        if a.currency != currency:
            raise MoneyError(f"cannot mix {currency} and {a.currency}")
        minor += a.minor
    return Money(minor, currency)
