"""Staff roles and the explicit table of what each may do. A role's need for a second
factor follows from the table: any permission that changes money-like state (points,
the rules that award them, coupons, who may act on the program) requires TOTP."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    OWNER = "owner"
    MARKETER = "marketer"
    SUPPORT = "support"
    AUDITOR = "auditor"


class Permission(str, Enum):
    VIEW = "view"  # the dashboard, members, rules, the transparency log: reading only
    READ_AUDIT_LOG = "read_audit_log"
    ADJUST_POINTS = "adjust_points"
    CHANGE_MEMBER_STATUS = "change_member_status"  # suspend, reactivate, close
    EDIT_RULES = "edit_rules"  # draft, validate, diff and simulate a ruleset
    PUBLISH_RULES = "publish_rules"
    MANAGE_API_KEYS = "manage_api_keys"
    MANAGE_STAFF = "manage_staff"
    # The fraud review queue: who was flagged or held, why, and for how many points. Reading it
    # is oversight (the auditor's); settling it moves points (release or take back).
    READ_FRAUD_REVIEWS = "read_fraud_reviews"
    SETTLE_FRAUD_REVIEWS = "settle_fraud_reviews"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.MARKETER: frozenset({Permission.VIEW, Permission.EDIT_RULES, Permission.PUBLISH_RULES}),
    Role.SUPPORT: frozenset({Permission.VIEW, Permission.ADJUST_POINTS, Permission.CHANGE_MEMBER_STATUS,
                             Permission.READ_FRAUD_REVIEWS, Permission.SETTLE_FRAUD_REVIEWS}),
    Role.AUDITOR: frozenset({Permission.VIEW, Permission.READ_AUDIT_LOG, Permission.READ_FRAUD_REVIEWS}),
}

# What changes points or their value, or who may change them.
MONEY_LIKE = frozenset({Permission.ADJUST_POINTS, Permission.CHANGE_MEMBER_STATUS, Permission.PUBLISH_RULES,
                        Permission.MANAGE_API_KEYS, Permission.MANAGE_STAFF, Permission.SETTLE_FRAUD_REVIEWS})


def may(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


def needs_totp(role: Role) -> bool:
    """Whether accounts of `role` must sign in with a second factor."""
    return bool(PERMISSIONS[role] & MONEY_LIKE)
