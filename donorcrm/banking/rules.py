"""Matching rules: pure functions from a bank line and what we know to scored, explained candidates.

Each rule answers "who or what could this line be, how sure, and why", in order of trust:

1. sepa_run       our direct-debit run's batch credit, by payment-information id and amount
2. end_to_end     a single expected payment by end-to-end id, or by mandate reference
3. sepa_return    a returned direct debit, to the collection it returns
4. payout         a payment provider's payout (or a grant instalment, a bequest distribution) by reference
5. known_iban     a donor whose IBAN we have seen before, plus the amount
6. reference      a donor number, a "gift 1234" reference or a campaign code in the remittance text
7. name           similarity of the payer's name to our donors' names
(plus bank_charges: charges and interest by their ISO bank transaction code)

Candidates for the same target add up (noisy-or): a donor number that agrees with the name is surer than
either. ``decide`` books automatically only above a threshold and when no other target comes close.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from json.encoder import encode_basestring_ascii as _json_escape  # what json.dumps uses for str
from operator import itemgetter

from donorcrm.money import Money

from .records import Line

# --------------------------------------------------------------------------------------------------
# What we expect to arrive, whoever expects it


@dataclass(frozen=True, slots=True)
class Expectation:
    """Money some part of donorcrm expects on the bank account (or expects to leave it, for returns).

    kind: "sepa_run" (a whole run's batch credit, its collections as parts), "collection" (one direct
    debit), "payout" (a payment provider's payout), "grant_instalment", "bequest_distribution".
    books_gift: whether booking it records gifts (a collection settled, an instalment received) or
    only settles a clearing (a payout whose gifts were booked when the donors paid).
    """

    kind: str
    ref: str  # unique, e.g. "collection:991", "payout:po_123"
    amount: Money  # positive: what the line's absolute amount should be
    label: str = ""
    end_to_end_id: str | None = None
    mandate_ref: str | None = None
    batch_ref: str | None = None  # PmtInfId / MsgId of our file, or the payout's bank reference
    reference_text: str | None = None  # what the payer was asked to quote (payout id, grant reference)
    payer_iban: str | None = None
    count: int | None = None
    due_on: dt.date | None = None
    donor_id: int | None = None
    category: str | None = None
    channel: str = "bank_transfer"
    campaign_id: int | None = None
    fund_id: int | None = None
    commitment_id: int | None = None
    grant_id: int | None = None
    bequest_id: int | None = None
    books_gift: bool = True
    parts: tuple[Expectation, ...] = ()


@dataclass(frozen=True, slots=True)
class DonorFacts:
    id: int
    name: str
    kind: str = "person"
    active: bool = True
    usual_amounts: frozenset[int] = frozenset()  # earlier gift amounts in minor units


@dataclass(slots=True)
class MatchContext:
    """Lookup tables built once per matching run (by the service, in bulk) and read by every rule."""

    currency: str = "EUR"
    by_end_to_end: dict[str, list[Expectation]] = field(default_factory=dict)
    by_mandate: dict[str, list[Expectation]] = field(default_factory=dict)
    by_batch: dict[str, list[Expectation]] = field(default_factory=dict)
    by_reference: dict[str, list[Expectation]] = field(default_factory=dict)  # normalised token -> items
    by_payer: dict[str, list[Expectation]] = field(default_factory=dict)
    accounts: dict[str, tuple[int, ...]] = field(default_factory=dict)  # IBAN -> donor ids
    donors: dict[int, DonorFacts] = field(default_factory=dict)
    donor_refs: dict[str, int] = field(default_factory=dict)  # upper-case external reference -> donor id
    gifts: dict[int, int] = field(default_factory=dict)  # gift id -> donor id
    campaigns: dict[str, int] = field(default_factory=dict)  # upper-case code -> campaign id
    names: dict[str, set[int]] = field(default_factory=dict)  # normalised name token -> donor ids
    name_keys: dict[int, tuple[frozenset[str], str]] = field(default_factory=dict)  # donor -> tokens, initial
    # The same donors by their whole token set and by (token, initial) ("" no initial known): rule_name
    # narrows a pool of namesakes with set operations instead of a Python loop over hundreds of them.
    name_sets: dict[frozenset[str], set[int]] = field(default_factory=dict)
    by_initial: dict[tuple[str, str], set[int]] = field(default_factory=dict)

    def index_name(self, donor_id: int, name: str, first_name: str | None = None) -> None:
        """Make a donor findable by the tokens of their name (for rule_name); indexed again, the latest name
        counts."""
        tokens = frozenset(_name_tokens(name))
        first = _initial(first_name) if first_name else ""
        was = self.name_keys.get(donor_id)
        if was is not None:
            self.name_sets[was[0]].discard(donor_id)
            for token in was[0]:
                self.names[token].discard(donor_id)
                self.by_initial[(token, was[1])].discard(donor_id)
        self.name_keys[donor_id] = (tokens, first)
        self.name_sets.setdefault(tokens, set()).add(donor_id)
        for token in tokens:
            self.names.setdefault(token, set()).add(donor_id)
            self.by_initial.setdefault((token, first), set()).add(donor_id)

    def add_expectations(self, items: Iterable[Expectation]) -> None:
        for e in items:
            if e.end_to_end_id:
                self.by_end_to_end.setdefault(e.end_to_end_id, []).append(e)
            if e.mandate_ref:
                self.by_mandate.setdefault(e.mandate_ref, []).append(e)
            if e.batch_ref:
                self.by_batch.setdefault(e.batch_ref, []).append(e)
            if e.reference_text:
                self.by_reference.setdefault(normalise_ref(e.reference_text), []).append(e)
            if e.payer_iban:
                self.by_payer.setdefault(e.payer_iban, []).append(e)
            for part in e.parts:
                if part.end_to_end_id:
                    self.by_end_to_end.setdefault(part.end_to_end_id, []).append(part)
                if part.mandate_ref:
                    self.by_mandate.setdefault(part.mandate_ref, []).append(part)


@dataclass(frozen=True, slots=True)
class Target:
    """What a line would be booked to."""

    kind: str  # "donor", "expectation", "not_gift"
    donor_id: int | None = None
    expectation: Expectation | None = None
    purpose: str | None = None  # for not_gift
    campaign_id: int | None = None

    @property
    def key(self) -> str:
        if self.kind == "donor":
            return f"donor:{self.donor_id}"
        if self.kind == "expectation" and self.expectation is not None:
            return self.expectation.ref
        return f"not_gift:{self.purpose}"


@dataclass(frozen=True, slots=True)
class Candidate:
    rule: str
    score: int  # 0..100
    reason: str
    target: Target

    def as_dict(self) -> dict[str, object]:
        e = self.target.expectation
        return {
            "rule": self.rule, "score": self.score, "reason": self.reason, "target": self.target.key,
            "kind": self.target.kind, "donor_id": self.target.donor_id if e is None else e.donor_id,
            "purpose": self.target.purpose, "campaign_id": self.target.campaign_id,
            "label": e.label if e is not None else None,
        }

    def as_json(self) -> str:
        """``json.dumps(self.as_dict())``, byte for byte, without the dict: a statement stores the candidates
        of every line, hundreds of thousands of them, and the generic encoder was a good part of that."""
        t, e = self.target, self.target.expectation
        donor_id = t.donor_id if e is None else e.donor_id
        label = None if e is None else e.label
        return (f'{{"rule": {_json_str(self.rule)}, "score": {_json_int(self.score)},'
                f' "reason": {_json_str(self.reason)}, "target": {_json_str(t.key)}, "kind": {_json_str(t.kind)},'
                f' "donor_id": {_json_int(donor_id)}, "purpose": {_json_str(t.purpose)},'
                f' "campaign_id": {_json_int(t.campaign_id)}, "label": {_json_str(label)}}}')


Rule = Callable[[Line, MatchContext], list[Candidate]]


def _json_str(value: str | None) -> str:
    if isinstance(value, str):
        return _json_escape(value)
    return "null" if value is None else json.dumps(value, default=str)  # anything odd, as before


def _json_int(value: int | None) -> str:
    if type(value) is int:
        return int.__repr__(value)
    return "null" if value is None else json.dumps(value, default=str)  # a bool, a float: as json writes them

# --------------------------------------------------------------------------------------------------
# Text helpers


_NOT_REF = re.compile(r"[^A-Z0-9]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise_ref(text: str) -> str:
    return _NOT_REF.sub("", text.upper())


def fold(text: str) -> str:
    """Lower case, accents off, punctuation to spaces: "Müller-Lüdenscheidt" -> "muller ludenscheidt"."""
    plain = text if text.isascii() else unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(_NOT_WORD.sub(" ", plain.lower()).split())


_NAME_NOISE = frozenset({
    "de", "den", "der", "van", "vd", "v", "la", "le", "du", "von", "ten", "ter", "het", "t", "en", "and", "e", "o",
    "mr", "mrs", "ms", "dhr", "mevr", "mw", "fam", "familie", "hr", "fr", "herr", "frau", "eo", "cj", "ch",
})


def name_tokens(name: str) -> list[str]:
    """Tokens worth indexing a name on: no particles, no titles, no initials."""
    return list(_name_tokens(name))


@functools.lru_cache(maxsize=1 << 17)
def _name_tokens(name: str) -> tuple[str, ...]:
    # Names recur (a donor's bank name on every transfer, shared surnames): fold each one once. Folding
    # keeps an ASCII space a separator, so the tokens of a name are those of its space-separated pieces,
    # which recur far more often than whole names (first names, surnames).
    if " " in name:
        return tuple(t for piece in name.split(" ") for t in _piece_tokens(piece))
    return _piece_tokens(name)


@functools.lru_cache(maxsize=1 << 16)
def _piece_tokens(piece: str) -> tuple[str, ...]:
    return tuple(t for t in fold(piece).split() if len(t) > 1 and t not in _NAME_NOISE)


@functools.lru_cache(maxsize=1 << 12)
def _initial(first_name: str) -> str:
    return fold(first_name)[:1]


@functools.lru_cache(maxsize=1 << 17)
def _name_key(name: str) -> tuple[frozenset[str], str]:
    """The payer's name as rule_name compares it: its token set and a lone initial, if it starts with one."""
    first = fold(name).split()[:1]
    return frozenset(_name_tokens(name)), first[0] if first and len(first[0]) == 1 else ""


def name_similarity(a: str, b: str) -> float:
    """0..1, insensitive to order, initials, particles and accents ("J. van der Berg" ~ "Jan van den Berg")."""
    ta, tb = sorted(name_tokens(a)), sorted(name_tokens(b))
    if not ta or not tb:
        return 0.0
    ja, jb = " ".join(ta), " ".join(tb)
    # SequenceMatcher's ratio depends on the argument order; take both so the score is symmetric.
    whole = max(SequenceMatcher(None, ja, jb).ratio(), SequenceMatcher(None, jb, ja).ratio())
    # A payer often writes fewer names than we store (no first name): compare the shared surname too.
    common = set(ta) & set(tb)
    subset = 0.9 if common and (set(ta) <= set(tb) or set(tb) <= set(ta)) else 0.0
    return max(whole, subset)


_DONOR_NO = re.compile(r"(?<![A-Z0-9])(?:D|DONOR|DONATEUR|DONATEURNR|DONORNR|RELATIENR|RELATIE)[\s.:#-]*(\d{1,9})(?!\d)")
_GIFT_NO = re.compile(r"(?<![A-Z0-9])(?:GIFT|GIFTNR|DONATION)[\s.:#-]*(\d{1,9})(?!\d)")
_WORD = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,39}")


