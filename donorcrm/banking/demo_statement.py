"""A demo organisation's bank statement with known truth, to measure how well matching does.

``seed_world`` creates donors (some with known IBANs, some sharing an account, some with the same name),
campaigns and earlier gifts; ``demo_statement`` writes a camt.053 of transfers, direct-debit batch credits,
returns, provider payouts, a grant instalment and bank charges, and records per line what the right
answer is. ``evaluate`` compares what matching booked with that truth: automatic bookings must never be
wrong, and the match rate says how much work is left for a person.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from faker import Faker
from sqlalchemy import insert, select
from sqlmodel import Session

from donorcrm.campaigns.models import Campaign
from donorcrm.db import utcnow
from donorcrm.donors.models import Donor, DonorAccount
from donorcrm.gifts import service as gifts
from donorcrm.gifts.categories import IncomeCategory, PaymentChannel
from donorcrm.gifts.models import Gift
from donorcrm.money import Money

from .models import BankAllocation, BankLine
from .records import Balance, Batch, Entry, Party, Statement, TransactionDetails
from .rules import Expectation
from .sources import (
    CollectionFacts,
    InstalmentFacts,
    PayoutFacts,
    SepaRunFacts,
    instalment_expectations,
    payout_expectations,
    sepa_expectations,
)

_PARTICLES = ("van der", "van den", "van de", "van 't", "van", "de", "den", "der", "ten", "ter", "te", "het", "'t")
ORG_IBAN = "NL91ABNA0417164300"


@dataclass(frozen=True)
class DemoDonor:
    id: int
    first_name: str
    infix: str | None
    last_name: str
    iban: str | None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.infix, self.last_name) if p)

    @property
    def bank_name(self) -> str:
        """How a bank writes the account holder: initial and surname, often upper case."""
        text = " ".join(p for p in (self.first_name[0] + ".", self.infix, self.last_name) if p)
        return text.upper() if self.id % 3 == 0 else text


@dataclass
class DemoWorld:
    donors: list[DemoDonor]
    campaigns: dict[str, int]
    shared_ibans: dict[str, tuple[int, int]]  # one account, two donors (a couple)
    homonyms: list[tuple[int, int]]  # two donors with the same name
    gifts: dict[int, int]  # earlier gift id -> donor id
    usual: dict[int, int]  # donor id -> amount given before (minor)


def _split_last(last: str) -> tuple[str | None, str]:
    for p in _PARTICLES:
        if last.lower().startswith(p + " "):
            return p, last[len(p) + 1:]
    return None, last


def seed_world(session: Session, *, donors: int = 500, seed: int = 1, on: dt.date | None = None) -> DemoWorld:
    """Create the demo organisation's donors, accounts, campaigns and earlier gifts (bulk inserts)."""
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    on = on or dt.date(2026, 11, 2)
    now = utcnow()
    rows = []
    for i in range(donors):
        infix, last = _split_last(fake.last_name())
        rows.append({"kind": "person", "first_name": fake.first_name(), "name_infix": infix, "last_name": last,
                     "language": "nl", "country": "NL", "status": "active", "reference": f"DEMO-{seed}-{i}",
                     "created_at": now, "updated_at": now})
    # Homonyms: every 50th donor gets the same name as the one before.
    homonym_pairs = []
    for i in range(50, donors, 50):
        rows[i].update(first_name=rows[i - 1]["first_name"], name_infix=rows[i - 1]["name_infix"],
                       last_name=rows[i - 1]["last_name"])
        homonym_pairs.append(i)
    conn = session.connection()
    conn.execute(insert(Donor.__table__), rows)  # type: ignore[attr-defined]
    refs = [r["reference"] for r in rows]
    ids = []
    for start in range(0, len(refs), 10_000):  # PostgreSQL takes at most 65,535 parameters per statement
        ids += session.execute(
            select(Donor.id).where(Donor.reference.in_(refs[start:start + 10_000])).order_by(Donor.id)  # type: ignore[union-attr]
        ).scalars()
    made: list[DemoDonor] = []
    accounts = []
    for donor_id, r in zip(ids, rows, strict=True):
        iban = fake.iban() if rng.random() < 0.7 else None
        made.append(DemoDonor(donor_id, r["first_name"], r["name_infix"], r["last_name"], iban))
        if iban:
            accounts.append({"donor_id": donor_id, "iban": iban, "iban_last4": iban[-4:], "bic": None,
                             "holder": None, "source": "demo", "created_at": now})
    shared: dict[str, tuple[int, int]] = {}
    with_iban = [d for d in made if d.iban]
    for a, b in zip(with_iban[5::40], with_iban[6::40], strict=False):  # couples sharing one account
        assert a.iban is not None
        accounts.append({"donor_id": b.id, "iban": a.iban, "iban_last4": a.iban[-4:], "bic": None,
                         "holder": None, "source": "demo", "created_at": now})
        shared[a.iban] = (a.id, b.id)
    if accounts:
        conn.execute(insert(DonorAccount.__table__), accounts)  # type: ignore[attr-defined]
    codes = {}
    for code, name in (("XMAS26", "Christmas appeal 2026"), ("WINTER26", "Winter emergency"),
                       ("SCHOOLS", "Schools programme")):
        existing = session.execute(select(Campaign.id).where(Campaign.code == code)).scalar()
        if existing is None:
            camp = Campaign(code=code, name=name)
            session.add(camp)
            session.flush()
            existing = camp.id
        codes[code] = existing
    usual: dict[int, int] = {}
    gift_rows = []
    for d in made[::2]:
        amount = rng.choice((500, 1000, 1500, 2000, 2500, 5000, 10000))
        usual[d.id] = amount
        gift_rows.append(gifts.GiftRow(donor_id=d.id, amount_minor=amount, received_on=on - dt.timedelta(days=200),
                                       channel=PaymentChannel.BANK_TRANSFER, category=IncomeCategory.INDIVIDUAL_ONE_OFF,
                                       source="demo", external_ref=f"demo-{seed}-{d.id}"))
    gifts.record_gifts_bulk(session, gift_rows)
    gift_ids = {gid: did for gid, did in session.execute(
        select(Gift.id, Gift.donor_id).where(Gift.source == "demo", Gift.external_ref.like(f"demo-{seed}-%"))  # type: ignore[union-attr]
        .order_by(Gift.id)  # the statement draws from this in order: the same on every engine
    )}
    return DemoWorld(made, codes, shared, [(made[i - 1].id, made[i].id) for i in homonym_pairs], gift_ids, usual)


