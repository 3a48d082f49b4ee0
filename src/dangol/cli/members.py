"""`dangol members`: a member's personal data and consents, their export, their erasure, and a
sign-in link to the member portal.

The command line works on the database directly, as the operator: every read of personal
data, export and erasure is in the audit log, as `cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..service.container import Services
from ..service.privacy.audit import CLI_ACTOR
from .context import CliError, resolve_member, resolve_program, state
from .output import number, out, plural, print_json

app = typer.Typer(help="Members' own data: personal data, consents, export, erasure.", no_args_is_help=True)

MemberArgument = Annotated[str | None, typer.Argument(metavar="MEMBER", help="Member id (m_…).", show_default=False)]
RefOption = Annotated[str | None, typer.Option("--ref", help="Find the member by the brand's reference instead.")]
ProgramOption = Annotated[str | None, typer.Option("--program", help="Program id (default: the only program).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _member(ctx: typer.Context, program: str | None, member: str | None,
            ref: str | None) -> tuple[Services, str, str]:
    """(services, program id, member id); the caller disposes of the services."""
    if member is None and ref is None:
        raise CliError("name a member id or --ref")
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        return services, program_id, str(resolve_member(services, program_id, member, ref)["id"])
    except BaseException:
        services.db.dispose()
        raise


@app.command("personal")
def personal(
    ctx: typer.Context, member: MemberArgument = None, ref: RefOption = None, program: ProgramOption = None,
    set_: Annotated[list[str] | None, typer.Option("--set", metavar="FIELD=VALUE",
                                                   help="Set a field (repeat for several).")] = None,
    clear: Annotated[list[str] | None, typer.Option("--clear", metavar="FIELD", help="Clear a field.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a member's personal data, or change it with --set and --clear.

    Every read and change is written to the audit log."""
    changes: dict[str, Any] = {}
    for item in set_ or []:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise CliError(f"--set takes FIELD=VALUE, not {item!r}")
        changes[name] = value
    changes.update(dict.fromkeys(clear or []))
    services, program_id, member_id = _member(ctx, program, member, ref)
    try:
        if changes:
            result = services.personal_data.update(program_id, member_id, changes, CLI_ACTOR)
        else:
            result = services.personal_data.read(program_id, member_id, CLI_ACTOR)
    finally:
        services.db.dispose()
    if as_json:
        print_json(result)
    elif changes:
        fields = ", ".join(result["fields"]) or "none"
        out.print(f"Member {member_id}'s personal data changed; fields now: {fields}.", markup=False)
    elif result["erased"]:
        out.print(f"Member {member_id} was erased: there is no personal data.", markup=False)
    elif not result["fields"]:
        out.print(f"Member {member_id} has no personal data.", markup=False)
    else:
        table = Table(title=f"Personal data of member {member_id}", show_header=False)
        table.add_column("")
        table.add_column("", overflow="fold")
        for name, value in sorted(result["fields"].items()):
            table.add_row(name, value)
        out.print(table)


