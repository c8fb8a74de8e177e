"""Pure rules for institutional income: stages, schedules, settlement arithmetic, co-funding, reminders.

No sessions here: every function takes plain values so it can be tested by the hundred without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from donorcrm.errors import InvalidState, Problem, ValidationError
from donorcrm.gifts.categories import IncomeCategory
from donorcrm.grants.models import FunderKind, GrantStage, ReminderLevel, ReminderSubject
from donorcrm.money import Money, total

# --- funders -----------------------------------------------------------------------------------------

FUNDER_CATEGORY: dict[FunderKind, IncomeCategory] = {
    FunderKind.LOTTERY: IncomeCategory.LOTTERY,
    FunderKind.PRIVATE_FUND: IncomeCategory.OTHER_NONPROFIT,
    FunderKind.MINISTRY: IncomeCategory.GOVERNMENT,
    FunderKind.MUNICIPALITY: IncomeCategory.GOVERNMENT,
    FunderKind.EU: IncomeCategory.GOVERNMENT,
    FunderKind.COMPANY: IncomeCategory.COMPANY,
    FunderKind.AFFILIATED: IncomeCategory.AFFILIATED_NONPROFIT,
}


def category_for(kind: FunderKind | str) -> IncomeCategory:
    """The annual-accounts line (RJ 650) a funder's money belongs to."""
    try:
        return FUNDER_CATEGORY[FunderKind(kind)]
    except ValueError:
        raise ValidationError(f"unknown funder kind {kind!r}; use one of {', '.join(FunderKind)}") from None


# --- stages ------------------------------------------------------------------------------------------

TRANSITIONS: dict[GrantStage, frozenset[GrantStage]] = {
    GrantStage.DRAFT: frozenset({GrantStage.APPLIED, GrantStage.WITHDRAWN}),
    GrantStage.APPLIED: frozenset({GrantStage.AWARDED, GrantStage.REJECTED, GrantStage.WITHDRAWN}),
    GrantStage.AWARDED: frozenset({GrantStage.SETTLEMENT_REQUESTED, GrantStage.SETTLED}),
    GrantStage.SETTLEMENT_REQUESTED: frozenset({GrantStage.SETTLED}),
    # A settled grant may be settled again (lowered) within the revision period, even after closing.
    GrantStage.SETTLED: frozenset({GrantStage.SETTLED, GrantStage.CLOSED}),
    GrantStage.CLOSED: frozenset({GrantStage.SETTLED}),
    GrantStage.REJECTED: frozenset(),
    GrantStage.WITHDRAWN: frozenset(),
}

# Stages in which the funder may still pay us.
RECEIVING_STAGES = frozenset({GrantStage.AWARDED, GrantStage.SETTLEMENT_REQUESTED, GrantStage.SETTLED})
# Stages in which the grant carries obligations (reports, co-funding).
LIVE_STAGES = RECEIVING_STAGES


def check_transition(current: GrantStage | str, target: GrantStage | str) -> None:
    current, target = GrantStage(current), GrantStage(target)
    if target not in TRANSITIONS[current]:
        raise InvalidState(f"a grant cannot go from {current} to {target}")


# --- schedules ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedInstalment:
    due_on: dt.date
    amount: Money
    condition: str = ""
    schedule_year: int | None = None


def advance_and_rest(
    awarded: Money, *, advance_percent: int = 75, advance_on: dt.date, rest_on: dt.date,
    advance_condition: str = "advance on signature", rest_condition: str = "after the final report",
) -> list[PlannedInstalment]:
    """The private-fund pattern: an advance (e.g. 75%) on signature and the rest after the final report."""
    if not 0 < advance_percent <= 100:
        raise ValidationError(f"advance percentage must be 1..100, got {advance_percent}")
    if advance_percent == 100:
        return [PlannedInstalment(advance_on, awarded, advance_condition)]
    advance, rest = awarded.allocate([advance_percent, 100 - advance_percent])
    return [PlannedInstalment(advance_on, advance, advance_condition),
            PlannedInstalment(rest_on, rest, rest_condition)]


def _safe_date(year: int, month: int, day: int) -> dt.date:
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            day -= 1


