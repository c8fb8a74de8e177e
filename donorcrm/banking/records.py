"""Plain values read from a bank file: statements, entries, transaction details, and the lines we reconcile.

No lxml element leaves the reader; everything downstream (matching rules, service, reports) works on these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from donorcrm.money import Money


@dataclass(frozen=True, slots=True)
class Party:
    name: str | None = None
    iban: str | None = None
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionDetails:
    """One TxDtls: a single payment inside an entry (a batch entry holds several)."""

    amount: Money | None = None
    credit: bool | None = None
    acct_svcr_ref: str | None = None
    msg_id: str | None = None
    pmt_inf_id: str | None = None
    instr_id: str | None = None
    end_to_end_id: str | None = None
    tx_id: str | None = None
    mandate_id: str | None = None
    debtor: Party = field(default_factory=Party)
    creditor: Party = field(default_factory=Party)
    ultimate_debtor: str | None = None
    remittance: str = ""  # unstructured lines joined by a space
    structured_ref: str | None = None  # CdtrRefInf/Ref (e.g. an ISO 11649 RF reference)
    return_reason: str | None = None
    return_info: str | None = None
    bank_tx_code: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    msg_id: str | None = None
    pmt_inf_id: str | None = None
    count: int | None = None
    total: Money | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One Ntry: what the bank booked on the account, possibly a batch of many payments."""

    amount: Money
    credit: bool
    reversal: bool
    status: str
    booked_on: dt.date | None
    value_on: dt.date | None
    acct_svcr_ref: str | None
    entry_ref: str | None
    bank_tx_code: str | None  # "PMNT/RCDT/ESCT" (ISO domain/family/sub-family) or the proprietary code
    proprietary_code: str | None
    additional_info: str | None
    batches: tuple[Batch, ...]
    transactions: tuple[TransactionDetails, ...]
    line: int  # source line of <Ntry>, for messages
    index: int  # position within its statement (0-based)
    fingerprint: str  # sha1 of the entry's canonical XML, identity when the bank gives no reference

    @property
    def signed(self) -> Money:
        return self.amount if self.credit else -self.amount

    @property
    def identity(self) -> str:
        """Unique within its statement: the bank's reference, else a hash of the entry and its position."""
        return _identity(self.acct_svcr_ref, self.fingerprint, self.index)


def _identity(acct_svcr_ref: str | None, fingerprint: str, index: int) -> str:
    if acct_svcr_ref:
        return f"r:{acct_svcr_ref}"
    return f"h:{fingerprint[:16]}:{index}"


# The same values as plain named tuples: what a bulk import reads, since building a hundred thousand frozen
# dataclasses costs more than reading the file. Field names and order match Party, TransactionDetails,
# Batch and Entry, so line_values takes either, and the reader fills both from one extraction.
class PartyValues(NamedTuple):
    name: str | None
    iban: str | None


class TxValues(NamedTuple):
    amount: Money | None
    credit: bool | None
    acct_svcr_ref: str | None
    msg_id: str | None
    pmt_inf_id: str | None
    instr_id: str | None
    end_to_end_id: str | None
    tx_id: str | None
    mandate_id: str | None
    debtor: PartyValues
    creditor: PartyValues
    ultimate_debtor: str | None
    remittance: str
    structured_ref: str | None
    return_reason: str | None
    return_info: str | None
    bank_tx_code: str | None
    additional_info: str | None

    def details(self) -> TransactionDetails:
        return TransactionDetails(*self[:9], Party(*self.debtor), Party(*self.creditor), *self[11:])  # type: ignore[arg-type]


class BatchValues(NamedTuple):
    msg_id: str | None
    pmt_inf_id: str | None
    count: int | None  # type: ignore[assignment]  # shadows tuple.count, as Batch's field is named
    total: Money | None


class EntryValues(NamedTuple):
    amount: Money
    credit: bool
    reversal: bool
    status: str
    booked_on: dt.date | None
    value_on: dt.date | None
    acct_svcr_ref: str | None
    entry_ref: str | None
    bank_tx_code: str | None
    proprietary_code: str | None
    additional_info: str | None
    batches: tuple[BatchValues, ...]
    transactions: tuple[TxValues, ...]
    line: int
    index: int  # type: ignore[assignment]  # shadows tuple.index, as Entry's field is named
    fingerprint: str

    @property
    def signed(self) -> Money:
        return self.amount if self.credit else -self.amount

    @property
    def identity(self) -> str:
        return _identity(self.acct_svcr_ref, self.fingerprint, self.index)

    def entry(self) -> Entry:
        return Entry(*self[:11], tuple(Batch(*b) for b in self.batches),  # type: ignore[arg-type]
                     tuple(t.details() for t in self.transactions), *self[13:])  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Balance:
    code: str  # OPBD, PRCD, CLBD, CLAV, ...
    amount: Money  # signed: debit balances negative
    on: dt.date | None


@dataclass(frozen=True, slots=True)
class Statement:
    """One Stmt (camt.053), Rpt (camt.052) or Ntfctn (camt.054) with all its entries."""

    message: str  # "camt.053", "camt.054", "camt.052"
    version: str  # "001.02", "001.08", ...
    message_id: str | None
    statement_id: str
    electronic_seq: str | None
    legal_seq: str | None
    created: str | None  # as written by the bank; part of the identity when no sequence number is given
    created_at: dt.datetime | None
    account_iban: str | None
    account_other: str | None
    currency: str | None
    from_date: dt.date | None
    to_date: dt.date | None
    balances: tuple[Balance, ...]
    entries: tuple[Entry, ...]
    line: int

    @property
    def account(self) -> str:
        return self.account_iban or self.account_other or "?"

    @property
    def identity(self) -> str:
        """Account + statement id + (sequence number or creation time): what makes a re-import a no-op."""
        seq = self.electronic_seq or self.legal_seq or self.created or ""
        return f"{self.message}|{self.account}|{self.statement_id}|{seq}"

    @property
    def identity_hash(self) -> str:
        return hashlib.sha1(self.identity.encode()).hexdigest()[:20]

    def balance(self, *codes: str) -> Balance | None:
        for code in codes:
            for bal in self.balances:
                if bal.code == code:
                    return bal
        return None