@dataclass
class DemoStatement:
    statement: Statement
    truth: dict[str, str | None]  # AcctSvcrRef of the entry -> right target key (None: nobody we know)
    kinds: dict[str, str]  # AcctSvcrRef -> what sort of line it is
    expectations: list[Expectation] = field(default_factory=list)


def demo_statement(world: DemoWorld, *, lines: int = 1000, seed: int = 1, on: dt.date | None = None,
                   statement_id: str | None = None, first_collection_id: int = 1) -> DemoStatement:
    """A statement of ``lines`` entries with a known right answer for each."""
    rng = random.Random(seed * 7919 + lines)
    fake = Faker("nl_NL")
    fake.seed_instance(seed + 17)
    on = on or dt.date(2026, 11, 2)
    entries: list[Entry] = []
    truth: dict[str, str | None] = {}
    kinds: dict[str, str] = {}
    known = [d for d in world.donors if d.iban and d.iban not in world.shared_ibans]
    shared = list(world.shared_ibans.items())
    homonyms = world.homonyms
    by_id = {d.id: d for d in world.donors}
    gift_refs = list(world.gifts.items())
    runs: list[SepaRunFacts] = []
    payouts: list[PayoutFacts] = []
    instalments: list[InstalmentFacts] = []
    collection_id = first_collection_id

    def add(entry_kind: str, answer: str | None, *, amount: int, credit: bool = True, name: str | None = None,
            iban: str | None = None, text: str = "", code: str = "PMNT/RCDT/ESCT", e2e: str | None = None,
            mandate: str | None = None, reason: str | None = None, batch: Batch | None = None,
            details: bool = True) -> None:
        ref = f"D{seed}-{len(entries):08d}"
        money = Money(amount)
        txs: tuple[TransactionDetails, ...] = ()
        if details:
            payer = Party(name=name, iban=iban)
            us = Party(name="Stichting Vluchtelingenhulp Demo", iban=ORG_IBAN)
            debtor, creditor = (payer, us) if credit or reason else (us, payer)
            txs = (TransactionDetails(amount=money, end_to_end_id=e2e or "NOTPROVIDED", mandate_id=mandate,
                                      debtor=debtor, creditor=creditor, remittance=text, return_reason=reason),)
        entries.append(Entry(
            amount=money, credit=credit, reversal=False, status="BOOK", booked_on=on, value_on=on,
            acct_svcr_ref=ref, entry_ref=None, bank_tx_code=code, proprietary_code=None, additional_info=None,
            batches=(batch,) if batch else (), transactions=txs, line=0, index=len(entries), fingerprint="",
        ))
        truth[ref] = answer
        kinds[ref] = entry_kind

    def amount() -> int:
        return rng.choice((500, 1000, 1500, 2000, 2500, 3500, 5000, 7500, 10000, 25000)) + rng.choice((0, 0, 0, 50))

    for _ in range(lines):
        roll = rng.random()
        if roll < 0.40 and known:
            d = rng.choice(known)
            value = world.usual.get(d.id, amount()) if rng.random() < 0.5 else amount()
            code = rng.choice(("", "", f" {rng.choice(list(world.campaigns))}"))
            add("known_iban", f"donor:{d.id}", amount=value, name=d.bank_name, iban=d.iban,
                text=f"Gift{code}".strip())
        elif roll < 0.50:
            d = rng.choice(world.donors)
            add("number_and_name", f"donor:{d.id}", amount=amount(), name=d.bank_name, iban=fake.iban(),
                text=f"Donatie D{d.id}")
        elif roll < 0.54:
            d = rng.choice(world.donors)
            add("number_other_payer", f"donor:{d.id}", amount=amount(), name=fake.company(), iban=fake.iban(),
                text=f"namens donateur D{d.id}")
        elif roll < 0.64:
            d = rng.choice(world.donors)
            add("name_only", f"donor:{d.id}", amount=amount(), name=d.bank_name, iban=fake.iban(), text="gift")
        elif roll < 0.67 and shared:
            iban, (a, b) = rng.choice(shared)
            add("shared_account", f"donor:{a}", amount=amount(), name=f"{by_id[a].bank_name} EN/OF {by_id[b].last_name}",
                iban=iban, text="")
        elif roll < 0.69 and homonyms:
            a, b = rng.choice(homonyms)
            add("homonym", f"donor:{b}", amount=amount(), name=by_id[b].bank_name, iban=fake.iban(), text="voor jullie werk")
        elif roll < 0.71 and gift_refs:
            gift_id, donor_id = rng.choice(gift_refs)
            add("gift_reference", f"donor:{donor_id}", amount=amount(), name=by_id[donor_id].bank_name,
                iban=fake.iban(), text=f"zoals gift {gift_id}")
        elif roll < 0.73 and known:
            # Conflicting signals: someone's known account quoting another donor's number.
            d, other = rng.choice(known), rng.choice(world.donors)
            if other.id != d.id:
                add("conflict", f"donor:{d.id}", amount=amount(), name=d.bank_name, iban=d.iban,
                    text=f"voor D{other.id}")
            else:
                add("unknown", None, amount=amount(), name=fake.name(), iban=fake.iban(), text="gift")
        elif roll < 0.85:
            add("unknown", None, amount=amount(), name=fake.name(), iban=fake.iban(),
                text=rng.choice(("", "gift", "donatie", "voor het goede doel")))
        elif roll < 0.88:
            size = rng.randint(2, 6)
            members = rng.sample(world.donors, size)
            run_id = len(runs) + 1
            colls = []
            for m in members:
                colls.append(CollectionFacts(
                    id=collection_id, end_to_end_id=f"DCRM-{seed}-{collection_id}", mandate_reference=f"DCRM-M{m.id}",
                    amount=Money(rng.choice((500, 1000, 1500, 2500))), donor_id=m.id, due_on=on, debtor_name=m.name))
                collection_id += 1
            run = SepaRunFacts(id=run_id + seed * 100000, payment_info_id=f"DCRM-RUN-{seed}-{run_id}", message_id=None,
                               collection_date=on, collections=tuple(colls))
            runs.append(run)
            total = sum(c.amount.minor for c in colls)
            add("sepa_run", f"sepa_run:{run.id}", amount=total, code="PMNT/IDDT/ESDD", details=False,
                batch=Batch(pmt_inf_id=run.payment_info_id, count=len(colls), total=Money(total)))
        elif roll < 0.91 and runs:
            run = rng.choice(runs)
            c = rng.choice(run.collections)
            add("sepa_return", f"collection:{c.id}", amount=c.amount.minor, credit=False, name=c.debtor_name,
                iban=fake.iban(), code="PMNT/IDDT/UPDD", e2e=c.end_to_end_id, mandate=c.mandate_reference,
                reason=rng.choice(("AM04", "MD06", "MS02", "AC04")), text="Storno")
        elif roll < 0.94:
            payout_id = f"po_{seed}x{len(payouts) + 1:05d}{rng.randint(1000, 9999)}"
            value = rng.randint(10000, 900000)
            payouts.append(PayoutFacts(id=payout_id, provider="stripe", reference=payout_id, amount=Money(value), paid_on=on))
            add("payout", f"payout:{payout_id}", amount=value, name="STRIPE PAYMENTS EUROPE LTD",
                iban="IE64SRCB99041000009216", text=f"STRIPE PAYOUT {payout_id}")
        elif roll < 0.95:
            inst_id = len(instalments) + 1
            value = rng.randint(1000000, 5000000)
            reference = f"GRANT{seed}-{inst_id:04d}"
            instalments.append(InstalmentFacts(id=inst_id, kind="grant_instalment", amount=Money(value), donor_id=None,
                                               category=IncomeCategory.LOTTERY, reference=reference,
                                               label=f"lottery instalment {inst_id}"))
            add("grant_instalment", f"grant_instalment:{inst_id}", amount=value, name="NATIONALE POSTCODE LOTERIJ",
                iban="NL08ABNA0450501111", text=f"{reference} bijdrage")
        else:
            add("bank_charges", "not_gift:fee", amount=rng.randint(100, 3000), credit=False, code="ACMT/MDOP/CHRG",
                details=False)

    opening = Money(1_000_000)
    moved = sum(e.signed.minor for e in entries)
    stmt = Statement(
        message="camt.053", version="001.02", message_id=f"DEMO-{seed}", statement_id=statement_id or f"DEMO-{seed}-{on:%Y%m%d}",
        electronic_seq=str(seed), legal_seq=None, created=None,
        created_at=dt.datetime.combine(on, dt.time(18, 0), tzinfo=dt.UTC), account_iban=ORG_IBAN, account_other=None,
        currency="EUR", from_date=on, to_date=on,
        balances=(Balance("OPBD", opening, on), Balance("CLBD", Money(opening.minor + moved), on)),
        entries=tuple(entries), line=0,
    )
    expectations = sepa_expectations(runs) + payout_expectations(payouts) + instalment_expectations(instalments)
    return DemoStatement(stmt, truth, kinds, expectations)


