"""Returns applied through the policy: reversals, retries, cancellations, deceased donors, pausing, and
re-imports that change nothing."""

import datetime as dt
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from donorcrm.commitments.models import Commitment
from donorcrm.commitments.rules import mandate_expires_on
from donorcrm.db import session_scope
from donorcrm.donors.models import Donor
from donorcrm.gifts.models import Gift
from donorcrm.sepa import returns, service
from donorcrm.sepa.models import Collection, Mandate, SepaReturn
from tests.sepa_factories import SETTINGS, iban_for, sepa_donor
from tests.sepa_fixtures import sample

RUN_ON = dt.date(2026, 12, 10)


def _settings(engine: Engine, **kw: object):  # type: ignore[no-untyped-def]
    return replace(SETTINGS, database_url=engine.url.render_as_string(hide_password=False), **kw)


def _run(engine: Engine, on: dt.date, confirm: bool = True):  # type: ignore[no-untyped-def]
    result = service.run_collections(on, settings=_settings(engine), engine=engine)
    if confirm:
        with session_scope(engine) as s:
            service.confirm_run(s, result.run_id)
    return result


def _collections(engine: Engine, run_id: int) -> list[Collection]:
    with session_scope(engine) as s:
        return list(s.execute(select(Collection).where(Collection.run_id == run_id)
                              .order_by(Collection.commitment_id)).scalars())


