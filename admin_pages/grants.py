"""Grants: funders, grants by stage, the calendar of reports and instalments, each grant's money and
co-funding position, open reminders and restricted-fund balances."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.grants import reports, service
from donorcrm.money import total

user = common.require(Permission.VIEW_REPORTS)
st.title("Grants")


def eur(money) -> str:  # type: ignore[no-untyped-def]
    return "" if money is None else common.money(money.minor, money.currency)


with common.db() as s:
    grants = reports.grant_rows(s)
    stages = reports.grants_by_stage(s)
    reminders = reports.open_reminders(s)
if not grants:
    st.info("No grants yet. Record funders and applications with the grants services or the demo.")
    st.stop()

live = [g for g in grants if g.stage in ("awarded", "settlement_requested", "settled")]
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Live grants", len(live))
c2.metric("Awarded", eur(total([g.awarded for g in live])))
c3.metric("To receive", eur(total([g.to_receive for g in live])))
c4.metric("To repay", eur(total([g.to_repay for g in grants])))
c5.metric("Open reminders", len(reminders))

if reminders:
    st.subheader("Reminders")
    st.dataframe(pd.DataFrame([{"Level": r.level, "Due": r.due_on, "Grant": r.reference, "What": r.message}
                               for r in reminders]), hide_index=True, width="stretch")
    if user.may(Permission.MOVE_MONEY):
        pick = st.selectbox("Acknowledge reminder", [None, *[r.id for r in reminders]], key="grants_ack",
                            format_func=lambda i: "—" if i is None else next(
                                f"{r.reference}: {r.message}" for r in reminders if r.id == i))
        if pick is not None and st.button("Acknowledge", key="grants_ack_button"):
            with common.db() as s:
                service.acknowledge_reminder(s, pick)
            st.rerun()

tab_grants, tab_calendar, tab_funders, tab_funds, tab_detail = st.tabs(
    ["Grants by stage", "Calendar", "Funders", "Restricted funds", "Grant detail"])

with tab_grants:
    st.dataframe(pd.DataFrame([{"Stage": r.stage, "Grants": r.grants, "Requested": eur(r.requested),
                                "Awarded": eur(r.awarded)} for r in stages]), hide_index=True, width="stretch")
    stage = st.selectbox("Stage", [None, *[r.stage for r in stages]], key="grants_stage",
                         format_func=lambda x: "All stages" if x is None else x)
    st.dataframe(pd.DataFrame([{
        "Reference": g.reference, "Funder": g.funder, "Title": g.title, "Stage": g.stage, "Category": g.category,
        "Requested": eur(g.requested), "Awarded": eur(g.awarded), "Settled": eur(g.settled),
        "Received": eur(g.received), "To receive": eur(g.to_receive), "To repay": eur(g.to_repay),
        "Co-funding": "" if not g.cofunding_required.minor else
        f"{eur(g.cofunding_covered)} of {eur(g.cofunding_required)}" + (" ✓" if g.cofunding_met else " short"),
        "Next due": g.next_due_on,
    } for g in grants if stage is None or g.stage == stage]), hide_index=True, width="stretch")

with tab_calendar:
    today = dt.date.today()
    d1, d2 = st.columns(2)
    start = d1.date_input("From", today - dt.timedelta(days=60), key="grants_cal_from")
    end = d2.date_input("To", today + dt.timedelta(days=180), key="grants_cal_to")
    with common.db() as s:
        cal = reports.calendar(s, start=start, end=end, today=today)
    st.dataframe(pd.DataFrame([{"Due": c.due_on, "Kind": c.kind, "Grant": c.reference, "Funder": c.funder,
                                "What": c.what, "Amount": eur(c.amount), "Status": c.status,
                                "Overdue": "overdue" if c.overdue else ""} for c in cal],
                              columns=["Due", "Kind", "Grant", "Funder", "What", "Amount", "Status", "Overdue"]),
                 hide_index=True, width="stretch")

with tab_funders:
    with common.db() as s:
        funders = reports.funder_rows(s)
    st.dataframe(pd.DataFrame([{"Code": f.code, "Funder": f.name, "Kind": f.kind, "Accounts line": f.category,
                                "Grants": f.grants, "Awarded": eur(f.awarded), "Received": eur(f.received)}
                               for f in funders]), hide_index=True, width="stretch")

with tab_funds:
    with common.db() as s:
        funds = reports.restricted_fund_rows(s)
    st.dataframe(pd.DataFrame([{"Fund": f.code, "Name": f.name, "Income": eur(f.income),
                                "Spending": eur(f.spending), "Balance": eur(f.balance)} for f in funds]),
                 hide_index=True, width="stretch")

with tab_detail:
    chosen = st.selectbox("Grant", [g.id for g in grants], key="grants_detail",
                          format_func=lambda i: next(f"{g.reference} · {g.funder}" for g in grants if g.id == i))
    with common.db() as s:
        detail = reports.grant_detail(s, chosen)
    g = detail["grant"]
    st.markdown(f"**{g['title']}** — {g['funder']} · stage *{g['stage']}* · period {g['period_start']} – "
                f"{g['period_end']} · fund {g['fund_code'] or '—'}")
    row = next(r for r in grants if r.id == chosen)
    m1, m2, m3, m4, m5 = st.columns(5)
    m1.metric("Awarded", eur(row.awarded))
    m2.metric("Received", eur(row.received))
    m3.metric("To receive", eur(row.to_receive))
    m4.metric("To repay", eur(row.to_repay))
    m5.metric("Co-funding", "n/a" if not row.cofunding_required.minor else
              f"{eur(row.cofunding_covered)} of {eur(row.cofunding_required)}",
              delta=None if not row.cofunding_required.minor else ("met" if row.cofunding_met else "short"))
    if g["conditions"]:
        st.caption(f"Conditions: {g['conditions']}")
    for title, key in (("Instalments", "instalments"), ("Reports", "reports"), ("Repayments", "repayments"),
                       ("Co-funding covered by", "cofunding")):
        if detail[key]:
            st.subheader(title)
            st.dataframe(pd.DataFrame(detail[key]), hide_index=True, width="stretch")
