"""The pure domain core: programs, members, the double-entry ledger, lots and holds.

Nothing here does I/O or imports a framework; a test enforces it."""

from .accounts import Account
from .clock import Clock, FixedClock, SystemClock
from .holds import Hold, HoldStatus
from .lots import LotMovement, LotSource, MovementKind, PointLot
from .member import Member, MemberStatus
from .member_ledger import Balances, IdSource, MemberLedger, Refund
from .money import EarnRate, Money, Rounding
from .orders import OrderHistory
from .program import Program, ProgramPolicy
from .transactions import Posting, Transaction, TransactionKind

__all__ = [
    "Account", "Balances", "Clock", "EarnRate", "FixedClock", "Hold", "HoldStatus", "IdSource",
    "LotMovement", "LotSource", "Member", "MemberLedger", "MemberStatus", "Money", "MovementKind",
    "OrderHistory", "PointLot", "Posting", "Program", "ProgramPolicy", "Refund", "Rounding",
    "SystemClock", "Transaction", "TransactionKind",
]