def _ledger(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        return s.execute(select(func.count(), func.sum(Gift.amount_minor))).one()  # type: ignore[return-value]


def test_pain002_rejects_reverse_retry_and_mark_deceased_and_twice_changes_nothing(engine: Engine) -> None:
    with session_scope(engine) as s:
        for i in range(4):
            sepa_donor(s, 1250, iban=iban_for(500 + i))
        _, _, other = sepa_donor(s, 800, iban=iban_for(600))
        # the deceased donor (third) has a second mandate on another commitment
    run = _run(engine, RUN_ON)
    cols = _collections(engine, run.run_id)
    with session_scope(engine) as s:
        third = s.get(Collection, cols[2].id)
        from donorcrm.commitments.service import CommitmentCreate, create_commitment
        from donorcrm.money import Money
        from donorcrm.sepa.mandates import create_mandate

        extra = create_commitment(s, CommitmentCreate(donor_id=third.donor_id, amount=Money(500, "EUR"),  # type: ignore[union-attr]
                                                      starts_on=dt.date(2026, 1, 1)))
        create_mandate(s, donor_id=third.donor_id, commitment_id=extra.id, iban=iban_for(700),  # type: ignore[union-attr]
                       holder="X", signed_on=dt.date(2026, 1, 1), settings=SETTINGS)
    content = sample("pain002_reject_am04_ms02_md07.xml", MSGID=run.files[0].message_id,
                     E2E1=cols[0].end_to_end_id, E2E2=cols[1].end_to_end_id, E2E3=cols[2].end_to_end_id,
                     E2E4=cols[3].end_to_end_id, AMT1="12.50")
    count_before, total_before = _ledger(engine)
    with session_scope(engine) as s:
        report = returns.import_returns(s, content, settings=_settings(engine))
    assert (report.applied, report.already, report.unmatched) == (3, 0, 0)
    assert report.by_action == {"retry": 1, "refused": 1, "deceased": 1}
    count_after, total_after = _ledger(engine)
    assert count_after == count_before + 3 and total_after == total_before - 3 * 1250
    with session_scope(engine) as s:
        again = returns.import_returns(s, content, settings=_settings(engine))
    assert (again.applied, again.already) == (0, 3) and _ledger(engine) == (count_after, total_after)
    with session_scope(engine) as s:
        c0, c1, c2, c3 = (s.get(Collection, c.id) for c in cols[:4])
        assert (c0.status, c0.return_code, c0.retry_wanted) == ("returned", "AM04", True)  # type: ignore[union-attr]
        assert (c1.return_code, c1.retry_wanted) == ("MS02", False)  # type: ignore[union-attr]
        assert c3.status == "confirmed"  # type: ignore[union-attr]  # accepted: untouched
        donor = s.get(Donor, c2.donor_id)  # type: ignore[union-attr]
        assert donor.status == "deceased" and donor.deceased_on == dt.date(2027, 1, 5)  # type: ignore[union-attr]
        statuses = s.execute(select(Mandate.status).where(Mandate.donor_id == c2.donor_id)).scalars().all()  # type: ignore[union-attr]
        assert statuses == ["cancelled", "cancelled"]
        reversal = s.execute(select(Gift).where(Gift.reverses_gift_id == c0.gift_id)).scalars().one()  # type: ignore[union-attr]
        assert (reversal.entry_type, reversal.reason, reversal.amount_minor) == ("return", "AM04", -1250)
        assert s.get(Mandate, other.id).status == "active"  # type: ignore[union-attr]
    # the AM04 period is collected again as attempt 2 in the next run, besides the new period
    nxt = _run(engine, dt.date(2027, 1, 10), confirm=False)
    mine = [(c.period, c.attempt) for c in _collections(engine, nxt.run_id) if c.commitment_id == cols[0].commitment_id]
    assert mine == [(dt.date(2027, 1, 1), 2), (dt.date(2027, 2, 1), 1)] or sorted(mine) == [
        (dt.date(2027, 1, 1), 2), (dt.date(2027, 2, 1), 1)]
    assert not [c for c in _collections(engine, nxt.run_id) if c.commitment_id == cols[1].commitment_id
                and c.attempt > 1]


def test_camt054_closed_account_cancels_the_mandate_and_refund_reverses_as_refund(engine: Engine) -> None:
    with session_scope(engine) as s:
        sepa_donor(s, 1250, iban=iban_for(800))
        sepa_donor(s, 705, iban=iban_for(801))
    run = _run(engine, RUN_ON)
    cols = _collections(engine, run.run_id)
    content = sample("camt054_return_ac04_md06.xml", E2E1=cols[0].end_to_end_id, E2E2=cols[1].end_to_end_id,
                     AMT1="12.50", AMT2="7.05", MNDT1=cols[0].mandate_reference)
    with session_scope(engine) as s:
        report = returns.import_returns(s, content, settings=_settings(engine))
    assert report.kind == "camt.054" and report.applied == 2 and report.problems == []
    with session_scope(engine) as s:
        assert s.get(Mandate, cols[0].mandate_id).status == "cancelled"  # type: ignore[union-attr]
        assert s.get(Mandate, cols[1].mandate_id).status == "active"  # type: ignore[union-attr]
        refund = s.execute(select(Gift).where(Gift.reverses_gift_id == cols[1].gift_id)).scalars().one()
        assert refund.entry_type == "refund" and refund.received_on == dt.date(2027, 2, 20)
        flags = {r.reason_code: r.needs_review for r in s.execute(select(SepaReturn)).scalars()}
        assert flags == {"AC04": True, "MD06": True}
        assert s.get(Commitment, cols[1].commitment_id).consecutive_failures == 0  # type: ignore[union-attr]


def test_a_group_rejection_returns_every_collection_of_the_file(engine: Engine) -> None:
    with session_scope(engine) as s:
        for i in range(3):
            sepa_donor(s, 1000, iban=iban_for(900 + i))
    run = _run(engine, RUN_ON, confirm=False)
    with session_scope(engine) as s:
        report = returns.import_returns(s, sample("pain002_group_rejected.xml", MSGID=run.files[0].message_id),
                                        settings=_settings(engine))
    assert report.applied == 3 and report.by_action == {"stop_run": 3}
    assert {c.status for c in _collections(engine, run.run_id)} == {"returned"}
    assert _ledger(engine)[0] == 0  # never booked, so nothing to reverse
    with session_scope(engine) as s:
        preview = service.preview(s, dt.date(2027, 1, 10), _settings(engine))
    assert any(x.get("count") == 3 and "our own file" in x["kind"] for x in preview.suspicious)


def test_consecutive_refusals_pause_the_commitment(engine: Engine) -> None:
    with session_scope(engine) as s:
        _, commitment, _ = sepa_donor(s, 1000, iban=iban_for(950))
    on = RUN_ON
    for k in range(3):
        run = _run(engine, on)
        (col,) = _collections(engine, run.run_id)
        with session_scope(engine) as s:
            returns.apply_return(s, col.id, "MS02", col.due_on + dt.timedelta(days=2), settings=_settings(engine))
        on = dt.date(on.year + (on.month == 12), on.month % 12 + 1, 10)
        with session_scope(engine) as s:
            c = s.get(Commitment, commitment.id)
            assert c.consecutive_failures == k + 1  # type: ignore[union-attr]
    assert c.status == "paused" and "3 failed" in (c.status_reason or "")  # type: ignore[union-attr]
    nothing = service.run_collections(on, settings=_settings(engine), engine=engine)
    assert nothing.n_collections == 0


def test_expiry_counts_from_the_last_presented_collection_even_if_returned(engine: Engine) -> None:
    with session_scope(engine) as s:
        _, _, m = sepa_donor(s, 1000, iban=iban_for(990), signed_on=dt.date(2025, 6, 1))
    run = _run(engine, RUN_ON)
    (col,) = _collections(engine, run.run_id)
    with session_scope(engine) as s:
        returns.apply_return(s, col.id, "MS02", dt.date(2027, 1, 8), settings=_settings(engine))
    with session_scope(engine) as s:
        mandate = s.get(Mandate, m.id)
        assert mandate.last_presented_on == col.due_on  # type: ignore[union-attr]
        assert mandate_expires_on(mandate.signed_on, mandate.last_presented_on) == dt.date(2030, 1, 4)  # type: ignore[union-attr]
