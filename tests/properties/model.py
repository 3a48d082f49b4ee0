"""Member ledgers in memory: the domain without storage, driven by the same steps."""

from __future__ import annotations

import copy
from datetime import datetime

from dangol.domain import MemberLedger, Program
from dangol.domain import commands as cmd
from dangol.domain.errors import UnknownHold
from domain.support import Counter, ledger as new_ledger


class DomainModel:
    def __init__(self, program: Program, member_ids: list[str]) -> None:
        self.ids = Counter()
        self.ledgers = {member_id: new_ledger(member_id, of=program) for member_id in member_ids}

    def apply(self, command: object, at: datetime) -> int | None:
        """Applies a command; returns the id of a hold it placed."""
        if isinstance(command, (cmd.CaptureHold, cmd.VoidHold)):
            owner = next((lg for lg in self.ledgers.values() if command.hold_id in lg.holds), None)
            if owner is None:
                raise UnknownHold(f"no hold {command.hold_id}")
            if isinstance(command, cmd.CaptureHold):
                owner.capture_hold(command, at, self.ids)
            else:
                owner.void_hold(command, at, self.ids)
            return None
        ledger = self.ledgers[command.member_id]  # type: ignore[attr-defined]
        if isinstance(command, cmd.Earn):
            ledger.earn(command, at, self.ids)
        elif isinstance(command, cmd.Redeem):
            ledger.redeem(command, at, self.ids)
        elif isinstance(command, cmd.PlaceHold):
            return ledger.place_hold(command, at, self.ids).id
        elif isinstance(command, cmd.Reverse):
            ledger.reverse(command, at, self.ids)
        elif isinstance(command, cmd.Adjust):
            ledger.adjust(command, at, self.ids)
        elif isinstance(command, cmd.Transfer):
            ledger.transfer(self.ledgers[command.to_member_id], command, at, self.ids)
        elif isinstance(command, cmd.SetMemberStatus):
            ledger.set_status(command, at, self.ids)
        else:  # pragma: no cover - a step the model does not know is a bug in the test
            raise AssertionError(f"unexpected command {command!r}")
        return None

    def settle_all(self, at: datetime) -> None:
        for ledger in self.ledgers.values():
            ledger.settle(at, self.ids)

    def save_point(self) -> dict[str, MemberLedger]:
        return copy.deepcopy(self.ledgers)

    def restore(self, saved: dict[str, MemberLedger]) -> None:
        self.ledgers = saved
