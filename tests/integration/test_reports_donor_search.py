"""Donor search: each way of finding a donor, case-insensitive where people type loosely, and exact
about wildcard characters."""

from sqlmodel import Session

from donorcrm.donors.service import add_account
from donorcrm.reports.donors import search_donors
from tests import factories


def _ids(hits) -> list[int]:  # type: ignore[no-untyped-def]
    return [h.id for h in hits]


def test_name_prefix_is_case_insensitive_and_ordered_by_last_name(session: Session) -> None:
    b = factories.donor(session, first_name="Anna", last_name="de Vries-Bakker")
    a = factories.donor(session, first_name="Piet", last_name="De Vries")
    c = factories.donor(session, first_name="Kees", name_infix="van der", last_name="Vries")
    assert _ids(search_donors(session, "de vries")) == [a.id, b.id]
    assert _ids(search_donors(session, "DE VRIES-")) == [b.id]
    assert _ids(search_donors(session, "piet de vries")) == [a.id]  # first name + last-name prefix
    assert _ids(search_donors(session, "de vries", limit=1)) == [a.id]
    assert _ids(search_donors(session, "van der vr")) == [c.id]  # the infix is a field of its own
    assert _ids(search_donors(session, "kees vries")) == [c.id]
    assert _ids(search_donors(session, "vries")) == [c.id]


def test_wildcards_in_the_query_are_taken_literally(session: Session) -> None:
    d = factories.donor(session, last_name="100%_Fan")
    factories.donor(session, last_name="100 Fans")
    assert _ids(search_donors(session, "100%_")) == [d.id]
    assert search_donors(session, "1%") == []


def test_organisation_email_postcode_number_and_iban_digits(session: Session) -> None:
    org = factories.donor(session, kind="organisation", organisation_name="Stichting Zonnebloem", last_name=None)
    mail = factories.donor(session, email="Mixed.Case@Example.org")
    post = factories.donor(session, postcode="9999 ZZ")
    ref = factories.donor(session, reference="4711")
    add_account(session, post.id, "NL91 ABNA 0417 1643 00")
    assert _ids(search_donors(session, "stichting zon")) == [org.id]
    assert _ids(search_donors(session, "mixed.case@example.ORG")) == [mail.id]
    assert _ids(search_donors(session, "9999zz")) == [post.id]
    assert _ids(search_donors(session, str(mail.id), by="number")) == [mail.id]
    assert _ids(search_donors(session, "4711")) == [ref.id]
    assert _ids(search_donors(session, "4300")) == [post.id]
    assert search_donors(session, "   ") == []
