"""The figures the demo organisation reproduces, and the assumptions where the annual report is silent.

Source: the 2020 annual report of a Dutch refugee charity, chapter "5. Financiën". Figures marked
REPORT are quoted from it; everything else is an ASSUMPTION chosen to be plausible and documented here so
nobody mistakes it for a published number. Amounts are whole euros at default size (75,898 donors in 2020);
a demo built with another donor count scales every count and amount by donors / 75,898.
"""

from __future__ import annotations

YEARS: tuple[int, ...] = (2016, 2017, 2018, 2019, 2020)
REPORT_YEAR = 2020

# REPORT: 75,898 donors in 2020, 19% more than in 2019 (75,898 / 1.19 = 63,780). Earlier years: ASSUMPTION.
# Counted as the ledger counts them: distinct donors (people and organisations) with a gift that was not
# reversed in the year (donorcrm.reports.ledger.donors_per_year).
DONORS_PER_YEAR: dict[int, int] = {2016: 49_310, 2017: 52_840, 2018: 57_420, 2019: 63_780, 2020: 75_898}
DEFAULT_DONORS = DONORS_PER_YEAR[REPORT_YEAR]

# REPORT: recurring commitments ("structurele toezegging") 41,600 in 2019 and 45,500 in 2020, read as the
# number active at the end of the year. 2015-2018: ASSUMPTION (steady growth).
COMMITMENTS_ACTIVE_AT_YEAR_END: dict[int, int] = {
    2015: 33_900, 2016: 35_600, 2017: 37_400, 2018: 39_500, 2019: 41_600, 2020: 45_500,
}
# ASSUMPTION: yearly cancellation share of the commitments active on 1 January (retention ~86%), and the
# share of new commitments cancelled again within their first year (face-to-face attrition).
RECURRING_CHURN = 0.14
NEW_COMMITMENT_EARLY_CHURN = 0.10

# ASSUMPTION: of last year's one-off-only donors 45% give again; of donors whose commitment ended 12% give
# once more; of donors lapsed longer ago 5% are recaptured.
ONE_OFF_RETENTION = 0.45
EX_RECURRING_RETENTION = 0.12
RECAPTURE_RATE = 0.05
# ASSUMPTION: share of monthly SEPA collections returned or refunded (AM04, MD06, MS02, ...).
SEPA_RETURN_RATE = 0.03

# REPORT: individual income ("donaties en nalatenschappen") EUR 7,490,449 in 2020, 14% more than in 2019
# (7,490,449 / 1.14 = 6,570,569). Categories individual_one_off + individual_recurring + individual_bequest +
# individual_crowdfunding, net of reversals. Earlier years: ASSUMPTION.
INDIVIDUAL_INCOME: dict[int, int] = {
    2016: 5_297_350, 2017: 5_628_904, 2018: 6_043_817, 2019: 6_570_569, 2020: 7_490_449,
}
# ASSUMPTION: bequests within individual income; a few dozen estates paying in instalments.
BEQUEST_INCOME: dict[int, int] = {2016: 781_200, 2017: 846_900, 2018: 912_450, 2019: 987_300, 2020: 1_061_800}
NEW_ESTATES_PER_YEAR = 14
# REPORT: December 2020 crowdfunding for family reunification, "many thousands" of gifts. ASSUMPTION: 7,200
# gifts, mostly iDEAL; goal EUR 250,000.
CROWDFUNDING_GIFTS_2020 = 7_200
CROWDFUNDING_GOAL_2020 = 250_000

# REPORT: Nationale Postcode Loterij, EUR 8,000,000 a year regular plus EUR 2,000,000 extra in 2020.
# ASSUMPTION: EUR 7,500,000 regular in 2016-2017.
LOTTERY_REGULAR: dict[int, int] = {2016: 7_500_000, 2017: 7_500_000, 2018: 8_000_000, 2019: 8_000_000,
                                   2020: 8_000_000}
LOTTERY_EXTRA: dict[int, int] = {2020: 2_000_000}

# REPORT: EUR 2,700,000 from funds in 2020: Oranjefonds, VSBfonds, Rabo Foundation, Dioraphte and the EU's
# Asylum, Migration and Integration Fund (AMIF). DECISION: AMIF is EU government money, so its share is booked
# as category government (RJ 650 line 4, "subsidies van overheden"); the four private funds are
# other_nonprofit. All five carry source_code FUNDS_SOURCE_CODE, so the report's 2.7M "fondsen" total stays
# visible in the ledger. The split between the funds and the earlier years are ASSUMPTIONS.
FUNDS_SOURCE_CODE = "FONDSEN"
FUNDS_TOTAL: dict[int, int] = {2016: 2_120_000, 2017: 2_290_000, 2018: 2_450_000, 2019: 2_610_000,
                               2020: 2_700_000}
FUNDS_SPLIT: tuple[tuple[str, str, str, int], ...] = (
    # key, name, category, share in per mille
    ("oranjefonds", "Oranje Fonds", "other_nonprofit", 240),
    ("vsbfonds", "VSBfonds", "other_nonprofit", 170),
    ("rabo", "Rabo Foundation", "other_nonprofit", 110),
    ("dioraphte", "Stichting Dioraphte", "other_nonprofit", 150),
    ("amif", "Europese Commissie - AMIF", "government", 330),
)

# REPORT (2020): ministry of Justice and Security EUR 9,884,000 (work in reception centres, interpreters);
# Legal Aid Board EUR 1,100,000 (information during the asylum procedure); ministry of Social Affairs
# EUR 1,070,000 (training volunteers). Earlier years: ASSUMPTION.
GOVERNMENT: dict[str, tuple[str, dict[int, int]]] = {
    "jenv": ("Ministerie van Justitie en Veiligheid",
             {2016: 8_700_000, 2017: 9_050_000, 2018: 9_400_000, 2019: 9_620_000, 2020: 9_884_000}),
    "rvr": ("Raad voor Rechtsbijstand",
            {2016: 1_020_000, 2017: 1_040_000, 2018: 1_060_000, 2019: 1_080_000, 2020: 1_100_000}),
    "szw": ("Ministerie van Sociale Zaken en Werkgelegenheid",
            {2018: 850_000, 2019: 980_000, 2020: 1_070_000}),
}
# ASSUMPTION (the report gives no figure): municipalities pay for social guidance of refugees; 80% of all
# municipalities use the charity's services. Modelled as 286 municipalities paying quarterly, in total:
MUNICIPALITIES = 286
MUNICIPAL_INCOME: dict[int, int] = {2016: 21_500_000, 2017: 22_800_000, 2018: 23_900_000, 2019: 25_200_000,
                                    2020: 26_400_000}
# ASSUMPTION: companies and churches give small amounts.
COMPANIES = 180
COMPANY_INCOME: dict[int, int] = {2016: 152_000, 2017: 161_000, 2018: 170_500, 2019: 178_000, 2020: 196_400}
CHURCHES = 120
CHURCH_INCOME: dict[int, int] = {2016: 88_000, 2017: 91_500, 2018: 94_000, 2019: 96_700, 2020: 104_300}

# Demo logins, printed in the summary. Change them before any real use.
DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "demo-admin", "admin", "Demo administrator"),
    ("finance", "demo-finance", "finance", "Demo finance officer"),
    ("fundraiser", "demo-fundraiser", "fundraiser", "Demo fundraiser"),
    ("viewer", "demo-viewer", "viewer", "Demo viewer"),
)
