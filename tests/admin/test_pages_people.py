"""Donors, Recurring & SEPA, Jobs and Users pages: role checks, filters, actions."""

import pytest
from sqlalchemy import select

from admin_pages.common import money
from donorcrm.audit import AuditLog
from donorcrm.auth import get_user
from donorcrm.donors.models import Donor
from donorcrm.reports import donors as donor_report
from donorcrm.reports import recurring
from tests.admin.conftest import page


@pytest.mark.parametrize(("name", "role"), [("donors", "viewer"), ("recurring", "fundraiser"),
                                            ("jobs", "viewer"), ("users", "finance")])
def test_a_role_that_may_not_see_a_page_is_denied_even_by_direct_link(db_url: str, name: str, role: str) -> None:
    at = page(name, role)
    assert any("Access denied" in e.value for e in at.error)
    assert not at.dataframe and not at.metric


@pytest.mark.parametrize("name", ["donors", "recurring", "jobs", "users"])
def test_pages_need_a_login(db_url: str, name: str) -> None:
    at = page(name)
    assert any("log in" in w.value for w in at.warning)


def test_donor_search_by_name_and_iban_digits_and_the_profile(db_url: str, report_session) -> None:
    at = page("donors", "fundraiser")
    at.text_input(key="donor_q").input("jansen").run()
    hits = donor_report.search_donors(report_session, "jansen")
    assert hits and list(at.dataframe[0].value["Donor"]) == [h.id for h in hits]
    at.text_input(key="donor_q").input("4300").run()  # last four digits of the IBAN
    hits = donor_report.search_donors(report_session, "4300")
    assert [h.id for h in hits] == list(at.dataframe[0].value["Donor"]) and hits
    p = donor_report.profile(report_session, hits[0].id)
    assert _metric(at, "Given in total (non-reversed)") == money(p.lifetime_minor)
    # Fundraisers see no bank details at all, not even masked: the mandate shows without its account.
    assert any("finance role" in c.value for c in at.caption)
    assert not any("NL91" in md.value for md in at.markdown)
    mandate_tables = [df.value for df in at.dataframe if "reference" in df.value.columns]
    assert mandate_tables and "iban" not in mandate_tables[0].columns


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_finance_reveals_an_iban_on_demand_and_it_is_audited(db_url: str, report_session) -> None:
    at = page("donors", "finance")
    at.text_input(key="donor_q").input("4300").run()
    assert any("NL91 **** 4300" in md.value for md in at.markdown)
    assert not any("NL91ABNA0417164300" in md.value for md in at.markdown)
    reveal = next(b for b in at.button if b.key and b.key.startswith("reveal_"))
    reveal.click().run()
    assert any("NL91ABNA0417164300" in md.value for md in at.markdown)
    actions = report_session.execute(
        select(AuditLog.actor).where(AuditLog.action == "donor.iban_revealed")).scalars().all()
    assert "admin:finance" in actions


def test_edit_and_erasure_needs_the_typed_confirmation(db_url: str, report_session) -> None:
    at = page("donors", "admin")
    at.text_input(key="donor_q").input("Visser7").run()
    donor_id = at.session_state["donor_id"]
    at.text_input(key="edit_city").input("Zwolle")
    at.button(key="edit_save").click().run()
    report_session.expire_all()
    assert report_session.get(Donor, donor_id).city == "Zwolle"

    at.text_input(key="erase_confirm").input("erase please")
    at.button(key="erase_go").click().run()
    report_session.expire_all()
    assert report_session.get(Donor, donor_id).status == "active"
    assert any("Type exactly" in e.value for e in at.error)
    at.text_input(key="erase_confirm").input(f"ERASE {donor_id}")
    at.button(key="erase_go").click().run()
    report_session.expire_all()
    assert report_session.get(Donor, donor_id).status == "erased"


def test_fundraisers_cannot_erase(db_url: str) -> None:
    at = page("donors", "fundraiser")
    at.text_input(key="donor_q").input("jansen").run()
    assert all(t.key != "erase_confirm" for t in at.text_input)
    assert any(t.key == "edit_city" for t in at.text_input)


def test_merge_moves_the_duplicate(db_url: str, report_session) -> None:
    at = page("donors", "fundraiser")
    at.text_input(key="donor_q").input("Visser8").run()
    survivor = at.session_state["donor_id"]
    dup = donor_report.search_donors(report_session, "Visser10")[0].id
    at.number_input(key="merge_dup").set_value(dup)
    at.checkbox(key="merge_sure").check().run()
    at.button(key="merge_go").click().run()
    report_session.expire_all()
    assert report_session.get(Donor, dup).merged_into_id == survivor


def test_recurring_figures_equal_the_report_and_the_route_filter_changes_them(db_url: str, report_session) -> None:
    at = page("recurring", "finance")
    groups = [g for g in recurring.commitments_by_status(report_session) if g.status == "active"]
    assert _metric(at, "Active commitments") == f"{sum(g.commitments for g in groups):,}"
    assert _metric(at, "Active value per month") == money(sum(g.monthly_minor for g in groups))
    at.selectbox(key="recurring_route").set_value("mollie").run()
    groups = [g for g in recurring.commitments_by_status(report_session, route="mollie") if g.status == "active"]
    assert _metric(at, "Active commitments") == f"{sum(g.commitments for g in groups):,}"
    assert not at.exception
    at.button(key="recurring_preview").click().run()
    assert not at.exception and any(m.label == "Collections" for m in at.metric)


def test_jobs_page_lists_the_job_log(db_url: str) -> None:
    at = page("jobs", "admin")
    assert not at.exception
    assert list(at.dataframe[0].value.columns)[:3] == ["Job", "Slot", "Outcome"]


def test_admin_adds_a_user_and_changes_a_role(db_url: str, report_session) -> None:
    at = page("users", "admin")
    assert "viewer" in list(at.dataframe[0].value["Username"])
    at.text_input(key="user_new_name").input("newbie")
    at.selectbox(key="user_new_role").set_value("viewer")
    at.text_input(key="user_new_password").input("long-enough-1")
    at.button(key="user_add").click().run()
    assert "newbie" in list(at.dataframe[0].value["Username"])
    at.selectbox(key="user_role_who").set_value("newbie")
    at.selectbox(key="user_role_new").set_value("fundraiser")
    at.button(key="user_role_go").click().run()
    report_session.expire_all()
    assert get_user(report_session, "newbie").role == "fundraiser"
