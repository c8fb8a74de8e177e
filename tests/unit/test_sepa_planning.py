"""Properties of the pure planner (domain rules §1, issue acceptance point 3)."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from donorcrm.commitments.rules import (
    AgreementTerms,
    CommitmentTerms,
    MandateTerms,
    PlanSettings,
    add_months,
    check_agreement,
    counts_as_periodic,
    early_stop_downgrades,
    mandate_expires_on,
    nominal_date,
    plan,
    target_month,
)
from donorcrm.sepa.calendar import is_business_day

FREQS = ["monthly", "quarterly", "half_yearly", "yearly"]
STATUSES = ["active", "active", "active", "paused", "cancelled", "ended"]
MANDATE_STATUSES = ["active", "active", "active", "cancelled", "expired"]

dates = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2029, 12, 31))


@st.composite
def commitment(draw, cid: int):  # type: ignore[no-untyped-def]
    starts = draw(dates)
    ends = draw(st.one_of(st.none(), dates.filter(lambda d: d >= starts)))
    changes = draw(st.lists(st.tuples(dates, st.integers(100, 100_000)), max_size=3))
    return CommitmentTerms(cid, cid + 1000, draw(st.sampled_from(STATUSES)), draw(st.sampled_from(FREQS)),
                           draw(st.integers(1, 28)), starts, ends, draw(st.integers(100, 100_000)), "EUR",
                           tuple(changes))


@st.composite
def world(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 12))
    terms = [draw(commitment(i)) for i in range(1, n + 1)]
    mandates = {}
    for t in terms:
        if draw(st.integers(0, 9)) > 0:  # now and then a commitment without a mandate
            last = draw(st.one_of(st.none(), dates))
            mandates[t.id] = MandateTerms(t.id + 500, t.id, draw(st.sampled_from(MANDATE_STATUSES)),
                                          draw(st.sampled_from(["recurrent", "recurrent", "one_off"])),
                                          draw(dates), last)
    run_on = draw(dates)
    cfg = PlanSettings(prenotification_days=draw(st.integers(1, 20)), first_as_frst=draw(st.booleans()))
    return terms, mandates, run_on, cfg


@settings(max_examples=150, deadline=None)
@given(world())
def test_never_twice_per_period_and_only_collectable_ones(w) -> None:  # type: ignore[no-untyped-def]
    terms, mandates, run_on, cfg = w
    out = plan(run_on, terms, mandates, cfg)
    keys = [(p.commitment_id, p.period, p.attempt) for p in out]
    assert len(keys) == len(set(keys))
    by_id = {t.id: t for t in terms}
    for p in out:
        t = by_id[p.commitment_id]
        m = mandates[t.id]  # a commitment without a mandate is never planned
        assert t.status == "active" and m.status == "active"
        assert is_business_day(p.due_on)
        assert (p.due_on - run_on).days >= cfg.prenotification_days
        assert p.due_on < mandate_expires_on(m.signed_on, m.last_presented_on)
        assert p.due_on >= m.signed_on
        assert nominal_date(t, p.period) >= t.starts_on
        assert t.ends_on is None or nominal_date(t, p.period) <= t.ends_on
        assert p.sequence_type in ("RCUR", "FRST", "OOFF")
        if m.kind == "one_off":
            assert p.sequence_type == "OOFF" and m.last_presented_on is None


@settings(max_examples=100, deadline=None)
@given(world())
def test_a_period_already_collected_is_not_planned_again(w) -> None:  # type: ignore[no-untyped-def]
    terms, mandates, run_on, cfg = w
    first = plan(run_on, terms, mandates, cfg)
    done = {(p.commitment_id, p.period) for p in first}
    assert plan(run_on, terms, mandates, cfg, done=done) == []
    # and a later run never plans a period an earlier run has
    later = plan(add_months(run_on, 1), terms, mandates, cfg, done=done)
    assert not {(p.commitment_id, p.period) for p in later} & done


@settings(max_examples=100, deadline=None)
@given(dates, st.integers(1, 28), st.sampled_from(FREQS), st.integers(1, 36), st.integers(100, 5000),
       st.integers(100, 5000))
def test_an_amount_change_applies_from_its_effective_period(start, day, freq, offset, old, new) -> None:  # type: ignore[no-untyped-def]
    effective = add_months(start, offset)
    t = CommitmentTerms(1, 1, "active", freq, day, start, None, new, "EUR", ((start, old), (effective, new)))
    m = {1: MandateTerms(9, 1, "active", "recurrent", dt.date(2000, 1, 1), add_months(start, -1))}
    cfg = PlanSettings()
    for k in range(0, 48):
        run_on = add_months(start, k)
        for p in plan(run_on, [t], m, cfg):
            assert p.amount_minor == (new if nominal_date(t, p.period) >= effective else old)


def test_every_month_is_collected_once_over_a_year_of_monthly_runs() -> None:
    t = CommitmentTerms(1, 1, "active", "monthly", 5, dt.date(2026, 1, 1), None, 1500)
    m = {1: MandateTerms(9, 1, "active", "recurrent", dt.date(2025, 12, 1), None)}
    done: set = set()
    periods = []
    for k in range(12):
        out = plan(dt.date(2026, 1, 10) if k == 0 else add_months(dt.date(2026, 1, 10), k), [t], m, PlanSettings(),
                   done=done)
        done |= {(p.commitment_id, p.period) for p in out}
        periods += [p.period for p in out]
    assert periods == [add_months(dt.date(2026, 2, 1), k) for k in range(12)]


def test_quarterly_is_collected_in_its_period_months_only() -> None:
    t = CommitmentTerms(1, 1, "active", "quarterly", 1, dt.date(2026, 2, 1), None, 3000)
    m = {1: MandateTerms(9, 1, "active", "recurrent", dt.date(2026, 1, 1), None)}
    months = [target_month(add_months(dt.date(2026, 1, 10), k), PlanSettings()) for k in range(12)
              if plan(add_months(dt.date(2026, 1, 10), k), [t], m, PlanSettings())]
    assert [d.month for d in months] == [2, 5, 8, 11]


def test_frst_only_when_asked_and_never_presented() -> None:
    t = CommitmentTerms(1, 1, "active", "monthly", 1, dt.date(2026, 1, 1), None, 1000)
    fresh = {1: MandateTerms(9, 1, "active", "recurrent", dt.date(2025, 12, 1), None)}
    used = {1: MandateTerms(9, 1, "active", "recurrent", dt.date(2025, 12, 1), dt.date(2026, 11, 2))}
    run_on = dt.date(2026, 12, 10)
    assert plan(run_on, [t], fresh, PlanSettings())[0].sequence_type == "RCUR"
    assert plan(run_on, [t], fresh, PlanSettings(first_as_frst=True))[0].sequence_type == "FRST"
    assert plan(run_on, [t], used, PlanSettings(first_as_frst=True))[0].sequence_type == "RCUR"


def test_retries_come_as_the_next_attempt_in_the_next_run() -> None:
    t = CommitmentTerms(1, 1, "active", "monthly", 1, dt.date(2026, 1, 1), None, 1000)
    m = {1: MandateTerms(9, 1, "active", "recurrent", dt.date(2025, 12, 1), dt.date(2026, 12, 1))}
    run_on = dt.date(2026, 12, 10)
    out = plan(run_on, [t], m, PlanSettings(), done={(1, dt.date(2026, 12, 1))},
               retries={(1, dt.date(2026, 12, 1)): 2})
    assert [(p.period, p.attempt) for p in out] == [(dt.date(2026, 12, 1), 2), (dt.date(2027, 1, 1), 1)]


def test_expiry_counts_from_the_last_presented_collection() -> None:
    assert mandate_expires_on(dt.date(2020, 1, 1), dt.date(2024, 3, 4)) == dt.date(2027, 3, 4)
    assert mandate_expires_on(dt.date(2020, 1, 1), None) == dt.date(2023, 1, 1)
    t = CommitmentTerms(1, 1, "active", "monthly", 10, dt.date(2020, 1, 1), None, 1000)
    m = {1: MandateTerms(9, 1, "active", "recurrent", dt.date(2020, 1, 1), dt.date(2023, 12, 11))}
    # 36 months after 11 Dec 2023 the mandate may no longer be collected: 10 Dec 2026 is the last due date.
    assert plan(dt.date(2026, 11, 15), [t], m, PlanSettings())[0].due_on == dt.date(2026, 12, 10)
    assert plan(dt.date(2026, 12, 15), [t], m, PlanSettings()) == []


def test_periodic_agreement_rules() -> None:
    ok = AgreementTerms("PG-2026-001", 120_00, 2026, 5, dt.date(2026, 1, 5))
    t = CommitmentTerms(1, 1, "active", "monthly", 1, dt.date(2026, 2, 1), None, 10_00)
    assert check_agreement(ok, t) == []
    short = AgreementTerms("PG-2026-002", 120_00, 2026, 4, dt.date(2026, 1, 5))
    assert [p.where for p in check_agreement(short)] == ["term_years"]
    assert [p.where for p in check_agreement(ok, CommitmentTerms(1, 1, "active", "monthly", 1,
                                                                   dt.date(2026, 2, 1), None, 9_00))] == ["yearly_amount"]
    assert check_agreement(AgreementTerms("X", 1, 2026, None, dt.date(2026, 1, 1))) == []  # indefinite is fine
    assert not counts_as_periodic(ok, dt.date(2026, 1, 4))  # before signature
    assert counts_as_periodic(ok, dt.date(2030, 12, 31)) and not counts_as_periodic(ok, dt.date(2031, 1, 1))
    assert early_stop_downgrades(ok, dt.date(2028, 6, 1), "donor request")
    assert not early_stop_downgrades(ok, dt.date(2028, 6, 1), "death")
