"""pain.008 (SEPA Core direct debit initiation) files, written with lxml and validated against the
official XSDs in ``xsd/``.

Ids are deterministic (derived from the run, due date, sequence type and chunk), and the creation time
is the run's, so a rerun writes the same bytes. Names are transliterated to the SEPA character set.
Amendments (a changed IBAN or mandate reference) go into AmdmntInd/AmdmntInfDtls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from lxml import etree

from donorcrm.errors import FileFormatError, Problem
from donorcrm.sepa.charset import transliterate

XSD_DIR = Path(__file__).parent / "xsd"
VERSIONS = ("pain.008.001.02", "pain.008.001.08")


@dataclass(frozen=True, slots=True)
class Creditor:
    name: str
    iban: str
    bic: str | None
    creditor_id: str


class DebitTx(NamedTuple):
    """One debit as the file carries it (a named tuple: runs build a million of them from rows)."""

    end_to_end_id: str
    amount_minor: int
    mandate_reference: str
    signed_on: dt.date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None = None
    remittance: str = ""
    original_reference: str | None = None
    original_iban: str | None = None
    amended_to_other_bank: bool = False


@dataclass(frozen=True, slots=True)
class PaymentBlock:
    payment_info_id: str
    due_on: dt.date
    sequence_type: str
    transactions: Sequence[DebitTx]


@dataclass(frozen=True, slots=True)
class RenderedFile:
    message_id: str
    content: bytes
    n_transactions: int
    control_sum_minor: int
    sha256: str


def amount_text(minor: int) -> str:
    if minor <= 0:
        raise FileFormatError(f"a direct debit amount must be positive, got {minor}")
    return f"{minor // 100}.{minor % 100:02d}"


def message_id(run_id: int, due_on: dt.date, sequence_type: str, chunk: int) -> str:
    return f"DCRM-R{run_id}-{due_on:%Y%m%d}-{sequence_type}-{chunk}"


def render(
    msg_id: str,
    created_at: dt.datetime,
    creditor: Creditor,
    blocks: Sequence[PaymentBlock],
    version: str = "pain.008.001.02",
) -> RenderedFile:
    """Write one pain.008 message.

    The text is composed from escaped values rather than element by element: a million transactions
    then cost string formatting, not twenty million lxml elements. ``validate`` parses the result against
    the XSD before any file is released, so the schema still has the last word.
    """
    if version not in VERSIONS:
        raise FileFormatError(f"unsupported pain.008 version {version}; supported: {', '.join(VERSIONS)}")
    bic_tag = "BICFI" if version == "pain.008.001.08" else "BIC"
    n_total = sum(len(b.transactions) for b in blocks)
    sum_total = sum(t.amount_minor for b in blocks for t in b.transactions)
    creditor_name = _esc(transliterate(creditor.name, 70))
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n",
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}" xmlns:xsi="{XSI}"><CstmrDrctDbtInitn>',
        f"<GrpHdr><MsgId>{_esc(msg_id)}</MsgId>"
        f"<CreDtTm>{created_at.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%S')}</CreDtTm>"
        f"<NbOfTxs>{n_total}</NbOfTxs><CtrlSum>{amount_text(sum_total) if n_total else '0.00'}</CtrlSum>"
        f"<InitgPty><Nm>{creditor_name}</Nm></InitgPty></GrpHdr>",
    ]
    writer = _TxWriter(bic_tag)
    for block in blocks:
        parts.append(_block_head(block, creditor, creditor_name, _agent(bic_tag, creditor.bic)))
        parts.extend(map(writer.transaction, block.transactions))
        parts.append("</PmtInf>")
    parts.append("</CstmrDrctDbtInitn></Document>")
    content = "".join(parts).encode("utf-8")
    return RenderedFile(msg_id, content, n_total, sum_total, hashlib.sha256(content).hexdigest())


XSI = "http://www.w3.org/2001/XMLSchema-instance"
# Characters that text content cannot carry as they are: markup is escaped as lxml serialises it, and
# characters XML 1.0 forbids are refused (lxml refuses them too).
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _esc(text: str) -> str:
    """``text`` as XML character data."""
    if _SPECIAL.search(text) is None:
        return text
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        raise FileFormatError(f"{text!r} holds a character XML cannot carry ({bad.group()!r})")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _agent(bic_tag: str, bic: str | None) -> str:
    if bic:
        return f"<FinInstnId><{bic_tag}>{_esc(bic)}</{bic_tag}></FinInstnId>"
    return "<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>"


def _block_head(block: PaymentBlock, creditor: Creditor, creditor_name: str, creditor_agent: str) -> str:
    return (
        f"<PmtInf><PmtInfId>{_esc(block.payment_info_id)}</PmtInfId><PmtMtd>DD</PmtMtd>"
        f"<NbOfTxs>{len(block.transactions)}</NbOfTxs>"
        f"<CtrlSum>{amount_text(sum(t.amount_minor for t in block.transactions))}</CtrlSum>"
        "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>CORE</Cd></LclInstrm>"
        f"<SeqTp>{_esc(block.sequence_type)}</SeqTp></PmtTpInf>"
        f"<ReqdColltnDt>{block.due_on.isoformat()}</ReqdColltnDt><Cdtr><Nm>{creditor_name}</Nm></Cdtr>"
        f"<CdtrAcct><Id><IBAN>{_esc(creditor.iban)}</IBAN></Id></CdtrAcct><CdtrAgt>{creditor_agent}</CdtrAgt>"
        "<ChrgBr>SLEV</ChrgBr><CdtrSchmeId><Id><PrvtId><Othr>"
        f"<Id>{_esc(creditor.creditor_id)}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm>"
        "</Othr></PrvtId></Id></CdtrSchmeId>"
    )


class _TxWriter:
    """One ``DrctDbtTxInf`` per call; texts shared by many transactions (amounts, dates, agents,
    remittance) are formatted once per file."""

    def __init__(self, bic_tag: str) -> None:
        self.bic_tag = bic_tag
        self.amounts: dict[int, str] = {}
        self.dates: dict[dt.date, str] = {}
        self.agents: dict[str | None, str] = {}
        self.remittances: dict[str, str] = {}

    def transaction(self, tx: DebitTx) -> str:
        amount = self.amounts.get(tx.amount_minor)
        if amount is None:
            amount = self.amounts[tx.amount_minor] = amount_text(tx.amount_minor)
        signed = self.dates.get(tx.signed_on)
        if signed is None:
            signed = self.dates[tx.signed_on] = tx.signed_on.isoformat()
        agent = self.agents.get(tx.debtor_bic)
        if agent is None:
            agent = self.agents[tx.debtor_bic] = _agent(self.bic_tag, tx.debtor_bic)
        remittance = self.remittances.get(tx.remittance)
        if remittance is None:
            remittance = self.remittances[tx.remittance] = (
                f"<RmtInf><Ustrd>{_esc(transliterate(tx.remittance, 140))}</Ustrd></RmtInf>" if tx.remittance else "")
        if tx.original_reference or tx.original_iban or tx.amended_to_other_bank:
            amendment = _amendment(tx)
        else:
            amendment = "<AmdmntInd>false</AmdmntInd>"
        e2e, ref, iban = tx.end_to_end_id, tx.mandate_reference, tx.debtor_iban
        name = transliterate(tx.debtor_name, 70) or "NOTPROVIDED"
        if _SPECIAL.search(f"{e2e}{ref}{iban}{name}") is not None:  # one look for the usual clean case
            e2e, ref, iban, name = _esc(e2e), _esc(ref), _esc(iban), _esc(name)
        return (
            f"<DrctDbtTxInf><PmtId><EndToEndId>{e2e}</EndToEndId></PmtId>"
            f'<InstdAmt Ccy="EUR">{amount}</InstdAmt><DrctDbtTx><MndtRltdInf>'
            f"<MndtId>{ref}</MndtId><DtOfSgntr>{signed}</DtOfSgntr>{amendment}"
            f"</MndtRltdInf></DrctDbtTx><DbtrAgt>{agent}</DbtrAgt><Dbtr><Nm>{name}</Nm></Dbtr>"
            f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct>{remittance}</DrctDbtTxInf>"
        )


def _amendment(tx: DebitTx) -> str:
    """AmdmntInfDtls: the mandate reference and account (or agent) the bank knew before."""
    out = ["<AmdmntInd>true</AmdmntInd><AmdmntInfDtls>"]
    if tx.original_reference:
        out.append(f"<OrgnlMndtId>{_esc(tx.original_reference)}</OrgnlMndtId>")
    if tx.amended_to_other_bank:  # the debtor moved to another bank: the original agent is SMNDA
        out.append("<OrgnlDbtrAgt><FinInstnId><Othr><Id>SMNDA</Id></Othr></FinInstnId></OrgnlDbtrAgt>")
    elif tx.original_iban:
        out.append(f"<OrgnlDbtrAcct><Id><IBAN>{_esc(tx.original_iban)}</IBAN></Id></OrgnlDbtrAcct>")
    out.append("</AmdmntInfDtls>")
    return "".join(out)


@lru_cache(maxsize=4)
def schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{version}.xsd")))


def validate(content: bytes, version: str = "pain.008.001.02") -> list[Problem]:
    """Problems of ``content`` against the official XSD, plus the control-sum checks the XSD cannot do."""
    try:  # parsed once: the schema and the sums both work on this tree
        doc = etree.fromstring(content, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        return [Problem("xml", str(exc))]
    xsd = schema(version)
    if not xsd.validate(doc):
        return [Problem(f"line {e.line}", e.message) for e in list(xsd.error_log)[:50]]
    return check_sums(doc, version)


def check_sums(doc: etree._ElementTree, version: str) -> list[Problem]:
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}
    amounts_of, count_of = _amounts_xpath(version)
    problems: list[Problem] = []
    n_all = 0
    sum_all = 0
    for block in doc.iterfind(".//p:PmtInf", ns):
        # Amount texts are counted first: a file holds few distinct amounts, so each is parsed once.
        n = int(count_of(block))
        texts = Counter(amounts_of(block))
        if sum(texts.values()) != n:  # an amount split by a comment or CDATA: take each element's whole text
            texts = Counter(a.xpath("string()") for a in block.iterfind("p:DrctDbtTxInf/p:InstdAmt", ns))
        total = sum(_minor(t) * k for t, k in texts.items())
        pid = block.findtext("p:PmtInfId", namespaces=ns)
        if int(block.findtext("p:NbOfTxs", namespaces=ns) or -1) != n:
            problems.append(Problem(f"PmtInf {pid}", "NbOfTxs does not match the transactions"))
        if _minor(block.findtext("p:CtrlSum", namespaces=ns) or "") != total:
            problems.append(Problem(f"PmtInf {pid}", "CtrlSum does not match the transactions"))
        n_all += n
        sum_all += total
    if int(doc.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) or -1) != n_all:
        problems.append(Problem("GrpHdr", "NbOfTxs does not match the transactions"))
    if _minor(doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) or "") != sum_all:
        problems.append(Problem("GrpHdr", "CtrlSum does not match the transactions"))
    return problems


@lru_cache(maxsize=4)
def _amounts_xpath(version: str) -> tuple[etree.XPath, etree.XPath]:
    """The InstdAmt texts of a PmtInf's transactions, by compiled XPath, as plain strings (no element or
    smart-string object per transaction), and the number of its transactions."""
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}
    return (etree.XPath("p:DrctDbtTxInf/p:InstdAmt/text()", smart_strings=False, namespaces=ns),
            etree.XPath("count(p:DrctDbtTxInf)", namespaces=ns))


def _parser() -> etree.XMLParser:
    """Big files allowed; no entity expansion, no network."""
    return etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)


def _minor(text: str) -> int:
    whole, _, frac = text.strip().partition(".")
    return int(whole or 0) * 100 + int((frac + "00")[:2])


def render_validated(msg_id: str, created_at: dt.datetime, creditor: Creditor,
                     blocks: Sequence[PaymentBlock], version: str = "pain.008.001.02") -> RenderedFile:
    """Render and refuse to release a file that does not validate."""
    rendered = render(msg_id, created_at, creditor, blocks, version)
    problems = validate(rendered.content, version)
    if problems:
        raise FileFormatError(f"{msg_id} does not validate against {version}: "
                              + "; ".join(str(p) for p in problems[:5]))
    return rendered


def chunks(items: Sequence[DebitTx], size: int) -> Iterable[Sequence[DebitTx]]:
    if size <= 0:
        yield items
        return
    for start in range(0, len(items), size):
        yield items[start:start + size]
