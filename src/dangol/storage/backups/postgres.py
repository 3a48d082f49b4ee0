"""PostgreSQL: copies taken with pg_dump (custom format) and put back with pg_restore and psql,
the client tools of the server's own major version (Debian's postgresql-client-N).

The dump runs in a snapshot exported from a transaction that first counts every table, so
the manifest describes exactly what was dumped, while writers go on. The restore runs as one
transaction (psql --single-transaction) that ends by counting every table against the
manifest: a restore that fails, or is cut short, or lost rows, rolls back and leaves the
target as it was."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from ..database import Database
from .contents import Contents, Query, read_contents
from .manifest import BackupError
from .progress import Progress

BIN_ENV = "DANGOL_PG_BIN"
DUMPING = "dumping tables"
RESTORING = "restoring tables"
TOOLS = ("pg_dump", "pg_restore", "psql")
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(\.\d+)?")
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_RELATIONS = ("SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')")
# What --force removes first, in the restore's own transaction: every table, view and
# sequence of the schema (CASCADE takes their constraints, indexes and owned sequences).
_DROP_EVERYTHING = f"""DO $$
DECLARE r record;
BEGIN
  FOR r IN {_RELATIONS} LOOP
    EXECUTE format('DROP %s IF EXISTS %I CASCADE', CASE r.relkind WHEN 'v' THEN 'VIEW'
      WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
      ELSE 'TABLE' END, r.relname);
  END LOOP;
END $$;"""


@dataclass(frozen=True, slots=True)
class Tools:
    paths: Mapping[str, Path]
    version: str  # pg_dump's, e.g. 15.20

    def __getitem__(self, tool: str) -> str:
        return str(self.paths[tool])


def find_tools(server_version: str, env: Mapping[str, str] | None = None) -> Tools:
    """pg_dump, pg_restore and psql of the server's major version: from the directory
    DANGOL_PG_BIN names when set; else Debian's /usr/lib/postgresql/<major>/bin, then PATH
    (Debian's /usr/bin/pg_dump picks the newest client installed, not the server's)."""
    env = os.environ if env is None else env
    major = major_version(server_version)
    if env.get(BIN_ENV):
        search, where = env[BIN_ENV], f"{env[BIN_ENV]} ({BIN_ENV})"
    else:
        search = os.pathsep.join([f"/usr/lib/postgresql/{major}/bin", env.get("PATH", os.defpath)])
        where = f"/usr/lib/postgresql/{major}/bin or PATH"
    advice = f"install PostgreSQL {major}'s client tools (Debian: postgresql-client-{major}), " \
             f"or set {BIN_ENV} to the directory holding them"
    paths: dict[str, Path] = {}
    versions: dict[str, str] = {}
    for tool in TOOLS:
        found = shutil.which(tool, path=search)
        if found is None:
            raise BackupError(f"{tool} not found in {where}: {advice}")
        try:
            answer = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError) as error:
            raise BackupError(f"{found} does not run ({error}): {advice}") from None
        version = _VERSION.search(answer)
        if version is None:
            raise BackupError(f"{found} does not say which PostgreSQL it is from: {advice}")
        versions[tool] = version.group(1) + (version.group(2) or "")
        if int(version.group(1)) != major:
            raise BackupError(f"{found} is from PostgreSQL {versions[tool]} but the server runs PostgreSQL "
                              f"{server_version}: {advice}")
        paths[tool] = Path(found)
    return Tools(paths, versions["pg_dump"])


def major_version(version: str) -> int:
    found = re.match(r"\d+", version)
    if found is None:
        raise BackupError(f"cannot tell the major version of PostgreSQL {version!r}")
    return int(found.group())


def dump(url: str, destination: Path, progress: Progress) -> tuple[Contents, dict[str, str]]:
    """pg_dump of the database at `url` into `destination`; what it held, and the versions of
    the server and of pg_dump."""
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                server = _server_version(conn)
                tools = find_tools(server)
                # Exported first: pg_dump then sees exactly what this transaction counts.
                snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar())
                contents = read_contents(_query(conn), _tables(conn))
                if contents.revision is None:
                    raise BackupError(f"the database at {_shown(url)} is not initialised: there is nothing to back up")
                total = len(contents.tables)
                done = 0

                def line(text: str) -> None:
                    nonlocal done
                    if "dumping contents of table" in text:
                        done += 1
                        progress(DUMPING, done, total)

                _run([tools["pg_dump"], "--format=custom", "--verbose", "--no-password", f"--snapshot={snapshot}",
                      f"--file={destination}", f"--dbname={_libpq_url(url)}"], url, stderr_lines=line)
    finally:
        db.dispose()
    return contents, {"server": server, "pg_dump": tools.version}


def table_names(url: str) -> list[str]:
    """The tables of the database's schema."""
    db = Database(url)
    try:
        with db.read() as conn:
            return _tables(conn)
    finally:
        db.dispose()


