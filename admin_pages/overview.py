"""Overview: donors, active recurring giving, income year-to-date and retention."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.reports import overview

common.require(Permission.VIEW_REPORTS)
st.title("Overview")
as_of = st.date_input("As of", value=dt.date.today(), key="overview_as_of")
with common.db() as s:
    o = overview.overview(s, as_of)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Active donors", f"{o.active_donors:,}")
c2.metric("Active recurring commitments", f"{o.active_commitments:,}")
c3.metric("Recurring value per month", common.money(o.commitments_monthly_minor))
c4.metric(f"Retention {o.retention_year}", common.pct(o.retention_last_year))
c5, c6, c7 = st.columns(3)
c5.metric(f"Income {o.today.year} to {o.today:%d %b}", common.money(o.ytd.this_year_minor),
          delta=None if o.ytd.change is None else f"{o.ytd.change * 100:+.1f}% on last year")
c6.metric(f"Same period {o.today.year - 1}", common.money(o.ytd.last_year_minor))
c7.metric(f"Donors who gave in {o.today.year}", f"{o.donors_this_year:,}")
