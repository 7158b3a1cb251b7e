"""Load the back office's fee schedule (TOML) shipped in the package, or one named by a setting."""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path

from clearwatch.domain.backoffice.fees import (
    FeeSchedule,
    FeeScheduleError,
    fee_schedule_from_document,
)

FEES_PACKAGE = "clearwatch.rules"
FEE_SCHEDULE_FILE = "fees.toml"


def load_fee_schedule(path: str | Path | None = None) -> FeeSchedule:
    """The schedule in force: the packaged file unless `path` names another one.

    One read feeds both the parse and the hash, so the version recorded is the text charged by.
    """
    if path is None:
        data = resources.files(FEES_PACKAGE).joinpath(FEE_SCHEDULE_FILE).read_bytes()
    else:
        data = Path(path).read_bytes()
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise FeeScheduleError(f"fee_schedule_must_be_utf8_toml: {path}: {error}") from error
    return fee_schedule_from_document(document, content_sha256=hashlib.sha256(data).hexdigest())
