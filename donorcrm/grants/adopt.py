"""Adopting income already in the ledger as grants: for a history imported from an earlier system, or a
demo ledger built before the grants existed.

Each funder's gifts of one year into one fund become one awarded grant whose instalments are those gifts,
received; the gifts gain their grant link and nothing is booked, so no euro is counted twice. Years before
`open_year` are history: reported, settled at what was received, and closed. This is an import, so it
writes the final state directly (with one audit row) instead of walking each grant through its stages.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from donorcrm import audit
from donorcrm.campaigns.models import Fund
from donorcrm.db import utcnow
from donorcrm.gifts.categories import EntryType
from donorcrm.gifts.models import Gift
from donorcrm.grants.models import (
    Funder,
    Grant,
    GrantInstalment,
    GrantReport,
    GrantStage,
    InstalmentStatus,
    ReportKind,
    ReportStatus,
)


@dataclass(frozen=True)
class Adopted:
    grants: int
    instalments: int
    reports: int


def adopt_ledger_income(
    session: Session, *, funder_ids: list[int], years: range, open_year: int,
    report_due: tuple[int, int] = (7, 1), batch: int = 5000,
) -> Adopted:
    """Make grants of the funders' unlinked gifts in `years` (their own income category only)."""
    funders = {f.donor_id: f for f in session.execute(select(Funder).where(Funder.id.in_(funder_ids))).scalars()}  # type: ignore[attr-defined]
    if not funders:
        return Adopted(0, 0, 0)
    from donorcrm.grants.rules import category_for

    restricted = dict(session.execute(select(Fund.id, Fund.restricted)).all())
    fund_code = dict(session.execute(select(Fund.id, Fund.code)).all())
    reversal = aliased(Gift)
    groups: dict[tuple[int, int, int | None, str], list[tuple[int, dt.date, int]]] = defaultdict(list)
    donor_ids = list(funders)
    for i in range(0, len(donor_ids), batch):
        rows = session.execute(
            select(Gift.id, Gift.donor_id, Gift.received_on, Gift.amount_minor, Gift.fund_id, Gift.category,
                   Gift.currency)
            .where(Gift.donor_id.in_(donor_ids[i:i + batch]), Gift.grant_id.is_(None),  # type: ignore[union-attr]
                   Gift.entry_type == EntryType.GIFT, Gift.received_on >= dt.date(years.start, 1, 1),
                   Gift.received_on <= dt.date(years.stop - 1, 12, 31),
                   ~select(reversal.id).where(reversal.reverses_gift_id == Gift.id).exists())
            .order_by(Gift.received_on, Gift.id)
        ).all()
        for gid, donor_id, on, minor, fund_id, category, currency in rows:
            funder = funders[donor_id]
            if category != category_for(funder.kind):
                continue
            earmarked = fund_id if fund_id is not None and restricted.get(fund_id, False) else None
            groups[(funder.id, on.year, earmarked, currency)].append((gid, on, minor))  # type: ignore[index]
    by_id = {f.id: f for f in funders.values()}
    now = utcnow()
    grant_rows, keys = [], []
    for (funder_id, year, fund_id, currency), gifts in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                                               kv[0][2] or 0)):
        funder = by_id[funder_id]
        total = sum(m for _g, _d, m in gifts)
        first = gifts[0][1]
        earmarked = fund_id is not None
        suffix = f"-{fund_code[fund_id]}" if earmarked else ""
        closed = year < open_year
        settle_on = dt.date(year + 1, 10, 1)
        grant_rows.append({
            "funder_id": funder_id, "reference": f"{funder.code}-{year}{suffix}"[:60],
            "title": f"{'Bijdrage' if not earmarked else fund_code[fund_id]} {year}"[:200], "purpose": "",
            "stage": GrantStage.CLOSED if closed else GrantStage.AWARDED, "category": category_for(funder.kind),
            "currency": currency, "requested_minor": total, "budget_minor": None,
            "period_start": dt.date(year, 1, 1), "period_end": dt.date(year, 12, 31),
            "applied_on": first - dt.timedelta(days=120), "decided_on": first - dt.timedelta(days=30),
            "awarded_minor": total, "conditions": None, "fund_id": fund_id if earmarked else None,
            "cofunding_basis_points": None, "cofunding_minor": None,
            "settlement_requested_on": dt.date(year + 1, 6, 1) if closed else None,
            "settlement_claimed_minor": total if closed else None,
            "settled_on": settle_on if closed else None, "settled_minor": total if closed else None,
            "closed_on": settle_on if closed else None, "note": "adopted from the ledger",
            "created_at": now, "updated_at": now,
        })
        keys.append((year, gifts, closed, currency))
    if not grant_rows:
        return Adopted(0, 0, 0)
    ids = list(session.scalars(insert(Grant).returning(Grant.id, sort_by_parameter_order=True), grant_rows))
    instalments, links, reports = [], [], []
    for grant_id, (year, gifts, closed, currency) in zip(ids, keys, strict=True):
        for seq, (gid, on, minor) in enumerate(gifts, start=1):
            instalments.append({"grant_id": grant_id, "seq": seq, "schedule_year": year, "due_on": on,
                                "amount_minor": minor, "currency": currency, "condition": "",
                                "status": InstalmentStatus.RECEIVED, "gift_id": gid, "received_on": on})
            links.append({"id": gid, "grant_id": grant_id})
        due = dt.date(year + 1, *report_due)
        reports.append({"grant_id": grant_id, "kind": ReportKind.FINAL, "period_year": year, "due_on": due,
                        "status": ReportStatus.ACCEPTED if closed else ReportStatus.DUE,
                        "submitted_on": due - dt.timedelta(days=10) if closed else None,
                        "accepted_on": due + dt.timedelta(days=30) if closed else None, "note": None})
    for i in range(0, len(instalments), batch):
        session.execute(insert(GrantInstalment), instalments[i:i + batch])
    for i in range(0, len(links), batch):
        session.execute(update(Gift), links[i:i + batch])
    session.execute(insert(GrantReport), reports)
    audit.record(session, "grant.adopt", "grant", None, after={
        "grants": len(ids), "instalments": len(instalments), "years": [years.start, years.stop - 1]})
    return Adopted(len(ids), len(instalments), len(reports))