@app.command("consent")
def consent(
    ctx: typer.Context, member: MemberArgument = None, ref: RefOption = None, program: ProgramOption = None,
    grant: Annotated[list[str] | None, typer.Option(
        "--grant", metavar="PURPOSE", help="marketing, personalisation, partner_sharing or leaderboard.")] = None,
    withdraw: Annotated[list[str] | None, typer.Option("--withdraw", metavar="PURPOSE")] = None,
    source: Annotated[str, typer.Option(help="How the member gave it: api, portal, console, import or cli.")] = "cli",
    notice: Annotated[str | None, typer.Option("--notice", help="The privacy notice version the member saw.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a member's consents and their history, or record answers with --grant and --withdraw."""
    answers = {**dict.fromkeys(grant or [], True), **dict.fromkeys(withdraw or [], False)}
    if set(grant or []) & set(withdraw or []):
        raise CliError("a purpose is either granted or withdrawn")
    services, program_id, member_id = _member(ctx, program, member, ref)
    try:
        if answers:
            services.consents.change(program_id, member_id, answers, source, notice)
        result = services.consents.state(program_id, member_id)
    finally:
        services.db.dispose()
    if as_json:
        print_json(result)
        return
    table = Table(title=f"Consents of member {member_id}")
    for column in ("purpose", "granted", "since", "how", "notice"):
        table.add_column(column)
    for purpose, found in result["purposes"].items():
        record = found["record"] or {}
        table.add_row(purpose, "yes" if found["granted"] else "no", record.get("occurred_at") or "",
                      record.get("source") or "", record.get("notice_version") or "")
    out.print(table)
    out.print(f"{plural(len(result['history']), 'change', 'changes')} recorded.", markup=False)


@app.command("export")
def export(
    ctx: typer.Context, member: MemberArgument = None, ref: RefOption = None, program: ProgramOption = None,
    output: Annotated[Path | None, typer.Option("--out", help="The archive to write (default: MEMBER.zip).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the export as JSON instead of writing an archive.")]
    = False,
) -> None:
    """Export everything dangol holds of a member: one archive (export.json and a CSV file per list)."""
    services, program_id, member_id = _member(ctx, program, member, ref)
    try:
        if as_json:
            print_json(services.exports.document(program_id, member_id, CLI_ACTOR))
            return
        data = services.exports.archive(program_id, member_id, CLI_ACTOR)
    finally:
        services.db.dispose()
    path = output or Path(f"{member_id}.zip")
    path.write_bytes(data)
    out.print(f"Exported member {member_id} to {path} ({number(len(data))} bytes).", markup=False)


@app.command("portal-link")
def portal_link(
    ctx: typer.Context, member: MemberArgument = None, ref: RefOption = None, program: ProgramOption = None,
    base_url: Annotated[str, typer.Option("--base-url", help="Where `dangol serve` is reached.")]
    = "http://127.0.0.1:8000",
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the link.")] = False,
) -> None:
    """Print a single-use sign-in link to the member portal (valid 10 minutes), as a brand's
    backend gets one from POST …/members/{id}/portal-links."""
    services, program_id, member_id = _member(ctx, program, member, ref)
    try:
        link = services.portal.issue_link(program_id, member_id)
    finally:
        services.db.dispose()
    url = f"{base_url.rstrip('/')}/portal/{program_id}/link/{link.token}"
    if quiet:
        out.print(url, markup=False, soft_wrap=True)
        return
    out.print(f"Member {member_id}'s portal sign-in link (once, until "
              f"{link.expires_at.isoformat(timespec='seconds').replace('+00:00', 'Z')}):", markup=False)
    out.print(url, markup=False, soft_wrap=True)


@app.command("erase")
def erase(
    ctx: typer.Context, member: MemberArgument = None, ref: RefOption = None, program: ProgramOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: erasure is final.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Erase a member: close the account (forfeiting what is left), destroy their data key,
    personal data, profile, consents and log key. Final; erasing again shows the receipt."""
    if not yes:
        raise CliError("erasure is final: pass --yes to erase the member")
    services, program_id, member_id = _member(ctx, program, member, ref)
    try:
        receipt = services.erasures.erase(program_id, member_id, CLI_ACTOR)
    finally:
        services.db.dispose()
    if as_json:
        print_json(receipt)
        return
    forfeited = receipt["forfeiture"]["points"]
    out.print(f"Erased member {member_id} at {receipt['erased_at']}: {number(forfeited)} points forfeited, "
              f"data key and personal data destroyed.", markup=False)


@app.command("erasures")
def erasures(ctx: typer.Context, program: ProgramOption = None, as_json: JsonOption = False) -> None:
    """List the program's erasures, oldest first."""
    services = state(ctx).open()
    items: list[dict[str, Any]] = []
    try:
        program_id = resolve_program(services, program)
        cursor: str | None = None
        while True:
            page = services.erasures.erasures(program_id, cursor=cursor, limit=200)
            items += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    finally:
        services.db.dispose()
    if as_json:
        print_json(items)
        return
    table = Table(title=f"Erasures in program {program_id}")
    for column in ("member", "erased at", "points forfeited", "by"):
        table.add_column(column)
    for item in items:
        table.add_row(item["member_id"], item["erased_at"], number(item["forfeiture"]["points"]), item["requested_by"])
    out.print(table)

