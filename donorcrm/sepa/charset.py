"""The SEPA Latin character set, and transliteration into it.

Banks accept only a-z A-Z 0-9 / - ? : ( ) . , ' + and space in names and references. The CRM keeps
the donor's real name ("Förderverein Łódź"); only the file carries the transliteration ("Foerderverein
Lodz"), chosen on purpose rather than by stripping accents blindly.
"""

from __future__ import annotations

import re
import unicodedata

ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")

# German umlauts are written out (Müller -> Mueller), as German banks and donors expect; other
# letters that do not decompose get their usual Latin spelling.
_SPECIAL = {
    "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "SS",
    "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o", "Å": "A", "å": "a",
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th", "þ": "th", "Ħ": "H", "ħ": "h",
    "ı": "i", "Ĳ": "IJ", "ĳ": "ij", "&": "+", "_": "-", "\"": "'", "‘": "'", "’": "'", "`": "'",
    "“": "'", "”": "'", "–": "-", "—": "-", "#": " ", "@": "(at)", "*": ".", "!": ".", ";": ",",
}
_SPACES = re.compile(r" {2,}")
# The same set as ALLOWED, as one regular expression: a million names are checked at C speed.
_ALL_ALLOWED = re.compile(r"[a-zA-Z0-9/\-?:().,'+ ]*").fullmatch


def transliterate(text: str, max_length: int = 140) -> str:
    if _ALL_ALLOWED(text) is not None:  # most names: no work, and no cache entry per donor
        return text[:max_length]
    return _transliterate(text, max_length)


def _transliterate(text: str, max_length: int) -> str:
    return _SPACES.sub(" ", text.translate(_CHARS)).strip()[:max_length]


class _CharMap(dict):  # type: ignore[type-arg]
    """Code point -> its SEPA spelling, worked out the first time a character is seen, so that
    ``str.translate`` does the per-character work at C speed."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch in ALLOWED:
            out = ch
        elif ch in _SPECIAL:
            out = _SPECIAL[ch]
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c in ALLOWED)
            out = base if base else (" " if ch.isspace() else "")
        self[code] = out
        return out


_CHARS = _CharMap()


def is_sepa_text(text: str) -> bool:
    return _ALL_ALLOWED(text) is not None
