"""The camt reader and writer on their own: round trips through the official schemas, and refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from donorcrm.banking.camt import CamtError, read_file, read_for_import
from donorcrm.banking.camt_writer import balances_for, write_camt053
from donorcrm.banking.records import Batch, Entry, Party, Statement, TransactionDetails, line_values, lines_of
from donorcrm.money import Money

XSD = Path(__file__).parents[1] / "fixtures" / "bank" / "xsd"


def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD / f"{name}.xsd")))


SCHEMAS = {v: _schema(f"camt.053.{v}") for v in ("001.02", "001.08")}

NS53 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def _entry(i: int, minor: int, credit: bool = True, txs: tuple[TransactionDetails, ...] = (),
           batch: Batch | None = None, ref: str | None = "auto", code: str = "PMNT/RCDT/ESCT") -> Entry:
    return Entry(amount=Money(minor), credit=credit, reversal=False, status="BOOK", booked_on=dt.date(2026, 11, 2),
                 value_on=dt.date(2026, 11, 2), acct_svcr_ref=(f"REF{i}" if ref == "auto" else ref), entry_ref=None,
                 bank_tx_code=code, proprietary_code=None, additional_info=None,
                 batches=(batch,) if batch else (), transactions=txs, line=0, index=i, fingerprint="")


def _statement(entries: list[Entry], sid: str = "S1") -> Statement:
    day = dt.date(2026, 11, 2)
    return Statement(message="camt.053", version="001.02", message_id="M1", statement_id=sid, electronic_seq="7",
                     legal_seq=None, created=None, created_at=dt.datetime(2026, 11, 2, 18, tzinfo=dt.UTC),
                     account_iban="NL91ABNA0417164300", account_other=None, currency="EUR", from_date=day, to_date=day,
                     balances=balances_for(entries, Money(100_00), day), entries=tuple(entries), line=0)


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40).map(
    str.strip).filter(bool)
ident = st.from_regex(r"[A-Za-z0-9/\-]{1,35}", fullmatch=True)
tx_strategy = st.builds(
    TransactionDetails,
    amount=st.integers(1, 10**9).map(Money),
    end_to_end_id=st.none() | ident,
    mandate_id=st.none() | ident,
    debtor=st.builds(Party, name=st.none() | text, iban=st.none() | st.just("NL02ABNA0123456789")),
    remittance=st.just("") | text,
    return_reason=st.none() | st.sampled_from(["AC04", "AM04", "MD06", "MS02"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), st.lists(tx_strategy, max_size=3)), min_size=1, max_size=6),
       st.sampled_from(["001.02", "001.08"]))
def test_written_statements_validate_and_read_back(specs, version):
    entries = []
    for i, (credit, txs) in enumerate(specs):
        total = sum(t.amount.minor for t in txs) or 1234
        entries.append(_entry(i, total, credit, tuple(txs)))
    data = write_camt053([_statement(entries)], version=version)
    doc = etree.fromstring(data)
    assert SCHEMAS[version].validate(doc), SCHEMAS[version].error_log.last_error
    (back,) = read_file(data)
    assert back.version == version and back.statement_id == "S1" and back.account_iban == "NL91ABNA0417164300"
    assert len(back.entries) == len(entries)
    for ours, theirs in zip(entries, back.entries, strict=True):
        assert (theirs.amount, theirs.credit, theirs.acct_svcr_ref) == (ours.amount, ours.credit, ours.acct_svcr_ref)
        for a, b in zip(ours.transactions, theirs.transactions, strict=True):
            assert b.amount == a.amount
            assert b.end_to_end_id == a.end_to_end_id and b.mandate_id == a.mandate_id
            assert b.debtor == a.debtor and b.remittance == a.remittance and b.return_reason == a.return_reason
    lines = [line for e in back.entries for line in lines_of(e, back.account_iban)]
    assert sum(line.amount.minor for line in lines) == sum(e.signed.minor for e in entries)


def test_batch_entry_splits_into_lines_only_when_its_details_add_up():
    txs = (TransactionDetails(amount=Money(300)), TransactionDetails(amount=Money(700)))
    split = lines_of(_entry(0, 1000, True, txs))
    assert [line.amount.minor for line in split] == [300, 700]
    whole = lines_of(_entry(1, 1200, True, txs, batch=Batch(pmt_inf_id="RUN-1", count=2)))
    assert len(whole) == 1 and whole[0].amount.minor == 1200
    assert whole[0].batch_ref == "RUN-1" and whole[0].batch_count == 2
    debit = lines_of(_entry(2, 1000, False, txs))
    assert [line.amount.minor for line in debit] == [-300, -700]


def test_notprovided_is_not_an_end_to_end_id():
    (line,) = lines_of(_entry(0, 100, True, (TransactionDetails(amount=Money(100), end_to_end_id="NOTPROVIDED"),)))
    assert line.end_to_end_id is None


def test_entries_without_bank_reference_get_a_stable_hash_identity():
    data = write_camt053([_statement([_entry(0, 100, ref=None), _entry(1, 100, ref=None)])])
    first = [e.identity for e in read_file(data)[0].entries]
    again = [e.identity for e in read_file(data)[0].entries]
    assert first == again and len(set(first)) == 2 and all(i.startswith("h:") for i in first)


def test_camt054_notification_is_read():
    doc = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>N1</MsgId><CreDtTm>2026-11-02T10:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1-1</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">25.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2026-11-02</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>E2E-9</EndToEndId><MndtId>M-9</MndtId></Refs><Amt Ccy="EUR">25.00</Amt>
<RltdPties><Dbtr><Pty><Nm>J. Jansen</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>NL02ABNA0123456789</IBAN></Id></DbtrAcct></RltdPties>
<RtrInf><Rsn><Cd>MD06</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry></Ntfctn>
</BkToCstmrDbtCdtNtfctn></Document>"""
    assert _schema("camt.054.001.08").validate(etree.fromstring(doc))
    (note,) = read_file(doc)
    assert (note.message, note.version, note.statement_id) == ("camt.054", "001.08", "N1-1")
    (line,) = lines_of(note.entries[0], note.account_iban)
    assert line.amount == Money(-2500)
    assert (line.end_to_end_id, line.mandate_id, line.return_reason) == ("E2E-9", "M-9", "MD06")
    assert (line.counterparty_name, line.counterparty_iban) == ("J. Jansen", "NL02ABNA0123456789")


