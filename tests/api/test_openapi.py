"""The OpenAPI document describes every operation, its key, its Idempotency-Key and the
problems it may return."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PUBLIC = {"/healthz", "/readyz"} | {f"/v1/log/{path}" for path in (  # the transparency log's public reads
    "checkpoint", "checkpoints/{size}", "key", "witnesses", "proof/inclusion", "proof/consistency", "entries",
    "cosignatures")}
PUBLIC |= {"/v1/log/report"}  # the program report derived from the transparency log
# Members read a program's rules without a key (issue 3).
RULESETS = "/v1/programs/{program_id}/rulesets"
PUBLIC_READS = {RULESETS, f"{RULESETS}/current", f"{RULESETS}/upcoming", f"{RULESETS}/policy",
                f"{RULESETS}/{{ruleset_hash}}"}
# POSTs that change nothing (validate, quote) or are idempotent by the event's own id.
WITHOUT_KEY_HEADER = {f"{RULESETS}/validate", "/v1/programs/{program_id}/events",
                      "/v1/programs/{program_id}/events/quote"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in document["paths"].items()
            for method, operation in item.items()]


def test_the_document_is_openapi_3_1_under_v1(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert all(path.startswith("/v1/") or path in PUBLIC for path in document["paths"])
    assert len(_operations(document)) == 71


def test_every_operation_declares_its_key_and_problems(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, method, operation in _operations(document):
        errors = {status: response for status, response in operation["responses"].items() if status >= "400"}
        for status, response in errors.items():
            assert response["content"] == {"application/problem+json": {"schema": problem}}, (path, status)
        if path in PUBLIC or (method == "get" and path in PUBLIC_READS):
            assert "security" not in operation
            continue
        assert {"401", "403"} <= set(errors), (method, path)
        assert {"bearer": []} in operation["security"] and {"apiKey": []} in operation["security"]
        if method == "post" and path not in WITHOUT_KEY_HEADER:
            header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
            assert header["in"] == "header" and header["required"] is True
            assert {"400", "409", "413", "422"} <= set(errors), path
        success = next(status for status in operation["responses"] if status < "300")
        assert "schema" in operation["responses"][success]["content"]["application/json"]


def test_api_keys_are_listed_and_revoked_as_documented(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    keys = document["paths"]["/v1/programs/{program_id}/api-keys"]
    assert set(keys) == {"get", "post"}
    listed = keys["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed == {"$ref": "#/components/schemas/IssuedKeyList"}
    revoke = document["paths"]["/v1/programs/{program_id}/api-keys/{key_id}"]["delete"]
    assert revoke["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IssuedKeyOut"}
    assert {"401", "403", "404", "422"} <= set(revoke["responses"])
    # Idempotent by the key's id: no Idempotency-Key. The bound for other processes is stated.
    assert all(p["name"] != "Idempotency-Key" for p in revoke["parameters"])
    assert "at once on this server, and within 2 seconds on any other process" in revoke["description"]
    issued = document["components"]["schemas"]["IssuedKeyOut"]["properties"]
    assert set(issued) == {"id", "program_id", "scopes", "name", "created_at", "revoked_at"}  # never a token