def donor_numbers(text: str) -> list[int]:
    return list(_quoted(text)[0])


def gift_numbers(text: str) -> list[int]:
    return list(_quoted(text)[1])


def words(text: str) -> set[str]:
    return set(_quoted(text)[2])


@functools.lru_cache(maxsize=1 << 17)
def _quoted(text: str) -> tuple[tuple[int, ...], tuple[int, ...], frozenset[str]]:
    """Donor numbers, gift numbers and words of a description, read once per distinct text ("Gift", "Donatie"
    and a donor's usual reference recur on thousands of lines; the context build and two rules all ask)."""
    upper = text.upper()
    return (tuple(int(m) for m in _DONOR_NO.findall(upper)), tuple(int(m) for m in _GIFT_NO.findall(upper)),
            frozenset(_WORD.findall(upper)))


@functools.lru_cache(maxsize=1 << 17)
def _ref_tokens(text: str) -> frozenset[str]:
    """The words of a text as references are compared (normalised), read once per distinct text."""
    return frozenset(normalise_ref(w) for w in text.split())


def _text_of(line: Line) -> str:
    ref, e2e = line.structured_ref, line.end_to_end_id
    if not ref and not e2e:  # most transfers: the remittance text alone
        return line.remittance
    return " ".join([t for t in (line.remittance, ref or "", e2e or "") if t])


