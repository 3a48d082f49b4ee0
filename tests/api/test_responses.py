"""Answers are rendered by orjson (api/responses.py): the same bytes the standard library's
encoder gave them before, non-ASCII text included, and no integer is too large to answer."""

from __future__ import annotations

from fastapi.testclient import TestClient
from starlette.responses import JSONResponse as StandardJSONResponse

from dangol.api.responses import JSONResponse

from .helpers import Api


def test_answers_are_the_bytes_the_standard_encoder_gives(admin: Api, client: TestClient, program_id: str,
                                                          member_id: str) -> None:
    answers = [
        admin.post(f"/v1/programs/{program_id}/members/{member_id}/earn", {"points": 1_500, "reason": "숲 환영 🎉"}),
        admin.post(f"/v1/programs/{program_id}/members/{member_id}/redeem", {"points": 9_000}),  # a problem
        admin.get(f"/v1/programs/{program_id}/members/{member_id}/transactions"),
        admin.get(f"/v1/programs/{program_id}/members/{member_id}/balance"),
    ]
    assert [a.status_code for a in answers] == [200, 409, 200, 200]
    for answer in answers:
        assert answer.content == StandardJSONResponse(answer.json()).body
    assert "숲 환영 🎉".encode() in answers[0].content


def test_an_integer_beyond_64_bits_is_still_answered() -> None:
    assert JSONResponse({"value": 2**70, "ok": [1, None, "x"]}).body == b'{"value":1180591620717411303424,"ok":[1,null,"x"]}'
