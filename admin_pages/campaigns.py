"""Campaigns: results per campaign, a campaign's thermometer and chart over time, its costs and funnel;
fundraisers approve supporters' pages and run match pools here."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm import audit
from donorcrm.auth import Permission
from donorcrm.campaigns import actions, reports, service
from donorcrm.campaigns.models import CampaignKind
from donorcrm.errors import DonorCrmError
from donorcrm.money import Money

user = common.require(Permission.VIEW_REPORTS)
st.title("Campaigns")

year_options = ["All years", *range(dt.date.today().year, 2014, -1)]
choice = st.selectbox("Year", year_options, index=0, key="campaigns_year")
year = None if choice == "All years" else int(choice)
with common.db() as s:
    results = reports.campaign_results(s, year)
    ratio = reports.fundraising_cost_ratio(s, year) if year else None
if not results:
    common.missing("campaigns", "campaigns created with the campaign services or the demo")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("Raised", common.money(sum(r.raised_minor for r in results if r.parent_code is None)))
c2.metric("Matched", common.money(sum(r.matched_minor for r in results if r.parent_code is None)))
c3.metric("Campaign costs", common.money(sum(r.cost_minor for r in results if r.parent_code is None)))
c4.metric("Fundraising cost ratio", "–" if ratio is None or ratio.ratio is None else f"{ratio.ratio}%")

table = pd.DataFrame([{
    "Code": r.code, "Name": r.name, "Kind": r.kind, "Parent": r.parent_code or "",
    "Raised": common.money(r.raised_minor), "Matched": common.money(r.matched_minor),
    "Cost": common.money(r.cost_minor), "Net": common.money(r.net_minor), "Cost %": r.cost_ratio,
    "ROI": r.roi, "New donors": r.new_donors, "Average gift": common.money(r.average_gift_minor),
    "Retained %": r.acquired_retention,
} for r in results])
st.dataframe(table, hide_index=True, width="stretch")

code = st.selectbox("Campaign", [r.code for r in results], key="campaigns_code")
with common.db() as s:
    therm = service.thermometer(s, code)
    timeline = reports.campaign_timeline(s, code)
    campaign = service.get_campaign(s, code)
    funnel = actions.funnel(s, code) if campaign.kind in actions.ACTION_KINDS else None
    pages = service.list_pages(s, code)
    pools = service.list_pools(s, code)

st.subheader(therm.name)
t1, t2, t3, t4 = st.columns(4)
t1.metric("Goal", common.money(therm.goal_minor) if therm.goal_minor else "–")
t2.metric("Raised (net of refunds)", common.money(therm.raised_minor))
t3.metric("Matched", common.money(therm.matched_minor))
t4.metric("Donors", f"{therm.donors:,}")
if therm.goal_minor:
    st.progress(min(1.0, therm.total_minor / therm.goal_minor),
                text=f"{100 * therm.total_minor / therm.goal_minor:.0f}% of the goal, matching included")
if timeline:
    frame = pd.DataFrame([{"Day": d, "Raised": common.euros(v)} for d, v in timeline])
    frame["Cumulative"] = frame["Raised"].cumsum()
    st.altair_chart(alt.Chart(frame).mark_area(opacity=0.6).encode(x="Day:T", y="Cumulative:Q"), width="stretch")
if funnel is not None:
    st.subheader("Funnel")
    st.dataframe(pd.DataFrame([
        {"Step": "Signers", "People": funnel.signers},
        {"Step": "New contacts", "People": funnel.new_contacts},
        {"Step": "May be e-mailed", "People": funnel.contactable},
        {"Step": f"First gift within {funnel.within_days} days", "People": funnel.first_gift},
        {"Step": "Still giving a year later", "People": funnel.still_giving},
    ]), hide_index=True)

may_manage = user.may(Permission.MANAGE_CAMPAIGNS)
st.subheader("Pages")
if pages:
    st.dataframe(pd.DataFrame([{"Page": p.slug, "Title": p.title, "Kind": p.kind, "Status": p.status,
                                "Goal": common.money(p.goal_minor)} for p in pages]), hide_index=True)
pending = [p.slug for p in pages if p.status == "pending"]
if may_manage and pending:
    slug = st.selectbox("Pending page", pending, key="campaigns_pending")
    a, b = st.columns(2)
    for col, approve, label in ((a, True, "Approve"), (b, False, "Reject")):
        if col.button(label, key=f"campaigns_{label.lower()}"):
            with audit.acting_as(user.username), common.db() as s:
                service.review_page(s, slug, approve=approve)
            st.rerun()

st.subheader("Match pools")
for pool in pools:
    st.write(f"**{pool.name}** · {pool.ratio_numerator}:{pool.ratio_denominator} · cap "
             f"{common.money(pool.cap_total_minor)} · matched {common.money(pool.matched_minor)} · {pool.status}")
if may_manage and campaign.kind in (CampaignKind.CROWDFUNDING, CampaignKind.PEER_TO_PEER, CampaignKind.APPEAL):
    with st.form("new_pool"):
        st.caption("New match pool")
        funder = st.number_input("Funder's donor number", min_value=1, step=1)
        name = st.text_input("Name")
        cap = st.text_input("Total cap (EUR)", "10.000,00")
        per_gift = st.text_input("Cap per gift (EUR, empty for none)", "")
        start = st.date_input("From", campaign.starts_on or dt.date.today())
        end = st.date_input("To", campaign.ends_on or dt.date.today())
        if st.form_submit_button("Create pool"):
            try:
                with audit.acting_as(user.username), common.db() as s:
                    service.create_match_pool(
                        s, code, int(funder), name or "Match pool", cap_total=Money.parse(cap, "EUR", "nl"),
                        cap_per_gift=Money.parse(per_gift, "EUR", "nl") if per_gift.strip() else None,
                        starts_on=start, ends_on=end)
                st.rerun()
            except DonorCrmError as exc:
                st.error(str(exc))
