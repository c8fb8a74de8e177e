"""The hand-over from SEPA returns (MD07: debtor deceased), follow-up tasks and the forecast on a database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from donorcrm.bequests import reports, service
from donorcrm.bequests.jobs import bequest_follow_up
from donorcrm.bequests.models import BequestCheck, BequestTask, CheckStatus, TaskStatus
from donorcrm.bequests.rules import DEFAULT_DURATION_DAYS, Stage
from donorcrm.db import session_scope
from donorcrm.donors.service import mark_deceased
from donorcrm.money import Money
from tests import factories

D = dt.date


def checks_of(session: Session, donor_id: int) -> list[BequestCheck]:
    return list(session.execute(select(BequestCheck).where(BequestCheck.donor_id == donor_id)).scalars())


def test_md07_return_opens_one_possible_legacy_check(session: Session) -> None:
    donor = factories.donor(session)
    mark_deceased(session, donor.id, D(2026, 10, 2), source="sepa:MD07")
    [check] = checks_of(session, donor.id)
    assert (check.status, check.source, check.opened_on, check.priority) == ("open", "sepa:MD07", D(2026, 10, 2),
                                                                              "normal")
    mark_deceased(session, donor.id, D(2026, 10, 2), source="sepa:MD07")
    again = service.open_possible_legacy_check(session, donor.id, "sepa:MD07", D(2026, 11, 2))
    assert again is not None and again.id == check.id
    assert len(checks_of(session, donor.id)) == 1
    assert check.id in [r.id for r in reports.open_check_rows(session)]


def test_the_database_refuses_a_second_open_check(session: Session) -> None:
    donor = factories.donor(session)
    service.open_possible_legacy_check(session, donor.id, "letter", D(2026, 1, 1))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(BequestCheck(donor_id=donor.id, source="x", opened_on=D(2026, 1, 2)))
        session.flush()


def test_a_pledger_check_is_high_priority_and_a_case_closes_it(session: Session) -> None:
    donor = factories.donor(session)
    service.create_pledge(session, donor.id, learned_on=D(2020, 1, 1))
    mark_deceased(session, donor.id, None, source="sepa:MD07")
    [check] = checks_of(session, donor.id)
    assert check.priority == "high"
    case = service.open_case(session, donor_id=donor.id, notified_on=D(2026, 3, 1), kind="pecuniary")
    assert (check.status, check.case_id) == (CheckStatus.CASE_OPENED, case.id)
    # Once a case exists, another notice of death opens nothing.
    assert service.open_possible_legacy_check(session, donor.id, "letter", D(2026, 4, 1)) is None


def test_a_check_can_end_without_a_legacy_and_a_later_notice_opens_a_new_one(session: Session) -> None:
    donor = factories.donor(session)
    first = service.open_possible_legacy_check(session, donor.id, "sepa:MD07", D(2026, 1, 1))
    service.close_check_no_legacy(session, first.id, D(2026, 2, 1), note="family: no will")
    second = service.open_possible_legacy_check(session, donor.id, "notary letter", D(2026, 8, 1))
    assert second is not None and second.id != first.id


def test_follow_up_tasks_are_created_once_and_restart_after_completion(session: Session) -> None:
    case = service.open_case(session, deceased_name="F", notified_on=D(2026, 1, 1), kind="pecuniary")
    mine = lambda: [t for t in service.open_tasks(session) if t.case_id == case.id]  # noqa: E731
    service.create_follow_up_tasks(session, D(2026, 1, 31))
    assert mine() == []  # 30 days: still within the limit
    service.create_follow_up_tasks(session, D(2026, 2, 1))
    [task] = mine()
    assert (task.kind, task.due_on, task.stage) == ("chase_documents", D(2026, 2, 15), "notified")
    service.create_follow_up_tasks(session, D(2026, 2, 20))
    assert len(mine()) == 1
    service.complete_task(session, task.id, D(2026, 2, 20))
    service.create_follow_up_tasks(session, D(2026, 3, 1))
    assert mine() == []  # the clock restarted on completion
    service.create_follow_up_tasks(session, D(2026, 3, 23))
    [task2] = mine()
    service.receive_documents(session, case.id, D(2026, 3, 25))
    assert session.get(BequestTask, task2.id).status == TaskStatus.SUPERSEDED
    assert mine() == []
    overdue = [r.reference for r in reports.overdue_cases(session, D(2026, 5, 25))]
    assert case.reference in overdue  # 61 days in documents


def test_the_scheduler_job_commits_its_tasks(engine: Engine) -> None:
    with session_scope(engine) as s:
        service.open_case(s, deceased_name="J", notified_on=D(2026, 1, 1), kind="pecuniary")
    assert bequest_follow_up(D(2026, 6, 1), engine=engine) == 1
    assert bequest_follow_up(D(2026, 6, 2), engine=engine) == 0
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(BequestTask)).scalar_one() == 1


def _closed_case(session: Session, start: dt.date, days: list[int]) -> None:
    """A pecuniary case walked through notified/documents/administration/final with the given stage days."""
    case = service.open_case(session, deceased_name="C", notified_on=start, kind="pecuniary",
                             estimate=Money(1_000_00))
    day = start
    steps = [service.receive_documents, service.start_administration, service.start_final_distribution,
             service.close_case]
    for spent, step in zip(days, steps, strict=True):
        day += dt.timedelta(days=spent)
        step(session, case.id, day)


def test_forecast_learns_durations_from_closed_cases(engine: Engine) -> None:
    """Five closed cases that spent 10/20/100/30 days in notified/documents/administration/final; one open
    residuary case in interim distributions since 1 Jan 2027, EUR 100,000 estimated, EUR 20,000 advanced.
    Interim and estate accounts were never seen in closed cases, so they keep their defaults (120, 60);
    final is learned (30): 210 days after 1 Jan 2027 is 2027-07-30, Q3. Central 80,000 × 97% = 77,600."""
    with session_scope(engine) as s:
        for i in range(5):
            _closed_case(s, D(2024, 1, 1) + dt.timedelta(days=i), [10, 20, 100, 30])
        case = service.open_case(s, deceased_name="R", notified_on=D(2026, 11, 1), kind="residuary",
                                 share_bp=5000, estimate=Money(100_000_00))
        service.receive_documents(s, case.id, D(2026, 12, 1))
        service.start_administration(s, case.id, D(2027, 1, 1))
        service.record_distribution(s, case.id, Money(20_000_00), D(2027, 1, 1))  # moves it to interim
    with session_scope(engine) as s:
        learned = service.learned_durations(s)
        assert (learned[Stage.NOTIFIED], learned[Stage.DOCUMENTS], learned[Stage.ADMINISTRATION],
                learned[Stage.FINAL]) == (10, 20, 100, 30)
        assert learned[Stage.INTERIM] == DEFAULT_DURATION_DAYS[Stage.INTERIM]
        data = reports.forecast_rows(s, D(2027, 1, 1))
    by_q = {q.quarter: q for q in data["quarters"]}
    assert by_q["2027-Q3"].central_minor == 77_600_00
    assert data["totals"]["central"] == 77_600_00
    assert data["totals"]["low"] == 65_960_00  # 80,000 × 85% × 97%, 263 days later: 2027-09-21, still Q3
    assert by_q["2027-Q3"].low_minor == 65_960_00


def test_merging_two_deceased_duplicates_keeps_one_open_check(session: Session) -> None:
    from donorcrm.donors.service import merge_donors

    survivor, duplicate = factories.donor(session), factories.donor(session)
    service.create_pledge(session, duplicate.id, learned_on=D(2015, 1, 1))
    mark_deceased(session, survivor.id, D(2026, 5, 1), source="sepa:MD07")
    mark_deceased(session, duplicate.id, D(2026, 5, 1), source="letter")
    merge_donors(session, survivor.id, duplicate.id)
    checks = checks_of(session, survivor.id)
    assert sorted(c.status for c in checks) == ["merged", "open"]
    assert next(c for c in checks if c.status == "open").priority == "high"


def test_forecast_probabilities_follow_the_setting(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    case = service.open_case(session, deceased_name="P", notified_on=D(2027, 1, 1), kind="pecuniary",
                             estimate=Money(10_000_00))

    def expected() -> int:
        f = service.compute_forecast(session, D(2027, 1, 2))
        return next(c for c in f.cases if c.case_id == case.id).expected["central"][1]

    assert expected() == 8_500_00
    monkeypatch.setenv("DONORCRM_BEQUEST_STAGE_PROBABILITIES", "notified=6000")
    assert expected() == 6_000_00
