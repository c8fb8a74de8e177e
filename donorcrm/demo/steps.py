"""The core demo steps: funds and campaigns, people, commitments, the ledger, logins.

Each step is a function (engine, context) that opens its own transactions. Rows are generated as tuples and
bulk loaded (bulk.py); primary keys are assigned here so that gifts can point at donors, commitments and the
gifts they reverse without reading anything back.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from donorcrm.demo import targets as T
from donorcrm.demo.bulk import BulkWriter, iso
from donorcrm.demo.identity import PersonFactory, nl_iban
from donorcrm.demo.plan import Plan, Weighted, ordinal, randint, year_bounds
from donorcrm.gifts import summary
from donorcrm.money import Money
from donorcrm.reports.metrics import GrowthTally

ACTOR = "demo"
GIFT_COLUMNS = ("id", "donor_id", "entry_type", "amount_minor", "currency", "received_on", "channel", "category",
                "fund_id", "campaign_id", "source_code", "commitment_id", "reverses_gift_id", "reason", "source",
                "note", "created_at", "created_by")
FREQUENCY_NAMES = {1: "monthly", 3: "quarterly", 6: "half_yearly", 12: "yearly"}
END_REASON_TEXT = {
    "donor_request": "cancelled at the donor's request", "failed_collections": "stopped after 3 failed collections",
    "account_closed": "account closed (AC04)", "deceased": "donor deceased (MD07)", "other": "other",
}
# SEPA returns: reason code, entry type, weight, days after the collection.
RETURNS = (("AM04", "return", 45, 3), ("MS02", "return", 15, 3), ("MS03", "return", 5, 3),
           ("AC04", "return", 8, 4), ("MD06", "refund", 27, 35))
_RETURNS = Weighted(tuple((r, r[2]) for r in RETURNS))
ONE_OFF_EUROS = Weighted(((5, 6), (10, 18), (15, 8), (20, 16), (25, 14), (30, 5), (35, 5), (40, 3), (50, 12),
                          (75, 4), (100, 6), (150, 1), (200, 1), (250, 1)))
CROWD_EUROS = Weighted(((10, 15), (15, 8), (20, 18), (25, 20), (35, 8), (50, 16), (75, 5), (100, 7), (250, 2),
                        (500, 1)))
CHANNEL_SOURCE = {"ideal": "mollie", "card": "stripe", "paypal": "paypal", "bank_transfer": "bank",
                  "cash": "manual", "sepa_dd": "sepa"}

FUNDS = (
    ("ALG", "Algemene middelen", False, "Unrestricted income for all of the charity's work."),
    ("VLF", "Vluchtelingenfonds", True,
     "Last financial safety net for refugees: travel for family reunification, fees, special needs."),
    ("AZC", "Begeleiding in azc's en tolken", True, "Work in reception centres and interpreting services."),
    ("RVR", "Voorlichting asielprocedure", True, "Information for asylum seekers during the procedure."),
    ("TRAIN", "Training vrijwilligers integratie", True, "Training and coaching of volunteers and staff."),
    ("MB", "Maatschappelijke begeleiding", True, "Social guidance of refugees in municipalities."),
    ("NPLX", "Postcode Loterij extra bijdrage 2020", True,
     "Projects on labour participation and at Europe's borders."),
    ("WERK", "Vluchtelingen aan het werk", True, "Guidance towards work."),
    ("KIND", "Kinderen in azc's", True, "Support for children in reception centres."),
    ("ONTM", "Ontmoeting en dialoog", True, "Meeting and dialogue projects."),
    ("AMIF", "AMIF-project terugkeer en integratie", True, "EU co-funded project (AMIF, 75% maximum)."),
)
FUND_OF_GRANT = {"oranjefonds": "WERK", "vsbfonds": "ONTM", "rabo": "WERK", "dioraphte": "KIND", "amif": "AMIF",
                 "jenv": "AZC", "rvr": "RVR", "szw": "TRAIN"}


@dataclass
class DemoContext:
    """What the steps share: the plan, the ids they created, counters and a summary."""

    seed: int
    donors: int
    plan: Plan
    progress: Callable[[str, int, int | None], None] = lambda label, n, total: None
    fund_ids: dict[str, int] = field(default_factory=dict)
    campaign_ids: dict[str, int] = field(default_factory=dict)
    org_ids: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    income: dict[tuple[int, str], int] = field(default_factory=dict)  # (year, category) -> net cents
    summary: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # for steps added by other packages

    @property
    def scale(self) -> float:
        return self.plan.scale

    def rng(self, name: str) -> random.Random:
        """A Random of its own per step, so adding a step never changes what the others generate."""
        return random.Random(f"{self.seed}:{name}")

    def cents(self, euros: int) -> int:
        return int(round(euros * 100 * self.scale))

    def count(self, table: str, n: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + n


@contextmanager
def _bulk_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction on a connection tuned for bulk loading (see _tuning), committed before the
    connection gets its settings back, so that the commit too runs with them."""
    with engine.connect() as conn, _tuning(conn):
        conn.commit()  # reading the settings began a transaction of its own
        with conn.begin():
            yield conn


