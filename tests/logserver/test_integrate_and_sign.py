"""The integrator extends the tree behind the writes; the signer signs checkpoints of it,
and only ones consistent with what it signed before."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dangol.domain import FixedClock
from dangol.domain.commands import Earn
from dangol.domain.errors import InvalidRequest
from dangol.service.container import Services
from dangol.service.log import LogInconsistent, LogService, LogSettings
from dangol.storage.log_repository import LogRepository
from dangol.transparency import VerifierKey, mth, open_checkpoint, verify_consistency, verify_inclusion
from dangol.transparency.keys import SignerKey

from .support import PROGRAM, every_kind, transaction_count


def leaf_hashes_by_index(services: Services) -> list[bytes]:
    with services.db.read() as conn:
        entries = sorted((e for e in LogRepository(conn).all_entries() if e.leaf_index is not None),
                         key=lambda e: e.leaf_index or 0)
    assert [e.leaf_index for e in entries] == list(range(len(entries)))
    return [e.leaf_hash for e in entries]


def test_integration_gives_indices_in_sequence_order_and_builds_the_tree(services: Services,
                                                                        clock: FixedClock) -> None:
    every_kind(services, clock)
    count = transaction_count(services)
    assert services.log.status().pending == count and services.log.status().tree_size == 0
    assert services.log.integrate(batch=7) == count  # several batches
    assert services.log.integrate() == 0
    status = services.log.status()
    assert (status.tree_size, status.pending) == (count, 0)
    with services.db.read() as conn:
        entries = list(LogRepository(conn).all_entries())
    assert [e.leaf_index for e in entries] == list(range(count))  # sequence order
    checkpoint = services.log.sign()
    assert checkpoint.size == count and checkpoint.root_hash == mth(leaf_hashes_by_index(services))


def test_a_signed_checkpoint_verifies_with_the_published_key(services: Services, clock: FixedClock,
                                                             log_settings: LogSettings) -> None:
    every_kind(services, clock)
    services.log.integrate()
    services.log.sign()
    vkey = VerifierKey.parse(services.log.verifier_key())
    opened = open_checkpoint(services.log.checkpoint_note(), vkey)
    assert opened.checkpoint.origin == "dangol.test/ledger"
    assert opened.checkpoint.size == transaction_count(services)
    # The key lives in its file; another process (service) reading it signs with the same key.
    assert log_settings.key_path and log_settings.key_path.read_text().startswith("PRIVATE+KEY+dangol.test/ledger+")
    assert LogService(services.db, clock, log_settings).verifier_key() == services.log.verifier_key()


def test_checkpoints_grow_consistently_and_proofs_check(services: Services, clock: FixedClock) -> None:
    r = every_kind(services, clock)
    services.log.integrate()
    first = services.log.sign()
    assert services.log.sign() == first  # nothing new: the same checkpoint
    for i in range(20):
        services.ledger.run(PROGRAM, Earn(r["bob"], points=i + 1))
    services.log.integrate()
    second = services.log.sign()
    assert second.size == first.size + 20
    proof = services.log.consistency_proof(first.size, second.size)
    import base64
    verify_consistency(first.size, second.size, first.root_hash, second.root_hash,
                       [base64.b64decode(h) for h in proof["hashes"]])
    receipt = r["redeem"]["log"][0]
    inclusion = services.log.inclusion_proof(second.size, sequence=receipt["sequence"])
    assert inclusion["leaf_hash"] == receipt["leaf_hash"]
    verify_inclusion(inclusion["index"], second.size, base64.b64decode(inclusion["leaf_hash"]),
                     [base64.b64decode(h) for h in inclusion["hashes"]], second.root_hash)
    assert services.log.checkpoint_note(first.size) != services.log.checkpoint_note()


def test_the_signer_refuses_a_tree_that_does_not_extend_its_last_checkpoint(services: Services,
                                                                             clock: FixedClock) -> None:
    r = every_kind(services, clock)
    services.log.integrate()
    signed = services.log.sign()
    services.ledger.run(PROGRAM, Earn(r["bob"], points=3))
    services.log.integrate()
    # Someone rewrites the signed part of the tree: the largest complete subtree under
    # the last checkpoint, which the proof of consistency with it is built from.
    level = signed.size.bit_length() - 1
    with services.db.write() as conn:
        conn.exec_driver_sql("UPDATE log_nodes SET hash = " + ("x'" if services.db.is_sqlite else "'\\x")
                             + "00" * 32 + "'" + f" WHERE level = {level} AND idx = 0")
    with pytest.raises(LogInconsistent):
        services.log.sign()


def test_two_integrators_at_once_integrate_each_entry_once(services: Services, clock: FixedClock) -> None:
    every_kind(services, clock)
    count = transaction_count(services)
    done: list[int] = []
    errors: list[BaseException] = []

    def integrate() -> None:
        try:
            done.append(LogService(services.db, clock, services.log.settings).integrate(batch=3))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=integrate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sum(done) == count
    assert services.log.status().tree_size == count
    assert services.log.sign().root_hash == mth(leaf_hashes_by_index(services))


def test_key_file_for_another_origin_is_refused(services: Services, clock: FixedClock, tmp_path: Path) -> None:
    path = tmp_path / "other.key"
    path.write_text(SignerKey.generate("someone.else/log").encode() + "\n")
    with pytest.raises(InvalidRequest, match="someone.else/log"):
        LogService(services.db, clock, LogSettings("dangol.test/ledger", path)).verifier_key()


def test_default_key_path_is_next_to_a_sqlite_file() -> None:
    settings = LogSettings.for_database("sqlite:///var/dangol.db", env={})
    assert settings.key_path == Path("var/dangol-log.key") and settings.origin == "dangol.local/ledger"
    assert LogSettings.for_database("sqlite://", env={}).key_path is None
    configured = LogSettings.for_database("postgresql://x/y", env={"DANGOL_LOG_KEY": "/k", "DANGOL_LOG_ORIGIN": "a/b"})
    assert configured == LogSettings("a/b", Path("/k"))


def test_witnesses_and_quorum(services: Services) -> None:
    witness = SignerKey.generate("witness.example/w1", 0x04)
    assert services.log.add_witness(witness.vkey())
    assert not services.log.add_witness(witness.vkey())
    with pytest.raises(InvalidRequest):
        services.log.add_witness(SignerKey.generate("w2").vkey())  # a 0x01 key cannot cosign
    with pytest.raises(InvalidRequest):
        services.log.set_quorum(2)
    services.log.set_quorum(1)
    assert services.log.witnesses() == {"quorum": 1, "witnesses": [witness.vkey()]}


def test_ledger_writes_do_not_wait_for_the_log_on_postgresql(services: Services, clock: FixedClock) -> None:
    """An integrator or signer holding the log's state row does not hold up the ledger:
    writes only insert entries. (SQLite has one writer at a time by design.)"""
    if services.db.is_sqlite:
        pytest.skip("SQLite serialises every write transaction, the log's too")
    r = every_kind(services, clock)
    locked, release = threading.Event(), threading.Event()

    def hold_the_log() -> None:
        with services.db.write() as conn:
            LogRepository(conn).state(lock=True)
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_log)
    holder.start()
    try:
        assert locked.wait(5)
        written: list[dict] = []  # type: ignore[type-arg]
        writer = threading.Thread(target=lambda: written.append(services.ledger.run(PROGRAM, Earn(r["bob"], points=9))))
        writer.start()
        writer.join(5)
        assert written and written[0]["log"], "the ledger write waited for the log"
    finally:
        release.set()
        holder.join()


def test_the_server_worker_integrates_and_signs_in_the_background(services: Services, clock: FixedClock) -> None:
    import time

    from dangol.service.log_worker import LogWorker

    r = every_kind(services, clock)
    worker = LogWorker(services.log, integrate_every=0.05, sign_every=3600)
    worker.start()
    try:
        services.ledger.run(PROGRAM, Earn(r["bob"], points=4))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = services.log.status()
            if not status.pending and status.checkpoint_size == status.tree_size:
                break
            time.sleep(0.05)
        status = services.log.status()
        assert status.pending == 0 and status.tree_size == transaction_count(services)
        assert status.checkpoint_size == status.tree_size  # the first tick signs
        services.ledger.run(PROGRAM, Earn(r["bob"], points=5))
    finally:
        worker.stop()  # a last integration and signature on the way out
    assert services.log.status().checkpoint_size == transaction_count(services)


def test_an_entry_committed_late_is_integrated_after_those_committed_before_it(services: Services,
                                                                               clock: FixedClock) -> None:
    """PostgreSQL: a transaction that took its sequence number first but commits last is
    not lost: the integrator takes what has committed, and it comes in the next batch."""
    if services.db.is_sqlite:
        pytest.skip("SQLite commits in sequence order: one writer at a time")
    from dangol.service.ledger import Operation

    r = every_kind(services, clock)
    services.log.integrate()
    with services.db.write() as slow:  # takes its sequence number now, commits at the end of the block
        [late] = services.ledger.apply_in(slow, PROGRAM, [Operation(Earn(r["alice"], points=1))])
        early = services.ledger.run(PROGRAM, Earn(r["bob"], points=2))  # another connection: commits first
        assert early["log"][0]["sequence"] > late["log"][0]["sequence"]  # type: ignore[index]
        assert services.log.integrate() == 1
    assert services.log.integrate() == 1
    proofs = {name: services.log.inclusion_proof(services.log.status().tree_size,
                                                 sequence=receipt["log"][0]["sequence"])  # type: ignore[index]
              for name, receipt in (("late", late), ("early", early))}
    assert proofs["late"]["index"] == proofs["early"]["index"] + 1
    assert services.log_check.run().ok
