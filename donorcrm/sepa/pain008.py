"""pain.008 (SEPA Core direct debit initiation) files, written with lxml and validated against the
official XSDs in ``xsd/``.

Ids are deterministic (derived from the run, due date, sequence type and chunk), and the creation time
is the run's, so a rerun writes the same bytes. Names are transliterated to the SEPA character set.
Amendments (a changed IBAN or mandate reference) go into AmdmntInd/AmdmntInfDtls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path

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


@dataclass(frozen=True, slots=True)
class DebitTx:
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
    """Write one pain.008 message; streamed, so a million transactions do not build one big tree."""
    if version not in VERSIONS:
        raise FileFormatError(f"unsupported pain.008 version {version}; supported: {', '.join(VERSIONS)}")
    ns = f"urn:iso:std:iso:20022:tech:xsd:{version}"
    bic_tag = "BICFI" if version == "pain.008.001.08" else "BIC"
    n_total = sum(len(b.transactions) for b in blocks)
    sum_total = sum(t.amount_minor for b in blocks for t in b.transactions)
    buf = BytesIO()
    b = _Builder(ns, bic_tag)
    with etree.xmlfile(buf, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(b.q("Document"), nsmap={None: ns, "xsi": "http://www.w3.org/2001/XMLSchema-instance"}):
            with xf.element(b.q("CstmrDrctDbtInitn")):
                hdr = b.root("GrpHdr")
                b.text(hdr, "MsgId", msg_id)
                b.text(hdr, "CreDtTm", created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"))
                b.text(hdr, "NbOfTxs", str(n_total))
                b.text(hdr, "CtrlSum", amount_text(sum_total) if n_total else "0.00")
                b.text(b.sub(hdr, "InitgPty"), "Nm", transliterate(creditor.name, 70))
                xf.write(hdr)
                for block in blocks:
                    with xf.element(b.q("PmtInf")):
                        for child in b.block_head(block, creditor):
                            xf.write(child)
                        for tx in block.transactions:
                            xf.write(b.transaction(tx))
    content = buf.getvalue()
    return RenderedFile(msg_id, content, n_total, sum_total, hashlib.sha256(content).hexdigest())


class _Builder:
    """Element helpers bound to one message namespace."""

    def __init__(self, ns: str, bic_tag: str) -> None:
        # Children are built with bare tags and written inside the Document element that declares the
        # default namespace, so they serialise without repeated xmlns attributes and parse as qualified.
        self.ns_prefix = f"{{{ns}}}"
        self.prefix = ""
        self.bic_tag = bic_tag

    def q(self, tag: str) -> str:
        return self.ns_prefix + tag

    def root(self, tag: str) -> etree._Element:
        return etree.Element(tag)

    def sub(self, parent: etree._Element, tag: str) -> etree._Element:
        return etree.SubElement(parent, self.prefix + tag)

    def text(self, parent: etree._Element, tag: str, value: str) -> etree._Element:
        el = etree.SubElement(parent, self.prefix + tag)
        el.text = value
        return el

    def agent(self, parent: etree._Element, tag: str, bic: str | None) -> None:
        fin = self.sub(self.sub(parent, tag), "FinInstnId")
        if bic:
            self.text(fin, self.bic_tag, bic)
        else:
            self.text(self.sub(fin, "Othr"), "Id", "NOTPROVIDED")

    def block_head(self, block: PaymentBlock, creditor: Creditor) -> list[etree._Element]:
        out: list[etree._Element] = []

        def top(tag: str, value: str | None = None) -> etree._Element:
            el = self.root(tag)
            if value is not None:
                el.text = value
            out.append(el)
            return el

        top("PmtInfId", block.payment_info_id)
        top("PmtMtd", "DD")
        top("NbOfTxs", str(len(block.transactions)))
        top("CtrlSum", amount_text(sum(t.amount_minor for t in block.transactions)))
        tp = top("PmtTpInf")
        self.text(self.sub(tp, "SvcLvl"), "Cd", "SEPA")
        self.text(self.sub(tp, "LclInstrm"), "Cd", "CORE")
        self.text(tp, "SeqTp", block.sequence_type)
        top("ReqdColltnDt", block.due_on.isoformat())
        self.text(top("Cdtr"), "Nm", transliterate(creditor.name, 70))
        self.text(self.sub(top("CdtrAcct"), "Id"), "IBAN", creditor.iban)
        agent = top("CdtrAgt")
        fin = self.sub(agent, "FinInstnId")
        if creditor.bic:
            self.text(fin, self.bic_tag, creditor.bic)
        else:
            self.text(self.sub(fin, "Othr"), "Id", "NOTPROVIDED")
        top("ChrgBr", "SLEV")
        othr = self.sub(self.sub(self.sub(top("CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
        self.text(othr, "Id", creditor.creditor_id)
        self.text(self.sub(othr, "SchmeNm"), "Prtry", "SEPA")
        return out

    def transaction(self, tx: DebitTx) -> etree._Element:
        el = self.root("DrctDbtTxInf")
        self.text(self.sub(el, "PmtId"), "EndToEndId", tx.end_to_end_id)
        self.text(el, "InstdAmt", amount_text(tx.amount_minor)).set("Ccy", "EUR")
        mri = self.sub(self.sub(el, "DrctDbtTx"), "MndtRltdInf")
        self.text(mri, "MndtId", tx.mandate_reference)
        self.text(mri, "DtOfSgntr", tx.signed_on.isoformat())
        if tx.original_reference or tx.original_iban or tx.amended_to_other_bank:
            self.text(mri, "AmdmntInd", "true")
            det = self.sub(mri, "AmdmntInfDtls")
            if tx.original_reference:
                self.text(det, "OrgnlMndtId", tx.original_reference)
            if tx.amended_to_other_bank:  # the debtor moved to another bank: the original agent is SMNDA
                othr = self.sub(self.sub(self.sub(det, "OrgnlDbtrAgt"), "FinInstnId"), "Othr")
                self.text(othr, "Id", "SMNDA")
            elif tx.original_iban:
                self.text(self.sub(self.sub(det, "OrgnlDbtrAcct"), "Id"), "IBAN", tx.original_iban)
        else:
            self.text(mri, "AmdmntInd", "false")
        self.agent(el, "DbtrAgt", tx.debtor_bic)
        self.text(self.sub(el, "Dbtr"), "Nm", transliterate(tx.debtor_name, 70) or "NOTPROVIDED")
        self.text(self.sub(self.sub(el, "DbtrAcct"), "Id"), "IBAN", tx.debtor_iban)
        if tx.remittance:
            self.text(self.sub(el, "RmtInf"), "Ustrd", transliterate(tx.remittance, 140))
        return el


@lru_cache(maxsize=4)
def schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{version}.xsd")))


def validate(content: bytes, version: str = "pain.008.001.02") -> list[Problem]:
    """Problems of ``content`` against the official XSD, plus the control-sum checks the XSD cannot do."""
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    try:
        doc = etree.parse(BytesIO(content), parser)
    except etree.XMLSyntaxError as exc:
        return [Problem("xml", str(exc))]
    xsd = schema(version)
    if not xsd.validate(doc):
        return [Problem(f"line {e.line}", e.message) for e in list(xsd.error_log)[:50]]
    return check_sums(doc, version)


def check_sums(doc: etree._ElementTree, version: str) -> list[Problem]:
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}
    problems: list[Problem] = []
    n_all = 0
    sum_all = 0
    for block in doc.iterfind(".//p:PmtInf", ns):
        amounts = [_minor(a.text or "") for a in block.iterfind("p:DrctDbtTxInf/p:InstdAmt", ns)]
        pid = block.findtext("p:PmtInfId", namespaces=ns)
        if int(block.findtext("p:NbOfTxs", namespaces=ns) or -1) != len(amounts):
            problems.append(Problem(f"PmtInf {pid}", "NbOfTxs does not match the transactions"))
        if _minor(block.findtext("p:CtrlSum", namespaces=ns) or "") != sum(amounts):
            problems.append(Problem(f"PmtInf {pid}", "CtrlSum does not match the transactions"))
        n_all += len(amounts)
        sum_all += sum(amounts)
    if int(doc.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) or -1) != n_all:
        problems.append(Problem("GrpHdr", "NbOfTxs does not match the transactions"))
    if _minor(doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) or "") != sum_all:
        problems.append(Problem("GrpHdr", "CtrlSum does not match the transactions"))
    return problems


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
