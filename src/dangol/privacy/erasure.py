"""Erasure by crypto-shredding: what is left of a member afterwards.

The ledger and the transparency log stay as they are: they hold a pseudonym (the member
id, and in the log a keyed commitment), never personal data. What linked the pseudonym to
the person goes: the data key (so every sealed copy of the personal data is unreadable),
the personal rows, the profile and its history, the consents in force, the log key
(so no one can prove which commitments were the member's), and the brand's customer
reference, replaced by `erased:<member id>` wherever dangol kept it (the member's row,
the bodies of their events, the stored answers of their requests). Free text the member's
transactions carried (`reason`) and the profile their stored answers repeat are cleared too:
neither is part of any log entry."""

from __future__ import annotations

from typing import Any

from ..domain.errors import DomainError

ERASED_PREFIX = "erased:"
# What an object about the member (its `member_id` is theirs) may hold of them: cleared.
CLEARED = frozenset({"reason", "profile"})


class MemberErased(DomainError):
    """The member was erased: there is nothing personal of theirs to read or change."""

    code = "member-erased"
    title = "The member's data was erased"


def erased_ref(member_id: str) -> str:
    """The customer reference an erased member keeps: unique, and naming no one."""
    return ERASED_PREFIX + member_id


def is_erased_ref(external_ref: str) -> bool:
    return external_ref.startswith(ERASED_PREFIX)


def scrub(document: Any, member_id: str, external_ref: str) -> tuple[Any, bool]:
    """`document` (parsed JSON: a stored receipt, an event's body or result) with the
    member's customer reference replaced and what objects about them hold of them cleared
    (CLEARED); and whether anything changed. Only what is about this member is touched: an
    `external_ref` equal to theirs, a `reason` or `profile` of an object whose `member_id` is
    theirs."""
    if isinstance(document, list):
        changed = False
        items = []
        for item in document:
            new, touched = scrub(item, member_id, external_ref)
            items.append(new)
            changed |= touched
        return items, changed
    if not isinstance(document, dict):
        return document, False
    changed = False
    result: dict[str, Any] = {}
    for key, value in document.items():
        if key == "external_ref" and value == external_ref:
            result[key] = erased_ref(member_id)
            changed = True
        elif key in CLEARED and value is not None and document.get("member_id") == member_id:
            result[key] = None
            changed = True
        else:
            new, touched = scrub(value, member_id, external_ref)
            result[key] = new
            changed |= touched
    return result, changed

