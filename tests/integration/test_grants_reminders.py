"""Reminders, the scheduler job, bank-matcher expectations and the report rows of the admin page."""

import datetime as dt

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm.db import get_engine, session_scope
from donorcrm.grants import reports, rules, service
from donorcrm.grants.jobs import grant_reminders
from donorcrm.grants.models import GrantReminder
from tests.integration.test_grants_lifecycle import eur, make_fund_grant

D = dt.date


def _grant_with_dues(session: Session, code: str = "REM"):  # type: ignore[no-untyped-def]
    grant = make_fund_grant(session, code=code, awarded=100_000)
    plan = service.plan_instalments(session, grant.id, rules.advance_and_rest(
        eur(100_000), advance_on=D(2021, 3, 1), rest_on=D(2021, 7, 10)))
    final = service.add_report(session, grant.id, kind="final", due_on=D(2021, 6, 20))
    audit = service.add_report(session, grant.id, kind="audit_statement", due_on=D(2021, 9, 1))
    return grant, plan, final, audit


def test_reminders_for_due_items_then_escalation_and_no_duplicates(session: Session) -> None:
    grant, plan, final, audit = _grant_with_dues(session)
    today = D(2021, 6, 1)
    created = service.create_reminders(session, today=today, horizon_days=30, escalate_after_days=14)
    got = {(r.subject, r.subject_id, r.level) for r in created}
    # advance of 1 March is 92 days overdue: escalated; the final report (20 June) is upcoming;
    # the rest (10 July, 39 days) and the audit statement (September) are not yet due for a reminder
    assert got == {("instalment", plan[0].id, "escalated"), ("report", final.id, "upcoming")}
    assert service.create_reminders(session, today=today, horizon_days=30, escalate_after_days=14) == []
    # the report is sent: no more reminders about it; the rest instalment comes into view
    service.submit_report(session, final.id, on=D(2021, 6, 15))
    later = service.create_reminders(session, today=D(2021, 7, 1), horizon_days=30, escalate_after_days=14)
    assert {(r.subject, r.subject_id, r.level) for r in later} == {("instalment", plan[1].id, "upcoming")}
    overdue = service.create_reminders(session, today=D(2021, 7, 12), horizon_days=30, escalate_after_days=14)
    assert {(r.subject, r.level) for r in overdue} == {("instalment", "overdue")}
    rows = [r for r in reports.open_reminders(session) if r.reference == grant.reference]
    # the submitted report's reminder closed itself; escalations come first
    assert [r.level for r in rows] == ["escalated", "overdue", "upcoming"]
    assert not any("final report to send" in r.message for r in rows)
    service.acknowledge_reminder(session, rows[0].id)
    assert rows[0].id not in {r.id for r in reports.open_reminders(session)}
    service.receive_instalment(session, plan[1].id, received_on=D(2021, 7, 13))
    assert [r for r in reports.open_reminders(session) if r.reference == grant.reference] == []


def test_repayment_claims_are_reminded_and_closed_grants_are_not(session: Session) -> None:
    grant = make_fund_grant(session, code="REPAY", awarded=10_000)
    [inst] = service.plan_instalments(session, grant.id, [rules.PlannedInstalment(D(2021, 1, 5), eur(10_000))])
    service.receive_instalment(session, inst.id, received_on=D(2021, 1, 5))
    out = service.settle(session, grant.id, settled=eur(8_000), on=D(2021, 9, 1))
    assert out.claim is not None
    items = service.due_items(session, until=D(2021, 12, 31))
    assert [(i.subject, i.subject_id) for i in items if i.grant_id == grant.id] == [("repayment", out.claim.id)]
    service.record_repayment(session, out.claim.id, paid_on=D(2021, 9, 30))
    assert [i for i in service.due_items(session, until=D(2021, 12, 31)) if i.grant_id == grant.id] == []


def test_scheduler_job_commits_reminders_once(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with session_scope(engine) as s:
        _grant_with_dues(s, code="JOB")
    try:
        assert grant_reminders(D(2021, 6, 1), database_url=url) == 2
        assert grant_reminders(D(2021, 6, 1), database_url=url) == 0
    finally:
        get_engine(url).dispose()
    with session_scope(engine) as s:
        assert len(s.execute(select(GrantReminder)).scalars().all()) == 2


def test_report_rows_for_the_admin_page(session: Session) -> None:
    grant, plan, final, audit = _grant_with_dues(session, code="ADM")
    service.receive_instalment(session, plan[0].id, received_on=D(2021, 3, 2))
    rows = {r.reference: r for r in reports.grant_rows(session)}
    row = rows[grant.reference]
    assert (row.stage, row.awarded, row.received, row.to_receive, row.to_repay) == (
        "awarded", eur(100_000), eur(75_000), eur(25_000), eur(0))
    assert row.next_due_on == D(2021, 6, 20) and row.fund_code == f"GRANT-{grant.reference}"
    stages = {s.stage: s for s in reports.grants_by_stage(session)}
    assert stages["awarded"].grants >= 1
    funder = next(f for f in reports.funder_rows(session) if f.code == "ADM")
    assert (funder.kind, funder.category, funder.grants, funder.received) == (
        "private_fund", "other_nonprofit", 1, eur(75_000))
    cal = [c for c in reports.calendar(session, start=D(2021, 1, 1), end=D(2021, 12, 31), today=D(2021, 8, 1))
           if c.grant_id == grant.id]
    assert [(c.due_on, c.kind, c.status, c.overdue) for c in cal] == [
        (D(2021, 3, 1), "instalment", "received", False),
        (D(2021, 6, 20), "report", "due", True),
        (D(2021, 7, 10), "instalment", "planned", True),
        (D(2021, 9, 1), "report", "due", False),
    ]
    detail = reports.grant_detail(session, grant.id)
    assert detail["grant"]["received"] == "75000.00" and len(detail["instalments"]) == 2
    records = reports.to_records([row])
    assert records[0]["awarded"] == "100000.00"
    funds = {f.code: f for f in reports.restricted_fund_rows(session)}
    assert funds[f"GRANT-{grant.reference}"].balance == eur(75_000)


def test_expected_instalments_leave_out_received_cancelled_and_closed(session: Session) -> None:
    grant, plan, _final, _audit = _grant_with_dues(session, code="EXP")
    service.receive_instalment(session, plan[0].id, received_on=D(2021, 3, 2))
    expected = [e for e in service.expected_instalments(session, D(2021, 1, 1)) if e.grant_id == grant.id]
    assert [(e.instalment_id, e.amount, e.due_on) for e in expected] == [(plan[1].id, eur(25_000), D(2021, 7, 10))]
    assert expected[0].funder_name == "Fonds EXP" and expected[0].iban == "NL91ABNA0417164300"
    assert [e for e in service.expected_instalments(session, D(2021, 8, 1)) if e.grant_id == grant.id] == []
