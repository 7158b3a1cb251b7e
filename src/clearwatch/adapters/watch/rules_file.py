"""Load the watch rules (TOML) shipped in the package, or a file a setting names."""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path

from clearwatch.domain.watch.rules import WatchRules, WatchRulesError, watch_rules_from_document

RULES_PACKAGE = "clearwatch.rules"
WATCH_RULES_FILE = "watch.toml"


def load_watch_rules(path: Path | None = None) -> WatchRules:
    if path is None:
        data = resources.files(RULES_PACKAGE).joinpath(WATCH_RULES_FILE).read_bytes()
    else:
        data = path.read_bytes()
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise WatchRulesError(f"watch_rules_must_be_utf8_toml: {path}: {error}") from error
    return watch_rules_from_document(document, content_sha256=hashlib.sha256(data).hexdigest())
