"""Who gives what, when: the demo organisation's population planned in memory before anything is written.

Planning first lets the demo hit the report's counts exactly: the number of donors giving in each year, the
commitments active at each year end, and which donors stay, lapse, come back or are new. Money amounts are
settled later, year by year, when the ledger is written (see steps.py), so that individual income too comes
out exactly on target.

Rules that keep the counts exact:
- a SEPA collection is only ever returned when the same commitment has a later collection that year, and a
  one-off gift only reversed when the donor gives again that year, so reversals never drop a donor from a
  year's count;
- one-off donors are chosen per year as "needed = target - recurring - estates - organisations".
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass, field

from donorcrm.demo import targets as T

FIRST_YEAR, LAST_YEAR = T.YEARS[0], T.YEARS[-1]

# Monthly amounts (cents) of new commitments and their weights: about EUR 8.50 a month on average.
COMMITMENT_AMOUNTS = ((500, 28), (600, 8), (750, 14), (800, 10), (1000, 26), (1250, 5), (1500, 5), (2000, 3),
                      (2500, 1))
COLLECTION_DAYS = ((1, 20), (5, 15), (10, 10), (15, 10), (20, 10), (25, 20), (27, 15))
FREQUENCIES = ((1, 88), (3, 7), (12, 5))  # months per period: monthly, quarterly, yearly
END_REASONS = (("donor_request", 70), ("failed_collections", 12), ("account_closed", 8), ("deceased", 6),
               ("other", 4))
# Weights of one-off gifts per month: appeals in spring, World Refugee Day in June, autumn, and December.
ONE_OFF_MONTHS = (5, 4, 8, 7, 5, 9, 4, 4, 8, 8, 10, 28)
GIFTS_PER_ONE_OFF_DONOR = ((1, 72), (2, 19), (3, 6), (4, 3))
EXTRA_GIFT_SHARE_OF_RECURRING = 0.07
MAJOR_GIFTS_PER_YEAR = 40
AGREEMENT_SHARE = 0.16
UPGRADE_SHARE = 0.09


def scaled(value: float, scale: float, minimum: int = 0) -> int:
    return max(minimum, int(round(value * scale)))


class Weighted:
    """A weighted choice with precomputed cumulative weights (random.choices recomputes them per call)."""

    def __init__(self, table: tuple[tuple[object, int], ...] | list[tuple[object, int]]):
        self.values = [v for v, _ in table]
        self.cum = list(itertools.accumulate(w for _, w in table))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> object:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


def randint(rng: random.Random, a: int, b: int) -> int:
    """rng.randint's range without its overhead (both ends included)."""
    return a + int(rng.random() * (b - a + 1))


_COMMITMENT_AMOUNTS = Weighted(COMMITMENT_AMOUNTS)
_COLLECTION_DAYS = Weighted(COLLECTION_DAYS)
_FREQUENCIES = Weighted(FREQUENCIES)
_END_REASONS = Weighted(END_REASONS)
_GIFTS_PER_ONE_OFF_DONOR = Weighted(GIFTS_PER_ONE_OFF_DONOR)
_MONTH_WEIGHTS = Weighted(tuple(zip(range(1, 13), ONE_OFF_MONTHS, strict=True)))
_START_MONTHS = Weighted(tuple(zip(range(1, 13), (5, 6, 8, 10, 11, 11, 10, 10, 10, 9, 6, 4), strict=True)))
_START_MONTHS_2020 = Weighted(tuple(zip(range(1, 13), (16, 16, 14, 4, 6, 7, 7, 7, 7, 7, 5, 4), strict=True)))
_ACQUISITION = Weighted(((0, 55), (1, 20), (2, 15), (3, 10)))  # F2F, door to door, telemarketing, online
_ACQUISITION_PANDEMIC = Weighted(((2, 45), (3, 40), (4, 15)))  # telemarketing, online, petition follow-up
_ESTATE_PAYMENTS = Weighted(((1, 45), (2, 35), (3, 20)))


def _month_start(year: int, month: int) -> int:
    return dt.date(year, month, 1).toordinal()


