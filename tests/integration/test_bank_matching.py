"""Matching a generated statement of the demo organisation against its known truth."""

from __future__ import annotations

from sqlalchemy import func, select

from donorcrm.banking import demo_statement as demo
from donorcrm.banking import reports, service
from donorcrm.banking.camt_writer import write_camt053
from donorcrm.banking.models import AllocationKind, BankAllocation, BankLine
from donorcrm.banking.sources import StaticSource, register_return_handler, unregister_return_handler
from donorcrm.donors.models import DonorAccount
from donorcrm.gifts.models import Gift


def _setup(session, *, donors=300, lines=600, seed=3):
    world = demo.seed_world(session, donors=donors, seed=seed)
    statement = demo.demo_statement(world, lines=lines, seed=seed)
    imported = service.import_file(session, write_camt053([statement.statement]))
    return world, statement, imported.statement_ids[0], StaticSource("demo", statement.expectations)


def test_automatic_bookings_are_never_wrong_on_the_demo_statement(session, capsys):
    _, statement, sid, source = _setup(session)
    result = service.match(session, sources=[source])
    evaluation = demo.evaluate(session, sid, statement)
    assert evaluation.wrong == 0, evaluation.mistakes[:5]
    assert result.auto_booked == evaluation.auto
    # Every kind of line that carries a sure signal is booked; the doubtful ones are left to a person.
    for kind in ("known_iban", "sepa_run", "sepa_return", "payout", "grant_instalment", "bank_charges"):
        stats = evaluation.by_kind.get(kind)
        if stats:
            assert stats.get("auto", 0) == stats["lines"], (kind, stats)
    for kind in ("unknown", "shared_account", "homonym", "conflict", "name_only", "number_other_payer"):
        assert evaluation.by_kind.get(kind, {}).get("auto", 0) == 0, kind
    assert 0.5 < evaluation.match_rate < 1.0
    with capsys.disabled():
        print(f"\n[bank] demo statement: {evaluation.lines} lines, {evaluation.auto} booked automatically,"
              f" match rate {evaluation.match_rate:.1%}, precision {evaluation.precision:.1%}")


def test_matching_books_gifts_with_campaign_and_keeps_the_statement_whole(session):
    _, statement, sid, source = _setup(session, lines=300, seed=4)
    service.match(session, sources=[source])
    statement_total = session.execute(
        select(func.sum(BankLine.amount_minor)).where(BankLine.statement_id == sid)).scalar_one()
    booked = session.execute(
        select(func.coalesce(func.sum(BankAllocation.amount_minor), 0)).join(BankLine)
        .where(BankLine.statement_id == sid, BankAllocation.undone_at.is_(None))).scalar_one()
    open_ = session.execute(select(func.sum(BankLine.open_minor)).where(BankLine.statement_id == sid)).scalar_one()
    assert booked + open_ == statement_total == sum(e.signed.minor for e in statement.statement.entries)
    gift_allocs = session.execute(
        select(func.sum(BankAllocation.amount_minor)).where(BankAllocation.kind == AllocationKind.GIFT)).scalar_one()
    ledger = session.execute(select(func.sum(Gift.amount_minor)).where(Gift.source == "bank")).scalar_one()
    assert gift_allocs == ledger
    with_campaign = session.execute(
        select(func.count()).select_from(Gift).where(Gift.source == "bank", Gift.campaign_id.is_not(None))).scalar_one()
    assert with_campaign > 0
    summary = reports.summary(session, statement_id=sid)
    assert summary["booked_automatically"] + summary["suspense"] <= summary["lines"]
    queue = reports.suspense(session, statement_id=sid, limit=500)
    assert queue and all(row["open"] != "0.00" for row in queue)
    assert any(row["candidates"] and row["candidates"][0]["reason"] for row in queue)


