"""Pure rules of the legacy pipeline: stage order, RJ 650 recognition, the income forecast and follow-up.

Everything here works on plain values (dates, integer cents, enums) so it can be tested without a database.
Amounts are integer minor units; every division states its rounding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from donorcrm.errors import InvalidState, ValidationError


class Stage(StrEnum):
    NOTIFIED = "notified"  # we heard of the death
    DOCUMENTS = "documents"  # will, death certificate, verklaring van erfrecht received
    ADMINISTRATION = "administration"  # the executor administers the estate
    INTERIM = "interim_distribution"  # one or more advances paid
    ESTATE_ACCOUNTS = "estate_accounts"  # rekening en verantwoording / akte van verdeling received
    FINAL = "final_distribution"  # final payment expected or arriving
    CLOSED = "closed"
    DISPUTED = "disputed"
    RENOUNCED = "renounced"  # the charity declined (verworpen) or the gift lapsed


class LegacyKind(StrEnum):
    PECUNIARY = "pecuniary"  # a fixed sum
    SPECIFIC = "specific"  # an item (a house, shares, a painting)
    RESIDUARY = "residuary"  # a share of what remains
    LIFE_INTEREST = "life_interest"  # reversionary: paid after a life tenant dies (vruchtgebruik)
    CONTINGENT = "contingent"  # only if a condition is met


class DutchForm(StrEnum):
    ERFSTELLING = "erfstelling"  # the charity is an heir
    LEGAAT = "legaat"  # the charity receives a bequest from the heirs


PIPELINE: tuple[Stage, ...] = (
    Stage.NOTIFIED, Stage.DOCUMENTS, Stage.ADMINISTRATION, Stage.INTERIM, Stage.ESTATE_ACCOUNTS, Stage.FINAL,
    Stage.CLOSED,
)
# Stages a case may pass over: a pecuniary legacy is often paid in one go without advances or estate accounts.
OPTIONAL: frozenset[Stage] = frozenset({Stage.INTERIM, Stage.ESTATE_ACCOUNTS})
TERMINAL: frozenset[Stage] = frozenset({Stage.CLOSED, Stage.RENOUNCED})
OPEN_STAGES: tuple[Stage, ...] = (*PIPELINE[:-1], Stage.DISPUTED)
# Kinds that usually pay in instalments and settle with estate accounts; other kinds skip those stages.
INSTALMENT_KINDS: frozenset[LegacyKind] = frozenset({LegacyKind.RESIDUARY, LegacyKind.LIFE_INTEREST})


def check_transition(current: Stage | str, target: Stage | str, resume: Stage | str | None = None) -> None:
    """Raise InvalidState unless a case may move from `current` to `target`.

    Forward only along the pipeline, passing over optional stages only; closed only after the final
    distribution; a dispute may start in any open stage and ends by going back to the stage it interrupted
    (`resume`) or forward from there; a case may be renounced until the final distribution.
    """
    current, target = Stage(current), Stage(target)
    if current in TERMINAL:
        raise InvalidState(f"the case is {current}; it cannot move to {target}")
    if target == current:
        raise InvalidState(f"the case is already {current}")
    if target == Stage.DISPUTED:
        return
    if target == Stage.RENOUNCED:
        if current == Stage.FINAL:
            raise InvalidState("a case in final distribution cannot be renounced")
        return
    if current == Stage.DISPUTED:
        if resume is None:
            raise InvalidState("a disputed case needs the stage it was in to resume")
        current = Stage(resume)
        if target == current:
            return
    if current == Stage.DISPUTED or target not in PIPELINE:
        raise InvalidState(f"cannot move from {current} to {target}")
    i, j = PIPELINE.index(current), PIPELINE.index(target)
    if j < i:
        raise InvalidState(f"cannot go back from {current} to {target}")
    skipped = [s for s in PIPELINE[i + 1:j] if s not in OPTIONAL]
    if skipped:
        raise InvalidState(f"cannot move from {current} to {target} without passing {skipped[0]}")


def allowed_targets(current: Stage | str, resume: Stage | str | None = None) -> list[Stage]:
    """The stages a case may move to next, in pipeline order (for menus and error messages)."""
    out = []
    for target in (*PIPELINE, Stage.DISPUTED, Stage.RENOUNCED):
        try:
            check_transition(current, target, resume)
        except InvalidState:
            continue
        out.append(target)
    return out


def parse_stage_values(text: str, defaults: Mapping[Stage, int]) -> dict[Stage, int]:
    """Defaults overridden by a setting such as "notified=8000, disputed=4000" (non-negative integers)."""
    out = dict(defaults)
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        try:
            stage = Stage(key.strip())
            number = int(value)
        except ValueError:
            raise ValidationError(f"cannot read {part!r}: expected stage=integer") from None
        if not sep or number < 0 or stage not in defaults:
            raise ValidationError(f"cannot use {part!r}: expected one of {', '.join(defaults)} = integer >= 0")
        out[stage] = number
    return out


# --- arithmetic helpers -------------------------------------------------------------------------------


def div_half_even(numerator: int, denominator: int) -> int:
    """Integer division rounding half to even (banker's rounding), exact for any size of integer."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(numerator, denominator)
    twice = 2 * r
    if twice > denominator or (twice == denominator and q % 2 == 1):
        q += 1
    return q


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_quarters(start: dt.date, n: int) -> dt.date:
    months = start.year * 12 + (start.month - 1) + 3 * n
    return dt.date(months // 12, months % 12 + 1, 1)


def quarter_label(start: dt.date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


# --- recognition (RJ 650) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    on: dt.date
    amount_minor: int
    reliable: bool


@dataclass(frozen=True)
class Receipt:
    on: dt.date
    amount_minor: int  # negative for a reversal of a distribution


@dataclass(frozen=True)
class RecognitionFacts:
    """What we know of one case for the annual accounts."""

    estimates: tuple[Estimate, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    deed_on: dt.date | None = None  # akte van verdeling / estate accounts received
    usufruct_minor: int = 0  # value of a life tenant's usufruct on our share
    usufruct_ends_on: dt.date | None = None  # the life tenant's death
    ended_on: dt.date | None = None  # closed or renounced: from then on income is what was received


def received_to(facts: RecognitionFacts, as_of: dt.date) -> int:
    return sum(r.amount_minor for r in facts.receipts if r.on <= as_of)


def estimable_on(facts: RecognitionFacts) -> dt.date | None:
    """The first day the amount counts as reliably estimable: a reliable estimate or, at the latest, the deed."""
    days = [e.on for e in facts.estimates if e.reliable]
    if facts.deed_on is not None:
        days.append(facts.deed_on)
    return min(days) if days else None


def recognised_to(facts: RecognitionFacts, as_of: dt.date) -> int:
    """Income recognised for a case from its start up to and including `as_of`.

    RJ 650: advances are income when received; the whole expected amount is income once it can be
    reliably estimated, at the latest when the deed of distribution arrives; a usufruct still running
    reduces the value. The latest estimate on or before `as_of` is the value (later changes of estimate
    are income or a correction in the year they are made). Once the case ends, income is what came in.
    """
    received = received_to(facts, as_of)
    if facts.ended_on is not None and facts.ended_on <= as_of:
        return received
    first = estimable_on(facts)
    if first is None or first > as_of:
        return received
    known = [e for e in facts.estimates if e.on <= as_of]
    if not known:
        return received
    latest = max(enumerate(known), key=lambda pair: (pair[1].on, pair[0]))[1]
    usufruct = facts.usufruct_minor if facts.usufruct_ends_on is None or facts.usufruct_ends_on > as_of else 0
    value = max(latest.amount_minor - usufruct, 0)
    return max(received, value)


@dataclass(frozen=True)
class YearRecognition:
    year: int
    recognised_minor: int  # income of the year (may be negative: a lowered estimate)
    received_minor: int  # cash received in the year
    recognised_total_minor: int  # recognised from the start to the end of the year
    received_total_minor: int
    receivable_minor: int  # recognised but not yet received at the end of the year


def recognition_for_year(facts: RecognitionFacts, year: int) -> YearRecognition:
    end, before = dt.date(year, 12, 31), dt.date(year - 1, 12, 31)
    rec_end, rec_before = recognised_to(facts, end), recognised_to(facts, before)
    got_end, got_before = received_to(facts, end), received_to(facts, before)
    return YearRecognition(year, rec_end - rec_before, got_end - got_before, rec_end, got_end, rec_end - got_end)


# --- forecast ---------------------------------------------------------------------------------------


# Chance, in basis points, that the remaining estimate of a case in this stage arrives (policy defaults).
DEFAULT_PROBABILITY_BP: Mapping[Stage, int] = {
    Stage.NOTIFIED: 8500, Stage.DOCUMENTS: 9000, Stage.ADMINISTRATION: 9500, Stage.INTERIM: 9700,
    Stage.ESTATE_ACCOUNTS: 9800, Stage.FINAL: 10000, Stage.DISPUTED: 5000,
}
# Days a case spends in a stage when there are too few closed cases to learn from (about 19 months in all
# for a residuary legacy, in line with the usual 1–2 years from notification to final receipt).
DEFAULT_DURATION_DAYS: Mapping[Stage, int] = {
    Stage.NOTIFIED: 60, Stage.DOCUMENTS: 90, Stage.ADMINISTRATION: 180, Stage.INTERIM: 120,
    Stage.ESTATE_ACCOUNTS: 60, Stage.FINAL: 45, Stage.DISPUTED: 270,
}
MIN_CASES_TO_LEARN = 5


@dataclass(frozen=True)
class Scenario:
    name: str
    value_pct: int  # share of the remaining estimate that arrives, in percent
    duration_pct: int  # stage durations stretched or shortened, in percent


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("low", 85, 125), Scenario("central", 100, 100), Scenario("high", 105, 85),
)


@dataclass(frozen=True)
class StageVisit:
    stage: Stage
    entered_on: dt.date


def learn_durations(histories: Iterable[Sequence[StageVisit]],
                    defaults: Mapping[Stage, int] = DEFAULT_DURATION_DAYS,
                    min_cases: int = MIN_CASES_TO_LEARN) -> dict[Stage, int]:
    """Days per stage learned from closed cases: the lower median of the time spent in the stage by the
    closed cases that went through it (repeated visits add up). A stage with fewer than `min_cases`
    observations keeps its default. Cases not ending in `closed` (open, renounced) teach nothing.
    """
    observed: dict[Stage, list[int]] = {}
    for visits in histories:
        ordered = sorted(visits, key=lambda v: v.entered_on)
        if not ordered or ordered[-1].stage != Stage.CLOSED:
            continue
        spent: dict[Stage, int] = {}
        for here, nxt in zip(ordered, ordered[1:], strict=False):
            spent[here.stage] = spent.get(here.stage, 0) + (nxt.entered_on - here.entered_on).days
        for stage, days in spent.items():
            observed.setdefault(stage, []).append(days)
    out = dict(defaults)
    for stage, values in observed.items():
        if stage in out and len(values) >= min_cases:
            values.sort()
            out[stage] = values[(len(values) - 1) // 2]
    return out


def remaining_path(stage: Stage, kind: LegacyKind | str, resume: Stage | None = None) -> list[Stage]:
    """The stages still ahead of a case after its current one, up to and including the final distribution."""
    start = resume if stage == Stage.DISPUTED and resume is not None else stage
    if start not in PIPELINE or start == Stage.CLOSED:
        return []
    i = PIPELINE.index(start)
    ahead = list(PIPELINE[i:PIPELINE.index(Stage.FINAL) + 1])
    if stage != Stage.DISPUTED:
        ahead = ahead[1:]
    if LegacyKind(kind) not in INSTALMENT_KINDS:
        ahead = [s for s in ahead if s not in OPTIONAL]
    return ahead


def _scaled(days: int, pct: int) -> int:
    return div_half_even(days * pct, 100)


def expected_receipt(stage: Stage, stage_since: dt.date, today: dt.date, kind: LegacyKind | str,
                     durations: Mapping[Stage, int], duration_pct: int = 100,
                     resume: Stage | None = None) -> dt.date:
    """When the rest of a case's money is expected: at the end of its final-distribution stage.

    What is left of the current stage (never less than zero: an overdue stage ends today) plus the full
    durations of the stages still ahead, each scaled by `duration_pct` (rounded half to even, in days).
    """
    elapsed = (today - stage_since).days
    left = max(_scaled(durations[stage], duration_pct) - elapsed, 0)
    ahead = sum(_scaled(durations[s], duration_pct) for s in remaining_path(stage, kind, resume))
    return today + dt.timedelta(days=left + ahead)


@dataclass(frozen=True)
class ForecastCase:
    case_id: int
    stage: Stage
    stage_since: dt.date
    kind: LegacyKind
    estimate_minor: int  # current estimate of our whole share, after any usufruct
    received_minor: int = 0
    resume: Stage | None = None  # for a disputed case: the stage the dispute interrupted
    waits_for_life_tenant: bool = False  # a life interest whose tenant is alive: no date can be given


@dataclass(frozen=True)
class CaseForecast:
    case_id: int
    remaining_minor: int
    probability_bp: int
    expected: dict[str, tuple[dt.date, int]]  # scenario -> (expected date, expected amount)


@dataclass(frozen=True)
class QuarterForecast:
    quarter: str
    starts_on: dt.date
    amounts: dict[str, int]  # scenario name -> minor units


@dataclass(frozen=True)
class Forecast:
    today: dt.date
    quarters: list[QuarterForecast]
    beyond: dict[str, int]  # expected after the horizon
    undated: dict[str, int]  # life interests waiting for the life tenant
    cases: list[CaseForecast] = field(default_factory=list)

    def total(self, scenario: str) -> int:
        return sum(q.amounts[scenario] for q in self.quarters)


def expected_amount(remaining_minor: int, probability_bp: int, value_pct: int) -> int:
    """remaining × value% × probability, rounded once, half to even, to whole cents."""
    return div_half_even(remaining_minor * value_pct * probability_bp, 100 * 10_000)


def forecast(cases: Iterable[ForecastCase], today: dt.date, durations: Mapping[Stage, int],
             probability_bp: Mapping[Stage, int] = DEFAULT_PROBABILITY_BP,
             scenarios: Sequence[Scenario] = SCENARIOS, quarters: int = 12) -> Forecast:
    """Expected bequest income per quarter, from the quarter of `today` on, per scenario.

    Each open case contributes its remaining estimate (estimate − received, never negative) × the
    probability of its stage × the scenario's value share, rounded per case and scenario; quarter totals
    are sums of those rounded amounts, so they add up exactly.
    """
    first = quarter_start(today)
    starts = [add_quarters(first, n) for n in range(quarters)]
    end = add_quarters(first, quarters)
    names = [s.name for s in scenarios]
    buckets = {q: dict.fromkeys(names, 0) for q in starts}
    beyond, undated = dict.fromkeys(names, 0), dict.fromkeys(names, 0)
    lines = []
    for case in cases:
        if case.stage in TERMINAL:
            continue
        remaining = max(case.estimate_minor - case.received_minor, 0)
        prob = probability_bp[case.stage]
        expected: dict[str, tuple[dt.date, int]] = {}
        for sc in scenarios:
            amount = expected_amount(remaining, prob, sc.value_pct)
            when = expected_receipt(case.stage, case.stage_since, today, case.kind, durations,
                                    sc.duration_pct, case.resume)
            expected[sc.name] = (when, amount)
            if case.waits_for_life_tenant:
                undated[sc.name] += amount
            elif when >= end:
                beyond[sc.name] += amount
            else:
                buckets[quarter_start(when)][sc.name] += amount
        lines.append(CaseForecast(case.case_id, remaining, prob, expected))
    return Forecast(today, [QuarterForecast(quarter_label(q), q, buckets[q]) for q in starts], beyond, undated,
                    lines)


# --- follow-up ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpRule:
    max_days: int  # a case may sit this long in the stage before someone acts
    task: str
    text: str


FOLLOW_UP: Mapping[Stage, FollowUpRule] = {
    Stage.NOTIFIED: FollowUpRule(30, "chase_documents",
                                 "Ask the notary for the will, death certificate and verklaring van erfrecht"),
    Stage.DOCUMENTS: FollowUpRule(60, "ask_administration_status",
                                  "Ask the executor how the administration of the estate is going"),
    Stage.ADMINISTRATION: FollowUpRule(180, "ask_interim_account",
                                       "Ask the executor for an interim account and an advance"),
    Stage.INTERIM: FollowUpRule(180, "ask_estate_accounts",
                                "Ask the executor for the estate accounts (rekening en verantwoording)"),
    Stage.ESTATE_ACCOUNTS: FollowUpRule(60, "chase_final_distribution",
                                        "Approve the accounts and chase the final distribution"),
    Stage.FINAL: FollowUpRule(60, "check_final_receipt",
                              "Check the final distribution arrived in full and close the case"),
    Stage.DISPUTED: FollowUpRule(90, "review_dispute", "Review the dispute with the notary or lawyer"),
}
TASK_GRACE_DAYS = 14


@dataclass(frozen=True)
class FollowUpDue:
    task: str
    text: str
    due_on: dt.date


def follow_up_due(stage: Stage | str, since: dt.date, on: dt.date,
                  rules: Mapping[Stage, FollowUpRule] = FOLLOW_UP,
                  grace_days: int = TASK_GRACE_DAYS) -> FollowUpDue | None:
    """A task when a case has sat more than the stage's limit since `since` (the later of the day it
    entered the stage and the day the last task of this kind was done); due `grace_days` later."""
    rule = rules.get(Stage(stage))
    if rule is None or (on - since).days <= rule.max_days:
        return None
    return FollowUpDue(rule.task, rule.text, on + dt.timedelta(days=grace_days))


def is_overdue(stage: Stage | str, stage_since: dt.date, on: dt.date,
               rules: Mapping[Stage, FollowUpRule] = FOLLOW_UP) -> bool:
    rule = rules.get(Stage(stage))
    return rule is not None and (on - stage_since).days > rule.max_days
