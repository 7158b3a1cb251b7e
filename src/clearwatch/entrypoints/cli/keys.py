"""`clearwatch keys`: the columnar store's encryption keys (issue 18).

The store's objects are encrypted under one data key, kept wrapped by a master key that lives
outside the store (`CLEARWATCH_MASTER_KEY_FILE` or `CLEARWATCH_MASTER_KEY`). Rotation wraps
the data key under a new master key; no object is rewritten. `encrypt-store` encrypts a
plaintext store's objects in place. Only ids of keys are printed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.policy import Action
from clearwatch.entrypoints.cli.common import application, console, signed_in
from clearwatch.entrypoints.cli.output import say
from clearwatch.services.recovery.keys import encrypt_store, rotate_master_key

keys_app = typer.Typer(
    help="The columnar store's encryption keys: rotate the master key, encrypt a plaintext store.",
    no_args_is_help=True,
)


@keys_app.command("rotate")
def rotate(
    new_key_file: Annotated[
        Path,
        typer.Option(
            "--new-key-file",
            help="The new master key: an owner-only file, made with a fresh key if absent.",
        ),
    ],
) -> None:
    """Wrap the store's data key under a new master key, without rewriting any object.

    Needs the current master key (the store opens with it) and the `admin` role. Afterwards
    only the new key opens the store: set CLEARWATCH_MASTER_KEY_FILE to it before the next
    start, and keep a copy of it apart from the store and its backups.
    """
    wired = application()
    actor = signed_in(wired).check_own(Action.STORE_KEYS_ROTATE)
    rotation = rotate_master_key(
        keys=wired.master_keys(),
        new_key_file=new_key_file.expanduser().absolute(),
        uow_factory=wired.uow,
        clock=wired.real_clock,
        actor=actor.user_id,
    )
    made = "a new key written to" if rotation.key_file_created else "the key in"
    say(
        console,
        ("master key rotated", "green"),
        f": data key re-wrapped from master key {rotation.old_key_id} to "
        f"{rotation.new_key_id} ({made} the file below); no object rewritten",
    )
    say(console, f"set CLEARWATCH_MASTER_KEY_FILE={rotation.new_key_file}", whole=True)


@keys_app.command("encrypt-store")
def encrypt_store_command() -> None:
    """Encrypt every plaintext object of the columnar store in place, under its own name.

    Needs the master key (CLEARWATCH_MASTER_KEY_FILE or CLEARWATCH_MASTER_KEY) and the `admin`
    role. Objects are rewritten one at a time, each checked before it replaces its plaintext;
    if the run is interrupted, run it again: it finishes what is left. Then set
    CLEARWATCH_ENCRYPT_AT_REST=1.
    """
    # The store is opened as it stands: with the setting on, a plaintext store holding objects
    # refuses to start, and ending that state is this command's purpose.
    settings = dataclasses.replace(Settings.from_environment(), encrypt_at_rest=False)
    wired = build_application(settings)
    try:
        actor = signed_in(wired).check_own(Action.STORE_KEYS_ENCRYPT)
        done = encrypt_store(
            keys=wired.master_keys(), uow_factory=wired.uow, clock=wired.real_clock,
            actor=actor.user_id,
        )  # fmt: skip
    finally:
        wired.dispose()
    say(
        console,
        ("store encrypted", "green"),
        f": {done.objects_encrypted} objects encrypted now, {done.objects_already_encrypted} "
        f"already encrypted, under master key {done.master_key_id}",
    )
    say(console, "set CLEARWATCH_ENCRYPT_AT_REST=1", whole=True)