def _amount_note(line: Line, expected: Money) -> tuple[bool, str]:
    actual = abs(line.amount)
    if actual == expected:
        return True, f"amount {actual} as expected"
    return False, f"amount {actual} differs from the expected {expected}"


def _exp_target(e: Expectation) -> Target:
    return Target(kind="expectation", donor_id=e.donor_id, expectation=e, campaign_id=e.campaign_id)


# --------------------------------------------------------------------------------------------------
# The rules


def rule_sepa_run(line: Line, ctx: MatchContext) -> list[Candidate]:
    if line.amount.minor <= 0 or not line.batch_ref:
        return []
    out = []
    for e in ctx.by_batch.get(line.batch_ref, []):
        if e.kind != "sepa_run":
            continue
        same, note = _amount_note(line, e.amount)
        count = "" if line.batch_count is None else f", {line.batch_count} transactions"
        out.append(Candidate("sepa_run", 99 if same else 60,
                             f"batch {line.batch_ref} is our direct-debit run {e.label or e.ref}{count}; {note}",
                             _exp_target(e)))
    return out


def rule_end_to_end(line: Line, ctx: MatchContext) -> list[Candidate]:
    if line.amount.minor <= 0:
        return []
    out = []
    if line.end_to_end_id:
        for e in ctx.by_end_to_end.get(line.end_to_end_id, []):
            same, note = _amount_note(line, e.amount)
            out.append(Candidate("end_to_end", 98 if same else 60,
                                 f"end-to-end id {line.end_to_end_id} is {e.label or e.ref}; {note}", _exp_target(e)))
    if not out and line.mandate_id:
        hits = ctx.by_mandate.get(line.mandate_id, [])
        for e in hits:
            same, note = _amount_note(line, e.amount)
            score = (92 if len(hits) == 1 else 70) if same else 50
            out.append(Candidate("end_to_end", score,
                                 f"mandate {line.mandate_id} belongs to {e.label or e.ref}; {note}", _exp_target(e)))
    return out


