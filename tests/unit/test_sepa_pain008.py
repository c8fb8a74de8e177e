import datetime as dt
import re

import pytest
from lxml import etree

from donorcrm.errors import FileFormatError
from donorcrm.sepa import pain008
from donorcrm.sepa.pain008 import Creditor, DebitTx, PaymentBlock, render, render_validated, validate
from tests.sepa_fixtures import FIXTURES

CREDITOR = Creditor("Stichting Vluchtelingenhulp Demo", "NL91ABNA0417164300", "ABNANL2A", "NL98ZZZ999999999999")
AT = dt.datetime(2026, 12, 10, 6, 0, tzinfo=dt.UTC)
TXS = [
    DebitTx("DC1-202701-1", 1250, "DCRM-000000001", dt.date(2025, 1, 1), "Jürgen Förster",
            "DE89370400440532013000", None, "Gift 01-2027"),
    DebitTx("DC2-202701-1", 500, "DCRM-000000002", dt.date(2025, 2, 1), "Łucja van der Berg",
            "NL02ABNA0123456789", "ABNANL2A", "Gift 01-2027", original_reference="OLD-REF",
            original_iban="NL02ABNA0000000019"),
    DebitTx("DC3-202701-1", 1, "DCRM-000000003", dt.date(2025, 3, 1), "Ana", "NL69INGB0123456789",
            "INGBNL2A", "", amended_to_other_bank=True),
]
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


def _doc(content: bytes) -> etree._ElementTree:
    return etree.fromstring(content).getroottree()


@pytest.mark.parametrize("version", pain008.VERSIONS)
def test_files_validate_against_the_official_xsd_with_exact_sums(version: str) -> None:
    blocks = [PaymentBlock("M-P1", dt.date(2027, 1, 4), "RCUR", TXS[:2]),
              PaymentBlock("M-P2", dt.date(2027, 1, 5), "FRST", TXS[2:])]
    out = render_validated("M", AT, CREDITOR, blocks, version)
    assert validate(out.content, version) == []
    assert out.n_transactions == 3 and out.control_sum_minor == 1751
    doc = _doc(out.content)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}
    assert doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "17.51"
    assert [e.text for e in doc.iterfind(".//p:PmtInf/p:CtrlSum", ns)] == ["17.50", "0.01"]


def test_names_are_transliterated_in_the_file() -> None:
    doc = _doc(render("M", AT, CREDITOR, [PaymentBlock("M-P", dt.date(2027, 1, 4), "RCUR", TXS)]).content)
    assert [e.text for e in doc.iterfind(".//p:Dbtr/p:Nm", NS)] == ["Juergen Foerster", "Lucja van der Berg", "Ana"]


def test_amendments_carry_the_original_reference_account_or_smnda() -> None:
    doc = _doc(render("M", AT, CREDITOR, [PaymentBlock("M-P", dt.date(2027, 1, 4), "RCUR", TXS)]).content)
    infos = list(doc.iterfind(".//p:MndtRltdInf", NS))
    assert [i.findtext("p:AmdmntInd", namespaces=NS) for i in infos] == ["false", "true", "true"]
    assert infos[1].findtext("p:AmdmntInfDtls/p:OrgnlMndtId", namespaces=NS) == "OLD-REF"
    assert infos[1].findtext("p:AmdmntInfDtls/p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=NS) == "NL02ABNA0000000019"
    assert infos[2].findtext("p:AmdmntInfDtls/p:OrgnlDbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "SMNDA"


def test_missing_bic_is_notprovided() -> None:
    doc = _doc(render("M", AT, CREDITOR, [PaymentBlock("M-P", dt.date(2027, 1, 4), "RCUR", TXS[:1])]).content)
    assert doc.findtext(".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"


def test_rendering_is_deterministic() -> None:
    blocks = [PaymentBlock("M-P", dt.date(2027, 1, 4), "RCUR", TXS)]
    assert render("M", AT, CREDITOR, blocks).sha256 == render("M", AT, CREDITOR, blocks).sha256


def _normalise(content: bytes) -> str:
    text = content.decode()
    text = re.sub(r"<MsgId>[^<]*</MsgId>", "<MsgId>X</MsgId>", text)
    text = re.sub(r"<PmtInfId>[^<]*</PmtInfId>", "<PmtInfId>X</PmtInfId>", text)
    return re.sub(r"<CreDtTm>[^<]*</CreDtTm>", "<CreDtTm>T</CreDtTm>", text)


@pytest.mark.parametrize("version", pain008.VERSIONS)
def test_golden_file(version: str) -> None:
    """The file compared with a reviewed one, ids and timestamps normalised."""
    out = render(f"RANDOM-{version}", dt.datetime.now(dt.UTC), CREDITOR,
                 [PaymentBlock("ANY", dt.date(2027, 1, 4), "RCUR", TXS)], version)
    golden = (FIXTURES / f"golden_{version.replace('.', '_')}.xml").read_bytes()
    assert _normalise(out.content) == _normalise(golden)


def test_a_file_with_a_wrong_control_sum_is_refused() -> None:
    good = render("M", AT, CREDITOR, [PaymentBlock("M-P", dt.date(2027, 1, 4), "RCUR", TXS)]).content
    bad = good.replace(b"<CtrlSum>17.51</CtrlSum>", b"<CtrlSum>17.52</CtrlSum>", 1)
    assert [p.where for p in validate(bad)] == ["GrpHdr"]
    both = good.replace(b"<CtrlSum>17.51</CtrlSum>", b"<CtrlSum>17.52</CtrlSum>")
    assert [p.where for p in validate(both)] == ["PmtInf M-P", "GrpHdr"]


def test_a_file_breaking_the_schema_is_refused_before_release() -> None:
    too_long = DebitTx("X" * 36, 100, "R", dt.date(2025, 1, 1), "A", "NL02ABNA0123456789")
    with pytest.raises(FileFormatError, match="does not validate"):
        render_validated("M", AT, CREDITOR, [PaymentBlock("M-P", dt.date(2027, 1, 4), "RCUR", [too_long])])


def test_amounts_must_be_positive() -> None:
    with pytest.raises(FileFormatError):
        pain008.amount_text(0)
