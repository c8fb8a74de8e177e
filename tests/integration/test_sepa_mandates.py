import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import Session

from donorcrm.donors.models import DonorAccount
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.sepa import mandates
from tests import factories
from tests.sepa_factories import SETTINGS, iban_for, sepa_donor


def test_a_mandate_gets_a_reference_a_bic_and_a_donor_account(session: Session) -> None:
    donor = factories.donor(session)
    m = mandates.create_mandate(session, donor_id=donor.id, iban="nl91 abna 0417 1643 00", holder="A. de Vries",
                                signed_on=dt.date(2026, 1, 1), settings=SETTINGS)
    assert m.reference == f"DCRM-{m.id:09d}" and len(m.reference) <= 35
    assert m.iban == "NL91ABNA0417164300" and m.bic == "ABNANL2A"
    assert m.creditor_id == SETTINGS.creditor_id and m.scheme == "CORE" and m.kind == "recurrent"
    accounts = session.execute(select(DonorAccount).where(DonorAccount.donor_id == donor.id)).scalars().all()
    assert [(a.iban, a.source) for a in accounts] == [("NL91ABNA0417164300", "mandate")]
    view = mandates.view(m)
    assert view.iban == "NL91 **** 4300" and "0417" not in str(view.as_dict())


def test_invalid_iban_and_reference_are_refused(session: Session) -> None:
    donor = factories.donor(session)
    with pytest.raises(ValidationError):
        mandates.create_mandate(session, donor_id=donor.id, iban="NL91ABNA0417164301", holder="X",
                                signed_on=dt.date(2026, 1, 1), settings=SETTINGS)
    for bad in ("X" * 36, "/ABC", "A//B", "Ünïcode"):
        with pytest.raises(ValidationError):
            mandates.create_mandate(session, donor_id=donor.id, iban=iban_for(1), holder="X", reference=bad,
                                    signed_on=dt.date(2026, 1, 1), settings=SETTINGS)


def test_references_are_unique_per_creditor(session: Session) -> None:
    donor = factories.donor(session)
    mandates.create_mandate(session, donor_id=donor.id, iban=iban_for(2), holder="X", reference="GIVEN-1",
                            signed_on=dt.date(2026, 1, 1), settings=SETTINGS)
    with pytest.raises(ValidationError, match="already used"):
        mandates.create_mandate(session, donor_id=donor.id, iban=iban_for(3), holder="X", reference="GIVEN-1",
                                signed_on=dt.date(2026, 1, 1), settings=SETTINGS)


def test_amending_a_used_mandate_keeps_the_originals_for_the_next_collection(session: Session) -> None:
    _, _, m = sepa_donor(session, iban=iban_for(10, "ABNA"))
    old_iban, old_ref = m.iban, m.reference
    m.last_presented_on = dt.date(2026, 11, 2)
    session.add(m)
    mandates.amend(session, m.id, iban=iban_for(11, "ABNA"), reference="NEW-REF-1")
    assert (m.original_iban, m.original_reference, m.amended_to_other_bank) == (old_iban, old_ref, False)
    mandates.amend(session, m.id, iban=iban_for(12, "INGB"))
    assert m.original_iban == old_iban and m.amended_to_other_bank  # a move to another bank: SMNDA
    assert m.bic == "INGBNL2A"


def test_cancel_and_the_expiry_sweep(session: Session) -> None:
    _, _, a = sepa_donor(session, signed_on=dt.date(2022, 1, 10))
    _, _, b = sepa_donor(session, signed_on=dt.date(2022, 1, 10))
    _, _, c = sepa_donor(session, signed_on=dt.date(2023, 1, 20))
    b.last_presented_on = dt.date(2024, 1, 3)  # presented, even if returned afterwards
    session.add(b)
    session.flush()
    ours = {a.id, b.id, c.id}
    # c expires on 20 Jan 2026 (36 months after signing): on the warning list a month ahead
    assert {v.id for v in mandates.expiring(session, dt.date(2025, 12, 25))} & ours == {c.id}
    assert mandates.expire_unused(session, dt.date(2025, 12, 25)) >= 1
    for m in (a, b, c):
        session.refresh(m)
    # a: 36 months after signing are over; b: counted from its last presented collection (3 Jan 2024)
    assert (a.status, b.status, c.status) == ("expired", "active", "active")
    mandates.cancel(session, b.id, reason="donor request")
    assert b.status == "cancelled"
    with pytest.raises(InvalidState):
        mandates.amend(session, b.id, iban=iban_for(99))


def test_warning_list_and_sweep_follow_the_rule_around_month_ends(session: Session) -> None:
    """The database only narrows the read; at every month-end clip the lists equal the pure rule's answer."""
    from donorcrm.commitments.rules import add_months, mandate_expires_on

    anchors = [dt.date(2023, 1, 28) + dt.timedelta(days=i) for i in range(0, 40, 1)]  # 28 Jan .. 8 Mar 2023
    made = []
    for i, anchor in enumerate(anchors):
        _, _, m = sepa_donor(session, signed_on=anchor - dt.timedelta(days=400) if i % 2 else anchor)
        if i % 2:
            m.last_presented_on = anchor
            session.add(m)
        made.append(m)
    session.flush()
    ours = {m.id for m in made}
    for on in [dt.date(2025, 12, 27) + dt.timedelta(days=i) for i in range(0, 75, 2)]:
        expected = {m.id for m in made
                    if on < mandate_expires_on(m.signed_on, m.last_presented_on) <= add_months(on, 1)}
        assert {v.id for v in mandates.expiring(session, on)} & ours == expected, on
    on = dt.date(2026, 2, 28)
    due = {m.id for m in made if mandate_expires_on(m.signed_on, m.last_presented_on) <= on}
    mandates.expire_unused(session, on)
    for m in made:
        session.refresh(m)
    assert {m.id for m in made if m.status == "expired"} == due and due and due != ours
