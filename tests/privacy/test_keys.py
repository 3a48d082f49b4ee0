"""The key-encryption keys, on both databases: rotated (a new key, every data key re-wrapped,
the old key retired) while other processes keep writing, with nothing unreadable
afterwards; kept in the environment instead of a file; or in a brand's own KMS."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dangol.domain.commands import Enroll
from dangol.privacy import KeyRing
from dangol.service.container import Services

from api.helpers import Api, assert_problem
from cli.helpers import dangol, one_error_line
from . import kms
from .conftest import rows


def enrol_with_data(services: Services, program_id: str, ref: str) -> str:
    member = str(services.ledger.run(program_id, Enroll(ref))["member"]["id"])
    services.personal_data.update(program_id, member, {"name": f"Name of {ref}", "email": f"{ref}@example.com"},
                                  "cli")
    return member


def keks_in_use(services: Services) -> dict[str, int]:
    return dict(rows(services, "SELECT kek_id, COUNT(*) FROM member_data_keys GROUP BY kek_id"))


def test_rotation_while_others_write_leaves_everything_readable(services: Services, program_id: str,
                                                                database_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "dangol-data.key"
    written = {enrol_with_data(services, program_id, f"before-{i}"): f"before-{i}" for i in range(40)}
    first = KeyRing.parse(key_file.read_text()).current_kek()
    server = Services.open(database_url, migrate=False)  # a server that read the key file before the rotation
    server.personal_data.read(program_id, next(iter(written)), "cli")
    stop = threading.Event()
    failures: list[BaseException] = []
    lock = threading.Lock()

    def writer(name: str) -> None:
        # Another process: its own services, its own copy of the key ring.
        mine = Services.open(database_url, migrate=False)
        try:
            i = 0
            while not stop.is_set() or i < 15:
                ref = f"{name}-{i}"
                member = enrol_with_data(mine, program_id, ref)
                with lock:
                    written[member] = ref
                i += 1
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            mine.db.dispose()

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    rotated = services.data_keys.rotate()
    stop.set()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    second = rotated.added
    assert second is not None and second != first and rotated.rewrapped >= 40
    # What the writers wrapped with the old key before they noticed the new one, re-wrapped too.
    services.data_keys.rewrap()
    retired = services.data_keys.retire()
    assert retired.retired == [first]
    assert keks_in_use(services) == {second: len(written)}
    assert KeyRing.parse(key_file.read_text()).keys.keys() == {second}
    # Nothing unreadable: not by a process started now, not by the server started before.
    fresh = Services.open(database_url, migrate=False)
    try:
        for reader in (fresh, server):
            for member, ref in written.items():
                assert reader.personal_data.read(program_id, member, "cli")["fields"] == {
                    "name": f"Name of {ref}", "email": f"{ref}@example.com"}
    finally:
        fresh.db.dispose()
        server.db.dispose()


def test_the_cli_rotates_and_retires_keys(services: Services, program_id: str, database_url: str,
                                          tmp_path: Path) -> None:
    member = enrol_with_data(services, program_id, "ana")
    rotated = dangol(database_url, "privacy", "rotate-key")
    assert rotated.exit_code == 0, rotated.output
    assert "Added a new key-encryption key; it is current." in rotated.stdout
    assert "Re-wrapped 1 data key." in rotated.stdout and "(current): wraps 1 data key" in rotated.stdout
    assert "No key to retire" not in dangol(database_url, "privacy", "retire-keys").stdout
    assert len(KeyRing.parse((tmp_path / "dangol-data.key").read_text()).keys) == 1
    assert dangol(database_url, "privacy", "retire-keys").stdout.strip() == "No key to retire."
    shown = dangol(database_url, "members", "personal", member)
    assert shown.exit_code == 0 and "ana@example.com" in shown.stdout


def test_keys_from_the_environment_are_rotated_by_a_restart_and_a_rewrap(
        services: Services, program_id: str, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    old = KeyRing.generate()
    monkeypatch.setenv("DANGOL_DATA_KEYS", old.encode().replace("\n", ","))
    first = Services.open(database_url, migrate=False)
    member = enrol_with_data(first, program_id, "ana")
    first.db.dispose()
    new = old.with_new_key()
    monkeypatch.setenv("DANGOL_DATA_KEYS", new.encode())
    refused = one_error_line(dangol(database_url, "privacy", "rotate-key"))
    assert "the key ring in DANGOL_DATA_KEYS is rotated where it is kept" in refused
    rewrapped = dangol(database_url, "privacy", "rewrap")
    assert rewrapped.exit_code == 0 and "Re-wrapped 1 data key" in rewrapped.stdout
    monkeypatch.setenv("DANGOL_DATA_KEYS", new.without({old.current_kek()}).encode())
    after = Services.open(database_url, migrate=False)
    try:
        assert after.personal_data.read(program_id, member, "cli")["fields"]["email"] == "ana@example.com"
    finally:
        after.db.dispose()


def test_a_brands_kms_plugs_in(services: Services, program_id: str, database_url: str, admin: Api,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANGOL_KEY_PROVIDER", "privacy.kms:provider")
    kms.CALLS.clear()
    plugged = Services.open(database_url, migrate=False)
    try:
        member = enrol_with_data(plugged, program_id, "ana")
        assert plugged.personal_data.read(program_id, member, "cli")["fields"]["name"] == "Name of ana"
    finally:
        plugged.db.dispose()
    assert kms.CALLS[0] == "encrypt" and "decrypt" in kms.CALLS
    assert keks_in_use(services) == {"kms-key-1": 1}
    monkeypatch.setenv("DANGOL_KEY_PROVIDER", "privacy.nowhere:provider")
    broken = dangol(database_url, "members", "personal", member)
    assert broken.exit_code == 2 and "names no key provider factory" in one_error_line(broken)
    # The shared services kept the key file's ring: the KMS's wrap is not theirs to open.
    problem = assert_problem(admin.get(f"/v1/programs/{program_id}/members/{member}/personal-data"), 503,
                             "data-keys-unavailable")
    assert "kms-key-1" in problem["detail"]
