"""The operator's check of the transparency log against the ledger (`dangol check`).

It rebuilds, from the ledger's own rows, the entry every transaction should have,
and compares it with the log: every transaction has exactly one entry, with the bytes
the ledger implies and the leaf hash of those bytes; every entry's transaction exists.
It then rebuilds the tree from the entries' leaf hashes, in leaf order, compares every
stored node with it, and checks every signed checkpoint's root (and signature) against it.
Each problem names the entry it concerns (leaf index, sequence, transaction), or the
range of leaves a bad node or checkpoint covers, and the report names the first bad entry
in log order: the place to start looking after someone edited the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from ..storage.database import Database
from ..storage.log_repository import LedgerForLog
from ..storage.types import from_micros
from ..transparency.checkpoint import open_checkpoint
from ..transparency.entry import EntryError, decode, member_commitment, stated_version
from ..transparency.keys import VerifierKey
from ..transparency.merkle import MemoryNodeStore, MerkleTree
from ..transparency.note import NoteError
from ..transparency.proofs import leaf_hash, node_hash
from .log_writer import transaction_entry_bytes


@dataclass(frozen=True, slots=True)
class LogProblem:
    what: str
    index: int | None = None  # the leaf index of the entry concerned, if integrated
    sequence: int | None = None
    transaction: int | None = None
    leaves: int = 1  # how many leaves from `index` the problem concerns (a node covers several)

    @property
    def position(self) -> tuple[int, int]:
        """Where the problem is in log order: integrated entries by leaf index, then
        entries not integrated yet by sequence, then what has no entry at all."""
        if self.index is not None:
            return (0, self.index)
        if self.sequence is not None:
            return (1, self.sequence)
        return (2, self.transaction or 0)

    def __str__(self) -> str:
        if self.index is not None and self.leaves > 1:
            return f"log entries (leaves {self.index} to {self.index + self.leaves - 1}): {self.what}"
        where = [f"leaf {self.index}" if self.index is not None else None,
                 f"sequence {self.sequence}" if self.sequence is not None else None,
                 f"transaction {self.transaction}" if self.transaction is not None else None]
        named = ", ".join(w for w in where if w)
        return f"log entry ({named}): {self.what}" if named else self.what


@dataclass
class LogCheckReport:
    entries: int = 0
    tree_size: int = 0
    checkpoints: int = 0
    problems: list[LogProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> LogProblem | None:
        """The problem first in log order. A bad interior node covers several leaves (and
        makes its ancestors bad too): the most precise problem inside its range, the one
        covering the fewest leaves, is the answer."""
        if not self.problems:
            return None
        first = min(self.problems, key=lambda p: p.position)
        if first.leaves > 1 and first.index is not None:
            start, end = first.index, first.index + first.leaves
            inside = [p for p in self.problems if p.index is not None and start <= p.index < end]
            return min(inside, key=lambda p: (p.leaves, p.position))
        return first


class _Peek:
    """An iterator of (key, value) one can look ahead in."""

    def __init__(self, items: Iterator[tuple[int, Any]]) -> None:
        self._items = iter(items)
        self.head: tuple[int, Any] | None = next(self._items, None)

    def take(self, key: int) -> Any | None:
        """The value of `key` if it is next (and moves on), else None; never goes past a greater key."""
        if self.head is not None and self.head[0] == key:
            value = self.head[1]
            self.head = next(self._items, None)
            return value
        return None

    def skip_before(self, key: int | None) -> Iterator[tuple[int, Any]]:
        """Yields (and passes) everything with a key below `key` (everything when None)."""
        while self.head is not None and (key is None or self.head[0] < key):
            yield self.head
            self.head = next(self._items, None)


class LogCheck:
    def __init__(self, db: Database, verifier: Callable[[], VerifierKey | None] = lambda: None) -> None:
        self.db = db
        self.verifier = verifier

    def run(self) -> LogCheckReport:
        report = LogCheckReport()
        with self.db.read() as conn:
            rows = LedgerForLog(conn)
            commitments = self._commitments(conn, report)
            keys = self._idempotency_keys(rows)
            self._entries(rows, commitments, keys, report)
            tree_size = int(conn.exec_driver_sql("SELECT tree_size FROM log_state WHERE id = 1").scalar() or 0)
            tree = self._tree(rows, tree_size, report)
            self._nodes(rows, tree, report)
            self._checkpoints(rows, tree, report)
            self._name_entries(rows, report)
        return report

    # ------------------------------------------------------------ entries against the ledger

    @staticmethod
    def _commitments(conn: Any, report: LogCheckReport) -> dict[str, str]:
        found: dict[str, str] = {}
        for member_id, program_id, key, commitment in conn.exec_driver_sql(
                "SELECT member_id, program_id, key, commitment FROM member_log_keys"):
            if key is None:  # an erased member's: the commitment stays, no one can recompute it
                found[member_id] = commitment
                continue
            expected = member_commitment(bytes(key), program_id, member_id)
            if expected != commitment:
                report.problems.append(LogProblem(f"member {member_id}'s stored commitment is not that of their key"))
            found[member_id] = expected
        return found

    @staticmethod
    def _idempotency_keys(rows: LedgerForLog) -> dict[int, str]:
        """sequence -> the idempotency key whose remembered receipt lists it."""
        found: dict[int, str] = {}
        for _scope, key, response in rows.idempotency_receipts():
            if '"log"' not in response:
                continue
            receipt = orjson.loads(response)
            for item in receipt.get("log", ()) if isinstance(receipt, dict) else ():
                found[int(item["sequence"])] = key
        return found

    def _entries(self, rows: LedgerForLog, commitments: dict[str, str], keys: dict[int, str],
                 report: LogCheckReport) -> None:
        postings, lots, movements = _Peek(rows.postings()), _Peek(rows.lots()), _Peek(rows.movements())
        entries = _Peek(rows.entries_by_transaction())
        problems = report.problems
        for txn in rows.transactions():
            txn_id, program_id, kind, occurred, order_ref, amount, currency, rule, ruleset, hold = txn
            for orphan_id, orphan_rows in entries.skip_before(txn_id):
                problems += [LogProblem(f"its transaction {orphan_id} is not in the ledger", r[2], r[1], orphan_id)
                             for r in orphan_rows]
            for stream in (postings, lots, movements):
                _drain(stream.skip_before(txn_id))  # rows of no transaction: the ledger check reports those
            stored = entries.take(txn_id) or []
            txn_postings = postings.take(txn_id) or []
            txn_lots = lots.take(txn_id) or []
            txn_moves = movements.take(txn_id) or []
            if not stored:
                problems.append(LogProblem("the transaction has no log entry", transaction=txn_id))
                continue
            report.entries += len(stored)
            if len(stored) > 1:
                problems += [LogProblem("one of several entries of one transaction", r[2], r[1], txn_id)
                             for r in stored[1:]]
            _, sequence, index, entry, digest = stored[0]
            entry, digest = bytes(entry), bytes(digest)
            if leaf_hash(entry) != digest:
                problems.append(LogProblem("its leaf hash is not the hash of its entry", index, sequence, txn_id))
            try:
                expected = transaction_entry_bytes(
                    program_id, txn_id, kind, from_micros(occurred),
                    [(account, p_amount, member, posting_rule)
                     for _, account, p_amount, member, posting_rule in txn_postings],
                    [(lot_id, lot_amount, from_micros(available), from_micros(expires))
                     for _, lot_id, lot_amount, available, expires in txn_lots],
                    [(lot_id, m_kind, m_amount) for _, lot_id, m_kind, m_amount in txn_moves],
                    order_ref, None if currency is None else (amount, currency), rule, ruleset,
                    keys.get(sequence), hold, commitments, stated_version(entry))
            except (KeyError, ValueError) as error:
                problems.append(LogProblem(f"the ledger's rows cannot make an entry ({error})", index, sequence,
                                           txn_id))
                continue
            if expected != entry:
                problems.append(LogProblem(f"it differs from the ledger in {_difference(entry, expected)}",
                                           index, sequence, txn_id))
        for orphan_id, orphan_rows in entries.skip_before(None):
            problems += [LogProblem(f"its transaction {orphan_id} is not in the ledger", r[2], r[1], orphan_id)
                         for r in orphan_rows]
        for sequence, index, entry, digest in rows.entries_without_transaction():
            # A published ruleset's entry: its bytes must be a valid entry of no
            # transaction, and its leaf hash theirs.
            report.entries += 1
            try:
                if decode(bytes(entry)).type != "ruleset":
                    raise EntryError("a transaction's entry not linked to its transaction")
            except EntryError as error:
                problems.append(LogProblem(f"not a valid ruleset entry: {error}", index, sequence))
            if leaf_hash(bytes(entry)) != bytes(digest):
                problems.append(LogProblem("its leaf hash is not the hash of its entry", index, sequence))

    # ------------------------------------------------------------ the tree

    @staticmethod
    def _tree(rows: LedgerForLog, tree_size: int, report: LogCheckReport) -> MerkleTree:
        tree = MerkleTree(MemoryNodeStore())
        report.tree_size = tree_size
        batch: list[bytes] = []
        expected_index = 0
        for index, sequence, digest in rows.leaves():
            if index != expected_index:
                report.problems.append(LogProblem(f"leaf index {expected_index} is missing (next is {index})",
                                                  expected_index))
                break
            batch.append(bytes(digest))
            expected_index += 1
            if len(batch) >= 65_536:
                tree.append(batch)
                batch = []
        tree.append(batch)
        if tree.size != tree_size:
            report.problems.append(LogProblem(f"the log says its tree has {tree_size} leaves; "
                                              f"{tree.size} entries are integrated", min(tree.size, tree_size)))
        return tree

    @staticmethod
    def _nodes(rows: LedgerForLog, tree: MerkleTree, report: LogCheckReport) -> None:
        """Every stored node checked where it stands: a leaf node against its entry's leaf
        hash, an interior node against the hash of its two stored children. So a bad node
        is pinned to itself (and the first leaf it covers), not to every node above it."""
        size = tree.size
        below: dict[int, bytes] = {}  # the previous level's stored nodes
        here: dict[int, bytes] = {}
        level = 0
        problems = report.problems

        def finish_level() -> None:
            expected = size >> level
            missing = [i for i in range(expected) if i not in here]
            if missing:
                problems.append(LogProblem(f"{len(missing)} stored nodes of level {level} are missing, the first "
                                           f"(level {level}, index {missing[0]})", missing[0] << level))

        for node_level, idx, digest in rows.nodes():
            node_level, idx, digest = int(node_level), int(idx), bytes(digest)
            while node_level > level:
                finish_level()
                below, here, level = here, {}, level + 1
            here[idx] = digest
            if level == 0:
                expected = tree.store.get(0, idx) if idx < size else None
                if expected != digest:
                    problems.append(LogProblem("its stored leaf node differs from its entry's leaf hash", idx))
                continue
            left, right = below.get(2 * idx), below.get(2 * idx + 1)
            if left is None or right is None or node_hash(left, right) != digest:
                problems.append(LogProblem(f"stored node (level {level}, index {idx}) is not the hash of its "
                                           "children", idx << level, leaves=1 << level))
        while size >> level:
            finish_level()
            below, here, level = here, {}, level + 1

    def _checkpoints(self, rows: LedgerForLog, tree: MerkleTree, report: LogCheckReport) -> None:
        verifier = self.verifier()
        matched = 0  # the size of the last checkpoint whose root the tree has
        for size, root, note in rows.checkpoints():
            report.checkpoints += 1
            if size > tree.size:
                report.problems.append(LogProblem(f"checkpoint {size} is beyond the tree's {tree.size} leaves",
                                                  tree.size))
                continue
            if tree.root(size) == root:
                matched = size
            elif size:
                # The leaves up to the last checkpoint that matches are as signed; a root says
                # no more than that one of the leaves after them changed. An entry or node
                # problem among them names which; without one (the entries, the nodes and
                # the ledger rewritten alike) nothing here can.
                report.problems.append(LogProblem(
                    f"the tree of the leaves' hashes does not have checkpoint {size}'s stored root: one of these "
                    f"leaves (after checkpoint {matched}, which matches), or the checkpoint, changed after it was "
                    "signed", matched, leaves=size - matched))
            else:
                report.problems.append(LogProblem("checkpoint 0's root is not the empty tree's"))
            if verifier is not None:
                try:
                    opened = open_checkpoint(note, verifier)
                    if opened.checkpoint.size != size or opened.checkpoint.root_hash != root:
                        raise NoteError("the note is not of the stored size and root")
                except NoteError as error:
                    report.problems.append(LogProblem(f"checkpoint {size} does not verify: {error}"))

    @staticmethod
    def _name_entries(rows: LedgerForLog, report: LogCheckReport) -> None:
        """Gives the problems found on one leaf of the tree (a missing or bad leaf node,
        say) the sequence and transaction of the entry at that leaf, when there is one."""
        unnamed = {p.index for p in report.problems if p.index is not None and p.leaves == 1 and p.sequence is None}
        if not unnamed:
            return
        found = rows.entries_at(sorted(unnamed))
        report.problems = [replace(p, sequence=found[p.index][0], transaction=found[p.index][1])
                           if p.index in found and p.leaves == 1 and p.sequence is None else p
                           for p in report.problems]


def _drain(items: Iterator[Any]) -> None:
    for _ in items:
        pass


def _difference(stored: bytes, expected: bytes) -> str:
    """The fields in which a stored entry differs from the one the ledger implies."""
    try:
        a = orjson.loads(stored)
        b = orjson.loads(expected)
        decode(stored)
    except (orjson.JSONDecodeError, EntryError) as error:
        return f"its bytes (not a valid entry: {error})"
    if not isinstance(a, dict):
        return "its bytes"
    fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(fields) if fields else "its encoding"
