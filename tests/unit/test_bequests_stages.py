"""Stage order of a legacy case and when a follow-up falls due."""

from __future__ import annotations

import datetime as dt

import pytest

from donorcrm.bequests.rules import (
    PIPELINE,
    Stage,
    allowed_targets,
    check_transition,
    follow_up_due,
    is_overdue,
)
from donorcrm.errors import InvalidState


def test_the_whole_pipeline_in_order_is_allowed() -> None:
    for here, nxt in zip(PIPELINE, PIPELINE[1:], strict=False):
        check_transition(here, nxt)


@pytest.mark.parametrize(("here", "there"), [
    (Stage.ADMINISTRATION, Stage.FINAL),  # a pecuniary legacy paid in one go
    (Stage.ADMINISTRATION, Stage.ESTATE_ACCOUNTS),
    (Stage.INTERIM, Stage.FINAL),
])
def test_optional_stages_may_be_passed_over(here: Stage, there: Stage) -> None:
    check_transition(here, there)


@pytest.mark.parametrize(("here", "there"), [
    (Stage.NOTIFIED, Stage.ADMINISTRATION),  # documents first
    (Stage.DOCUMENTS, Stage.INTERIM),
    (Stage.ADMINISTRATION, Stage.CLOSED),  # closed only after the final distribution
    (Stage.ESTATE_ACCOUNTS, Stage.CLOSED),
])
def test_required_stages_cannot_be_skipped(here: Stage, there: Stage) -> None:
    with pytest.raises(InvalidState, match="without passing"):
        check_transition(here, there)


def test_no_way_back_and_no_standing_still() -> None:
    with pytest.raises(InvalidState, match="back"):
        check_transition(Stage.ADMINISTRATION, Stage.DOCUMENTS)
    with pytest.raises(InvalidState, match="already"):
        check_transition(Stage.INTERIM, Stage.INTERIM)


@pytest.mark.parametrize("terminal", [Stage.CLOSED, Stage.RENOUNCED])
def test_closed_and_renounced_cases_do_not_move(terminal: Stage) -> None:
    assert allowed_targets(terminal) == []
    with pytest.raises(InvalidState):
        check_transition(terminal, Stage.DISPUTED)


def test_a_dispute_resumes_where_it_interrupted_or_further() -> None:
    check_transition(Stage.ADMINISTRATION, Stage.DISPUTED)
    check_transition(Stage.DISPUTED, Stage.ADMINISTRATION, resume=Stage.ADMINISTRATION)
    check_transition(Stage.DISPUTED, Stage.FINAL, resume=Stage.ADMINISTRATION)
    with pytest.raises(InvalidState):
        check_transition(Stage.DISPUTED, Stage.DOCUMENTS, resume=Stage.ADMINISTRATION)
    with pytest.raises(InvalidState, match="resume"):
        check_transition(Stage.DISPUTED, Stage.FINAL)


def test_renouncing_is_possible_until_the_final_distribution() -> None:
    check_transition(Stage.NOTIFIED, Stage.RENOUNCED)
    check_transition(Stage.DISPUTED, Stage.RENOUNCED, resume=Stage.DOCUMENTS)
    with pytest.raises(InvalidState):
        check_transition(Stage.FINAL, Stage.RENOUNCED)


def test_allowed_targets_lists_next_moves_in_order() -> None:
    assert allowed_targets(Stage.ADMINISTRATION) == [
        Stage.INTERIM, Stage.ESTATE_ACCOUNTS, Stage.FINAL, Stage.DISPUTED, Stage.RENOUNCED]
    assert allowed_targets(Stage.FINAL) == [Stage.CLOSED, Stage.DISPUTED]


def test_follow_up_falls_due_only_after_the_stage_limit() -> None:
    since = dt.date(2027, 1, 1)
    assert follow_up_due(Stage.NOTIFIED, since, since + dt.timedelta(days=30)) is None
    due = follow_up_due(Stage.NOTIFIED, since, since + dt.timedelta(days=31))
    assert due is not None and due.task == "chase_documents"
    assert due.due_on == since + dt.timedelta(days=31 + 14)
    assert follow_up_due(Stage.CLOSED, since, dt.date(2030, 1, 1)) is None
    assert is_overdue(Stage.ADMINISTRATION, since, dt.date(2027, 7, 1)) is True  # 181 days
    assert is_overdue(Stage.ADMINISTRATION, since, dt.date(2027, 6, 30)) is False  # 180 days
