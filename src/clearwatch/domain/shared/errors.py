"""The one root of clearwatch's exceptions and the one shape of an expected refusal."""

from __future__ import annotations


class ClearwatchError(Exception):
    """Root of every exception clearwatch raises on purpose; any other exception is a bug."""


class Refused(ClearwatchError):
    """An expected refusal: the named rule that was broken and where; nothing was changed.

    `rule` is the rule's name (`registry_must_be_loaded`); `where` says on what or what to do.
    Callers that can carry the refusal as a value (a receipt, a list of rejections) should.
    """

    def __init__(self, rule: str, where: str = "") -> None:
        self.rule = str(rule)
        self.where = where
        super().__init__(f"{self.rule}: {where}" if where else self.rule)


class ConfigurationError(ClearwatchError):
    """A setting that cannot work on this machine: the environment is wrong, not the data."""