def ordinal(year: int, month: int, day: int) -> int:
    return dt.date(year, month, day).toordinal()


def year_bounds(year: int) -> tuple[int, int]:
    return ordinal(year, 1, 1), ordinal(year, 12, 31)


@dataclass(slots=True)
class PlannedCommitment:
    id: int
    donor_id: int
    start: int  # date ordinal
    day: int  # collection day 1..28
    months: int  # months per period
    amount: int  # cents per period at the start
    campaign: str | None
    first_index: int  # year * 12 + month - 1 of the first collection
    end: int | None = None  # date ordinal the commitment ended; no collection on or after it
    end_reason: str | None = None
    upgrade_on: int | None = None
    upgrade_amount: int | None = None
    agreement: bool = False

    def collections(self, year: int) -> list[tuple[int, int]]:
        """(date ordinal, amount in cents) of every collection in the year."""
        out: list[tuple[int, int]] = []
        base = year * 12
        end = self.end
        for m in range(12):
            k = base + m - self.first_index
            if k < 0 or k % self.months:
                continue
            when = _MONTH_START[base + m] + self.day - 1
            if end is not None and when >= end:
                break
            amount = self.upgrade_amount if self.upgrade_on is not None and when >= self.upgrade_on else self.amount
            out.append((when, amount))  # type: ignore[arg-type]
        return out

    def collects_in(self, year: int) -> bool:
        """Whether at least one collection falls in the year (the first one in the year decides)."""
        k = max(year * 12, self.first_index)
        behind = (k - self.first_index) % self.months
        if behind:
            k += self.months - behind
        if k > year * 12 + 11:
            return False
        when = _MONTH_START[k] + self.day - 1
        return self.end is None or when < self.end

    def active_on(self, day: int) -> bool:
        return self.start <= day and (self.end is None or self.end > day)


_MONTH_START: dict[int, int] = {y * 12 + m: _month_start(y, m + 1) for y in range(2000, 2031) for m in range(12)}


@dataclass(slots=True)
class PlannedEstate:
    donor_id: int
    notified: int
    died: int
    weight: int  # relative size of the estate
    instalments: list[int] = field(default_factory=list)  # date ordinals of payments


@dataclass(slots=True)
class PlannedOrg:
    id: int
    key: str
    name: str
    group: str  # lottery, ministry, fund, municipality, company, church
    weight: int = 1


@dataclass
class Plan:
    """The whole population; ids are final donor and commitment ids."""

    scale: float
    donors_target: dict[int, int]
    orgs: list[PlannedOrg]
    commitments: list[PlannedCommitment]
    person_first: dict[int, int]  # donor id -> date ordinal first seen (creation)
    person_campaign: dict[int, str | None]  # donor id -> acquisition campaign code
    deceased: dict[int, int]  # donor id -> date ordinal of death
    recurring_donors: set[int]
    estates: list[PlannedEstate]
    # year -> (donor id, date ordinal, kind, campaign code, reversible); kind: o one-off, c crowdfunding,
    # x extra gift of a recurring donor, m major gift
    gifts: dict[int, list[tuple[int, int, str, str | None, bool]]]
    org_givers: dict[int, list[int]]  # year -> organisation donor ids giving that year
    donors_per_year: dict[int, int]  # as planned: what the ledger will count
    commitments_active: dict[int, int]  # year -> active at 31 December

    @property
    def first_person_id(self) -> int:
        return len(self.orgs) + 1


def make_plan(donors: int, seed: int) -> Plan:
    return _Planner(donors, seed).run()


