"""Fundraising metrics (domain rules §7) as pure functions over per-donor-per-year totals.

A donor's history is a mapping year -> YearTotal of their non-reversed gifts. Every yearly figure the
admin shows is a sum of per-donor *contributions* (`contributions`), which is what lets the ledger
services keep a yearly summary current by adding the difference a change makes to one donor, and what
lets the SQL version in `donorcrm.reports.growth` be checked against these functions.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class YearTotal:
    """One donor's non-reversed gifts in one calendar year."""

    amount_minor: int
    gifts: int = 1
    first_on: dt.date | None = None  # date of the first such gift in that year
    # Campaign of that first gift (None: no campaign, or matching funds, which acquire nobody).
    first_campaign_id: int | None = None


History = Mapping[int, YearTotal]
Key = tuple[int, str, int]  # (year, metric, part); part is a cohort year or a month, else 0

# Additive counters kept per (year, metric, part).
DONORS = "donors"
AMOUNT = "amount"
NEW = "new_donors"
NEW_AMOUNT = "new_amount"
NEW_BY_MONTH = "new_by_month"  # part = month of the first-ever gift
RETAINED = "retained_donors"
RETAINED_AMOUNT = "retained_amount"  # their money in Y
RETAINED_PREV_AMOUNT = "retained_prev_amount"  # their money in Y-1
UPGRADED = "upgraded_donors"
UPGRADE_INCREASE = "upgrade_increase"
DOWNGRADED = "downgraded_donors"
DOWNGRADE_DECREASE = "downgrade_decrease"
NEW_RETAINED = "new_retained"  # first gift in Y-1 and gave in Y
REPEAT_RETAINED = "repeat_retained"  # gave in Y-1 and before, and in Y
RECAPTURED = "recaptured_donors"
RECAPTURED_AMOUNT = "recaptured_amount"
LAPSED = "lapsed_donors"  # gave in Y-1, not in Y
LAPSED_AMOUNT = "lapsed_amount"  # their money in Y-1
COHORT_DONORS = "cohort_donors"  # part = first-gift year
COHORT_AMOUNT = "cohort_amount"
NEW_BY_CAMPAIGN = "new_by_campaign"  # part = campaign of the first-ever gift (0: none)
NEW_BY_CAMPAIGN_KEPT = "new_by_campaign_kept"  # of those, gave again the next calendar year

COUNTERS = (
    DONORS, AMOUNT, NEW, NEW_AMOUNT, NEW_BY_MONTH, RETAINED, RETAINED_AMOUNT, RETAINED_PREV_AMOUNT, UPGRADED,
    UPGRADE_INCREASE, DOWNGRADED, DOWNGRADE_DECREASE, NEW_RETAINED, REPEAT_RETAINED, RECAPTURED,
    RECAPTURED_AMOUNT, LAPSED, LAPSED_AMOUNT, COHORT_DONORS, COHORT_AMOUNT, NEW_BY_CAMPAIGN, NEW_BY_CAMPAIGN_KEPT,
)


def active_years(history: History) -> list[int]:
    return sorted(y for y, t in history.items() if t.amount_minor > 0)


def contributions(history: History) -> Counter[Key]:
    """What one donor adds to every yearly counter. Lapsing counts in the year after the last gift."""
    out: Counter[Key] = Counter()
    tally(history, out)
    return out


def tally(history: History, into: dict[Key, int], sign: int = 1) -> None:
    """Add (sign 1) or take away (sign -1) one donor's contributions to the counters in `into`.

    The same figures as `contributions`, accumulated in place: a batch of ledger changes sums the new
    histories' contributions minus the old ones' without a Counter per donor.
    """
    years = active_years(history)
    if not years:
        return
    get = into.get
    first = years[0]
    active = set(years)
    for y in years:
        amount = history[y].amount_minor
        counted = [((y, DONORS, 0), 1), ((y, AMOUNT, 0), amount), ((y, COHORT_DONORS, first), 1),
                   ((y, COHORT_AMOUNT, first), amount)]
        if y == first:
            counted += [((y, NEW, 0), 1), ((y, NEW_AMOUNT, 0), amount)]
            first_on = history[y].first_on
            if first_on is not None:
                counted.append(((y, NEW_BY_MONTH, first_on.month), 1))
            campaign = history[y].first_campaign_id or 0
            counted.append(((y, NEW_BY_CAMPAIGN, campaign), 1))
            if y + 1 in active:
                counted.append(((y, NEW_BY_CAMPAIGN_KEPT, campaign), 1))
        elif y - 1 in active:
            prev = history[y - 1].amount_minor
            counted += [((y, RETAINED, 0), 1), ((y, RETAINED_AMOUNT, 0), amount), ((y, RETAINED_PREV_AMOUNT, 0), prev)]
            if amount > prev:
                counted += [((y, UPGRADED, 0), 1), ((y, UPGRADE_INCREASE, 0), amount - prev)]
            elif amount < prev:
                counted += [((y, DOWNGRADED, 0), 1), ((y, DOWNGRADE_DECREASE, 0), prev - amount)]
            counted.append(((y, NEW_RETAINED if y - 1 == first else REPEAT_RETAINED, 0), 1))
        else:
            counted += [((y, RECAPTURED, 0), 1), ((y, RECAPTURED_AMOUNT, 0), amount)]
        if y + 1 not in active:
            counted += [((y + 1, LAPSED, 0), 1), ((y + 1, LAPSED_AMOUNT, 0), amount)]
        for key, value in counted:
            into[key] = get(key, 0) + sign * value


