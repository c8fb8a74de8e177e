"""Returned and rejected debits: pain.002 status reports and camt.054 debit notifications, read with
lxml's streaming iterparse (a bank's file may hold many thousands), and the service that applies the
return policy to a collection.

Importing the same file twice changes nothing: a collection is returned once (unique sepa_return row)
and its gift reverses once.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lxml import etree
from sqlalchemy import select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.commitments.models import Commitment, CommitmentStatus
from donorcrm.config import Settings, get_settings
from donorcrm.db import session_scope, utcnow
from donorcrm.donors.service import mark_deceased
from donorcrm.errors import FileFormatError, NotFound, Problem
from donorcrm.gifts.service import reverse_gift
from donorcrm.sepa import mandates as mandate_service
from donorcrm.sepa.models import Collection, CollectionStatus, SepaFile, SepaReturn
from donorcrm.sepa.policy import Action, decide


@dataclass(frozen=True, slots=True)
class ReturnItem:
    """One returned or rejected transaction, as the bank reported it."""

    end_to_end_id: str | None
    reason_code: str
    on: dt.date | None
    amount_minor: int | None = None
    mandate_reference: str | None = None
    original_message_id: str | None = None
    original_payment_info_id: str | None = None
    status: str = "RJCT"
    source: str = "pain.002"
    source_ref: str | None = None


# -- readers -----------------------------------------------------------------------------------------

def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _minor(text: str | None) -> int | None:
    if not text:
        return None
    whole, _, frac = text.strip().partition(".")
    return int(whole or 0) * 100 + int((frac + "00")[:2])


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    return dt.date.fromisoformat(text.strip()[:10])


def _find(el: etree._Element, path: str) -> str | None:
    """Text at a slash path of local names, ignoring namespaces."""
    node: etree._Element | None = el
    for part in path.split("/"):
        if node is None:
            return None
        node = next((c for c in node if _local(c.tag) == part), None)
    return node.text.strip() if node is not None and node.text else None


def sniff(source: str | Path | bytes) -> str:
    """'pain.002' or 'camt.054' from the document namespace (or root element)."""
    stream = _open(source)
    try:
        for _event, el in etree.iterparse(stream, events=("start",), resolve_entities=False, no_network=True):
            ns = el.tag.split("}", 1)[0].lstrip("{") if el.tag.startswith("{") else ""
            if "pain.002" in ns:
                return "pain.002"
            if "camt.054" in ns:
                return "camt.054"
            if _local(el.tag) == "CstmrPmtStsRpt":
                return "pain.002"
            if _local(el.tag) == "BkToCstmrDbtCdtNtfctn":
                return "camt.054"
            if _local(el.tag) != "Document":
                break
    except etree.XMLSyntaxError as exc:
        raise FileFormatError(f"not XML: {exc}") from None
    finally:
        stream.close()
    raise FileFormatError("neither a pain.002 status report nor a camt.054 notification")


def _open(source: str | Path | bytes) -> IO[bytes]:
    import io

    if isinstance(source, bytes):
        return io.BytesIO(source)
    return open(source, "rb")


def _iter(source: str | Path | bytes, tags: set[str]) -> Iterator[etree._Element]:
    stream = _open(source)
    try:
        for _event, el in etree.iterparse(stream, events=("end",), resolve_entities=False, no_network=True,
                                          huge_tree=True, remove_comments=True):
            if _local(el.tag) in tags:
                yield el
                if _local(el.tag) in {"OrgnlPmtInfAndSts", "Ntry", "OrgnlGrpInfAndSts"}:
                    el.clear(keep_tail=True)
    except etree.XMLSyntaxError as exc:
        raise FileFormatError(f"broken XML: {exc}") from None
    finally:
        stream.close()


def read_pain002(source: str | Path | bytes) -> tuple[list[ReturnItem], list[Problem]]:
    """Rejected transactions of a pain.002.001.03 report. A whole group or payment block rejected
    without transaction details comes back as one item without end-to-end id (matched by message or
    payment information id)."""
    items: list[ReturnItem] = []
    problems: list[Problem] = []
    report_on: dt.date | None = None
    report_id: str | None = None
    group: tuple[str | None, str | None, str | None] = (None, None, None)
    for el in _iter(source, {"GrpHdr", "OrgnlGrpInfAndSts", "OrgnlPmtInfAndSts"}):
        name = _local(el.tag)
        if name == "GrpHdr":
            report_on = _date(_find(el, "CreDtTm"))
            report_id = _find(el, "MsgId")
        elif name == "OrgnlGrpInfAndSts":
            group = (_find(el, "OrgnlMsgId"), _find(el, "GrpSts"), _find(el, "StsRsnInf/Rsn/Cd"))
            if group[1] == "RJCT":
                items.append(ReturnItem(None, group[2] or "", report_on, original_message_id=group[0],
                                        source_ref=report_id))
        else:
            pmt_id = _find(el, "OrgnlPmtInfId")
            pmt_status = _find(el, "PmtInfSts")
            txs = [c for c in el if _local(c.tag) == "TxInfAndSts"]
            if pmt_status == "RJCT" and not txs:
                items.append(ReturnItem(None, _find(el, "StsRsnInf/Rsn/Cd") or "", report_on,
                                        original_message_id=group[0], original_payment_info_id=pmt_id,
                                        source_ref=report_id))
            for tx in txs:
                status = _find(tx, "TxSts") or pmt_status or ""
                if status not in ("RJCT", "CANC"):
                    continue
                code = _find(tx, "StsRsnInf/Rsn/Cd") or _find(tx, "StsRsnInf/Rsn/Prtry") or ""
                e2e = _find(tx, "OrgnlEndToEndId")
                if not e2e:
                    problems.append(Problem(f"{pmt_id}", "a rejected transaction without end-to-end id"))
                items.append(ReturnItem(
                    e2e, code, report_on,
                    _minor(_find(tx, "OrgnlTxRef/Amt/InstdAmt")), _find(tx, "OrgnlTxRef/MndtRltdInf/MndtId"),
                    group[0], pmt_id, status, "pain.002", report_id,
                ))
    return items, problems


def read_camt054(source: str | Path | bytes) -> tuple[list[ReturnItem], list[Problem]]:
    """Returned direct debits of a camt.054 debit notification (entries with return information)."""
    items: list[ReturnItem] = []
    problems: list[Problem] = []
    for entry in _iter(source, {"Ntry"}):
        booked = _date(_find(entry, "BookgDt/Dt")) or _date(_find(entry, "ValDt/Dt"))
        if _find(entry, "CdtDbtInd") == "CRDT" and _find(entry, "RvslInd") != "true":
            continue
        entry_ref = _find(entry, "AcctSvcrRef") or _find(entry, "NtryRef")
        for tx in entry.iter("{*}TxDtls"):
            code = _find(tx, "RtrInf/Rsn/Cd") or _find(tx, "RtrInf/Rsn/Prtry")
            if not code:
                continue
            e2e = _find(tx, "Refs/EndToEndId")
            if not e2e or e2e == "NOTPROVIDED":
                problems.append(Problem(f"entry {entry_ref}", "a return without end-to-end id"))
            amount = _minor(_find(tx, "AmtDtls/InstdAmt/Amt") or _find(tx, "AmtDtls/TxAmt/Amt") or _find(tx, "Amt"))
            items.append(ReturnItem(e2e, code, booked, amount, _find(tx, "Refs/MndtId"), status="RTRN",
                                    source="camt.054", source_ref=entry_ref))
    return items, problems


def read(source: str | Path | bytes) -> tuple[list[ReturnItem], list[Problem]]:
    kind = sniff(source)
    return read_pain002(source) if kind == "pain.002" else read_camt054(source)


# -- applying a return -------------------------------------------------------------------------------

@dataclass
class ReturnOutcome:
    collection_id: int
    reason_code: str
    action: Action
    already: bool = False
    reversal_gift_id: int | None = None
    paused_commitment: bool = False
    cancelled_mandates: int = 0
    marked_deceased: bool = False


def apply_return(session: Session, collection_id: int, reason_code: str, on: dt.date, *,
                 source: str = "manual", source_ref: str | None = None,
                 settings: Settings | None = None) -> ReturnOutcome:
    """Carry out the policy for a returned collection; a second call for the same collection does nothing."""
    settings = settings or get_settings()
    action = decide(reason_code)
    existing = session.execute(select(SepaReturn).where(SepaReturn.collection_id == collection_id)).scalars().first()
    if existing is not None:
        return ReturnOutcome(collection_id, existing.reason_code, decide(existing.reason_code), already=True,
                             reversal_gift_id=existing.reversal_gift_id)
    col = session.get(Collection, collection_id)
    if col is None:
        raise NotFound(f"no collection {collection_id}")
    out = ReturnOutcome(collection_id, action.code, action)
    if col.gift_id is not None:
        out.reversal_gift_id = reverse_gift(session, col.gift_id, entry_type=action.entry_type, on=on,
                                            reason=action.code, source="sepa",
                                            external_ref=f"{col.end_to_end_id}:{action.code}").id
    col.status = CollectionStatus.RETURNED
    col.return_code = action.code
    col.returned_on = on
    col.retry_wanted = action.retry and col.attempt <= settings.sepa_retries
    session.add(col)
    commitment = session.get(Commitment, col.commitment_id)
    if commitment is not None:
        if action.counts_as_failure:
            session.flush()
            commitment.consecutive_failures = _failure_streak(session, col)
            if (commitment.consecutive_failures >= settings.failures_before_pause
                    and commitment.status == CommitmentStatus.ACTIVE):
                commitment.status = CommitmentStatus.PAUSED
                commitment.status_reason = f"{commitment.consecutive_failures} failed collections in a row"
                col.retry_wanted = False
                out.paused_commitment = True
        commitment.updated_at = utcnow()
        session.add(commitment)
    if action.cancel_all_mandates:
        out.cancelled_mandates = mandate_service.cancel_all_for_donor(
            session, col.donor_id, reason=f"return {action.code}", on=on)
    elif action.cancel_mandate:
        m = mandate_service.get_mandate(session, col.mandate_id)
        if m.status == "active":
            mandate_service.cancel(session, m.id, reason=f"return {action.code}", on=on)  # type: ignore[arg-type]
            out.cancelled_mandates = 1
    if action.mark_deceased:
        from donorcrm.donors.models import Donor

        donor = session.get(Donor, col.donor_id)
        if donor is not None and donor.status == "active":
            mark_deceased(session, col.donor_id, on, source=f"SEPA return {action.code}")
            out.marked_deceased = True
    session.add(SepaReturn(collection_id=collection_id, reason_code=action.code, action=action.name, returned_on=on,
                           source=source, source_ref=source_ref, reversal_gift_id=out.reversal_gift_id,
                           needs_review=action.review or action.stop_for_human))
    session.flush()
    audit.record(session, "sepa.return", "sepa_collection", collection_id,
                 after={"code": action.code, "action": action.name, "on": on})
    return out


def _failure_streak(session: Session, col: Collection) -> int:
    """Failed collections in a row up to and including ``col`` (a collection not returned breaks it)."""
    history = session.execute(select(Collection.status, Collection.return_code).where(
        Collection.commitment_id == col.commitment_id, Collection.due_on <= col.due_on,
    ).order_by(Collection.due_on.desc(), Collection.attempt.desc())).all()  # type: ignore[attr-defined]
    streak = 0
    for status, code in history:
        if status != CollectionStatus.RETURNED or not decide(code or "").counts_as_failure:
            break
        streak += 1
    return streak


@dataclass
class ImportReport:
    kind: str
    items: int = 0
    applied: int = 0
    already: int = 0
    unmatched: int = 0
    by_action: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "items": self.items, "applied": self.applied, "already": self.already,
                "unmatched": self.unmatched, "by_action": self.by_action,
                "problems": [str(p) for p in self.problems]}


def _collections_for(session: Session, item: ReturnItem) -> list[Collection]:
    if item.end_to_end_id:
        return list(session.execute(select(Collection).where(
            Collection.end_to_end_id == item.end_to_end_id)).scalars())
    q = select(Collection).join(SepaFile, SepaFile.id == Collection.file_id)
    if item.original_payment_info_id:
        q = q.where(SepaFile.message_id + "-P" == item.original_payment_info_id)
    elif item.original_message_id:
        q = q.where(SepaFile.message_id == item.original_message_id)
    else:
        return []
    return list(session.execute(q).scalars())


def import_returns(session: Session, source: str | Path | bytes, *, on: dt.date | None = None,
                   settings: Settings | None = None) -> ImportReport:
    """Read a pain.002 or camt.054 file and apply each return; safe to import twice."""
    kind = sniff(source)
    items, problems = read(source)
    report = ImportReport(kind, items=len(items), problems=list(problems))
    for item in items:
        found = _collections_for(session, item)
        if not found:
            report.unmatched += 1
            report.problems.append(Problem(item.end_to_end_id or item.original_payment_info_id or "?",
                                           "no collection with this reference"))
            continue
        for col in found:
            if item.amount_minor is not None and item.amount_minor != col.amount_minor:
                report.problems.append(Problem(col.end_to_end_id, "returned amount differs from the collection"))
            outcome = apply_return(session, col.id, item.reason_code, item.on or on or dt.date.today(),  # type: ignore[arg-type]
                                   source=kind, source_ref=item.source_ref, settings=settings)
            if outcome.already:
                report.already += 1
            else:
                report.applied += 1
                report.by_action[outcome.action.name] = report.by_action.get(outcome.action.name, 0) + 1
    return report


def import_inbox(folder: str | Path, *, on: dt.date | None = None) -> dict[str, Any]:
    """Import every XML file in ``folder`` (one transaction each) and move it to ``done/`` or ``failed/``."""
    inbox = Path(folder)
    inbox.mkdir(parents=True, exist_ok=True)
    counts = {"files": 0, "applied": 0, "already": 0, "unmatched": 0, "failed": 0}
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() == ".xml"):
        try:
            with session_scope() as s:
                report = import_returns(s, path, on=on)
            target = inbox / "done"
            counts["files"] += 1
            counts["applied"] += report.applied
            counts["already"] += report.already
            counts["unmatched"] += report.unmatched
        except FileFormatError:
            target = inbox / "failed"
            counts["failed"] += 1
        target.mkdir(exist_ok=True)
        shutil.move(str(path), str(target / path.name))
    return counts