class _Planner:
    def __init__(self, donors: int, seed: int):
        if donors < 100:
            raise ValueError("the demo needs at least 100 donors")
        self.scale = donors / T.DEFAULT_DONORS
        self.rng = random.Random(f"{seed}:plan")
        self.donors_target = {y: scaled(n, self.scale) for y, n in T.DONORS_PER_YEAR.items()}
        self.donors_target[T.REPORT_YEAR] = donors
        self.orgs: list[PlannedOrg] = []
        self.commitments: list[PlannedCommitment] = []
        self.person_first: dict[int, int] = {}
        self.person_campaign: dict[int, str | None] = {}
        self.deceased: dict[int, int] = {}
        self.recurring_donors: set[int] = set()
        self.estates: list[PlannedEstate] = []
        self.gifts: dict[int, list[tuple[int, int, str, str | None, bool]]] = {}
        self.org_givers: dict[int, list[int]] = {}
        self.next_donor = 1

    # ---- ids -----------------------------------------------------------------------------------------
    def _new_person(self, first: int, campaign: str | None) -> int:
        pid = self.next_donor
        self.next_donor += 1
        self.person_first[pid] = first
        self.person_campaign[pid] = campaign
        return pid

    # ---- organisations -------------------------------------------------------------------------------
    def _plan_orgs(self) -> None:
        from donorcrm.demo.identity import word_lists

        rng = self.rng

        def add(key: str, name: str, group: str, weight: int = 1) -> None:
            self.orgs.append(PlannedOrg(self.next_donor, key, name, group, weight))
            self.next_donor += 1

        add("npl", "Nationale Postcode Loterij N.V.", "lottery")
        for key, (name, _) in T.GOVERNMENT.items():
            add(key, name, "ministry")
        for key, name, _, _ in T.FUNDS_SPLIT:
            add(key, name, "fund")
        lists = word_lists()
        n_muni = min(T.MUNICIPALITIES, scaled(T.MUNICIPALITIES, self.scale, 1))
        for i, city in enumerate(sorted(rng.sample(lists["city"], n_muni))):
            add(f"muni{i}", f"Gemeente {city}", "municipality", max(1, int(rng.lognormvariate(4.0, 0.9))))
        suffixes = ("B.V.", "Holding B.V.", "Installatietechniek B.V.", "Advocaten", "Accountants", "& Zonen",
                    "Bouw B.V.", "Consultancy", "Tandartsen", "Architecten")
        for i in range(scaled(T.COMPANIES, self.scale, 1)):
            add(f"company{i}", f"{rng.choice(lists['last'])} {rng.choice(suffixes)}", "company",
                max(1, int(rng.lognormvariate(3.0, 1.0))))
        kinds = ("Protestantse Gemeente", "Parochie H. Nicolaas", "Doopsgezinde Gemeente", "Remonstrantse Gemeente",
                 "Evangelisch-Lutherse Gemeente", "Diaconie Hervormde Gemeente", "Parochie H. Maria")
        for i in range(scaled(T.CHURCHES, self.scale, 1)):
            add(f"church{i}", f"{rng.choice(kinds)} {rng.choice(lists['city'])}", "church",
                max(1, int(rng.lognormvariate(3.0, 0.7))))
        by_group: dict[str, list[PlannedOrg]] = {}
        for org in self.orgs:
            by_group.setdefault(org.group, []).append(org)
        for year in T.YEARS:
            givers = [o.id for o in self.orgs if o.group in ("lottery", "fund", "municipality")]
            givers += [o.id for o in by_group["ministry"] if year in T.GOVERNMENT[o.key][1]]
            for group, share in (("company", 0.55), ("church", 0.6)):
                chosen = [o.id for o in by_group[group] if rng.random() < share]
                givers += chosen or [by_group[group][0].id]
            self.org_givers[year] = sorted(givers)

    # ---- commitments ---------------------------------------------------------------------------------
    def _new_commitment(self, donor_id: int, start: int, campaign: str | None) -> PlannedCommitment:
        rng = self.rng
        months = int(_FREQUENCIES(rng))  # type: ignore[call-overload]
        day = int(_COLLECTION_DAYS(rng))  # type: ignore[call-overload]
        amount = int(_COMMITMENT_AMOUNTS(rng)) * months  # type: ignore[call-overload]
        d = dt.date.fromordinal(start)
        first_index = d.year * 12 + d.month - 1 + (0 if d.day <= day else 1)
        c = PlannedCommitment(len(self.commitments) + 1, donor_id, start, day, months, amount, campaign, first_index)
        if d.year >= 2012 and rng.random() < AGREEMENT_SHARE:
            c.agreement = True
        elif rng.random() < UPGRADE_SHARE:
            up = start + randint(rng, 365, 3 * 365)
            if up <= ordinal(LAST_YEAR, 12, 31):
                c.upgrade_on = up
                c.upgrade_amount = amount + rng.choice((250, 500)) * months
        self.commitments.append(c)
        self.recurring_donors.add(donor_id)
        return c

    def _end(self, c: PlannedCommitment, end: int) -> None:
        c.end = end
        c.end_reason = str(_END_REASONS(self.rng))
        if c.upgrade_on is not None and c.upgrade_on >= end:
            c.upgrade_on = c.upgrade_amount = None
        if c.end_reason == "deceased":
            self.deceased[c.donor_id] = max(c.start, end - randint(self.rng, 0, 10))

    def _acquisition_campaign(self, year: int, month: int) -> str:
        rng = self.rng
        codes = (f"F2F{year}", f"DTD{year}", f"TM{year}", f"ONL{year}", "PET2020")
        if year == 2020 and month > 3:  # no street or door-to-door recruitment in the pandemic
            return codes[int(_ACQUISITION_PANDEMIC(rng))]  # type: ignore[call-overload]
        return codes[int(_ACQUISITION(rng))]  # type: ignore[call-overload]

    def _start_date(self, year: int) -> int:
        rng = self.rng
        month = int((_START_MONTHS_2020 if year == 2020 else _START_MONTHS)(rng))  # type: ignore[call-overload]
        return ordinal(year, month, randint(rng, 1, 28))

    def _plan_stock(self) -> None:
        """Commitments active on 1 January of the first year, started in the ten years before."""
        rng = self.rng
        for _ in range(scaled(T.COMMITMENTS_ACTIVE_AT_YEAR_END[FIRST_YEAR - 1], self.scale, 1)):
            year = FIRST_YEAR - 1 - min(9, int(rng.expovariate(0.35)))
            start = ordinal(year, randint(rng, 1, 12), randint(rng, 1, 28))
            campaign = None  # recruited before the ledger's history
            donor = self._new_person(start, campaign)
            self._new_commitment(donor, start, campaign)

    def _plan_commitment_year(self, year: int, one_off_history: set[int]) -> None:
        rng = self.rng
        jan1, dec31 = year_bounds(year)
        active = [c for c in self.commitments if c.active_on(jan1 - 1)]
        cancels = round(T.RECURRING_CHURN * len(active))
        for c in rng.sample(active, cancels):
            self._end(c, max(c.start + 1, randint(rng, jan1, dec31)))
        target = scaled(T.COMMITMENTS_ACTIVE_AT_YEAR_END[year], self.scale, 1)
        survivors = len(active) - cancels
        new = max(0, math.ceil((target - survivors) / (1 - T.NEW_COMMITMENT_EARLY_CHURN)))
        early = max(0, survivors + new - target)
        convertible = sorted(one_off_history - self.recurring_active_donors(jan1 - 1) - set(self.deceased))
        converted = rng.sample(convertible, min(len(convertible), round(new * 0.12)))
        fresh: list[PlannedCommitment] = []
        for i in range(new):
            start = self._start_date(year)
            campaign = self._acquisition_campaign(year, dt.date.fromordinal(start).month)
            donor = converted[i] if i < len(converted) else self._new_person(start, campaign)
            fresh.append(self._new_commitment(donor, start, campaign))
        cancellable = [c for c in fresh if c.start + 30 < dec31]
        for c in rng.sample(cancellable, min(early, len(cancellable))):
            self._end(c, randint(rng, c.start + 30, dec31))

    def recurring_active_donors(self, day: int) -> set[int]:
        return {c.donor_id for c in self.commitments if c.active_on(day)}

    def _recurring_givers(self, year: int) -> set[int]:
        jan1, dec31 = year_bounds(year)
        return {c.donor_id for c in self.commitments
                if c.start <= dec31 and (c.end is None or c.end > jan1) and c.collects_in(year)}

    # ---- bequests ------------------------------------------------------------------------------------
    def _plan_estates(self) -> None:
        rng = self.rng
        first, last = year_bounds(FIRST_YEAR)[0], year_bounds(LAST_YEAR)[1]
        for year in range(FIRST_YEAR - 1, LAST_YEAR + 1):
            for _ in range(scaled(T.NEW_ESTATES_PER_YEAR, self.scale, 1)):
                notified = ordinal(year, randint(rng, 1, 12), randint(rng, 1, 28))
                self._add_estate(notified, randint(rng, 60, 300), int(_ESTATE_PAYMENTS(rng)))  # type: ignore[call-overload]
        for year in T.YEARS:  # every year has at least one payment, however small the demo
            jan1, dec31 = year_bounds(year)
            if not any(jan1 <= d <= dec31 for e in self.estates for d in e.instalments):
                self._add_estate(jan1 + randint(rng, 0, 60), randint(rng, 30, 200), 1)
        for e in self.estates:
            e.instalments = [d for d in e.instalments if first <= d <= last]

    def _add_estate(self, notified: int, lag: int, payments: int) -> None:
        rng = self.rng
        died = notified - randint(rng, 20, 120)
        donor = self._new_person(notified, None)
        self.deceased[donor] = died
        estate = PlannedEstate(donor, notified, died, max(1, int(rng.lognormvariate(10.0, 0.9))))
        when = notified + lag
        for _ in range(payments):
            estate.instalments.append(when)
            when += randint(rng, 90, 270)
        self.estates.append(estate)

    def _estate_donors(self, year: int) -> set[int]:
        jan1, dec31 = year_bounds(year)
        return {e.donor_id for e in self.estates if any(jan1 <= d <= dec31 for d in e.instalments)}

    # ---- one-off givers ------------------------------------------------------------------------------
    def _gift_date(self, year: int) -> int:
        rng = self.rng
        month = int(_MONTH_WEIGHTS(rng))  # type: ignore[call-overload]
        days = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.date(year, month, 1)).days
        return ordinal(year, month, randint(rng, 1, days))

    def _appeal(self, year: int, day: int) -> str | None:
        d = dt.date.fromordinal(day)
        md = (d.month, d.day)
        code = None
        if (3, 1) <= md <= (4, 30):
            code = f"VJ{year}"
        elif d.month == 6:
            code = f"WVD{year}"
        elif (9, 15) <= md <= (10, 31):
            code = f"NJ{year}"
        elif md >= (11, 15):
            code = f"EJ{year}"
        return code if code and self.rng.random() < 0.75 else None

    def _plan_gifts(self, year: int, recurring: set[int], estates: set[int], history: dict[int, set[int]],
                    one_off_prev: set[int], recurring_prev: set[int]) -> set[int]:
        rng = self.rng
        orgs = set(self.org_givers[year])
        counted = recurring | estates | orgs
        need = self.donors_target[year] - len(counted)
        if need < 0:
            raise ValueError(f"{year}: more recurring donors than donors; choose a larger demo")
        dead = set(self.deceased)
        before_last: set[int] = set().union(*(history[y] for y in history if y < year - 1)) if history else set()
        last_year = history.get(year - 1, set())
        pool_prev = sorted(one_off_prev - counted - dead)
        pool_ex = sorted((recurring_prev - recurring) - counted - dead)
        pool_old = sorted(before_last - last_year - counted - dead)
        chosen = rng.sample(pool_prev, min(len(pool_prev), round(T.ONE_OFF_RETENTION * len(pool_prev))))
        chosen += rng.sample(pool_ex, min(len(pool_ex), round(T.EX_RECURRING_RETENTION * len(pool_ex))))
        chosen += rng.sample(pool_old, min(len(pool_old), round(T.RECAPTURE_RATE * len(pool_old))))
        if len(chosen) > need:
            chosen = rng.sample(chosen, need)
        rows: list[tuple[int, int, str, str | None, bool]] = []
        crowd_new = 0
        crowd_gifts = 0
        if year == 2020:
            crowd_gifts = scaled(T.CROWDFUNDING_GIFTS_2020, self.scale, 1)
            crowd_new = min(need - len(chosen), round(0.42 * crowd_gifts))
        for donor in sorted(chosen):
            self._one_off_gifts(year, donor, rows)
        pre_ledger = year == FIRST_YEAR
        for i in range(need - len(chosen)):
            if i < crowd_new:
                day = ordinal(year, 12, randint(rng, 1, 31))
                donor = self._new_person(day, "CF2020")
                rows.append((donor, day, "c", "CF2020", False))
                continue
            if pre_ledger and rng.random() < 0.4:  # known before the ledger's history began
                donor = self._new_person(ordinal(randint(rng, 2008, FIRST_YEAR - 1), randint(rng, 1, 12), 1), None)
                self._one_off_gifts(year, donor, rows)
                continue
            start = len(rows)
            donor = self._new_person(0, None)
            self._one_off_gifts(year, donor, rows)
            first = min(r[1] for r in rows[start:])
            self.person_first[donor] = first
            camp = next((r[3] for r in rows[start:] if r[1] == first), None)
            if year == 2020 and camp is None and first >= ordinal(2020, 3, 1) and rng.random() < 0.15:
                camp = "PET2020"  # petition signers who went on to give
            self.person_campaign[donor] = camp
        givers = set(chosen) | {r[0] for r in rows}
        alive_recurring = sorted(recurring - dead)
        for donor in rng.sample(alive_recurring, round(EXTRA_GIFT_SHARE_OF_RECURRING * len(alive_recurring))):
            day = ordinal(year, 12, randint(rng, 1, 31)) if rng.random() < 0.6 else self._gift_date(year)
            rows.append((donor, day, "x", self._appeal(year, day), False))
        if crowd_gifts:
            existing = sorted((recurring | givers) - {r[0] for r in rows if r[2] == "c"} - dead)
            for donor in rng.sample(existing, min(len(existing), crowd_gifts - crowd_new)):
                rows.append((donor, ordinal(year, 12, randint(rng, 1, 31)), "c", "CF2020", False))
        majors = sorted((givers | recurring) - dead)
        for donor in rng.sample(majors, min(len(majors), scaled(MAJOR_GIFTS_PER_YEAR, self.scale, 1))):
            day = self._gift_date(year)
            rows.append((donor, day, "m", self._appeal(year, day), False))
        self.gifts[year] = rows
        return givers

    def _one_off_gifts(self, year: int, donor: int, rows: list[tuple[int, int, str, str | None, bool]]) -> None:
        n = int(_GIFTS_PER_ONE_OFF_DONOR(self.rng))  # type: ignore[call-overload]
        for i in range(n):
            day = self._gift_date(year)
            rows.append((donor, day, "o", self._appeal(year, day), n > 1 and i == 0))

    # ---- the whole history ---------------------------------------------------------------------------
    def run(self) -> Plan:
        self._plan_orgs()
        self._plan_stock()
        self._plan_estates()
        history: dict[int, set[int]] = {}  # year -> persons giving
        one_off_prev: set[int] = set()
        recurring_prev: set[int] = set()
        donors_per_year: dict[int, int] = {}
        active_end: dict[int, int] = {}
        for year in T.YEARS:
            everyone = set().union(*history.values()) if history else set()
            self._plan_commitment_year(year, everyone - self.recurring_donors)
            recurring = self._recurring_givers(year)
            estates = self._estate_donors(year)
            one_off = self._plan_gifts(year, recurring, estates, history, one_off_prev, recurring_prev)
            history[year] = recurring | estates | one_off
            donors_per_year[year] = len(history[year] | set(self.org_givers[year]))
            dec31 = year_bounds(year)[1]
            active_end[year] = sum(1 for c in self.commitments if c.active_on(dec31))
            one_off_prev, recurring_prev = one_off, recurring
        return Plan(
            scale=self.scale, donors_target=self.donors_target, orgs=self.orgs, commitments=self.commitments,
            person_first=self.person_first, person_campaign=self.person_campaign, deceased=self.deceased,
            recurring_donors=self.recurring_donors, estates=self.estates, gifts=self.gifts,
            org_givers=self.org_givers, donors_per_year=donors_per_year, commitments_active=active_end,
        )
