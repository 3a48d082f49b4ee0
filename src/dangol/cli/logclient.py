"""The public log API (docs/transparency.md, "Log HTTP API") as seen by an auditor or a
witness: plain HTTP with the standard library, every answer checked for shape. Nothing
it returns is trusted: callers verify signatures and proofs."""

from __future__ import annotations

import base64
import binascii
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..transparency.audit import Record
from .context import CliError

PAGE = 1000  # the most entries the log serves at a time


class LogError(CliError):
    """The log could not be reached, or answered something that is not the API's."""


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise LogError(f"the log sent a {what} that is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise LogError(f"the log sent a {what} that is not base64") from None


def _int(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise LogError(f"the log sent a {what} that is not a non-negative integer")
    return value


@dataclass(frozen=True)
class InclusionProof:
    index: int
    sequence: int | None
    size: int
    leaf_hash: bytes
    hashes: list[bytes]


class LogClient:
    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise CliError(f"{url}: a log is named by an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _request(self, path: str, params: dict[str, object] | None = None, *, body: bytes | None = None,
                 missing_ok: bool = False) -> bytes | None:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                         headers={"Content-Type": "text/plain; charset=utf-8"} if body else {})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            if missing_ok and error.code == 404:
                return None
            raise LogError(f"{url}: HTTP {error.code}: {_problem(error)}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise LogError(f"cannot reach the log at {self.url}: {reason}") from None

    def _get(self, path: str, params: dict[str, object] | None = None) -> bytes:
        data = self._request(path, params)
        assert data is not None
        return data

    def _json(self, path: str, params: dict[str, object] | None = None) -> dict[str, Any]:
        try:
            value = json.loads(self._get(path, params))
        except (ValueError, UnicodeDecodeError):
            raise LogError(f"{self.url}{path}: the log did not answer JSON") from None
        if not isinstance(value, dict):
            raise LogError(f"{self.url}{path}: the log did not answer a JSON object")
        return value

    # ------------------------------------------------------------------ the API

    def checkpoint(self) -> bytes:
        return self._get("/v1/log/checkpoint")

    def checkpoint_at(self, size: int) -> bytes | None:
        """The checkpoint the log signed at `size`, or None if it signed none there."""
        return self._request(f"/v1/log/checkpoints/{size}", missing_ok=True)

    def key(self) -> str:
        return self._get("/v1/log/key").decode().strip()

    def inclusion(self, size: int, *, index: int | None = None, sequence: int | None = None) -> InclusionProof:
        params: dict[str, object] = {"size": size}
        params.update({"index": index} if index is not None else {"sequence": sequence})
        v = self._json("/v1/log/proof/inclusion", params)
        return InclusionProof(_int(v.get("index"), "leaf index"),
                              None if v.get("sequence") is None else _int(v["sequence"], "sequence"),
                              _int(v.get("size"), "tree size"), _b64(v.get("leaf_hash"), "leaf hash"),
                              [_b64(h, "proof hash") for h in _list(v.get("hashes"))])

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        v = self._json("/v1/log/proof/consistency", {"from": size1, "to": size2})
        return [_b64(h, "proof hash") for h in _list(v.get("hashes"))]

    def entries(self, start: int, limit: int) -> list[Record]:
        v = self._json("/v1/log/entries", {"start": start, "limit": min(limit, PAGE)})
        records = []
        for item in _list(v.get("entries")):
            if not isinstance(item, dict):
                raise LogError("the log sent an entry that is not a JSON object")
            records.append(Record(_int(item.get("index"), "leaf index"), _int(item.get("sequence"), "sequence"),
                                  _b64(item.get("leaf_hash"), "leaf hash"), _b64(item.get("entry"), "entry")))
        return records

    def post_cosignature(self, cosigned: bytes) -> None:
        self._request("/v1/log/cosignatures", body=cosigned)

    def report(self, program: str) -> dict[str, Any]:
        return self._json("/v1/log/report", {"program": program, "period": "month"})


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise LogError("the log sent a list that is not a JSON list")
    return value


def _problem(error: urllib.error.HTTPError) -> str:
    """The problem document's detail (RFC 9457) when the log sent one."""
    try:
        body = json.loads(error.read())
        return str(body.get("detail") or body.get("title") or error.reason)
    except (ValueError, AttributeError, OSError):
        return str(error.reason)