@contextmanager
def _tuning(conn: Connection) -> Iterator[None]:
    """SQLite settings for a bulk load, and the pooled connection's own ones back afterwards.

    A large page cache keeps the load's pages in memory; synchronous=OFF drops the waits for the disk at
    commit and checkpoint. The latter only risks the database on a power cut or OS crash during the load,
    and the demo loads into an empty database that can simply be built again.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
    conn.exec_driver_sql("PRAGMA cache_size=-262144")
    conn.exec_driver_sql("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
        conn.exec_driver_sql(f"PRAGMA synchronous={int(synchronous)}")


def _date(o: int) -> dt.date:
    return dt.date.fromordinal(o)


# ---- reference data ------------------------------------------------------------------------------------
def campaign_catalogue(scale: float) -> list[tuple[str, str, str, dt.date, dt.date, int | None, int]]:
    """(code, name, kind, starts, ends, goal cents, cost cents) of every demo campaign."""
    out: list[tuple[str, str, str, dt.date, dt.date, int | None, int]] = []
    for y in T.YEARS:
        out += [
            (f"VJ{y}", f"Voorjaarsactie {y}", "appeal", dt.date(y, 3, 1), dt.date(y, 4, 30), None, 38_000),
            (f"WVD{y}", f"Wereldvluchtelingendag {y}", "appeal", dt.date(y, 6, 1), dt.date(y, 6, 30), None, 22_000),
            (f"NJ{y}", f"Najaarsactie {y}", "appeal", dt.date(y, 9, 15), dt.date(y, 10, 31), None, 41_000),
            (f"EJ{y}", f"Eindejaarsactie {y}", "appeal", dt.date(y, 11, 15), dt.date(y, 12, 31), None, 64_000),
            (f"F2F{y}", f"Straatwerving {y}", "acquisition", dt.date(y, 1, 1),
             dt.date(y, 3, 15) if y == 2020 else dt.date(y, 12, 31), None, 1_150_000),
            (f"DTD{y}", f"Huis-aan-huiswerving {y}", "acquisition", dt.date(y, 1, 1),
             dt.date(y, 3, 15) if y == 2020 else dt.date(y, 12, 31), None, 420_000),
            (f"TM{y}", f"Telemarketing {y}", "acquisition", dt.date(y, 1, 1), dt.date(y, 12, 31), None, 260_000),
            (f"ONL{y}", f"Online werving {y}", "acquisition", dt.date(y, 1, 1), dt.date(y, 12, 31), None, 140_000),
        ]
    out.append(("PET2020", "Petitie: haal 500 kinderen uit de Griekse kampen", "petition", dt.date(2020, 3, 5),
                dt.date(2020, 7, 1), None, 35_000))
    out.append(("CF2020", "Crowdfunding gezinshereniging december 2020", "crowdfunding", dt.date(2020, 12, 1),
                dt.date(2020, 12, 31), T.CROWDFUNDING_GOAL_2020, 18_000))
    return [(c, n, k, s, e, int(round(g * 100 * scale)) if g else None, int(round(cost * 100 * scale)))
            for c, n, k, s, e, g, cost in out]


def step_reference(engine: Engine, ctx: DemoContext) -> None:
    with engine.begin() as conn:
        w = BulkWriter(conn)
        base = w.max_id("fund")
        now = w.timestamp(dt.date(2015, 12, 1))
        rows = [(base + i + 1, code, name, restricted, purpose, now) for i, (code, name, restricted, purpose)
                in enumerate(FUNDS)]
        w.insert("fund", ("id", "code", "name", "restricted", "purpose", "created_at"), rows)
        ctx.fund_ids = {r[1]: r[0] for r in rows}
        base = w.max_id("campaign")
        camp_rows = [(base + i + 1, code, name, kind, iso(s), iso(e), goal, cost, "EUR", w.timestamp(s - dt.timedelta(30)))
                     for i, (code, name, kind, s, e, goal, cost) in enumerate(campaign_catalogue(ctx.scale))]
        w.insert("campaign", ("id", "code", "name", "kind", "starts_on", "ends_on", "goal_minor", "cost_minor",
                              "currency", "created_at"), camp_rows)
        ctx.campaign_ids = {r[1]: r[0] for r in camp_rows}
        w.fix_sequences(["fund", "campaign"])
        ctx.count("fund", len(rows))
        ctx.count("campaign", len(camp_rows))


# ---- people --------------------------------------------------------------------------------------------
DONOR_COLUMNS = ("id", "kind", "salutation", "initials", "first_name", "name_infix", "last_name",
                 "organisation_name", "language", "street", "house_number", "postcode", "city", "country", "email",
                 "phone", "birth_date", "reference", "status", "household_id", "acquisition_campaign_id",
                 "deceased_on", "created_at", "updated_at")


def step_people(engine: Engine, ctx: DemoContext) -> None:
    plan = ctx.plan
    rng = ctx.rng("people")
    factory = PersonFactory(rng)
    total = len(plan.orgs) + len(plan.person_first)
    with _bulk_transaction(engine) as conn, ExitStack() as deferred:
        w = BulkWriter(conn)
        for table in ("donor", "donor_account", "consent_event"):
            deferred.enter_context(w.deferred_indexes(table))
        households: list[tuple[object, ...]] = []
        accounts: list[tuple[object, ...]] = []
        consents: list[tuple[object, ...]] = []
        ids = {"donor_account": w.max_id("donor_account"), "consent_event": w.max_id("consent_event"),
               "household": w.max_id("household")}
        org_created = w.timestamp(dt.date(2012, 1, 2))
        org_rows = []
        for org in plan.orgs:
            ctx.org_ids[org.key] = org.id
            org_rows.append((org.id, "organisation", None, None, None, None, None, org.name, "nl", None, None, None,
                             None, "NL", None, None, None, f"DEMO-ORG-{org.id:05d}", "active", None, None, None,
                             org_created, org_created))
            iban, bic = nl_iban(rng)
            ids["donor_account"] += 1
            accounts.append((ids["donor_account"], org.id, iban, iban[-4:], bic, org.name, "bank", org_created))
        w.insert("donor", DONOR_COLUMNS, org_rows)
        ctx.progress("donors", len(org_rows), total)
        batch: list[list[object]] = []
        prev: dict[str, object] | None = None
        for pid in range(plan.first_person_id, plan.first_person_id + len(plan.person_first)):
            first = plan.person_first[pid]
            person = factory.person()
            created_day = _date(first)
            household_id = None
            if prev is not None and batch and rng.random() < 0.04 and batch[-1][19] is None:
                ids["household"] += 1
                household_id = ids["household"]
                households.append((household_id, f"Huishouden {prev['last_name']}", w.timestamp(created_day)))
                batch[-1][19] = household_id
                for key in ("last_name", "name_infix", "street", "house_number", "postcode", "city"):
                    person[key] = prev[key]
            died = plan.deceased.get(pid)
            birth = person["birth"]
            created = w.timestamp(created_day, 3_600 * (9 + int(rng.random() * 8)))
            batch.append([
                pid, "person", person["salutation"], person["initials"], person["first_name"], person["name_infix"],
                person["last_name"], None, "en" if rng.random() < 0.05 else "nl", person["street"],
                person["house_number"], person["postcode"], person["city"], "NL", person["email"], person["phone"],
                iso(dt.date(*birth)) if birth else None, f"DEMO-{pid:07d}",  # type: ignore[misc]
                "deceased" if died else "active", household_id,
                ctx.campaign_ids.get(plan.person_campaign.get(pid) or ""), iso(_date(died)) if died else None,
                created, created,
            ])
            prev = person
            if pid in plan.recurring_donors or rng.random() < 0.6:
                iban, bic = nl_iban(rng)
                ids["donor_account"] += 1
                holder = f"{person['initials']} {(str(person['name_infix']) + ' ') if person['name_infix'] else ''}{person['last_name']}"
                accounts.append((ids["donor_account"], pid, iban, iban[-4:], bic, holder,
                                 "sepa" if pid in plan.recurring_donors else "bank", created))
            _consents(rng, pid, first, person, created, consents, ids, w)
            if len(batch) >= 20_000:
                _flush_people(w, batch, households, accounts, consents, ctx, total)
        _flush_people(w, batch, households, accounts, consents, ctx, total)
        w.fix_sequences(["donor", "household", "donor_account", "consent_event"])
        for table, n in w.counts.items():
            ctx.count(table, n)


def _flush_people(w: BulkWriter, batch: list[list[object]], households: list[tuple[object, ...]],
                  accounts: list[tuple[object, ...]], consents: list[tuple[object, ...]], ctx: DemoContext,
                  total: int) -> None:
    w.insert("household", ("id", "name", "created_at"), households)
    w.insert("donor", DONOR_COLUMNS, (tuple(r) for r in batch))
    w.insert("donor_account", ("id", "donor_id", "iban", "iban_last4", "bic", "holder", "source", "created_at"),
             accounts)
    w.insert("consent_event", ("id", "donor_id", "channel", "purpose", "status", "at", "source", "recorded_at"),
             consents)
    ctx.progress("donors", len(batch), total)
    for part in (batch, households, accounts, consents):
        part.clear()


_LAST_DAY = ordinal(T.YEARS[-1], 12, 31)


def _consents(rng: random.Random, pid: int, first: int, person: dict[str, object], created: str,
              out: list[tuple[object, ...]], ids: dict[str, int], w: BulkWriter) -> None:
    def add(channel: str, purpose: str, status: str, at: str, source: str) -> None:
        ids["consent_event"] += 1
        out.append((ids["consent_event"], pid, channel, purpose, status, at, source, at))

    if person["email"]:
        if rng.random() < 0.6:
            add("email", "newsletter", "granted", created, "sign-up form")
        if rng.random() < 0.45:
            add("email", "fundraising", "granted", created, "sign-up form")
            if rng.random() < 0.08 and first < _LAST_DAY - 30:
                later = w.timestamp(_date(randint(rng, first + 1, _LAST_DAY)), 50_000)
                add("email", "fundraising", "withdrawn", later, "unsubscribe link")
    if rng.random() < 0.3:
        add("post", "fundraising", "granted", created, "acquisition form")
    if person["phone"] and rng.random() < 0.4:
        add("phone", "fundraising", "granted", created, "acquisition form")


# ---- commitments ---------------------------------------------------------------------------------------
def step_commitments(engine: Engine, ctx: DemoContext) -> None:
    plan = ctx.plan
    rng = ctx.rng("commitments")
    general = ctx.fund_ids["ALG"]
    with _bulk_transaction(engine) as conn, ExitStack() as deferred:
        w = BulkWriter(conn)
        for table in ("commitment", "commitment_amount", "periodic_agreement"):
            deferred.enter_context(w.deferred_indexes(table))
        amount_id = w.max_id("commitment_amount")
        agreement_id = w.max_id("periodic_agreement")
        rows: list[tuple[object, ...]] = []
        amounts: list[tuple[object, ...]] = []
        agreements: list[tuple[object, ...]] = []
        for c in plan.commitments:
            start = _date(c.start)
            created = w.timestamp(start, 36_000)
            current = c.upgrade_amount if c.upgrade_amount is not None else c.amount
            ended = c.end is not None
            rows.append((c.id, c.donor_id, current, "EUR", FREQUENCY_NAMES[c.months], c.day, iso(start),
                         iso(_date(c.end)) if ended else None, "sepa", "cancelled" if ended else "active",  # type: ignore[arg-type]
                         END_REASON_TEXT[c.end_reason] if ended else None, general,  # type: ignore[index]
                         ctx.campaign_ids.get(c.campaign or ""), 0, created,
                         w.timestamp(_date(c.end)) if ended else created))  # type: ignore[arg-type]
            amount_id += 1
            amounts.append((amount_id, c.id, iso(start), c.amount, created))
            if c.upgrade_on is not None:
                amount_id += 1
                amounts.append((amount_id, c.id, iso(_date(c.upgrade_on)), c.upgrade_amount,
                                w.timestamp(_date(c.upgrade_on))))
            if c.agreement:
                agreement_id += 1
                signed = start - dt.timedelta(days=randint(rng, 3, 20))
                term = 5 if rng.random() < 0.7 else None
                stopped = reason = None
                if ended and (term is None or c.end < ordinal(start.year + 5, start.month, 1)):  # type: ignore[operator]
                    stopped = iso(_date(c.end))  # type: ignore[arg-type]
                    reason = "death" if c.end_reason == "deceased" else "donor_cancelled"
                agreements.append((agreement_id, c.id, f"PG{start.year}-{c.id:07d}", c.amount * 12 // c.months,
                                   "EUR", start.year, term, iso(signed), True,
                                   "death,job_loss,disability,anbi_loss", None, stopped, reason,
                                   w.timestamp(signed)))
            if len(rows) >= 20_000:
                _flush_commitments(w, rows, amounts, agreements, ctx)
        _flush_commitments(w, rows, amounts, agreements, ctx)
        w.fix_sequences(["commitment", "commitment_amount", "periodic_agreement"])
        for table, n in w.counts.items():
            ctx.count(table, n)


def _flush_commitments(w: BulkWriter, rows: list[Any], amounts: list[Any], agreements: list[Any],
                       ctx: DemoContext) -> None:
    w.insert("commitment", ("id", "donor_id", "amount_minor", "currency", "frequency", "collection_day", "starts_on",
                            "ends_on", "route", "status", "status_reason", "fund_id", "campaign_id",
                            "consecutive_failures", "created_at", "updated_at"), rows)
    w.insert("commitment_amount", ("id", "commitment_id", "effective_from", "amount_minor", "created_at"), amounts)
    w.insert("periodic_agreement", ("id", "commitment_id", "transaction_number", "yearly_amount_minor", "currency",
                                    "first_year", "term_years", "signed_on", "ends_on_death", "end_conditions",
                                    "partner_name", "stopped_on", "stop_reason", "created_at"), agreements)
    ctx.progress("commitments", len(rows), len(ctx.plan.commitments))
    for part in (rows, amounts, agreements):
        part.clear()


# ---- the ledger ----------------------------------------------------------------------------------------
def planned_gift_rows(plan: Plan) -> int:
    """A close estimate of the ledger's size, for the progress bar."""
    first, last = year_bounds(T.YEARS[0])[0], year_bounds(T.YEARS[-1])[1]
    n = 0
    for c in plan.commitments:
        lo, hi = max(first, c.start), min(last, c.end or last)
        if hi > lo:
            n += int((hi - lo) / 30.44 / c.months) + 1
    return n + sum(len(g) for g in plan.gifts.values())


