"""Jobs: the scheduler's run log, failures first."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.reports import operations

common.require(Permission.VIEW_MONEY)
st.title("Jobs")
only_failed = st.checkbox("Failures only", key="jobs_failed")
with common.db() as s:
    runs = operations.job_runs(s)
if only_failed:
    runs = [r for r in runs if r.outcome == "failed"]
st.metric("Failed runs in the log", sum(1 for r in runs if r.outcome == "failed"))
st.dataframe(pd.DataFrame([{"Job": r.job, "Slot": r.slot, "Outcome": r.outcome, "Started": r.started_at,
                            "Finished": r.finished_at, "Error": r.error or "", "Counts": str(r.counts or "")}
                           for r in runs],
                          columns=["Job", "Slot", "Outcome", "Started", "Finished", "Error", "Counts"]),
             hide_index=True, width="stretch")
