"""The log's leaves: the canonical, versioned bytes of a ledger transaction or of a
published ruleset, and the keyed commitment that stands for a member in them.

Entry bytes are canonical JSON: UTF-8, keys sorted, no insignificant whitespace, no
`\\u` escapes for non-ASCII text, integers only (no floats), times as
`YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, and the format's version `"v"`. Lists whose order means nothing are
put in one order: lots by id, movements by (lot, kind, amount); postings keep their
line order. So one transaction has exactly one encoding, and `decode` refuses any other
(it re-encodes what it read and requires the same bytes).

Transaction entries have two versions. Version 1 (written before postings named rules):
postings are (account, amount, member), and an earn made by a rule names it in `rule`.
Version 2 (written since): every posting also has `rule`, the earning rule its points came
from (null when no rule made them), because one transaction carries all that an event's
rules gave a member; the transaction's `rule` is the rule when its postings name exactly
one, else null. Entries are never rewritten: a log holds v1 entries, then v2 ones, and
both are read. Ruleset entries are version 1 (their shape has not changed).

No raw member id and no free text appear in an entry: a member is their commitment,
hex(HMAC-SHA256(member key, "dangol/member/v1\\n" + program + "\\n" + member id)), and
a transaction's `reason` (which may hold personal data) is left out. Standard library only,
so an auditor can read and copy it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from functools import lru_cache
from json.encoder import encode_basestring  # undocumented: the C string encoder json.dumps uses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

VERSION = 2  # what transaction entries are written as
TRANSACTION_VERSIONS = (1, 2)
RULESET_VERSION = 1
MEMBER_KEY_SIZE = 32
COMMITMENT_DOMAIN = b"dangol/member/v1\n"
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_COMMITMENT = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_ENTRY_SIZE = 1 << 20  # a ruleset document is the largest entry; a megabyte is far above any


class EntryError(ValueError):
    """Bytes that are not a valid, canonical log entry."""


def member_commitment(member_key: bytes, program_id: str, member_id: str) -> str:
    """The pseudonym of a member in the log: only someone holding the member's key (the
    operator, and the member, who is given it) can tell which entries are theirs."""
    if len(member_key) != MEMBER_KEY_SIZE:
        raise ValueError(f"a member key is {MEMBER_KEY_SIZE} bytes")
    message = COMMITMENT_DOMAIN + program_id.encode() + b"\n" + member_id.encode()
    return hmac.new(member_key, message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=4096)
def format_time(moment: datetime) -> str:
    """An aware datetime as `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC. Cached: a batch's
    entries share a few instants (its time, the expiry a year on)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("log entry times are aware datetimes")
    t = moment.astimezone(timezone.utc)
    # An f-string, not strftime: this runs for every time of every entry an audit reads.
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}."
            f"{t.microsecond:06d}Z")


def parse_time(text: object, where: str) -> datetime:
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise EntryError(f"{where} is not a time YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        # The pattern above fixes the layout; fromisoformat (ten times cheaper than strptime)
        # checks the ranges and reads the Z as UTC.
        return datetime.fromisoformat(text)
    except ValueError:
        raise EntryError(f"{where} is not a valid time") from None


# ---------------------------------------------------------------------- values

@dataclass(frozen=True, slots=True)
class PostingEntry:
    account: str
    amount: int
    member: str | None  # commitment hex, None for a program account
    rule: str | None = None  # the earning rule the points came from (version 2 only)


@dataclass(frozen=True, slots=True)
class LotEntry:
    id: int
    amount: int
    available_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class MovementEntry:
    lot: int
    kind: str
    amount: int


@dataclass(frozen=True, slots=True)
class MoneyEntry:
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class TransactionEntry:
    program: str
    id: int
    kind: str
    occurred_at: datetime
    postings: tuple[PostingEntry, ...]
    lots: tuple[LotEntry, ...] = ()  # lots this transaction created
    movements: tuple[MovementEntry, ...] = ()
    order_ref: str | None = None
    money: MoneyEntry | None = None
    rule: str | None = None
    ruleset: str | None = None
    idempotency_key: str | None = None
    hold: int | None = None
    version: int = VERSION

    type = "transaction"

    def members(self) -> set[str]:
        """The commitments of the members this transaction moved points for."""
        return {p.member for p in self.postings if p.member is not None}


@dataclass(frozen=True, slots=True)
class RulesetEntry:
    program: str
    hash: str
    version: int
    effective_from: datetime
    published_at: datetime
    urgent: bool
    document: Mapping[str, Any]  # the ruleset's canonical JSON, parsed

    type = "ruleset"


Entry = TransactionEntry | RulesetEntry


# ---------------------------------------------------------------------- encoding

# One encoder and one decoder for every entry: json.dumps/loads with options build new ones
# per call, which an audit of a million entries pays a million times.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _canonical(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


def _transaction_json(e: TransactionEntry) -> dict[str, Any]:
    """A transaction entry as a JSON value: the specification `_encode_transaction` writes
    out by hand (a test checks that its canonical JSON is the same bytes)."""
    postings: list[dict[str, Any]] = [{"account": p.account, "amount": p.amount, "member": p.member}
                                      for p in e.postings]
    if e.version >= 2:
        for posting, p in zip(postings, e.postings):
            posting["rule"] = p.rule
    return {
        "v": e.version, "type": "transaction", "program": e.program, "id": e.id, "kind": e.kind,
        "occurred_at": format_time(e.occurred_at),
        "postings": postings,
        "lots": [{"id": lot.id, "amount": lot.amount, "available_at": format_time(lot.available_at),
                  "expires_at": format_time(lot.expires_at)} for lot in sorted(e.lots, key=lambda lot: lot.id)],
        "movements": [{"lot": m.lot, "kind": m.kind, "amount": m.amount}
                      for m in sorted(e.movements, key=lambda m: (m.lot, m.kind, m.amount))],
        "order_ref": e.order_ref,
        "money": None if e.money is None else {"amount": e.money.amount, "currency": e.money.currency},
        "rule": e.rule, "ruleset": e.ruleset, "idempotency_key": e.idempotency_key, "hold": e.hold,
    }


def _ruleset_json(e: RulesetEntry) -> dict[str, Any]:
    return {
        "v": RULESET_VERSION, "type": "ruleset", "program": e.program, "hash": e.hash, "version": e.version,
        "effective_from": format_time(e.effective_from), "published_at": format_time(e.published_at),
        "urgent": e.urgent, "document": e.document,
    }


def _num(value: int, where: str) -> str:
    if type(value) is not int:
        raise EntryError(f"{where}: log entries hold integers only")
    return str(value)


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _encode_transaction(e: TransactionEntry) -> bytes:
    return encode_transaction(
        e.program, e.id, e.kind, e.occurred_at, [(p.account, p.amount, p.member, p.rule) for p in e.postings],
        [(lot.id, lot.amount, lot.available_at, lot.expires_at) for lot in e.lots],
        [(m.lot, m.kind, m.amount) for m in e.movements], e.order_ref,
        None if e.money is None else (e.money.amount, e.money.currency), e.rule, e.ruleset, e.idempotency_key,
        e.hold, e.version)


def encode_transaction(
    program: str, txn_id: int, kind: str, occurred_at: datetime,
    postings: Iterable[tuple[str, int, str | None, str | None]],
    lots: Iterable[tuple[int, int, datetime, datetime]],
    movements: Iterable[tuple[int, str, int]], order_ref: str | None, money: tuple[int, str] | None,
    rule: str | None, ruleset: str | None, idempotency_key: str | None, hold: int | None,
    version: int = VERSION,
) -> bytes:
    """The canonical bytes of a transaction entry of format `version` from plain values
    (postings as (account, amount, member commitment or None, rule or None); a version 1
    entry cannot say a posting's rule), lots as (id, amount, available_at,
    expires_at), movements as (lot, kind, amount)): what `encode` gives for the
    TransactionEntry of the same values. Every ledger write encodes one entry per
    transaction, so this writes the JSON out directly, several times faster than
    building the values and calling json.dumps with sort_keys: the keys below are in
    sorted order, strings go through the json module's own escaping, and a test checks
    the result against `_transaction_json`'s canonical JSON."""
    if version == 2:
        postings_json = ",".join([
            f'{{"account":{encode_basestring(account)},"amount":{_num(amount, "amount")},"member":{_text(member)},'
            f'"rule":{_text(posting_rule)}}}'
            for account, amount, member, posting_rule in postings])
    elif version == 1:
        postings = list(postings)
        if any(posting[3] is not None for posting in postings):
            raise EntryError("a version 1 entry cannot name the rule of a posting")
        postings_json = ",".join([
            f'{{"account":{encode_basestring(account)},"amount":{_num(amount, "amount")},"member":{_text(member)}}}'
            for account, amount, member, _ in postings])
    else:
        raise EntryError(f"transaction entries are of version {' or '.join(map(str, TRANSACTION_VERSIONS))}")
    lots = list(lots)
    lots_json = ",".join([
        f'{{"amount":{_num(amount, "amount")},"available_at":"{format_time(available)}",'
        f'"expires_at":"{format_time(expires)}","id":{_num(lot_id, "lot id")}}}'
        for lot_id, amount, available, expires in (sorted(lots, key=_first) if len(lots) > 1 else lots)])
    movements = list(movements)
    movements_json = ",".join([
        f'{{"amount":{_num(amount, "amount")},"kind":{encode_basestring(move_kind)},"lot":{_num(lot, "lot")}}}'
        for lot, move_kind, amount in (sorted(movements) if len(movements) > 1 else movements)])
    money_json = "null" if money is None else \
        f'{{"amount":{_num(money[0], "money")},"currency":{encode_basestring(money[1])}}}'
    hold_json = "null" if hold is None else _num(hold, "hold")
    text = (f'{{"hold":{hold_json},"id":{_num(txn_id, "id")},"idempotency_key":{_text(idempotency_key)},'
            f'"kind":{encode_basestring(kind)},"lots":[{lots_json}],"money":{money_json},'
            f'"movements":[{movements_json}],"occurred_at":"{format_time(occurred_at)}",'
            f'"order_ref":{_text(order_ref)},"postings":[{postings_json}],"program":{encode_basestring(program)},'
            f'"rule":{_text(rule)},"ruleset":{_text(ruleset)},"type":"transaction","v":{version}}}')
    return text.encode("utf-8")


def stated_version(data: bytes) -> int:
    """The format version a stored transaction entry states, read off its last field (a
    canonical entry ends with `"v":N}`) without parsing it: the operator's check rebuilds
    each entry in the version it was written in and compares bytes. Bytes that state none
    are taken as the current version (and then differ from what the ledger implies)."""
    tail = bytes(data[-8:])
    for version in TRANSACTION_VERSIONS:
        if tail.endswith(b'"v":%d}' % version):
            return version
    return VERSION


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def encode(entry: Entry) -> bytes:
    """The canonical bytes of an entry (what the leaf hash is taken of)."""
    if isinstance(entry, TransactionEntry):
        return _encode_transaction(entry)
    if isinstance(entry, RulesetEntry):
        value = _ruleset_json(entry)
    else:
        raise TypeError(f"not a log entry: {type(entry).__name__}")
    _check_values(value, "entry")
    return _canonical(value)


def _check_values(value: Any, where: str) -> None:
    """Integers only, and nothing JSON would write in more than one way."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise EntryError(f"{where}: floats are not allowed in log entries")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EntryError(f"{where}: object keys are strings")
            _check_values(item, f"{where}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_values(item, f"{where}[{i}]")
        return
    raise EntryError(f"{where}: {type(value).__name__} is not a JSON value")


# ---------------------------------------------------------------------- decoding

def decode(data: bytes) -> Entry:
    """Reads an entry, refusing anything but the canonical encoding of a valid one."""
    if not isinstance(data, (bytes, bytearray)):
        raise EntryError("an entry is bytes")
    if len(data) > MAX_ENTRY_SIZE:
        raise EntryError(f"an entry is at most {MAX_ENTRY_SIZE} bytes")
    try:
        value = _DECODER.decode(bytes(data).decode("utf-8"))
    except UnicodeDecodeError:
        raise EntryError("an entry is UTF-8") from None
    except json.JSONDecodeError as error:
        raise EntryError(f"an entry is JSON: {error.msg} at byte {error.pos}") from None
    if not isinstance(value, dict):
        raise EntryError("an entry is a JSON object")
    kind, version = value.get("type"), value.get("v")
    entry: Entry
    if kind == "transaction":
        if version not in TRANSACTION_VERSIONS or type(version) is not int:
            raise EntryError(f"transaction entry version {version!r} is not one of {TRANSACTION_VERSIONS}")
        entry = _read_transaction(value, version)
    elif kind == "ruleset":
        if version != RULESET_VERSION or type(version) is not int:
            raise EntryError(f"ruleset entry version {version!r} is not {RULESET_VERSION}")
        entry = _read_ruleset(value)
    else:
        raise EntryError(f"entry type {kind!r} is neither 'transaction' nor 'ruleset'")
    # What was read holds JSON values with integers only (floats were refused above), so the
    # re-encoding can skip encode's value check, the costliest step of an audit's parse.
    value = _transaction_json(entry) if isinstance(entry, TransactionEntry) else _ruleset_json(entry)
    if _canonical(value) != bytes(data):
        raise EntryError("the entry is not in canonical form")
    return entry


def _no_float(text: str) -> Any:
    raise EntryError(f"{text} is not an integer: log entries hold integers only")


_DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float)


def _fields(value: Any, names: Sequence[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EntryError(f"{where} is an object")
    if set(value) != set(names):
        missing, extra = sorted(set(names) - set(value)), sorted(set(value) - set(names))
        raise EntryError(f"{where}: missing fields {missing}, unknown fields {extra}")
    return value


def _int(value: Any, where: str) -> int:
    if type(value) is not int:
        raise EntryError(f"{where} is an integer")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise EntryError(f"{where} is a non-empty string")
    return value


def _opt(value: Any, read: Any, where: str) -> Any:
    return None if value is None else read(value, where)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise EntryError(f"{where} is a list")
    return value


def _commitment(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _COMMITMENT.fullmatch(value):
        raise EntryError(f"{where} is a member commitment (64 lowercase hex digits)")
    return value


TRANSACTION_FIELDS = ("v", "type", "program", "id", "kind", "occurred_at", "postings", "lots", "movements",
                      "order_ref", "money", "rule", "ruleset", "idempotency_key", "hold")
RULESET_FIELDS = ("v", "type", "program", "hash", "version", "effective_from", "published_at", "urgent",
                  "document")


def _read_transaction(value: dict[str, Any], version: int) -> TransactionEntry:
    v = _fields(value, TRANSACTION_FIELDS, "a transaction entry")
    postings = []
    posting_fields = ("account", "amount", "member", "rule") if version >= 2 else ("account", "amount", "member")
    for i, p in enumerate(_list(v["postings"], "postings")):
        where = f"postings[{i}]"
        p = _fields(p, posting_fields, where)
        amount = _int(p["amount"], f"{where}.amount")
        if amount == 0:
            raise EntryError(f"{where}.amount is not zero")
        postings.append(PostingEntry(_str(p["account"], f"{where}.account"), amount,
                                     _opt(p["member"], _commitment, f"{where}.member"),
                                     _opt(p.get("rule"), _str, f"{where}.rule")))
    if len(postings) < 2 or sum(p.amount for p in postings) != 0:
        raise EntryError("a transaction has at least two postings and they sum to zero")
    lots = []
    for i, lot in enumerate(_list(v["lots"], "lots")):
        where = f"lots[{i}]"
        lot = _fields(lot, ("id", "amount", "available_at", "expires_at"), where)
        lots.append(LotEntry(_int(lot["id"], f"{where}.id"), _int(lot["amount"], f"{where}.amount"),
                             parse_time(lot["available_at"], f"{where}.available_at"),
                             parse_time(lot["expires_at"], f"{where}.expires_at")))
    movements = []
    for i, m in enumerate(_list(v["movements"], "movements")):
        where = f"movements[{i}]"
        m = _fields(m, ("lot", "kind", "amount"), where)
        movements.append(MovementEntry(_int(m["lot"], f"{where}.lot"), _str(m["kind"], f"{where}.kind"),
                                       _int(m["amount"], f"{where}.amount")))
    money = None
    if v["money"] is not None:
        m = _fields(v["money"], ("amount", "currency"), "money")
        currency = m["currency"]
        if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
            raise EntryError("money.currency is an ISO 4217 code")
        money = MoneyEntry(_int(m["amount"], "money.amount"), currency)
    return TransactionEntry(
        program=_str(v["program"], "program"), id=_int(v["id"], "id"), kind=_str(v["kind"], "kind"),
        occurred_at=parse_time(v["occurred_at"], "occurred_at"), postings=tuple(postings), lots=tuple(lots),
        movements=tuple(movements), order_ref=_opt(v["order_ref"], _str, "order_ref"), money=money,
        rule=_opt(v["rule"], _str, "rule"), ruleset=_opt(v["ruleset"], _str, "ruleset"),
        idempotency_key=_opt(v["idempotency_key"], _str, "idempotency_key"), hold=_opt(v["hold"], _int, "hold"),
        version=version,
    )


def _read_ruleset(value: dict[str, Any]) -> RulesetEntry:
    v = _fields(value, RULESET_FIELDS, "a ruleset entry")
    if not isinstance(v["urgent"], bool):
        raise EntryError("urgent is true or false")
    if not isinstance(v["document"], dict):
        raise EntryError("document is the ruleset's canonical JSON object")
    return RulesetEntry(
        program=_str(v["program"], "program"), hash=_str(v["hash"], "hash"), version=_int(v["version"], "version"),
        effective_from=parse_time(v["effective_from"], "effective_from"),
        published_at=parse_time(v["published_at"], "published_at"), urgent=v["urgent"], document=v["document"],
    )
