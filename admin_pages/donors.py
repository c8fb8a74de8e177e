"""Donors: search, profile, edit, merge and GDPR erasure. Bank accounts show only to roles that may see
bank details, masked unless revealed (every reveal is audit-logged)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.donors import service as donors
from donorcrm.errors import DonorCrmError
from donorcrm.reports import donors as report
from donorcrm.sepa import mandates

user = common.require(Permission.VIEW_DONORS)
st.title("Donors")

c1, c2 = st.columns([3, 1])
text = c1.text_input("Search by name, e-mail, postcode, donor number or last four IBAN digits", key="donor_q")
by = c2.selectbox("Search in", report.SEARCH_FIELDS, key="donor_by",
                  format_func=lambda f: {"auto": "Anything", "name": "Name", "email": "E-mail",
                                         "postcode": "Postcode", "number": "Donor number",
                                         "iban4": "IBAN last 4"}[f])
hits = []
if text:
    with common.db() as s:
        hits = report.search_donors(s, text, by=by)
    if not hits:
        st.info("No donor found.")
    else:
        st.dataframe(pd.DataFrame([{"Donor": h.id, "Name": h.name, "E-mail": h.email, "Postcode": h.postcode,
                                    "City": h.city, "Status": h.status} for h in hits]),
                     hide_index=True, width="stretch")
        chosen = st.selectbox("Open", [h.id for h in hits], key="donor_pick",
                              format_func=lambda i: next(f"{h.id} · {h.name}" for h in hits if h.id == i))
        st.session_state["donor_id"] = chosen

donor_id = st.session_state.get("donor_id")
if not donor_id:
    st.stop()

with common.db() as s:
    p = report.profile(s, donor_id)
d = p.donor
st.header(f"{d.display_name} · donor {d.id}")
st.caption(f"Status {d.status} · {d.email or 'no e-mail'} · {' '.join(x for x in (d.street, d.house_number) if x)}"
           f" {d.postcode or ''} {d.city or ''}")
m1, m2, m3 = st.columns(3)
m1.metric("Given in total (non-reversed)", common.money(p.lifetime_minor))
m2.metric("Ledger rows", f"{p.gift_count:,}")
m3.metric("Commitments", len(p.commitments))

tabs = st.tabs(["Gifts", "Commitments", "Bank accounts", "Consents", "Mandates", "Receipts", "Audit trail"])
with tabs[0]:
    st.dataframe(pd.DataFrame([{"Year": y, "Currency": c, "Amount": common.money(a, c), "Gifts": n}
                               for y, c, a, n in p.yearly]), hide_index=True)
    st.dataframe(pd.DataFrame([{"Gift": g.id, "Date": g.received_on, "Type": g.entry_type,
                                "Amount": common.money(g.amount_minor, g.currency), "Category": g.category,
                                "Channel": g.channel, "Source": g.source} for g in p.gifts]),
                 hide_index=True, width="stretch")
    if p.gift_count > len(p.gifts):
        st.caption(f"The latest {len(p.gifts)} of {p.gift_count} ledger rows.")
with tabs[1]:
    st.dataframe(pd.DataFrame([{"Commitment": c.id, "Amount": common.money(c.amount_minor, c.currency),
                                "Frequency": c.frequency, "Route": c.route, "Status": c.status,
                                "Since": c.starts_on, "Until": c.ends_on} for c in p.commitments]), hide_index=True)
with tabs[2]:
    if not user.may(Permission.VIEW_BANK_DETAILS):
        st.caption("Bank details need a finance role.")
    else:
        for a in p.accounts:
            cols = st.columns([3, 2, 1])
            shown = st.session_state.get(f"iban_{a.id}")
            cols[0].write(f"`{shown or a.iban_masked}` {a.holder or ''}")
            cols[1].write(a.bic or "")
            if not shown and cols[2].button("Show", key=f"reveal_{a.id}"):
                with common.db() as s:
                    st.session_state[f"iban_{a.id}"] = report.reveal_iban(s, a.id, role=user.role)
                st.rerun()
        if not p.accounts:
            st.caption("No bank accounts.")
with tabs[3]:
    st.dataframe(pd.DataFrame([{"Channel": c.channel, "Purpose": c.purpose, "Status": c.status, "At": c.at,
                                "Source": c.source} for c in p.consents]), hide_index=True)
with tabs[4]:
    with common.db() as s:
        views = [v.as_dict() for v in mandates.list_mandates(s, donor_id=d.id)]
    if not user.may(Permission.VIEW_BANK_DETAILS):
        views = [{k: v for k, v in m.items() if k not in ("iban", "bic")} for m in views]
    st.dataframe(pd.DataFrame(views), hide_index=True, width="stretch")
with tabs[5]:
    common.missing("Receipts", "the receipts package")
with tabs[6]:
    st.dataframe(pd.DataFrame([{"At": a.at, "By": a.actor, "Action": a.action, "Before": str(a.before or ""),
                                "After": str(a.after or "")} for a in p.audit]), hide_index=True,
                 width="stretch")

editable = d.status not in ("erased", "merged")
if user.may(Permission.EDIT_DONORS) and editable:
    with st.expander("Edit"):
        fields = ("first_name", "name_infix", "last_name", "email", "phone", "street", "house_number", "postcode",
                  "city")
        values = {f: st.text_input(f.replace("_", " ").capitalize(), value=getattr(d, f) or "", key=f"edit_{f}")
                  for f in fields}
        if st.button("Save", key="edit_save"):
            changes = {f: (v.strip() or None) for f, v in values.items() if (v.strip() or None) != getattr(d, f)}
            try:
                with common.db() as s:
                    donors.update_donor(s, d.id, changes)
                st.success("Saved." if changes else "Nothing changed.")
                st.rerun()
            except DonorCrmError as exc:
                st.error(str(exc))
    with st.expander("Merge a duplicate into this donor"):
        dup = int(st.number_input("Duplicate donor number", min_value=0, step=1, key="merge_dup"))
        sure = st.checkbox("Move the duplicate's gifts, commitments, consents and accounts here", key="merge_sure")
        if st.button("Merge", key="merge_go", disabled=not (dup and sure)):
            try:
                with common.db() as s:
                    donors.merge_donors(s, d.id, dup)
                st.success(f"Donor {dup} merged into {d.id}.")
            except DonorCrmError as exc:
                st.error(str(exc))
if user.may(Permission.ERASE_DONORS) and d.status != "erased":
    with st.expander("GDPR erasure"):
        st.warning("Erasure removes this donor's personal data for good. Gifts stay, anonymously, for the books.")
        typed = st.text_input(f"Type ERASE {d.id} to confirm", key="erase_confirm")
        if st.button("Erase personal data", key="erase_go", type="primary"):
            if typed.strip() != f"ERASE {d.id}":
                st.error(f"Type exactly: ERASE {d.id}")
            else:
                with common.db() as s:
                    donors.erase_donor(s, d.id, reason=f"GDPR request, erased by {user.username}")
                st.success(f"Donor {d.id} erased.")
