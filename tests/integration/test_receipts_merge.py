"""Merging donors who are already in a receipt run, or who both hold a receipt: no key breaks, nothing is
receipted twice, and what no longer fits goes to the correction queue."""

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm.db import session_scope
from donorcrm.donors.service import merge_donors
from donorcrm.receipts import batch, reports
from donorcrm.receipts.merging import MERGE_REASON
from donorcrm.receipts.models import ItemStatus, Receipt, ReceiptLine, ReceiptRun, ReceiptRunItem
from tests.integration.receipts_support import SETTINGS, donor, gift

Y = 2025


def two_donors(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        a = donor(s, "NL", last_name="Jansen", email="a.jansen@example.org")
        b = donor(s, "NL", last_name="Jansen", email="anna.jansen@example.org")
        gift(s, a, 5000, dt.date(Y, 3, 1))
        gift(s, b, 2500, dt.date(Y, 9, 1))
    return a, b


def items(s: Session, run_id: int) -> list[tuple[int, str]]:
    return sorted(s.execute(select(ReceiptRunItem.donor_id, ReceiptRunItem.status)
                            .where(ReceiptRunItem.run_id == run_id)).all())


def test_merging_two_donors_waiting_in_an_open_run_issues_one_receipt_with_all_gifts(engine: Engine) -> None:
    a, b = two_donors(engine)
    with session_scope(engine) as s:
        run_id = batch.open_run(s, Y, settings=SETTINGS).id
        assert items(s, run_id) == [(a, "pending"), (b, "pending")]
    with session_scope(engine) as s:
        merge_donors(s, a, b)
    with Session(engine) as s:
        assert items(s, run_id) == [(a, "pending")]
        assert s.get(ReceiptRun, run_id).total_items == 1
    assert batch.work(engine, run_id, settings=SETTINGS).issued == 1
    with Session(engine) as s:
        receipt = s.execute(select(Receipt)).scalars().one()
        assert (receipt.donor_id, receipt.total_minor) == (a, 7500)
        assert s.execute(select(func.count()).select_from(ReceiptLine)).scalar_one() == 2


def test_merging_two_donors_who_both_hold_a_receipt_queues_both_for_correction(engine: Engine) -> None:
    a, b = two_donors(engine)
    with session_scope(engine) as s:
        run_id = batch.open_run(s, Y, settings=SETTINGS).id
    assert batch.work(engine, run_id, settings=SETTINGS).issued == 2
    with session_scope(engine) as s:
        merge_donors(s, a, b)  # used to break the run's one-item-per-donor key
    with Session(engine) as s:
        # The run's record stays as it happened; both receipts now belong to the survivor and wait for a person.
        assert items(s, run_id) == [(a, "issued"), (b, "issued")]
        receipts = s.execute(select(Receipt).order_by(Receipt.id)).scalars().all()
        assert [(r.donor_id, r.needs_correction, r.correction_reason) for r in receipts] == [
            (a, True, MERGE_REASON), (a, True, MERGE_REASON)]
        assert {row["id"] for row in reports.correction_queue(s, Y)} == {r.id for r in receipts}


def test_merging_into_a_donor_already_receipted_in_a_run_still_running(engine: Engine) -> None:
    a, b = two_donors(engine)
    with session_scope(engine) as s:
        run_id = batch.open_run(s, Y, settings=SETTINGS).id

    def stop_after_first(_: int) -> None:
        raise KeyboardInterrupt

    try:
        batch.work(engine, run_id, settings=SETTINGS, chunk=1, progress=stop_after_first)
    except KeyboardInterrupt:
        pass
    with Session(engine) as s:
        assert items(s, run_id) == [(a, ItemStatus.ISSUED), (b, ItemStatus.PENDING)]
    with session_scope(engine) as s:
        merge_donors(s, a, b)
    assert batch.work(engine, run_id, settings=SETTINGS).issued == 0
    with Session(engine) as s:
        assert items(s, run_id) == [(a, "issued")]
        receipt = s.execute(select(Receipt)).scalars().one()
        # One receipt, for the survivor's own gift; the duplicate's gift is missing, so it waits for correction.
        assert (receipt.total_minor, receipt.needs_correction, receipt.correction_reason) == (5000, True, MERGE_REASON)
