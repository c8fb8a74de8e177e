"""Demo data: the model charity's institutional income of 2020, as funders and grants.

The amounts received in 2020 reproduce the annual report's figures (section "Financiën"):
Nationale Postcode Loterij EUR 8,000,000 regular contribution (year one of a 5-year term) plus EUR 2,000,000
extra; private funds EUR 2,700,000 together (Oranjefonds, VSBfonds, Rabo Foundation, Dioraphte and the EU's
AMIF: the report counts AMIF among the funds, the annual accounts put EU money under government subsidies);
Ministry of Justice and Security EUR 9,884,000; Legal Aid Board (Raad voor Rechtsbijstand) EUR 1,100,000;
Ministry of Social Affairs and Employment EUR 1,070,000. The report gives no municipal amounts, so the
municipalities appear as applications for the next year, without 2020 income.

This step books the instalment gifts itself (source "demo-grants", one external reference per instalment),
so a demo builder must not book these institutional gifts a second time. Running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from donorcrm.grants import cofunding, rules, service, spending
from donorcrm.grants.models import Funder, Grant, GrantStage, InstalmentStatus, ReportStatus
from donorcrm.money import Money

SOURCE = "demo-grants"
D = dt.date


def eur(euros: int) -> Money:
    return Money(euros * 100, "EUR")


@dataclass(frozen=True)
class DemoFunder:
    code: str
    name: str
    kind: str
    iban: str
    city: str


FUNDERS = (
    DemoFunder("NPL", "Nationale Postcode Loterij", "lottery", "NL83ABNA0412345678", "Amsterdam"),
    DemoFunder("ORANJE", "Oranje Fonds", "private_fund", "NL20INGB0001234567", "Utrecht"),
    DemoFunder("VSB", "VSBfonds", "private_fund", "NL44RABO0123456789", "Utrecht"),
    DemoFunder("RABO", "Rabo Foundation", "private_fund", "NL73ABNA0555123456", "Utrecht"),
    DemoFunder("DIORAPHTE", "Stichting Dioraphte", "private_fund", "NL36INGB0007654321", "Amsterdam"),
    DemoFunder("AMIF", "EU Asiel-, Migratie- en Integratiefonds (AMIF)", "eu", "NL92RABO0333222111", "Den Haag"),
    DemoFunder("JENV", "Ministerie van Justitie en Veiligheid", "ministry", "NL54ABNA0600700800", "Den Haag"),
    DemoFunder("RVR", "Raad voor Rechtsbijstand", "ministry", "NL31INGB0001122334", "Utrecht"),
    DemoFunder("SZW", "Ministerie van Sociale Zaken en Werkgelegenheid", "ministry", "NL93RABO0987654321",
               "Den Haag"),
    DemoFunder("GEM-AMS", "Gemeente Amsterdam", "municipality", "NL38BNGH0285012345", "Amsterdam"),
    DemoFunder("GEM-UTR", "Gemeente Utrecht", "municipality", "NL83BNGH0285099999", "Utrecht"),
)

# What the annual report says was received in 2020, per funder (EUR).
REPORTED_2020: dict[str, int] = {
    "NPL": 10_000_000, "ORANJE": 600_000, "VSB": 300_000, "RABO": 225_000, "DIORAPHTE": 150_000,
    "AMIF": 1_425_000, "JENV": 9_884_000, "RVR": 1_100_000, "SZW": 1_070_000,
}
PRIVATE_FUNDS_2020 = 2_700_000  # "in totaal € 2.700.000,- van verschillende fondsen"


@dataclass
class DemoGrants:
    funders: int = 0
    grants: int = 0
    gifts_booked: int = 0
    received: dict[str, Money] = field(default_factory=dict)  # per funder code, in the year
    created: bool = True


def _funders(session: Session) -> dict[str, Funder]:
    out = {}
    for f in FUNDERS:
        out[f.code] = service.create_funder(session, name=f.name, kind=f.kind, code=f.code, iban=f.iban,
                                            city=f.city)
    return out


def _grant(session: Session, funder: Funder, reference: str, title: str, *, awarded: int, applied_on: dt.date,
           decided_on: dt.date, start: dt.date, end: dt.date, purpose: str = "", restricted: bool = True,
           budget: int | None = None, cofunding_percent: str | None = None, cofunding_amount: int | None = None,
           conditions: str = "") -> Grant:
    grant = service.create_application(session, service.GrantApplication(
        funder_id=funder.id, reference=reference, title=title, requested=eur(awarded),  # type: ignore[arg-type]
        budget=eur(budget) if budget else None, purpose=purpose, period_start=start, period_end=end,
        applied_on=applied_on))
    return service.award(session, grant.id, service.Award(  # type: ignore[arg-type]
        awarded=eur(awarded), decided_on=decided_on, conditions=conditions, restricted=restricted,
        cofunding_percent=cofunding_percent, cofunding_amount=eur(cofunding_amount) if cofunding_amount else None))


def demo_step(session: Session, *, as_of: dt.date = D(2020, 12, 31)) -> DemoGrants:
    """Create the funders and grants, receive every instalment due by `as_of` and submit the reports due by
    then. Idempotent: when the funders exist already, nothing is written and the year's receipts are returned."""
    year = 2020
    if session.execute(select(Funder.id).where(Funder.code == "NPL")).first():
        return DemoGrants(created=False, received=received_in_year(session, year))
    summary = DemoGrants()
    f = _funders(session)
    summary.funders = len(f)
    grants: list[Grant] = []

    # Nationale Postcode Loterij: regular contribution, unearmarked, 5-year term, one schedule per year.
    reg = _grant(session, f["NPL"], "NPL-REG-2020-2024", "Reguliere bijdrage 2020-2024", awarded=40_000_000,
                 applied_on=D(2019, 6, 1), decided_on=D(2020, 2, 1), start=D(2020, 1, 1), end=D(2024, 12, 31),
                 restricted=False, conditions="Jaarverslag en jaarrekening uiterlijk 1 juni van het volgende jaar")
    service.plan_instalments(session, reg.id, rules.yearly_schedules(  # type: ignore[arg-type]
        eur(8_000_000), first_year=2020, years=5, pattern=((4, 1, 1),), condition="jaarlijkse bijdrage"))
    for y in range(2020, 2025):
        service.add_report(session, reg.id, kind="annual", due_on=D(y + 1, 6, 1), period_year=y)  # type: ignore[arg-type]
    grants.append(reg)

    extra = _grant(session, f["NPL"], "NPL-EXTRA-2020", "Extra bijdrage: werk en de grenzen van Europa",
                   awarded=2_000_000, applied_on=D(2019, 9, 15), decided_on=D(2020, 3, 9), start=D(2020, 3, 1),
                   end=D(2022, 2, 28), purpose="Arbeidsparticipatie van vluchtelingen en projecten aan de "
                   "grenzen van Europa")
    service.plan_instalments(session, extra.id, [rules.PlannedInstalment(D(2020, 4, 15), eur(2_000_000),  # type: ignore[arg-type]
                                                                         "na ondertekening")])
    service.add_report(session, extra.id, kind="interim", due_on=D(2021, 4, 1))  # type: ignore[arg-type]
    service.add_report(session, extra.id, kind="final", due_on=D(2022, 6, 1))  # type: ignore[arg-type]
    grants.append(extra)

    # Private funds: 75% advance on signature, the rest after the final report; some require co-funding.
    private = (
        ("ORANJE", "ORANJE-2020-WERK", "Samen aan het werk", 800_000, None, None, 200_000, D(2020, 5, 1)),
        ("VSB", "VSB-2020-TAAL", "Taalmaatjes", 400_000, 500_000, "20", None, D(2020, 4, 1)),
        ("RABO", "RABO-2020-SCHULD", "Schuldpreventie statushouders", 300_000, None, None, None, D(2020, 7, 1)),
        ("DIORAPHTE", "DIO-2020-KIND", "Kinderen in de azc's", 200_000, None, None, None, D(2020, 6, 15)),
        ("AMIF", "AMIF-2020-TERUGKEER", "Terugkeer en toekomstperspectief", 1_900_000, 2_600_000, "25", None,
         D(2020, 2, 15)),
    )
    for code, ref, title, awarded, budget, pct, fixed, advance_on in private:
        g = _grant(session, f[code], ref, title, awarded=awarded, applied_on=advance_on - dt.timedelta(days=120),
                   decided_on=advance_on - dt.timedelta(days=20), start=advance_on, end=D(2021, 6, 30),
                   budget=budget, cofunding_percent=pct, cofunding_amount=fixed,
                   conditions="Voorschot 75%; restant na goedkeuring eindverslag")
        service.plan_instalments(session, g.id, rules.advance_and_rest(  # type: ignore[arg-type]
            eur(awarded), advance_on=advance_on, rest_on=D(2021, 10, 1),
            advance_condition="voorschot bij ondertekening", rest_condition="na goedkeuring eindverslag"))
        service.add_report(session, g.id, kind="final", due_on=D(2021, 9, 1))  # type: ignore[arg-type]
        if code == "AMIF":
            service.add_report(session, g.id, kind="interim", due_on=D(2021, 2, 1))  # type: ignore[arg-type]
            service.add_report(session, g.id, kind="audit_statement", due_on=D(2021, 9, 1))  # type: ignore[arg-type]
        grants.append(g)

    # Government subsidies: advances through the year, settlement with an auditor's statement the year after.
    government = (
        ("JENV", "JENV-2020-AZC", "Begeleiding in de azc's en tolkendiensten", 9_884_000, 4),
        ("RVR", "RVR-2020-VOORLICHTING", "Voorlichting tijdens de asielprocedure", 1_100_000, 4),
        ("SZW", "SZW-2020-INTEGRATIE", "Training en begeleiding van vrijwilligers", 1_070_000, 2),
    )
    for code, ref, title, awarded, times in government:
        g = _grant(session, f[code], ref, title, awarded=awarded, applied_on=D(2019, 9, 1),
                   decided_on=D(2019, 12, 15), start=D(2020, 1, 1), end=D(2020, 12, 31),
                   conditions="Aanvraag vaststelling met activiteitenverslag, financieel verslag en "
                   "controleverklaring vóór 1 juli 2021")
        months = [1, 4, 7, 10] if times == 4 else [1, 7]
        pattern = tuple((m, 15, 1) for m in months)
        service.plan_instalments(session, g.id, rules.yearly_schedules(  # type: ignore[arg-type]
            eur(awarded), first_year=2020, years=1, pattern=pattern, condition="voorschot"))
        for kind in ("final", "financial", "audit_statement"):
            service.add_report(session, g.id, kind=kind, due_on=D(2021, 7, 1))  # type: ignore[arg-type]
        grants.append(g)

    # Municipalities: applications for next year (the report gives no 2020 amounts).
    for code, ref, amount in (("GEM-AMS", "AMS-2021-BEGELEIDING", 1_250_000),
                              ("GEM-UTR", "UTR-2021-BEGELEIDING", 480_000)):
        service.create_application(session, service.GrantApplication(
            funder_id=f[code].id, reference=ref, title="Maatschappelijke begeleiding statushouders 2021",  # type: ignore[arg-type]
            requested=eur(amount), period_start=D(2021, 1, 1), period_end=D(2021, 12, 31),
            applied_on=D(2020, 10, 1)))
        summary.grants += 1

    summary.grants += len(grants)
    summary.gifts_booked = _receive_and_report(session, grants, as_of)
    _spend(session, grants)
    for g in grants:
        if cofunding.required(g).minor:
            cofunding.auto_allocate(session, g.id, received_from=D(year, 1, 1),  # type: ignore[arg-type]
                                    received_to=D(year, 12, 31), on=as_of)
    summary.received = received_in_year(session, year)
    return summary


