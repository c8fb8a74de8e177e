import datetime as dt

import pytest

from donorcrm.errors import FileFormatError
from donorcrm.sepa.returns import read, read_camt054, read_pain002, sniff
from tests.sepa_fixtures import sample

PAIN = sample("pain002_reject_am04_ms02_md07.xml", MSGID="DCRM-R1-20270104-RCUR-1", E2E1="DC1-202701-1",
              E2E2="DC2-202701-1", E2E3="DC3-202701-1", E2E4="DC4-202701-1", AMT1="12.50")
CAMT = sample("camt054_return_ac04_md06.xml", E2E1="DC1-202701-1", E2E2="DC2-202701-1", AMT1="12.50",
              AMT2="7.05", MNDT1="DCRM-000000001")


def test_pain002_rejections_with_reason_codes_and_original_ids() -> None:
    items, problems = read_pain002(PAIN)
    assert problems == []
    assert [(i.end_to_end_id, i.reason_code) for i in items] == [
        ("DC1-202701-1", "AM04"), ("DC2-202701-1", "MS02"), ("DC3-202701-1", "MD07")]  # ACCP is not a return
    assert items[0].amount_minor == 1250 and items[0].on == dt.date(2027, 1, 5)
    assert items[0].original_message_id == "DCRM-R1-20270104-RCUR-1"
    assert items[0].original_payment_info_id == "DCRM-R1-20270104-RCUR-1-P"


def test_pain002_group_rejection_comes_back_as_one_item_for_the_whole_file() -> None:
    items, _ = read_pain002(sample("pain002_group_rejected.xml", MSGID="DCRM-R7-20270104-RCUR-1"))
    assert len(items) == 1
    assert items[0].end_to_end_id is None and items[0].reason_code == "FF05"
    assert items[0].original_message_id == "DCRM-R7-20270104-RCUR-1"


def test_camt054_returns_with_booking_dates_and_amounts_credits_ignored() -> None:
    items, problems = read_camt054(CAMT)
    assert problems == []
    assert [(i.end_to_end_id, i.reason_code, i.on, i.amount_minor) for i in items] == [
        ("DC1-202701-1", "AC04", dt.date(2027, 1, 11), 1250), ("DC2-202701-1", "MD06", dt.date(2027, 2, 20), 705)]
    assert items[0].mandate_reference == "DCRM-000000001" and items[0].source_ref == "BANKREF-R1"


def test_sniff_and_read_pick_the_reader() -> None:
    assert sniff(PAIN) == "pain.002" and sniff(CAMT) == "camt.054"
    assert len(read(CAMT)[0]) == 2


@pytest.mark.parametrize("content", [b"not xml", b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'/>"])
def test_other_files_are_refused(content: bytes) -> None:
    with pytest.raises(FileFormatError):
        read(content)


def test_large_file_is_streamed() -> None:
    tx = ("<TxInfAndSts><OrgnlEndToEndId>DC{n}-202701-1</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
          "<StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf></TxInfAndSts>")
    body = "".join(tx.format(n=n) for n in range(20_000))
    doc = ("<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.002.001.03'><CstmrPmtStsRpt><GrpHdr><MsgId>X</MsgId>"
           "<CreDtTm>2027-01-05T08:00:00</CreDtTm></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId>"
           f"</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>M-P</OrgnlPmtInfId>{body}</OrgnlPmtInfAndSts>"
           "</CstmrPmtStsRpt></Document>").encode()
    items, _ = read(doc)
    assert len(items) == 20_000 and items[-1].end_to_end_id == "DC19999-202701-1"