class _Ledger:
    def __init__(self, w: BulkWriter, ctx: DemoContext, year: int, next_id: int):
        self.w, self.ctx, self.year, self.next_id = w, ctx, year, next_id
        self.rng = ctx.rng(f"ledger:{year}")
        self.rows: list[tuple[object, ...]] = []
        self.days: list[int] = []  # date ordinal of each row in self.rows
        self.net: dict[str, int] = {}
        # For the report summaries, tallied as the rows are made (see _Summaries):
        # (day, category, fund, campaign, is a gift) -> [net cents, rows] and
        # donor -> [cents, gifts, first day] of the year's gifts that are not reversed.
        self.flows: dict[tuple[int, str, int | None, int | None, bool], list[int]] = {}
        self.donors: dict[int, list[int]] = {}

    def add(self, donor: int, amount: int, day: int, channel: str, category: str, fund: str | None = "ALG",
            campaign: str | None = None, source_code: str | None = None, note: str | None = None) -> int:
        self.next_id += 1
        d = _date(day)
        self.rows.append((self.next_id, donor, "gift", amount, "EUR", iso(d), channel, category,
                          self.ctx.fund_ids.get(fund or ""), self.ctx.campaign_ids.get(campaign or ""),
                          source_code, None, None, None, CHANNEL_SOURCE[channel], note, self.w.timestamp(d, 32_400),
                          ACTOR))
        self.days.append(day)
        self.net[category] = self.net.get(category, 0) + amount
        return self.next_id

    def reverse(self, row: tuple[Any, ...], day: int, entry_type: str, reason: str) -> None:
        self.next_id += 1
        d = _date(day)
        self.rows.append((self.next_id, row[1], entry_type, -row[3], "EUR", iso(d), row[6], row[7], row[8], row[9],
                          row[10], row[11], row[0], reason, row[14], None, self.w.timestamp(d, 39_600), ACTOR))
        self.days.append(day)
        self.net[row[7]] -= row[3]

    def tally_rows(self) -> None:
        """Add self.rows (everything but the SEPA collections) to the year's summary tallies."""
        flows, donors = self.flows, self.donors
        reversed_ids = {r[12] for r in self.rows if r[12] is not None}
        for r, day in zip(self.rows, self.days, strict=True):
            is_gift = r[2] == "gift"
            key = (day, r[7], r[8], r[9], is_gift)
            f = flows.get(key)
            if f is None:
                flows[key] = [r[3], 1]  # type: ignore[list-item]
            else:
                f[0] += r[3]  # type: ignore[operator]
                f[1] += 1
            if is_gift and r[0] not in reversed_ids:
                _tally_donor(donors, r[1], r[3], day, r[9])  # type: ignore[arg-type]

    def recurring(self) -> Iterator[tuple[object, ...]]:
        """Every SEPA collection of the year, with the returns; streamed, never held in memory."""
        year, rng, ctx, w = self.year, self.rng, self.ctx, self.w
        jan1, dec31 = year_bounds(year)
        general = ctx.fund_ids["ALG"]
        campaigns = ctx.campaign_ids
        rate = T.SEPA_RETURN_RATE
        random_ = rng.random
        net = 0
        gid = self.next_id
        days: dict[int, tuple[str, str]] = {}
        flows: dict[tuple[int, int | None, bool], list[int]] = {}
        donors = self.donors
        for c in ctx.plan.commitments:
            if c.start > dec31 or (c.end is not None and c.end <= jan1):
                continue
            collections = c.collections(year)
            last = len(collections) - 1
            camp = campaigns.get(c.campaign or "")
            for i, (day, amount) in enumerate(collections):
                when = days.get(day)
                if when is None:
                    d = _date(day)
                    when = days[day] = (iso(d), w.timestamp(d, 25_200))
                gid += 1
                yield (gid, c.donor_id, "gift", amount, "EUR", when[0], "sepa_dd", "individual_recurring", general,
                       camp, None, c.id, None, None, "sepa", None, when[1], ACTOR)
                net += amount
                f = flows.get((day, camp, True))
                if f is None:
                    flows[(day, camp, True)] = [amount, 1]
                else:
                    f[0] += amount
                    f[1] += 1
                if not (i < last and random_() < rate):
                    t = donors.get(c.donor_id)
                    if t is None:
                        donors[c.donor_id] = [amount, 1, day, camp]
                    else:
                        t[0] += amount
                        t[1] += 1
                        if day < t[2]:  # a donor can have several commitments
                            t[2], t[3] = day, camp
                else:
                    returned: tuple[str, str, int, int] = _RETURNS(rng)  # type: ignore[assignment]
                    code, entry_type, lag = returned[0], returned[1], returned[3]
                    if day + lag > dec31:
                        code, entry_type, lag = "AM04", "return", 3
                    back = _date(day + lag)
                    gid += 1
                    yield (gid, c.donor_id, entry_type, -amount, "EUR", iso(back), "sepa_dd", "individual_recurring",
                           general, camp, None, c.id, gid - 1, code, "sepa", None, w.timestamp(back, 30_000), ACTOR)
                    net -= amount
                    f = flows.get((day + lag, camp, False))
                    if f is None:
                        flows[(day + lag, camp, False)] = [-amount, 1]
                    else:
                        f[0] -= amount
                        f[1] += 1
        for (day, camp, is_gift), (cents, n) in flows.items():
            self.flows[(day, "individual_recurring", general, camp, is_gift)] = [cents, n]
        self.next_id = gid
        self.net["individual_recurring"] = net

    def individuals(self) -> None:
        """Bequests, crowdfunding, one-off and major gifts; one-off amounts calibrated to the year's target."""
        ctx, year, rng = self.ctx, self.year, self.rng
        plan = ctx.plan
        target = ctx.cents(T.INDIVIDUAL_INCOME[year])
        self._bequests()
        gifts = plan.gifts[year]
        crowd = [g for g in gifts if g[2] == "c"]
        normal = [g for g in gifts if g[2] in ("o", "x")]
        majors = [g for g in gifts if g[2] == "m"]
        for donor, day, _, campaign, _ in crowd:
            channel = "ideal" if rng.random() < 0.88 else ("card" if rng.random() < 0.6 else "paypal")
            self.add(donor, int(CROWD_EUROS(rng)) * 100, day, channel, "individual_crowdfunding", "VLF", campaign,  # type: ignore[call-overload]
                     campaign)
        fixed = sum(self.net.values())
        rest = target - fixed
        if rest <= 0:
            raise ValueError(f"{year}: recurring income alone exceeds the individual income target")
        weights = _one_off_channels(year)
        channels = [weights(rng) for _ in normal]
        bases = [int(ONE_OFF_EUROS(rng)) for _ in normal]  # type: ignore[call-overload]
        reversal_draws = [rng.random() for _ in normal]
        n_major = max(1, len(majors))
        factor = 0.85 * rest / max(1, sum(bases) * 100)
        for _ in range(40):
            amounts = [_nice(b * factor) * 100 for b in bases]
            reversed_total = sum(a for a, g, ch, r in zip(amounts, normal, channels, reversal_draws, strict=True)
                                 if g[4] and ch in ("ideal", "card", "paypal") and r < 0.03)
            major_total = rest - (sum(amounts) - reversed_total)
            if major_total >= n_major * 50_000:
                break
            factor *= 0.9
        else:
            raise ValueError(f"{year}: cannot calibrate one-off gifts to the target")
        pending: list[tuple[int, tuple[Any, ...]]] = []
        for (donor, day, _kind, campaign, reversible), amount, channel, draw in zip(  # type: ignore[assignment]
                normal, amounts, channels, reversal_draws, strict=True):
            fund = "VLF" if rng.random() < (0.4 if campaign and campaign.startswith("EJ") else 0.1) else "ALG"
            self.add(donor, amount, day, str(channel), "individual_one_off", fund, campaign, campaign)
            if reversible and channel in ("ideal", "card", "paypal") and draw < 0.03:
                pending.append((day, self.rows[-1]))
        dec31 = year_bounds(year)[1]
        for day, row in pending:
            entry_type, reason = ("chargeback", "card dispute") if row[6] == "card" else ("refund", "donor request")
            self.reverse(row, min(dec31, day + randint(rng, 2, 20)), entry_type, reason)
        if not majors:
            raise ValueError(f"{year}: no major gift planned to absorb the calibration")
        euros = Money(major_total // 100, "EUR").allocate([max(1, int(rng.lognormvariate(3, 0.8))) for _ in majors])
        for i, ((donor, day, _, campaign, _), part) in enumerate(zip(majors, euros, strict=True)):
            amount = part.minor * 100 + (major_total % 100 if i == len(majors) - 1 else 0)
            self.add(donor, amount, day, "bank_transfer", "individual_one_off", "ALG", campaign, campaign,
                     "major gift")
        got = sum(v for k, v in self.net.items() if k.startswith("individual_"))
        assert got == target, (year, got, target)

    def _bequests(self) -> None:
        ctx, year = self.ctx, self.year
        jan1, dec31 = year_bounds(year)
        payments = [(e, i, d) for e in ctx.plan.estates for i, d in enumerate(e.instalments) if jan1 <= d <= dec31]
        parts = Money(ctx.cents(T.BEQUEST_INCOME[year])).allocate([e.weight for e, _, _ in payments])
        for (estate, i, day), part in zip(payments, parts, strict=True):
            n = len(estate.instalments)
            note = "nalatenschap: enige uitkering" if n == 1 else f"nalatenschap: uitkering {i + 1} van {n}"
            self.add(estate.donor_id, part.minor, day, "bank_transfer", "individual_bequest", "ALG", note=note)

    def institutions(self) -> None:
        ctx, year, rng = self.ctx, self.year, self.rng
        plan = ctx.plan
        orgs = {o.id: o for o in plan.orgs}
        givers = [orgs[i] for i in plan.org_givers[year]]

        def pay(org_key: str, total_cents: int, dates: list[int], category: str, fund: str,
                source_code: str | None = None, weights: list[int] | None = None) -> None:
            parts = Money(total_cents).allocate(weights or [1] * len(dates))
            for day, part in zip(dates, parts, strict=True):
                if part.minor > 0:
                    self.add(ctx.org_ids[org_key], part.minor, day, "bank_transfer", category, fund,
                             source_code=source_code)

        quarters = [ordinal(year, m, 15) for m in (1, 4, 7, 10)]
        pay("npl", ctx.cents(T.LOTTERY_REGULAR[year]), [ordinal(year, 3, 31), ordinal(year, 9, 30)], "lottery", "ALG")
        if year in T.LOTTERY_EXTRA:
            pay("npl", ctx.cents(T.LOTTERY_EXTRA[year]), [ordinal(year, 6, 30)], "lottery", "NPLX")
        for key, (_, by_year) in T.GOVERNMENT.items():
            if year in by_year:
                pay(key, ctx.cents(by_year[year]), quarters, "government", FUND_OF_GRANT[key])
        funds_total = Money(ctx.cents(T.FUNDS_TOTAL[year])).allocate([s for *_, s in T.FUNDS_SPLIT])
        for (key, _, category, _), part in zip(T.FUNDS_SPLIT, funds_total, strict=True):
            advance = ordinal(year, 3, 1) + randint(rng, 0, 90)
            pay(key, part.minor, [advance, ordinal(year, 11, 15)], category, FUND_OF_GRANT[key],
                T.FUNDS_SOURCE_CODE, [75, 25])
        for group, amounts, category in (("municipality", T.MUNICIPAL_INCOME, "government"),
                                         ("company", T.COMPANY_INCOME, "company"),
                                         ("church", T.CHURCH_INCOME, "other_nonprofit")):
            members = [o for o in givers if o.group == group]
            shares = Money(ctx.cents(amounts[year])).allocate([o.weight for o in members])
            for org, share in zip(members, shares, strict=True):
                if group == "municipality":
                    dates = quarters
                elif group == "church":
                    dates = [ordinal(year, 6, 20), ordinal(year, 12, 24)]
                else:
                    dates = [ordinal(year, 1, 1) + randint(rng, 0, 364)]
                pay(org.key, share.minor, dates, category, "MB" if group == "municipality" else "ALG")


def _tally_donor(donors: dict[int, list[int | None]], donor: int, amount: int, day: int,
                 campaign: int | None) -> None:
    """(amount, gifts, first day, campaign of the first gift); rows come in id order, so on an equal day the
    earlier row stays first."""
    t = donors.get(donor)
    if t is None:
        donors[donor] = [amount, 1, day, campaign]
    else:
        t[0] += amount  # type: ignore[operator]
        t[1] += 1  # type: ignore[operator]
        if day < t[2]:  # type: ignore[operator]
            t[2], t[3] = day, campaign


class _Summaries:
    """The report summaries (donor_year, income_month, income_day, growth_year) of the demo's ledger, from
    the tallies each year's generator keeps: no pass over millions of gift rows after loading them."""

    def __init__(self, w: BulkWriter):
        self.w = w
        self.flows: dict[tuple[int, str, int | None, int | None, bool], list[int]] = {}
        self.growth = GrowthTally()
        for table in ("donor_year", "income_month", "income_day", "growth_year"):
            w.conn.execute(text(f"DELETE FROM {table}"))  # empty anyway: there are no gifts yet

    def add_year(self, ledger: _Ledger) -> None:
        for key, (cents, n) in ledger.flows.items():
            f = self.flows.get(key)
            if f is None:
                self.flows[key] = [cents, n]
            else:
                f[0] += cents
                f[1] += n
        year, dates = ledger.year, _dates()
        totals = sorted(ledger.donors.items())
        self.w.insert("donor_year", summary.DONOR_YEAR_COLUMNS,
                      ((d, year, "EUR", t[0], t[1], dates(t[2])[1], t[3]) for d, t in totals))
        self.growth.add_year(year, ((d, t[0], dates(t[2])[0], t[3]) for d, t in totals))
        ledger.donors.clear()

    def finish(self) -> None:
        dates = _dates()
        months, days = summary.income_rows({
            (dates(day)[0], category, fund, campaign, "EUR", is_gift): (cents, n)
            for (day, category, fund, campaign, is_gift), (cents, n) in self.flows.items()})
        self.w.insert("income_month", summary.INCOME_MONTH_COLUMNS, months)
        self.w.insert("income_day", summary.INCOME_DAY_COLUMNS, ((iso(r[0]), *r[1:]) for r in days))  # type: ignore[arg-type]
        self.w.insert("growth_year", summary.GROWTH_YEAR_COLUMNS, summary.growth_rows(self.growth.counters(), "EUR"))


def _dates() -> Callable[[int], tuple[dt.date, str]]:
    """Date ordinal -> (date, ISO text), cached per distinct day."""
    cache: dict[int, tuple[dt.date, str]] = {}

    def get(o: int) -> tuple[dt.date, str]:
        v = cache.get(o)
        if v is None:
            d = dt.date.fromordinal(o)
            v = cache[o] = (d, d.isoformat())
        return v

    return get


def _nice(euros: float) -> int:
    """Round a gift to what people give: whole euros below 10, fives below 100, tens above."""
    if euros < 10:
        return max(1, int(round(euros)))
    if euros < 100:
        return int(round(euros / 5)) * 5
    return int(round(euros / 10)) * 10


def _one_off_channels(year: int) -> Weighted:
    t = (year - T.YEARS[0]) / max(1, T.YEARS[-1] - T.YEARS[0])
    return Weighted((("ideal", round(40 + 22 * t)), ("bank_transfer", round(48 - 18 * t)), ("card", 4),
                     ("paypal", 3), ("cash", round(5 - 4 * t))))


def step_ledger(engine: Engine, ctx: DemoContext) -> None:
    """Five years of gifts in one transaction, with the gift table's plain indexes built once at the end."""
    total = planned_gift_rows(ctx.plan)

    def progress(n: int) -> None:
        ctx.progress("gifts", n, total)

    with _bulk_transaction(engine) as conn:
        w = BulkWriter(conn)
        with w.deferred_indexes("gift"), w.deferred_indexes("donor_year"):
            summaries = _Summaries(w)
            next_id = w.max_id("gift")
            for year in T.YEARS:
                ledger = _Ledger(w, ctx, year, next_id)
                w.insert("gift", GIFT_COLUMNS, ledger.recurring(), progress)
                ledger.individuals()
                ledger.institutions()
                w.insert("gift", GIFT_COLUMNS, ledger.rows, progress)
                ledger.tally_rows()
                summaries.add_year(ledger)
                next_id = ledger.next_id
                for category, cents in ledger.net.items():
                    ctx.income[(year, category)] = ctx.income.get((year, category), 0) + cents
            summaries.finish()
            ctx.progress("indexes", 0, None)
        w.fix_sequences(["gift"])
        ctx.count("gift", w.counts["gift"])