def rule_sepa_return(line: Line, ctx: MatchContext) -> list[Candidate]:
    if line.amount.minor >= 0 or not (line.return_reason or line.reversal or "/UPDD" in (line.bank_tx_code or "")):
        return []
    why = f"returned direct debit ({line.return_reason or 'no reason code'})"
    found: list[tuple[str, Expectation]] = []
    if line.end_to_end_id:
        found = [(f"end-to-end id {line.end_to_end_id}", e) for e in ctx.by_end_to_end.get(line.end_to_end_id, [])]
    if not found and line.mandate_id:
        found = [(f"mandate {line.mandate_id}", e) for e in ctx.by_mandate.get(line.mandate_id, [])]
    out = []
    for via, e in found:
        if e.kind != "collection":
            continue
        same, note = _amount_note(line, e.amount)
        unique = len(found) == 1
        out.append(Candidate("sepa_return", 97 if same and unique else 60,
                             f"{why}: {via} is {e.label or e.ref}; {note}", _exp_target(e)))
    return out


def rule_payout(line: Line, ctx: MatchContext) -> list[Candidate]:
    """Provider payouts, grant instalments and bequest distributions: a reference they quote, or their payer."""
    if line.amount.minor <= 0:
        return []
    seen: dict[str, Candidate] = {}
    by_reference = ctx.by_reference
    tokens = _ref_tokens(_text_of(line) + " " + (line.batch_ref or "")) if by_reference else ()
    for ref in tokens:
        if len(ref) < 6:
            continue
        for e in by_reference.get(ref, []):
            same, note = _amount_note(line, e.amount)
            seen[e.ref] = Candidate("payout", 97 if same else 60,
                                    f"reference {e.reference_text} of {e.label or e.ref} quoted; {note}",
                                    _exp_target(e))
    if line.counterparty_iban:
        for e in ctx.by_payer.get(line.counterparty_iban, []):
            if e.ref in seen:
                continue
            same, note = _amount_note(line, e.amount)
            if same:
                seen[e.ref] = Candidate("payout", 92, f"paid from {e.label or e.ref}'s account; {note}",
                                        _exp_target(e))
    return list(seen.values())


