"""The OpenAPI document describes every operation, its key, its Idempotency-Key and the
problems it may return."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

PUBLIC = {"/healthz", "/readyz"} | {f"/v1/log/{path}" for path in (  # the transparency log's public reads
    "checkpoint", "checkpoints/{size}", "key", "witnesses", "proof/inclusion", "proof/consistency", "entries",
    "cosignatures")}
PUBLIC |= {"/v1/log/report"}  # the program report derived from the transparency log
PUBLIC |= {"/v1/unsubscribe/{token}"}  # one-click unsubscribe (RFC 8058): the link is its own authentication
# Members read a program's rules without a key.
RULESETS = "/v1/programs/{program_id}/rulesets"
PUBLIC_READS = {RULESETS, f"{RULESETS}/current", f"{RULESETS}/upcoming", f"{RULESETS}/policy",
                f"{RULESETS}/{{ruleset_hash}}"}
# POSTs that change nothing (validate, quote) or are idempotent by the event's own id.
WITHOUT_KEY_HEADER = {f"{RULESETS}/validate", "/v1/programs/{program_id}/events",
                      "/v1/programs/{program_id}/events:batch", "/v1/programs/{program_id}/events/quote"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in document["paths"].items()
            for method, operation in item.items()]


def test_the_document_is_openapi_3_1_under_v1(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert all(path.startswith("/v1/") or path in PUBLIC for path in document["paths"])
    assert len(_operations(document)) == 100


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
        assert operation["responses"][success]["content"]["application/json"]["schema"], (method, path)


def test_every_response_declares_its_body(client: TestClient) -> None:
    """A client generated from the document types every answer: no response is declared
    without a schema, or with an empty one (which says nothing), and the log's notes and
    key are text, never JSON."""
    document = client.get("/openapi.json").json()
    untyped = [(method, path, status, media) for path, method, operation in _operations(document)
               for status, response in operation["responses"].items()
               for media, content in response.get("content", {None: {}}).items() if not content.get("schema")]
    assert untyped == []
    for path in ("/v1/log/checkpoint", "/v1/log/checkpoints/{size}", "/v1/log/key"):
        assert document["paths"][path]["get"]["responses"]["200"]["content"] == {
            "text/plain": {"schema": {"type": "string"}}}


def test_no_operation_declares_a_problem_it_cannot_return(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        takes_key = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        if "400" in responses and not takes_key:
            assert "Idempotency-Key" not in responses["400"]["description"], (method, path)
        if takes_key:
            assert "Idempotency-Key" in responses["400"]["description"], (method, path)
        if path.startswith("/v1/log/") and "404" in responses:
            assert "member" not in responses["404"]["description"], (method, path)
        if method in ("get", "delete"):
            assert "413" not in responses, (method, path)  # no body to be too large
    report = document["paths"]["/v1/log/report"]["get"]["responses"]
    assert set(report) == {"200", "404", "422", "503"}
    cosign = document["paths"]["/v1/log/cosignatures"]["post"]["responses"]
    assert "bad-cosignature" in cosign["400"]["description"] and "422" not in cosign


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


def test_the_batch_of_events_is_described_item_by_item(client: TestClient) -> None:
    """Each item of `events` is an event as `POST …/events` takes it, and each answer holds
    a result or a problem; every reference resolves."""
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/v1/programs/{program_id}/events:batch"]["post"]
    schemas = document["components"]["schemas"]
    envelope = schemas[operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    events = envelope["properties"]["events"]
    assert events["items"] == {"$ref": "#/components/schemas/EventIn"} and "EventIn" in schemas
    assert (events["minItems"], events["maxItems"]) == (1, 1000)
    answer = schemas[operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    item = schemas[answer["properties"]["results"]["items"]["$ref"].split("/")[-1]]
    assert {"index", "event_id", "status", "result", "problem"} <= set(item["properties"])
    references = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document))
    assert set(references) <= set(schemas)
