"""The shape of the code: a pure domain core, and data flowing one way through the
layers (storage <- service <- api / cli). Checked on the source with `ast`, so that a
violation fails here rather than surfacing later as a hidden dependency or an import cycle."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import dangol

PACKAGE = Path(dangol.__file__).parent
FRAMEWORKS = ("sqlalchemy", "alembic", "psycopg", "fastapi", "pydantic", "typer", "rich", "uvicorn")


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Absolute names of every module `source` (the module `module`) imports,
    with relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - (node.level - 1)]
                prefix = ".".join(parts + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)  # `from . import x` may be a module
    return found


def layer_imports(layer: str) -> dict[str, set[str]]:
    modules = {}
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = imported_names(path.read_text(), name, is_package)
    assert modules, f"no modules found in dangol.{layer}"
    return modules


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(layer: str, allowed: Callable[[str], bool]) -> list[str]:
    return [f"{module} imports {name}" for module, names in layer_imports(layer).items()
            for name in sorted(names) if not allowed(name)]


def domain_may_import(name: str) -> bool:
    if within(name, "dangol"):
        return within(name, "dangol.domain")
    return name == "__future__" or name.split(".")[0] in sys.stdlib_module_names


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    assert violations("domain", domain_may_import) == []


def transparency_may_import(name: str) -> bool:
    """The verifiable-log core is read by auditors and reused by independent verifiers:
    the standard library, `cryptography` and itself, nothing of dangol's other layers."""
    if within(name, "dangol"):
        return within(name, "dangol.transparency")
    return name == "__future__" or name.split(".")[0] in (*sys.stdlib_module_names, "cryptography")


def test_the_transparency_core_imports_only_the_standard_library_cryptography_and_itself() -> None:
    assert violations("transparency", transparency_may_import) == []


def test_the_transparency_proofs_module_imports_only_the_standard_library() -> None:
    """proofs.py is the part an auditor copies: it must stand alone."""
    source = (PACKAGE / "transparency" / "proofs.py").read_text()
    names = imported_names(source, "dangol.transparency.proofs")
    assert [n for n in names if not (n == "__future__" or n.split(".")[0] in sys.stdlib_module_names)] == []


def privacy_may_import(name: str) -> bool:
    """The core of members' own data (data keys, fields, consent, erasure, the export
    archive): the standard library, `cryptography`, the domain and itself."""
    if within(name, "dangol"):
        return within(name, "dangol.privacy") or within(name, "dangol.domain")
    return name == "__future__" or name.split(".")[0] in (*sys.stdlib_module_names, "cryptography")


def test_the_privacy_core_imports_only_the_standard_library_cryptography_the_domain_and_itself() -> None:
    assert violations("privacy", privacy_may_import) == []


@pytest.mark.parametrize("statement", [
    *(f"import {framework}" for framework in FRAMEWORKS), "from ..storage import tables", "import orjson",
    "from ..service.ledger import LedgerService",
])
def test_the_privacy_check_refuses_frameworks_and_outer_layers(statement: str) -> None:
    names = imported_names(statement, "dangol.privacy.envelope")
    assert not all(privacy_may_import(name) for name in names), statement


@pytest.mark.parametrize("statement", [
    *(f"import {framework}" for framework in FRAMEWORKS), "import nacl.signing", "from ..domain import Money",
    "from dangol.storage import tables", "from ..service.ledger import LedgerService", "import orjson",
])
def test_the_transparency_check_refuses_frameworks_and_the_rest_of_dangol(statement: str) -> None:
    names = imported_names(statement, "dangol.transparency.merkle")
    assert not all(transparency_may_import(name) for name in names), statement


@pytest.mark.parametrize("statement", [
    "import hashlib", "from .proofs import leaf_hash", "from . import note", "from dangol.transparency.keys import SignerKey",
    "from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey",
])
def test_the_transparency_check_allows_the_standard_library_cryptography_and_itself(statement: str) -> None:
    names = imported_names(statement, "dangol.transparency.merkle")
    assert all(transparency_may_import(name) for name in names), statement