def rule_known_iban(line: Line, ctx: MatchContext) -> list[Candidate]:
    if line.amount.minor <= 0 or not line.counterparty_iban:
        return []
    known = ctx.accounts.get(line.counterparty_iban)
    if not known:  # most payers of a statement: an account we have not seen
        return []
    ids = [i for i in known if i in ctx.donors]
    out = []
    for donor_id in ids:
        facts = ctx.donors[donor_id]
        usual = line.amount.minor in facts.usual_amounts
        if len(ids) == 1:
            score = 96 if usual else 93
        else:
            score = 60
        if not facts.active:
            score = min(score, 50)
        notes = [f"IBAN {mask(line.counterparty_iban)} seen before for {facts.name}"]
        if usual:
            notes.append(f"who gave {abs(line.amount)} before")
        if len(ids) > 1:
            notes.append(f"account shared by {len(ids)} donors")
        if not facts.active:
            notes.append("donor is not active")
        out.append(Candidate("known_iban", score, "; ".join(notes), Target(kind="donor", donor_id=donor_id)))
    return out


def rule_reference(line: Line, ctx: MatchContext) -> list[Candidate]:
    if line.amount.minor <= 0:
        return []
    text = _text_of(line)
    if not text:
        return []
    numbers, gift_nos, upper_words = _quoted(text)
    out: list[Candidate] = []
    for number in numbers:
        facts = ctx.donors.get(number)
        if facts is not None:
            out.append(Candidate("reference", 80 if facts.active else 50,
                                 f"donor number D{number} ({facts.name}) in the description",
                                 Target(kind="donor", donor_id=number)))
    donor_refs = ctx.donor_refs
    if donor_refs:
        for word in upper_words:
            donor_id = donor_refs.get(word)
            if donor_id is not None and donor_id in ctx.donors:
                out.append(Candidate("reference", 80,
                                     f"donor reference {word} ({ctx.donors[donor_id].name}) in the description",
                                     Target(kind="donor", donor_id=donor_id)))
    for number in gift_nos:
        donor_id = ctx.gifts.get(number)
        if donor_id is not None and donor_id in ctx.donors:
            out.append(Candidate("reference", 70, f"gift {number} of {ctx.donors[donor_id].name} quoted",
                                 Target(kind="donor", donor_id=donor_id)))
    return out


