"""The CLI's sign-in token on disk: one file in the user's config directory, owner-only.

A file others can read is refused rather than used, as ssh refuses a readable key: a token
that leaked once must be replaced, not trusted.
"""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

from clearwatch.adapters.private_files import owner_only_dir, replace_owner_only
from clearwatch.domain.shared.errors import Refused

TOKEN_FILE_MUST_BE_OWNER_ONLY = "token_file_must_be_owner_only"


def read_token(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Refused(TOKEN_FILE_MUST_BE_OWNER_ONLY, f"{path} is {oct(mode & 0o777)}: log in again")
    text = path.read_text(encoding="ascii").strip()
    return text or None


def keep_token(path: Path, token: str) -> None:
    owner_only_dir(path.parent)
    replace_owner_only(path, token.encode("ascii") + b"\n")


def forget_token(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False
