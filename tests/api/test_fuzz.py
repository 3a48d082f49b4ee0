"""Property-based fuzzing of every operation in the OpenAPI document with schemathesis:
whatever is generated, valid or not, the API answers with a status and a body that the
document declares, and never with a server error.

The operations' strategies are used directly (rather than schemathesis' pytest plugin)
so that each runs against the `services` fixture of each backend."""

from __future__ import annotations

from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from dangol.api import create_app
from dangol.domain import commands as cmd
from dangol.service.container import Services

PROGRAM = "market"  # the conftest program
MEMBERS = ("fuzz-alice", "fuzz-bob")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# The document does not depend on the database, so it is loaded once, from an app
# whose services are never called.
SCHEMA = schemathesis.openapi.from_dict(create_app(cast(Services, None)).openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _known_paths(operation: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Path parameters naming things that exist, so that requests reach the ledger."""
    names = {parameter.name for parameter in operation.path_parameters}
    known = {"program_id": st.just(PROGRAM), "member_id": st.sampled_from(MEMBERS), "hold_id": st.integers(1, 4)}
    return st.fixed_dictionaries({name: known[name] for name in names if name in known})


def _cases(operation: Any) -> st.SearchStrategy[Any]:
    """Generated requests, half of them with known path parameters and a fresh
    Idempotency-Key (generated keys repeat, and a repeat is only an idempotency conflict)."""
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(mode))
        fresh_key = {"Idempotency-Key": st.uuids().map(str)} if operation.method.upper() == "POST" else {}
        known = st.fixed_dictionaries({"paths": _known_paths(operation), "headers": st.fixed_dictionaries(fresh_key)})
        strategies.append(known.flatmap(lambda fixed, mode=mode: operation.as_strategy(
            mode, path_parameters=fixed["paths"] or None, headers=fixed["headers"] or None)))
    return st.one_of(strategies)


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_no_request_gives_a_server_error(operation: Any, services: Services, program_id: str,
                                         admin_token: str) -> None:
    for member in MEMBERS:
        services.ledger.run(program_id, cmd.Enroll(f"ref-{member}", member_id=member))
        services.ledger.run(program_id, cmd.Earn(member, points=50_000, order_ref="order-1"))
    services.ledger.run(program_id, cmd.PlaceHold(MEMBERS[0], 2_000))
    app = create_app(services)
    auth = {"Authorization": f"Bearer {admin_token}"}

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=_cases(operation))
    def check(case: Any) -> None:
        response = case.call(app=app, headers=auth)
        case.validate_response(response, checks=CHECKS)

    check()
