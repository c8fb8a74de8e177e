"""The donorcrm admin: login, role check and the page list. Pages live in admin_pages/."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from admin_pages import common, login
from donorcrm.auth import Permission


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    permission: Permission


PAGES = (
    PageSpec("admin_pages/overview.py", "Overview", ":material/dashboard:", Permission.VIEW_REPORTS),
    PageSpec("admin_pages/growth.py", "Donor growth", ":material/trending_up:", Permission.VIEW_REPORTS),
    PageSpec("admin_pages/income.py", "Income breakdown", ":material/account_balance:", Permission.VIEW_REPORTS),
    PageSpec("admin_pages/donors.py", "Donors", ":material/group:", Permission.VIEW_DONORS),
    PageSpec("admin_pages/recurring.py", "Recurring & SEPA", ":material/autorenew:", Permission.VIEW_MONEY),
    PageSpec("admin_pages/campaigns.py", "Campaigns", ":material/campaign:", Permission.VIEW_REPORTS),
    PageSpec("admin_pages/bequests.py", "Bequests", ":material/history_edu:", Permission.VIEW_REPORTS),
    PageSpec("admin_pages/grants.py", "Grants", ":material/handshake:", Permission.VIEW_REPORTS),
    PageSpec("admin_pages/receipts.py", "Receipts", ":material/receipt_long:", Permission.VIEW_MONEY),
    PageSpec("admin_pages/reconciliation.py", "Reconciliation", ":material/account_balance_wallet:",
             Permission.VIEW_MONEY),
    PageSpec("admin_pages/jobs.py", "Jobs", ":material/schedule:", Permission.VIEW_MONEY),
    PageSpec("admin_pages/users.py", "Users", ":material/manage_accounts:", Permission.MANAGE_USERS),
)

st.set_page_config(page_title="donorcrm admin", page_icon=":material/volunteer_activism:", layout="wide")

user = common.current_user()
if user is None:
    page = st.navigation([st.Page(login.render, title="Log in", icon=":material/login:")])
else:
    allowed = [st.Page(p.path, title=p.title, icon=p.icon) for p in PAGES if user.may(p.permission)]
    page = st.navigation(allowed)
    with st.sidebar:
        st.caption(f"{user.full_name or user.username} · {user.role}")
        if st.button("Log out", key="logout"):
            common.log_out("You are logged out.")
            st.rerun()
page.run()
