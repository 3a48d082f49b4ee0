"""dangol: an open-source, verifiable loyalty points ledger."""

__version__ = "0.1.0"