def _doc(ntry: str) -> bytes:
    return (f'<Document xmlns="{NS53}"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId><CreDtTm>2026-11-02T10:00:00'
            f"</CreDtTm></GrpHdr>\n<Stmt><Id>S</Id><CreDtTm>2026-11-02T10:00:00</CreDtTm>\n"
            f"<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>\n{ntry}\n</Stmt></BkToCstmrStmt></Document>").encode()


GOOD_NTRY = ("<Ntry><Amt Ccy=\"EUR\">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
             "<BkTxCd/></Ntry>")


@pytest.mark.parametrize(("data", "element", "line", "words"), [
    (_doc(GOOD_NTRY)[:-20], None, 5, "well-formed"),
    (_doc("<Ntry>\n<CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts></Ntry>"), "Ntry", 4, "missing <Amt>"),
    (_doc("<Ntry>\n<Amt Ccy=\"EUR\">1.00</Amt>\n<CdtDbtInd>CREDIT</CdtDbtInd></Ntry>"), "CdtDbtInd", 6, "CRDT or DBIT"),
    (_doc("<Ntry>\n<Amt Ccy=\"EUR\">1,00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>"), "Amt", 5, "not an amount"),
    (_doc("<Ntry>\n<Amt Ccy=\"EUR\">1.001</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>"), "Amt", 5, "decimals"),
    (_doc("<Ntry>\n<Amt>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>"), "Amt", 5, "Ccy"),
    (_doc("<Ntry><Amt Ccy=\"EUR\">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\n<BookgDt><Dt>2026-13-45</Dt></BookgDt></Ntry>"),
     "BookgDt", 5, "not a date"),
    (_doc(GOOD_NTRY).replace(b"<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>", b""), "Stmt", 2, "missing <Acct>"),
    (b'<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"><CstmrDrctDbtInitn/></Document>',
     "Document", 2, "not a camt"),
    (b"<html><body>statement</body></html>", "html", 1, "not a camt"),
    (f'<Document xmlns="{NS53}"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr></BkToCstmrStmt></Document>'.encode(),
     "Stmt", 1, "no <Stmt>"),
])
@pytest.mark.parametrize("reader", [read_file, read_for_import])
def test_malformed_files_are_refused_with_element_and_line(data, element, line, words, reader):
    with pytest.raises(CamtError) as caught:
        reader(data)
    err = caught.value
    assert words in str(err)
    if element is not None:
        assert err.element == element
    if line is not None:
        assert err.line == line
        assert f"line {line}" in str(err)


def test_entity_expansion_is_not_performed():
    data = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "EVIL">]>' + _doc(GOOD_NTRY).replace(
        b"<Id>S</Id>", b"<Id>&x;</Id>"))
    try:
        statements = read_file(data)
    except CamtError:
        return  # refusing the file is fine too
    assert "EVIL" not in statements[0].statement_id


