"""Recurring & SEPA: commitments by status and their value, the next run's dry run, recent runs,
returns by reason code and expiring mandates."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.commitments.models import PaymentRoute
from donorcrm.reports import operations, recurring
from donorcrm.sepa import mandates
from donorcrm.sepa import service as sepa_service

common.require(Permission.VIEW_MONEY)
st.title("Recurring & SEPA")

route = st.selectbox("Route", [None, *PaymentRoute], key="recurring_route",
                     format_func=lambda r: "All routes" if r is None else str(r))
with common.db() as s:
    groups = recurring.commitments_by_status(s, route=route)

active = [g for g in groups if g.status == "active"]
c1, c2, c3 = st.columns(3)
c1.metric("Active commitments", f"{sum(g.commitments for g in active):,}")
c2.metric("Active value per month", common.money(sum(g.monthly_minor for g in active)))
c3.metric("Active value per year", common.money(sum(g.yearly_minor for g in active)))
st.subheader("Commitments by status")
df = pd.DataFrame([{"Status": g.status, "Route": g.route, "Frequency": g.frequency, "Commitments": g.commitments,
                    "Per month": common.money(g.monthly_minor), "Per year": common.money(g.yearly_minor)}
                   for g in groups])
if not df.empty:
    st.altair_chart(alt.Chart(df).mark_bar().encode(x="Status:N", y="sum(Commitments):Q", color="Route:N"),
                    width="stretch")
st.dataframe(df, hide_index=True, width="stretch")

st.subheader("Next run (dry run)")
run_on = st.date_input("Run date", value=dt.date.today() + dt.timedelta(days=1), key="recurring_run_on")
if st.button("Compute the dry run", key="recurring_preview"):
    with common.db() as s:
        p = sepa_service.preview(s, run_on)
    c1, c2, c3 = st.columns(3)
    c1.metric("Collections", f"{p.n_collections:,}")
    c2.metric("Total", common.money(p.total_minor))
    c3.metric("New / stopped / changed", f"{len(p.new)} / {len(p.stopped)} / {len(p.changed)}")
    st.dataframe(pd.DataFrame(p.groups), hide_index=True, width="stretch")
    if p.suspicious:
        st.warning(f"{len(p.suspicious)} collections look unusual")
        st.dataframe(pd.DataFrame(p.suspicious), hide_index=True, width="stretch")

st.subheader("Recent runs")
with common.db() as s:
    runs = operations.recent_runs(s)
    returns = operations.returns_by_reason(s, dt.date.today() - dt.timedelta(days=90))
    expiring = mandates.expiring(s, dt.date.today())
st.dataframe(pd.DataFrame([{"Run": r.id, "Date": r.run_on, "Status": r.status, "Collections": r.collections,
                            "Total": common.money(r.total_minor), "Files written": r.written_at,
                            "Confirmed": r.confirmed_at} for r in runs],
                          columns=["Run", "Date", "Status", "Collections", "Total", "Files written", "Confirmed"]),
             hide_index=True, width="stretch")
st.caption("Files: `donorcrm sepa export RUN` writes a run's pain.008 files.")
st.subheader("Returns by reason code (last 90 days)")
st.dataframe(pd.DataFrame(returns, columns=["Reason", "Returns", "Need review"]), hide_index=True, width="stretch")
st.subheader("Mandates expiring within a month")
st.dataframe(pd.DataFrame([v.as_dict() for v in expiring]), hide_index=True, width="stretch")
