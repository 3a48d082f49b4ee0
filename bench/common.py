"""What every benchmark shares: the machine's description, statistics, and the two
database targets (a file under /tmp for SQLite, scratch databases for PostgreSQL),
each able to create a database through dangol's own migrations, snapshot it, and
open a raw driver connection (sqlite3 / psycopg, no SQLAlchemy) for baselines."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

WORKDIR = Path(os.environ.get("DANGOL_BENCH_DIR", "/tmp/dangol-bench"))
DEFAULT_POSTGRES_URL = os.environ.get("DANGOL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PROGRAM_ID = "market"


# ---------------------------------------------------------------- statistics

def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least pct% of values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def fmt_runs(values: Sequence[float], digits: int = 0) -> str:
    return " ".join(f"{v:,.{digits}f}" for v in values)


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


# ---------------------------------------------------------------- machine

def machine_info(postgres_url: str | None = None) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = math.nan
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(ram_gb, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "git": _git_revision(),
        "loadavg_at_start": load_average(),
    }
    if postgres_url:
        try:
            import psycopg
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as error:  # noqa: BLE001 - only a description
            info["postgresql"] = f"unavailable ({type(error).__name__})"
    return info


def load_average() -> str:
    """The 1/5/15-minute load averages: on a shared 2-core machine, what else was running."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True,
                               cwd=Path(__file__).parent, timeout=5).stdout.strip()
        return head + ("+uncommitted changes in src/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def print_machine(info: dict[str, Any]) -> None:
    parts = [f"{info['nproc']} cpu ({info['cpu']})", f"{info['ram_gb']} GB RAM", f"Python {info['python']}",
             f"SQLite {info['sqlite']}"]
    if "postgresql" in info:
        parts.append(f"PostgreSQL {info['postgresql']}")
    print("machine:", ", ".join(parts))
    print("code:   ", info["git"], "|", info["date"], "| load average", info["loadavg_at_start"])
    busy = float(info["loadavg_at_start"].split()[0]) if info["loadavg_at_start"] != "unknown" else 0.0
    if busy > 0.5:
        print(f"warning: the machine is already busy (1-min load {busy:.2f} on {info['nproc']} cores): "
              "figures will be lower and noisier than on an idle machine")


def save_results(name: str, results: dict[str, Any], path: str | None = None) -> Path:
    results.setdefault("machine", {})["loadavg_at_end"] = load_average()
    print(f"load average at the end: {load_average()}")
    target = Path(path) if path else WORKDIR / "results" / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2, default=str))
    print(f"results written to {target}")
    return target


# ---------------------------------------------------------------- database targets

class Target(Protocol):
    kind: str
    mark: str  # the driver's parameter placeholder

    def url(self, name: str) -> str: ...
    def create(self, name: str) -> str: ...
    def snapshot(self, source: str, copy: str) -> str: ...
    def drop(self, name: str) -> None: ...
    def raw(self, name: str) -> Any: ...
    def size(self, name: str) -> int: ...
    def describe(self) -> str: ...


class SqliteTarget:
    """Database files under WORKDIR, in WAL mode with the product's pragmas."""

    kind = "sqlite"
    mark = "?"

    def __init__(self, directory: Path = WORKDIR, prefix: str = "bench") -> None:
        self.directory = directory
        self.prefix = prefix
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.directory / f"{self.prefix}-{name}.db"

    def url(self, name: str) -> str:
        return f"sqlite:///{self.path(name)}"

    def create(self, name: str) -> str:
        self.drop(name)
        return self.url(name)

    def snapshot(self, source: str, copy: str) -> str:
        conn = self.raw(source)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        self.drop(copy)
        shutil.copyfile(self.path(source), self.path(copy))
        return self.url(copy)

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path(name)}{suffix}").unlink(missing_ok=True)

    def raw(self, name: str) -> sqlite3.Connection:
        """A sqlite3 connection configured as dangol's Database configures its own."""
        from dangol.storage.database import SQLITE_PRAGMAS

        conn = sqlite3.connect(self.path(name), isolation_level=None, check_same_thread=False, timeout=30)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def size(self, name: str) -> int:
        return sum(Path(f"{self.path(name)}{s}").stat().st_size
                   for s in ("", "-wal") if Path(f"{self.path(name)}{s}").exists())

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}, files under {self.directory} (WAL, synchronous=NORMAL)"


