"""Load the monitoring rules file (TOML) shipped in the package, or one named by a setting."""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path

from clearwatch.domain.monitor.thresholds import Rules, RulesError, rules_from_document

RULES_PACKAGE = "clearwatch.rules"
MONITORING_RULES_FILE = "monitoring.toml"


def load_monitoring_rules(path: str | Path | None = None) -> Rules:
    """The rules in force: the packaged file unless `path` names another one."""
    if path is None:
        data = resources.files(RULES_PACKAGE).joinpath(MONITORING_RULES_FILE).read_bytes()
    else:
        data = Path(path).read_bytes()
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        # A configured file that is not TOML is a setting to fix, not a bug: one line, exit 2.
        raise RulesError(f"rules_document_must_be_utf8_toml: {path}: {error}") from error
    return rules_from_document(document, content_sha256=hashlib.sha256(data).hexdigest())