def restore(archive: Path, url: str, tables: Mapping[str, int], *, replace: bool, dumped_by: str | None,
            progress: Progress) -> None:
    """Restores the pg_dump `archive` into the database at `url` in one transaction, which
    `replace` begins by dropping what the schema holds and which ends by checking that every
    table has the rows `tables` says: anything else rolls it all back."""
    for name in tables:
        if not _TABLE_NAME.fullmatch(name):
            raise BackupError(f"the backup names a table {name!r} that dangol never makes")
    db = Database(url)
    try:
        with db.read() as conn:
            server = _server_version(conn)
    finally:
        db.dispose()
    tools = find_tools(server)
    if dumped_by is not None and major_version(dumped_by) > major_version(tools.version):
        raise BackupError(f"the backup was made by pg_dump {dumped_by}: restoring it needs PostgreSQL "
                          f"{major_version(dumped_by)} or newer (the server runs {server})")
    copied = 0

    def line(text: str) -> None:
        nonlocal copied
        if text.startswith("COPY "):
            copied += 1
            progress(RESTORING, copied, len(tables))

    commands = [*(["--command", _DROP_EVERYTHING] if replace else []), "--file=-",
                "--command", _check_rows(tables)]
    _run([tools["pg_restore"], "--no-owner", "--no-privileges", "--file=-", str(archive)], url,
         pipe_into=[tools["psql"], "--no-psqlrc", "--no-password", "--set=ON_ERROR_STOP=1", "--single-transaction",
                    f"--dbname={_libpq_url(url)}", *commands], stdout_lines=line)


def _check_rows(tables: Mapping[str, int]) -> str:
    """The restore's last statement: every table has the backup's rows, or it fails (and the
    transaction rolls back). pg_restore's script empties search_path: reset it first."""
    checks = "\n".join(
        f"  IF (SELECT COUNT(*) FROM {name}) <> {rows} THEN RAISE EXCEPTION 'table {name} has % rows "
        f"after the restore, the backup %', (SELECT COUNT(*) FROM {name}), {rows}; END IF;"
        for name, rows in sorted(tables.items()))
    return f"RESET search_path;\nDO $$\nBEGIN\n{checks}\nEND $$;"


Lines = Callable[[str], None]


def _run(command: Sequence[str], url: str, *, pipe_into: Sequence[str] | None = None,
         stdout_lines: Lines | None = None, stderr_lines: Lines | None = None) -> None:
    """Runs a tool (or two, the first piped into the second), passing the password in the
    environment, never on the command line. BackupError with the first error line on failure."""
    env = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    try:
        first = subprocess.Popen(command, stdout=subprocess.PIPE if pipe_into else subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, env=env)
    except OSError as error:
        raise BackupError(f"{command[0]} does not run: {error}") from None
    processes = [(command[0], first)]
    if pipe_into:
        try:
            second = subprocess.Popen(pipe_into, stdin=first.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env)
        except OSError as error:
            first.kill()
            first.wait()
            raise BackupError(f"{pipe_into[0]} does not run: {error}") from None
        assert first.stdout is not None
        first.stdout.close()  # the second has it: the first sees a broken pipe if the second dies
        processes.append((pipe_into[0], second))
    errors: dict[str, list[str]] = {name: [] for name, _ in processes}
    readers = [_reader(process.stderr, errors[name], stderr_lines if process is first else None)
               for name, process in processes]
    last = processes[-1][1]
    if pipe_into and last.stdout is not None:
        for text_line in last.stdout:
            if stdout_lines:
                stdout_lines(text_line)
    for name, process in processes:
        process.wait()
    for reader in readers:
        reader.join()
    for name, process in reversed(processes):
        if process.returncode != 0:
            raise BackupError(f"{Path(name).name} failed: {_first_error(errors[name])}")


def _reader(stream: IO[str] | None, lines: list[str], each: Lines | None) -> threading.Thread:
    """Reads a tool's stderr in a thread, so that neither side of a pipe waits on a full one."""
    def read() -> None:
        if stream is None:
            return
        for line in stream:
            lines.append(line.rstrip("\n"))
            if each:
                each(line)
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _first_error(lines: Iterable[str]) -> str:
    lines = [line for line in lines if line.strip()]
    for line in lines:
        if "error" in line.lower() or "fatal" in line.lower():
            return line.strip()
    return lines[-1].strip() if lines else "no message"


def _server_version(conn: Connection) -> str:
    return str(conn.execute(text("SHOW server_version")).scalar()).split()[0]


def _tables(conn: Connection) -> list[str]:
    return [str(name) for (name,) in conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]


def _query(conn: Connection) -> Query:
    def run(sql: str) -> Sequence[Any] | None:
        return conn.exec_driver_sql(sql).first()
    return run


def _libpq_url(url: str) -> str:
    """The URL for libpq: no SQLAlchemy driver name, no password (it goes in PGPASSWORD)."""
    return make_url(url).set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
