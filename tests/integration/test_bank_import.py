"""Importing statements: stored once, whole file or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from donorcrm.audit import AuditLog
from donorcrm.banking import service
from donorcrm.banking.camt import CamtError, read_file
from donorcrm.banking.camt_writer import write_camt053
from donorcrm.banking.models import BankLine, BankStatement
from donorcrm.banking.records import Balance, Entry, Statement, lines_of
from donorcrm.db import session_scope
from donorcrm.money import Money

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bank"
ABN = FIXTURES / "camt053-001.02-ocabsi-abnamro-batch-return-ac06.xml"
SNS = FIXTURES / "camt053-001.02-newinn-sns-nl-two-statements.xml"


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_import_stores_statements_and_lines_and_is_a_no_op_the_second_time(session):
    first = service.import_file(session, SNS)
    assert (first.statements_new, first.statements_known, first.entries, first.lines) == (2, 0, 11, 11)
    stored = session.execute(select(BankStatement).order_by(BankStatement.id)).scalars().all()
    assert [s.entry_count for s in stored] == [7, 4]
    assert sum(s.credit_minor for s in stored) == 801_74 and sum(s.debit_minor for s in stored) == 542_00
    total = session.execute(select(func.sum(BankLine.amount_minor))).scalar_one()
    assert total == 801_74 - 542_00
    before = (_count(session, BankStatement), _count(session, BankLine), _count(session, AuditLog))
    again = service.import_file(session, SNS.read_bytes())
    assert (again.statements_new, again.statements_known) == (0, 2)
    assert (_count(session, BankStatement), _count(session, BankLine), _count(session, AuditLog)) == before


def test_batch_of_returns_becomes_one_line_per_return(session):
    service.import_file(session, ABN)
    lines = session.execute(select(BankLine).order_by(BankLine.id)).scalars().all()
    assert [ln.amount_minor for ln in lines] == [-754_25, -564_05, -100_00, 1405_31]
    assert [ln.return_reason for ln in lines] == [None, "AC06", "AC06", None]
    assert len({ln.ref for ln in lines}) == 4


def test_malformed_file_writes_nothing(engine):
    good = ABN.read_bytes()
    broken = good.replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>PLUS</CdtDbtInd>", 1)
    with pytest.raises(CamtError) as caught, session_scope(engine) as s:
        service.import_file(s, broken)
    assert caught.value.element == "CdtDbtInd" and caught.value.line
    with session_scope(engine) as s:
        assert _count(s, BankStatement) == 0 and _count(s, BankLine) == 0


def test_a_statement_that_does_not_add_up_is_imported_with_a_warning(session):
    day = dt.date(2026, 11, 2)
    entry = Entry(amount=Money(25_00), credit=True, reversal=False, status="BOOK", booked_on=day, value_on=day,
                  acct_svcr_ref="A1", entry_ref=None, bank_tx_code="PMNT/RCDT/ESCT", proprietary_code=None,
                  additional_info=None, batches=(), transactions=(), line=0, index=0, fingerprint="")

    def statement(sid: str, closing: int) -> Statement:
        return Statement(message="camt.053", version="001.02", message_id="M", statement_id=sid, electronic_seq="1",
                         legal_seq=None, created=None, created_at=None, account_iban="NL91ABNA0417164300",
                         account_other=None, currency="EUR", from_date=day, to_date=day,
                         balances=(Balance("OPBD", Money(100_00), day), Balance("CLBD", Money(closing), day)),
                         entries=(entry,), line=0)

    fine = service.import_file(session, write_camt053([statement("OK", 125_00)]))
    assert fine.statements_new == 1 and not fine.problems
    off = service.import_file(session, write_camt053([statement("OFF", 125_01)]))
    assert off.statements_new == 1
    assert any("closing balance" in p.what for p in off.problems)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.xml")))
def test_stored_lines_are_the_lines_read_file_gives(session, name):
    """The import reads without building Entry objects; what it stores is still lines_of every booked entry."""
    service.import_file(session, FIXTURES / name)
    expected = [
        (line.entry_identity, line.tx_index, line.amount.minor, line.amount.currency, line.booked_on, line.value_on,
         line.reversal, line.bank_tx_code, line.end_to_end_id, line.mandate_id, line.batch_ref, line.batch_count,
         line.counterparty_name, line.counterparty_iban, line.remittance, line.structured_ref, line.return_reason,
         line.acct_svcr_ref, line.description)
        for stmt in read_file(FIXTURES / name) for e in stmt.entries if e.status == "BOOK"
        for line in lines_of(e, stmt.account_iban)
    ]
    stored = [
        (r.entry_identity, r.tx_index, r.amount_minor, r.currency, r.booked_on, r.value_on, r.reversal, r.bank_tx_code,
         r.end_to_end_id, r.mandate_id, r.batch_ref, r.batch_count, r.counterparty_name, r.counterparty_iban,
         r.remittance, r.structured_ref, r.return_reason, r.acct_svcr_ref, r.description)
        for r in session.execute(select(BankLine).order_by(BankLine.id)).scalars()
    ]
    assert stored == expected and stored
