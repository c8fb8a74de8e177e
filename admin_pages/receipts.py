"""Receipts: issuance runs and their progress, a donor's receipts with their documents, void and replace
(finance), the correction queue of receipts hit by reversals, and the Gift Aid claim export."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from admin_pages import common
from donorcrm.auth import Permission
from donorcrm.errors import DonorCrmError
from donorcrm.receipts import giftaid, reports, service
from donorcrm.receipts.models import ReceiptStatus

user = common.require(Permission.VIEW_MONEY)
may_move = user.may(Permission.MOVE_MONEY)
st.title("Receipts")
for kind in ("success", "error"):
    message = st.session_state.pop(f"receipts_{kind}", None)
    if message:
        getattr(st, kind)(message)

RECEIPT_COLUMNS = ["Number", "Year", "Country", "Kind", "Donor", "Name", "Total", "Eligible", "Status",
                   "Issued on", "Correction needed", "Void reason"]


def receipts_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Number": r["number"], "Year": r["year"], "Country": r["jurisdiction"], "Kind": r["kind"],
        "Donor": r["donor_id"], "Name": r["name"], "Total": common.money(r["total_minor"], r["currency"]),
        "Eligible": common.money(r["eligible_minor"], r["currency"]), "Status": r["status"],
        "Issued on": r["issued_on"], "Correction needed": r["correction_reason"], "Void reason": r["void_reason"],
    } for r in rows], columns=RECEIPT_COLUMNS)


def void_form(number: str, key: str) -> None:
    """Void a live receipt and issue its replacement from the ledger; the service writes the audit trail."""
    with st.form(f"receipts_void_{key}"):
        st.caption(f"Void {number} and issue a replacement")
        reason = st.text_input("Reason (required, kept with the cancelled receipt)", key=f"receipts_reason_{key}")
        replace = st.checkbox("Issue a replacement", value=True, key=f"receipts_replace_{key}")
        if not st.form_submit_button("Void receipt", type="primary"):
            return
    if not reason.strip():
        st.error("Give a reason for the void.")
        return
    try:
        with common.db() as s:
            result = service.void_receipt(s, number, reason=reason, replace=replace)
            done = f"{result.voided.number} is cancelled"
            done += f"; replaced by {result.replacement.number}." if result.replacement else "; no replacement due."
    except DonorCrmError as exc:
        st.error(str(exc))
        return
    st.session_state["receipts_success"] = done
    st.rerun()


def receipt_detail(row: dict[str, Any], key: str) -> None:
    st.write(f"**{row['number']}** · {row['name']} (donor {row['donor_id']}) · {row['year']} · "
             f"{common.money(row['total_minor'], row['currency'])} · {row['status']}")
    try:
        with common.db() as s:
            data = service.receipt_pdf(s, row["number"])
    except DonorCrmError as exc:
        st.info(f"No document: {exc}")
    else:
        st.download_button("Download PDF", data, file_name=f"{row['number']}.pdf", mime="application/pdf",
                           key=f"receipts_pdf_{key}")
    if may_move and row["status"] == ReceiptStatus.ISSUED:
        void_form(row["number"], key)


# Issuance runs
with common.db() as s:
    runs = reports.runs(s)
st.subheader("Issuance runs")
if not runs:
    st.info("No issuance runs yet: the January job or `donorcrm receipts issue` starts one.")
for r in runs:
    st.progress(min(1.0, float(r["progress"])),
                text=f"Run {r['run_id']} · {r['year']} · {r['jurisdiction']} · {r['status']}: "
                     f"{r['issued']:,} issued, {r['skipped']:,} skipped, {r['failed']:,} failed, "
                     f"{r['pending']:,} pending of {r['total']:,}")

# A year's summary
this_year = dt.date.today().year
year = int(st.selectbox("Year", list(range(this_year, this_year - 8, -1)), index=1, key="receipts_year"))
with common.db() as s:
    summary = reports.year_summary(s, year)
    queue = reports.correction_queue(s, year)
per = summary["jurisdictions"]
c1, c2, c3 = st.columns(3)
c1.metric("Live receipts", f"{sum(j.get('issued', 0) for j in per.values()):,}")
c2.metric("Voided", f"{sum(j.get('voided', 0) for j in per.values()):,}")
c3.metric("Awaiting correction", f"{summary['needs_correction']:,}")
if per:
    st.dataframe(pd.DataFrame([{"Country": j, "Live": v.get("issued", 0), "Voided": v.get("voided", 0),
                                "Total (live)": common.money(v["total_minor"], v["currency"])}
                               for j, v in sorted(per.items())]), hide_index=True)

# Search
st.subheader("Find receipts")
query = st.text_input("Donor number, name or receipt number", key="receipts_search").strip()
all_years = st.checkbox("All years", value=False, key="receipts_all_years")
if query:
    with common.db() as s:
        found = reports.search(s, year=None if all_years else year,
                               **({"donor_id": int(query)} if query.isdigit() else {"text": query}))
    if not found:
        st.info("No receipts match.")
    else:
        st.dataframe(receipts_table(found), hide_index=True, width="stretch")
        by_number = {r["number"]: r for r in found}
        pick = st.selectbox("Receipt", list(by_number), key="receipts_pick")
        receipt_detail(by_number[pick], "search")

# Correction queue
st.subheader("Correction queue")
st.caption("Live receipts holding a gift that was reversed or received after issue: void and replace them.")
if may_move and st.button("Check the ledger for reversals", key="receipts_sweep"):
    with common.db() as s:
        flagged = service.flag_corrections(s, year)
    st.session_state["receipts_success"] = f"{flagged} receipt(s) newly flagged."
    st.rerun()
if not queue:
    st.write(f"Nothing to correct for {year}.")
else:
    st.dataframe(receipts_table(queue), hide_index=True, width="stretch")
    flagged_by_number = {r["number"]: r for r in queue}
    pick = st.selectbox("Flagged receipt", list(flagged_by_number), key="receipts_queue_pick")
    receipt_detail(flagged_by_number[pick], "queue")

# Gift Aid
st.subheader("Gift Aid claim")
st.caption("Eligible, unclaimed GBP gifts of the period in HMRC's schedule layout. A preview records nothing; "
           "recording the claim marks its gifts as claimed so they are never claimed twice.")
g1, g2, g3 = st.columns(3)
date_from = g1.date_input("From", dt.date(year, 1, 1), key="receipts_ga_from")
date_to = g2.date_input("To", dt.date(year, 12, 31), key="receipts_ga_to")
aggregate = g3.checkbox("Aggregate small donations", key="receipts_ga_aggregate")
if not st.checkbox("Prepare the claim for this period", key="receipts_ga_show"):
    st.stop()
if date_from > date_to:
    st.error("The period ends before it starts.")
    st.stop()
with common.db() as s:
    preview = giftaid.make_claim(s, date_from, date_to, aggregate_small=aggregate, dry_run=True)
m1, m2, m3 = st.columns(3)
m1.metric("Schedule rows", f"{len(preview.rows):,}")
m2.metric("Gifts", preview.gifts.format())
m3.metric("Tax to reclaim", preview.tax.format())
for p in preview.problems:
    st.warning(str(p))
st.download_button("Download preview CSV", preview.csv, file_name=f"giftaid-preview-{date_from}-{date_to}.csv",
                   mime="text/csv", key="receipts_ga_preview")
if may_move and preview.rows and st.button("Record the claim", key="receipts_ga_record"):
    try:
        with common.db() as s:
            result = giftaid.make_claim(s, date_from, date_to, aggregate_small=aggregate)
            claim_id = result.claim.id if result.claim else None
    except DonorCrmError as exc:
        st.error(str(exc))
    else:
        st.session_state["receipts_ga_claim"] = {"id": claim_id, "csv": result.csv}
claimed = st.session_state.get("receipts_ga_claim")
if claimed:
    st.success(f"Claim {claimed['id']} recorded. Download its schedule for HMRC's Charities Online.")
    st.download_button("Download claim CSV", claimed["csv"], file_name=f"giftaid-claim-{claimed['id']}.csv",
                       mime="text/csv", key="receipts_ga_claim_csv")
