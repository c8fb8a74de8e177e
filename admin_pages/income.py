"""Income breakdown: the annual-accounts lines by year (individuals split), by fund and by campaign,
with a drill-down to the gifts behind a cell."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.gifts.categories import CATEGORY_LABELS, IncomeCategory
from donorcrm.reports import income

user = common.require(Permission.VIEW_REPORTS)
st.title("Income breakdown")

with common.db() as s:
    years = income.years_with_income(s)
    funds = income.by_fund(s)
    campaigns = income.by_campaign(s)
if not years:
    st.info("No income in the ledger yet.")
    st.stop()

fund_names = {0: "(no fund)"} | {c.id: c.name for c in funds if c.id}
campaign_names = {0: "(no campaign)"} | {c.id: c.name for c in campaigns if c.id}
c1, c2, c3, c4 = st.columns(4)
first = c1.selectbox("From year", years, index=max(0, len(years) - 6), key="income_from")
last = c2.selectbox("To year", years, index=len(years) - 1, key="income_to")
fund = c3.selectbox("Fund", [None, *sorted(fund_names)], key="income_fund",
                    format_func=lambda i: "All funds" if i is None else fund_names[i])
campaign = c4.selectbox("Campaign", [None, *sorted(campaign_names)], key="income_campaign",
                        format_func=lambda i: "All campaigns" if i is None else campaign_names[i])
months = st.slider("Months of each year", 1, 12, (1, 12), key="income_months")
if first > last:
    first, last = last, first
f = income.Filter(first, last, months, fund, campaign)

with common.db() as s:
    cells = income.by_category(s, f)
    statement = income.accounts_statement(s, last, f)
    by_fund = income.by_fund(s, f)
    by_campaign = income.by_campaign(s, f)

order = [CATEGORY_LABELS[c][0] for c in IncomeCategory]
st.subheader("By income category")
chart = pd.DataFrame([{"Year": str(c.year), "Category": c.label, "Rank": order.index(c.label),
                       "EUR": common.euros(c.amount_minor)} for c in cells])
if not chart.empty:
    st.altair_chart(alt.Chart(chart).mark_bar().encode(
        x="Year:N", y=alt.Y("sum(EUR):Q", title="EUR"), color=alt.Color("Category:N", sort=order),
        order=alt.Order("Rank:Q"), tooltip=["Year", "Category", "EUR"]), width="stretch")
pivot = {}
for c in cells:
    pivot.setdefault(c.label, {"Category": c.label, "Dutch": c.dutch})[str(c.year)] = common.money(c.amount_minor)
st.dataframe(pd.DataFrame(sorted(pivot.values(), key=lambda r: order.index(r["Category"]))),
             hide_index=True, width="stretch")

st.subheader(f"Annual accounts {last}: geworven baten")
st.dataframe(pd.DataFrame([{"": r.order if r.key != "total" else "", "Line": r.english, "Dutch": r.dutch,
                            "Amount": common.money(r.amount_minor)} for r in statement]),
             hide_index=True, width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("By fund")
    st.dataframe(pd.DataFrame([{"Year": str(c.year), "Fund": c.name, "Amount": common.money(c.amount_minor),
                                "Gifts": c.gifts} for c in by_fund]), hide_index=True, width="stretch")
with right:
    st.subheader("By campaign")
    st.dataframe(pd.DataFrame([{"Year": str(c.year), "Campaign": c.name, "Amount": common.money(c.amount_minor),
                                "Gifts": c.gifts} for c in by_campaign]), hide_index=True, width="stretch")

st.subheader("Gifts behind a figure")
if not user.may(Permission.VIEW_MONEY):
    st.caption("The gifts behind the figures need a finance role.")
    st.stop()
d1, d2, d3 = st.columns(3)
dyear = d1.selectbox("Year", list(range(last, first - 1, -1)), key="drill_year")
dcat = d2.selectbox("Category", [None, *IncomeCategory], key="drill_category",
                    format_func=lambda c: "All categories" if c is None else CATEGORY_LABELS[c][0])
page_no = int(d3.number_input("Page", min_value=1, value=1, step=1, key="drill_page")) - 1
with common.db() as s:
    page = income.gifts_behind(s, year=dyear, category=dcat, fund_id=fund, campaign_id=campaign, months=months,
                               page=page_no)
st.caption(f"{page.total_rows:,} ledger rows, {common.money(page.total_minor)} net · page {page.page + 1} of {page.pages}")
st.dataframe(pd.DataFrame([{"Gift": g.id, "Date": g.received_on, "Donor": g.donor_id, "Name": g.donor_name,
                            "Type": g.entry_type, "Amount": common.money(g.amount_minor, g.currency),
                            "Category": g.category, "Channel": g.channel, "Source": g.source,
                            "Reference": g.external_ref} for g in page.rows],
                          columns=["Gift", "Date", "Donor", "Name", "Type", "Amount", "Category", "Channel", "Source",
                                   "Reference"]),
             hide_index=True, width="stretch")
