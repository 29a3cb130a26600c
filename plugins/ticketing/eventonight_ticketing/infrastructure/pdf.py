"""Tickets as PDF: one A6 page per ticket with its signed code as a QR (fpdf2 + qrcode).

Rendering is CPU work: callers run :func:`render` in a thread, off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import qrcode
from fpdf import FPDF

MAX_TICKETS_PER_FILE = 100


@dataclass(frozen=True)
class PrintedTicket:
    ticket_id: str
    event_title: str
    event_date: datetime | None
    type_name: str
    price: str
    code: str
    attendee: str | None = None


def _text(value: str) -> str:
    # The core PDF fonts cover Latin-1 only; anything else is shown as "?" rather than failing.
    return value.encode("latin-1", "replace").decode("latin-1")


def render(tickets: list[PrintedTicket]) -> bytes:
    pdf = FPDF(format=(105, 148))  # A6, in millimetres
    pdf.set_auto_page_break(False)
    for ticket in tickets[:MAX_TICKETS_PER_FILE]:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 7, _text(ticket.event_title or "Event"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        when = ticket.event_date.strftime("%Y-%m-%d %H:%M UTC") if ticket.event_date else ""
        lines = f"{when}\n{ticket.type_name} - {ticket.price}" + (f"\n{ticket.attendee}" if ticket.attendee else "")
        pdf.multi_cell(0, 5, _text(lines), new_x="LMARGIN", new_y="NEXT")
        image = qrcode.make(ticket.code, border=2).get_image()
        pdf.image(image, x=(pdf.w - 70) / 2, y=pdf.get_y() + 4, w=70, h=70)
        pdf.set_y(pdf.h - 14)
        pdf.set_font("Courier", size=8)
        pdf.cell(0, 5, f"Ticket {ticket.ticket_id[:12]}", align="C")
    return bytes(pdf.output())
