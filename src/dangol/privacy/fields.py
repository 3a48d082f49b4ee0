"""The personal fields a program keeps of its members, and what a valid value of each is.

A program names its fields and gives each a kind (text, email, phone, date, address); by
default they are name, email, phone, birthday and address. Values are strings: a date is
`YYYY-MM-DD` and cannot be in the future. An invalid value is refused with the field
named, and nothing is kept of it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ..domain.errors import InvalidRequest

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 20
# A pragmatic check, not RFC 5322's grammar: one @, a dotted domain, no spaces or controls.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]"
                    r"{0,61}[A-Za-z0-9])?)+$")
# International (+82 10-1234-5678) or national (010-1234-5678) numbers, with spaces, dashes
# or brackets between digit groups: 7 to 15 digits (E.164's most).
_PHONE = re.compile(r"^\+?[0-9]+(?:[ ()-]{1,2}[0-9]+)*$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class FieldKind(StrEnum):
    TEXT = "text"  # up to 200 printable characters
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"  # YYYY-MM-DD, not in the future
    ADDRESS = "address"  # up to 500 characters, line breaks allowed


DEFAULT_FIELDS: Mapping[str, FieldKind] = {
    "name": FieldKind.TEXT, "email": FieldKind.EMAIL, "phone": FieldKind.PHONE, "birthday": FieldKind.DATE,
    "address": FieldKind.ADDRESS,
}


class InvalidPersonalData(InvalidRequest):
    """A value refused; `field` names it (the API's problem carries it, and `errors`)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}", field=name)
        self.field = name


@dataclass(frozen=True)
class PersonalFields:
    """A program's set of personal fields, by name."""

    kinds: Mapping[str, FieldKind] = field(default_factory=lambda: dict(DEFAULT_FIELDS))

    def __post_init__(self) -> None:
        if not 1 <= len(self.kinds) <= MAX_FIELDS:
            raise InvalidRequest(f"a program keeps 1 to {MAX_FIELDS} personal fields")
        for name in self.kinds:
            if not FIELD_NAME.match(name):
                raise InvalidRequest(f"personal field {name!r}: a lowercase letter, then up to 39 lowercase "
                                     "letters, digits or '_'")

    @classmethod
    def from_json(cls, value: Mapping[str, str]) -> PersonalFields:
        try:
            return cls({name: FieldKind(kind) for name, kind in value.items()})
        except ValueError:
            kinds = ", ".join(k.value for k in FieldKind)
            raise InvalidRequest(f"a personal field's kind is one of {kinds}") from None

    def as_json(self) -> dict[str, str]:
        return {name: kind.value for name, kind in self.kinds.items()}

    def apply(self, current: Mapping[str, str], changes: Mapping[str, object], today: date) -> dict[str, str]:
        """The member's values after `changes` (a field set to None is cleared; the others
        stay). The first invalid change is refused, naming its field."""
        for name in sorted(changes):
            if name not in self.kinds:
                raise InvalidPersonalData(name, f"not one of this program's personal fields "
                                                f"({', '.join(sorted(self.kinds))})")
        values = {name: value for name, value in current.items() if name in self.kinds}
        for name in sorted(changes):
            value = changes[name]
            if value is None:
                values.pop(name, None)
            else:
                values[name] = check_value(name, self.kinds[name], value, today)
        return values


def check_value(name: str, kind: FieldKind, value: object, today: date) -> str:
    if not isinstance(value, str):
        raise InvalidPersonalData(name, "must be a string")
    text = value.strip()
    if not text:
        raise InvalidPersonalData(name, "must not be empty (send null to clear it)")
    if kind is FieldKind.EMAIL:
        if len(text) > 254 or not _EMAIL.match(text):
            raise InvalidPersonalData(name, f"{_quoted(text)} is not an e-mail address")
    elif kind is FieldKind.PHONE:
        digits = sum(c.isdigit() for c in text)
        if len(text) > 32 or not _PHONE.match(text) or not 7 <= digits <= 15:
            raise InvalidPersonalData(name, f"{_quoted(text)} is not a phone number (7 to 15 digits, "
                                            "optionally +, spaces, dashes)")
    elif kind is FieldKind.DATE:
        try:
            day = date.fromisoformat(text) if _DATE.match(text) else None
        except ValueError:
            day = None
        if day is None:
            raise InvalidPersonalData(name, f"{_quoted(text)} is not a date YYYY-MM-DD")
        if day > today:
            raise InvalidPersonalData(name, f"{text} is in the future")
    elif kind is FieldKind.ADDRESS:
        if len(text) > 500 or not all(c.isprintable() or c == "\n" for c in text):
            raise InvalidPersonalData(name, "an address is up to 500 printable characters and line breaks")
    elif len(text) > 200 or not text.isprintable():
        raise InvalidPersonalData(name, "up to 200 printable characters")
    return text


def _quoted(text: str) -> str:
    """The refused value, short, in the message: the caller sent it, so it is theirs to see;
    it is not stored anywhere."""
    return repr(text if len(text) <= 40 else text[:37] + "...")