@dataclass
class Evaluation:
    lines: int
    auto: int
    wrong: int
    by_kind: dict[str, dict[str, int]]
    mistakes: list[dict[str, Any]]

    @property
    def match_rate(self) -> float:
        return self.auto / self.lines if self.lines else 0.0

    @property
    def precision(self) -> float:
        return 1.0 - (self.wrong / self.auto) if self.auto else 1.0


def evaluate(session: Session, statement_id: int, demo: DemoStatement) -> Evaluation:
    """Compare automatic bookings with the truth: per kind of line, how many were booked, how many wrongly."""
    rows = session.execute(
        select(BankLine.id, BankLine.acct_svcr_ref, BankLine.candidates).where(BankLine.statement_id == statement_id)
    ).all()
    auto_lines = {lid for (lid,) in session.execute(
        select(BankAllocation.line_id).where(BankAllocation.rule != "manual", BankAllocation.rule != "candidate",
                                             BankAllocation.undone_at.is_(None))  # type: ignore[union-attr]
        .join(BankLine, BankLine.id == BankAllocation.line_id).where(BankLine.statement_id == statement_id)
    )}
    by_kind: dict[str, Counter[str]] = {}
    mistakes = []
    auto = wrong = 0
    for line_id, ref, candidates in rows:
        kind = demo.kinds.get(ref, "?")
        stats = by_kind.setdefault(kind, Counter())
        stats["lines"] += 1
        if line_id not in auto_lines:
            continue
        auto += 1
        stats["auto"] += 1
        booked = (candidates or [{}])[0].get("target")
        if booked != demo.truth.get(ref):
            wrong += 1
            stats["wrong"] += 1
            mistakes.append({"ref": ref, "kind": kind, "booked": booked, "truth": demo.truth.get(ref),
                             "reason": (candidates or [{}])[0].get("reason")})
    return Evaluation(len(rows), auto, wrong, {k: dict(v) for k, v in by_kind.items()}, mistakes)