class PostgresTarget:
    """Scratch databases `<prefix>`, `<prefix>_<name>` on the server of `admin_url`."""

    kind = "postgres"
    mark = "%s"

    def __init__(self, admin_url: str = DEFAULT_POSTGRES_URL, prefix: str = "dangol_bench") -> None:
        from sqlalchemy.engine import make_url
        self.admin = make_url(admin_url)
        if self.admin.drivername in ("postgresql", "postgres"):
            self.admin = self.admin.set(drivername="postgresql")
        self.prefix = prefix
        self.created: set[str] = set()

    def dbname(self, name: str) -> str:
        return self.prefix if name in ("", "main") else f"{self.prefix}_{name}"

    def _libpq(self, database: str) -> str:
        url = self.admin.set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    def url(self, name: str) -> str:
        return self.admin.set(drivername="postgresql+psycopg", database=self.dbname(name)) \
            .render_as_string(hide_password=False)

    def _admin_exec(self, *statements: str) -> None:
        import psycopg
        with psycopg.connect(self._libpq(self.admin.database or "postgres"), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def create(self, name: str) -> str:
        db = self.dbname(name)
        self._admin_exec(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'CREATE DATABASE "{db}"')
        self.created.add(db)
        return self.url(name)

    def snapshot(self, source: str, copy: str) -> str:
        db = self.dbname(copy)
        self._admin_exec(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)',
                         f'CREATE DATABASE "{db}" TEMPLATE "{self.dbname(source)}"')
        self.created.add(db)
        return self.url(copy)

    def drop(self, name: str) -> None:
        db = self.dbname(name)
        self._admin_exec(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self.created.discard(db)

    def drop_all(self) -> None:
        for db in sorted(self.created):
            self._admin_exec(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self.created.clear()

    def raw(self, name: str) -> Any:
        import psycopg
        return psycopg.connect(self._libpq(self.dbname(name)))

    def size(self, name: str) -> int:
        import psycopg
        with psycopg.connect(self._libpq(self.dbname(name)), autocommit=True) as conn:
            return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])

    def describe(self) -> str:
        return f"PostgreSQL at {self.admin.host}:{self.admin.port or 5432}, scratch databases {self.prefix}*"


def add_db_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="database engine")
    parser.add_argument("--url", default=None,
                        help="PostgreSQL server URL (default: $DANGOL_BENCH_POSTGRES_URL or "
                             f"{DEFAULT_POSTGRES_URL}); scratch databases are created on it and dropped")
    parser.add_argument("--json", default=None, help="also write the results as JSON to this path")


def target_from_args(args: argparse.Namespace, prefix: str) -> SqliteTarget | PostgresTarget:
    """SQLite files are named `<prefix>-<name>.db`; PostgreSQL databases `dangol_bench[_<name>]`."""
    if args.db == "sqlite":
        return SqliteTarget(WORKDIR, prefix)
    return PostgresTarget(args.url or DEFAULT_POSTGRES_URL, "dangol_bench")


def postgres_admin_url(args: argparse.Namespace) -> str | None:
    return (args.url or DEFAULT_POSTGRES_URL) if args.db == "postgres" else None


def migrate(url: str) -> None:
    """The schema is dangol's own: created by its Alembic migrations, nothing else."""
    from dangol.storage.database import Database
    from dangol.storage.migrate import upgrade
    db = Database(url)
    upgrade(db)
    db.dispose()


def create_example_program(url: str) -> str:
    """The example program of the product brief: 5 points per 100 KRW, one-year lots."""
    from dangol.domain import EarnRate, ProgramPolicy
    from dangol.service.container import Services
    services = Services.open(url, migrate=False)
    try:
        services.programs.create_program(PROGRAM_ID, "Talent market", "KRW",
                                         ProgramPolicy(earn_rate=EarnRate(points=5, per_minor_units=100)))
    finally:
        services.db.dispose()
    return PROGRAM_ID


def analyze(target: Any, name: str) -> None:
    """PostgreSQL: gather planner statistics, as autovacuum would on a production server.
    (This machine's server runs with autovacuum = off, a CI setting; without statistics the
    planner reads every idempotency key of the program for each batch, and ingest turns
    quadratic.) SQLite: nothing, as dangol runs no ANALYZE there."""
    if target.kind != "postgres":
        return
    conn = target.raw(name)
    try:
        conn.autocommit = True
        conn.execute("ANALYZE")
    finally:
        conn.close()


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)
