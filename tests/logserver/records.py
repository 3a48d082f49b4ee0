"""The log's integrated entries as an auditor's records, read through the service (what
GET /v1/log/entries serves), for tests that audit the real log without HTTP."""

from __future__ import annotations

import base64

from dangol.service.container import Services
from dangol.transparency.audit import Record


def records(services: Services, size: int) -> list[Record]:
    found: list[Record] = []
    while len(found) < size:
        page = services.log.entries(len(found), 1000)
        if not page:
            break
        found += [Record(e["index"], e["sequence"], base64.b64decode(e["leaf_hash"]), base64.b64decode(e["entry"]))
                  for e in page]
    return found[:size]
