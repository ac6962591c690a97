"""The money formatter of the reports: :mod:`billport.billing.money`, where the server's
invoice statements use it too (the layers keep ``reconcile`` and ``server`` apart)."""

from billport.billing.money import (
    DEFAULT_MINOR_UNITS,
    MINOR_UNITS,
    format_amount,
    format_money,
    minor_units,
)

__all__ = ["DEFAULT_MINOR_UNITS", "MINOR_UNITS", "format_amount", "format_money", "minor_units"]