def campaign_of(line: Line, ctx: MatchContext) -> tuple[int | None, str | None]:
    """A campaign code quoted in the description (the longest, if several)."""
    if not ctx.campaigns:
        return None, None
    hits = [w for w in _quoted(_text_of(line))[2] if w in ctx.campaigns]
    if not hits:
        return None, None
    code = max(hits, key=len)
    return ctx.campaigns[code], code


def rule_name(line: Line, ctx: MatchContext) -> list[Candidate]:
    """Donors whose name holds every word of the payer's name (initials must agree).

    Token sets instead of edit distance: a bank writes "J. VAN DEN BERG" for Jan van den Berg, and the
    lookup stays cheap for common surnames shared by hundreds of donors.
    """
    if line.amount.minor <= 0 or not line.counterparty_name or not ctx.names:
        return []
    payer, initial = _name_key(line.counterparty_name)
    if not payer:
        return []
    alive = ctx.donors.keys() & _namesakes(ctx, payer, initial)  # a new set of those whose facts are loaded
    n = len(alive)
    if not n:
        return []
    # Best first: the donors whose name is exactly the payer's, then the rest, each by donor id; at most ten.
    exact = alive & ctx.name_sets.get(payer, _NOBODY)
    best = sorted(exact)[:10]
    if len(best) < 10:
        best += heapq.nsmallest(10 - len(best), alive - exact if exact else alive)
    if n == 1:
        exact_score, other_score, note = round(45 + 25 * 1.0), round(45 + 25 * 0.9), ""
    else:
        exact_score, other_score, note = round(30 + 20 * 1.0), round(30 + 20 * 0.9), f" (one of {n} donors with this name)"
    said = f"payer name {line.counterparty_name!r} matches "
    donors = ctx.donors
    out = []
    for donor_id in best:
        facts = donors[donor_id]
        out.append(Candidate("name", exact_score if donor_id in exact else other_score,
                             f"{said}{facts.name!r}{note}", Target("donor", facts.id)))
    return out


def _namesakes(ctx: MatchContext, payer: frozenset[str], initial: str) -> AbstractSet[int]:
    """Donors whose name holds every token of the payer's and whose initial, if both are known, agrees.

    May be one of the index's own sets: read it, never change it.
    """
    pools: list[AbstractSet[int]] = []
    for token in payer:
        if token not in ctx.names:
            return _NOBODY
        if initial:
            same, unknown = ctx.by_initial.get((token, initial)), ctx.by_initial.get((token, ""))
            pools.append(same | unknown if same and unknown else same or unknown or _NOBODY)
        else:
            pools.append(ctx.names[token])
    if len(pools) == 1:
        return pools[0]
    pools.sort(key=len)
    return pools[0].intersection(*pools[1:])


_NOBODY: frozenset[int] = frozenset()


_CHARGE_FAMILIES = ("/CHRG", "/MDOP/CHRG", "/CHRG/")


def rule_bank_charges(line: Line, ctx: MatchContext) -> list[Candidate]:
    code = line.bank_tx_code or ""
    if line.amount.minor < 0 and (code.endswith("/CHRG") or "/CHRG/" in code) and not line.counterparty_iban:
        return [Candidate("bank_charges", 95, f"bank charges (transaction code {code})",
                          Target(kind="not_gift", purpose="fee"))]
    if line.amount.minor > 0 and code.endswith("/INTR") and not line.counterparty_iban:
        return [Candidate("bank_charges", 95, f"interest (transaction code {code})",
                          Target(kind="not_gift", purpose="interest"))]
    return []


RULES: list[Rule] = [
    rule_sepa_run, rule_end_to_end, rule_sepa_return, rule_payout, rule_bank_charges,
    rule_known_iban, rule_reference, rule_name,
]


