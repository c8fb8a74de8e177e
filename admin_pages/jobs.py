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
stalled = sum(1 for r in runs if r.stalled)
if stalled:
    st.warning(f"{stalled} run(s) stopped beating while running (the process died); the next firing of the"
               " same slot takes over and resumes.")
columns = ["Job", "Slot", "Outcome", "Attempt", "Started", "Last heartbeat", "Finished", "Error", "Counts"]
st.dataframe(pd.DataFrame([{"Job": r.job, "Slot": r.slot, "Outcome": "stalled" if r.stalled else r.outcome,
                            "Attempt": r.attempt, "Started": r.started_at, "Last heartbeat": r.heartbeat_at,
                            "Finished": r.finished_at, "Error": r.error or "", "Counts": str(r.counts or "")}
                           for r in runs], columns=columns),
             hide_index=True, width="stretch")
