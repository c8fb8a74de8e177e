"""Statements from real banks (see tests/fixtures/bank/README.md) read exactly as their ground truth says."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from donorcrm.banking.camt import read_file
from donorcrm.banking.camt_writer import write_camt053
from donorcrm.banking.records import lines_of

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bank"

# file: (statements, entries, transaction details, credit minor by currency, debit minor by currency)
TRUTH = {
    "camt053-001.02-camtparser-vrbank-de-batch.xml": (1, 4, 5, {"EUR": 1_00}, {"EUR": 11_00}),
    "camt053-001.02-newinn-sns-nl-two-statements.xml": (2, 11, 11, {"EUR": 801_74}, {"EUR": 542_00}),
    "camt053-001.02-ocabsi-abnamro-batch-return-ac06.xml": (1, 3, 4, {"EUR": 1405_31}, {"EUR": 1418_30}),
    "camt054-001.02-ocaap-sdd-return-ac06.xml": (1, 1, 1, {}, {"EUR": 100_00}),
}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_real_sample_matches_its_ground_truth(name):
    statements = read_file(FIXTURES / name)
    n_stmt, n_ntry, n_tx, credits, debits = TRUTH[name]
    assert len(statements) == n_stmt
    assert sum(len(s.entries) for s in statements) == n_ntry
    assert sum(len(e.transactions) for s in statements for e in s.entries) == n_tx
    got_credit: Counter[str] = Counter()
    got_debit: Counter[str] = Counter()
    for s in statements:
        for e in s.entries:
            (got_credit if e.credit else got_debit)[e.amount.currency] += e.amount.minor
    assert dict(got_credit) == credits and dict(got_debit) == debits
    lines = [line for s in statements for e in s.entries for line in lines_of(e, s.account_iban)]
    assert sum(line.amount.minor for line in lines) == sum(credits.values()) - sum(debits.values())


def test_abn_amro_returned_batch_gives_each_return_its_reason_and_references():
    (stmt,) = read_file(FIXTURES / "camt053-001.02-ocabsi-abnamro-batch-return-ac06.xml")
    assert stmt.account_iban == "NL77ABNA0574908765" and stmt.legal_seq == "2"
    batch = stmt.entries[1]
    assert batch.reversal and batch.bank_tx_code == "PMNT/IDDT/UPDD"
    assert batch.batches[0].count == 2 and batch.batches[0].pmt_inf_id == "2018/125-20141229-NORM"
    lines = lines_of(batch, stmt.account_iban)
    assert [ln.amount.minor for ln in lines] == [-564_05, -100_00]
    assert [ln.return_reason for ln in lines] == ["AC06", "AC06"]
    assert lines[0].end_to_end_id == "TESTBANK/NL/20141229/01206408"
    assert lines[0].mandate_id == "NL22ZZZ524885430000-C0125.1"
    assert lines[0].counterparty_name == "Test Customer"


def test_camt054_unpaid_direct_debit():
    (note,) = read_file(FIXTURES / "camt054-001.02-ocaap-sdd-return-ac06.xml")
    assert note.message == "camt.054"
    (line,) = lines_of(note.entries[0], note.account_iban)
    assert (line.end_to_end_id, line.mandate_id, line.return_reason) == ("E2EID1", "MANDATEID2", "AC06")
    assert (line.counterparty_name, line.counterparty_iban) == ("DEBTOR4", "IE16AIBK93110187654321")


def test_sns_two_statements_keep_their_own_identity_and_balances():
    first, second = read_file(FIXTURES / "camt053-001.02-newinn-sns-nl-two-statements.xml")
    assert first.identity != second.identity
    assert first.balance("OPBD") is not None and first.balance("CLBD") is not None
    assert first.created_at is not None and first.created_at.tzinfo is not None  # nanoseconds and offset read


def test_vrbank_batch_of_two_transfers_is_two_lines():
    (stmt,) = read_file(FIXTURES / "camt053-001.02-camtparser-vrbank-de-batch.xml")
    lines = [line for e in stmt.entries for line in lines_of(e, stmt.account_iban)]
    assert [ln.end_to_end_id for ln in lines[-2:]] == ["STZV-EtE27122013-11:02-1", "STZV-EtE27122013-11:02-2"]


@pytest.mark.parametrize("version", ["001.02", "001.08"])
@pytest.mark.parametrize("name", [n for n in sorted(TRUTH) if n.startswith("camt053")])
def test_real_samples_rewritten_by_our_writer_validate_against_the_official_schema(name, version):
    schema = etree.XMLSchema(etree.parse(str(FIXTURES / "xsd" / f"camt.053.{version}.xsd")))
    statements = read_file(FIXTURES / name)
    data = write_camt053(statements, version=version)
    assert schema.validate(etree.fromstring(data)), schema.error_log.last_error
    again = read_file(data)
    assert [(e.amount, e.credit) for s in again for e in s.entries] == [
        (e.amount, e.credit) for s in statements for e in s.entries]
