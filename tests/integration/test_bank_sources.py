"""The expectation sources over the real tables: a direct-debit run confirmed by its batch credit, a return
on the statement through the return policy, a provider payout, a grant instalment."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from donorcrm.banking import service as bank
from donorcrm.banking.camt_writer import write_camt053
from donorcrm.banking.models import AllocationKind, BankAllocation, BankLine
from donorcrm.banking.records import Balance, Batch, Entry, Party, Statement, TransactionDetails
from donorcrm.db import session_scope
from donorcrm.gifts.models import Gift
from donorcrm.grants import rules as grant_rules
from donorcrm.grants import service as grants
from donorcrm.grants.models import GrantInstalment, InstalmentStatus
from donorcrm.money import Money
from donorcrm.payments.models import ProviderPayout
from donorcrm.sepa import service as sepa
from donorcrm.sepa.models import Collection, SepaFile, SepaReturn
from tests.sepa_factories import SETTINGS, iban_for, sepa_donor

ORG = "NL20INGB0001234567"
RUN_ON = dt.date(2026, 12, 10)
_seq = itertools.count(1)


def _entry(amount: int, *, credit: bool = True, code: str = "PMNT/RCDT/ESCT", batch: Batch | None = None,
           tx: TransactionDetails | None = None, on: dt.date = RUN_ON) -> Entry:
    n = next(_seq)
    return Entry(amount=Money(amount), credit=credit, reversal=False, status="BOOK", booked_on=on, value_on=on,
                 acct_svcr_ref=f"SRC-{n:06d}", entry_ref=None, bank_tx_code=code, proprietary_code=None,
                 additional_info=None, batches=(batch,) if batch else (), transactions=(tx,) if tx else (),
                 line=0, index=0, fingerprint="")


def _statement(*entries: Entry, on: dt.date = RUN_ON) -> bytes:
    entries = tuple(replace(e, index=i) for i, e in enumerate(entries))
    opening = Money(1_000_000)
    closing = Money(opening.minor + sum(e.signed.minor for e in entries))
    n = next(_seq)
    return write_camt053([Statement(
        message="camt.053", version="001.02", message_id=f"SRC-{n}", statement_id=f"SRC-{n}", electronic_seq=str(n),
        legal_seq=None, created=None, created_at=dt.datetime.combine(on, dt.time(18), tzinfo=dt.UTC),
        account_iban=ORG, account_other=None, currency="EUR", from_date=on, to_date=on,
        balances=(Balance("OPBD", opening, on), Balance("CLBD", closing, on)), entries=entries, line=0)])


def _run(engine: Engine, donors: int = 3) -> tuple[int, SepaFile, list[Collection]]:
    with session_scope(engine) as s:
        for i in range(donors):
            sepa_donor(s, 1000 + 250 * i, iban=iban_for(900 + i))
    settings = replace(SETTINGS, database_url=engine.url.render_as_string(hide_password=False))
    result = sepa.run_collections(RUN_ON, settings=settings, engine=engine)
    with session_scope(engine) as s:
        (file,) = s.execute(select(SepaFile).where(SepaFile.run_id == result.run_id)).scalars()
        cols = list(s.execute(select(Collection).where(Collection.run_id == result.run_id)
                              .order_by(Collection.id)).scalars())
    return result.run_id, file, cols


def _gifts(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        return s.execute(select(func.count(), func.coalesce(func.sum(Gift.amount_minor), 0))).one()  # type: ignore[return-value]


def _batch_credit(file: SepaFile, cols: list[Collection]) -> Entry:
    total = sum(c.amount_minor for c in cols)
    return _entry(total, code="PMNT/IDDT/ESDD",
                  batch=Batch(pmt_inf_id=f"{file.message_id}-P", count=len(cols), total=Money(total)))


def test_run_credit_confirms_its_collections_once(engine: Engine) -> None:
    run_id, file, cols = _run(engine)
    with session_scope(engine) as s:
        imported = bank.import_file(s, _statement(_batch_credit(file, cols)))
    with session_scope(engine) as s:
        result = bank.match(s, statement_id=imported.statement_ids[0])
    assert result.auto_booked == 1
    count, total = _gifts(engine)
    assert (count, total) == (3, sum(c.amount_minor for c in cols))
    with session_scope(engine) as s:
        statuses = {c.status for c in s.execute(select(Collection).where(Collection.run_id == run_id)).scalars()}
        assert statuses == {"confirmed"}
        sources = set(s.execute(select(Gift.source)).scalars())
        assert sources == {"sepa"}  # booked once, by the direct-debit package, not again by the bank
        allocs = list(s.execute(select(BankAllocation)).scalars())
        assert {a.kind for a in allocs} == {AllocationKind.EXPECTED}
        assert sum(a.amount_minor for a in allocs) == sum(c.amount_minor for c in cols)
        line = s.execute(select(BankLine)).scalar_one()
        assert line.open_minor == 0


def test_run_already_confirmed_by_sepa_is_not_booked_twice(engine: Engine) -> None:
    run_id, file, cols = _run(engine)
    with session_scope(engine) as s:
        sepa.confirm_run(s, run_id)
    before = _gifts(engine)
    with session_scope(engine) as s:
        bank.import_file(s, _statement(_batch_credit(file, cols)))
        assert bank.match(s).auto_booked == 1
    assert _gifts(engine) == before


def test_return_on_the_statement_reverses_the_gift_and_applies_the_policy(engine: Engine) -> None:
    run_id, file, cols = _run(engine)
    with session_scope(engine) as s:
        sepa.confirm_run(s, run_id)
    returned = cols[1]
    tx = TransactionDetails(
        amount=Money(returned.amount_minor), end_to_end_id=returned.end_to_end_id,
        mandate_id=returned.mandate_reference, debtor=Party(name=returned.debtor_name, iban=returned.debtor_iban),
        creditor=Party(name="Stichting", iban=ORG), remittance="Storno", return_reason="MD07")
    with session_scope(engine) as s:
        bank.import_file(s, _statement(_entry(returned.amount_minor, credit=False, code="PMNT/IDDT/UPDD", tx=tx)))
        assert bank.match(s).auto_booked == 1
    with session_scope(engine) as s:
        (ret,) = s.execute(select(SepaReturn)).scalars()
        assert (ret.collection_id, ret.reason_code, ret.source) == (returned.id, "MD07", "camt.053")
        col = s.get(Collection, returned.id)
        assert (col.status, col.return_code) == ("returned", "MD07")  # type: ignore[union-attr]
        reversal = s.get(Gift, ret.reversal_gift_id)
        assert reversal is not None and reversal.reverses_gift_id == col.gift_id  # type: ignore[union-attr]
        from donorcrm.donors.models import Donor

        assert s.get(Donor, col.donor_id).status == "deceased"  # type: ignore[union-attr]  # MD07: debtor deceased
        alloc = s.execute(select(BankAllocation)).scalar_one()
        assert (alloc.kind, alloc.amount_minor) == (AllocationKind.RETURN, -returned.amount_minor)


def test_payout_credit_matches_the_imported_payout(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(ProviderPayout(provider="stripe", payout_id="po_1QxYzAbCdEf", reference="STRIPE-PO-7731",
                             status="paid", amount_minor=1_234_56, paid_on=RUN_ON))
    before = _gifts(engine)
    tx = TransactionDetails(amount=Money(1_234_56), debtor=Party(name="STRIPE PAYMENTS EUROPE LTD",
                                                                  iban="IE64SRCB99041000009216"),
                            creditor=Party(iban=ORG), remittance="STRIPE-PO-7731 payout")
    with session_scope(engine) as s:
        bank.import_file(s, _statement(_entry(1_234_56, tx=tx)))
        assert bank.match(s).auto_booked == 1
    with session_scope(engine) as s:
        alloc = s.execute(select(BankAllocation)).scalar_one()
        payout_id = s.execute(select(ProviderPayout.id)).scalar_one()
        assert (alloc.kind, alloc.target_ref) == (AllocationKind.EXPECTED, f"payments:payout:{payout_id}")
    assert _gifts(engine) == before  # the donors' gifts were booked when they paid


def test_grant_instalment_is_booked_on_the_grant_and_marked_received(engine: Engine) -> None:
    with session_scope(engine) as s:
        funder = grants.create_funder(s, name="Fonds Oranje", kind="private_fund", code="ORANJE",
                                      iban="NL91ABNA0417164300")
        grant = grants.create_application(s, grants.GrantApplication(
            funder_id=funder.id, reference="ORANJE-2026-07", title="Taalmaatjes", requested=Money(40_000_00),
            applied_on=dt.date(2026, 1, 10)))
        grants.award(s, grant.id, grants.Award(awarded=Money(40_000_00), decided_on=dt.date(2026, 3, 1)))
        first, _ = grants.plan_instalments(s, grant.id, [
            grant_rules.PlannedInstalment(dt.date(2026, 12, 1), Money(30_000_00)),
            grant_rules.PlannedInstalment(dt.date(2027, 6, 1), Money(10_000_00))])
        grant_id, first_id = grant.id, first.id
    tx = TransactionDetails(amount=Money(30_000_00), debtor=Party(name="STICHTING FONDS ORANJE",
                                                                   iban="NL91ABNA0417164300"),
                            creditor=Party(iban=ORG), remittance="ORANJE-2026-07 eerste termijn")
    with session_scope(engine) as s:
        bank.import_file(s, _statement(_entry(30_000_00, tx=tx)))
        assert bank.match(s).auto_booked == 1
    with session_scope(engine) as s:
        inst = s.get(GrantInstalment, first_id)
        assert inst.status == InstalmentStatus.RECEIVED and inst.gift_id is not None  # type: ignore[union-attr]
        gift = s.get(Gift, inst.gift_id)  # type: ignore[union-attr]
        assert (gift.grant_id, gift.amount_minor, gift.source) == (grant_id, 30_000_00, "bank")  # type: ignore[union-attr]
        assert grants.ledger_income(s, grant_id) == Money(30_000_00)