@pytest.mark.parametrize(("layer", "forbidden"), [
    ("storage", ("dangol.service", "dangol.api", "dangol.cli", "dangol.web")),
    ("service", ("dangol.api", "dangol.cli", "dangol.web")),
    # The web pages are an adapter beside the API: through the services, never the tables.
    ("web", ("dangol.storage", "dangol.cli")),
])
def test_data_flows_one_way_through_the_layers(layer: str, forbidden: tuple[str, ...]) -> None:
    assert violations(layer, lambda name: not any(within(name, f) for f in forbidden)) == []


@pytest.mark.parametrize("statement", [
    *(f"import {framework}" for framework in FRAMEWORKS),
    "from sqlalchemy import select", "from pydantic import BaseModel", "import rich.console",
    "from ..storage import tables", "from ..service.ledger import LedgerService", "from dangol.api import app",
    "from .. import cli", "import dangol.storage.database",
])
def test_the_domain_check_refuses_frameworks_and_outer_layers(statement: str) -> None:
    names = imported_names(statement, "dangol.domain.money")
    assert not all(domain_may_import(name) for name in names), statement


@pytest.mark.parametrize("statement", [
    "from datetime import datetime", "import hashlib", "from . import commands", "from .errors import DomainError",
    "from dangol.domain.money import Money", "from __future__ import annotations",
])
def test_the_domain_check_allows_the_standard_library_and_the_domain(statement: str) -> None:
    assert all(domain_may_import(name) for name in imported_names(statement, "dangol.domain.money")), statement


RULES_ADAPTERS = {"dangol.rules.loader"}  # reads YAML/JSON files: the one module that may import yaml


def rules_may_import(name: str) -> bool:
    """The rules core (model, validation, hashing, evaluation) is pure: the standard library
    and itself. Files are read by the loader adapter, the only module allowed PyYAML."""
    if within(name, "dangol"):
        # The tiers, engagement and fraud cores parse the ruleset's sections: pure too.
        return any(within(name, core) for core in ("dangol.rules", "dangol.tiers", "dangol.engagement", "dangol.fraud"))
    return name == "__future__" or name.split(".")[0] in sys.stdlib_module_names


def test_the_tiers_core_imports_only_the_standard_library_itself_and_the_rules_core() -> None:
    assert violations("tiers", rules_may_import) == []


def engagement_may_import(name: str) -> bool:
    """The engagement core (coupons, badges, challenges, leaderboards): the standard library
    and itself; the rules core calls it, not the other way round."""
    if within(name, "dangol"):
        return within(name, "dangol.engagement")
    return name == "__future__" or name.split(".")[0] in sys.stdlib_module_names


FRAUD_MODEL = "dangol.fraud.anomaly"  # the isolation forest: the one module that may import scikit-learn


def fraud_may_import(name: str) -> bool:
    """The fraud core (velocity windows, rings, decisions, features): the standard library,
    the domain (its errors) and itself."""
    if within(name, "dangol"):
        return within(name, "dangol.fraud") or within(name, "dangol.domain")
    return name == "__future__" or name.split(".")[0] in sys.stdlib_module_names


def test_the_fraud_core_imports_only_the_standard_library_the_domain_and_itself() -> None:
    found = [f"{module} imports {name}" for module, names in layer_imports("fraud").items()
             if module != FRAUD_MODEL for name in sorted(names) if not fraud_may_import(name)]
    assert found == []


def test_the_fraud_model_adds_only_scikit_learn_and_numpy() -> None:
    names = layer_imports("fraud")[FRAUD_MODEL]
    assert [n for n in names if not (fraud_may_import(n) or n.split(".")[0] in ("sklearn", "numpy"))] == []


def test_the_engagement_core_imports_only_the_standard_library_and_itself() -> None:
    assert violations("engagement", engagement_may_import) == []


@pytest.mark.parametrize("statement", ["from ..rules import Ruleset", "from dangol.storage import tables",
                                       "import sqlalchemy", "from ..service.ledger import LedgerService"])
def test_the_engagement_check_refuses_the_rest_of_dangol_and_frameworks(statement: str) -> None:
    names = imported_names(statement, "dangol.engagement.challenges")
    assert not all(engagement_may_import(name) for name in names), statement


def test_the_rules_core_imports_only_the_standard_library_and_itself() -> None:
    found = [f"{module} imports {name}" for module, names in layer_imports("rules").items()
             if module not in RULES_ADAPTERS for name in sorted(names) if not rules_may_import(name)]
    assert found == []