def yearly_schedules(
    yearly: Money, *, first_year: int, years: int, pattern: Sequence[tuple[int, int, int]] = ((3, 1, 1),),
    condition: str = "",
) -> list[PlannedInstalment]:
    """One schedule per year of a multi-year award: `pattern` lists (month, day, weight) of each year's payments.

    The weights split the yearly amount exactly (the parts add up to it), e.g. ((1, 15, 1), (7, 15, 1)) pays
    twice a year in halves.
    """
    if years < 1:
        raise ValidationError("a multi-year award needs at least one year")
    if not pattern:
        raise ValidationError("a yearly schedule needs at least one payment")
    out: list[PlannedInstalment] = []
    for year in range(first_year, first_year + years):
        parts = yearly.allocate([w for (_m, _d, w) in pattern])
        for (month, day, _w), part in zip(pattern, parts, strict=True):
            if part.minor > 0:
                out.append(PlannedInstalment(_safe_date(year, month, day), part, condition, year))
    return out


def schedule_problems(awarded: Money, planned: Iterable[Money]) -> list[Problem]:
    """A schedule may not promise more than was awarded."""
    amounts = list(planned)
    problems = [Problem(f"instalment {i}", "amount must be positive") for i, a in enumerate(amounts, 1)
                if a.minor <= 0]
    planned_total = total(amounts, awarded.currency)
    if planned_total > awarded:
        problems.append(Problem("schedule", f"instalments add up to {planned_total}, more than awarded {awarded}"))
    return problems


# --- money and settlement ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoneyPosition:
    """What a grant stands at. `received` is the cash the funder paid; `income` what the ledger keeps of it."""

    awarded: Money
    settled: Money | None
    received: Money
    income: Money
    to_receive: Money
    to_repay: Money
    repaid: Money


def money_position(
    awarded: Money, *, ledger_income: Money, settled: Money | None = None,
    claims_open: Money | None = None, claims_paid: Money | None = None,
) -> MoneyPosition:
    """Settlement corrections lower ledger income by exactly the repayment claimed, so cash received is
    ledger income plus every claim; what is still to come is the settled (or awarded) amount less income."""
    zero = Money.zero(awarded.currency)
    claims_open = claims_open or zero
    claims_paid = claims_paid or zero
    basis = settled if settled is not None else awarded
    to_receive = basis - ledger_income if ledger_income < basis else zero
    # Before settlement, cash above the award is also owed back, even though no claim exists yet.
    excess = ledger_income - basis if ledger_income > basis else zero
    return MoneyPosition(
        awarded=awarded, settled=settled, received=ledger_income + claims_open + claims_paid,
        income=ledger_income, to_receive=to_receive, to_repay=claims_open + excess, repaid=claims_paid,
    )


@dataclass(frozen=True, slots=True)
class Settlement:
    settled: Money
    to_receive: Money  # the final payment still due from the funder
    to_repay: Money  # advances above the settled amount, claimed back


def settle_amounts(awarded: Money, settled: Money, received: Money) -> Settlement:
    """Settled is at most awarded; advances above it are repaid, a shortfall below it is still paid out."""
    if settled.currency != awarded.currency or received.currency != awarded.currency:
        raise ValidationError("settlement amounts must be in the grant's currency")
    if settled.minor < 0:
        raise ValidationError(f"settled amount cannot be negative, got {settled}")
    if settled > awarded:
        raise ValidationError(f"settled amount {settled} is more than the awarded {awarded}")
    zero = Money.zero(awarded.currency)
    return Settlement(
        settled=settled,
        to_receive=settled - received if settled > received else zero,
        to_repay=received - settled if received > settled else zero,
    )


@dataclass(frozen=True, slots=True)
class LedgerCorrection:
    """Which grant gifts to reverse and what to book again so that ledger income drops by exactly `repay`."""

    reverse_gift_ids: tuple[int, ...]
    rebook: Money