def counters(histories: Iterable[History]) -> Counter[Key]:
    total: Counter[Key] = Counter()
    for h in histories:
        tally(h, total)
    return total


def delta(before: History, after: History) -> Counter[Key]:
    """The change one donor's new history makes to the yearly counters (zero entries dropped)."""
    diff: dict[Key, int] = {}
    tally(after, diff)
    tally(before, diff, -1)
    return Counter({k: v for k, v in diff.items() if v != 0})


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


@dataclass(frozen=True)
class YearGrowth:
    """The §7 figures for one year, derived from the counters; ratios are exact fractions or None."""

    year: int
    donors: int
    total_minor: int
    previous_donors: int
    previous_total_minor: int
    new: int
    retained: int
    recaptured: int
    lapsed: int
    new_minor: int
    recaptured_minor: int
    upgrade_minor: int
    downgrade_minor: int
    lapsed_minor: int
    retained_minor: int
    retained_previous_minor: int
    new_retained: int
    new_base: int  # donors whose first gift was in Y-1
    repeat_retained: int
    repeat_base: int  # donors of Y-1 who had given before Y-1
    upgraded: int
    downgraded: int

    @property
    def gains_minor(self) -> int:
        return self.new_minor + self.recaptured_minor + self.upgrade_minor

    @property
    def losses_minor(self) -> int:
        return self.downgrade_minor + self.lapsed_minor

    @property
    def net_minor(self) -> int:
        return self.gains_minor - self.losses_minor

    @property
    def retention(self) -> Fraction | None:
        return _ratio(self.retained, self.previous_donors)

    @property
    def new_donor_retention(self) -> Fraction | None:
        return _ratio(self.new_retained, self.new_base)

    @property
    def repeat_donor_retention(self) -> Fraction | None:
        return _ratio(self.repeat_retained, self.repeat_base)

    @property
    def dollar_retention(self) -> Fraction | None:
        return _ratio(self.retained_minor, self.retained_previous_minor)

    @property
    def average_gift_per_donor_minor(self) -> Fraction | None:
        return _ratio(self.total_minor, self.donors)

    @property
    def lifetime_value_minor(self) -> Fraction | None:
        return lifetime_value(self.average_gift_per_donor_minor, self.retention)


def lifetime_value(average_yearly_minor: Fraction | None, retention: Fraction | None) -> Fraction | None:
    """Average yearly giving × 1 / (1 − retention); undefined without data or at 100% retention."""
    if average_yearly_minor is None or retention is None or retention >= 1:
        return None
    return average_yearly_minor / (1 - retention)


def year_growth(c: Mapping[Key, int], year: int) -> YearGrowth:
    def g(metric: str, y: int = year, part: int = 0) -> int:
        return int(c.get((y, metric, part), 0))

    return YearGrowth(
        year=year, donors=g(DONORS), total_minor=g(AMOUNT), previous_donors=g(DONORS, year - 1),
        previous_total_minor=g(AMOUNT, year - 1), new=g(NEW), retained=g(RETAINED), recaptured=g(RECAPTURED),
        lapsed=g(LAPSED), new_minor=g(NEW_AMOUNT), recaptured_minor=g(RECAPTURED_AMOUNT),
        upgrade_minor=g(UPGRADE_INCREASE), downgrade_minor=g(DOWNGRADE_DECREASE), lapsed_minor=g(LAPSED_AMOUNT),
        retained_minor=g(RETAINED_AMOUNT), retained_previous_minor=g(RETAINED_PREV_AMOUNT),
        new_retained=g(NEW_RETAINED), new_base=g(NEW, year - 1), repeat_retained=g(REPEAT_RETAINED),
        repeat_base=g(DONORS, year - 1) - g(NEW, year - 1), upgraded=g(UPGRADED), downgraded=g(DOWNGRADED),
    )


def growth(histories: Iterable[History], years: Iterable[int]) -> list[YearGrowth]:
    """The §7 figures per year straight from donor histories (the reference the SQL is tested against)."""
    c = counters(histories)
    return [year_growth(c, y) for y in years]


def lybunt(histories: Mapping[int, History], year: int) -> set[int]:
    """Donors who gave last year but not (yet) this year."""
    return {d for d, h in histories.items() if year - 1 in active_years(h) and year not in active_years(h)}