def test_the_rules_loader_adds_only_yaml() -> None:
    names = layer_imports("rules")["dangol.rules.loader"]
    assert [n for n in names if not (rules_may_import(n) or within(n, "yaml"))] == []


@pytest.mark.parametrize("statement", [
    "import yaml", "from ..domain import Money", "import orjson", "from dangol.storage import tables",
    *(f"import {framework}" for framework in FRAMEWORKS),
])
def test_the_rules_check_refuses_libraries_and_the_rest_of_dangol(statement: str) -> None:
    names = imported_names(statement, "dangol.rules.evaluation")
    assert not all(rules_may_import(name) for name in names), statement


@pytest.mark.parametrize("statement", ["import ast", "from zoneinfo import ZoneInfo", "from .model import Ruleset",
                                       "from dangol.rules.facts import Event"])
def test_the_rules_check_allows_the_standard_library_and_itself(statement: str) -> None:
    assert all(rules_may_import(name) for name in imported_names(statement, "dangol.rules.evaluation")), statement


# Anchoring: web3 is an optional extra, so only its adapter may import it.
ANCHORING_ADAPTER = "dangol.anchoring.chain"
CHAIN_LIBRARIES = ("web3", "eth_account", "eth_utils", "eth_typing", "eth_tester", "hexbytes")


def anchoring_may_import(name: str) -> bool:
    """The rest of dangol.anchoring (what is anchored, the records) is the standard library,
    the transparency core and itself."""
    if within(name, "dangol"):
        return (within(name, "dangol.transparency") or within(name, "dangol.anchoring")) \
            and not within(name, ANCHORING_ADAPTER)
    return name == "__future__" or name.split(".")[0] in sys.stdlib_module_names


def test_the_anchoring_core_imports_only_the_standard_library_and_the_transparency_core() -> None:
    found = [f"{module} imports {name}" for module, names in layer_imports("anchoring").items()
             if module != ANCHORING_ADAPTER for name in sorted(names) if not anchoring_may_import(name)]
    assert found == []


def test_only_the_anchoring_adapter_imports_the_chain_libraries() -> None:
    layers = sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists())
    found = [f"{module} imports {name}" for layer in layers
             for module, names in layer_imports(layer).items() if module != ANCHORING_ADAPTER
             for name in sorted(names) if name.split(".")[0] in CHAIN_LIBRARIES]
    assert found == []


@pytest.mark.parametrize("statement", ["import web3", "from ..anchoring.chain import Anchor", "import sqlalchemy",
                                       "from ..storage import tables"])
def test_the_anchoring_check_refuses_web3_and_the_rest_of_dangol(statement: str) -> None:
    names = imported_names(statement, "dangol.anchoring.payload")
    assert not all(anchoring_may_import(name) for name in names), statement


def staff_may_import(name: str) -> bool:
    """The staff core (roles, passwords, second factor, throttling, sessions): the standard
    library, the password and TOTP libraries, the domain and itself."""
    if within(name, "dangol"):
        return within(name, "dangol.staff") or within(name, "dangol.domain")
    return name == "__future__" or name.split(".")[0] in (*sys.stdlib_module_names, "argon2", "pyotp")


def test_the_staff_core_imports_only_the_standard_library_argon2_pyotp_the_domain_and_itself() -> None:
    assert violations("staff", staff_may_import) == []


@pytest.mark.parametrize("statement", [*(f"import {framework}" for framework in FRAMEWORKS),
                                       "from ..storage import tables", "from ..service.ledger import LedgerService"])
def test_the_staff_check_refuses_frameworks_and_outer_layers(statement: str) -> None:
    names = imported_names(statement, "dangol.staff.roles")
    assert not all(staff_may_import(name) for name in names), statement

def insight_may_import(name: str) -> bool:
    """The insight core (models and statistics): the standard library, numpy, scipy,
    scikit-learn (and threadpoolctl to keep its fits on one thread), the domain's errors and
    itself; the service layer reads the data and hands it arrays."""
    if within(name, "dangol"):
        return within(name, "dangol.insight") or within(name, "dangol.domain")
    return name == "__future__" or name.split(".")[0] in (*sys.stdlib_module_names, "numpy", "scipy", "sklearn",
                                                          "threadpoolctl")


def test_the_insight_core_imports_only_the_standard_library_numerical_libraries_the_domain_and_itself() -> None:
    assert violations("insight", insight_may_import) == []
