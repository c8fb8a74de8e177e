"""Amounts in words: German for the Zuwendungsbestätigung, Dutch for the periodic-gift agreement.

Both languages write numbers below a million as one word ("dreihundertfünfundzwanzig",
"driehonderdvijfentwintig"); larger units stand apart ("zwei Millionen", "twee miljoen").
"""

from __future__ import annotations

from donorcrm.errors import ValidationError
from donorcrm.money import Money, minor_units

_DE_UNITS = ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn",
             "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn"]
_DE_TENS = ["", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig"]


def _de_below_100(n: int) -> str:
    if n < 20:
        return _DE_UNITS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _DE_TENS[tens]
    prefix = "ein" if unit == 1 else _DE_UNITS[unit]
    return f"{prefix}und{_DE_TENS[tens]}"


def _de_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    out = ""
    if hundreds:
        out = ("ein" if hundreds == 1 else _DE_UNITS[hundreds]) + "hundert"
    if rest:
        out += _de_below_100(rest)
    return out


def german_number(n: int) -> str:
    """Cardinal number in German words, e.g. 1_234 -> "eintausendzweihundertvierunddreißig"."""
    if n < 0:
        raise ValidationError("no words for negative numbers")
    if n == 0:
        return "null"
    parts: list[str] = []
    billions, n = divmod(n, 1_000_000_000)
    millions, n = divmod(n, 1_000_000)
    thousands, rest = divmod(n, 1000)
    if billions:
        parts.append("eine Milliarde" if billions == 1 else f"{_de_below_1000(billions)} Milliarden")
    if millions:
        parts.append("eine Million" if millions == 1 else f"{_de_below_1000(millions)} Millionen")
    word = ""
    if thousands:
        word = ("ein" if thousands == 1 else _de_below_1000(thousands)) + "tausend"
    if rest:
        word += _de_below_1000(rest)
    if word:
        parts.append(word)
    return " ".join(parts)


def _cents(amount: Money) -> tuple[int, int]:
    if amount.minor < 0:
        raise ValidationError("no words for negative amounts")
    if minor_units(amount.currency) != 2:
        raise ValidationError(f"amounts in words support currencies with cents, not {amount.currency}")
    return divmod(amount.minor, 100)


def german_amount(amount: Money) -> str:
    """"dreihundertfünfzig Euro" or "zwölf Euro und fünfzig Cent", as the receipt model asks."""
    whole, cents = _cents(amount)
    unit = {"EUR": ("Euro", "Cent")}.get(amount.currency, (amount.currency, "Cent"))
    euros = "ein" if whole == 1 else german_number(whole)
    text = f"{euros} {unit[0]}"
    if cents:
        text += f" und {'ein' if cents == 1 else german_number(cents)} {unit[1]}"
    return text


_NL_UNITS = ["nul", "één", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien",
             "elf", "twaalf", "dertien", "veertien", "vijftien", "zestien", "zeventien", "achttien", "negentien"]
_NL_TENS = ["", "", "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig"]


def _nl_unit(n: int) -> str:
    return "een" if n == 1 else _NL_UNITS[n]  # no accent inside a compound: "eenentwintig", "honderdeen"


def _nl_below_100(n: int) -> str:
    if n < 20:
        return _nl_unit(n)
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _NL_TENS[tens]
    joiner = "ën" if _nl_unit(unit).endswith("e") else "en"  # tweeëntwintig, drieëntwintig
    return f"{_nl_unit(unit)}{joiner}{_NL_TENS[tens]}"


def _nl_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    out = ""
    if hundreds:
        out = ("" if hundreds == 1 else _nl_unit(hundreds)) + "honderd"
    if rest:
        out += _nl_below_100(rest)
    return out


def dutch_number(n: int) -> str:
    """Cardinal number in Dutch words; a space after duizend and around miljoen (Taalunie)."""
    if n < 0:
        raise ValidationError("no words for negative numbers")
    if n == 0:
        return "nul"
    if n == 1:
        return "één"
    parts: list[str] = []
    millions, n = divmod(n, 1_000_000)
    thousands, rest = divmod(n, 1000)
    if millions:
        parts.append(f"{'een' if millions == 1 else _nl_below_1000(millions)} miljoen")
    if thousands:
        parts.append(("" if thousands == 1 else _nl_below_1000(thousands)) + "duizend")
    if rest:
        parts.append(_nl_below_1000(rest))
    return " ".join(parts)


def dutch_amount(amount: Money) -> str:
    """"vijfhonderd euro" or "twaalf euro en vijftig cent" for "in cijfers en letters"."""
    whole, cents = _cents(amount)
    unit = {"EUR": "euro"}.get(amount.currency, amount.currency)
    text = f"{dutch_number(whole)} {unit}"
    if cents:
        text += f" en {dutch_number(cents)} cent"
    return text
