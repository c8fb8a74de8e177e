"""Demo data for legacies: cases for the estates the demo ledger already paid, open cases still expected,
a few renounced and disputed ones, and pledges among living donors.

The step reads what the ledger holds rather than the demo's plan, so it works on any demo size: every
bequest gift (category individual_bequest) of a donor becomes a distribution of that donor's case, with
a stage history that fits its payment dates. Gift notes of the form "... uitkering 2 van 3" tell how many
payments the estate makes; estates whose later payments fall after the ledger's last day stay open.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from donorcrm import audit
from donorcrm.bequests import service
from donorcrm.bequests.models import ContactRole
from donorcrm.db import session_scope
from donorcrm.donors.models import Donor, DonorKind, DonorStatus
from donorcrm.gifts.models import Gift
from donorcrm.money import Money

_PART = re.compile(r"(\d+)\s+van\s+(\d+)")
_NOTARIES = ("Notariskantoor De Wit", "Notariaat Van Leeuwen", "Hermans & Bos notarissen", "Notaris Mulder",
             "Notariskantoor Amstelland", "De Graaf Notarissen")
_NAMES = ("J. de Jong", "M. Jansen", "W. de Vries", "A. van den Berg", "H. Bakker", "C. Visser", "G. Smit",
          "E. Meijer", "P. de Boer", "T. Mulder", "L. de Groot", "R. Bos", "K. Vos", "S. Peters", "F. Hendriks")


def _ctx_get(ctx: Any, name: str, default: Any = None) -> Any:
    if isinstance(ctx, dict):
        return ctx.get(name, default)
    return getattr(ctx, name, default)


def _rng(ctx: Any) -> random.Random:
    make = _ctx_get(ctx, "rng")
    if callable(make):
        return make("bequests")  # type: ignore[no-any-return]
    return random.Random(f"{_ctx_get(ctx, 'seed', 2020)}:bequests")


@contextmanager
def _session(target: Session | Connection | Engine) -> Iterator[Session]:
    if isinstance(target, Session):
        yield target
    elif isinstance(target, Connection):
        session = Session(bind=target, expire_on_commit=False)
        try:
            yield session
            session.flush()
        finally:
            session.close()
    else:
        with session_scope(target) as session:
            yield session


def _days(rng: random.Random, a: int, b: int) -> dt.timedelta:
    return dt.timedelta(days=rng.randint(a, b))


def demo_step(session_or_conn: Session | Connection | Engine, ctx: Any = None) -> dict[str, int]:
    """Create the demo's legacy pipeline. Returns counts per kind of row created."""
    rng = _rng(ctx)
    counts: dict[str, int] = defaultdict(int)
    with audit.acting_as("demo"), _session(session_or_conn) as s:
        gifts = list(s.execute(
            select(Gift).where(Gift.category == "individual_bequest", Gift.entry_type == "gift",
                               Gift.bequest_id.is_(None), Gift.donor_id.is_not(None))  # type: ignore[union-attr]
            .order_by(Gift.donor_id, Gift.received_on, Gift.id)).scalars())
        last_day = s.execute(select(func.max(Gift.received_on))).scalar_one()
        today = _ctx_get(ctx, "today") or last_day or dt.date.today()
        by_donor: dict[int, list[Gift]] = defaultdict(list)
        for g in gifts:
            by_donor[g.donor_id].append(g)  # type: ignore[index]
        for donor_id, paid in by_donor.items():
            _paid_estate(s, rng, donor_id, paid, today, counts)
        yearly = sum(g.amount_minor for g in gifts if g.received_on > today - dt.timedelta(days=365)) or 100_000_000
        _open_estates(s, rng, today, yearly, counts)
        _pledges(s, rng, today, int(_ctx_get(ctx, "donors", 0) or 0), counts)
        s.flush()
    if ctx is not None and hasattr(ctx, "count"):
        for table, n in counts.items():
            ctx.count(table, n)
    return dict(counts)