def test_a_sepa_run_credit_books_one_gift_per_collection(session):
    _, statement, sid, source = _setup(session, lines=200, seed=5)
    service.match(session, sources=[source])
    runs = [e for e in statement.expectations if e.kind == "sepa_run"]
    assert runs
    run = runs[0]
    allocations = session.execute(
        select(BankAllocation).where(BankAllocation.target_ref.in_([p.ref for p in run.parts]),
                                     BankAllocation.kind == AllocationKind.GIFT)).scalars().all()
    assert sorted(a.target_ref for a in allocations) == sorted(p.ref for p in run.parts)
    gifts = session.execute(select(Gift).where(Gift.id.in_([a.gift_id for a in allocations]))).scalars().all()
    assert {g.channel for g in gifts} == {"sepa_dd"} and {g.category for g in gifts} == {"individual_recurring"}
    assert sum(g.amount_minor for g in gifts) == run.amount.minor


def test_returns_are_handed_to_the_return_policy(session):
    calls = []

    def handler(sess, expectation, reason, day):
        calls.append((expectation.ref, reason))

    register_return_handler(handler)
    try:
        _, statement, sid, source = _setup(session, lines=300, seed=6)
        service.match(session, sources=[source])
    finally:
        unregister_return_handler(handler)
    returns = [ref for ref, kind in statement.kinds.items() if kind == "sepa_return"]
    assert len(calls) == len(returns) > 0
    assert {reason for _, reason in calls} <= {"AM04", "MD06", "MS02", "AC04"}
    kinds = session.execute(select(BankAllocation.kind).where(BankAllocation.kind == AllocationKind.RETURN)).scalars()
    assert len(list(kinds)) == len(returns)


def test_a_donor_found_by_reference_is_known_by_iban_next_time(session):
    world, statement, sid, source = _setup(session, lines=300, seed=7)
    service.match(session, sources=[source])
    by_reference = session.execute(
        select(BankLine.counterparty_iban, BankAllocation.donor_id).join(BankAllocation)
        .where(BankAllocation.rule == "reference+name")).first()
    assert by_reference is not None
    iban, donor_id = by_reference
    known = session.execute(select(DonorAccount.donor_id).where(DonorAccount.iban == iban)).scalars().all()
    assert known == [donor_id]


def test_matching_twice_changes_nothing(session):
    _, _, sid, source = _setup(session, lines=200, seed=8)
    first = service.match(session, sources=[source])
    gifts_before = session.execute(select(func.count()).select_from(Gift)).scalar_one()
    second = service.match(session, sources=[source])
    assert second.auto_booked == 0 and second.lines == first.suspense
    assert session.execute(select(func.count()).select_from(Gift)).scalar_one() == gifts_before


def test_a_person_accepts_a_run_candidate_and_a_return_candidate(session):
    from donorcrm.config import Settings

    _, statement, sid, source = _setup(session, lines=200, seed=9)
    cautious = Settings(bank_auto_score=100)  # nothing is sure enough: everything waits for a person
    result = service.match(session, sources=[source], settings=cautious)
    assert result.auto_booked == 0
    run_ref = next(ref for ref, kind in statement.kinds.items() if kind == "sepa_run")
    return_ref = next(ref for ref, kind in statement.kinds.items() if kind == "sepa_return")
    for ref in (run_ref, return_ref):
        line = session.execute(select(BankLine).where(BankLine.acct_svcr_ref == ref)).scalar_one()
        target = statement.truth[ref]
        assert line.candidates[0]["target"] == target
        allocations = service.book_candidate(session, line.id, target, sources=[source], settings=cautious)
        assert sum(a.amount_minor for a in allocations) == line.amount_minor
        assert session.get(BankLine, line.id).open_minor == 0
    run_allocs = session.execute(
        select(BankAllocation).join(BankLine).where(BankLine.acct_svcr_ref == run_ref)).scalars().all()
    assert len(run_allocs) > 1 and all(a.kind == AllocationKind.GIFT and a.rule == "candidate" for a in run_allocs)
    (ret,) = session.execute(
        select(BankAllocation).join(BankLine).where(BankLine.acct_svcr_ref == return_ref)).scalars().all()
    assert ret.kind == AllocationKind.RETURN and ret.amount_minor < 0 and ret.target_ref.startswith("collection:")


