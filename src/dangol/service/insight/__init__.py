"""Insight over a program's own data: the pure models of dangol.insight, fed from the
ledger, with members' consent asked first."""
