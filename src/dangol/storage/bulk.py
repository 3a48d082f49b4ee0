"""Multi-row writes, as fast as each engine allows.

The ledger's write path inserts several rows per event; SQLAlchemy's per-row parameter
processing would cost more than the database does, so these statements go straight to
the driver with plain tuples (timestamps already as integer microseconds):
- SQLite: `executemany`, which runs in C inside the sqlite3 module;
- PostgreSQL: `COPY … FROM STDIN` for inserts, and one `UPDATE … FROM unnest(arrays)`
  for updates, instead of a statement per row.
Both run inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Integer, SmallInteger, String, Table, Text

from .types import Timestamp


def placeholders(conn: Connection, count: int) -> str:
    return ", ".join([mark(conn)] * count)


def one_of(conn: Connection, column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """A condition that `column` is one of `values`, and its parameters. PostgreSQL gets
    one array parameter (`= ANY(%s)`): the statement's text is then the same for any number
    of values, so psycopg parses it once (splitting a thousand placeholders cost
    milliseconds a batch) and the server can prepare it. SQLite has no arrays: an IN list."""
    if conn.dialect.name == "postgresql":
        return f"{column} = ANY(%s)", (list(values),)
    return f"{column} IN ({placeholders(conn, len(values))})", tuple(values)


def fetch_rows(conn: Connection, sql: str, params: Sequence[Any]) -> Sequence[Any]:
    """All rows in one driver fetch: iterating a result fetches row by row, which costs
    more than the query for thousands of rows. Through SQLAlchemy all the same, so that
    its cursor events (logging, the tests' query-plan checks) see the statement."""
    return conn.exec_driver_sql(sql, tuple(params)).fetchall()


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders(conn, len(columns))})"
    conn.exec_driver_sql(sql, list(rows))


def update_rows(conn: Connection, table: Table, columns: Sequence[str], key: str,
                rows: Sequence[tuple[Any, ...]]) -> None:
    """Each row is the new values of `columns` followed by the `key` value."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        names = [*columns, key]
        arrays = ", ".join(f"%s::{_pg_type(table, name)}[]" for name in names)
        assignments = ", ".join(f"{column} = v.{column}" for column in columns)
        sql = (f"UPDATE {table.name} AS t SET {assignments} FROM unnest({arrays}) AS v({', '.join(names)}) "
               f"WHERE t.{key} = v.{key}")
        conn.exec_driver_sql(sql, tuple(list(values) for values in zip(*rows)))
        return
    assignments = ", ".join(f"{column} = ?" for column in columns)
    conn.exec_driver_sql(f"UPDATE {table.name} SET {assignments} WHERE {key} = ?", list(rows))


def mark(conn: Connection) -> str:
    """The driver's placeholder for one parameter."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _pg_type(table: Table, column: str) -> str:
    column_type = table.c[column].type
    if isinstance(column_type, Timestamp):
        return "bigint"
    if isinstance(column_type, Boolean):
        return "boolean"
    if isinstance(column_type, (BigInteger, Integer, SmallInteger)):
        return "bigint"
    if isinstance(column_type, (String, Text)):
        return "text"
    raise TypeError(f"no array type for {table.name}.{column}")