FIXTURES = Path(__file__).parents[1] / "fixtures" / "bank"
NS08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
# Whitespace around values, an empty first name, repeated free text, DtTm dates, proprietary codes and status,
# an entry without reference (hashed identity), a batch with two NtryDtls, an amount in InstdAmt only.
ODD_NTRIES = """<Ntry>
  <Amt Ccy="EUR"> 12.50 </Amt><CdtDbtInd> CRDT </CdtDbtInd><RvslInd>TRUE</RvslInd><Sts><Prtry>BOOK</Prtry></Sts>
  <BookgDt><DtTm>2026-11-02T10:00:00</DtTm></BookgDt><ValDt><Dt> </Dt><DtTm>2026-11-03T00:00:00Z</DtTm></ValDt>
  <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd></Fmly></Domn><Prtry><Cd>X99</Cd></Prtry></BkTxCd>
  <NtryDtls><TxDtls><Refs><EndToEndId>  E1  </EndToEndId><EndToEndId>E2</EndToEndId></Refs>
   <AmtDtls><InstdAmt><Amt Ccy="EUR">12.5</Amt></InstdAmt></AmtDtls>
   <RltdPties><Dbtr><Nm> </Nm><Nm>Second Name</Nm></Dbtr><DbtrAcct><Id><IBAN>de89 3704 0044 0532 0130 00</IBAN></Id></DbtrAcct>
   <UltmtDbtr><Pty><Nm>Ulti</Nm></Pty></UltmtDbtr></RltdPties>
   <RmtInf><Ustrd> line one </Ustrd><Ustrd></Ustrd><Ustrd>line two</Ustrd></RmtInf>
   <RtrInf><Rsn><Prtry>X1</Prtry></Rsn><AddtlInf>a</AddtlInf><AddtlInf>b</AddtlInf></RtrInf>
  </TxDtls></NtryDtls><AddtlNtryInf>info</AddtlNtryInf></Ntry>
<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-02</Dt></BookgDt>
<NtryDtls><TxDtls><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Refs><PmtInfId>P1</PmtInfId></Refs></TxDtls></NtryDtls>
<NtryDtls><Btch><MsgId>BM</MsgId><NbOfTxs>2</NbOfTxs><TtlAmt Ccy="EUR">30.00</TtlAmt></Btch>
<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">20.00</Amt></TxAmt></AmtDtls></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">40.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
<NtryDtls><Btch><PmtInfId>RUN-7</PmtInfId><NbOfTxs>3</NbOfTxs></Btch><TxDtls><Amt Ccy="EUR">10.00</Amt></TxDtls></NtryDtls></Ntry>"""


def _same_reading(data: bytes | Path) -> list[Statement]:
    """read_for_import reads what read_file reads: same headers, same entries, same lines."""
    statements = read_file(data)
    lean = read_for_import(data)
    assert len(lean) == len(statements)
    for stmt, (head, values) in zip(statements, lean, strict=True):
        assert head.entries == () and head == Statement(**{**{f: getattr(stmt, f) for f in stmt.__slots__}, "entries": ()})
        assert [v.entry() for v in values] == list(stmt.entries)
        assert [line_values(v, head.account_iban) for v in values] == [line_values(e, stmt.account_iban) for e in stmt.entries]
        assert [v.identity for v in values] == [e.identity for e in stmt.entries]
    return statements


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.xml")))
def test_import_reader_reads_the_real_samples_as_read_file_does(name):
    assert _same_reading(FIXTURES / name)


def test_import_reader_agrees_on_odd_entries_and_batches():
    (stmt,) = _same_reading(_doc(ODD_NTRIES))
    odd, batch, whole = stmt.entries
    assert (odd.amount, odd.credit, odd.reversal, odd.status) == (Money(12_50), True, True, "BOOK")
    assert (odd.booked_on, odd.value_on, odd.bank_tx_code) == (dt.date(2026, 11, 2), dt.date(2026, 11, 3), "PMNT/RCDT")
    (tx,) = odd.transactions
    assert (tx.end_to_end_id, tx.debtor, tx.ultimate_debtor) == ("E1", Party("Second Name", "DE89370400440532013000"), "Ulti")
    assert (tx.remittance, tx.return_reason, tx.return_info) == ("line one line two", "X1", "a b")
    assert odd.identity.startswith("h:") and odd.fingerprint
    assert [line.amount.minor for line in lines_of(batch)] == [10_00, 20_00]
    assert batch.batches == (Batch(msg_id="BM", count=2, total=Money(30_00)),)
    (line,) = lines_of(whole)
    assert (line.amount.minor, line.batch_ref, line.batch_count) == (-40_00, "RUN-7", 3)


def test_import_reader_ignores_elements_of_another_version_as_read_file_does():
    foreign = ODD_NTRIES.replace("<Ntry>", f'<Ntry xmlns="{NS08}">', 1).replace("<TxDtls><AmtDtls>", f'<TxDtls xmlns="{NS08}"><AmtDtls>')
    (stmt,) = _same_reading(_doc(foreign))
    assert [e.amount.minor for e in stmt.entries] == [30_00, 40_00]
    assert [t.amount for t in stmt.entries[0].transactions] == [Money(10_00)]


def test_import_reader_reports_a_bad_detail_with_its_element_and_line():
    bad = ODD_NTRIES.replace('<TtlAmt Ccy="EUR">30.00</TtlAmt>', '<TtlAmt Ccy="EUR">thirty</TtlAmt>')
    for reader in (read_file, read_for_import):
        with pytest.raises(CamtError) as caught:
            reader(_doc(bad))
        assert (caught.value.element, caught.value.line) == ("TtlAmt", 17)
        assert str(caught.value) == "line 17 <TtlAmt>: not an amount: 'thirty'"