def _paid_estate(s: Session, rng: random.Random, donor_id: int, paid: list[Gift], today: dt.date,
                 counts: dict[str, int]) -> None:
    first, last = paid[0].received_on, paid[-1].received_on
    total = sum(g.amount_minor for g in paid)
    expected_payments = len(paid)
    for g in paid:
        m = _PART.search(g.note or "")
        if m:
            expected_payments = max(expected_payments, int(m.group(2)))
    complete = expected_payments <= len(paid)
    donor = s.get(Donor, donor_id)
    died = donor.deceased_on if donor and donor.deceased_on else first - _days(rng, 150, 400)
    notified = min(died + _days(rng, 14, 60), first - dt.timedelta(days=45))
    died = min(died, notified)
    kind = "residuary" if expected_payments > 1 or rng.random() < 0.35 else "pecuniary"
    share = rng.choice((1000, 2000, 2500, 3333, 5000, 10_000)) if kind == "residuary" else None
    if complete:
        estimate = total + rng.randint(-total // 10, total // 10)
    else:
        estimate = total * expected_payments // len(paid)
    case = service.open_case(s, donor_id=donor_id, notified_on=notified, deceased_on=died, kind=kind,
                             dutch_form="erfstelling" if kind == "residuary" else "legaat", share_bp=share,
                             estimate=Money(max(estimate, 100)), estimate_source="notary's first letter")
    counts["bequest_case"] += 1
    service.add_contact(s, case.id, ContactRole.NOTARY, rng.choice(_NOTARIES))  # type: ignore[arg-type]
    # Stages between the notice and the first payment, spaced inside the gap.
    gap = (first - notified).days
    docs = notified + dt.timedelta(days=max(1, gap // 4))
    admin = notified + dt.timedelta(days=max(2, gap // 2))
    service.receive_documents(s, case.id, docs)  # type: ignore[arg-type]
    service.start_administration(s, case.id, admin)  # type: ignore[arg-type]
    for g in paid:
        service.link_gift(s, case.id, g.id)  # type: ignore[arg-type]
    if len(paid) > 1 or not complete:
        service.start_interim_distributions(s, case.id, first)  # type: ignore[arg-type]
    if complete:
        if kind == "residuary":
            accounts = max(last - _days(rng, 20, 60), case.stage_since)
            service.receive_estate_accounts(s, case.id, accounts)  # type: ignore[arg-type]
        service.set_estimate(s, case.id, Money(total), on=max(last, case.stage_since), source="final account",
                             reliable=True)
        service.start_final_distribution(s, case.id, max(last, case.stage_since))  # type: ignore[arg-type]
        closing = last + _days(rng, 7, 45)
        if closing <= today:
            service.close_case(s, case.id, closing)  # type: ignore[arg-type]
    elif rng.random() < 0.5:
        service.set_estimate(s, case.id, Money(estimate), on=first, source="executor's inventory", reliable=True)


def _open_estates(s: Session, rng: random.Random, today: dt.date, yearly_minor: int,
                  counts: dict[str, int]) -> None:
    """Estates notified in the last months with nothing paid yet: the pipeline the forecast is about."""
    n = 12
    weights = [rng.lognormvariate(0, 0.9) for _ in range(n)]
    # About nine months of notifications: three quarters of a year's legacy income.
    parts = Money(yearly_minor * 3 // 4).allocate([max(1, int(w * 1000)) for w in weights])
    for i, part in enumerate(parts):
        notified = today - _days(rng, 10, 280)
        kind = rng.choices(("residuary", "pecuniary", "life_interest", "specific"), (55, 30, 8, 7))[0]
        extra: dict[str, Any] = {}
        if kind == "residuary":
            extra["share_bp"] = rng.choice((1000, 2500, 5000, 10_000))
        if kind == "specific":
            extra["item"] = rng.choice(("apartment in Utrecht", "share portfolio", "painting"))
        case = service.open_case(s, deceased_name=_NAMES[i % len(_NAMES)], notified_on=notified,
                                 deceased_on=notified - _days(rng, 10, 90), kind=kind, estimate=part,
                                 estimate_source="notary's first letter",
                                 dutch_form="erfstelling" if kind == "residuary" else "legaat", **extra)
        counts["bequest_case"] += 1
        service.add_contact(s, case.id, ContactRole.NOTARY, rng.choice(_NOTARIES))  # type: ignore[arg-type]
        service.add_contact(s, case.id, ContactRole.EXECUTOR, rng.choice(_NAMES))  # type: ignore[arg-type]
        age = (today - notified).days
        if kind == "life_interest":
            service.add_contact(s, case.id, ContactRole.LIFE_TENANT, rng.choice(_NAMES),  # type: ignore[arg-type]
                                birth_date=dt.date(rng.randint(1935, 1950), rng.randint(1, 12), 1))
            service.set_usufruct(s, case.id, Money(part.minor * 4 // 10))  # type: ignore[arg-type]
        if age > 45:
            service.receive_documents(s, case.id, notified + _days(rng, 20, 45))  # type: ignore[arg-type]
        if age > 120:
            service.start_administration(s, case.id, notified + _days(rng, 60, 110))  # type: ignore[arg-type]
        if i == 0 and case.stage != "notified":
            service.dispute_case(s, case.id, max(case.stage_since, today - _days(rng, 5, 30)),  # type: ignore[arg-type]
                                 note="a relative contests the will")
    for name in _NAMES[-2:]:
        notified = today - _days(rng, 100, 400)
        case = service.open_case(s, deceased_name=name, notified_on=notified, kind="residuary", share_bp=2500,
                                 estimate=Money(0), estimate_source="estate appears insolvent")
        service.renounce_case(s, case.id, notified + _days(rng, 20, 80),  # type: ignore[arg-type]
                              note="negatieve nalatenschap: verworpen")
        counts["bequest_case"] += 1


def _pledges(s: Session, rng: random.Random, today: dt.date, donors: int, counts: dict[str, int]) -> None:
    want = max(5, donors // 1000)
    ids = list(s.execute(select(Donor.id).where(Donor.status == DonorStatus.ACTIVE,
                                                Donor.kind == DonorKind.PERSON)
                         .order_by(Donor.id).limit(max(want * 50, 500))).scalars())
    for donor_id in rng.sample(ids, min(want, len(ids))):
        service.create_pledge(s, donor_id, learned_on=today - _days(rng, 30, 3000),
                              learned_how=rng.choice(("legacy form", "conversation", "survey", "letter")),
                              confirmed=rng.random() < 0.4, steward="Legacy team")
        counts["bequest_pledge"] += 1
