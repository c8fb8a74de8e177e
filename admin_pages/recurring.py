"""Recurring & SEPA: commitments by status and their value; runs, returns and mandates when the SEPA
package provides them."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.commitments.models import PaymentRoute
from donorcrm.reports import recurring

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
common.missing("The dry-run preview of the next collection run", "the SEPA package: runs and collections")
st.subheader("Recent runs and their files")
common.missing("Recent runs", "the SEPA package: runs and pain.008 files")
st.subheader("Returns by reason code")
common.missing("Returns", "the SEPA package: returns")
st.subheader("Expiring mandates")
common.missing("Expiring mandates", "the SEPA package: mandates")
