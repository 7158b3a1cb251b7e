"""`clearwatch backup`, `clearwatch restore`: recovery of the whole store, verified.

A backup is taken by the deployment's admin (it holds every client's data). A restore has no
caller to ask: the store it loads into is empty, so it has no users yet. What authorises it
is holding the keys: the audit key that signed the backup, which the restoring site must
already have (the restore refuses without it), like `clearwatch init`, an operator's act.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.policy import Action
from clearwatch.entrypoints.cli.common import application, console, signed_in
from clearwatch.entrypoints.cli.output import say
from clearwatch.services.recovery.backup import back_up
from clearwatch.services.recovery.restore import restore as restore_backup


def backup(
    dest: Annotated[Path, typer.Argument(help="The backup folder (created 0700 if absent).")],
) -> None:
    """Back up the running store to DEST: its database, new columnar objects, the audit anchor.

    Safe while others write. Objects already in DEST are not copied again. Everything written
    is owner-only, and signed with the audit key; no key is ever copied into a backup.
    """
    wired = application()
    signed_in(wired).check_own(Action.STORE_BACKUP)
    receipt = back_up(site=wired.recovery_site(), folder=wired.backup_folder(dest.absolute()))
    manifest = receipt.manifest
    say(
        console,
        ("backup made", "green"),
        f": {receipt.name}, {manifest.store_kind} store, audit checkpoint seq "
        f"{manifest.checkpoint_seq}, {len(manifest.objects)} objects "
        f"({receipt.objects_copied} copied, {receipt.objects_kept} already there)",
    )
    say(console, f"in {receipt.folder}", whole=True)


def restore(
    src: Annotated[
        Path, typer.Argument(help="A backup folder (its latest backup), or one backup.")
    ],
    to: Annotated[
        Path | None,
        typer.Option("--to", help="The new home to restore into (default: CLEARWATCH_HOME)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--backup", help="Which backup in SRC (default: the latest).")
    ] = None,
) -> None:
    """Restore a verified backup into an empty store; refuse a tampered or incomplete one.

    Every file is checked against the signed manifest, then the audit chain against the
    signed checkpoint, before the store is used; each problem is named by its rule.
    """
    settings = Settings.from_environment(home=to.absolute() if to is not None else None)
    target = build_application(settings)
    try:
        receipt = restore_backup(
            site=target.recovery_site(), folder=target.backup_folder(src.absolute()), name=name
        )
    finally:
        target.dispose()
    say(
        console,
        ("restored", "green"),
        f": backup of {receipt.manifest.made_at}, {len(receipt.manifest.objects)} objects and "
        f"{receipt.audit_records} audit records verified; signed at seq {receipt.checkpoint_seq}",
    )
    say(console, f"store at {settings.shown_database_url}", whole=True)