def test_settled_expectations_are_told_back_with_their_gift(session):
    from donorcrm.banking.sources import register_booking_handler, unregister_booking_handler

    told = []

    def handler(sess, expectation, gift_id, day):
        told.append((expectation.kind, expectation.ref, gift_id))

    for kind in ("payout", "grant_instalment", "collection"):
        register_booking_handler(kind, handler)
    try:
        _, statement, sid, source = _setup(session, lines=300, seed=10)
        service.match(session, sources=[source])
    finally:
        for kind in ("payout", "grant_instalment", "collection"):
            unregister_booking_handler(kind, handler)
    kinds = {kind for kind, _, _ in told}
    assert {"payout", "collection"} <= kinds
    assert all(gift_id is None for kind, _, gift_id in told if kind == "payout")  # payouts book no gift
    collection_gifts = [gift_id for kind, _, gift_id in told if kind == "collection"]
    assert collection_gifts and all(session.get(Gift, g).channel == "sepa_dd" for g in collection_gifts)


def test_matching_chosen_lines_leaves_the_others_untouched(session):
    _, _, sid, source = _setup(session, lines=60, seed=6)
    ids = session.execute(select(BankLine.id).where(BankLine.statement_id == sid).order_by(BankLine.id)).scalars().all()
    chosen = [ids[7], ids[3], ids[3], ids[40]]
    result = service.match(session, statement_id=sid, line_ids=chosen, sources=[source])
    assert result.lines == 3
    matched = session.execute(select(BankLine.id).where(BankLine.matched_at.is_not(None))).scalars().all()
    assert sorted(matched) == sorted({ids[3], ids[7], ids[40]})
    assert service.match(session, line_ids=chosen, sources=[source]).lines == len(
        [i for i in set(chosen) if session.get(BankLine, i).status == "open"])


def _outcome(session, statement_id):
    """What import and match left for one statement, keyed by references rather than ids (sequences do not
    roll back on PostgreSQL) and without timestamps."""
    lines = session.execute(
        select(BankLine.id, BankLine.ref, BankLine.amount_minor, BankLine.open_minor, BankLine.status,
               BankLine.candidates, BankLine.counterparty_name, BankLine.remittance, BankLine.matched_at.is_(None))
        .where(BankLine.statement_id == statement_id).order_by(BankLine.id)).all()
    ref_of = {row[0]: row[1] for row in lines}
    gifts = {g.id: g for g in session.execute(select(Gift).where(Gift.source == "bank")).scalars()}
    allocations = session.execute(
        select(BankAllocation).where(BankAllocation.line_id.in_(ref_of)).order_by(BankAllocation.id)).scalars().all()
    return {
        "lines": [tuple(row[1:]) for row in lines],
        "allocations": [
            (ref_of[a.line_id], a.seq, a.amount_minor, a.kind, a.purpose, a.donor_id, a.target_ref, a.rule, a.score,
             a.reason, None if a.gift_id is None else gifts[a.gift_id].external_ref) for a in allocations],
        "gifts": sorted((g.external_ref, g.donor_id, g.amount_minor, g.received_on, g.channel, g.category,
                         g.campaign_id, g.fund_id, g.commitment_id) for g in gifts.values()),
        "accounts": sorted(session.execute(select(DonorAccount.donor_id, DonorAccount.iban)).all()),
    }


def test_matching_during_import_leaves_what_import_then_match_leaves(session):
    world = demo.seed_world(session, donors=300, seed=8)
    statement = demo.demo_statement(world, lines=600, seed=8)
    camt = write_camt053([statement.statement])
    source = StaticSource("demo", statement.expectations)

    nested = session.begin_nested()
    imported = service.import_file(session, camt)
    separate = service.match(session, sources=[source])
    apart = _outcome(session, imported.statement_ids[0])
    nested.rollback()

    together = service.import_file(session, camt, match=True, sources=[source])
    (matched,) = together.matched
    assert _outcome(session, together.statement_ids[0]) == apart
    assert matched.as_dict() == separate.as_dict()
    assert matched.auto_booked > 0 and matched.suspense > 0
    assert demo.evaluate(session, together.statement_ids[0], statement).wrong == 0
    # Imported again: nothing new, nothing matched twice.
    again = service.import_file(session, camt, match=True, sources=[source])
    assert again.statements_known == 1 and again.matched == []