def correction_plan(gifts: Sequence[tuple[int, Money]], repay: Money) -> LedgerCorrection:
    """Reverse the latest gifts (given newest first) until they cover the repayment; rebook the remainder.

    The ledger is append-only and a gift reverses whole, so a partial repayment becomes: reverse, then book
    the part that stays as a new gift.
    """
    zero = Money.zero(repay.currency)
    if repay.minor <= 0:
        return LedgerCorrection((), zero)
    chosen: list[int] = []
    covered = zero
    for gift_id, amount in gifts:
        if covered >= repay:
            break
        chosen.append(gift_id)
        covered = covered + amount
    if covered < repay:
        raise InvalidState(f"repayment {repay} is more than the {covered} received for this grant")
    return LedgerCorrection(tuple(chosen), covered - repay)


# --- co-funding --------------------------------------------------------------------------------------


def cofunding_required(
    *, basis_points: int | None, fixed: Money | None, budget: Money | None, currency: str = "EUR",
) -> Money:
    """A fixed amount, or a percentage of the project budget rounded up to the cent (never under-state it)."""
    if basis_points is not None and fixed is not None:
        raise ValidationError("co-funding is a percentage or an amount, not both")
    if fixed is not None:
        return fixed
    if basis_points is None:
        return Money.zero(currency)
    if not 0 < basis_points <= 10_000:
        raise ValidationError(f"co-funding percentage must be above 0 and at most 100, got {basis_points / 100}")
    if budget is None:
        raise ValidationError("a co-funding percentage needs the project budget")
    return budget.scale(Decimal(basis_points) / Decimal(10_000), rounding=ROUND_CEILING)


def percent_to_basis_points(text: str | Decimal | int) -> int:
    """"25" or "12.5" percent as basis points (2500, 1250); finer precision is refused rather than rounded."""
    value = Decimal(str(text).strip().rstrip("%")) * 100
    if value != value.to_integral_value():
        raise ValidationError(f"percentage {text} has more than two decimals")
    return int(value)


@dataclass(frozen=True, slots=True)
class CofundingPosition:
    required: Money
    covered: Money
    shortfall: Money

    @property
    def met(self) -> bool:
        return self.shortfall.minor == 0


def cofunding_position(required: Money, allocations: Iterable[Money]) -> CofundingPosition:
    covered = total(list(allocations), required.currency)
    shortfall = required - covered if covered < required else Money.zero(required.currency)
    return CofundingPosition(required, covered, shortfall)


# --- reminders ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueItem:
    """Something a grant expects by a date: a report to send, an instalment to receive, a repayment to make."""

    subject: ReminderSubject
    subject_id: int
    grant_id: int
    due_on: dt.date
    label: str


@dataclass(frozen=True, slots=True)
class ReminderDecision:
    item: DueItem
    level: ReminderLevel

    def message(self, today: dt.date) -> str:
        days = (self.item.due_on - today).days
        when = (f"due in {days} days" if days > 0 else "due today") if days >= 0 else f"{-days} days overdue"
        prefix = {"upcoming": "Reminder", "overdue": "Overdue", "escalated": "ESCALATED"}[self.level]
        return f"{prefix}: {self.item.label}, {when} ({self.item.due_on.isoformat()})"


def reminder_level(due_on: dt.date, today: dt.date, *, horizon_days: int = 30,
                   escalate_after_days: int = 14) -> ReminderLevel | None:
    """Upcoming within the horizon (today included), overdue after the date, escalated when long overdue."""
    days = (due_on - today).days
    if days < -escalate_after_days:
        return ReminderLevel.ESCALATED
    if days < 0:
        return ReminderLevel.OVERDUE
    if days <= horizon_days:
        return ReminderLevel.UPCOMING
    return None


def select_reminders(
    items: Iterable[DueItem], today: dt.date, *, horizon_days: int = 30, escalate_after_days: int = 14,
    existing: set[tuple[str, int, str]] | frozenset[tuple[str, int, str]] = frozenset(),
) -> list[ReminderDecision]:
    """The reminders to create today: one per item at its current level, unless that one exists already."""
    out: list[ReminderDecision] = []
    for item in items:
        level = reminder_level(item.due_on, today, horizon_days=horizon_days,
                               escalate_after_days=escalate_after_days)
        if level is None or (str(item.subject), item.subject_id, str(level)) in existing:
            continue
        out.append(ReminderDecision(item, level))
    return out
