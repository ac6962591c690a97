"""The statement PDF (fpdf2): header, partner, billing period, totals per customer, total.

Text is set in the PDF core fonts (Helvetica) with the Windows-1252 encoding, so no font file
ships with billport: characters outside it are written without accents (``Ž`` -> ``Z``) or
as ``?``. Every amount goes through :func:`billport.billing.money.format_amount`, with the
currency code, never a float.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fpdf import FPDF
from fpdf.fonts import FontFace

from billport import __version__
from billport.billing.invoices import Invoice
from billport.billing.money import format_amount, format_money
from billport.billing.statements import CustomerTotal
from billport.store.statements import PartnerInfo

ENCODING = "windows-1252"
TITLES = {
    "invoice": "Invoice statement",
    "void_note": "Void note",
    "adjustment_note": "Adjustment note",
}
COLUMNS = (62, 66, 16, 36)  # customer, customer id, lines, total (mm; 180 mm in all)
HEADING = FontFace(emphasis="BOLD", fill_color=(225, 230, 240))
# Letters that Unicode does not decompose into a base letter and an accent.
UNDECOMPOSED = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i"})


@dataclass(frozen=True)
class Statement:
    """Everything a statement shows (gathered by billport.usecases.documents)."""

    invoice: Invoice
    partner: PartnerInfo
    customers: list[CustomerTotal]
    generated_at: datetime
    receipt_id: str | None = None  # set on a tax receipt


def pdf_text(text: str) -> str:
    """``text`` as the core fonts can show it: accents dropped only where needed, else ``?``."""
    try:
        text.encode(ENCODING)
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text.translate(UNDECOMPOSED):
        try:
            char.encode(ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING)
            out.append(base or "?")
    return "".join(out)


def day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def currency_label(code: str, symbol: str) -> str:
    """``USD ($)``; just ``CHF`` when the symbol is the code."""
    return code if not symbol or symbol == code else f"{code} ({symbol})"


def _pairs(pdf: FPDF, rows: list[tuple[str, str]]) -> None:
    """A two-column block of labels and values."""
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(45, 5.5, pdf_text(label))
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(0, 5.5, pdf_text(value), new_x="LMARGIN", new_y="NEXT")


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, pdf_text(title), new_x="LMARGIN", new_y="NEXT")


def _header(pdf: FPDF, statement: Statement) -> None:
    invoice = statement.invoice
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 5, "billport", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("Helvetica", "B", 16)
    title = TITLES.get(invoice.document_type, "Invoice statement")
    if statement.receipt_id is not None:
        title = f"Tax receipt {statement.receipt_id}"
    pdf.cell(0, 10, pdf_text(f"{title} - {invoice.invoice_id}"), new_x="LMARGIN", new_y="NEXT")
    rows = [
        ("Invoice number", invoice.invoice_id),
        ("Invoice date", day(invoice.invoice_date)),
        (
            "Billing period",
            f"{day(invoice.billing_period_start)} to {day(invoice.billing_period_end)}",
        ),
        ("Currency", currency_label(invoice.currency_code, invoice.currency_symbol)),
        ("Invoice type", f"{invoice.invoice_type} ({invoice.commerce} commerce)"),
    ]
    if invoice.amends_of:
        rows.append(("Amends invoice", invoice.amends_of))
    if statement.receipt_id is not None:
        rows.append(("Tax receipt", statement.receipt_id))
    _pairs(pdf, rows)


def _partner(pdf: FPDF, statement: Statement) -> None:
    partner = statement.partner
    _section(pdf, "Partner")
    _pairs(
        pdf,
        [
            ("Name", partner.name),
            ("Tenant ID", partner.tenant_id),
            ("MPN ID", partner.mpn_id),
            ("Domain", partner.domain_name),
            ("Country", partner.country),
        ],
    )


def _customers(pdf: FPDF, statement: Statement) -> Decimal:
    """The per-customer table; returns the sum of its totals."""
    currency = statement.invoice.currency_code
    _section(pdf, "Totals by customer")
    if not statement.customers:
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(
            0,
            5,
            "No billed reconciliation line items are stored for this invoice, so there is no "
            "breakdown by customer; the invoice total below is as invoiced.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        return Decimal(0)
    pdf.set_font("Helvetica", "", 8)
    align = ("LEFT", "LEFT", "RIGHT", "RIGHT")
    with pdf.table(
        col_widths=COLUMNS, text_align=align, headings_style=HEADING, line_height=5
    ) as table:
        table.row(["Customer", "Customer ID", "Lines", f"Total ({currency})"])
        for share in statement.customers:
            table.row(
                [
                    pdf_text(share.customer_name),
                    pdf_text(share.customer_id),
                    str(share.lines),
                    format_amount(share.total, currency),
                ]
            )
    return sum((share.total for share in statement.customers), Decimal(0))


def _totals(pdf: FPDF, statement: Statement, customer_sum: Decimal) -> None:
    invoice = statement.invoice
    currency = invoice.currency_code
    _section(pdf, "Totals")
    rows = []
    if statement.customers:
        rows.append(("Sum of customer totals", format_money(customer_sum, currency)))
    for amendment in invoice.amendments:
        kind = amendment.document_type.replace("_", " ").capitalize()
        rows.append(
            (f"{kind} {amendment.invoice_id}", format_money(amendment.total_charges, currency))
        )
    rows += [
        ("Invoice total", format_money(invoice.total_charges, currency)),
        ("Paid", format_money(invoice.paid_amount, currency)),
        ("Balance", format_money(invoice.total_charges - invoice.paid_amount, currency)),
    ]
    _pairs(pdf, rows)
    if statement.customers and customer_sum != invoice.total_charges:
        difference = format_money(customer_sum - invoice.total_charges, currency, signed=True)
        pdf.set_font("Helvetica", "I", 9)
        pdf.cell(0, 6, f"The customer totals differ from the invoice total by {difference}.")


def render_statement(statement: Statement) -> bytes:
    """The statement as PDF bytes (deterministic for the same data and generation time)."""
    invoice = statement.invoice
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_creation_date(statement.generated_at)
    pdf.set_title(pdf_text(f"{invoice.invoice_type} invoice {invoice.invoice_id}"))
    pdf.set_author("billport")
    pdf.set_creator(f"billport {__version__}")
    pdf.add_page()
    _header(pdf, statement)
    _partner(pdf, statement)
    customer_sum = _customers(pdf, statement)
    _totals(pdf, statement, customer_sum)
    pdf.ln(10)
    pdf.set_font("Helvetica", "", 7)
    pdf.set_text_color(90, 90, 90)
    generated = statement.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    pdf.multi_cell(
        0, 4, f"Generated by billport {__version__} on {generated} from the stored invoice data."
    )
    return bytes(pdf.output())
