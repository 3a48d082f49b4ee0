"""`dangol log …` and the log work of the commands that write."""

from __future__ import annotations

from cli.helpers import dangol, one_error_line

from dangol.domain.commands import Earn, Enroll
from dangol.service.container import Services
from dangol.transparency import SIG_COSIGNATURE_V1, SignerKey, VerifierKey, open_checkpoint


def test_the_operator_integrates_signs_and_registers_witnesses(database_url: str) -> None:
    init = dangol(database_url, "init")
    assert init.exit_code == 0, init.output
    vkey = dangol(database_url, "log", "key").stdout.strip()
    assert f"Transparency log key: {vkey}" in init.stdout
    assert dangol(database_url, "programs", "create", "shop", "--name", "Shop", "--currency", "KRW").exit_code == 0
    services = Services.open(database_url, migrate=False)
    try:
        member = services.ledger.run("shop", Enroll("c-1"))["member"]["id"]
        for points in (10, 20, 30):
            services.ledger.run("shop", Earn(member, points=points))
    finally:
        services.db.dispose()
    status = dangol(database_url, "log", "status", "--json")
    assert '"pending": 3' in status.stdout and '"tree_size": 0' in status.stdout
    integrated = dangol(database_url, "log", "integrate")
    assert "Integrated 3 entries; the tree has 3 leaves." in integrated.stdout
    signed = dangol(database_url, "log", "sign")
    assert signed.exit_code == 0, signed.output
    checkpoint = open_checkpoint(signed.stdout, VerifierKey.parse(vkey)).checkpoint
    assert checkpoint.size == 3
    witness = SignerKey.generate("witness.example/w1", SIG_COSIGNATURE_V1).vkey()
    assert "Witness registered." in dangol(database_url, "log", "add-witness", witness).stdout
    assert "registered already" in dangol(database_url, "log", "add-witness", witness).stdout
    assert "Quorum set to 1." in dangol(database_url, "log", "quorum", "1").stdout
    failed = dangol(database_url, "log", "quorum", "2")
    assert failed.exit_code == 2 and "quorum" in one_error_line(failed)
    bad = dangol(database_url, "log", "add-witness", "nonsense")
    assert bad.exit_code == 2 and "verifier key" in one_error_line(bad)
    table = dangol(database_url, "log", "status").stdout
    assert "3 leaves" in table and "1 (1)" in table


def test_expire_integrates_its_transactions(database_url: str) -> None:
    dangol(database_url, "init")
    dangol(database_url, "programs", "create", "shop", "--name", "Shop", "--currency", "KRW")
    services = Services.open(database_url, migrate=False)
    try:
        member = services.ledger.run("shop", Enroll("c-1"))["member"]["id"]
        services.ledger.run("shop", Earn(member, points=10))
    finally:
        services.db.dispose()
    assert dangol(database_url, "expire").exit_code == 0
    assert '"pending": 0' in dangol(database_url, "log", "status", "--json").stdout
