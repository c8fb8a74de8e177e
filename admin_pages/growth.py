"""Donor growth: new, retained, recaptured and lapsed donors; retention; FEP gains and losses; cohorts;
LYBUNT and SYBUNT lists."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.config import get_settings
from donorcrm.money import Money
from donorcrm.reports import growth

user = common.require(Permission.VIEW_REPORTS)
st.title("Donor growth")

with common.db() as s:
    years = growth.years_with_data(s)
if not years:
    st.info("No gifts in the ledger yet.")
    st.stop()
this_year = growth.current_year()
choices = sorted(set(years) | {this_year})
c1, c2 = st.columns(2)
first = c1.selectbox("From year", choices, index=0, key="growth_from")
last = c2.selectbox("To year", choices, index=len(choices) - 1, key="growth_to")
if first > last:
    first, last = last, first

with common.db() as s:
    rows = growth.growth_table(s, first_year=first, last_year=last)
    cohorts = growth.cohorts(s, since=first)
    by_month = growth.new_by_month(s, last)

table = pd.DataFrame([{
    "Year": str(g.year), "Donors": g.donors, "New": g.new, "Retained": g.retained, "Recaptured": g.recaptured,
    "Lapsed": g.lapsed, "Retention": common.pct(g.retention), "New-donor retention": common.pct(g.new_donor_retention),
    "Repeat-donor retention": common.pct(g.repeat_donor_retention), "Dollar retention": common.pct(g.dollar_retention),
    "Income": common.money(g.total_minor), "Lifetime value": common.money(g.lifetime_value_minor),
} for g in rows])

st.subheader("Donors per year")
flows = pd.DataFrame([{"Year": str(g.year), "Flow": k, "Donors": v} for g in rows for k, v in (
    ("New", g.new), ("Retained", g.retained), ("Recaptured", g.recaptured), ("Lapsed", -g.lapsed))])
st.altair_chart(alt.Chart(flows).mark_bar().encode(
    x="Year:N", y="Donors:Q", color=alt.Color("Flow:N", sort=["Retained", "New", "Recaptured", "Lapsed"]),
    tooltip=["Year", "Flow", "Donors"]), width="stretch")
st.dataframe(table, hide_index=True, width="stretch")

st.subheader("Retention")
ret = pd.DataFrame([{"Year": str(g.year), "Measure": name, "Rate": float(v) * 100}
                    for g in rows for name, v in (("Retention", g.retention), ("New donors", g.new_donor_retention),
                                                  ("Repeat donors", g.repeat_donor_retention)) if v is not None])
if not ret.empty:
    st.altair_chart(alt.Chart(ret).mark_line(point=True).encode(
        x="Year:N", y=alt.Y("Rate:Q", title="%"), color="Measure:N"), width="stretch")

st.subheader("Gains and losses (Fundraising Effectiveness Project)")
fep = pd.DataFrame([{
    "Year": str(g.year), "New donors": common.money(g.new_minor), "Recaptured": common.money(g.recaptured_minor),
    "Upgrades": common.money(g.upgrade_minor), "Gains": common.money(g.gains_minor),
    "Downgrades": common.money(-g.downgrade_minor), "Lapsed": common.money(-g.lapsed_minor),
    "Losses": common.money(-g.losses_minor), "Net": common.money(g.net_minor),
    "Income change": common.money(g.total_minor - g.previous_total_minor),
} for g in rows])
st.dataframe(fep, hide_index=True, width="stretch")
bars = pd.DataFrame([{"Year": str(g.year), "Part": k, "EUR": common.euros(v)} for g in rows for k, v in (
    ("New", g.new_minor), ("Recaptured", g.recaptured_minor), ("Upgrades", g.upgrade_minor),
    ("Downgrades", -g.downgrade_minor), ("Lapsed", -g.lapsed_minor))])
st.altair_chart(alt.Chart(bars).mark_bar().encode(x="Year:N", y="EUR:Q", color="Part:N",
                                                  tooltip=["Year", "Part", "EUR"]), width="stretch")

st.subheader(f"New donors per month in {last}")
st.altair_chart(alt.Chart(pd.DataFrame(by_month, columns=["Month", "New donors"])).mark_bar().encode(
    x="Month:O", y="New donors:Q"), width="stretch")

st.subheader("Cohorts by first-gift year (share still giving)")
if cohorts:
    cdf = pd.DataFrame([{"Cohort": str(c.cohort), "Year": str(c.year), "Active %": round(c.share_active * 100, 1),
                         "Donors": c.donors} for c in cohorts if c.year <= last])
    st.altair_chart(alt.Chart(cdf).mark_rect().encode(
        x="Year:N", y="Cohort:N", color=alt.Color("Active %:Q", scale=alt.Scale(scheme="blues")),
        tooltip=["Cohort", "Year", "Donors", "Active %"]), width="stretch")

st.subheader("Lapsed donors")
kind = st.radio("List", ["lybunt", "sybunt"], horizontal=True, key="growth_lapsed_kind",
                format_func=lambda k: {"lybunt": "LYBUNT: gave last year, not yet this year",
                                       "sybunt": "SYBUNT: gave in an earlier year, not this year"}[k])
with common.db() as s:
    count = growth.lapsed_count(s, last, kind=kind)
st.metric(f"{kind.upper()} donors for {last}", f"{count:,}")
if user.may(Permission.VIEW_DONORS):
    with common.db() as s:
        sample = growth.lapsed_donors(s, last, kind=kind, limit=100)
    st.dataframe(pd.DataFrame([{"Donor": d.donor_id, "Name": d.name, "E-mail": d.email, "Last gift year": d.last_year,
                                "Given that year": common.money(d.last_year_minor)} for d in sample],
                              columns=["Donor", "Name", "E-mail", "Last gift year", "Given that year"]),
                 hide_index=True, width="stretch")
    if st.button(f"Prepare the full {kind.upper()} list as CSV", key="growth_csv"):
        cur = get_settings().currency
        with common.db() as s:
            everyone = growth.lapsed_donors(s, last, kind=kind, limit=None)
        csv = pd.DataFrame([{"donor_id": d.donor_id, "name": d.name, "email": d.email, "last_year": d.last_year,
                             "last_year_amount": Money(d.last_year_minor, cur).to_string()} for d in everyone]).to_csv(index=False)
        st.download_button("Download CSV", csv, file_name=f"{kind}-{last}.csv", mime="text/csv", key="growth_dl")
else:
    st.caption("Names and contact details need a role that may see donors.")
