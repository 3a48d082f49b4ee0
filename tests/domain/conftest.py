from __future__ import annotations

import pytest

from .support import Counter


@pytest.fixture
def ids() -> Counter:
    return Counter()
