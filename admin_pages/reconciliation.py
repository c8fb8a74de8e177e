"""Reconciliation: imported statements, the match rate, and the suspense queue with each line's candidates
and reasons; finance books a line to a candidate, a donor or "not a gift", splits it, or undoes a booking."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm import audit
from donorcrm.auth import Permission
from donorcrm.banking import reports, service
from donorcrm.banking.models import NotGiftPurpose
from donorcrm.errors import DonorCrmError
from donorcrm.money import Money

user = common.require(Permission.VIEW_MONEY)
st.title("Reconciliation")

with common.db() as s:
    stmts = reports.statements(s)
if not stmts:
    st.info("No bank statements yet: import camt.053 files with `donorcrm bank import FILE`.")
    st.stop()

choice = st.selectbox("Statement", [None, *[r["id"] for r in stmts]], key="recon_statement",
                      format_func=lambda i: "All statements" if i is None else next(
                          f"{r['statement']} · {r['period']} · {r['account']}" for r in stmts if r["id"] == i))
search = st.text_input("Search the suspense queue (name, description, IBAN, end-to-end id)", key="recon_search")
with common.db() as s:
    head = reports.summary(s, statement_id=choice)
    queue = reports.suspense(s, statement_id=choice, search=search or None)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Lines", f"{head['lines']:,}")
c2.metric("Match rate", "–" if head["match_rate"] is None else f"{100 * head['match_rate']:.1f}%")
c3.metric("Booked", common.money(Money.parse(head["booked_amount"], head["currency"]).minor, head["currency"]))
c4.metric("In suspense", common.money(Money.parse(head["suspense_amount"], head["currency"]).minor,
                                      head["currency"]))

st.subheader("Statements")
st.dataframe(pd.DataFrame([{k: r[k] for k in ("statement", "period", "account", "lines", "booked_lines", "credits",
                                              "debits", "suspense", "file")} for r in stmts]),
             hide_index=True, width="stretch")

st.subheader(f"Suspense queue ({len(queue)})")
if not queue:
    st.success("Nothing in suspense.")
    st.stop()
st.dataframe(pd.DataFrame([{
    "Line": q["id"], "Date": q["booked_on"], "Amount": q["amount"], "Open": q["open"],
    "Counterparty": q["counterparty"], "IBAN": q["iban"], "Description": q["description"],
    "Best candidate": (f"{q['candidates'][0]['label'] or q['candidates'][0]['target']} "
                       f"({q['candidates'][0]['score']}: {q['candidates'][0]['reason']})") if q["candidates"] else "",
} for q in queue]), hide_index=True, width="stretch")

line_id = st.selectbox("Line", [q["id"] for q in queue], key="recon_line")
with common.db() as s:
    detail = reports.line_detail(s, line_id)
st.write(f"**{detail['amount']}** from {detail['counterparty'] or 'unknown'} · {detail['description'] or ''}")
if detail["candidates"]:
    st.dataframe(pd.DataFrame([{"Target": c["target"], "Who/what": c["label"], "Score": c["score"], "Rule": c["rule"],
                                "Reason": c["reason"]} for c in detail["candidates"]]), hide_index=True)
if not user.may(Permission.MOVE_MONEY):
    st.stop()


def _act(action) -> None:  # type: ignore[no-untyped-def]
    try:
        with audit.acting_as(f"admin:{user.username}"), common.db() as s:
            action(s)
        st.rerun()
    except (DonorCrmError, ValueError) as exc:
        st.error(str(exc))


if detail["candidates"]:
    target = st.selectbox("Book to candidate", [c["target"] for c in detail["candidates"]], key="recon_target")
    if st.button("Book to candidate", key="recon_book_candidate"):
        _act(lambda s: service.book_candidate(s, line_id, target))
with st.form("recon_manual"):
    st.caption("Book by hand: a donor's gift, or not a gift (fee, internal transfer); give amounts to split")
    donor = st.number_input("Donor number (0 = not a gift)", min_value=0, step=1, key="recon_donor")
    purpose = st.selectbox("Purpose when not a gift", list(NotGiftPurpose), key="recon_purpose")
    amounts = st.text_input("Amounts to split into (EUR, e.g. 10,00; 15,00; empty = all)", "", key="recon_amounts")
    if st.form_submit_button("Book"):
        def book(s):  # type: ignore[no-untyped-def]
            parts_amounts = [Money.parse(a, "EUR", "nl") for a in amounts.split(";") if a.strip()] or [None]
            kind = "gift" if donor else "not_gift"
            parts = [service.Part(kind=kind, amount=a, donor_id=int(donor) or None,
                                  purpose=None if donor else purpose) for a in parts_amounts]
            service.book(s, line_id, parts)
        _act(book)
active = [a for a in detail["allocations"] if a["undone_at"] is None]
if active:
    with st.form("recon_undo"):
        alloc = st.selectbox("Undo booking", [a["id"] for a in active], key="recon_alloc",
                             format_func=lambda i: next(f"{a['amount']} {a['kind']} ({a['rule']})" for a in active
                                                        if a["id"] == i))
        reason = st.text_input("Reason", key="recon_undo_reason")
        if st.form_submit_button("Undo"):
            _act(lambda s: service.undo(s, alloc, reason=reason or "undone in the admin"))
