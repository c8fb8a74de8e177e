import pytest

from donorcrm.sepa.policy import KNOWN_CODES, decide


@pytest.mark.parametrize("code", ["AM04", "MS03"])
def test_insufficient_funds_and_unspecified_retry(code: str) -> None:
    a = decide(code)
    assert a.retry and a.counts_as_failure and not a.cancel_mandate and a.entry_type == "return"


def test_refused_counts_towards_the_stop_limit_without_retry() -> None:
    a = decide("MS02")
    assert a.counts_as_failure and not a.retry and not a.cancel_mandate


def test_refund_is_no_failure_and_asks_for_a_retention_call() -> None:
    a = decide("MD06")
    assert a.entry_type == "refund" and a.retention_call and not a.counts_as_failure and not a.retry


@pytest.mark.parametrize("code", ["AC01", "AC04", "AC06", "RC01"])
def test_account_problems_cancel_the_mandate_and_ask_new_details(code: str) -> None:
    a = decide(code)
    assert a.cancel_mandate and a.ask_new_details and not a.retry


@pytest.mark.parametrize("code", ["MD01", "MD02"])
def test_mandate_problems_cancel_the_mandate(code: str) -> None:
    assert decide(code).cancel_mandate and not decide(code).retry


def test_deceased_cancels_every_mandate_and_marks_the_donor() -> None:
    a = decide("MD07")
    assert a.cancel_all_mandates and a.mark_deceased


@pytest.mark.parametrize("code", ["AG01", "AG02", "FF05", "BE05", "AM05"])
def test_our_own_errors_stop_for_a_human(code: str) -> None:
    assert decide(code).stop_for_human and not decide(code).retry


@pytest.mark.parametrize("code", ["SL01", "RR01", "RR02", "RR03", "RR04"])
def test_bank_and_regulatory_codes_go_to_review(code: str) -> None:
    a = decide(code)
    assert a.review and not a.retry and not a.cancel_mandate


def test_unknown_code_is_reviewed_and_codes_are_case_insensitive() -> None:
    assert decide("ZZ99").review and decide("ZZ99").name == "review"
    assert decide("am04") == decide("AM04")
    assert len(KNOWN_CODES) == 21
