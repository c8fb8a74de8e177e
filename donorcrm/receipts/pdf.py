"""Receipt documents drawn straight on a reportlab canvas (no flowables: 100,000 pages must be cheap).

One A4 page per donor where the lines fit; the German Sammelbestätigung carries its annex on the next
page as the official model asks. Output is byte-for-byte reproducible (invariant mode), so the hash on
the receipt identifies the document.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from donorcrm.money import Money
from donorcrm.receipts import ca, de, us
from donorcrm.receipts.common import Charity, DonorInfo
from donorcrm.receipts.nl import AgreementDocument

W, H = A4
LEFT, RIGHT, TOP, BOTTOM = 56.0, W - 56.0, H - 50.0, 60.0
BODY = ("Helvetica", 9.5)
BOLD = "Helvetica-Bold"

LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "nl_yearly_overview": "Jaaroverzicht giften {year}", "number": "Kenmerk", "date": "Datum",
        "issued": "Datum van afgifte", "periodic": "Periodieke gift, transactienummer {tx}",
        "ordinary": "Gewone giften (per bank ontvangen)", "total": "Totaal", "amount": "Bedrag",
        "type": "Soort", "gifts": "Uw giften in {year}",
        "cash": "Contante giften zijn niet aftrekbaar en niet opgenomen.",
        "anbi": "{name} is door de Belastingdienst aangemerkt als ANBI (RSIN {rsin}).",
        "thanks": "Hartelijk dank voor uw steun.", "signature": "Handtekening",
        "replaces": "Dit overzicht vervangt overzicht {number}.", "cancelled": "GEANNULEERD",
        "periodieke gift": "periodieke gift", "gift": "gift", "more": "(vervolg op volgende pagina)",
    },
    "en": {
        "nl_yearly_overview": "Annual giving statement {year}", "uk_giving_statement": "Gift Aid statement {year}",
        "us_acknowledgment": "Contribution acknowledgment {year}", "number": "Reference", "date": "Date",
        "issued": "Date issued", "periodic": "Periodic gift, transaction number {tx}",
        "ordinary": "Ordinary gifts (received by bank)", "total": "Total", "amount": "Amount", "type": "Type",
        "gifts": "Your gifts in {year}", "cash": "Cash gifts are not deductible and not included.",
        "anbi": "{name} is registered by the Dutch tax authority as an ANBI (RSIN {rsin}).",
        "thanks": "Thank you for your support.", "signature": "Signature",
        "replaces": "This receipt cancels and replaces receipt {number}.", "cancelled": "CANCELLED",
        "periodieke gift": "periodic gift", "gift": "gift", "more": "(continued on the next page)",
        "giftaid": "Gift Aid", "yes": "Yes", "no": "No", "reclaim": "Gift Aid claimed on your gifts",
        "hmrc": "HMRC charity reference {ref}", "ein": "EIN {ein}", "goods": "Goods/services value",
        "deductible": "Deductible", "taxexempt": "{name} is a tax-exempt organization under section 501(c)(3) "
        "of the Internal Revenue Code.",
    },
    "de": {"cancelled": "STORNIERT", "more": "(Fortsetzung auf der nächsten Seite)"},
}


@dataclass(frozen=True)
class LineView:
    on: dt.date
    amount: Money
    eligible: Money
    advantage: Money
    description: str = ""
    group: str = ""
    note: str = ""


@dataclass(frozen=True)
class ReceiptView:
    """What the page shows, built from the stored receipt so any later copy matches the original."""

    number: str
    kind: str
    jurisdiction: str
    year: int
    issued_on: dt.date
    language: str
    donor: DonorInfo
    charity: Charity
    lines: tuple[LineView, ...]
    total: Money
    eligible: Money
    advantage: Money
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def replaces_number(self) -> str | None:
        return self.figures.get("replaces_number")


def view_of(receipt: Any, lines: list[Any]) -> ReceiptView:
    cur = receipt.currency
    charity_data = dict(receipt.figures.get("charity") or {})
    return ReceiptView(
        number=receipt.number, kind=receipt.kind, jurisdiction=receipt.jurisdiction, year=receipt.year,
        issued_on=receipt.issued_on, language=receipt.language,
        donor=DonorInfo.from_snapshot(receipt.donor_snapshot), charity=Charity(**charity_data),
        lines=tuple(LineView(ln.received_on, Money(ln.amount_minor, cur), Money(ln.eligible_minor, cur),
                             Money(ln.advantage_minor, cur), ln.description, ln.group_key, ln.note) for ln in lines),
        total=Money(receipt.total_minor, cur), eligible=Money(receipt.eligible_minor, cur),
        advantage=Money(receipt.advantage_minor, cur), figures=dict(receipt.figures),
    )


def view_of_draft(draft: Any, number: str, issued_on: dt.date, figures: dict[str, Any]) -> ReceiptView:
    """The same view as view_of() gives for the stored receipt, straight from the draft it was made of."""
    return ReceiptView(
        number=number, kind=draft.kind.value, jurisdiction=draft.jurisdiction.value, year=draft.year,
        issued_on=issued_on, language=draft.language, donor=draft.donor,
        charity=Charity(**figures.get("charity", {})),
        lines=tuple(LineView(ln.on, ln.amount, ln.eligible, ln.advantage, ln.description[:300], ln.group[:60],
                             ln.note[:500]) for ln in draft.lines),
        total=draft.total, eligible=draft.eligible_total, advantage=draft.advantage_total, figures=figures,
    )


@lru_cache(maxsize=512)
def _split(s: str, font: str, size: float, width: float) -> tuple[str, ...]:
    """Wrapped lines, kept: the long texts (tax statements, legal notices) are the same on every page."""
    return tuple(simpleSplit(s, font, size, width)) or ("",)


@lru_cache(maxsize=4096)
def _parsed(amount: str, currency: str) -> Money:
    """Money from a figure stored as plain text ("180.00"); a run prints the same few amounts many times."""
    return Money.parse(amount, currency)


class _Page:
    """A cursor over a canvas: text that wraps and moves down, new pages when full."""

    def __init__(self, c: Canvas, footer: str = "") -> None:
        self.c, self.y, self.footer = c, TOP, footer

    def text(self, s: str, *, size: float = BODY[1], bold: bool = False, x: float = LEFT,
             width: float | None = None, gap: float = 2.0) -> None:
        font = BOLD if bold else BODY[0]
        room = width or (RIGHT - x)
        # Most lines fit: no glyph of the standard fonts is wider than 1.02 em, so short text needs no
        # measuring at all; longer text is measured once and split only when it must be.
        if len(s) * size * 1.02 <= room or stringWidth(s, font, size) <= room:
            lines = [s]
        else:
            lines = _split(s, font, size, room)
        self.c.setFont(font, size)
        for ln in lines:
            self.need(size + gap)
            self.c.drawString(x, self.y, ln)
            self.y -= size + gap

    def row(self, cells: list[tuple[float, str]], *, bold: bool = False, right: set[int] | None = None) -> None:
        self.need(13)
        c, y = self.c, self.y
        c.setFont(BOLD if bold else BODY[0], BODY[1])
        for i, (x, s) in enumerate(cells):
            if right and i in right:
                c.drawRightString(x, y, s)
            else:
                c.drawString(x, y, s)
        self.y = y - 13

    def space(self, h: float = 8) -> None:
        self.y -= h

    def rule(self) -> None:
        self.c.setLineWidth(0.5)
        self.c.line(LEFT, self.y + 9, RIGHT, self.y + 9)

    def need(self, h: float) -> None:
        if self.y - h < BOTTOM:
            self.new_page()

    def new_page(self) -> None:
        self._footer()
        self.c.showPage()
        self.y = TOP

    def _footer(self) -> None:
        if self.footer:
            self.c.setFont(BODY[0], 7.5)
            self.c.drawString(LEFT, 30, self.footer)

    def finish(self) -> None:
        self._footer()
        self.c.showPage()


_SYMBOL = {"EUR": "€", "GBP": "£", "USD": "$", "CAD": "CA$"}


def _money(m: Money, lang: str) -> str:
    """Money.format for two-decimal currencies without the Decimal round trip (called ~10 times a page)."""
    if m.currency not in _SYMBOL:
        return m.format("nl" if lang in ("nl", "de") else "en")
    whole, cents = divmod(abs(m.minor), 100)
    sign = "-" if m.minor < 0 else ""
    if lang in ("nl", "de"):
        return f"{sign}{_SYMBOL[m.currency]} {whole:,}".replace(",", ".") + f",{cents:02d}"
    return f"{sign}{_SYMBOL[m.currency]}{whole:,}.{cents:02d}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date(d: dt.date, lang: str) -> str:
    if lang == "en":
        return f"{d.day:02d} {_MONTHS[d.month - 1]} {d.year}"
    return f"{d.day:02d}{'.' if lang == 'de' else '-'}{d.month:02d}{'.' if lang == 'de' else '-'}{d.year}"


def _header(p: _Page, v: ReceiptView, lang: str) -> None:
    c = p.c
    ch = v.charity
    logo_w = 0.0
    if ch.logo and os.path.exists(ch.logo):
        c.drawImage(ch.logo, LEFT, TOP - 40, width=80, height=48, preserveAspectRatio=True, mask="auto")
        logo_w = 92.0
    c.setFont(BOLD, 13)
    c.drawString(LEFT + logo_w, TOP, ch.name)
    c.setFont(BODY[0], 8.5)
    c.drawString(LEFT + logo_w, TOP - 12, ch.address_line)
    c.drawRightString(RIGHT, TOP, v.number)
    c.drawRightString(RIGHT, TOP - 12, _date(v.issued_on, lang))
    p.y = TOP - 70
    d = v.donor
    for ln in [d.name, *d.address_lines, d.country if d.country != ch.country else ""]:
        if ln:
            p.text(ln, size=10, gap=3)
    p.y = min(p.y, TOP - 150)


def _signature(p: _Page, v: ReceiptView, label: str) -> None:
    p.space(18)
    p.need(60)
    p.c.setLineWidth(0.5)
    p.c.line(LEFT, p.y, LEFT + 200, p.y)
    p.y -= 11
    p.text(f"{label}: {v.charity.signatory}", size=8.5)


def _stamp(c: Canvas, word: str) -> None:
    c.saveState()
    c.setFont(BOLD, 64)
    c.setFillGray(0.75)
    c.translate(W / 2, H / 2)
    c.rotate(35)
    c.drawCentredString(0, 0, word)
    c.restoreState()


def render_receipt(v: ReceiptView, *, cancelled: bool = False) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True, pageCompression=1)
    c.setTitle(v.number)
    c.setAuthor(v.charity.name)
    lang = "de" if v.jurisdiction == "DE" else (v.language if v.language in ("nl", "en") else "en")
    if cancelled:
        _stamp(c, LABELS[lang]["cancelled"])
    drawer = {"NL": _draw_nl, "UK": _draw_uk, "US": _draw_us, "CA": _draw_ca, "DE": _draw_de}[v.jurisdiction]
    page = _Page(c, footer=f"{v.charity.name} · {v.number}")
    drawer(page, v, lang)
    page.finish()
    c.save()
    return buf.getvalue()


def _replaces(p: _Page, v: ReceiptView, lang: str) -> None:
    if v.replaces_number:
        p.text(LABELS[lang if lang in ("nl", "en") else "en"]["replaces"].format(number=v.replaces_number), bold=True)
        p.space(4)


def _lines_table(p: _Page, v: ReceiptView, lang: str, cols: list[tuple[str, Any]]) -> None:
    """Date column plus the given (heading, cell function) columns, amounts right-aligned."""
    L = LABELS[lang]
    xs = [LEFT + 220 + i * 110 for i in range(len(cols))]  # right edges of the amount columns
    right = set(range(1, len(cols) + 1))
    p.row([(LEFT, L["date"])] + [(x, h) for x, (h, _) in zip(xs, cols, strict=True)], bold=True, right=right)
    p.rule()
    cells = [(x, f) for x, (_, f) in zip(xs, cols, strict=True)]
    for ln in v.lines:
        p.row([(LEFT, _date(ln.on, lang))] + [(x, f(ln)) for x, f in cells], right=right)


def _draw_nl(p: _Page, v: ReceiptView, lang: str) -> None:
    L = LABELS[lang]
    _header(p, v, lang)
    p.text(L["nl_yearly_overview"].format(year=v.year), size=14, bold=True, gap=8)
    _replaces(p, v, lang)
    p.text(L["anbi"].format(name=v.charity.name, rsin=v.figures.get("rsin", v.charity.rsin)))
    p.space()
    for tx, amount in sorted(v.figures.get("periodic", {}).items()):
        p.row([(LEFT, L["periodic"].format(tx=tx)), (RIGHT, _money(_parsed(amount, "EUR"), lang))], right={1})
    p.row([(LEFT, L["ordinary"]), (RIGHT, _money(_parsed(v.figures.get("ordinary", "0"), "EUR"), lang))],
          right={1})
    p.rule()
    p.row([(LEFT, L["total"]), (RIGHT, _money(v.total, lang))], bold=True, right={1})
    p.space()
    if v.figures.get("cash_excluded"):
        p.text(L["cash"], size=8.5)
    p.space(4)
    p.text(L["gifts"].format(year=v.year), bold=True)
    _lines_table(p, v, lang, [(L["type"], lambda ln: L.get(ln.description, ln.description)),
                              (L["amount"], lambda ln: _money(ln.amount, lang))])
    p.space()
    p.text(L["thanks"])
    _signature(p, v, L["signature"])


def _draw_uk(p: _Page, v: ReceiptView, lang: str) -> None:
    L = LABELS["en"]
    _header(p, v, "en")
    p.text(L["uk_giving_statement"].format(year=v.year), size=14, bold=True, gap=8)
    _replaces(p, v, "en")
    p.text(L["hmrc"].format(ref=v.figures.get("hmrc_ref", v.charity.hmrc_ref)))
    p.space()
    _lines_table(p, v, "en", [(L["amount"], lambda ln: _money(ln.amount, "en")),
                              (L["giftaid"], lambda ln: L["yes"] if ln.group == "giftaid" else L["no"])])
    p.rule()
    p.row([(LEFT, L["total"]), (LEFT + 220, _money(v.total, "en"))], bold=True, right={1})
    p.space()
    rate = v.figures.get("basic_rate", 20)
    p.text(f"{L['reclaim']}: {_money(_parsed(v.figures.get('giftaid_reclaim', '0'), 'GBP'), 'en')}"
           f" (on {_money(_parsed(v.figures.get('giftaid_total', '0'), 'GBP'), 'en')} at {rate}% basic rate)")
    p.space(4)
    from donorcrm.receipts.uk import TAX_STATEMENT

    p.text(TAX_STATEMENT, size=8.5)
    p.space()
    p.text(L["thanks"])
    _signature(p, v, L["signature"])


def _draw_us(p: _Page, v: ReceiptView, lang: str) -> None:
    L = LABELS["en"]
    _header(p, v, "en")
    p.text(L["us_acknowledgment"].format(year=v.year), size=14, bold=True, gap=8)
    _replaces(p, v, "en")
    p.text(L["taxexempt"].format(name=v.charity.name) + " " + L["ein"].format(ein=v.figures.get("ein", v.charity.ein)))
    p.space()
    _lines_table(p, v, "en", [(L["amount"], lambda ln: _money(ln.amount, "en")),
                              (L["goods"], lambda ln: _money(ln.advantage, "en")),
                              (L["deductible"], lambda ln: _money(ln.eligible, "en"))])
    p.rule()
    p.row([(LEFT, L["total"]), (LEFT + 220, _money(v.total, "en")), (LEFT + 330, _money(v.advantage, "en")),
           (LEFT + 440, _money(v.eligible, "en"))], bold=True, right={1, 2, 3})
    p.space()
    if v.figures.get("no_goods", False):
        p.text(us.NO_GOODS)
    else:
        for ln in v.lines:
            p.text(f"{_date(ln.on, 'en')}: {ln.note}", size=8.5)
    p.space()
    p.text(L["thanks"])
    _signature(p, v, L["signature"])


def _draw_ca(p: _Page, v: ReceiptView, lang: str) -> None:
    ch = v.charity
    f = v.figures
    _header(p, v, "en")
    p.text(ca.TITLE, size=14, bold=True, gap=8)
    _replaces(p, v, "en")
    fields = [
        ("Receipt serial number", v.number),
        ("Charity", f"{ch.name}, {ch.address_line}"),
        ("Registration number", f.get("registration_number", ch.cra_number)),
        ("Place issued", f.get("place_issued", ch.place)),
        ("Date issued", _date(v.issued_on, "en")),
        ("Date of gift" if len(v.lines) == 1 else "Year of gifts", str(f.get("date_of_gift", v.year))),
        ("Donor", f"{v.donor.name}, {', '.join(v.donor.address_lines)}"),
        ("Amount of gift", _money(v.total, "en")),
        ("Value of advantage", _money(v.advantage, "en")),
        ("Description of advantage", f.get("advantage_description") or "none"),
        ("Eligible amount of gift for tax purposes", _money(v.eligible, "en")),
    ]
    for label, value in fields:
        p.need(14)
        p.c.setFont(BOLD, BODY[1])
        p.c.drawString(LEFT, p.y, label + ":")
        p.text(value, x=LEFT + 200)
    p.space()
    if len(v.lines) > 1:
        _lines_table(p, v, "en", [("Amount", lambda ln: _money(ln.amount, "en")),
                                  ("Advantage", lambda ln: _money(ln.advantage, "en")),
                                  ("Eligible", lambda ln: _money(ln.eligible, "en"))])
    _signature(p, v, "Authorized signature")
    p.space()
    p.text(f"{ca.CRA_NAME}: {ca.CRA_URL}", size=8.5)


def _draw_de(p: _Page, v: ReceiptView, lang: str) -> None:
    f = v.figures
    ch = v.charity
    single = v.kind == "de_zuwendungsbestaetigung"
    c = p.c
    c.setFont(BOLD, 9)
    y = TOP
    for ln in _split("Aussteller (Bezeichnung und Anschrift der steuerbegünstigten Einrichtung)", BODY[0], 8, 400):
        c.setFont(BODY[0], 8)
        c.drawString(LEFT, y, ln)
        y -= 10
    c.setFont(BOLD, 10)
    c.drawString(LEFT, y, f"{ch.name}, {ch.address_line}")
    c.setFont(BODY[0], 8.5)
    c.drawRightString(RIGHT, TOP, v.number)
    p.y = y - 22
    p.text(de.TITLE_SINGLE if single else de.TITLE_COLLECTIVE, size=10.5, bold=True, gap=3)
    p.space(4)
    if v.replaces_number:
        p.text(f"Diese Bestätigung ersetzt die Bestätigung Nr. {v.replaces_number}, die hiermit storniert wird.",
               bold=True)
    p.text("Name und Anschrift des Zuwendenden:", size=8)
    p.text(f"{v.donor.name}, {', '.join(v.donor.address_lines)}", size=10)
    p.space(6)
    # The model's amount row (digits, words, date or period), as labelled lines so nothing runs off the page.
    for label, value in (("Betrag der Zuwendung - in Ziffern -", _money(v.total, "de")),
                         ("- in Buchstaben -", f.get("amount_words", "")),
                         ("Tag der Zuwendung" if single else "Zeitraum der Sammelbestätigung",
                          f.get("date_of_gift", "") if single else f.get("period", ""))):
        p.need(14)
        c.setFont(BOLD, BODY[1])
        c.drawString(LEFT, p.y, label + ":")
        p.text(value, x=LEFT + 190, size=10)
    p.space(6)
    if single:
        waiver = f.get("waiver", "Nein")
        p.text("Es handelt sich um den Verzicht auf Erstattung von Aufwendungen: "
               f"Ja {'[X]' if waiver == 'Ja' else '[ ]'}   Nein {'[X]' if waiver != 'Ja' else '[ ]'}")
    else:
        p.text(de.WAIVER_SEE_ANNEX)
    p.space(4)
    p.text("[X] " + f.get("exemption", de.exemption_text(ch)))
    p.space(4)
    p.text(f.get("use", de.use_text(ch)))
    if not single:
        p.space(4)
        p.text(de.NO_OTHER_CONFIRMATIONS)
    p.space(10)
    p.text(f"{ch.place or ch.city}, {_date(v.issued_on, 'de')}")
    _signature(p, v, "(Ort, Datum und Unterschrift des Zuwendungsempfängers)")
    p.space(10)
    p.text(de.LIABILITY_NOTICE, size=7.5)
    if not single:
        p.new_page()
        p.text(f"Anlage zur Sammelbestätigung Nr. {v.number}", size=12, bold=True, gap=6)
        p.text(f"Zuwendender: {v.donor.name}")
        p.space()
        p.row([(LEFT, "Datum der Zuwendung"), (LEFT + 120, "Art der Zuwendung"),
               (LEFT + 240, "Verzicht auf die Erstattung"), (RIGHT, "Betrag")], bold=True, right={3})
        p.row([(LEFT + 240, "von Aufwendungen (ja/nein)")], bold=True)
        p.rule()
        for ln in v.lines:
            p.row([(LEFT, _date(ln.on, "de")), (LEFT + 120, ln.description), (LEFT + 240, ln.note),
                   (RIGHT, _money(ln.amount, "de"))], right={3})
        p.rule()
        p.row([(LEFT, "Gesamtsumme"), (RIGHT, _money(v.total, "de"))], bold=True, right={1})


def render_agreement(doc: AgreementDocument) -> bytes:
    """The periodic-gift agreement (overeenkomst periodieke gift in geld), ready to sign."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True)
    c.setTitle(f"Overeenkomst periodieke gift {doc.transaction_number}")
    p = _Page(c, footer=f"{doc.charity_name} · transactienummer {doc.transaction_number}")
    p.text("Overeenkomst periodieke gift in geld", size=15, bold=True, gap=8)
    p.text(f"Transactienummer: {doc.transaction_number}", bold=True)
    p.space()
    p.text("1. Schenker", bold=True)
    p.text(f"Naam: {doc.donor_name}")
    p.text(f"Geboortedatum: {doc.donor_birth_date.strftime('%d-%m-%Y') if doc.donor_birth_date else ''}")
    p.text(f"Adres: {doc.donor_address}")
    p.space()
    p.text("2. Instelling", bold=True)
    p.text(f"Naam: {doc.charity_name}")
    p.text(f"RSIN: {doc.charity_rsin}")
    p.text(f"Adres: {doc.charity_address}")
    p.space()
    p.text("3. De gift", bold=True)
    p.text(f"De schenker verklaart een gift te doen aan de instelling in de vorm van vaste en gelijkmatige "
           f"periodieke uitkeringen van {doc.yearly_amount_digits} per jaar "
           f"(in letters: {doc.yearly_amount_words}), zonder dat daar een tegenprestatie tegenover staat.")
    p.text(f"Looptijd: {doc.term}. Eerste jaar van uitkering: {doc.first_year}.")
    p.space()
    p.text("4. Einde van de uitkeringen", bold=True)
    if doc.ends_on_death:
        p.text("De uitkeringen eindigen uiterlijk bij het overlijden van de schenker.")
    if doc.end_conditions:
        p.text("De uitkeringen eindigen ook bij: " + "; ".join(doc.end_conditions) + ".")
    p.space(16)
    p.text("5. Ondertekening", bold=True)
    names = {"schenker": doc.donor_name, "partner": doc.partner_name or "", "instelling": doc.charity_name}
    for who in doc.signatures:
        p.space(26)
        p.need(40)
        c.setLineWidth(0.5)
        c.line(LEFT, p.y, LEFT + 220, p.y)
        c.line(LEFT + 260, p.y, LEFT + 400, p.y)
        p.y -= 11
        p.row([(LEFT, f"Handtekening {who}: {names[who]}"), (LEFT + 260, "Plaats en datum")])
    p.finish()
    c.save()
    return buf.getvalue()
