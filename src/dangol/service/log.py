"""The transparency log behind the ledger: the integrator that extends the Merkle tree
with committed entries, the checkpoint signer, witnesses and cosignatures, and the
public reads (checkpoints, proofs, entries), all served from stored nodes.

Concurrency: integrating and signing each run in one write transaction that first takes
the log's state row (a row lock on PostgreSQL; SQLite's write lock is the transaction's
own), so two processes doing either at once take turns, and the second sees what the
first did. Ledger writes never touch that row: they only insert entries."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from ..domain.clock import Clock, SystemClock
from ..domain.errors import Conflict, DomainError, InvalidRequest, UnknownMember
from ..storage.database import Database
from ..storage.log_key_file import KeyFileError, load_or_create
from ..storage.log_repository import DbNodeStore, LogRepository, StoredCheckpoint
from ..transparency import cosignature
from ..transparency.checkpoint import Checkpoint, sign_checkpoint
from ..transparency.keys import SIG_COSIGNATURE_V1, SignerKey, VerifierKey
from ..transparency.merkle import MerkleTree
from ..transparency.note import NoteError, parse
from ..transparency.proofs import ProofError, verify_consistency
from .notifications import outbox

DEFAULT_ORIGIN = "dangol.local/ledger"
KEY_ENV = "DANGOL_LOG_KEY"
ORIGIN_ENV = "DANGOL_LOG_ORIGIN"
INTEGRATE_BATCH = 10_000  # entries per integrating transaction: SQLite writers wait at most that long
MAX_PAGE = 1000


class LogInconsistent(DomainError):
    """The stored tree does not extend what the log signed before: it will not sign."""
    code = "log-inconsistent"
    title = "The log is not consistent with its last checkpoint"


class BadCosignature(DomainError):
    """A cosignature submission that is not a signed checkpoint or carries no valid
    cosignature by a registered witness."""
    code = "bad-cosignature"
    title = "Cosignature not accepted"


class LogUnavailable(DomainError):
    code = "log-unavailable"
    title = "Not in the log (yet)"


@dataclass(frozen=True, slots=True)
class LogSettings:
    origin: str = DEFAULT_ORIGIN
    key_path: Path | None = None  # None: a key made in memory for this process (a database in memory)

    @classmethod
    def for_database(cls, url: str, env: dict[str, str] | None = None) -> LogSettings:
        """From DANGOL_LOG_KEY and DANGOL_LOG_ORIGIN; by default the key lives next to a
        SQLite file (`var/dangol.db` -> `var/dangol-log.key`), or in the working
        directory as `dangol-log.key` for PostgreSQL."""
        env = dict(os.environ) if env is None else env
        origin = env.get(ORIGIN_ENV) or DEFAULT_ORIGIN
        if env.get(KEY_ENV):
            return cls(origin, Path(env[KEY_ENV]))
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                return cls(origin, None)
            path = Path(parsed.database)
            return cls(origin, path.with_name(path.stem + "-log.key"))
        return cls(origin, Path("dangol-log.key"))


@dataclass(frozen=True, slots=True)
class LogStatus:
    origin: str
    tree_size: int
    pending: int
    checkpoint_size: int | None
    checkpoint_at: datetime | None
    quorum: int
    witnesses: int

    def as_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "tree_size": self.tree_size, "pending": self.pending,
                "checkpoint": None if self.checkpoint_size is None else {
                    "size": self.checkpoint_size,
                    "signed_at": self.checkpoint_at.isoformat().replace("+00:00", "Z") if self.checkpoint_at else None},
                "quorum": self.quorum, "witnesses": self.witnesses}


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class _Prefetching:
    """A node store that reads what it is asked for in ranges of nearby nodes."""

    def __init__(self, store: DbNodeStore) -> None:
        self.store = store

    def get(self, level: int, index: int) -> bytes:
        return self.store.get(level, index)

    def get_many(self, addresses: Sequence[tuple[int, int]]) -> list[bytes]:
        found = self.store.prefetch(addresses)
        return [found[address] for address in addresses]

    def put(self, level: int, start: int, run: bytes) -> None:
        raise NotImplementedError("read only")


class LogService:
    def __init__(self, db: Database, clock: Clock | None = None, settings: LogSettings | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.settings = settings or LogSettings.for_database(db.url.render_as_string(hide_password=False))
        self._key: SignerKey | None = None

    # ------------------------------------------------------------ keys

    @property
    def origin(self) -> str:
        return self.settings.origin

    def signer(self) -> SignerKey:
        """The log's key: read from its file, made on first use when absent."""
        if self._key is None:
            path = self.settings.key_path
            try:
                self._key = SignerKey.generate(self.origin) if path is None else load_or_create(path, self.origin)
            except NoteError as error:
                raise InvalidRequest(f"the log origin {self.origin!r} cannot name a key: {error}") from None
            except KeyFileError as error:
                raise InvalidRequest(str(error)) from None
        return self._key

    def verifier_key(self) -> str:
        return self.signer().vkey()

    def existing_verifier(self) -> VerifierKey | None:
        """The log's public key if its key exists already (a check never makes one)."""
        path = self.settings.key_path
        if self._key is None and (path is None or not path.exists()):
            return None
        return self.signer().verifier()

    # ------------------------------------------------------------ integrating

    def integrate(self, batch: int = INTEGRATE_BATCH, progress: Callable[[int], None] | None = None) -> int:
        """Extends the tree with every committed entry not in it yet, in sequence order,
        a batch per transaction. Returns how many entries it integrated."""
        total = 0
        while True:
            with self.db.write() as conn:
                repo = LogRepository(conn)
                size = repo.state(lock=True).tree_size
                pending = repo.pending(batch)
                if not pending:
                    return total
                tree = MerkleTree(DbNodeStore(conn), size)
                tree.append([digest for _, digest in pending])
                repo.assign_indices([(size + i, sequence) for i, (sequence, _) in enumerate(pending)])
                repo.set_tree_size(tree.size)
            total += len(pending)
            if progress:
                progress(len(pending))

    # ------------------------------------------------------------ signing

    def sign(self) -> StoredCheckpoint:
        """Signs a checkpoint of the integrated tree, unless the latest one already has its
        size. Before signing it checks, from the stored nodes, that the tree extends the
        last checkpoint it signed (LogInconsistent otherwise): the log never signs two
        checkpoints that are not consistent with each other."""
        key = self.signer()
        with self.db.write() as conn:
            repo = LogRepository(conn)
            size = repo.state(lock=True).tree_size
            last = repo.latest_checkpoint()
            if last is not None and last.size == size:
                self._check_root(conn, last)
                return last
            tree = MerkleTree(DbNodeStore(conn), size)
            root = tree.root()
            if last is not None:
                if last.size > size:
                    raise LogInconsistent(f"the tree has {size} leaves, fewer than the {last.size} last signed")
                try:
                    verify_consistency(last.size, size, last.root_hash, root, tree.consistency_proof(last.size, size))
                except (ProofError, KeyError) as error:
                    raise LogInconsistent(f"the tree of {size} leaves does not extend the checkpoint of "
                                          f"{last.size}: {error}") from None
            note = sign_checkpoint(Checkpoint(self.origin, size, root), [key]).decode()
            now = self.clock.now()
            repo.add_checkpoint(size, root, note, now)
            outbox.write(conn, [outbox.checkpoint_notice(size, b64(root), now)])
            return StoredCheckpoint(size, root, note, now)

    @staticmethod
    def _check_root(conn: Any, checkpoint: StoredCheckpoint) -> None:
        try:
            root = MerkleTree(DbNodeStore(conn), checkpoint.size).root()
        except KeyError as error:
            raise LogInconsistent(f"node {error} of the tree is missing") from None
        if root != checkpoint.root_hash:
            raise LogInconsistent(f"the stored tree of {checkpoint.size} leaves no longer has the signed root")

    # ------------------------------------------------------------ status and settings

    def status(self) -> LogStatus:
        with self.db.read() as conn:
            repo = LogRepository(conn)
            state = repo.state()
            last = repo.latest_checkpoint()
            return LogStatus(self.origin, state.tree_size, repo.pending_count(), last.size if last else None,
                             last.signed_at if last else None, state.quorum, len(repo.witnesses()))

    def recent(self, limit: int = 10) -> dict[str, Any]:
        """The log's state, its latest signed checkpoints and which witnesses cosigned each."""
        with self.db.read() as conn:
            repo = LogRepository(conn)
            checkpoints = [{"size": c.size, "root_hash": c.root_hash.hex(), "signed_at": c.signed_at,
                            "cosigned_by": sorted(repo.cosigned_by(c.size))} for c in repo.latest_checkpoints(limit)]
            return {"checkpoints": checkpoints, "witnesses": repo.witnesses(), "quorum": repo.state().quorum}

    def witnesses(self) -> dict[str, Any]:
        with self.db.read() as conn:
            repo = LogRepository(conn)
            return {"quorum": repo.state().quorum, "witnesses": repo.witnesses()}

    def add_witness(self, vkey: str) -> bool:
        """Registers a witness's cosigning key (type 0x04); False if it already was."""
        try:
            key = VerifierKey.parse(vkey.strip())
        except NoteError as error:
            raise InvalidRequest(f"not a verifier key: {error}") from None
        if key.sig_type != SIG_COSIGNATURE_V1:
            raise InvalidRequest("a witness key is a cosignature key (type 0x04)")
        with self.db.write() as conn:
            return LogRepository(conn).add_witness(key.encode(), self.clock.now())

    def set_quorum(self, quorum: int) -> None:
        """How many witness cosignatures make a checkpoint final (published with the witness list)."""
        with self.db.write() as conn:
            repo = LogRepository(conn)
            count = len(repo.witnesses())
            if not 0 <= quorum <= count:
                raise InvalidRequest(f"a quorum is between 0 and the {count} registered witnesses")
            repo.set_quorum(quorum)

    # ------------------------------------------------------------ public reads

    def checkpoint_note(self, size: int | None = None) -> str:
        """The signed checkpoint (latest, or of `size`) with every cosignature collected."""
        with self.db.read() as conn:
            repo = LogRepository(conn)
            stored = repo.latest_checkpoint() if size is None else repo.checkpoint(size)
            if stored is None:
                raise LogUnavailable("no checkpoint has been signed yet" if size is None
                                     else f"no checkpoint of size {size} was signed")
            return stored.note + "".join(repo.cosignature_lines(stored.size))

    def inclusion_proof(self, size: int, index: int | None = None, sequence: int | None = None) -> dict[str, Any]:
        if (index is None) == (sequence is None):
            raise InvalidRequest("give either index or sequence")
        with self.db.read() as conn:
            repo = LogRepository(conn)
            tree = self._tree(conn, repo, size)
            if sequence is not None:
                stored = repo.entry_by_sequence(sequence)
                if stored is None:
                    raise LogUnavailable(f"no entry with sequence {sequence}")
                if stored.leaf_index is None:
                    raise LogUnavailable(f"entry {sequence} is not integrated into the tree yet")
                index = stored.leaf_index
            assert index is not None
            if not 0 <= index < size:
                raise InvalidRequest(f"leaf {index} is not in a tree of {size} leaves")
            if sequence is None:
                found = repo.entries(index, 1)
                sequence = found[0].sequence if found and found[0].leaf_index == index else None
            hashes = tree.inclusion_proof(index, size)
            return {"index": index, "sequence": sequence, "size": size, "leaf_hash": b64(tree.leaf_hash(index)),
                    "hashes": [b64(h) for h in hashes]}

    @staticmethod
    def inclusion_proofs(conn: Any, size: int, indices: Sequence[int]) -> dict[int, list[bytes]]:
        """The inclusion proofs of many leaves in the tree of `size` leaves (a member's
        export), in the caller's transaction: the nodes they need are read at once, in
        ranges (DbNodeStore.prefetch)."""
        store = DbNodeStore(conn)
        return MerkleTree(_Prefetching(store), size).inclusion_proofs([i for i in indices if 0 <= i < size], size)

    def leaf_indices(self, transaction_ids: Sequence[int]) -> dict[int, int | None]:
        """Where each transaction is in the log: its leaf index, None until integrated (the
        member portal's history has the member's browser prove each one)."""
        with self.db.read() as conn:
            return LogRepository(conn).leaf_indices(transaction_ids)

    def consistency_proof(self, size1: int, size2: int) -> dict[str, Any]:
        if not 0 <= size1 <= size2:
            raise InvalidRequest("from is between 0 and to")
        with self.db.read() as conn:
            tree = self._tree(conn, LogRepository(conn), size2)
            return {"from": size1, "to": size2, "hashes": [b64(h) for h in tree.consistency_proof(size1, size2)]}

    def entries(self, start: int, limit: int) -> list[dict[str, Any]]:
        if start < 0 or not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"start is 0 or more and limit between 1 and {MAX_PAGE}")
        with self.db.read() as conn:
            rows = LogRepository(conn).entries(start, limit)
        # Stop at a gap (there is none unless someone edited the table): a page is contiguous.
        page = []
        for offset, row in enumerate(rows):
            if row.leaf_index != start + offset:
                break
            page.append({"index": row.leaf_index, "sequence": row.sequence, "leaf_hash": b64(row.leaf_hash),
                         "entry": b64(row.entry)})
        return page

    @staticmethod
    def _tree(conn: Any, repo: LogRepository, size: int) -> MerkleTree:
        current = repo.state().tree_size
        if not 0 <= size <= current:
            raise InvalidRequest(f"size {size} is not between 0 and the tree's {current} leaves")
        return MerkleTree(DbNodeStore(conn), current)

    # ------------------------------------------------------------ witnesses' cosignatures

    def add_cosignatures(self, text: str) -> dict[str, Any]:
        """Takes a checkpoint the log signed with witnesses' cosignature lines added; keeps
        the valid cosignatures by registered witnesses. InvalidRequest for a bad note or
        signature (BadCosignature), Conflict for a checkpoint the log did not sign."""
        try:
            note = parse(text)
            checkpoint = Checkpoint.parse(note.text)
        except NoteError as error:
            raise BadCosignature(f"not a signed checkpoint: {error}") from None
        # Checked in a read transaction: a bad submission never takes the write lock.
        with self.db.read() as conn:
            repo = LogRepository(conn)
            stored = repo.checkpoint(checkpoint.size)
            if stored is None or parse(stored.note).text != note.text:
                raise Conflict(f"the log did not sign this checkpoint of size {checkpoint.size}")
            registered = {(key.name, key.key_id): key for key in map(VerifierKey.parse, repo.witnesses())}
        body = note.text.encode()
        valid: dict[str, tuple[str, int]] = {}  # witness vkey -> (signature line, timestamp)
        for sig in note.signatures:
            key = registered.get((sig.name, sig.key_id))
            if key is None:
                continue  # the log's own signature, or a key not registered: ignored
            if key.encode() in valid:
                raise BadCosignature(f"two cosignatures by {sig.name}+{sig.key_id:08x}")
            if not key.verify(body, sig.signature):
                raise BadCosignature(f"the cosignature by {sig.name}+{sig.key_id:08x} does not verify")
            valid[key.encode()] = (sig.line(), cosignature.decode(sig.signature)[0])
        if not valid:
            raise BadCosignature("no cosignature by a registered witness")
        with self.db.write() as conn:
            repo = LogRepository(conn)
            already = repo.cosigned_by(checkpoint.size)
            for vkey, (line, timestamp) in valid.items():
                if vkey not in already:  # the first cosignature of a witness is kept
                    repo.add_cosignature(checkpoint.size, vkey, line, timestamp, self.clock.now())
        accepted = list(valid)
        return {"size": checkpoint.size, "accepted": accepted}

    # ------------------------------------------------------------ members

    def member_key(self, program_id: str, member_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            found = LogRepository(conn).member_key(member_id)
        if found is None or found[0] != program_id:
            raise UnknownMember(f"no log key for member {member_id!r} in program {program_id}")
        _, key, commitment = found
        if key is None:
            raise UnknownMember(f"member {member_id} was erased: their log key was destroyed")
        return {"member_id": member_id, "program_id": program_id, "key": b64(key), "commitment": commitment,
                "scheme": "hex(HMAC-SHA256(key, 'dangol/member/v1\\n' + program_id + '\\n' + member_id))"}
