"""Streaming reader of ISO 20022 cash-management messages: camt.053 statements, camt.054 notifications
(and camt.052 reports, which share the structure), any version from .001.02 on.

lxml ``iterparse`` hands over one entry at a time, which is turned into plain values and dropped from
the tree, so memory stays flat for statements with a hundred thousand entries. Anything that does not
follow the format raises ``CamtError`` naming the element and the line at fault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from lxml import etree

from donorcrm.errors import FileFormatError, MoneyError
from donorcrm.money import MINOR_UNITS, Money

from .records import Balance, Batch, Entry, Party, Statement, TransactionDetails

_NS_RE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.(\d{3}\.\d{2})$")
_CONTAINER = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
              "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}
_FRACTION = re.compile(r"(\.\d{6})\d+")
# Only these elements reach Python during parsing; everything inside an entry is read when the entry ends.
_TAGS = ("{*}Document", "{*}GrpHdr", "{*}Stmt", "{*}Ntfctn", "{*}Rpt", "{*}Ntry")
_AMOUNT = re.compile(r"(\d{1,18})(?:\.(\d{1,5}))?")
# Subtrees that say nothing reconciliation needs (addresses, agents, charges, card data...): not walked.
_SKIP = frozenset({
    "PstlAdr", "RltdAgts", "Avlbty", "Chrgs", "Intrst", "Tax", "RltdPric", "RltdQties", "FinInstrmId", "CorpActn",
    "SfkpgAcct", "CshDpst", "CardTx", "SplmtryData", "CtctDtls", "TechInptChanl", "Envlp", "PrvtId", "OrgId",
    "CcyXchg", "RltdDts", "LclInstrm", "Purp", "RltdRmtInf",
})
_MULTI = frozenset({"Ustrd", "AddtlInf"})


class CamtError(FileFormatError):
    """A camt file that cannot be read; says which element on which line."""

    def __init__(self, what: str, *, element: str | None = None, line: int | None = None) -> None:
        where = " ".join(p for p in (f"line {line}" if line else None, f"<{element}>" if element else None) if p)
        super().__init__(f"{where}: {what}" if where else what)
        self.element, self.line, self.what = element, line, what


Source = str | Path | bytes | IO[bytes]


def _open(source: Source) -> IO[bytes] | str:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, Path):
        return str(source)
    return source


def read_statements(source: Source) -> Iterator[Statement]:
    """Yield each statement (or notification) of a camt file, entries included, reading as it goes."""
    reader = _Reader()
    try:
        context = etree.iterparse(
            _open(source), events=("start", "end"), tag=_TAGS, resolve_entities=False, no_network=True,
            huge_tree=True, remove_comments=True, remove_pis=True, load_dtd=False,
        )
        for event, elem in context:
            yield from reader.feed(event, elem)
    except etree.XMLSyntaxError as exc:
        msg = re.sub(r", line \d+, column \d+$", "", exc.msg or "syntax error")
        raise CamtError(f"not well-formed XML: {msg}", line=exc.lineno) from None
    if reader.ns is None:
        root = getattr(context, "root", None)
        name = _local(root.tag) if root is not None else None
        raise CamtError(f"not a camt.052/053/054 document (root <{name}>)" if name else "empty document",
                        element=name, line=root.sourceline if root is not None else None)
    if reader.statements == 0:
        raise CamtError(f"no <{reader.block}> in the file", element=reader.block, line=reader.root_line)


def read_file(source: Source) -> list[Statement]:
    """All statements of a file; the whole file is checked before anything is returned."""
    return list(read_statements(source))


class _Reader:
    def __init__(self) -> None:
        self.ns: str | None = None
        self.message = ""
        self.version = ""
        self.block = "Stmt"
        self.root_line: int | None = None
        self.message_id: str | None = None
        self.entries: list[Entry] = []
        self.statements = 0

    # -- dispatch ---------------------------------------------------------------------------------
    def feed(self, event: str, elem: etree._Element) -> Iterator[Statement]:
        if event == "start":
            if self.ns is None:
                self._root(elem)
            return
        if self.ns is None:
            return
        tag = elem.tag
        if tag == self.t_ntry:
            self.entries.append(self._entry(elem, len(self.entries)))
            elem.clear()
            parent = elem.getparent()
            if parent is not None:
                parent.remove(elem)
        elif tag == self.t_block:
            yield self._statement(elem)
            self.entries = []
            self.statements += 1
            elem.clear()
        elif tag == self.t_grphdr:
            self.message_id = self._text(elem, "MsgId")

    def _root(self, elem: etree._Element) -> None:
        tag = elem.tag if isinstance(elem.tag, str) else ""
        ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        match = _NS_RE.match(ns)
        if local != "Document" or not match:
            raise CamtError(f"not a camt.052/053/054 document (root {local or tag!r} in namespace {ns!r})",
                            element=local or None, line=elem.sourceline)
        self.ns, self.message, self.version = ns, match.group(1), match.group(2)
        self.prefix = "{" + ns + "}"
        self.cut = len(self.prefix)
        self.block = _CONTAINER[self.message][1]
        self.root_line = elem.sourceline
        self.t_ntry, self.t_block, self.t_grphdr = self.prefix + "Ntry", self.prefix + self.block, self.prefix + "GrpHdr"

    # -- helpers ----------------------------------------------------------------------------------
    def _q(self, path: str) -> str:
        p = self.prefix
        return "/".join(p + part for part in path.split("/"))

    def _find(self, elem: etree._Element, path: str) -> etree._Element | None:
        return elem.find(self._q(path))

    def _text(self, elem: etree._Element, path: str) -> str | None:
        text = elem.findtext(self._q(path))
        if text is None:
            return None
        text = text.strip()
        return text or None

    def _required(self, elem: etree._Element, path: str) -> str:
        value = self._text(elem, path)
        if value is None:
            raise CamtError(f"missing <{path}>", element=_local(elem.tag), line=elem.sourceline)
        return value

    def _money(self, amt: etree._Element | None, parent: etree._Element, what: str) -> Money:
        if amt is None:
            raise CamtError(f"missing <{what}>", element=_local(parent.tag), line=parent.sourceline)
        ccy = amt.get("Ccy")
        text = (amt.text or "").strip()
        if not ccy:
            raise CamtError("amount without Ccy attribute", element=what, line=amt.sourceline)
        exp = MINOR_UNITS.get(ccy)
        plain = _AMOUNT.fullmatch(text) if exp is not None else None
        if plain is not None and exp is not None and len(plain.group(2) or "") <= exp:  # the usual "1234.50": no Decimal needed
            frac = (plain.group(2) or "").ljust(exp, "0")
            return Money(int(plain.group(1)) * 10**exp + (int(frac) if frac else 0), ccy)
        try:
            value = Decimal(text)
            if value < 0 or not value.is_finite():
                raise InvalidOperation
            return Money.from_decimal(value, ccy)
        except (InvalidOperation, ValueError, MoneyError) as exc:
            detail = str(exc) if isinstance(exc, MoneyError) else f"not an amount: {text!r}"
            raise CamtError(detail, element=what, line=amt.sourceline) from None

    def _credit(self, elem: etree._Element, path: str = "CdtDbtInd", required: bool = True) -> bool | None:
        value = self._text(elem, path)
        if value is None and not required:
            return None
        if value not in ("CRDT", "DBIT"):
            at = self._find(elem, path)
            raise CamtError(f"CdtDbtInd must be CRDT or DBIT, got {value!r}", element="CdtDbtInd",
                            line=(at.sourceline if at is not None else elem.sourceline))
        return value == "CRDT"

    def _date(self, elem: etree._Element, path: str) -> dt.date | None:
        holder = self._find(elem, path)
        if holder is None:
            return None
        text = self._text(holder, "Dt") or self._text(holder, "DtTm")
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            raise CamtError(f"not a date: {text!r}", element=_local(holder.tag), line=holder.sourceline) from None

    def _party(self, rltd: etree._Element | None, role: str) -> Party:
        if rltd is None:
            return Party()
        name = self._text(rltd, f"{role}/Nm") or self._text(rltd, f"{role}/Pty/Nm")
        iban = self._text(rltd, f"{role}Acct/Id/IBAN")
        return Party(name=name, iban=iban.replace(" ", "").upper() if iban else None)

    def _bank_code(self, elem: etree._Element) -> tuple[str | None, str | None]:
        bk = self._find(elem, "BkTxCd")
        if bk is None:
            return None, None
        domain = self._text(bk, "Domn/Cd")
        family = self._text(bk, "Domn/Fmly/Cd")
        sub = self._text(bk, "Domn/Fmly/SubFmlyCd")
        prop = self._text(bk, "Prtry/Cd")
        iso = "/".join(p for p in (domain, family, sub) if p) or None
        return iso or prop, prop

    # -- blocks -----------------------------------------------------------------------------------
    def _flat(self, elem: etree._Element, skip: str | None = None) -> tuple[dict[str, str], dict[str, etree._Element]]:
        """Leaf texts of a subtree by relative path ("Refs/EndToEndId") in one walk; amounts keep their element.

        Repeated free-text elements (Ustrd, AddtlInf) are joined with a space; for others the first counts.
        """
        values: dict[str, str] = {}
        amounts: dict[str, etree._Element] = {}
        prefix, cut = self.prefix, self.cut
        path: list[str] = []
        walker = etree.iterwalk(elem, events=("start", "end"))
        next(walker)  # the element itself
        for event, node in walker:
            if event == "end":
                if not path:
                    break
                here = path.pop()
                if here and not len(node):
                    if here.endswith("Amt") and here not in amounts:
                        amounts[here] = node
                    text = node.text
                    if text is not None and (text := text.strip()):
                        if here not in values:
                            values[here] = text
                        elif here.rsplit("/", 1)[-1] in _MULTI:
                            values[here] += " " + text
                continue
            tag = node.tag
            name = tag[cut:] if isinstance(tag, str) and tag.startswith(prefix) else None
            if name is None or name == skip or name in _SKIP:
                walker.skip_subtree()
                path.append("")
                continue
            path.append(f"{path[-1]}/{name}" if path and path[-1] else name)
        return values, amounts

    def _credit_of(self, value: str | None, elem: etree._Element, required: bool = True) -> bool | None:
        if value is None and not required:
            return None
        if value not in ("CRDT", "DBIT"):
            at = elem.find(self._q("CdtDbtInd"))
            raise CamtError(f"CdtDbtInd must be CRDT or DBIT, got {value!r}", element="CdtDbtInd",
                            line=(at.sourceline if at is not None else elem.sourceline))
        return value == "CRDT"

    def _day(self, v: dict[str, str], holder: str, elem: etree._Element) -> dt.date | None:
        text = v.get(holder + "/Dt") or v.get(holder + "/DtTm")
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            at = elem.find(self._q(holder))
            raise CamtError(f"not a date: {text!r}", element=holder,
                            line=at.sourceline if at is not None else elem.sourceline) from None

    @staticmethod
    def _code(v: dict[str, str], base: str = "BkTxCd/") -> tuple[str | None, str | None]:
        parts = [v.get(base + "Domn/Cd"), v.get(base + "Domn/Fmly/Cd"), v.get(base + "Domn/Fmly/SubFmlyCd")]
        prop = v.get(base + "Prtry/Cd")
        iso = "/".join(p for p in parts if p) or None
        return iso or prop, prop

    def _transaction(self, tx: etree._Element) -> TransactionDetails:
        v, amts = self._flat(tx)
        amt = None
        for path in ("Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt", "AmtDtls/CntrValAmt/Amt"):
            amt = amts.get(path)
            if amt is not None:
                break
        amount = self._money(amt, tx, "Amt") if amt is not None else None

        def party(role: str) -> Party:
            iban = v.get(f"RltdPties/{role}Acct/Id/IBAN")
            return Party(name=v.get(f"RltdPties/{role}/Nm") or v.get(f"RltdPties/{role}/Pty/Nm"),
                         iban=iban.replace(" ", "").upper() if iban else None)

        code, _ = self._code(v)
        return TransactionDetails(
            amount=amount,
            credit=self._credit_of(v.get("CdtDbtInd"), tx, required=False),
            acct_svcr_ref=v.get("Refs/AcctSvcrRef"), msg_id=v.get("Refs/MsgId"), pmt_inf_id=v.get("Refs/PmtInfId"),
            instr_id=v.get("Refs/InstrId"), end_to_end_id=v.get("Refs/EndToEndId"), tx_id=v.get("Refs/TxId"),
            mandate_id=v.get("Refs/MndtId"),
            debtor=party("Dbtr"), creditor=party("Cdtr"),
            ultimate_debtor=v.get("RltdPties/UltmtDbtr/Nm") or v.get("RltdPties/UltmtDbtr/Pty/Nm"),
            remittance=v.get("RmtInf/Ustrd", ""),
            structured_ref=v.get("RmtInf/Strd/CdtrRefInf/Ref"),
            return_reason=v.get("RtrInf/Rsn/Cd") or v.get("RtrInf/Rsn/Prtry"),
            return_info=v.get("RtrInf/AddtlInf"),
            bank_tx_code=code,
            additional_info=v.get("AddtlTxInf"),
        )

    def _entry(self, ntry: etree._Element, index: int) -> Entry:
        v, amts = self._flat(ntry, skip="NtryDtls")
        amount = self._money(amts.get("Amt"), ntry, "Amt")
        credit = self._credit_of(v.get("CdtDbtInd"), ntry)
        rvsl = v.get("RvslInd", "false").lower() in ("true", "1")
        status = v.get("Sts/Cd") or v.get("Sts/Prtry") or v.get("Sts") or "BOOK"
        batches: list[Batch] = []
        txs: list[TransactionDetails] = []
        for dtls in ntry.iterchildren(self.prefix + "NtryDtls"):
            for btch in dtls.iterchildren(self.prefix + "Btch"):
                bv, bamts = self._flat(btch)
                count = bv.get("NbOfTxs")
                total_el = bamts.get("TtlAmt")
                batches.append(Batch(
                    msg_id=bv.get("MsgId"), pmt_inf_id=bv.get("PmtInfId"),
                    count=int(count) if count and count.isdigit() else None,
                    total=self._money(total_el, btch, "TtlAmt") if total_el is not None else None,
                ))
            for tx in dtls.iterchildren(self.prefix + "TxDtls"):
                txs.append(self._transaction(tx))
        code, prop = self._code(v)
        acct_ref = v.get("AcctSvcrRef")
        fingerprint = "" if acct_ref else hashlib.sha1(etree.tostring(ntry, method="c14n")).hexdigest()
        return Entry(
            amount=amount, credit=bool(credit), reversal=rvsl, status=status,
            booked_on=self._day(v, "BookgDt", ntry), value_on=self._day(v, "ValDt", ntry),
            acct_svcr_ref=acct_ref, entry_ref=v.get("NtryRef"),
            bank_tx_code=code, proprietary_code=prop, additional_info=v.get("AddtlNtryInf"),
            batches=tuple(batches), transactions=tuple(txs), line=ntry.sourceline or 0, index=index,
            fingerprint=fingerprint,
        )

    def _statement(self, stmt: etree._Element) -> Statement:
        statement_id = self._required(stmt, "Id")
        acct = self._find(stmt, "Acct")
        if acct is None:
            raise CamtError("missing <Acct>", element=self.block, line=stmt.sourceline)
        iban = self._text(acct, "Id/IBAN")
        other = self._text(acct, "Id/Othr/Id")
        if not iban and not other:
            raise CamtError("account has no IBAN nor other id", element="Acct", line=acct.sourceline)
        balances: list[Balance] = []
        for bal in stmt.iterchildren(self.prefix + "Bal"):
            code = self._text(bal, "Tp/CdOrPrtry/Cd") or self._text(bal, "Tp/CdOrPrtry/Prtry") or "?"
            money = self._money(self._find(bal, "Amt"), bal, "Amt")
            credit = self._credit(bal)
            balances.append(Balance(code=code, amount=money if credit else -money, on=self._date(bal, "Dt")))
        created = self._text(stmt, "CreDtTm")
        return Statement(
            message=self.message, version=self.version, message_id=self.message_id,
            statement_id=statement_id, electronic_seq=self._text(stmt, "ElctrncSeqNb"),
            legal_seq=self._text(stmt, "LglSeqNb"), created=created, created_at=_datetime(created),
            account_iban=iban.replace(" ", "").upper() if iban else None, account_other=other,
            currency=self._text(acct, "Ccy"),
            from_date=_date_of(self._text(stmt, "FrToDt/FrDtTm")), to_date=_date_of(self._text(stmt, "FrToDt/ToDtTm")),
            balances=tuple(balances), entries=tuple(self.entries), line=stmt.sourceline or 0,
        )


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "?"


def _datetime(text: str | None) -> dt.datetime | None:
    """Bank timestamps carry up to nanoseconds and sometimes no zone; naive ones are read as UTC."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace("Z", "+00:00")))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _date_of(text: str | None) -> dt.date | None:
    stamp = _datetime(text)
    return stamp.date() if stamp else None