def _receive_and_report(session: Session, grants: list[Grant], as_of: dt.date) -> int:
    from donorcrm.grants.models import GrantInstalment, GrantReport

    booked = 0
    for g in grants:
        for inst in session.execute(select(GrantInstalment).where(
                GrantInstalment.grant_id == g.id, GrantInstalment.status == InstalmentStatus.PLANNED,
                GrantInstalment.due_on <= as_of).order_by(GrantInstalment.seq)).scalars().all():
            service.receive_instalment(session, inst.id, received_on=inst.due_on + dt.timedelta(days=2),  # type: ignore[arg-type]
                                       source=SOURCE, external_ref=f"{g.reference}/{inst.seq}")
            booked += 1
        for report in session.execute(select(GrantReport).where(
                GrantReport.grant_id == g.id, GrantReport.status == ReportStatus.DUE,
                GrantReport.due_on <= as_of)).scalars().all():
            service.submit_report(session, report.id, on=report.due_on - dt.timedelta(days=7))  # type: ignore[arg-type]
    return booked


def _spend(session: Session, grants: list[Grant]) -> None:
    """A few bookings from the finance system against the restricted funds, so balances mean something."""
    for g in grants:
        if g.fund_id is None or g.stage != GrantStage.AWARDED:
            continue
        awarded = g.awarded_minor or 0
        for quarter, month in enumerate((6, 9, 12), start=1):
            if D(2020, month, 28) < (g.period_start or D(2020, 1, 1)):
                continue
            spending.record_spending(
                session, fund_id=g.fund_id, amount=Money(awarded // 8, g.currency), spent_on=D(2020, month, 28),
                description=f"Personeels- en projectkosten Q{quarter + 1} 2020", grant_id=g.id, source=SOURCE,
                external_ref=f"{g.reference}/spend/{quarter}")


def received_in_year(session: Session, year: int) -> dict[str, Money]:
    """Net ledger income on grants per funder code, for the calendar year."""
    from sqlalchemy import func

    from donorcrm.gifts.models import Gift

    rows = session.execute(
        select(Funder.code, func.sum(Gift.amount_minor))
        .join(Grant, Grant.funder_id == Funder.id).join(Gift, Gift.grant_id == Grant.id)
        .where(Gift.received_on >= D(year, 1, 1), Gift.received_on <= D(year, 12, 31))
        .group_by(Funder.code)
    ).all()
    return {code: Money(int(total), "EUR") for code, total in rows}
