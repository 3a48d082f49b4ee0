"""Where write requests run: on SQLite, one writer thread in arrival order; on PostgreSQL,
ledger writes on the group-commit thread (other writes on the thread pool). Either way
concurrent writes all succeed."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.service.container import Services

REQUESTS = 12


def test_concurrent_writes_all_succeed_on_one_thread(
        services: Services, admin_token: str, program_id: str, member_id: str) -> None:
    app = create_app(services)
    threads_used: set[str] = set()
    real_execute = services.ledger.execute

    def recording_execute(*args: Any, **kwargs: Any) -> Any:
        threads_used.add(threading.current_thread().name)
        return real_execute(*args, **kwargs)

    services.ledger.execute = recording_execute  # type: ignore[method-assign]
    start = threading.Barrier(REQUESTS)
    statuses: list[int] = []

    def send(n: int) -> None:
        with TestClient(app) as own_client:  # its own event loop, as another server would have
            start.wait()
            response = own_client.post(f"/v1/programs/{program_id}/members/{member_id}/earn",
                                       json={"points": 10}, headers={"Authorization": f"Bearer {admin_token}",
                                                                     "Idempotency-Key": f"lane-{n}"})
            statuses.append(response.status_code)

    senders = [threading.Thread(target=send, args=(n,)) for n in range(REQUESTS)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    services.ledger.execute = real_execute  # type: ignore[method-assign]
    assert statuses == [200] * REQUESTS
    balance = TestClient(app).get(f"/v1/programs/{program_id}/members/{member_id}/balance",
                                  headers={"Authorization": f"Bearer {admin_token}"}).json()
    assert balance["available"] == 10 * REQUESTS
    assert len(threads_used) == 1
    assert next(iter(threads_used)).startswith("dangol-writer" if services.db.is_sqlite else "dangol-commit")
