"""What the Reconciliation page and the CLI show, as plain rows aggregated in the database.

Pages and commands only render these; they never query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from donorcrm.iban import mask_iban
from donorcrm.money import Money

from .models import BankAllocation, BankLine, BankStatement, LineStatus
from .service import get_line


def _money(minor: int | None, currency: str) -> str:
    return Money(int(minor or 0), currency).to_string()


def statements(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """Imported statements, newest first, with how much of each is booked and how much is in suspense."""
    auto = func.sum(case((BankLine.status == LineStatus.BOOKED, 1), else_=0))
    rows = session.execute(
        select(BankStatement.id, BankStatement.message, BankStatement.version, BankStatement.statement_id,
               BankStatement.account, BankStatement.currency, BankStatement.from_date, BankStatement.to_date,
               BankStatement.line_count, BankStatement.credit_minor, BankStatement.debit_minor,
               BankStatement.imported_at, BankStatement.file_name,
               func.coalesce(func.sum(BankLine.open_minor), 0).label("open_minor"),
               func.coalesce(auto, 0).label("booked_lines"))
        .join(BankLine, BankLine.statement_id == BankStatement.id, isouter=True)
        .group_by(BankStatement.id)
        .order_by(BankStatement.imported_at.desc(), BankStatement.id.desc())  # type: ignore[attr-defined, union-attr]
        .limit(limit)
    ).all()
    return [{
        "id": r.id, "message": f"{r.message}.{r.version}", "statement": r.statement_id, "account": mask_iban(r.account),
        "period": f"{r.from_date or ''}..{r.to_date or ''}", "lines": r.line_count, "booked_lines": int(r.booked_lines),
        "credits": _money(r.credit_minor, r.currency), "debits": _money(r.debit_minor, r.currency),
        "suspense": _money(r.open_minor, r.currency), "currency": r.currency, "imported_at": r.imported_at,
        "file": r.file_name,
    } for r in rows]


def summary(session: Session, *, statement_id: int | None = None) -> dict[str, Any]:
    """Totals for the page header and `bank match --json`: lines, booked automatically or by hand, suspense."""
    lines = select(BankLine.id, BankLine.amount_minor, BankLine.open_minor, BankLine.status, BankLine.currency)
    if statement_id is not None:
        lines = lines.where(BankLine.statement_id == statement_id)
    sub = lines.subquery()
    head = session.execute(select(
        func.count(), func.coalesce(func.sum(sub.c.amount_minor), 0), func.coalesce(func.sum(sub.c.open_minor), 0),
        func.coalesce(func.sum(case((sub.c.open_minor != 0, 1), else_=0)), 0), func.min(sub.c.currency),
    )).one()
    count, total, open_minor, open_lines, currency = head
    currency = currency or "EUR"
    alloc = session.execute(
        select(case((BankAllocation.rule.in_(["manual", "candidate"]), "manual"), else_="auto").label("how"),  # type: ignore[attr-defined]
               func.count(func.distinct(BankAllocation.line_id)), func.coalesce(func.sum(BankAllocation.amount_minor), 0))
        .join(sub, sub.c.id == BankAllocation.line_id)
        .where(BankAllocation.undone_at.is_(None))  # type: ignore[union-attr]
        .group_by("how")
    ).all()
    by_how = {how: (int(n), int(s)) for how, n, s in alloc}
    auto_lines, auto_minor = by_how.get("auto", (0, 0))
    manual_lines, manual_minor = by_how.get("manual", (0, 0))
    return {
        "lines": int(count), "total": _money(total, currency),
        "booked_automatically": auto_lines, "booked_automatically_amount": _money(auto_minor, currency),
        "booked_by_hand": manual_lines, "booked_by_hand_amount": _money(manual_minor, currency),
        "suspense": int(open_lines), "suspense_amount": _money(open_minor, currency),
        "booked_amount": _money(auto_minor + manual_minor, currency),
        "match_rate": round(auto_lines / count, 4) if count else None, "currency": currency,
    }


def suspense(session: Session, *, search: str | None = None, statement_id: int | None = None, limit: int = 100,
             offset: int = 0) -> list[dict[str, Any]]:
    """The suspense queue: lines with money not yet accounted for, oldest first, with their best candidates."""
    stmt = select(BankLine).where(BankLine.open_minor != 0)
    if statement_id is not None:
        stmt = stmt.where(BankLine.statement_id == statement_id)
    if search:
        like = f"%{search.strip()}%"
        stmt = stmt.where(or_(
            BankLine.counterparty_name.ilike(like), BankLine.description.ilike(like),  # type: ignore[union-attr]
            BankLine.counterparty_iban.ilike(like.replace(" ", "")), BankLine.end_to_end_id.ilike(like),  # type: ignore[union-attr]
        ))
    rows = session.execute(
        stmt.order_by(BankLine.booked_on, BankLine.id).limit(limit).offset(offset)  # type: ignore[arg-type]
    ).scalars().all()
    return [_line_row(r) for r in rows]


def _line_row(r: BankLine) -> dict[str, Any]:
    return {
        "id": r.id, "booked_on": r.booked_on, "amount": _money(r.amount_minor, r.currency),
        "open": _money(r.open_minor, r.currency), "counterparty": r.counterparty_name,
        "iban": mask_iban(r.counterparty_iban), "description": r.description, "end_to_end_id": r.end_to_end_id,
        "return_reason": r.return_reason, "status": r.status,
        "candidates": [{"target": c.get("target"), "score": c.get("score"), "rule": c.get("rule"),
                        "reason": c.get("reason"), "label": c.get("label")} for c in (r.candidates or [])],
    }


def line_detail(session: Session, line_id: int) -> dict[str, Any]:
    """One line with every booking made on it (active and undone), for the page's detail view."""
    row = get_line(session, line_id)
    allocations = session.execute(
        select(BankAllocation).where(BankAllocation.line_id == line_id).order_by(BankAllocation.seq)  # type: ignore[arg-type]
    ).scalars().all()
    out = _line_row(row)
    out["allocations"] = [{
        "id": a.id, "seq": a.seq, "kind": a.kind, "amount": _money(a.amount_minor, a.currency), "purpose": a.purpose,
        "donor_id": a.donor_id, "gift_id": a.gift_id, "target": a.target_ref, "rule": a.rule, "score": a.score,
        "reason": a.reason, "created_by": a.created_by, "created_at": a.created_at, "undone_at": a.undone_at,
        "undo_reason": a.undo_reason,
    } for a in allocations]
    return out
