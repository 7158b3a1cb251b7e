"""Recipients' webhook endpoints and secrets, from an owner-only TOML file outside the repo.

```toml
[recipients."CN-SH"]
url = "https://bureau.example/clearwatch"
secret_env = "CLEARWATCH_WEBHOOK_SECRET_CN_SH"   # or: secret = "…"
```
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path

from clearwatch.domain.shared.errors import ConfigurationError
from clearwatch.services.monitor.delivery_ports import Endpoint

WEBHOOK_SCHEMES = ("http://", "https://")


class FileWebhookDirectory:
    def __init__(self, endpoints: Mapping[str, Endpoint]) -> None:
        self._endpoints = dict(endpoints)

    def endpoint(self, recipient: str) -> Endpoint | None:
        return self._endpoints.get(recipient)


def load_webhooks(
    path: Path | None, environ: Mapping[str, str] | None = None
) -> FileWebhookDirectory:
    """The endpoints of `path` (none when None); a file others may read is refused."""
    if path is None:
        return FileWebhookDirectory({})
    env = os.environ if environ is None else environ
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"{path} holds webhook secrets: make it owner-only (chmod 600)")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"{path}: {error}") from error
    endpoints = {}
    for recipient, entry in dict(document.get("recipients", {})).items():
        url = str(entry.get("url", ""))
        if not url.startswith(WEBHOOK_SCHEMES):
            raise ConfigurationError(f"{path}: {recipient}'s url must be http(s)://")
        secret = entry.get("secret") or env.get(str(entry.get("secret_env", "")), "")
        if len(secret) < 16:
            raise ConfigurationError(f"{path}: {recipient}'s secret must be 16 characters or more")
        endpoints[str(recipient)] = Endpoint(url, str(secret).encode("utf-8"))
    return FileWebhookDirectory(endpoints)
