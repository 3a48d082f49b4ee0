"""`dangol privacy`: a program's privacy policy, the retention job, the audit log of
personal data, and the key-encryption keys (rotation without downtime)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ..service.privacy.keys import RewrapReport
from .context import CliError, resolve_program, state
from .output import count_progress, out, plural, print_json

app = typer.Typer(help="Privacy policy, retention, audit log, key rotation.", no_args_is_help=True)

ProgramOption = Annotated[str | None, typer.Option("--program", help="Program id (default: the only program).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _days(value: str | None, option: str) -> int | None:
    if value == "off":
        return None
    try:
        return int(value or "")
    except ValueError:
        raise CliError(f"{option} is a number of days, or off") from None


@app.command("policy")
def policy(
    ctx: typer.Context, program: ProgramOption = None,
    field: Annotated[list[str] | None, typer.Option(
        "--field", metavar="NAME:KIND", help="The personal fields kept (repeat; replaces them all). Kinds: text, "
                                             "email, phone, date, address.")] = None,
    erase_after_closed_days: Annotated[str | None, typer.Option(
        metavar="DAYS|off", help="Erase members this many days after they closed.")] = None,
    audit_log_days: Annotated[str | None, typer.Option(
        metavar="DAYS|off", help="Remove audit log entries older than this.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the program's privacy policy, or change it."""
    changes: dict[str, Any] = {}
    if field:
        kinds = {}
        for item in field:
            name, colon, kind = item.partition(":")
            if not colon:
                raise CliError(f"--field takes NAME:KIND, not {item!r}")
            kinds[name] = kind
        changes["fields"] = kinds
    if erase_after_closed_days is not None:
        changes["erase_after_closed_days"] = _days(erase_after_closed_days, "--erase-after-closed-days")
    if audit_log_days is not None:
        changes["audit_log_days"] = _days(audit_log_days, "--audit-log-days")
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        result = (services.personal_data.set_policy(program_id, changes) if changes
                  else services.personal_data.policy(program_id))
    finally:
        services.db.dispose()
    if as_json:
        print_json(result)
        return
    table = Table(title=f"Privacy policy of program {program_id}", show_header=False)
    table.add_column("")
    table.add_column("")
    table.add_row("personal fields", ", ".join(f"{name} ({kind})" for name, kind in result["fields"].items()))
    erase, keep = result["erase_after_closed_days"], result["audit_log_days"]
    table.add_row("members erased", "on request only" if erase is None
                  else f"{plural(erase, 'day', 'days')} after they close (or on request)")
    table.add_row("audit log kept", "for ever" if keep is None else plural(keep, "day", "days"))
    out.print(table)


@app.command("retention")
def retention(ctx: typer.Context, program: ProgramOption = None, as_json: JsonOption = False) -> None:
    """Apply the retention rules now: erase members closed longer ago than the policy keeps
    them, remove old audit log entries. Running it again finds nothing left to do."""
    services = state(ctx).open()
    try:
        report = services.retention.run(resolve_program(services, program) if program else None).as_json()
    finally:
        services.db.dispose()
    if as_json:
        print_json(report)
        return
    out.print(f"Retention run: {plural(report['programs'], 'program', 'programs')}, "
              f"{plural(report['members_erased'], 'member', 'members')} erased, "
              f"{plural(report['audit_entries_removed'], 'audit entry', 'audit entries')} removed.", markup=False)


@app.command("audit-log")
def audit_log(
    ctx: typer.Context, program: ProgramOption = None,
    member: Annotated[str | None, typer.Option("--member", help="Only this member's entries.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries (1 to 200), oldest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Who read, changed, exported or erased members' personal data, and when."""
    services = state(ctx).open()
    try:
        page = services.audit_log.entries(resolve_program(services, program), member, limit=limit)
    finally:
        services.db.dispose()
    if as_json:
        print_json({"items": page.items, "next_cursor": page.next_cursor})
        return
    table = Table(title="Audit log of personal data (times in UTC)")
    for column in ("at", "member", "action", "by", "detail"):
        table.add_column(column, overflow="fold")
    for item in page.items:
        detail = item["detail"] or {}
        table.add_row(item["at"], item["member_id"] or "", item["action"], item["actor"],
                      ", ".join(detail.get("fields", [])) or "")
    out.print(table)


def _keys_done(report: RewrapReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_json())
        return
    if report.added:
        out.print("Added a new key-encryption key; it is current.", markup=False)
    if report.retired:
        out.print(f"Retired {plural(len(report.retired), 'key', 'keys')} that no data key uses any more.",
                  markup=False)
    else:
        out.print(f"Re-wrapped {plural(report.rewrapped, 'data key', 'data keys')}.", markup=False)
    for kek_id, count in sorted(report.by_key.items()):
        current = " (current)" if kek_id == report.current else ""
        out.print(f"  {kek_id}{current}: wraps {plural(count, 'data key', 'data keys')}", markup=False)


@app.command("rotate-key")
def rotate_key(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Add a new key-encryption key to the key file and re-wrap every member's data key with
    it, while servers keep running. Then `dangol privacy retire-keys` removes the old one."""
    services = state(ctx).open()
    try:
        with count_progress("re-wrapping data keys") as progress:
            task = progress.add_task("rewrap", total=None)
            report = services.data_keys.rotate(progress=lambda n: progress.advance(task, n))
    finally:
        services.db.dispose()
    _keys_done(report, as_json)


@app.command("rewrap")
def rewrap(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Re-wrap every data key not wrapped by the current key-encryption key (after the key
    ring in DANGOL_DATA_KEYS or a key provider got a new current key)."""
    services = state(ctx).open()
    try:
        report = services.data_keys.rewrap()
    finally:
        services.db.dispose()
    _keys_done(report, as_json)


@app.command("retire-keys")
def retire_keys(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Remove from the key file the key-encryption keys that wrap no data key any more."""
    services = state(ctx).open()
    try:
        report = services.data_keys.retire()
    finally:
        services.db.dispose()
    if not as_json and not report.retired:
        still = [k for k, n in report.by_key.items() if k != report.current and n]
        out.print("No key to retire" + (f": {', '.join(still)} still wrap data keys; run `dangol privacy "
                                         "rewrap`." if still else "."), markup=False)
        return
    _keys_done(report, as_json)



