"""Read-only figures on legacies for the admin page and the command line: plain rows, no drawing."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from donorcrm.bequests import rules, service
from donorcrm.bequests.models import BequestCase, BequestCheck, BequestTask, CheckStatus, TaskStatus
from donorcrm.bequests.rules import Stage
from donorcrm.db import utcnow
from donorcrm.donors.models import Donor
from donorcrm.gifts.models import Gift
from donorcrm.gifts.summary import IncomeMonth

STAGE_ORDER = [*rules.PIPELINE, Stage.DISPUTED, Stage.RENOUNCED]


def _received_subquery():  # type: ignore[no-untyped-def]
    return (select(Gift.bequest_id.label("case_id"), func.sum(Gift.amount_minor).label("received"))  # type: ignore[union-attr]
            .where(Gift.bequest_id.is_not(None))  # type: ignore[union-attr]
            .group_by(Gift.bequest_id).subquery())


@dataclass(frozen=True)
class StageRow:
    stage: str
    cases: int
    estimated_minor: int
    received_minor: int
    outstanding_minor: int  # estimated − received, never below zero per case


def pipeline_by_stage(session: Session, currency: str = "EUR") -> list[StageRow]:
    """Cases, estimated and received value per stage, in pipeline order (stages without cases included)."""
    got = _received_subquery()
    received = func.coalesce(got.c.received, 0)
    left = BequestCase.estimated_minor - received
    stmt = (
        select(BequestCase.stage, func.count(), func.sum(BequestCase.estimated_minor), func.sum(received),
               func.sum(case((left > 0, left), else_=0)))
        .select_from(BequestCase)
        .outerjoin(got, got.c.case_id == BequestCase.id)
        .where(BequestCase.currency == currency)
        .group_by(BequestCase.stage)
    )
    found = {stage: (int(n), int(est or 0), int(rec or 0), int(out or 0))
             for stage, n, est, rec, out in session.execute(stmt)}
    return [StageRow(str(s), *found.get(str(s), (0, 0, 0, 0))) for s in STAGE_ORDER]


@dataclass(frozen=True)
class CaseRow:
    id: int
    reference: str
    deceased_name: str
    kind: str
    stage: str
    stage_since: dt.date
    days_in_stage: int
    notified_on: dt.date
    currency: str
    estimated_minor: int
    estimate_reliable: bool
    received_minor: int
    overdue: bool
    open_tasks: int


def case_rows(session: Session, stage: Stage | str | None = None, on: dt.date | None = None,
              only_overdue: bool = False) -> list[CaseRow]:
    """Cases with their money and whether they sat too long in their stage, oldest notification first."""
    on = on or utcnow().date()
    got = _received_subquery()
    tasks = (select(BequestTask.case_id, func.count().label("n")).where(BequestTask.status == TaskStatus.OPEN)
             .group_by(BequestTask.case_id).subquery())
    stmt = (select(BequestCase, func.coalesce(got.c.received, 0), func.coalesce(tasks.c.n, 0))
            .outerjoin(got, got.c.case_id == BequestCase.id)
            .outerjoin(tasks, tasks.c.case_id == BequestCase.id)
            .order_by(BequestCase.notified_on, BequestCase.id))
    if stage is not None:
        stmt = stmt.where(BequestCase.stage == str(Stage(stage)))
    out = []
    for c, rec, n in session.execute(stmt):
        overdue = c.stage not in rules.TERMINAL and rules.is_overdue(c.stage, c.stage_since, on)
        if only_overdue and not overdue:
            continue
        out.append(CaseRow(c.id, c.reference, c.deceased_name, c.kind, c.stage, c.stage_since,
                           (on - c.stage_since).days, c.notified_on, c.currency, c.estimated_minor,
                           c.estimate_reliable, int(rec), overdue, int(n)))
    return out


def overdue_cases(session: Session, on: dt.date | None = None) -> list[CaseRow]:
    return case_rows(session, on=on, only_overdue=True)


@dataclass(frozen=True)
class ForecastRow:
    quarter: str
    starts_on: dt.date
    low_minor: int
    central_minor: int
    high_minor: int


def forecast_rows(session: Session, on: dt.date | None = None, quarters: int = 12) -> dict[str, Any]:
    """The forecast as rows per quarter plus what lies beyond the horizon or waits for a life tenant."""
    f = service.compute_forecast(session, on, quarters)
    rows = [ForecastRow(q.quarter, q.starts_on, q.amounts["low"], q.amounts["central"], q.amounts["high"])
            for q in f.quarters]
    return {"on": f.today, "quarters": rows, "beyond": f.beyond, "undated": f.undated,
            "totals": {name: f.total(name) for name in ("low", "central", "high")}}


@dataclass(frozen=True)
class RecognitionRow:
    case_id: int
    reference: str
    deceased_name: str
    stage: str
    recognised_minor: int
    received_minor: int
    receivable_minor: int  # recognised but not received at the year end


def recognised_vs_received(session: Session, year: int) -> dict[str, Any]:
    """For the annual accounts: per case and in total, income recognised in the year, cash received in the
    year and the receivable at 31 December (recognised but not yet received)."""
    rows = [RecognitionRow(r.case_id, r.reference, r.deceased_name, r.stage, r.year.recognised_minor,
                           r.year.received_minor, r.year.receivable_minor)
            for r in service.recognition(session, year)]
    # Bequest gifts not linked to any case are income when received (no estimate could exist).
    # All bequest-category money of the year (from the summary) less the part linked to cases (read
    # through the partial index on bequest_id); the ledger's other millions of rows stay unread.
    im = IncomeMonth.__table__  # type: ignore[attr-defined]
    category_total = session.execute(
        select(func.coalesce(func.sum(im.c.amount_minor), 0))
        .where(im.c.category == "individual_bequest", im.c.year == year)).scalar_one()
    counted = and_(Gift.received_on >= dt.date(year, 1, 1), Gift.received_on <= dt.date(year, 12, 31),
                   Gift.category == "individual_bequest")
    linked = session.execute(  # no other condition in WHERE, or a planner may prefer a wider index
        select(func.coalesce(func.sum(case((counted, Gift.amount_minor), else_=0)), 0))
        .where(Gift.bequest_id.is_not(None))  # type: ignore[union-attr]
    ).scalar_one()
    unlinked = int(category_total) - int(linked)
    totals = {
        "recognised_minor": sum(r.recognised_minor for r in rows) + int(unlinked),
        "received_minor": sum(r.received_minor for r in rows) + int(unlinked),
        "receivable_minor": sum(r.receivable_minor for r in rows),
        "unlinked_received_minor": int(unlinked),
    }
    return {"year": year, "cases": rows, "totals": totals}


@dataclass(frozen=True)
class CheckRow:
    id: int
    donor_id: int
    donor_name: str
    source: str
    opened_on: dt.date
    priority: str


def open_check_rows(session: Session) -> list[CheckRow]:
    stmt = (select(BequestCheck, Donor).join(Donor, Donor.id == BequestCheck.donor_id)
            .where(BequestCheck.status == CheckStatus.OPEN)
            .order_by(BequestCheck.priority, BequestCheck.opened_on, BequestCheck.id))
    return [CheckRow(c.id, c.donor_id, d.display_name, c.source, c.opened_on, c.priority)
            for c, d in session.execute(stmt)]


def as_dicts(rows: list[Any]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]


@dataclass(frozen=True)
class PledgeRow:
    id: int
    status: str
    learned_on: dt.date
    learned_how: str
    kind: str | None
    estimated_minor: int | None
    steward: str | None
    last_contact_on: dt.date | None
    next_contact_on: dt.date | None


def donor_legacy_profile(session: Session, donor_id: int) -> dict[str, Any]:
    """What the donor profile shows about legacies: pledges, the donor's case and an open check, if any."""
    pledges = [PledgeRow(p.id, p.status, p.learned_on, p.learned_how, p.kind, p.estimated_minor,  # type: ignore[arg-type]
                         p.steward, p.last_contact_on, p.next_contact_on)
               for p in service.pledges_for_donor(session, donor_id)]
    case_ids = list(session.execute(select(BequestCase.id).where(BequestCase.donor_id == donor_id)).scalars())
    cases = [r for r in case_rows(session) if r.id in case_ids] if case_ids else []
    check = session.execute(select(BequestCheck).where(BequestCheck.donor_id == donor_id,
                                                       BequestCheck.status == CheckStatus.OPEN)).scalars().first()
    return {"pledges": pledges, "cases": cases,
            "open_check": None if check is None else {"id": check.id, "source": check.source,
                                                       "opened_on": check.opened_on, "priority": check.priority}}