@dataclass(frozen=True, slots=True)
class Line:
    """The unit of reconciliation: one payment with one amount, signed (credits positive).

    A batch entry whose details add up to the entry becomes one line per detail; otherwise the
    entry is one line. So the lines of a statement always add up to its entries.
    """

    entry_identity: str
    tx_index: int  # 0 for single-payment entries
    amount: Money  # signed
    booked_on: dt.date | None
    value_on: dt.date | None
    reversal: bool
    bank_tx_code: str | None
    end_to_end_id: str | None
    mandate_id: str | None
    batch_ref: str | None  # PmtInfId (or batch MsgId) of a batch booked as one entry
    batch_count: int | None
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str
    structured_ref: str | None
    return_reason: str | None
    acct_svcr_ref: str | None
    description: str  # what a person reads in the suspense queue


AnyEntry = Entry | EntryValues
AnyTx = TransactionDetails | TxValues
AnyParty = Party | PartyValues


def _counterparty(tx: AnyTx, credit: bool, own_iban: str | None, is_return: bool) -> AnyParty:
    """The party that is not us: whose account differs from ours, else by direction."""
    if own_iban:
        if tx.creditor.iban == own_iban and (tx.debtor.name or tx.debtor.iban):
            return tx.debtor
        if tx.debtor.iban == own_iban and (tx.creditor.name or tx.creditor.iban):
            return tx.creditor
    if credit or is_return:
        return tx.debtor if (tx.debtor.name or tx.debtor.iban) else tx.creditor
    return tx.creditor if (tx.creditor.name or tx.creditor.iban) else tx.debtor


def _is_return(entry: AnyEntry, tx: AnyTx | None) -> bool:
    if tx is not None and tx.return_reason:
        return True
    code = entry.bank_tx_code or ""
    return (not entry.credit) and ("/IDDT/UPDD" in code or "/RDDT/UPDD" in code or entry.reversal)


def lines_of(entry: Entry, own_iban: str | None = None) -> list[Line]:
    """Split an entry into reconciliation lines (see Line)."""
    return [Line(*values) for values in line_values(entry, own_iban)]


def line_values(entry: AnyEntry, own_iban: str | None = None) -> list[tuple[Any, ...]]:
    """The fields of lines_of's Lines as plain tuples, in Line's field order (for bulk inserts).

    Takes an Entry or the reader's EntryValues: the same rules for both.
    """
    txs: Sequence[AnyTx] = entry.transactions
    split = (
        len(txs) > 1
        and all(t.amount is not None and t.amount.currency == entry.amount.currency for t in txs)
        and sum(t.amount.minor for t in txs if t.amount is not None) == entry.amount.minor
    )
    batch = entry.batches[0] if entry.batches else None
    pairs: list[tuple[int, AnyTx | None, Money | None]]
    if split:
        pairs = [(i, t, t.amount) for i, t in enumerate(txs)]
    else:
        pairs = [(0, txs[0] if len(txs) == 1 else None, entry.amount)]
    identity = entry.identity
    out: list[tuple[Any, ...]] = []
    for index, tx, amount in pairs:
        assert amount is not None
        signed = amount if entry.credit else -amount
        is_ret = _is_return(entry, tx)
        party = _counterparty(tx, entry.credit, own_iban, is_ret) if tx is not None else _NOBODY
        batch_ref = (batch.pmt_inf_id or batch.msg_id) if batch else None
        batch_count = None
        if not split and (batch is not None or len(txs) > 1):
            if batch_ref is None and txs:
                batch_ref = txs[0].pmt_inf_id
            batch_count = (batch.count if batch else None) or (len(txs) or None)
        remittance = tx.remittance if tx is not None else ""
        texts = [party.name or "", remittance, (tx.additional_info if tx else None) or "", entry.additional_info or ""]
        out.append((
            identity,  # entry_identity
            index,  # tx_index
            signed,  # amount
            entry.booked_on,
            entry.value_on,
            entry.reversal,
            tx.bank_tx_code if tx is not None and tx.bank_tx_code else entry.bank_tx_code,
            _clean_ref(tx.end_to_end_id) if tx is not None else None,
            tx.mandate_id if tx is not None else None,
            batch_ref,
            batch_count,
            party.name,  # counterparty_name
            party.iban,  # counterparty_iban
            remittance,
            tx.structured_ref if tx is not None else None,
            tx.return_reason if tx is not None else None,
            tx.acct_svcr_ref if tx is not None and tx.acct_svcr_ref else entry.acct_svcr_ref,
            " · ".join(filter(None, texts))[:500],  # description
        ))
    return out


_NOBODY = Party()


def _clean_ref(ref: str | None) -> str | None:
    """NOTPROVIDED is the scheme's placeholder for an absent end-to-end id, not a reference."""
    if ref is None or ref.strip().upper() in {"NOTPROVIDED", "NOT PROVIDED", ""}:
        return None
    return ref.strip()
