"""Property: however often an import of a file with bad rows is interrupted, and wherever,
importing the file again until it completes gives the ledger one clean import of the file's
valid rows gives, and the completing run reports every bad row once, with the reason it was
rejected for (by it or by an earlier run). On SQLite and PostgreSQL.

The interruption is injected in-process at the n-th SQL statement (a transaction under way
rolls back, as after a kill), and each run opens the database afresh, as a new process
would; tests/importer/test_crash.py does the same with a real `kill -9`."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangol.domain import FixedClock
from dangol.importer import Importer
from dangol.service.container import Services

from .helpers import Interrupted, balances_by_ref, expected_balances, faulty_history, interrupted_at

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


EVENTS = 60


def statements_of_a_run(batch_size: int) -> int:
    """About how many SQL statements an import of the file sends, so that interruptions
    fall all through it (measured: 559 in batches of 2, 16 in one batch)."""
    return 16 + 9 * -(-EVENTS // batch_size)


@SETTINGS
@given(rng=st.randoms(use_true_random=False), batch_size=st.sampled_from([2, 5, 16, 1_000]),
       interruptions=st.lists(st.floats(min_value=0, max_value=1), max_size=4))
def test_interrupted_imports_converge_to_a_clean_import_of_the_valid_rows(
        database_url: str, clock: FixedClock, tmp_path: Path, rng: random.Random, batch_size: int,
        interruptions: list[float]) -> None:
    history = faulty_history(rng, events=EVENTS, members=4, faults=rng.randrange(1, 9), now=clock.now())
    program, clean = f"p-{uuid.uuid4().hex[:12]}", f"c-{uuid.uuid4().hex[:12]}"
    path = history.write(tmp_path / f"{program}.jsonl")
    services = Services.open(database_url, clock, migrate=False)
    for program_id in (program, clean):
        services.programs.create_program(program_id, "Import", "KRW")
    Importer(services, clean).run(history.write(tmp_path / f"{clean}.jsonl", valid_only=True))
    services.db.dispose()

    for fraction in interruptions:
        services = Services.open(database_url, clock, migrate=False)
        try:
            with interrupted_at(services.db, 1 + int(fraction * statements_of_a_run(batch_size))):
                Importer(services, program, batch_size=batch_size).run(path)
        except Interrupted:
            pass
        finally:
            services.db.dispose()
    services = Services.open(database_url, clock, migrate=False)
    try:
        report = Importer(services, program, batch_size=batch_size, max_reported=len(history.lines)).run(path)
        assert balances_by_ref(services.db, program) == balances_by_ref(services.db, clean) \
            == expected_balances(history)
        assert [(reject.line, reject.code) for reject in report.rejects] == sorted(history.bad.items())
        assert report.duplicates == history.duplicates
        assert report.applied + report.replayed + report.duplicates + report.rejected == len(history.lines)
        assert services.check.run().ok
    finally:
        services.db.dispose()
