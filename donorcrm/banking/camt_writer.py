"""Writes camt.053 statements (versions 001.02 and 001.08) from the reader's own values.

Used to build test statements with known truth, the demo organisation's statements and the benchmark
file; output validates against the official ISO 20022 schemas. Text is written directly (no tree), so a
statement with a hundred thousand entries takes little memory and time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape, quoteattr

from donorcrm.money import Money

from .records import Balance, Entry, Party, Statement, TransactionDetails

VERSIONS = ("001.02", "001.08")


def _amt(tag: str, money: Money) -> str:
    return f"<{tag} Ccy={quoteattr(money.currency)}>{money.to_string()}</{tag}>"


def _t(tag: str, value: object | None, size: int = 140) -> str:
    if value is None or value == "":
        return ""
    return f"<{tag}>{escape(str(value)[:size])}</{tag}>"


def _bank_code(code: str | None, proprietary: str | None) -> str:
    parts = (code or "").split("/")
    domain = ""
    if len(parts) == 3 and all(len(p) == 4 for p in parts):
        domain = (f"<Domn><Cd>{parts[0]}</Cd><Fmly><Cd>{parts[1]}</Cd>"
                  f"<SubFmlyCd>{parts[2]}</SubFmlyCd></Fmly></Domn>")
    prop = f"<Prtry><Cd>{escape(proprietary)}</Cd></Prtry>" if proprietary else ""
    return f"<BkTxCd>{domain}{prop}</BkTxCd>"


class _Writer:
    def __init__(self, version: str) -> None:
        if version not in VERSIONS:
            raise ValueError(f"camt.053 version {version} is not written; choose one of {VERSIONS}")
        self.v8 = version == "001.08"
        self.ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.{version}"

    def party(self, role: str, party: Party) -> str:
        if not party.name and not party.iban:
            return ""
        name = _t("Nm", party.name)
        body = (f"<{role}><Pty>{name}</Pty></{role}>" if self.v8 else f"<{role}>{name}</{role}>") if party.name else ""
        acct = f"<{role}Acct><Id><IBAN>{party.iban}</IBAN></Id></{role}Acct>" if party.iban else ""
        return body + acct

    def tx(self, tx: TransactionDetails, entry: Entry) -> str:
        refs = "".join((
            _t("MsgId", tx.msg_id, 35), _t("AcctSvcrRef", tx.acct_svcr_ref, 35), _t("PmtInfId", tx.pmt_inf_id, 35),
            _t("InstrId", tx.instr_id, 35), _t("EndToEndId", tx.end_to_end_id, 35), _t("TxId", tx.tx_id, 35),
            _t("MndtId", tx.mandate_id, 35),
        ))
        out = ["<TxDtls>"]
        if refs:
            out.append(f"<Refs>{refs}</Refs>")
        if tx.amount is not None:
            if self.v8:
                ind = "" if tx.credit is None else f"<CdtDbtInd>{'CRDT' if tx.credit else 'DBIT'}</CdtDbtInd>"
                out.append(_amt("Amt", tx.amount) + ind)
            else:
                out.append(f"<AmtDtls><TxAmt>{_amt('Amt', tx.amount)}</TxAmt></AmtDtls>")
        if tx.bank_tx_code:
            iso = _bank_code(tx.bank_tx_code, None)
            out.append(iso if "<Domn>" in iso else _bank_code(None, tx.bank_tx_code))
        ultimate = ""
        if tx.ultimate_debtor:
            name = _t("Nm", tx.ultimate_debtor)
            ultimate = f"<UltmtDbtr><Pty>{name}</Pty></UltmtDbtr>" if self.v8 else f"<UltmtDbtr>{name}</UltmtDbtr>"
        parties = self.party("Dbtr", tx.debtor) + ultimate + self.party("Cdtr", tx.creditor)
        if parties:
            out.append(f"<RltdPties>{parties}</RltdPties>")
        if tx.remittance or tx.structured_ref:
            rmt = _t("Ustrd", tx.remittance)
            if tx.structured_ref:
                rmt += (f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                        f"<Ref>{escape(tx.structured_ref[:35])}</Ref></CdtrRefInf></Strd>")
            out.append(f"<RmtInf>{rmt}</RmtInf>")
        if tx.return_reason:
            out.append(f"<RtrInf><Rsn><Cd>{escape(tx.return_reason)}</Cd></Rsn>{_t('AddtlInf', tx.return_info, 105)}</RtrInf>")
        out.append(_t("AddtlTxInf", tx.additional_info, 500))
        out.append("</TxDtls>")
        return "".join(out)

    def entry(self, e: Entry) -> str:
        status = f"<Sts><Cd>{e.status}</Cd></Sts>" if self.v8 else f"<Sts>{e.status}</Sts>"
        out = [
            "<Ntry>", _t("NtryRef", e.entry_ref, 35), _amt("Amt", e.amount),
            f"<CdtDbtInd>{'CRDT' if e.credit else 'DBIT'}</CdtDbtInd>",
            "<RvslInd>true</RvslInd>" if e.reversal else "", status,
            f"<BookgDt><Dt>{e.booked_on.isoformat()}</Dt></BookgDt>" if e.booked_on else "",
            f"<ValDt><Dt>{e.value_on.isoformat()}</Dt></ValDt>" if e.value_on else "",
            _t("AcctSvcrRef", e.acct_svcr_ref, 35), _bank_code(e.bank_tx_code, e.proprietary_code),
        ]
        if e.batches or e.transactions:
            out.append("<NtryDtls>")
            for b in e.batches:
                out.append("<Btch>" + _t("MsgId", b.msg_id, 35) + _t("PmtInfId", b.pmt_inf_id, 35)
                           + _t("NbOfTxs", b.count) + (_amt("TtlAmt", b.total) if b.total else "")
                           + (f"<CdtDbtInd>{'CRDT' if e.credit else 'DBIT'}</CdtDbtInd>" if b.total else "")
                           + "</Btch>")
            out.extend(self.tx(t, e) for t in e.transactions)
            out.append("</NtryDtls>")
        out.append(_t("AddtlNtryInf", e.additional_info, 500))
        out.append("</Ntry>")
        return "".join(out)

    def balance(self, b: Balance) -> str:
        day = f"<Dt><Dt>{b.on.isoformat()}</Dt></Dt>" if b.on else ""
        return (f"<Bal><Tp><CdOrPrtry><Cd>{b.code}</Cd></CdOrPrtry></Tp>{_amt('Amt', abs(b.amount))}"
                f"<CdtDbtInd>{'DBIT' if b.amount.minor < 0 else 'CRDT'}</CdtDbtInd>{day}</Bal>")

    def statement(self, s: Statement) -> Iterator[str]:
        created = (s.created_at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        span = ""
        if s.from_date and s.to_date:
            span = (f"<FrToDt><FrDtTm>{s.from_date.isoformat()}T00:00:00</FrDtTm>"
                    f"<ToDtTm>{s.to_date.isoformat()}T23:59:59</ToDtTm></FrToDt>")
        acct_id = f"<IBAN>{s.account_iban}</IBAN>" if s.account_iban else f"<Othr><Id>{escape(s.account_other or '')}</Id></Othr>"
        yield ("<Stmt>" + _t("Id", s.statement_id, 35) + _t("ElctrncSeqNb", s.electronic_seq)
               + _t("LglSeqNb", s.legal_seq) + f"<CreDtTm>{created}</CreDtTm>" + span
               + f"<Acct><Id>{acct_id}</Id>" + _t("Ccy", s.currency) + "</Acct>"
               + "".join(self.balance(b) for b in s.balances))
        for e in s.entries:
            yield self.entry(e)
        yield "</Stmt>"


def iter_camt053(statements: Iterable[Statement], *, version: str = "001.02", message_id: str = "DONORCRM",
                 created: dt.datetime | None = None) -> Iterator[str]:
    """The document as text pieces, for writing huge statements to a file as they are made."""
    w = _Writer(version)
    stamp = (created or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    yield (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{w.ns}"><BkToCstmrStmt>'
           f"<GrpHdr>{_t('MsgId', message_id, 35)}<CreDtTm>{stamp}</CreDtTm></GrpHdr>")
    for s in statements:
        yield from w.statement(s)
    yield "</BkToCstmrStmt></Document>\n"


def write_camt053(statements: Sequence[Statement], *, version: str = "001.02", message_id: str = "DONORCRM",
                  created: dt.datetime | None = None) -> bytes:
    return "".join(iter_camt053(statements, version=version, message_id=message_id, created=created)).encode()


def balances_for(entries: Sequence[Entry], opening: Money, on: dt.date) -> tuple[Balance, Balance]:
    """Opening and closing booked balances that agree with the entries."""
    moved = sum(e.signed.minor for e in entries)
    return Balance("OPBD", opening, on), Balance("CLBD", Money(opening.minor + moved, opening.currency), on)
