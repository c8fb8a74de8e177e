"""Synthetic Dutch identities: names, addresses, postcodes, e-mail addresses and IBANs.

Word lists come from Faker's nl_NL providers, sampled directly (a Faker call per donor would be far too slow
for a million donors). E-mail addresses use the reserved example.* domains so a demo can never mail a real
person.
"""

from __future__ import annotations

import random
import unicodedata
from functools import lru_cache

from faker.providers.address import nl_NL as _address
from faker.providers.person import nl_NL as _person

INFIXES: tuple[tuple[str, int], ...] = (
    ("van", 30), ("de", 25), ("van der", 14), ("van den", 10), ("van de", 8), ("den", 3), ("ter", 3),
    ("ten", 3), ("van 't", 2), ("in 't", 1), ("op de", 1),
)
BANKS: tuple[tuple[str, str, int], ...] = (  # bank code, BIC, weight
    ("INGB", "INGBNL2A", 36), ("RABO", "RABONL2U", 28), ("ABNA", "ABNANL2A", 20),
    ("SNSB", "SNSBNL2A", 8), ("ASNB", "ASNBNL21", 4), ("TRIO", "TRIONL2U", 4),
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
# Postcode letter pairs that PostNL never issues.
_BAD_POSTCODE_LETTERS = frozenset({"SA", "SD", "SS"})
_LETTERS = "ABCDEFGHJKLMNPRSTVWXZ"


def _clean(names: object) -> tuple[str, ...]:
    return tuple(sorted({n for n in names if n.isalpha() and n[0].isupper()}))  # type: ignore[attr-defined]


@lru_cache(maxsize=1)
def word_lists() -> dict[str, tuple[str, ...]]:
    p, a = _person.Provider, _address.Provider
    return {
        "female": _clean(p.first_names_female),
        "male": _clean(p.first_names_male),
        "last": _clean(p.last_names),
        "city": tuple(sorted({c for c in a.cities if "(" not in c})),
        "street_suffix": tuple(a.street_suffixes),
    }


@lru_cache(maxsize=65_536)
def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def postcode(rng: random.Random) -> str:
    rand = rng.random
    while True:
        letters = _LETTERS[int(rand() * 21)] + _LETTERS[int(rand() * 21)]
        if letters not in _BAD_POSTCODE_LETTERS:
            return f"{1011 + int(rand() * 8989)} {letters}"


_AS_DIGITS = str.maketrans({ch: str(i) for i, ch in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)})


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits: 98 minus (BBAN + country + 00, letters as numbers) mod 97."""
    return f"{98 - int((bban + country + '00').upper().translate(_AS_DIGITS)) % 97:02d}"


def _elfproef_account(rng: random.Random) -> str:
    """A 10-digit account number passing the Dutch 11-test (weights 10..1), as pre-IBAN accounts did."""
    while True:
        head = str(int(rng.random() * 900_000_000) + 100_000_000)
        total = sum(int(d) * w for d, w in zip(head, range(10, 1, -1), strict=True))
        last = (-total) % 11
        if last < 10:
            return head + str(last)


_BANK_PICK: list[tuple[str, str]] = [(code, bic) for code, bic, weight in BANKS for _ in range(weight)]


def nl_iban(rng: random.Random) -> tuple[str, str]:
    """A Dutch IBAN with a valid checksum and its BIC. ING accounts (ex-Postbank) need no 11-test."""
    bank, bic = _BANK_PICK[int(rng.random() * len(_BANK_PICK))]
    account = f"{int(rng.random() * 999_999_999) + 1:010d}" if bank == "INGB" else _elfproef_account(rng)
    bban = bank + account
    return f"NL{iban_check_digits('NL', bban)}{bban}", bic


class PersonFactory:
    """Makes one synthetic Dutch person at a time from a seeded Random; cheap enough for millions."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        lists = word_lists()
        self.female, self.male, self.last = lists["female"], lists["male"], lists["last"]
        self.cities, self.suffixes = lists["city"], lists["street_suffix"]
        self.first_names = self.male + self.female
        cum = 0
        self.infix_cum: list[tuple[int, str]] = []
        for infix, weight in INFIXES:
            cum += weight
            self.infix_cum.append((cum, infix))
        self.infix_total = cum

    def _infix(self) -> str:
        x = self.rng.random() * self.infix_total
        return next(infix for cum, infix in self.infix_cum if x < cum)

    def person(self) -> dict[str, object]:
        rand = self.rng.random

        def pick(seq: tuple[str, ...]) -> str:  # rng.choice's pick without its per-call overhead
            return seq[int(rand() * len(seq))]

        female = rand() < 0.58  # donors to this cause are more often women
        first = pick(self.female if female else self.male)
        infix = self._infix() if rand() < 0.24 else None
        last = pick(self.last)
        street = (pick(self.last) if rand() < 0.5 else pick(self.first_names)) + pick(self.suffixes)
        number = str(1 + int(rand() * 240)) + _HOUSE_SUFFIXES[int(rand() * 9)]
        email = None
        if rand() < 0.72:
            email = (f"{ascii_slug(first)}.{ascii_slug((infix or '') + last)}{1 + int(rand() * 999)}"
                     f"@{pick(EMAIL_DOMAINS)}")
        phone = f"+316{10**7 + int(rand() * 9 * 10**7)}" if rand() < 0.35 else None
        birth = None
        if rand() < 0.55:
            birth = (1930 + int(self.rng.triangular(0, 75, 32)), 1 + int(rand() * 12), 1 + int(rand() * 28))
        return {
            "salutation": "Mevrouw" if female else "De heer", "initials": first[0] + ".", "first_name": first,
            "name_infix": infix, "last_name": last, "street": street, "house_number": number,
            "postcode": postcode(self.rng), "city": pick(self.cities), "email": email, "phone": phone,
            "birth": birth, "female": female,
        }


_HOUSE_SUFFIXES = ("", "", "", "", "A", "B", "-1", "-2", " hs")
