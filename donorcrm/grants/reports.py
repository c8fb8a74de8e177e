"""Plain rows about grants for the admin page and the CLI: funders, grants by stage, the calendar of reports
and instalments, each grant's money and co-funding position, open reminders, restricted-fund balances.

Sums are taken in the database (one grouped query per figure), never by loading ledger rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session

from donorcrm.campaigns.models import Fund
from donorcrm.donors.models import Donor
from donorcrm.gifts.models import Gift
from donorcrm.gifts.summary import IncomeMonth
from donorcrm.grants import rules
from donorcrm.grants.models import (
    CofundingAllocation,
    Funder,
    FundSpending,
    Grant,
    GrantInstalment,
    GrantReminder,
    GrantReport,
    GrantStage,
    InstalmentStatus,
    RepaymentClaim,
    ReportStatus,
)
from donorcrm.money import Money


def to_records(rows: list[Any]) -> list[dict[str, Any]]:
    """Dataclass rows as dicts with amounts as plain decimal strings ("1234.50"), for JSON and data frames."""
    out = []
    for row in rows:
        record = {}
        for f in fields(row):
            value = getattr(row, f.name)
            record[f.name] = value.to_string() if isinstance(value, Money) else value
        out.append(record)
    return out


def _sum_by_grant(session: Session, stmt: Any) -> dict[int, int]:
    return {gid: int(total or 0) for gid, total in session.execute(stmt).all()}


# --- grants ------------------------------------------------------------------------------------------

STAGE_ORDER = list(GrantStage)  # the lifecycle order, for display


@dataclass(frozen=True)
class GrantRow:
    id: int
    reference: str
    funder: str
    funder_kind: str
    title: str
    stage: str
    category: str
    period_start: dt.date | None
    period_end: dt.date | None
    requested: Money | None
    awarded: Money
    settled: Money | None
    received: Money
    to_receive: Money
    to_repay: Money
    cofunding_required: Money
    cofunding_covered: Money
    cofunding_met: bool
    fund_code: str | None
    next_due_on: dt.date | None


def grant_rows(session: Session, *, stage: str | None = None, funder_id: int | None = None,
               grant_id: int | None = None) -> list[GrantRow]:
    stmt = (
        select(Grant, Donor.organisation_name, Funder.code, Funder.kind, Fund.code)
        .join(Funder, Funder.id == Grant.funder_id).join(Donor, Donor.id == Funder.donor_id)
        .outerjoin(Fund, Fund.id == Grant.fund_id)
    )
    if stage:
        stmt = stmt.where(Grant.stage == stage)
    if funder_id:
        stmt = stmt.where(Grant.funder_id == funder_id)
    if grant_id:
        stmt = stmt.where(Grant.id == grant_id)
    grants = session.execute(stmt).all()
    if not grants:
        return []
    income = _sum_by_grant(session, select(Gift.grant_id, func.sum(Gift.amount_minor))
                           .where(Gift.grant_id.is_not(None)).group_by(Gift.grant_id))  # type: ignore[union-attr]
    open_claims = _sum_by_grant(session, select(
        RepaymentClaim.grant_id,
        func.sum(case((RepaymentClaim.paid_on.is_(None), RepaymentClaim.amount_minor), else_=0)),  # type: ignore[union-attr]
    ).group_by(RepaymentClaim.grant_id))
    paid_claims = _sum_by_grant(session, select(
        RepaymentClaim.grant_id,
        func.sum(case((RepaymentClaim.paid_on.is_(None), 0), else_=RepaymentClaim.amount_minor)),  # type: ignore[union-attr]
    ).group_by(RepaymentClaim.grant_id))
    covered = _sum_by_grant(session, select(CofundingAllocation.grant_id, func.sum(CofundingAllocation.amount_minor))
                            .group_by(CofundingAllocation.grant_id))
    next_report = dict(session.execute(
        select(GrantReport.grant_id, func.min(GrantReport.due_on)).where(GrantReport.status == ReportStatus.DUE)
        .group_by(GrantReport.grant_id)).all())
    next_instalment = dict(session.execute(
        select(GrantInstalment.grant_id, func.min(GrantInstalment.due_on))
        .where(GrantInstalment.status == InstalmentStatus.PLANNED).group_by(GrantInstalment.grant_id)).all())
    rows = []
    for grant, org_name, code, kind, fund_code in grants:
        cur = grant.currency
        awarded = Money(grant.awarded_minor or 0, cur)
        settled = None if grant.settled_minor is None else Money(grant.settled_minor, cur)
        money = rules.money_position(awarded, ledger_income=Money(income.get(grant.id, 0), cur), settled=settled,
                                     claims_open=Money(open_claims.get(grant.id, 0), cur),
                                     claims_paid=Money(paid_claims.get(grant.id, 0), cur))
        budget = None if grant.budget_minor is None else Money(grant.budget_minor, cur)
        fixed = None if grant.cofunding_minor is None else Money(grant.cofunding_minor, cur)
        required = rules.cofunding_required(basis_points=grant.cofunding_basis_points, fixed=fixed, budget=budget,
                                            currency=cur)
        cof = rules.cofunding_position(required, [Money(covered.get(grant.id, 0), cur)])
        dues = [d for d in (next_report.get(grant.id), next_instalment.get(grant.id)) if d is not None]
        live = grant.stage in rules.LIVE_STAGES
        rows.append(GrantRow(
            id=grant.id, reference=grant.reference, funder=org_name or code, funder_kind=kind, title=grant.title,
            stage=grant.stage, category=grant.category, period_start=grant.period_start,
            period_end=grant.period_end,
            requested=None if grant.requested_minor is None else Money(grant.requested_minor, cur), awarded=awarded, settled=settled, received=money.received,
            to_receive=money.to_receive if live else Money.zero(cur), to_repay=money.to_repay,
            cofunding_required=cof.required, cofunding_covered=cof.covered, cofunding_met=cof.met,
            fund_code=fund_code, next_due_on=min(dues) if dues and live else None,
        ))
    rows.sort(key=lambda r: (STAGE_ORDER.index(GrantStage(r.stage)), r.reference))
    return rows


@dataclass(frozen=True)
class StageRow:
    stage: str
    grants: int
    requested: Money
    awarded: Money


def grants_by_stage(session: Session, currency: str = "EUR") -> list[StageRow]:
    found = {stage: (n, int(req or 0), int(aw or 0)) for stage, n, req, aw in session.execute(
        select(Grant.stage, func.count(), func.sum(Grant.requested_minor), func.sum(Grant.awarded_minor))
        .where(Grant.currency == currency).group_by(Grant.stage)).all()}
    rows = []
    for stage in STAGE_ORDER:
        if stage in found:
            n, requested, awarded = found[stage]
            rows.append(StageRow(str(stage), n, Money(requested, currency), Money(awarded, currency)))
    return rows


# --- funders -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunderRow:
    id: int
    code: str
    name: str
    kind: str
    category: str
    grants: int
    awarded: Money
    received: Money


def funder_rows(session: Session, currency: str = "EUR") -> list[FunderRow]:
    counts = {fid: (n, int(aw or 0)) for fid, n, aw in session.execute(
        select(Grant.funder_id, func.count(), func.sum(Grant.awarded_minor)).where(Grant.currency == currency)
        .group_by(Grant.funder_id)).all()}
    # Grant money is summed per grant through the gift table's grant index first: joined the other way
    # round, a planner without statistics reads the whole ledger.
    per_grant = (select(Gift.grant_id, func.sum(Gift.amount_minor).label("total"))
                 .where(Gift.grant_id.is_not(None), Gift.currency == currency)  # type: ignore[union-attr]
                 .group_by(Gift.grant_id).subquery())
    received = dict(session.execute(
        select(Grant.funder_id, func.sum(per_grant.c.total)).join(per_grant, per_grant.c.grant_id == Grant.id)
        .group_by(Grant.funder_id)).all())
    rows = []
    for funder, name in session.execute(
        select(Funder, Donor.organisation_name).join(Donor, Donor.id == Funder.donor_id).order_by(Funder.code)
    ).all():
        n, awarded = counts.get(funder.id, (0, 0))
        rows.append(FunderRow(funder.id, funder.code, name or funder.code, funder.kind,
                              str(rules.category_for(funder.kind)), n, Money(awarded, currency),
                              Money(int(received.get(funder.id) or 0), currency)))
    return rows


# --- calendar ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarRow:
    due_on: dt.date
    kind: str  # report, instalment, repayment
    grant_id: int
    reference: str
    funder: str
    what: str
    amount: Money | None
    status: str
    overdue: bool


def calendar(session: Session, *, start: dt.date, end: dt.date, today: dt.date | None = None) -> list[CalendarRow]:
    """Every report, instalment and repayment due in [start, end], done or not, in date order."""
    today = today or dt.date.today()
    base = (select(Grant.id, Grant.reference, Donor.organisation_name)
            .join(Funder, Funder.id == Grant.funder_id).join(Donor, Donor.id == Funder.donor_id).subquery())
    rows: list[CalendarRow] = []
    for r, ref, funder in session.execute(
        select(GrantReport, base.c.reference, base.c.organisation_name).join(base, base.c.id == GrantReport.grant_id)
        .where(GrantReport.due_on >= start, GrantReport.due_on <= end)
    ).all():
        year = f" {r.period_year}" if r.period_year else ""
        rows.append(CalendarRow(r.due_on, "report", r.grant_id, ref, funder or "", f"{r.kind}{year} report", None,
                                r.status, r.status == ReportStatus.DUE and r.due_on < today))
    for i, ref, funder in session.execute(
        select(GrantInstalment, base.c.reference, base.c.organisation_name)
        .join(base, base.c.id == GrantInstalment.grant_id)
        .where(GrantInstalment.due_on >= start, GrantInstalment.due_on <= end)
    ).all():
        rows.append(CalendarRow(i.due_on, "instalment", i.grant_id, ref, funder or "",
                                f"instalment {i.seq}" + (f": {i.condition}" if i.condition else ""),
                                Money(i.amount_minor, i.currency), i.status,
                                i.status == InstalmentStatus.PLANNED and i.due_on < today))
    for c, ref, funder in session.execute(
        select(RepaymentClaim, base.c.reference, base.c.organisation_name)
        .join(base, base.c.id == RepaymentClaim.grant_id)
        .where(RepaymentClaim.due_on >= start, RepaymentClaim.due_on <= end)
    ).all():
        rows.append(CalendarRow(c.due_on, "repayment", c.grant_id, ref, funder or "", "repayment to the funder",
                                Money(c.amount_minor, c.currency), "paid" if c.paid_on else "open",
                                c.paid_on is None and c.due_on < today))
    rows.sort(key=lambda r: (r.due_on, r.reference, r.kind))
    return rows


# --- reminders and funds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderRow:
    id: int
    level: str
    due_on: dt.date
    reference: str
    message: str
    created_on: dt.date


def open_reminders(session: Session) -> list[ReminderRow]:
    """Unacknowledged reminders, escalations first, then by due date."""
    severity = case((GrantReminder.level == "escalated", 0), (GrantReminder.level == "overdue", 1), else_=2)
    return [ReminderRow(r.id, r.level, r.due_on, ref, r.message, r.created_on) for r, ref in session.execute(
        select(GrantReminder, Grant.reference).join(Grant, Grant.id == GrantReminder.grant_id)
        .where(GrantReminder.acknowledged_at.is_(None))  # type: ignore[union-attr]
        .order_by(severity, GrantReminder.due_on, GrantReminder.id)
    ).all()]


@dataclass(frozen=True)
class FundRow:
    fund_id: int
    code: str
    name: str
    income: Money
    spending: Money
    balance: Money


def restricted_fund_rows(session: Session, currency: str = "EUR") -> list[FundRow]:
    im = IncomeMonth.__table__  # type: ignore[attr-defined]  # net per fund, kept by the ledger services
    income = dict(session.execute(select(im.c.fund_id, func.sum(im.c.amount_minor))
                                  .where(im.c.currency == currency, im.c.fund_id != 0)
                                  .group_by(im.c.fund_id)).all())
    spent = dict(session.execute(select(FundSpending.fund_id, func.sum(FundSpending.amount_minor))
                                 .where(FundSpending.currency == currency).group_by(FundSpending.fund_id)).all())
    rows = []
    for fund in session.execute(select(Fund).where(Fund.restricted.is_(True)).order_by(Fund.code)).scalars():  # type: ignore[attr-defined]
        i = Money(int(income.get(fund.id) or 0), currency)
        s = Money(int(spent.get(fund.id) or 0), currency)
        rows.append(FundRow(fund.id, fund.code, fund.name, i, s, i - s))  # type: ignore[arg-type]
    return rows


def grant_detail(session: Session, grant_id: int) -> dict[str, Any]:
    """Everything `grants show` and the admin's grant view need, as plain data."""
    from donorcrm.grants import cofunding, service

    grant = service.get_grant(session, grant_id)
    [row] = grant_rows(session, grant_id=grant.id)
    instalments = session.execute(select(GrantInstalment).where(GrantInstalment.grant_id == grant_id)
                                  .order_by(GrantInstalment.seq)).scalars().all()
    reports = session.execute(select(GrantReport).where(GrantReport.grant_id == grant_id)
                              .order_by(GrantReport.due_on, GrantReport.id)).scalars().all()
    claims = session.execute(select(RepaymentClaim).where(RepaymentClaim.grant_id == grant_id)
                             .order_by(RepaymentClaim.id)).scalars().all()
    return {
        "grant": to_records([row])[0] | {
            "funder_reference": grant.funder_reference, "purpose": grant.purpose, "conditions": grant.conditions,
            "requested": None if grant.requested_minor is None else Money(grant.requested_minor, grant.currency)
            .to_string(),
            "budget": None if grant.budget_minor is None else Money(grant.budget_minor, grant.currency).to_string(),
            "applied_on": grant.applied_on, "decided_on": grant.decided_on,
            "settlement_requested_on": grant.settlement_requested_on, "settled_on": grant.settled_on,
            "closed_on": grant.closed_on,
        },
        "instalments": [{"id": i.id, "seq": i.seq, "year": i.schedule_year, "due_on": i.due_on,
                         "amount": Money(i.amount_minor, i.currency).to_string(), "condition": i.condition,
                         "status": i.status, "received_on": i.received_on, "gift_id": i.gift_id}
                        for i in instalments],
        "reports": [{"id": r.id, "kind": r.kind, "year": r.period_year, "due_on": r.due_on, "status": r.status,
                     "submitted_on": r.submitted_on, "accepted_on": r.accepted_on} for r in reports],
        "repayments": [{"id": c.id, "amount": Money(c.amount_minor, c.currency).to_string(),
                        "claimed_on": c.claimed_on, "due_on": c.due_on, "paid_on": c.paid_on} for c in claims],
        "cofunding": [asdict(a) | {"amount": a.amount.to_string()}
                      for a in cofunding.allocation_rows(session, grant_id)],
    }
