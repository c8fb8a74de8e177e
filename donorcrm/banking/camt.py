"""Streaming reader of ISO 20022 cash-management messages: camt.053 statements, camt.054 notifications
(and camt.052 reports, which share the structure), any version from .001.02 on.

lxml ``iterparse`` hands over one entry at a time, which is turned into plain values and dropped from
the tree, so memory stays flat for statements with a hundred thousand entries. Anything that does not
follow the format raises ``CamtError`` naming the element and the line at fault.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from lxml import etree

from donorcrm.errors import FileFormatError, MoneyError
from donorcrm.money import MINOR_UNITS, Money

from .records import Balance, BatchValues, EntryValues, PartyValues, Statement, TxValues

_NS_RE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.(\d{3}\.\d{2})$")
_CONTAINER = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
              "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}
_FRACTION = re.compile(r"(\.\d{6})\d+")
# Only these elements reach Python during parsing; everything inside an entry is read when the entry ends.
_TAGS = ("{*}Document", "{*}GrpHdr", "{*}Stmt", "{*}Ntfctn", "{*}Rpt", "{*}Ntry")
_AMOUNT = re.compile(r"(\d{1,18})(?:\.(\d{1,5}))?")
# What reconciliation reads, by path below an entry, a transaction (TxDtls) and a batch (Btch). Nothing
# else is visited: addresses, agents, charges, card data... are never walked.
_ENTRY_PATHS = (
    "Amt", "CdtDbtInd", "RvslInd", "Sts", "Sts/Cd", "Sts/Prtry", "BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt",
    "ValDt/DtTm", "AcctSvcrRef", "NtryRef", "AddtlNtryInf", *(f"BkTxCd/{p}" for p in (
        "Domn/Cd", "Domn/Fmly/Cd", "Domn/Fmly/SubFmlyCd", "Prtry/Cd")),
)
_TX_PATHS = (
    "Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt", "AmtDtls/CntrValAmt/Amt", "CdtDbtInd",
    *(f"Refs/{r}" for r in ("AcctSvcrRef", "MsgId", "PmtInfId", "InstrId", "EndToEndId", "TxId", "MndtId")),
    *(f"RltdPties/{p}" for p in ("Dbtr/Nm", "Dbtr/Pty/Nm", "Cdtr/Nm", "Cdtr/Pty/Nm", "DbtrAcct/Id/IBAN",
                                 "CdtrAcct/Id/IBAN", "UltmtDbtr/Nm", "UltmtDbtr/Pty/Nm")),
    "RmtInf/Ustrd", "RmtInf/Strd/CdtrRefInf/Ref", "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry", "RtrInf/AddtlInf",
    "AddtlTxInf", *(f"BkTxCd/{p}" for p in ("Domn/Cd", "Domn/Fmly/Cd", "Domn/Fmly/SubFmlyCd", "Prtry/Cd")),
)
_BATCH_PATHS = ("MsgId", "PmtInfId", "NbOfTxs", "TtlAmt")
_MEMO = 10_000  # distinct amounts and dates remembered per file
_MULTI = frozenset({"Ustrd", "AddtlInf"})  # repeated free text: joined with a space; otherwise the first counts
_PLAIN, _JOINED, _AMT, _HAND_OVER = 0, 1, 2, 3

# A trie node maps a qualified tag to (slot or None, child node or None, how its leaf is read). The slot is
# the leaf's position in its path tuple, so a walk fills a list that unpacks in that order.
Trie = dict[str, tuple[int | None, "Trie | None", int]]


def _trie(prefix: str, paths: Sequence[str], hand_over: Iterable[str] = ()) -> Trie:
    """The paths as nested dicts keyed by qualified tag, so one walk of a subtree finds them all."""
    root: Trie = {}
    for slot, path in enumerate(paths):
        node = root
        parts = path.split("/")
        for depth, part in enumerate(parts):
            tag = prefix + part
            key, sub, mode = node.get(tag, (None, None, _PLAIN))
            if depth == len(parts) - 1:
                node[tag] = (slot, sub, _AMT if part.endswith("Amt") else _JOINED if part in _MULTI else _PLAIN)
            else:
                if sub is None:
                    sub = {}
                node[tag] = (key, sub, mode)
                node = sub
    for name in hand_over:
        root[prefix + name] = (None, None, _HAND_OVER)
    return root


def _collect(elem: etree._Element, trie: Trie, values: list[Any], handed: list[etree._Element] | None = None) -> None:
    """Leaf texts of the trie's paths below elem, in their slots; amount leaves keep their element (for Ccy
    and the line). The first non-empty text counts, except repeated free text, which is joined.

    Only children named in the trie are visited, by direct iteration: no path strings are built and
    subtrees nobody reads are never entered.
    """
    get = trie.get
    for child in elem:
        spec = get(child.tag)  # type: ignore[arg-type]
        if spec is None:
            continue
        slot, sub, mode = spec
        if mode == _HAND_OVER:
            handed.append(child)  # type: ignore[union-attr]
        elif len(child):
            if sub is not None:
                _collect(child, sub, values, handed)
        elif slot is None:
            continue
        elif mode == _AMT:
            if values[slot] is None:
                values[slot] = child
        else:
            text = child.text
            if text is None or not (text := text.strip()):
                continue
            if values[slot] is None:
                values[slot] = text
            elif mode == _JOINED:
                values[slot] += " " + text


@functools.lru_cache(maxsize=16)
def _tries(prefix: str) -> tuple[Trie, Trie, Trie]:
    """Entry (its NtryDtls handed over), transaction and batch tries for one namespace."""
    return _trie(prefix, _ENTRY_PATHS, hand_over=("NtryDtls",)), _trie(prefix, _TX_PATHS), _trie(prefix, _BATCH_PATHS)


def _code(domain: str | None, family: str | None, sub_family: str | None, prop: str | None) -> str | None:
    """Bank transaction code: ISO domain/family/sub-family when given, else the proprietary code."""
    if domain and family and sub_family:
        return f"{domain}/{family}/{sub_family}"
    if domain is None and family is None and sub_family is None:
        return prop
    return "/".join(p for p in (domain, family, sub_family) if p) or prop


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
    for stmt, _ in _read(source, lean=False):
        yield stmt


def read_file(source: Source) -> list[Statement]:
    """All statements of a file; the whole file is checked before anything is returned."""
    return list(read_statements(source))


def read_for_import(source: Source) -> list[tuple[Statement, list[EntryValues]]]:
    """What read_file reads, for bulk imports: each statement (its ``entries`` left empty) with its entries
    as EntryValues, the same values as Entry in plain tuples, which cost far less to make."""
    return list(_read(source, lean=True))


def _read(source: Source, *, lean: bool) -> Iterator[tuple[Statement, list[EntryValues]]]:
    reader = _Reader(lean)
    try:
        context = etree.iterparse(
            _open(source), events=("start", "end"), tag=_TAGS, resolve_entities=False, no_network=True,
            huge_tree=True, remove_comments=True, remove_pis=True, load_dtd=False,
        )
        feed = reader.feed
        for event, elem in context:
            done = feed(event, elem)
            if done is not None:
                yield done
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


class _Reader:
    def __init__(self, lean: bool = False) -> None:
        self.lean = lean  # entries stay EntryValues (read_for_import) instead of becoming Entry objects
        self.ns: str | None = None
        self.message = ""
        self.version = ""
        self.block = "Stmt"
        self.root_line: int | None = None
        self.message_id: str | None = None
        self.entries: list[Any] = []
        self.statements = 0
        self.t_ntry = self.t_block = self.t_grphdr = ""  # nothing matches until the root is known
        self.amounts: dict[tuple[str, str], Money] = {}  # amount text and currency -> Money (immutable, shared)
        self.days: dict[str, dt.date] = {}

    # -- dispatch ---------------------------------------------------------------------------------
    def feed(self, event: str, elem: etree._Element) -> tuple[Statement, list[EntryValues]] | None:
        """Take one parser event; returns a statement when its block ends."""
        if event == "start":
            if self.ns is None:
                self._root(elem)
            return None
        tag = elem.tag
        if tag == self.t_ntry:
            values = self._entry(elem, len(self.entries))
            self.entries.append(values if self.lean else values.entry())
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            if parent is not None:
                parent.remove(elem)  # keeps memory flat: the statement never holds more than one entry
        elif tag == self.t_block:
            stmt = self._statement(elem)
            done = (stmt, self.entries) if self.lean else (stmt, [])
            self.entries = []
            self.statements += 1
            elem.clear()
            return done
        elif tag == self.t_grphdr:
            self.message_id = self._text(elem, "MsgId")
        return None

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
        self.t_btch, self.t_txdtls = self.prefix + "Btch", self.prefix + "TxDtls"
        self.tries = _tries(self.prefix)

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
        known = self.amounts.get((text, ccy))
        if known is not None:  # statements repeat the same few amounts (5.00, 10.00...) thousands of times
            return known
        exp = MINOR_UNITS.get(ccy)
        plain = _AMOUNT.fullmatch(text) if exp is not None else None
        if plain is not None and exp is not None and len(plain.group(2) or "") <= exp:  # the usual "1234.50": no Decimal needed
            frac = (plain.group(2) or "").ljust(exp, "0")
            money = Money(int(plain.group(1)) * 10**exp + (int(frac) if frac else 0), ccy)
            if len(self.amounts) < _MEMO:
                self.amounts[(text, ccy)] = money
            return money
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

    # -- blocks -----------------------------------------------------------------------------------
    def _credit_of(self, value: str | None, elem: etree._Element, required: bool = True) -> bool | None:
        if value is None and not required:
            return None
        if value not in ("CRDT", "DBIT"):
            at = elem.find(self._q("CdtDbtInd"))
            raise CamtError(f"CdtDbtInd must be CRDT or DBIT, got {value!r}", element="CdtDbtInd",
                            line=(at.sourceline if at is not None else elem.sourceline))
        return value == "CRDT"

    def _day(self, text: str | None, holder: str, elem: etree._Element) -> dt.date | None:
        if text is None:
            return None
        day = self.days.get(text)
        if day is not None:
            return day
        try:
            day = dt.date.fromisoformat(text[:10])
            if len(self.days) < _MEMO:
                self.days[text] = day
            return day
        except ValueError:
            at = elem.find(self._q(holder))
            raise CamtError(f"not a date: {text!r}", element=holder,
                            line=at.sourceline if at is not None else elem.sourceline) from None

    def _transaction(self, tx: etree._Element) -> TxValues:
        v: list[Any] = [None] * len(_TX_PATHS)
        _collect(tx, self.tries[1], v)
        (amt, tx_amt, instd_amt, cntr_amt, indicator, acct_ref, msg_id, pmt_inf_id, instr_id, e2e, tx_id, mandate,
         d_nm, d_pty_nm, c_nm, c_pty_nm, d_iban, c_iban, u_nm, u_pty_nm, ustrd, scor, rsn_cd, rsn_prtry, rtr_info,
         addtl, domain, family, sub_family, prop) = v
        if amt is None:  # by preference; elements are never truth-tested: a leaf is falsy in lxml
            amt = tx_amt if tx_amt is not None else instd_amt if instd_amt is not None else cntr_amt
        amount = self._money(amt, tx, "Amt") if amt is not None else None
        return TxValues(
            amount, None if indicator is None else self._credit_of(indicator, tx),
            acct_ref, msg_id, pmt_inf_id, instr_id, e2e, tx_id, mandate,
            PartyValues(d_nm or d_pty_nm, d_iban.replace(" ", "").upper() if d_iban else None),
            PartyValues(c_nm or c_pty_nm, c_iban.replace(" ", "").upper() if c_iban else None),
            u_nm or u_pty_nm, ustrd or "", scor, rsn_cd or rsn_prtry, rtr_info,
            _code(domain, family, sub_family, prop), addtl,
        )

    def _batch(self, btch: etree._Element) -> BatchValues:
        bv: list[Any] = [None] * len(_BATCH_PATHS)
        _collect(btch, self.tries[2], bv)
        msg_id, pmt_inf_id, count, total_el = bv
        return BatchValues(
            msg_id, pmt_inf_id, int(count) if count and count.isdigit() else None,
            self._money(total_el, btch, "TtlAmt") if total_el is not None else None,
        )

    def _entry(self, ntry: etree._Element, index: int) -> EntryValues:
        v: list[Any] = [None] * len(_ENTRY_PATHS)
        details: list[etree._Element] = []
        _collect(ntry, self.tries[0], v, details)
        (amt, indicator, rvsl, sts, sts_cd, sts_prtry, bookg_dt, bookg_dttm, val_dt, val_dttm, acct_ref, entry_ref,
         addtl, domain, family, sub_family, prop) = v
        amount = self._money(amt, ntry, "Amt")
        credit = self._credit_of(indicator, ntry)
        batches: list[BatchValues] = []
        txs: list[TxValues] = []
        t_btch, t_tx = self.t_btch, self.t_txdtls
        for dtls in details:
            for child in dtls:
                tag = child.tag
                if tag == t_tx:
                    txs.append(self._transaction(child))
                elif tag == t_btch:
                    batches.append(self._batch(child))
        fingerprint = "" if acct_ref else hashlib.sha1(etree.tostring(ntry, method="c14n")).hexdigest()
        return EntryValues(
            amount, bool(credit), (rvsl or "false").lower() in ("true", "1"), sts_cd or sts_prtry or sts or "BOOK",
            self._day(bookg_dt or bookg_dttm, "BookgDt", ntry), self._day(val_dt or val_dttm, "ValDt", ntry),
            acct_ref, entry_ref, _code(domain, family, sub_family, prop), prop, addtl,
            tuple(batches), tuple(txs), ntry.sourceline or 0, index, fingerprint,
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
            balances=tuple(balances), entries=() if self.lean else tuple(self.entries), line=stmt.sourceline or 0,
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
