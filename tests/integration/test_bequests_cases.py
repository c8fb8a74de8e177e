"""Legacy cases on a real database: stages, contacts, distributions in the ledger and recognition."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import Session

from donorcrm import audit
from donorcrm.bequests import reports, service
from donorcrm.bequests.models import BequestPledge, ContactRole, PledgeStatus
from donorcrm.bequests.rules import Stage
from donorcrm.donors.models import DonorStatus
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import reverse_gift
from donorcrm.money import Money
from tests import factories

D = dt.date


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


def test_a_pledger_dies_and_a_case_follows_the_pipeline(session: Session) -> None:
    donor = factories.donor(session, last_name="Jansen")
    pledge = service.create_pledge(session, donor.id, learned_on=D(2019, 5, 1), learned_how="legacy form",
                                   estimate=eur(50_000_00), steward="Anna")
    assert [p.id for p in service.pledges_for_donor(session, donor.id)] == [pledge.id]
    profile = reports.donor_legacy_profile(session, donor.id)
    assert [(p.status, p.steward) for p in profile["pledges"]] == [("intended", "Anna")]
    assert profile["cases"] == [] and profile["open_check"] is None

    with audit.acting_as("cli:anna"):
        case = service.open_case(session, donor_id=donor.id, notified_on=D(2026, 2, 3), deceased_on=D(2026, 1, 20),
                                 kind="residuary", dutch_form="erfstelling", share_bp=2500,
                                 estimate=eur(80_000_00), estimate_source="notary letter")
    assert case.reference == f"L2026-{case.id:05d}"
    assert case.deceased_name == "Test Jansen" and case.pledge_id == pledge.id
    assert donor.status == DonorStatus.DECEASED and donor.deceased_on == D(2026, 1, 20)
    assert session.get(BequestPledge, pledge.id).status == PledgeStatus.DECEASED
    assert [c.reference for c in reports.donor_legacy_profile(session, donor.id)["cases"]] == [case.reference]

    service.add_contact(session, case.id, ContactRole.NOTARY, "Mr. de Vries", organisation="Notariaat Utrecht")
    service.add_contact(session, case.id, ContactRole.CO_BENEFICIARY, "KWF", share_bp=7500)
    assert [c.role for c in service.contacts(session, case.id)] == ["notary", "co_beneficiary"]

    service.receive_documents(session, case.id, D(2026, 3, 1))
    service.start_administration(session, case.id, D(2026, 3, 2))
    with pytest.raises(InvalidState, match="back"):
        service.receive_documents(session, case.id, D(2026, 3, 3))
    with pytest.raises(ValidationError, match="cannot move on"):
        service.dispute_case(session, case.id, D(2026, 2, 1))

    advance = service.record_distribution(session, case.id, eur(20_000_00), D(2026, 6, 1),
                                          external_ref="bank-1")
    assert case.stage == Stage.INTERIM and case.stage_since == D(2026, 6, 1)
    assert (advance.category, advance.bequest_id, advance.donor_id) == ("individual_bequest", case.id, donor.id)
    again = service.record_distribution(session, case.id, eur(20_000_00), D(2026, 6, 1), external_ref="bank-1")
    assert again.id == advance.id

    service.receive_estate_accounts(session, case.id, D(2026, 11, 1))
    assert case.deed_on == D(2026, 11, 1)
    service.set_estimate(session, case.id, eur(78_000_00), on=D(2026, 11, 1), source="estate accounts",
                         reliable=True)
    service.record_distribution(session, case.id, eur(58_000_00), D(2027, 1, 10), final=True)
    assert case.stage == Stage.FINAL
    service.close_case(session, case.id, D(2027, 1, 20))
    assert service.received(session, case.id) == eur(78_000_00)
    with pytest.raises(InvalidState, match="closed"):
        service.record_distribution(session, case.id, eur(1_00), D(2027, 2, 1))

    history = [(e.from_stage, e.to_stage, e.entered_on) for e in service.stage_history(session, case.id)]
    assert history == [
        (None, "notified", D(2026, 2, 3)), ("notified", "documents", D(2026, 3, 1)),
        ("documents", "administration", D(2026, 3, 2)), ("administration", "interim_distribution", D(2026, 6, 1)),
        ("interim_distribution", "estate_accounts", D(2026, 11, 1)),
        ("estate_accounts", "final_distribution", D(2027, 1, 10)), ("final_distribution", "closed", D(2027, 1, 20)),
    ]
    assert service.stage_history(session, case.id)[0].actor == "cli:anna"

    # RJ 650: 2026 recognises the deed's 78,000 with 20,000 received; 2027 only receives the rest.
    y26 = {r.case_id: r for r in reports.recognised_vs_received(session, 2026)["cases"]}[case.id]
    assert (y26.recognised_minor, y26.received_minor, y26.receivable_minor) == (78_000_00, 20_000_00, 58_000_00)
    y27 = {r.case_id: r for r in reports.recognised_vs_received(session, 2027)["cases"]}[case.id]
    assert (y27.recognised_minor, y27.received_minor, y27.receivable_minor) == (0, 58_000_00, 0)


def test_a_case_for_someone_who_was_never_a_donor(session: Session) -> None:
    case = service.open_case(session, deceased_name="H. Bakker", notified_on=D(2026, 4, 1), kind="pecuniary",
                             dutch_form="legaat", estimate=eur(5_000_00), estimate_reliable=True)
    assert case.donor_id is None
    service.receive_documents(session, case.id, D(2026, 4, 10))
    service.start_administration(session, case.id, D(2026, 5, 1))
    gift = service.record_distribution(session, case.id, eur(5_000_00), D(2026, 7, 1), final=True)
    assert gift.donor_id is None and gift.bequest_id == case.id
    # An advance for a case we were only just notified of: documents and administration come first.
    other = service.open_case(session, deceased_name="X", notified_on=D(2026, 4, 1), kind="pecuniary")
    with pytest.raises(InvalidState, match="without passing"):
        service.record_distribution(session, other.id, eur(1_00), D(2026, 4, 2))


def test_case_validation_collects_problems(session: Session) -> None:
    with pytest.raises(ValidationError) as err:
        service.open_case(session, notified_on=D(2026, 1, 1), deceased_on=D(2026, 2, 1), kind="residuary")
    text = str(err.value)
    assert "share" in text and "name" in text and "death" in text
    with pytest.raises(ValidationError):
        service.open_case(session, deceased_name="Y", notified_on=D(2026, 1, 1), kind="heirloom")


def test_a_dispute_resumes_the_interrupted_stage(session: Session) -> None:
    case = service.open_case(session, deceased_name="Z", notified_on=D(2026, 1, 1), kind="pecuniary")
    service.receive_documents(session, case.id, D(2026, 1, 5))
    service.dispute_case(session, case.id, D(2026, 2, 1), note="heirs contest the will")
    assert (case.stage, case.resume_stage) == (Stage.DISPUTED, Stage.DOCUMENTS)
    service.resolve_dispute(session, case.id, D(2026, 5, 1))
    assert (case.stage, case.resume_stage, case.stage_since) == (Stage.DOCUMENTS, None, D(2026, 5, 1))
    service.renounce_case(session, case.id, D(2026, 6, 1))
    assert case.closed_on == D(2026, 6, 1)
    with pytest.raises(InvalidState):
        service.start_administration(session, case.id, D(2026, 7, 1))


def test_usufruct_lowers_recognition_until_the_life_tenant_dies(session: Session) -> None:
    case = service.open_case(session, deceased_name="W", notified_on=D(2025, 3, 1), kind="life_interest",
                             estimate=eur(100_000_00), estimate_reliable=True)
    service.add_contact(session, case.id, "life_tenant", "Mrs. W", birth_date=D(1940, 1, 1))
    service.set_usufruct(session, case.id, eur(35_000_00))
    rec = {r.case_id: r for r in reports.recognised_vs_received(session, 2025)["cases"]}
    assert rec[case.id].recognised_minor == 65_000_00
    service.life_tenant_died(session, case.id, D(2026, 9, 1))
    rec = {r.case_id: r for r in reports.recognised_vs_received(session, 2026)["cases"]}
    assert rec[case.id].recognised_minor == 35_000_00 and rec[case.id].receivable_minor == 100_000_00


def test_linking_an_imported_bequest_gift_and_reversals_count(session: Session) -> None:
    donor = factories.donor(session)
    case = service.open_case(session, donor_id=donor.id, notified_on=D(2026, 1, 1), kind="pecuniary")
    imported = factories.gift(session, donor.id, 7_500_00, D(2026, 3, 1), category="individual_bequest",
                              source="csv", external_ref="imp-1")
    one_off = factories.gift(session, donor.id, 10_00, D(2026, 3, 1))
    with pytest.raises(ValidationError, match="not a bequest"):
        service.link_gift(session, case.id, one_off.id)
    service.link_gift(session, case.id, imported.id)
    assert service.received(session, case.id) == eur(7_500_00)
    reverse_gift(session, imported.id, entry_type="correction", on=D(2026, 3, 5), reason="wrong estate")
    assert service.received(session, case.id) == eur(0)
    reversal = session.execute(select(Gift).where(Gift.reverses_gift_id == imported.id)).scalars().one()
    assert reversal.bequest_id == case.id


def test_pipeline_report_sums_per_stage(session: Session) -> None:
    before = {r.stage: r for r in reports.pipeline_by_stage(session)}
    a = service.open_case(session, deceased_name="A", notified_on=D(2026, 1, 1), kind="pecuniary",
                          estimate=eur(10_000_00))
    service.receive_documents(session, a.id, D(2026, 1, 2))
    service.start_administration(session, a.id, D(2026, 1, 3))
    service.record_distribution(session, a.id, eur(12_000_00), D(2026, 2, 1))  # more than estimated
    b = service.open_case(session, deceased_name="B", notified_on=D(2026, 1, 1), kind="pecuniary",
                          estimate=eur(3_000_00))
    rows = {r.stage: r for r in reports.pipeline_by_stage(session)}
    assert list(rows)[:3] == ["notified", "documents", "administration"]
    assert rows["interim_distribution"].cases - before["interim_distribution"].cases == 1
    assert rows["interim_distribution"].received_minor - before["interim_distribution"].received_minor == 12_000_00
    assert rows["interim_distribution"].outstanding_minor - before["interim_distribution"].outstanding_minor == 0
    assert rows["notified"].estimated_minor - before["notified"].estimated_minor == 3_000_00
    listed = [r.reference for r in reports.case_rows(session, stage="notified", on=D(2026, 1, 5))]
    assert b.reference in listed and a.reference not in listed
