"""Margin: equity and debt per user, covered at public prices and haircuts (statement version 3).

A ledger gives debts in ``<ASSET>.debt`` columns (:class:`stark_por.Ledger`); a round that has
any is proved with a prices file (:class:`Prices`), and proves for every borrower that the
value of their equity after haircuts covers the value of their debt.
"""

from .prices import FIELDS, MAX_DECIMAL_DIGITS, VALUE_UNIT_EXP, Prices, canonical_decimal, price_terms

__all__ = ["Prices", "canonical_decimal", "price_terms", "FIELDS", "MAX_DECIMAL_DIGITS", "VALUE_UNIT_EXP"]