def sybunt(histories: Mapping[int, History], year: int, *, include_last_year: bool = False) -> set[int]:
    """Donors who gave some year before this one but not this year; by default not those of last year."""
    out = set()
    for d, h in histories.items():
        years = active_years(h)
        if year in years:
            continue
        earlier = [y for y in years if y < year]
        if not earlier:
            continue
        if not include_last_year and year - 1 in years:
            continue
        out.add(d)
    return out


class GrowthTally:
    """The yearly counters of `counters` for donors whose whole history arrives year by year, oldest first.

    A bulk load (the demo) knows each year's per-donor totals while it writes them; tallying them here keeps
    three numbers per donor instead of every history, so a few million donors fit in memory. Same result as
    `counters(histories)`: that is what the tests hold it to.
    """

    def __init__(self) -> None:
        self.out: Counter[Key] = Counter()
        # Indexed by donor id (0 = no gift yet): 12 bytes a donor instead of three dictionary entries.
        self.first_year = array("H")
        self.last_year = array("H")
        self.last_amount = array("q")
        self.first_campaign = array("q")  # campaign of the first-ever gift, 0 for none
        self.previous: tuple[int, int, int] | None = None  # (year, donors, amount) of the last year added

    def add_year(self, year: int, totals: Iterable[tuple[int, int, dt.date | None, int | None]]) -> None:
        """One year's (donor id, amount, first gift date, campaign of that gift) of every donor with
        non-reversed gifts that year."""
        if self.previous is not None and year <= self.previous[0]:
            raise ValueError(f"years must be added in ascending order: {year} after {self.previous[0]}")
        out, first_year, last_year, last_amount = self.out, self.first_year, self.last_year, self.last_amount
        first_campaign = self.first_campaign
        donors = amount_total = 0
        retained = retained_prev = 0
        for donor, amount, first_on, campaign in totals:
            if amount <= 0:
                continue
            donors += 1
            amount_total += amount
            if donor >= len(first_year):
                self._grow(donor)
            first = first_year[donor]
            if not first:
                first = first_year[donor] = year
                out[(year, NEW, 0)] += 1
                out[(year, NEW_AMOUNT, 0)] += amount
                if first_on is not None:
                    out[(year, NEW_BY_MONTH, first_on.month)] += 1
                first_campaign[donor] = campaign or 0
                out[(year, NEW_BY_CAMPAIGN, campaign or 0)] += 1
            elif last_year[donor] == year - 1:
                prev = last_amount[donor]
                retained += 1
                retained_prev += prev
                out[(year, RETAINED_AMOUNT, 0)] += amount
                if amount > prev:
                    out[(year, UPGRADED, 0)] += 1
                    out[(year, UPGRADE_INCREASE, 0)] += amount - prev
                elif amount < prev:
                    out[(year, DOWNGRADED, 0)] += 1
                    out[(year, DOWNGRADE_DECREASE, 0)] += prev - amount
                if first == year - 1:
                    out[(year, NEW_RETAINED, 0)] += 1
                    out[(first, NEW_BY_CAMPAIGN_KEPT, first_campaign[donor])] += 1
                else:
                    out[(year, REPEAT_RETAINED, 0)] += 1
            else:
                out[(year, RECAPTURED, 0)] += 1
                out[(year, RECAPTURED_AMOUNT, 0)] += amount
            out[(year, COHORT_DONORS, first)] += 1
            out[(year, COHORT_AMOUNT, first)] += amount
            last_year[donor] = year
            last_amount[donor] = amount
        out[(year, DONORS, 0)] += donors
        out[(year, AMOUNT, 0)] += amount_total
        out[(year, RETAINED, 0)] += retained
        out[(year, RETAINED_PREV_AMOUNT, 0)] += retained_prev
        self._lapse(year, retained, retained_prev)
        self.previous = (year, donors, amount_total)

    def _grow(self, donor: int) -> None:
        more = max(donor + 1, 2 * len(self.first_year)) - len(self.first_year)
        self.first_year.extend(array("H", [0]) * more)
        self.last_year.extend(array("H", [0]) * more)
        self.last_amount.extend(array("q", [0]) * more)
        self.first_campaign.extend(array("q", [0]) * more)

    def _lapse(self, year: int | None, retained: int = 0, retained_prev: int = 0) -> None:
        """Last added year's donors who did not give in the year after it lapse in that next year."""
        if self.previous is None:
            return
        prev_year, donors, amount = self.previous
        if year != prev_year + 1:
            retained = retained_prev = 0
        self.out[(prev_year + 1, LAPSED, 0)] += donors - retained
        self.out[(prev_year + 1, LAPSED_AMOUNT, 0)] += amount - retained_prev

    def counters(self) -> Counter[Key]:
        """The counters so far, with the last year's donors lapsing in the year after (non-zero entries)."""
        out = Counter(self.out)
        if self.previous is not None:
            prev_year, donors, amount = self.previous
            out[(prev_year + 1, LAPSED, 0)] += donors
            out[(prev_year + 1, LAPSED_AMOUNT, 0)] += amount
        return Counter({k: v for k, v in out.items() if v})
