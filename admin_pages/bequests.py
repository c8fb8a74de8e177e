"""Bequests: the legacy pipeline by stage with values, overdue cases, the income forecast per quarter and
what the annual accounts recognise against what was received."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.bequests import reports

user = common.require(Permission.VIEW_REPORTS)
st.title("Bequests")

today = dt.date.today()
on = st.date_input("As of", value=today, key="bequests_as_of")
with common.db() as s:
    stages = reports.pipeline_by_stage(s)
    forecast = reports.forecast_rows(s, on)
    overdue = reports.overdue_cases(s, on) if user.may(Permission.VIEW_DONORS) else []

open_rows = [r for r in stages if r.stage not in ("closed", "renounced")]
c1, c2, c3 = st.columns(3)
c1.metric("Open cases", f"{sum(r.cases for r in open_rows):,}")
c2.metric("Outstanding (estimated − received)", common.money(sum(r.outstanding_minor for r in open_rows)))
c3.metric("Expected in 3 years (central)", common.money(forecast["totals"]["central"]))

st.subheader("Pipeline by stage")
pipeline = pd.DataFrame([{"Stage": r.stage.replace("_", " "), "Cases": r.cases,
                          "Estimated": common.money(r.estimated_minor), "Received": common.money(r.received_minor),
                          "Outstanding": common.money(r.outstanding_minor),
                          "Outstanding (EUR)": common.euros(r.outstanding_minor)} for r in stages])
st.altair_chart(alt.Chart(pipeline[pipeline["Cases"] > 0]).mark_bar().encode(
    x=alt.X("Stage:N", sort=list(pipeline["Stage"])), y="Outstanding (EUR):Q", tooltip=["Stage", "Cases"]),
    width="stretch")
st.dataframe(pipeline.drop(columns=["Outstanding (EUR)"]), hide_index=True, width="stretch")

st.subheader("Forecast per quarter")
fc = pd.DataFrame([{"Quarter": q.quarter, "Low": common.euros(q.low_minor), "Central": common.euros(q.central_minor),
                    "High": common.euros(q.high_minor)} for q in forecast["quarters"]])
long = fc.melt("Quarter", var_name="Scenario", value_name="EUR")
st.altair_chart(alt.Chart(long).mark_line(point=True).encode(
    x=alt.X("Quarter:N", sort=list(fc["Quarter"])), y="EUR:Q", color="Scenario:N"), width="stretch")
st.caption(
    "Each open case: estimate − received, × the probability of its stage, on its expected receipt date "
    "(stage durations learned from closed cases). Later than 3 years: "
    f"{common.money(forecast['beyond']['central'])}; life interests waiting for the life tenant: "
    f"{common.money(forecast['undated']['central'])} (central)."
)
st.dataframe(pd.DataFrame([{"Quarter": q.quarter, "Low": common.money(q.low_minor),
                            "Central": common.money(q.central_minor), "High": common.money(q.high_minor)}
                           for q in forecast["quarters"]]), hide_index=True, width="stretch")

st.subheader("Cases overdue in their stage")
if not user.may(Permission.VIEW_DONORS):
    st.info("Case details are shown to roles that may see donors.")
elif not overdue:
    st.success("No case has sat too long in its stage.")
else:
    st.dataframe(pd.DataFrame([{"Case": r.reference, "Deceased": r.deceased_name, "Stage": r.stage,
                                "Since": r.stage_since, "Days": r.days_in_stage,
                                "Estimated": common.money(r.estimated_minor), "Open tasks": r.open_tasks}
                               for r in overdue]), hide_index=True, width="stretch")

st.subheader("Recognised and received")
year = st.selectbox("Year", list(range(today.year, today.year - 8, -1)), key="bequests_year")
with common.db() as s:
    rec = reports.recognised_vs_received(s, int(year))
t = rec["totals"]
r1, r2, r3 = st.columns(3)
r1.metric(f"Recognised {year}", common.money(t["recognised_minor"]))
r2.metric(f"Received {year}", common.money(t["received_minor"]))
r3.metric(f"Receivable 31-12-{year}", common.money(t["receivable_minor"]))
if user.may(Permission.VIEW_DONORS):
    st.dataframe(pd.DataFrame([{"Case": r.reference, "Deceased": r.deceased_name, "Stage": r.stage,
                                "Recognised": common.money(r.recognised_minor),
                                "Received": common.money(r.received_minor),
                                "Receivable": common.money(r.receivable_minor)} for r in rec["cases"]]),
                 hide_index=True, width="stretch")