def mask(iban: str) -> str:
    return f"{iban[:4]}…{iban[-4:]}" if len(iban) > 8 else iban


# --------------------------------------------------------------------------------------------------
# Combining and deciding


@dataclass(frozen=True, slots=True)
class Decision:
    auto: Candidate | None  # book this, or None: suspense
    ranked: tuple[Candidate, ...]  # best first, one per target
    campaign_id: int | None = None
    campaign_code: str | None = None


def combine(candidates: Sequence[Candidate]) -> list[Candidate]:
    """One candidate per target; several rules agreeing raise the score (noisy-or), reasons joined."""
    if len(candidates) < 2:  # most lines: nothing or one rule's word; nothing to merge
        return list(candidates)
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        key = c.target.key
        group = groups.get(key)
        if group is None:
            groups[key] = [c]
        else:
            group.append(c)
    ranked = []
    for key, group in groups.items():
        if len(group) == 1:
            merged = group[0]
        else:
            group.sort(key=_minus_score)
            miss = 1.0
            for c in group:
                miss *= 1 - c.score / 100
            merged = Candidate("+".join(dict.fromkeys(c.rule for c in group)), min(99, round(100 * (1 - miss))),
                               "; ".join(c.reason for c in group), group[0].target)
        ranked.append((-merged.score, key, merged))
    ranked.sort(key=_score_then_key)  # targets are unique, so no two entries tie
    return [c for _, _, c in ranked]


def _minus_score(c: Candidate) -> int:
    return -c.score


_score_then_key = itemgetter(0, 1)


def candidates(line: Line, ctx: MatchContext, rules: Sequence[Rule] | None = None) -> list[Candidate]:
    """What each rule says about the line, in rule order (uncombined)."""
    found: list[Candidate] = []
    for rule in rules if rules is not None else RULES:
        found.extend(rule(line, ctx))
    return found


def decide(line: Line, ctx: MatchContext, *, threshold: int = 90, margin: int = 30,
           rules: Sequence[Rule] | None = None, keep: int = 5) -> Decision:
    return judge(line, ctx, candidates(line, ctx, rules), threshold=threshold, margin=margin, keep=keep)


def judge(line: Line, ctx: MatchContext, found: Sequence[Candidate], *, threshold: int = 90, margin: int = 30,
          keep: int = 5, campaign: tuple[int | None, str | None] | None = None) -> Decision:
    """The decision on a line from its rules' candidates: book the best if sure and unrivalled, else suspense."""
    ranked = combine(found)
    campaign_id, code = campaign if campaign is not None else campaign_of(line, ctx)
    auto = None
    if ranked and ranked[0].score >= threshold:
        best = ranked[0]
        rival = max((c.score for c in ranked[1:] if not _same_payer(best.target, c.target)), default=0)
        if best.score - rival >= margin and _bookable(line, best.target):
            auto = best
    return Decision(auto=auto, ranked=tuple(ranked[:keep]), campaign_id=campaign_id, campaign_code=code)


def _same_payer(best: Target, other: Target) -> bool:
    """A payment expected from a donor (a funder's instalment) and that donor's known account agree, not compete."""
    return (best.kind == "expectation" and other.kind == "donor" and best.donor_id is not None
            and other.donor_id == best.donor_id)


def _bookable(line: Line, target: Target) -> bool:
    """Only what the line's direction allows: gifts come in, returns and charges go out."""
    if target.kind == "donor":
        return line.amount.minor > 0
    if target.kind == "expectation" and target.expectation is not None:
        e = target.expectation
        if e.kind == "collection" and line.amount.minor < 0:
            return True
        parts_ok = not e.parts or sum(p.amount.minor for p in e.parts) == e.amount.minor
        return line.amount.minor > 0 and parts_ok and abs(line.amount) == e.amount
    return True
