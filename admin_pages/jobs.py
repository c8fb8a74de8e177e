"""Jobs: the scheduler's run log, failures first."""

from __future__ import annotations

import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission

common.require(Permission.VIEW_MONEY)
st.title("Jobs")
common.missing("The job run log", "the scheduler's JobRun table")
