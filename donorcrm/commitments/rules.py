"""What is due: pure planning of recurring collections, and the checks of Dutch periodic-gift agreements.

Everything here works on plain immutable records (no Session), so the planner can be tested by the
hundred with hypothesis and run over a million commitments in one pass. The records the planner makes
or reads once per commitment are named tuples: a million of them cost a fraction of frozen dataclasses.

The planning model:

* A commitment's periods are anchored at the month it starts: monthly, quarterly, half-yearly or yearly
  periods begin in its start month and every 1, 3, 6 or 12 months after.
* A period's *nominal date* is its collection day (1..28) in the period's first month.
* A run on date D collects the periods whose nominal date lies in the *target month* (the month
  ``months_ahead`` after D's month). Its due date is the nominal date, moved later to respect the
  pre-notification lead time and then to the next TARGET2 business day.
* A period is collected at most once per attempt; retries (after a return the policy retries) come in
  the next run as attempt 2, 3, ...
* An amount change effective on date E applies to every period whose nominal date is on or after E.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from donorcrm.commitments.models import MONTHS_PER_PERIOD, CommitmentStatus, Frequency
from donorcrm.errors import Problem
from donorcrm.sepa.calendar import next_business_day

MANDATE_EXPIRY_MONTHS = 36
_ACTIVE = str(CommitmentStatus.ACTIVE)  # a plain string compares faster than the enum member


class SequenceType(StrEnum):
    FRST = "FRST"
    RCUR = "RCUR"
    OOFF = "OOFF"
    FNAL = "FNAL"


class CommitmentTerms(NamedTuple):
    id: int
    donor_id: int
    status: str
    frequency: str
    collection_day: int
    starts_on: dt.date
    ends_on: dt.date | None
    amount_minor: int
    currency: str = "EUR"
    # (effective_from, amount_minor) history; the latest effective row on a period's nominal date applies.
    amounts: tuple[tuple[dt.date, int], ...] = ()


class MandateTerms(NamedTuple):
    id: int
    commitment_id: int
    status: str  # active, cancelled, expired
    kind: str  # recurrent, one_off
    signed_on: dt.date
    last_presented_on: dt.date | None
    amended_to_other_bank: bool = False


@dataclass(frozen=True, slots=True)
class PlanSettings:
    prenotification_days: int = 14
    first_as_frst: bool = False
    months_ahead: int = 1
    expiry_months: int = MANDATE_EXPIRY_MONTHS


class PlannedCollection(NamedTuple):
    commitment_id: int
    mandate_id: int
    donor_id: int
    period: dt.date  # first day of the period's first month
    attempt: int
    amount_minor: int
    currency: str
    sequence_type: str
    due_on: dt.date


# -- dates -------------------------------------------------------------------------------------------

def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clipped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month0 + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def target_month(run_on: dt.date, settings: PlanSettings) -> dt.date:
    return add_months(month_start(run_on), settings.months_ahead)


def is_period_month(terms: CommitmentTerms, month: dt.date) -> bool:
    step = MONTHS_PER_PERIOD[Frequency(terms.frequency)]
    diff = (month.year - terms.starts_on.year) * 12 + month.month - terms.starts_on.month
    return diff >= 0 and diff % step == 0


def nominal_date(terms: CommitmentTerms, period: dt.date) -> dt.date:
    return period.replace(day=max(1, min(terms.collection_day, 28)))


def amount_on(terms: CommitmentTerms, day: dt.date) -> int:
    if len(terms.amounts) == 1 and terms.amounts[0][0] <= day:  # the usual history: one amount, in force
        return terms.amounts[0][1]
    amount = terms.amount_minor if not terms.amounts else None
    best: dt.date | None = None
    for effective_from, value in terms.amounts:
        if effective_from <= day and (best is None or effective_from > best):
            best, amount = effective_from, value
    if amount is None:  # every change lies in the future: the earliest known amount applies
        amount = min(terms.amounts)[1]
    return amount


def due_date(nominal: dt.date, run_on: dt.date, settings: PlanSettings) -> dt.date:
    earliest = run_on + dt.timedelta(days=settings.prenotification_days)
    return next_business_day(max(nominal, earliest))


@lru_cache(maxsize=8192)  # a run asks for the same few (signed, last presented) pairs a million times
def mandate_expires_on(signed_on: dt.date, last_presented_on: dt.date | None,
                       months: int = MANDATE_EXPIRY_MONTHS) -> dt.date:
    """The first day on which a mandate may no longer be collected (§1.5: 36 months without a
    presented collection, counted from the due date of the last presented one even if it was returned)."""
    return add_months(last_presented_on or signed_on, months)


def sequence_type(mandate: MandateTerms, settings: PlanSettings) -> SequenceType:
    if mandate.kind == "one_off":
        return SequenceType.OOFF
    if settings.first_as_frst and (mandate.last_presented_on is None or mandate.amended_to_other_bank):
        return SequenceType.FRST
    return SequenceType.RCUR


def mandate_usable(mandate: MandateTerms, due_on: dt.date, settings: PlanSettings) -> bool:
    if mandate.status != "active" or mandate.signed_on > due_on:
        return False
    if mandate.kind == "one_off" and mandate.last_presented_on is not None:
        return False
    return due_on < mandate_expires_on(mandate.signed_on, mandate.last_presented_on, settings.expiry_months)


def commitment_collectable(terms: CommitmentTerms, nominal: dt.date) -> bool:
    if terms.status != _ACTIVE:
        return False
    if nominal < terms.starts_on:
        return False
    return terms.ends_on is None or nominal <= terms.ends_on


# -- the planner -------------------------------------------------------------------------------------

def plan(
    run_on: dt.date,
    commitments: Iterable[CommitmentTerms],
    mandates: Mapping[int, MandateTerms],
    settings: PlanSettings,
    done: Set[tuple[int, dt.date]] = frozenset(),
    retries: Mapping[tuple[int, dt.date], int] | None = None,
) -> list[PlannedCollection]:
    """Exactly what the run on ``run_on`` collects, in file order (due date, sequence type, commitment,
    period, attempt).

    ``mandates`` maps commitment id to the mandate that collects it. ``done`` holds (commitment, period)
    pairs that already have a collection; ``retries`` maps (commitment, period) to the next attempt
    number for periods whose last attempt was returned with a retry decision.

    Work shared by many commitments is done once: the nominal and due dates per collection day, the
    sequence type per kind of mandate, the expiry per (signed, last presented) pair.
    """
    month = target_month(run_on, settings)
    retries = retries or {}
    retry_by_commitment: dict[int, list[tuple[dt.date, int]]] = {}
    for (cid, period), attempt in retries.items():
        retry_by_commitment.setdefault(cid, []).append((period, attempt))
    active = _ACTIVE
    monthly = str(Frequency.MONTHLY)
    new = tuple.__new__
    due_by_day: dict[int, tuple[dt.date, dt.date]] = {}  # collection day -> (nominal, due) in the target month
    seq_by_kind: dict[tuple[str, bool], str] = {}  # (mandate kind, first presentation) -> sequence type
    # file order: (due date, sequence type) -> collections, later sorted by commitment, period, attempt
    groups: dict[tuple[dt.date, str], list[PlannedCollection]] = {}
    for terms in commitments:
        mandate = mandates.get(terms.id)
        if mandate is None or terms.status != active:
            continue
        first = mandate.last_presented_on is None or mandate.amended_to_other_bank
        seq = seq_by_kind.get((mandate.kind, first))
        if seq is None:
            seq = seq_by_kind[(mandate.kind, first)] = sequence_type(mandate, settings)
        if terms.id in retry_by_commitment:
            for period, attempt in sorted(retry_by_commitment[terms.id]):
                nominal = nominal_date(terms, period)
                due = due_date(nominal, run_on, settings)
                if commitment_collectable(terms, nominal) and mandate_usable(mandate, due, settings):
                    groups.setdefault((due, seq), []).append(new(PlannedCollection, (
                        terms.id, mandate.id, terms.donor_id, period, attempt, amount_on(terms, nominal),
                        terms.currency, seq, due)))
        if (terms.frequency != monthly or terms.starts_on > month) and not is_period_month(terms, month):
            continue
        if (terms.id, month) in done:
            continue
        dates = due_by_day.get(terms.collection_day)
        if dates is None:
            nominal = nominal_date(terms, month)
            dates = due_by_day[terms.collection_day] = (nominal, due_date(nominal, run_on, settings))
        nominal, due = dates
        if nominal < terms.starts_on or (terms.ends_on is not None and nominal > terms.ends_on):
            continue  # outside the commitment's term (its status was checked above)
        if not mandate_usable(mandate, due, settings):
            continue
        amount = amount_on(terms, nominal)
        if amount <= 0:
            continue
        group = groups.get((due, seq))
        if group is None:
            group = groups[(due, seq)] = []
        group.append(new(PlannedCollection, (terms.id, mandate.id, terms.donor_id, month, 1, amount,
                                             terms.currency, seq, due)))
    out: list[PlannedCollection] = []
    for key in sorted(groups):
        group = groups[key]
        group.sort(key=_GROUP_ORDER)  # commitments usually come in id order: one pass over sorted input
        out.extend(group)
    return out


_GROUP_ORDER = itemgetter(0, 3, 4)  # commitment_id, period, attempt


def end_to_end_id(commitment_id: int, period: dt.date, attempt: int) -> str:
    """Stable across reruns, unique per creditor, at most 35 characters of the SEPA set."""
    return f"DC{commitment_id}{end_to_end_suffix(period, attempt)}"


def end_to_end_suffix(period: dt.date, attempt: int) -> str:
    """The part of the end-to-end id after the commitment: the same for every collection of a period
    and attempt, so a run formats it once."""
    return f"-{_year_month(period)}-{attempt}"


@lru_cache(maxsize=1024)
def _year_month(period: dt.date) -> str:
    return f"{period:%Y%m}"


# -- Dutch periodic-gift agreements (§2) -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AgreementTerms:
    transaction_number: str
    yearly_amount_minor: int
    first_year: int
    term_years: int | None  # None: indefinite
    signed_on: dt.date
    ends_on_death: bool = True


PERIODS_PER_YEAR = {Frequency.MONTHLY: 12, Frequency.QUARTERLY: 4, Frequency.HALF_YEARLY: 2, Frequency.YEARLY: 1}
MIN_TERM_YEARS = 5


def check_agreement(agreement: AgreementTerms, commitment: CommitmentTerms | None = None) -> list[Problem]:
    """The §2 conditions of a periodieke gift; an empty list means the agreement qualifies."""
    problems: list[Problem] = []
    if not agreement.transaction_number.strip():
        problems.append(Problem("transaction_number", "a unique transaction number is required"))
    if agreement.yearly_amount_minor <= 0:
        problems.append(Problem("yearly_amount", "the yearly amount must be positive"))
    if agreement.term_years is not None and agreement.term_years < MIN_TERM_YEARS:
        problems.append(Problem("term_years", f"the term must be at least {MIN_TERM_YEARS} years or indefinite"))
    if agreement.first_year < agreement.signed_on.year:
        problems.append(Problem("first_year", "payments before the agreement was signed never count as periodic"))
    if commitment is not None:
        per_year = PERIODS_PER_YEAR[Frequency(commitment.frequency)]
        if commitment.amount_minor * per_year != agreement.yearly_amount_minor:
            problems.append(Problem(
                "yearly_amount",
                f"the instalments ({commitment.amount_minor} x {per_year}) must equal the fixed yearly amount",
            ))
    return problems


def counts_as_periodic(agreement: AgreementTerms, paid_on: dt.date) -> bool:
    """A payment counts towards the agreement from its first year and signature date on."""
    if paid_on < agreement.signed_on or paid_on.year < agreement.first_year:
        return False
    return agreement.term_years is None or paid_on.year < agreement.first_year + agreement.term_years


def early_stop_downgrades(agreement: AgreementTerms, stopped_on: dt.date, reason: str | None) -> bool:
    """§2.5: stopped within 5 years without an agreed end condition, earlier payments become ordinary gifts."""
    agreed = {"death", "job_loss", "disability", "anbi_loss"}
    within = stopped_on.year < agreement.first_year + MIN_TERM_YEARS
    return within and (reason not in agreed)
